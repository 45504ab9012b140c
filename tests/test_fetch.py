"""ecgseg.fetch against a real HTTP server on 127.0.0.1 serving the MIT-BIH files in PhysioNet's layout.

The server serves ``/files/mitdb/1.0.0/<file>`` from a folder of symlinks into the shared (read-only) copy
of mitdb; a test that needs a bad server file replaces one link with a changed copy in tmp_path. Downloads
go to tmp_path; nothing is written into the shared data. No test touches the internet.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.cli import cli
from ecgseg.fetch import DATABASES, fetch, list_databases, parse_database

from .conftest import REPO
from .physionet_server import HAVE_MITDB, MITDB, SHARED, serving, unreachable_url

pytestmark = pytest.mark.skipif(not HAVE_MITDB, reason=f"MIT-BIH files not found in {MITDB}")


@pytest.fixture
def server(tmp_path):
    yield from serving(tmp_path)


@pytest.fixture
def unreachable():
    return unreachable_url()

FEW = ["100", "101", "207"]


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


def _files_for(records) -> list[str]:
    return ["RECORDS", "ANNOTATORS"] + [f"{r}.hea" for r in records] + [f"{r}.{ext}" for r in records for ext in ("dat", "atr")]


def test_full_fetch_is_byte_for_byte(server, tmp_path):
    seen = []
    result = fetch("mitdb", FEW, data_dir=tmp_path / "data", base_url=server.url, progress=seen.append)
    folder = tmp_path / "data" / "mitdb"
    assert sorted(result.files) == sorted(_files_for(FEW))
    assert sorted(result.downloaded) == sorted(result.files)
    assert result.checksums == "server" and result.folder == folder
    for name in result.files + ("SHA256SUMS.txt",):
        assert (folder / name).read_bytes() == (MITDB / name).read_bytes(), name
    assert sorted(p.name for p in folder.iterdir()) == sorted(result.files + ("SHA256SUMS.txt",))  # no temporary files left
    assert result.bytes_downloaded == sum((folder / name).stat().st_size for name in result.files)
    done = [p.files_done for p in seen]
    assert done == sorted(done) and seen[-1].files_done == seen[-1].files_total == len(result.files)
    assert max(p.bytes_downloaded for p in seen) == result.bytes_downloaded
    # the estimate of what is left, once one .dat and one .atr have come: within 1% of the truth
    after = next(p for p in seen if p.file == "100.atr" and p.files_done == result.files.index("100.atr") + 1)
    actual = sum((folder / name).stat().st_size for name in ("101.dat", "101.atr", "207.dat", "207.atr"))
    assert after.bytes_remaining == pytest.approx(actual, rel=0.01)
    assert seen[-1].bytes_remaining == 0
    assert "downloaded 11" in result.summary() and "verified against the server's SHA256SUMS.txt" in result.summary()


def test_second_run_downloads_nothing_and_writes_nothing(server, tmp_path):
    fetch("mitdb", FEW, data_dir=tmp_path, base_url=server.url)
    before = _snapshot(tmp_path / "mitdb")
    server.httpd.log.clear()
    result = fetch("mitdb", FEW, data_dir=tmp_path, base_url=server.url)
    assert result.downloaded == () and result.bytes_downloaded == 0
    assert server.gets() == ["SHA256SUMS.txt"]
    assert _snapshot(tmp_path / "mitdb") == before
    assert "nothing downloaded" in result.summary()


def test_truncated_local_file_is_replaced(server, tmp_path):
    fetch("mitdb", ["100"], data_dir=tmp_path, base_url=server.url)
    dat = tmp_path / "mitdb" / "100.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    result = fetch("mitdb", ["100"], data_dir=tmp_path, base_url=server.url)
    assert result.downloaded == ("100.dat",)
    assert dat.read_bytes() == (MITDB / "100.dat").read_bytes()


def test_dropped_connection_leaves_no_complete_looking_file_and_resumes(server, tmp_path):
    server.httpd.drop.add("101.dat")
    with pytest.raises(ConnectionError, match=r"could not download .*101\.dat after 2 attempts .*still missing in .*101\.dat, 101\.atr.*call fetch again to resume"):
        fetch("mitdb", FEW, data_dir=tmp_path, base_url=server.url, retries=1)
    folder = tmp_path / "mitdb"
    assert server.gets().count("101.dat") == 2  # retried once
    assert not (folder / "101.dat").exists()
    names = {p.name for p in folder.iterdir()}
    assert names == {"SHA256SUMS.txt", "RECORDS", "ANNOTATORS", "100.hea", "101.hea", "207.hea", "100.dat", "100.atr"}

    server.httpd.drop.clear()
    server.httpd.log.clear()
    result = fetch("mitdb", FEW, data_dir=tmp_path, base_url=server.url)
    assert sorted(result.downloaded) == ["101.atr", "101.dat", "207.atr", "207.dat"]
    assert sorted(server.gets()) == ["101.atr", "101.dat", "207.atr", "207.dat", "SHA256SUMS.txt"]
    assert (folder / "101.dat").read_bytes() == (MITDB / "101.dat").read_bytes()


def test_dropped_connection_without_checksums_keeps_nothing(server, tmp_path):
    """Even unverified, a transfer cut short is refused (the body is shorter than Content-Length)."""
    server.replace("SHA256SUMS.txt", None)
    server.httpd.drop.add("100.dat")
    with pytest.raises(ConnectionError, match=r"100\.dat after 1 attempts"):
        fetch("mitdb", ["100"], data_dir=tmp_path, base_url=server.url, retries=0)
    assert not (tmp_path / "mitdb" / "100.dat").exists()
    assert not (tmp_path / "mitdb" / "SHA256SUMS.txt").exists()


def test_unverified_fetch_when_the_server_has_no_checksums(server, tmp_path):
    server.replace("SHA256SUMS.txt", None)
    result = fetch("mitdb", ["100"], data_dir=tmp_path, base_url=server.url)
    assert result.checksums == "none" and sorted(result.files) == sorted(_files_for(["100"]))
    assert "NOT verified" in result.summary()
    assert (tmp_path / "mitdb" / "100.atr").read_bytes() == (MITDB / "100.atr").read_bytes()


def test_checksum_mismatch_is_refused(server, tmp_path):
    fetch("mitdb", ["100"], data_dir=tmp_path, base_url=server.url)
    good = (MITDB / "101.atr").read_bytes()
    server.replace("101.atr", good[:-1] + bytes([good[-1] ^ 1]))
    expected = hashlib.sha256(good).hexdigest()
    with pytest.raises(ValueError, match=rf"101\.atr does not match its SHA-256 in SHA256SUMS\.txt after 1 attempts \(expected {expected}, got [0-9a-f]{{64}}\); nothing was kept"):
        fetch("mitdb", ["100", "101"], data_dir=tmp_path, base_url=server.url, retries=0)
    assert not (tmp_path / "mitdb" / "101.atr").exists()
    assert (tmp_path / "mitdb" / "100.dat").read_bytes() == (MITDB / "100.dat").read_bytes()  # what was good stays


def test_unknown_database_and_record(server, tmp_path):
    with pytest.raises(ValueError, match=r"unknown database 'nosuchdb': known are mitdb, .*fetch\('nosuchdb/1.0.0'\)"):
        fetch("nosuchdb", data_dir=tmp_path, base_url=server.url)
    with pytest.raises(ValueError, match=r"no database nosuchdb version 1.0.0 at http://127.0.0.1:\d+/files/nosuchdb/1.0.0/"):
        fetch("nosuchdb/1.0.0", data_dir=tmp_path, base_url=server.url)
    with pytest.raises(ValueError, match=r"^mitdb 1.0.0 has no record 999 \(records=\); its RECORDS lists 48: 100, 101"):
        fetch("mitdb", ["100", "999"], data_dir=tmp_path, base_url=server.url)
    with pytest.raises(ValueError, match="not a PhysioNet database"):
        parse_database("../etc")
    assert not (tmp_path / "mitdb" / "100.dat").exists()


def test_segment_reads_what_was_fetched(server, tmp_path, monkeypatch):
    monkeypatch.setenv("ECGSEG_PHYSIONET_URL", server.url)
    runner = CliRunner()
    result = runner.invoke(cli, ["fetch", "mitdb", "--records", "100", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and "downloaded 5" in result.stderr
    out = tmp_path / "beats.npy"
    result = runner.invoke(cli, ["segment", "record", "100", "--data-dir", str(tmp_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    beats = np.load(out)
    assert beats.dtype == np.float32 and beats.ndim == 2 and beats.shape[1] == 187 and beats.shape[0] > 1000


def test_segment_fetch_flag_fetches_a_missing_record(server, tmp_path, monkeypatch):
    monkeypatch.setenv("ECGSEG_PHYSIONET_URL", server.url)
    runner = CliRunner()
    out = str(tmp_path / "beats.npy")
    missing = runner.invoke(cli, ["segment", "record", "101", "--data-dir", str(tmp_path), "-o", out])
    assert missing.exit_code == 1
    assert "record '101' not found" in missing.stderr and "ecgseg fetch mitdb --records 101" in missing.stderr
    result = runner.invoke(cli, ["segment", "record", "101", "--fetch", "--data-dir", str(tmp_path), "-o", out])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mitdb" / "101.dat").read_bytes() == (MITDB / "101.dat").read_bytes()
    assert np.load(out).shape[1] == 187


def test_complete_read_only_folder_works_offline(unreachable):
    """The README's first command in CI: the shared folder already holds the record, and there is no network."""
    before = _snapshot(MITDB)
    result = fetch("mitdb", ["100"], data_dir=SHARED, base_url=unreachable)
    assert result.checksums == "local" and result.downloaded == ()
    assert "Connection refused" in result.offline_reason
    assert "verified against the local SHA256SUMS.txt; nothing downloaded" in result.summary()
    assert _snapshot(MITDB) == before

    runner = CliRunner(env={"ECGSEG_DATA": str(SHARED), "ECGSEG_PHYSIONET_URL": unreachable})
    cli_result = runner.invoke(cli, ["fetch", "mitdb", "--records", "100"])
    assert cli_result.exit_code == 0, cli_result.output
    assert "mitdb 1.0.0: 5 files in" in cli_result.stderr and "nothing downloaded" in cli_result.stderr
    assert _snapshot(MITDB) == before


