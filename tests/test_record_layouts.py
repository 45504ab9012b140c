"""Segmenting records in the layouts PhysioNet databases have (issue 13 fault 3, the segment side): records in
subfolders (ptbdb's ``patient001/s0010_re``) and nested RECORDS lists (PTB-XL's ``records100/00000/``), read from
where ``ecgseg fetch`` puts them. Databases are built here from real MIT-BIH and PTB files; downloads come from the
local test server (tests/physionet_server.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.batch import read_index, segment_records
from ecgseg.cli import cli
from ecgseg.records import list_records, open_record, record_name, record_path

from .physionet_server import HAVE_MITDB, MITDB, SHARED, publish_ptbdb, serving

PTB = SHARED / "ptbdb" / "patient001"
needs_ptb = pytest.mark.skipif(not (PTB / "s0010_re.hea").is_file(), reason=f"PTB record not found in {PTB}")
needs_mitdb = pytest.mark.skipif(not HAVE_MITDB, reason=f"MIT-BIH files not found in {MITDB}")


@pytest.fixture
def server(tmp_path):
    yield from serving(tmp_path)


def _link(target_folder: Path, source_folder: Path, record: str) -> None:
    target_folder.mkdir(parents=True, exist_ok=True)
    for source in source_folder.glob(f"{record}.*"):
        (target_folder / source.name).symlink_to(source)


@pytest.fixture
def ptb_data(tmp_path) -> Path:
    """A data folder with ptbdb as PhysioNet lays it out: RECORDS lists patient001/s0010_re (the real record)."""
    if not (PTB / "s0010_re.hea").is_file():
        pytest.skip(f"PTB record not found in {PTB}")
    data = tmp_path / "DATA"
    _link(data / "ptbdb" / "patient001", PTB, "s0010_re")
    (data / "ptbdb" / "RECORDS").write_text("patient001/s0010_re\n")
    return data


def _invoke(*args, cwd: Path | None = None):
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        return CliRunner().invoke(cli, [str(a) for a in args])
    finally:
        os.chdir(old)


def test_a_name_in_a_subfolder_is_found_in_the_database_folder(ptb_data, tmp_path):
    assert record_path("patient001/s0010_re", "ptbdb", ptb_data) == ptb_data / "ptbdb" / "patient001" / "s0010_re"
    assert record_name("patient001/s0010_re", "ptbdb", ptb_data) == "patient001/s0010_re"
    assert list_records("ptbdb", ptb_data) == ["patient001/s0010_re"]
    reader = open_record("patient001/s0010_re", "ptbdb", data_dir=ptb_data)
    assert (reader.name, reader.database, reader.fs, reader.channel) == ("patient001/s0010_re", "ptbdb", 1000.0, "i")
    # from another working folder, with a record of the same relative name there: the database's is taken
    elsewhere = tmp_path / "elsewhere"
    _link(elsewhere / "patient001", MITDB, "100")
    os.rename(elsewhere / "patient001" / "100.hea", elsewhere / "patient001" / "s0010_re.hea")
    old = os.getcwd()
    os.chdir(elsewhere)
    try:
        assert open_record("patient001/s0010_re", "ptbdb", data_dir=ptb_data).fs == 1000.0
        # ... and a relative path that is not in the database is the path it names (as before)
        assert open_record("patient001/s0010_re", "mitdb", data_dir=ptb_data).database == ""
    finally:
        os.chdir(old)


def test_segment_record_and_database_read_records_in_subfolders(ptb_data, tmp_path):
    one = tmp_path / "one.npz"
    result = _invoke("segment", "record", "patient001/s0010_re", "--db", "ptbdb", "--data-dir", ptb_data,
                     "--channel", "ii", "-o", one)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("patient001/s0010_re (ptbdb, lead ii): ")
    with np.load(one) as npz:
        assert set(npz["record"].tolist()) == {"patient001/s0010_re"} and str(npz["database"]) == "ptbdb"
        segments = npz["segments"]
    everything = tmp_path / "all.npz"
    result = _invoke("segment", "database", "ptbdb", "--data-dir", ptb_data, "--channel", "ii", "-j", "1",
                     "-o", everything)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith(f"ptbdb (1 records, lead ii) -> {everything}: ")
    with np.load(everything) as npz:
        assert np.array_equal(npz["segments"], segments)
    folder = tmp_path / "beats"
    run = segment_records(list_records("ptbdb", ptb_data), "ptbdb", output_dir=folder, data_dir=ptb_data,
                          channel="ii", jobs=1)
    assert [s.file for s in run.done] == ["patient001/s0010_re.npz"] and not run.failures
    assert np.array_equal(np.load(folder / "patient001" / "s0010_re.npz")["segments"], segments)
    assert read_index(folder)["patient001/s0010_re"]["file"] == "patient001/s0010_re.npz"
    rerun = segment_records(["patient001/s0010_re"], "ptbdb", output_dir=folder, data_dir=ptb_data, jobs=1)
    assert rerun.skipped == ["patient001/s0010_re"] and not rerun.done


def test_a_missing_record_in_a_subfolder_names_the_record_as_fetch_takes_it(ptb_data):
    # PhysioNet's RECORDS lists it (a fetched database has the whole list): it can be fetched
    (ptb_data / "ptbdb" / "RECORDS").write_text("patient001/s0010_re\npatient001/s0014lre\n")
    result = _invoke("segment", "record", "patient001/s0014lre", "--db", "ptbdb", "--data-dir", ptb_data, "-o", "x.npz")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: record 'patient001/s0014lre' not found: no {ptb_data}/ptbdb/patient001/s0014lre.hea, nor "
        "patient001/s0014lre.hea from here; fetch it with `ecgseg fetch ptbdb --records patient001/s0014lre` "
        "or set --data-dir / $ECGSEG_DATA\n")
    result = _invoke("segment", "record", "./patient001/s0014lre", "--fetch", "--db", "ptbdb", "-o", "x.npz")
    assert result.exit_code == 1
    assert result.output == ("Error: --fetch takes a record as its database lists it (100, patient001/s0010_re), "
                             "not a path (./patient001/s0014lre)\n")


@needs_ptb
def test_segment_record_fetch_takes_a_record_in_a_subfolder(server, tmp_path, monkeypatch):
    publish_ptbdb(server)
    monkeypatch.setenv("ECGSEG_PHYSIONET_URL", server.url)
    out = tmp_path / "b.npz"
    result = _invoke("segment", "record", "patient001/s0010_re", "--db", "ptbdb", "--fetch", "--data-dir", tmp_path,
                     "--channel", "ii", "-q", "-o", out)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ptbdb" / "patient001" / "s0010_re.hea").is_file()
    assert set(np.load(out)["record"].tolist()) == {"patient001/s0010_re"}


@needs_mitdb
def test_nested_lists_fetched_from_a_server_are_what_segment_database_reads(server, tmp_path):
    """RECORDS lists folders with their own RECORDS; one folder was not fetched: it fails by name, the rest is
    segmented."""
    files = {"RECORDS": b"records100/00000/\nrecords100/00001/\n", "ANNOTATORS": MITDB / "ANNOTATORS",
             "records100/00000/RECORDS": b"100\n101\n",
             "records100/00001/RECORDS": b"207\n"}
    for folder, record in (("records100/00000", "100"), ("records100/00000", "101"), ("records100/00001", "207")):
        files.update({f"{folder}/{record}.{ext}": MITDB / f"{record}.{ext}" for ext in ("hea", "dat", "atr")})
    server.publish("nested", "1.0.0", files)
    fetched = _invoke("fetch", "nested/1.0.0", "--records", "records100/00000/", "--data-dir", tmp_path,
                      "--base-url", server.url, "-q")
    assert fetched.exit_code == 0, fetched.output
    assert list_records("nested", tmp_path) == ["records100/00000/100", "records100/00000/101", "records100/00001/"]
    out = tmp_path / "nested.npz"
    result = _invoke("segment", "database", "nested", "--data-dir", tmp_path, "-j", "1", "--peaks", "annotations",
                     "-q", "-o", out)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: record records100/00001/: 'records100/00001/' is a folder listed in nested's RECORDS, but its own "
        f"list {tmp_path}/nested/records100/00001/RECORDS is not on disk; fetch it with "
        "`ecgseg fetch nested --records records100/00001/` or set --data-dir / $ECGSEG_DATA\n")
    with np.load(out) as npz:
        assert sorted(set(npz["record"].tolist())) == ["records100/00000/100", "records100/00000/101"]
        assert npz["segments"].shape == (2273 + 1865, 187)
