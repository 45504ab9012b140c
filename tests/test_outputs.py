"""Nothing half-done (issue 13 fault 6): a command's outputs appear together or not at all; an output that cannot be
written is found before any work (one shared check, every command); Ctrl-C stops `segment database` within a second
or two, in local processes and on Dask, and leaves its folder holding exactly the files its index lists."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.atomic import all_or_none, output_problem, write_atomic
from ecgseg.batch import INDEX_NAME, read_index
from ecgseg.cli import cli

from .conftest import REPO
from .synthetic import write_wfdb


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_outputs_appear_together_or_not_at_all(tmp_path):
    with pytest.raises(RuntimeError):
        with all_or_none():
            write_atomic(tmp_path / "a.bin", b"a")
            write_atomic(tmp_path / "b.bin", b"b")
            assert not (tmp_path / "a.bin").exists()  # nothing appears before the block ends
            raise RuntimeError("the third output failed")
    assert list(tmp_path.iterdir()) == []
    with all_or_none():
        write_atomic(tmp_path / "a.bin", b"a")
        write_atomic(tmp_path / "b.bin", b"b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.bin"]


def test_segment_record_writes_both_outputs_or_neither(synthetic_db, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = _invoke("segment", "record", "s1", "--db", "syn", "--data-dir", synthetic_db, "-o", out / "a.npy", "--labels",
                     tmp_path / "missing-dir" / "l.npy")
    assert (result.exit_code, result.output) == (1, (
        f"Error: cannot write {tmp_path}/missing-dir/l.npy (--labels): the folder {tmp_path}/missing-dir does not "
        "exist; create it first\n"))
    assert list(out.iterdir()) == []
    result = _invoke("segment", "record", "s1", "--db", "syn", "--data-dir", synthetic_db, "-o", out / "a.npy", "--labels",
                     out / "l.npy")
    assert result.exit_code == 0
    assert np.load(out / "a.npy").shape[0] == np.load(out / "l.npy").shape[0] > 20


COMMANDS = {  # each names a record or input that does not exist either: the output is checked first
    "segment record -o": (["segment", "record", "999", "--data-dir", "{tmp}", "-o", "{out}/b.npz"], "-o", "b.npz"),
    "segment record --labels": (["segment", "record", "999", "--data-dir", "{tmp}", "-o", "{tmp}/b.npz", "--labels",
                                 "{out}/l.npy"], "--labels", "l.npy"),
    "segment database -o": (["segment", "database", "nodb", "--data-dir", "{tmp}", "-o", "{out}/all.npz"], "-o",
                            "all.npz"),
    "plot record": (["plot", "record", "999", "--data-dir", "{tmp}", "-o", "{out}/s.png"], "-o", "s.png"),
    "plot beats": (["plot", "beats", "{tmp}/none.npz", "-o", "{out}/b.png"], "-o", "b.png"),
    "report record": (["report", "record", "999", "--data-dir", "{tmp}", "-o", "{out}/r.html"], "-o", "r.html"),
    "evaluate --plot": (["evaluate", "{tmp}/none.npz", "--plot", "{out}/c.png"], "--plot", "c.png"),
    "train -o": (["train", "{tmp}/none.npz", "-o", "{out}/m.pt"], "-o", "m.pt"),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_output_folder_that_does_not_exist_is_found_before_any_work(tmp_path, command):
    if command.split()[0] in ("plot", "report", "evaluate"):
        pytest.importorskip("matplotlib")
    args, option, name = COMMANDS[command]
    out = tmp_path / "nowhere"
    result = _invoke(*[a.format(out=out, tmp=tmp_path) for a in args])
    assert (result.exit_code, result.output) == (1, (
        f"Error: cannot write {out}/{name} ({option}): the folder {out} does not exist; create it first\n"))
    assert not out.exists()


def test_other_outputs_that_cannot_be_written(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    assert output_problem(tmp_path / "afile" / "b.npz") == f"{tmp_path}/afile is a file, not a folder"
    assert output_problem(tmp_path / "adir") == f"{tmp_path}/adir is a folder; give a file name"
    assert output_problem(tmp_path / "afile", folder=True) == f"{tmp_path}/afile is a file, not a folder"
    assert output_problem(tmp_path / "new" / "deeper", folder=True) is None  # made when the run starts
    result = _invoke("segment", "record", "999", "--data-dir", tmp_path, "-o", tmp_path / "adir")
    assert (result.exit_code, result.output) == (1, (
        f"Error: cannot write {tmp_path}/adir (-o): {tmp_path}/adir is a folder; give a file name\n"))
    result = _invoke("segment", "database", "nodb", "--data-dir", tmp_path, "--output-dir", tmp_path / "afile")
    assert (result.exit_code, result.output) == (1, (
        f"Error: cannot write {tmp_path}/afile (--output-dir): {tmp_path}/afile is a file, not a folder\n"))
    unwritable = Path("/sys") if os.geteuid() == 0 else tmp_path / "locked"  # root writes anywhere but in sysfs
    if unwritable.name == "locked":
        unwritable.mkdir()
        unwritable.chmod(0o500)
    if output_problem(unwritable / "b.npz") is None:
        pytest.skip(f"{unwritable} takes new files here")
    result = _invoke("segment", "record", "999", "--data-dir", tmp_path, "-o", unwritable / "b.npz")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot write {unwritable}/b.npz (-o): the folder {unwritable} does not "
                                    "take new files (")


@pytest.fixture(scope="module")
def long_db(tmp_path_factory) -> Path:
    """A data folder with database ``long``: 96 records of 8 minutes (one written, the others linking its samples),
    so that a whole run takes seconds even on an idle machine with a warm numba cache (16 took under 2 s here)."""
    root = tmp_path_factory.mktemp("long")
    folder = root / "long"
    folder.mkdir()
    write_wfdb(folder, "r00", 360, 8 * 60, 0)
    names = ["r00"]
    for i in range(1, 96):
        name = f"r{i:02d}"
        for ext in ("dat", "atr"):
            (folder / f"{name}.{ext}").symlink_to(folder / f"r00.{ext}")
        (folder / f"{name}.hea").write_text((folder / "r00.hea").read_text().replace("r00", name))
        names.append(name)
    (folder / "RECORDS").write_text("\n".join(names) + "\n")
    return root


def _ours(marker: str) -> list[int]:
    """Processes whose command line holds ``marker`` (the run's own folder): none may outlive the run."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and int(pid) != os.getpid():
            found.append(int(pid))
    return found


def _interrupt(long_db, out: Path, extra, *, group: bool, when) -> tuple[subprocess.CompletedProcess, float]:
    """Run `segment database long` in a subprocess, send SIGINT once ``when()`` holds, and time how long it takes
    to end (SIGINT to the process group is what a terminal's Ctrl-C does)."""
    command = [sys.executable, "-m", "ecgseg", "segment", "database", "long", "--data-dir", str(long_db), "--peaks",
               "hamilton", "-q", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                               start_new_session=True)
    deadline = time.monotonic() + 240
    while not when() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be interrupted"
    sent = time.monotonic()
    if group:
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    took = time.monotonic() - sent
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr.decode()), took