def test_complete_read_only_folder_with_the_server_up(server):
    before = _snapshot(MITDB)
    result = fetch("mitdb", data_dir=SHARED, base_url=server.url)
    assert result.checksums == "server" and result.downloaded == () and len(result.files) == 2 + 3 * 48
    assert _snapshot(MITDB) == before


def test_offline_and_incomplete_fails_naming_the_missing_files(server, tmp_path, unreachable):
    fetch("mitdb", ["100"], data_dir=tmp_path, base_url=server.url)
    (tmp_path / "mitdb" / "100.atr").unlink()
    with pytest.raises(ConnectionError, match=r"cannot reach .* after 2 attempts, and 2 files are missing or wrong in .*: 101\.hea \(missing\), 100\.atr \(missing\), and the files those headers name; check the network"):
        fetch("mitdb", ["100", "101"], data_dir=tmp_path, base_url=unreachable, retries=1)
    empty = tmp_path / "empty"
    with pytest.raises(ConnectionError, match=r"after 1 attempts, and nothing is on disk yet in .*empty/mitdb"):
        fetch("mitdb", ["100"], data_dir=empty, base_url=unreachable, retries=0)
    assert not empty.exists()
    (tmp_path / "mitdb" / "SHA256SUMS.txt").unlink()
    with pytest.raises(ConnectionError, match=r"there is no local SHA256SUMS.txt in .*mitdb to verify the files on disk"):
        fetch("mitdb", ["100"], data_dir=tmp_path, base_url=unreachable, retries=0)


