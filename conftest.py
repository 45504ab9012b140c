"""Doctests that read real records get ``DATA``, the folder holding mitdb; they skip with a reason where it is absent."""

import pytest
from _pytest.doctest import DoctestItem

from tests.conftest import find_data_dir


@pytest.fixture(autouse=True)
def _real_data_for_doctests(request, doctest_namespace):
    if not isinstance(request.node, DoctestItem) or "DATA" not in request.node.dtest.docstring:
        return
    found = find_data_dir()
    if found is None:
        pytest.skip("MIT-BIH records not found: set $ECGSEG_DATA or put them in ../shared/data/mitdb")
    doctest_namespace["DATA"] = str(found)