def _finished(out: Path):
    return lambda: out.is_dir() and any(p.suffix == ".npz" and not p.name.startswith(".") for p in out.iterdir())


def _check_folder_after_ctrl_c(result, took, out: Path, long_db: Path):
    print(f"stopped {took:.2f} s after SIGINT")
    assert result.returncode == 130, result.stderr
    assert took < 5.0  # "within a second or two" on a quiet machine; this one is shared
    rows = read_index(out)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != INDEX_NAME)
    listed = sorted(row["file"] for row in rows.values() if row["status"] == "ok")
    assert files == listed and listed  # every record file listed, no file unlisted, no temporary file left
    assert result.stderr.strip().splitlines()[-1] == (
        f"Interrupted: {len(listed)} records written to {out} in this run, and listed in {out}/index.tsv with those "
        "done before; run the same command again to go on")
    time.sleep(0.5)
    assert _ours(str(long_db)) == []  # no worker outlives the run


@pytest.mark.slow  # a subprocess run of a few seconds
@pytest.mark.parametrize("group", [True, False], ids=["ctrl-c", "sigint-to-the-main-process"])
def test_ctrl_c_stops_local_processes_and_keeps_the_index_true(long_db, tmp_path, group):
    out = tmp_path / "beats"
    result, took = _interrupt(long_db, out, ["--output-dir", str(out), "-j", "2"], group=group, when=_finished(out))
    _check_folder_after_ctrl_c(result, took, out, long_db)
    done = len(read_index(out))
    rerun = _invoke("segment", "database", "long", "--data-dir", long_db, "--output-dir", out, "-j", "2",
                    "--records", "r00,r01,r02,r03,r04,r05", "-q")
    assert rerun.exit_code == 0
    assert len(read_index(out)) == len({*read_index(out)}) >= max(done, 6)


