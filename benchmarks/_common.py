"""Helpers shared by the benchmark scripts: finding the data and reading all MIT-BIH records."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def data_dir() -> Path:
    """$ECGSEG_DATA, else ../shared/data beside the repository."""
    folder = Path(os.environ.get("ECGSEG_DATA") or REPO.parent / "shared" / "data")
    if not (folder / "mitdb" / "RECORDS").is_file():
        sys.exit(f"MIT-BIH not found in {folder}: set ECGSEG_DATA to a folder holding mitdb/")
    return folder


def read_all(names=None):
    """Read the MLII lead (else channel 0) of every record; returns (records, seconds)."""
    from ecgseg.records import list_records, read_record

    folder = data_dir()
    names = names or list_records("mitdb", folder)
    start = time.perf_counter()
    records = [read_record(name, data_dir=folder) for name in names]
    return records, time.perf_counter() - start


def best_of(repeats: int, function, *args):
    """Smallest wall time of ``repeats`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    return best, result
