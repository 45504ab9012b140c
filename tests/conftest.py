"""Shared fixtures: the real MIT-BIH folder (skipped with a reason where absent), record 100 and its beats."""

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


@pytest.fixture(scope="session")
def beats_100(record_100):
    """Record 100 cut with the default rule peaks, as `ecgseg segment record 100` cuts it."""
    from ecgseg.pipeline import segment_record

    return segment_record(record_100)


@pytest.fixture(scope="session")
def beats_at_annotations_100(record_100):
    """Record 100 cut at its reference annotations (every beat, in time order)."""
    from ecgseg.pipeline import segment_record

    return segment_record(record_100, peaks="annotations")


@pytest.fixture(scope="session")
def beat_files_100(data_dir, tmp_path_factory):
    """Record 100 as the README writes it (.npy, no context), as an .npz with rr cut 0.25 s before the R-peaks of the
    hamilton detector (the rule misses beats, which corrupts R-R), and as an .npz cut at hamilton's R-peaks."""
    from click.testing import CliRunner

    from ecgseg.cli import cli

    folder = tmp_path_factory.mktemp("beats")
    runner = CliRunner()
    npy, npz, at_r = folder / "100.npy", folder / "100.npz", folder / "100_at_r.npz"
    for path, extra in ((npy, []), (npz, ["--pre-r-s", "0.25", "--peaks", "hamilton"]), (at_r, ["--peaks", "hamilton"])):
        result = runner.invoke(cli, ["segment", "record", "100", "--data-dir", str(data_dir), "-q", "-o", str(path), *extra])
        assert result.exit_code == 0, result.output
    return npy, npz, at_r


@pytest.fixture(scope="session")
def synthetic_db(tmp_path_factory) -> Path:
    """A data folder with database ``syn``: three 95.3 s records at 360 Hz (the tail is 5.3 s, under a window)."""
    from .synthetic import write_wfdb

    root = tmp_path_factory.mktemp("data")
    folder = root / "syn"
    folder.mkdir()
    for seed, name in enumerate(("s1", "s2", "s3")):
        write_wfdb(folder, name, 360, 95.3, seed)
    (folder / "RECORDS").write_text("s1\ns2\ns3\n")
    return root
