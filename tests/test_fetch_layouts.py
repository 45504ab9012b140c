"""ecgseg fetch on the layouts and servers met in the wild, against the local HTTP server (no mocks).

Names from a server that lead outside the data folder (issue 13 fault 5), records in subfolders and nested
RECORDS lists, records the server does not have (fault 3), multi-segment records. Each database is built
here from real MIT-BIH files and served by tests/physionet_server.py; downloads go to tmp_path.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg._layout import check_name
from ecgseg.cli import cli
from ecgseg.fetch import MissingRecords, UnsafeName, fetch, list_databases
from ecgseg.records import read_record

from .physionet_server import HAVE_MITDB, MITDB, mitdb_record, publish_ptbdb, serving

pytestmark = pytest.mark.skipif(not HAVE_MITDB, reason=f"MIT-BIH files not found in {MITDB}")


@pytest.fixture
def server(tmp_path):
    yield from serving(tmp_path)


def _tree(root: Path, skip: Path) -> dict[str, bytes | str]:
    """Every file, link and folder below ``root`` (but ``skip``): path -> contents, link target or "dir"."""
    tree = {}
    for path in sorted(root.rglob("*")):
        if path == skip or skip in path.parents:
            continue
        rel = str(path.relative_to(root))
        tree[rel] = f"-> {os.readlink(path)}" if path.is_symlink() else "dir" if path.is_dir() else path.read_bytes()
    return tree


def _fetch_cli(server, data: Path, *args: str):
    return CliRunner().invoke(cli, ["fetch", *args, "--data-dir", str(data), "--base-url", server.url, "-q"])


# ---------------------------------------------------------------------------------------------------------------
# Nothing written outside the data folder

def _traversal_names(outside: Path) -> list[str]:
    return [
        "../../somewhere/evil",
        str(outside / "evil"),  # absolute
        "patient001/../../../somewhere/evil",
        "..\\..\\somewhere\\evil",
        "%2e%2e/%2e%2e/somewhere/evil",
        "./../somewhere/evil",
    ]


@pytest.mark.parametrize("index", range(6))
@pytest.mark.parametrize("where", ["RECORDS", "RECORDS and SHA256SUMS.txt", "RECORDS, no SHA256SUMS.txt"])
def test_a_name_leading_out_of_the_folder_writes_nothing_anywhere(server, tmp_path, where, index):
    """The server names a path outside DATA/evil; it also serves files there, so a client that followed would write."""
    outside = tmp_path / "outside"
    outside.mkdir()
    bad = _traversal_names(outside)[index]
    header = (MITDB / "100.hea").read_bytes()
    files = {"RECORDS": f"100\n{bad}\n".encode(), **mitdb_record("100")}
    listed = {f"{bad}.hea": header, f"{bad}.dat": b"x" * 10} if where == "RECORDS and SHA256SUMS.txt" else {}
    server.publish("evil", "1.0.0", files, sums=where != "RECORDS, no SHA256SUMS.txt", extra_sums=listed)
    (server.root / "somewhere").mkdir()
    (server.root / "somewhere" / "evil.hea").write_bytes(header)
    data = tmp_path / "a" / "b" / "data"
    data.mkdir(parents=True)
    before = _tree(tmp_path, skip=tmp_path / "server")

    result = _fetch_cli(server, data, "evil/1.0.0")

    assert result.exit_code == 1
    why = check_name(bad)
    assert why is not None
    # the checksum list is checked as it comes; RECORDS is read into memory and checked before it is written
    listed_as = f"{bad}.hea".removeprefix("./")  # sha256sum lists may write ./name: the same name
    said = f"SHA256SUMS.txt names {listed_as!r}" if where == "RECORDS and SHA256SUMS.txt" else f"RECORDS names {bad!r}"
    assert result.stderr == (
        f"Error: refused {server.url}evil/1.0.0/: {said}: {why}; nothing from it was written "
        "(a server that names such paths is broken or hostile: check --base-url)\n"
    )
    assert _tree(tmp_path, skip=tmp_path / "server") == before  # nothing written anywhere, nothing left behind


def test_library_refusal_names_keywords_and_keeps_an_earlier_fetch(server, tmp_path):
    """The server turns hostile after a good fetch, its checksum list agreeing: the good copy on disk stays as it was."""
    fetch("mitdb", ["100"], data_dir=tmp_path, base_url=server.url)
    before = _tree(tmp_path, skip=tmp_path / "server")
    records = (MITDB / "RECORDS").read_bytes() + b"../evil\n"
    server.replace("RECORDS", records)
    sums = (MITDB / "SHA256SUMS.txt").read_text().replace(
        hashlib.sha256((MITDB / "RECORDS").read_bytes()).hexdigest(), hashlib.sha256(records).hexdigest())
    server.replace("SHA256SUMS.txt", sums.encode())
    with pytest.raises(UnsafeName) as caught:
        fetch("mitdb", ["101"], data_dir=tmp_path, base_url=server.url)
    assert str(caught.value) == (
        f"refused {server.url}mitdb/1.0.0/: RECORDS names '../evil': '..' leads out of the folder; nothing from it "
        "was written (a server that names such paths is broken or hostile: check base_url=)"
    )
    assert _tree(tmp_path, skip=tmp_path / "server") == before


def test_a_symbolic_link_in_the_data_folder_is_not_written_through(server, tmp_path):
    """DATA/db/sub links to a folder elsewhere: a record listed as sub/100 would be written there."""
    outside = tmp_path / "outside"
    outside.mkdir()
    server.publish("linked", "1.0.0", {"RECORDS": b"sub/100\n", **mitdb_record("100", "sub")})
    data = tmp_path / "data"
    (data / "linked").mkdir(parents=True)
    (data / "linked" / "sub").symlink_to(outside)
    result = _fetch_cli(server, data, "linked/1.0.0")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: refused to write {data / 'linked' / 'sub' / '100.hea'}: a symbolic link in that path leads to "
        f"{outside}, outside {data / 'linked'}; nothing was written there. Remove the link or fetch into another "
        "folder (--data-dir)\n"
    )
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../x", "'..' leads out of the folder"),
        ("a/../../x", "'..' leads out of the folder"),
        ("/etc/x", "an absolute path"),
        ("a\\b", "a backslash (a Windows path separator)"),
        ("C:x", "a ':' (a drive or URL scheme)"),
        ("%2e%2e/x", "a '%' (URL-encoded, so the server would read another name)"),
        ("a/./b", "a '.' path component"),
        ("a//b", "an empty path component"),
        ("a\x00b", "a control character"),
        ("a\nb", "a control character"),
        ("x?y=1", "a '?' (it ends the path of a URL)"),
        ("x#y", "a '#' (it ends the path of a URL)"),
        ("", "an empty name"),
        ("records100/00000/", "an empty path component"),  # a folder entry only where a list allows one
    ],
)
def test_check_name_refuses_each_kind(name, why):
    assert check_name(name) == why


@pytest.mark.parametrize("name", ["100", "patient001/s0010_re", "records100/00000/00001_lr", "x_mitdb/x_108.hea",
                                  "a b.pdf", "s0010_re.xyz", "...x", "m~1"])
def test_check_name_accepts_real_names(name):
    assert check_name(name) is None
    assert check_name("records100/00000/", folder_entry=True) is None


# ---------------------------------------------------------------------------------------------------------------
# Records in subfolders and nested RECORDS lists

def _publish_nested(server, top: bytes = b"records100/00000/\nrecords100/00001/\n", **kwargs) -> None:
    """A PTB-XL-like database: RECORDS lists folders, each with its own RECORDS (records 100, 101 | 207)."""
    server.publish("nested", "1.0.0", {
        "RECORDS": top,
        "ANNOTATORS": MITDB / "ANNOTATORS",
        "records100/00000/RECORDS": b"100\n101\n",
        "records100/00001/RECORDS": b"207\n",
        **mitdb_record("100", "records100/00000"), **mitdb_record("101", "records100/00000"),
        **mitdb_record("207", "records100/00001"),
    }, **kwargs)


def test_nested_records_lists_are_followed(server, tmp_path):
    _publish_nested(server)
    result = fetch("nested/1.0.0", data_dir=tmp_path, base_url=server.url)
    assert result.records == ("records100/00000/100", "records100/00000/101", "records100/00001/207")
    folder = tmp_path / "nested"
    for record in ("100", "101"):
        for ext in ("hea", "dat", "atr"):
            assert (folder / "records100" / "00000" / f"{record}.{ext}").read_bytes() == (MITDB / f"{record}.{ext}").read_bytes()
    assert (folder / "records100" / "00001" / "RECORDS").read_text() == "207\n"
    record = read_record(folder / "records100" / "00001" / "207")
    assert record.fs == 360 and record.has_annotations
    status = next(s for s in list_databases(tmp_path) if s.name == "nested")
    assert (status.records_total, status.records_on_disk, status.lists_missing) == (3, 3, 0)
    assert fetch("nested/1.0.0", data_dir=tmp_path, base_url=server.url).downloaded == ()


@pytest.mark.parametrize(
    ("request_", "records"),
    [
        ("records100/00000/101", ["records100/00000/101"]),
        ("records100/00001/", ["records100/00001/207"]),
        ("records100/00001", ["records100/00001/207"]),
        ("records100", ["records100/00000/100", "records100/00000/101", "records100/00001/207"]),
    ],
)
def test_records_takes_a_record_or_a_folder(server, tmp_path, request_, records):
    _publish_nested(server)
    result = _fetch_cli(server, tmp_path, "nested/1.0.0", "--records", request_)
    assert result.exit_code == 0, result.output
    on_disk = sorted(str(p.relative_to(tmp_path / "nested"))[:-4] for p in (tmp_path / "nested").rglob("*.hea"))
    assert on_disk == records
    if request_ == "records100/00000/101":  # only the lists it needs
        assert "/files/nested/1.0.0/records100/00001/RECORDS" not in server.paths()


def test_a_folder_entry_without_its_slash_is_known_by_the_checksum_list(server, tmp_path):
    _publish_nested(server, top=b"records100/00000\nrecords100/00001\n")
    result = fetch("nested/1.0.0", ["records100/00001/207"], data_dir=tmp_path, base_url=server.url)
    assert result.records == ("records100/00001/207",)


def test_a_bare_record_name_gets_the_path_it_has(server, tmp_path):
    _publish_nested(server)
    result = _fetch_cli(server, tmp_path, "nested/1.0.0", "--records", "101")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: nested 1.0.0 has no record 101 (--records); its RECORDS lists 2: records100/00000/, records100/00001/; "
        "did you mean records100/00000/101?\n"
    )
    assert list((tmp_path / "nested").rglob("*.hea")) == []


def test_records_in_subfolders_and_several_signal_files(server, tmp_path):
    """PTB layout: RECORDS names patient001/s0010_re, whose header names a .dat and a .xyz."""
    files = publish_ptbdb(server)
    result = fetch("ptbdb", data_dir=tmp_path, base_url=server.url)
    assert sorted(result.files) == sorted(["RECORDS", *files])  # no ANNOTATORS in this database
    assert result.records == ("patient001/s0010_re",) and result.missing == {}
    for rel, path in files.items():
        assert (tmp_path / "ptbdb" / rel).read_bytes() == path.read_bytes()
    record = read_record(tmp_path / "ptbdb" / "patient001" / "s0010_re")
    assert record.fs == 1000 and record.signal.shape == (38400,)


def test_ptbdb_layout_from_the_command_line_is_what_segment_reads(server, tmp_path):
    files = publish_ptbdb(server)
    result = _fetch_cli(server, tmp_path, "ptbdb", "--records", "s0010_re")
    assert result.exit_code == 1
    assert result.stderr.endswith("; did you mean patient001/s0010_re?\n")
    for request in ("patient001/s0010_re", "patient001"):
        result = _fetch_cli(server, tmp_path, "ptbdb", "--records", request)
        assert result.exit_code == 0, result.output
    assert (tmp_path / "ptbdb" / "patient001" / "s0010_re.hea").read_bytes() == files["patient001/s0010_re.hea"].read_bytes()
    out = tmp_path / "beats.npz"
    segment = CliRunner().invoke(cli, ["segment", "record", str(tmp_path / "ptbdb" / "patient001" / "s0010_re"),
                                       "--peaks", "hamilton", "-q", "-o", str(out)])
    assert segment.exit_code == 0, segment.output
    assert np.load(out)["segments"].shape[1] == 187


# ---------------------------------------------------------------------------------------------------------------
# Records the server does not have

def _publish_gaps(server, **kwargs) -> None:
    """RECORDS lists 100, 999 (no files at all), 102 (header only) and 101."""
    server.publish("gaps", "1.0.0", {
        "RECORDS": b"100\n999\n102\n101\n", "ANNOTATORS": MITDB / "ANNOTATORS", "102.hea": MITDB / "102.hea",
        **mitdb_record("100"), **mitdb_record("101"),
    }, **kwargs)


def test_records_the_server_lacks_are_named_and_the_others_fetched(server, tmp_path):
    _publish_gaps(server)
    result = _fetch_cli(server, tmp_path, "gaps/1.0.0")
    assert result.exit_code == 1
    folder = tmp_path / "gaps"
    assert result.stderr.startswith(f"Error: gaps 1.0.0: 8 files in {folder}: downloaded 8 (")
    assert result.stderr.endswith(
        " s), 0 already on disk; all verified against the server's SHA256SUMS.txt; NOT fetched, 2 of 4 listed records "
        "(nothing of them kept): 999 (SHA256SUMS.txt has no 999.hea); 102 (SHA256SUMS.txt has no 102.dat)\n"
    )
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["SHA256SUMS.txt", "RECORDS", "ANNOTATORS", "100.hea", "100.dat", "100.atr", "101.hea", "101.dat", "101.atr"])
    assert "102.dat" not in server.gets()  # known missing before any of its data was asked for

    with pytest.raises(MissingRecords) as caught:  # again: the same answer, nothing downloaded
        fetch("gaps/1.0.0", data_dir=tmp_path, base_url=server.url)
    assert caught.value.result.records == ("100", "101") and caught.value.result.downloaded == ()
    assert caught.value.result.missing == {"999": "SHA256SUMS.txt has no 999.hea", "102": "SHA256SUMS.txt has no 102.dat"}


def test_records_the_server_lacks_without_checksums_are_not_retried(server, tmp_path):
    _publish_gaps(server, sums=False)
    start = time.perf_counter()
    with pytest.raises(MissingRecords) as caught:
        fetch("gaps/1.0.0", data_dir=tmp_path, base_url=server.url, retries=3)
    assert time.perf_counter() - start < 3  # pooch would wait 1 + 2 + 3 s retrying each 404
    result = caught.value.result
    assert result.missing == {"999": "the server answers HTTP 404 for 999.hea", "102": "the server answers HTTP 404 for 102.dat"}
    assert result.records == ("100", "101") and result.checksums == "none"
    assert server.gets().count("999.hea") == 1 and server.gets().count("102.dat") == 1
    assert not (tmp_path / "gaps" / "102.hea").exists()  # downloaded, then removed with its record
    assert "NOT verified" in str(caught.value)


def test_a_nested_list_the_server_lacks(server, tmp_path):
    _publish_nested(server, top=b"records100/00000/\nrecords100/00002/\nrecords100/00001/\n")
    with pytest.raises(MissingRecords) as caught:
        fetch("nested/1.0.0", data_dir=tmp_path, base_url=server.url)
    result = caught.value.result
    assert result.missing == {"records100/00002/": "SHA256SUMS.txt has no records100/00002/RECORDS"}
    assert result.records == ("records100/00000/100", "records100/00000/101", "records100/00001/207")
    assert str(caught.value).endswith(
        "NOT fetched, 1 of 4 listed records (nothing of it kept): records100/00002/ (SHA256SUMS.txt has no "
        "records100/00002/RECORDS)")


def test_a_header_wfdb_cannot_read_sets_its_record_aside(server, tmp_path):
    server.publish("broken", "1.0.0", {"RECORDS": b"100\nbad\n", "bad.hea": b"bad 1 360 x\nnot a signal line\n",
                                       **mitdb_record("100")})
    with pytest.raises(MissingRecords) as caught:
        fetch("broken/1.0.0", data_dir=tmp_path, base_url=server.url)
    assert caught.value.result.records == ("100",)
    assert caught.value.result.missing["bad"].startswith("wfdb cannot read its header bad.hea (")
    assert not (tmp_path / "broken" / "bad.hea").exists()


def test_a_multi_segment_record_brings_its_segments(server, tmp_path):
    """A variable-layout multi-segment record: its layout header, two segments and a gap ("~") between them."""
    import wfdb

    made = tmp_path / "made"
    made.mkdir()
    fs, x = 360, np.sin(np.arange(3600) / 20.0)
    for i, name in enumerate(["m_1", "m_2"]):
        wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"], p_signal=x[i * 1800:(i + 1) * 1800, None], fmt=["16"],
                    write_dir=str(made))
    (made / "m_layout.hea").write_text(f"m_layout 1 {fs} 0\n~ 0 200/mV 16 0 0 0 0 MLII\n")
    (made / "m.hea").write_text(f"m/4 1 {fs} 5400\nm_layout 0\nm_1 1800\n~ 1800\nm_2 1800\n")
    server.publish("multi", "1.0.0", {"RECORDS": b"x/m\n", **{f"x/{p.name}": p for p in made.iterdir()}})
    result = fetch("multi/1.0.0", data_dir=tmp_path / "data", base_url=server.url)
    assert sorted(result.files) == ["RECORDS", "x/m.hea", "x/m_1.dat", "x/m_1.hea", "x/m_2.dat", "x/m_2.hea", "x/m_layout.hea"]
    signal = wfdb.rdrecord(str(tmp_path / "data" / "multi" / "x" / "m")).p_signal[:, 0]
    assert signal.shape == (5400,) and np.isnan(signal[1800:3600]).all()
    assert np.allclose(signal[:1800], x[:1800], atol=1e-3) and np.allclose(signal[3600:], x[1800:], atol=1e-3)
    assert next(s for s in list_databases(tmp_path / "data") if s.name == "multi").records_on_disk == 1
