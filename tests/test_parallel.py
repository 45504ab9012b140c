"""Running a function over many records: failures by name, bugs propagate, Dask only when asked."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ecgseg.parallel import RecordFailure, map_records

from .conftest import REPO


def test_map_records_turns_library_errors_into_failures_and_lets_bugs_through():
    def check(name):
        if name == "bad":
            raise ValueError("bad input")
        if name == "bug":
            raise ZeroDivisionError
        return name.upper()

    assert dict(map_records(check, ["a", "bad"], jobs=1)) == {"a": "A", "bad": RecordFailure("bad", "bad input")}
    with pytest.raises(ZeroDivisionError):
        dict(map_records(check, ["bug"], jobs=1))
    with pytest.raises(ValueError, match="give jobs or scheduler"):
        dict(map_records(check, ["a"], jobs=2, scheduler="tcp://127.0.0.1:1"))


def test_dask_wfdb_and_scipy_are_imported_only_when_used():
    code = "import sys, ecgseg.batch, ecgseg.pipeline, ecgseg.segmentation, ecgseg.parallel; print(sorted({'distributed', 'dask', 'wfdb', 'scipy.signal'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