def test_corrupt_local_file_offline_is_not_accepted(server, tmp_path, unreachable):
    fetch("mitdb", ["100"], data_dir=tmp_path, base_url=server.url)
    (tmp_path / "mitdb" / "100.hea").write_bytes(b"100 2 360 650000\n")
    with pytest.raises(ConnectionError, match=r"100\.hea \(fails its checksum\)"):
        fetch("mitdb", ["100"], data_dir=tmp_path, base_url=unreachable, retries=0)


def test_cli_errors_name_options(server, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["fetch", "nosuchdb", "--data-dir", str(tmp_path), "--base-url", server.url])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unknown database 'nosuchdb': known are mitdb, ptbdb, incartdb, svdb, nsrdb, ltafdb; "
        "for another PhysioNet database give its version, e.g. `ecgseg fetch nosuchdb/1.0.0`\n"
    )
    result = runner.invoke(cli, ["fetch", "mitdb", "--records", "999", "--data-dir", str(tmp_path), "--base-url", server.url, "-q"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: mitdb 1.0.0 has no record 999 (--records); its RECORDS lists 48: 100, 101, 102, 103, 104, 105, ..., 234\n"
    )
    result = runner.invoke(cli, ["fetch", "nosuchdb/1.0.0", "--data-dir", str(tmp_path), "--base-url", server.url])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: no database nosuchdb version 1.0.0 at {server.url}nosuchdb/1.0.0/ (no SHA256SUMS.txt, no RECORDS); "
        "check the name and version on physionet.org, or --base-url (databases that need credentials are not supported)\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["server"]  # lists are checked in memory: a wrong request writes nothing


def test_list_says_which_folder_and_what_is_on_disk(server, tmp_path, monkeypatch):
    runner = CliRunner()
    listing = runner.invoke(cli, ["fetch", "--list", "--data-dir", str(SHARED)])
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert lines[0] == f"data folder: {SHARED} (from --data-dir)"
    assert [line.split()[0] for line in lines[1 : 1 + len(DATABASES)]] == list(DATABASES)
    assert lines[1] == "mitdb      1.0.0   48/48 records on disk    MIT-BIH Arrhythmia Database"
    assert len(lines) == 1 + len(DATABASES)  # nothing listed that fetch cannot fetch by name

    fetch("mitdb", ["100", "101"], data_dir=tmp_path, base_url=server.url)
    (tmp_path / "mitdb" / "101.dat").unlink()
    assert list_databases(tmp_path)[0].records_on_disk == 1
    (tmp_path / "mydb").mkdir()  # a database folder fetch does not know by name
    (tmp_path / "mydb" / "RECORDS").write_text("a\n")
    monkeypatch.setenv("ECGSEG_DATA", str(tmp_path))
    lines = runner.invoke(cli, ["fetch", "--list"]).stdout.splitlines()
    assert lines[0] == f"data folder: {tmp_path} (from $ECGSEG_DATA)"
    assert lines[1] == "mitdb      1.0.0   1/48 records on disk     MIT-BIH Arrhythmia Database"
    assert lines[-2:] == [
        "other database folders here, not known to fetch (give SLUG/VERSION to fetch one):",
        "mydb               0/1 records on disk",
    ]
    monkeypatch.delenv("ECGSEG_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    lines = runner.invoke(cli, ["fetch", "--list"]).stdout.splitlines()
    assert lines[0] == (
        f"data folder: {tmp_path / 'cache' / 'ecgseg'} (from the per-user cache; --data-dir or $ECGSEG_DATA sets "
        "another, does not exist yet)"
    )


def test_quiet_prints_nothing(server, tmp_path):
    result = CliRunner().invoke(cli, ["fetch", "mitdb", "--records", "100", "-q", "--data-dir", str(tmp_path), "--base-url", server.url])
    assert result.exit_code == 0 and result.output == ""
    assert (tmp_path / "mitdb" / "100.dat").is_file()


def test_fetch_help_and_no_heavy_imports_for_the_cli():
    import subprocess

    code = "import sys, ecgseg.cli; print(sorted(m for m in ('pooch', 'wfdb', 'requests') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"
    assert "--records" in CliRunner().invoke(cli, ["fetch", "--help"]).output
