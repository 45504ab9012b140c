"""Shared fixtures: the real MIT-BIH folder (skipped with a reason where absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def find_data_dir() -> Path | None:
    """$ECGSEG_DATA if it holds mitdb, else ../shared/data beside the repository."""
    for candidate in (os.environ.get("ECGSEG_DATA"), REPO.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "mitdb" / "100.hea").is_file():
            return Path(candidate).resolve()
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """A data folder holding the real MIT-BIH Arrhythmia Database (mitdb/100.hea ...)."""
    found = find_data_dir()
    if found is None:
        pytest.skip("MIT-BIH records not found: set $ECGSEG_DATA or put them in ../shared/data/mitdb")
    return found


@pytest.fixture(scope="session")
def record_100(data_dir):
    """Record 100, lead MLII, with its reference annotations."""
    from ecgseg.records import read_record

    return read_record("100", data_dir=data_dir)