@pytest.mark.slow  # a subprocess run of a few seconds
def test_ctrl_c_in_a_gathering_run_writes_nothing(long_db, tmp_path):
    out = tmp_path / "all.npz"
    # interrupted once both worker processes run (forked: their command line is the run's), not after a fixed time:
    # a whole run is seconds, and a fixed wait either comes after its end or before its handler on a slower machine
    result, took = _interrupt(long_db, out, ["-o", str(out), "-j", "2"], group=True,
                              when=lambda: len(_ours(str(long_db))) >= 3)
    assert (result.returncode, result.stderr.strip().splitlines()[-1]) == (130, f"Interrupted: nothing written to {out}")
    assert took < 5.0 and list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a Dask cluster takes seconds to start
def test_ctrl_c_stops_a_local_dask_cluster_and_keeps_the_index_true(long_db, tmp_path):
    pytest.importorskip("distributed")
    out = tmp_path / "beats"
    result, took = _interrupt(long_db, out, ["--output-dir", str(out), "--workers", "2"], group=True,
                              when=_finished(out))
    _check_folder_after_ctrl_c(result, took, out, long_db)


def test_a_folder_run_removes_what_no_run_published_for_its_records(synthetic_db, tmp_path):
    from ecgseg.batch import segment_records

    out = tmp_path / "beats"
    out.mkdir()
    left = [".s1.0123456789ab.unpublished.npz", "..s1.0123456789ab.unpublished.npz.x1y2.part",
            ".s2.fedcba987654.unpublished.npz"]
    kept = [".s3.0123456789ab.unpublished.npz", "notes.txt"]  # not a record of this run; not ours at all
    for name in left + kept:
        (out / name).write_bytes(b"left by a worker that was killed")
    (out / "s2.npz").write_bytes(b"an unlisted file from a run that crashed")
    run = segment_records(["s1", "s2"], "syn", output_dir=out, data_dir=synthetic_db, jobs=1)
    assert [s.record for s in run.done] == ["s1", "s2"] and not run.failures
    assert sorted(p.name for p in out.iterdir()) == sorted(["index.tsv", "s1.npz", "s2.npz", *kept])
    assert np.load(out / "s2.npz")["segments"].shape[1] == 187  # made by this run, listed
    assert sorted(read_index(out)) == ["s1", "s2"]


def test_ctrl_c_waits_until_a_record_file_and_its_index_line_are_both_there():
    from ecgseg.batch import _uninterrupted

    done = []
    with pytest.raises(KeyboardInterrupt):
        with _uninterrupted():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # Python would have run the handler by now
            done.append("the file renamed and its line written")
    assert done == ["the file renamed and its line written"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
