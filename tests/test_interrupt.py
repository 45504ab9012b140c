"""Ctrl-C on any command: one line saying what was written, exit status 130 (not click's "Aborted!" and 1), nothing
half-written. Real subprocesses, real SIGINT to the process group (what a terminal's Ctrl-C sends), stopped while
they wait: on a local server that never answers, or on stdin. (`segment database`: tests/test_outputs.py.)"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

FETCHED = "the files fetched before it are kept, each whole and checked; run the same command again to fetch the rest"


def _interrupt(command, cwd: Path, waiting, env=None, stdin=None) -> subprocess.CompletedProcess:
    """Start `ecgseg COMMAND`, send SIGINT to its group once ``waiting(process)`` says it waits inside the command."""
    process = subprocess.Popen([sys.executable, "-m", "ecgseg", *command], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, stdin=stdin, env={**os.environ, **(env or {})},
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not waiting(process) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, "the command ended before it could be interrupted"
        os.killpg(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr.decode())


@pytest.mark.parametrize("command, line", [
    (["fetch", "mitdb", "--records", "100"], f"Interrupted: {FETCHED}"),
    (["segment", "record", "100", "--fetch", "-o", "one.npz"], f"Interrupted: nothing written to one.npz; {FETCHED}"),
], ids=["fetch", "segment-record"])
def test_ctrl_c_while_downloading(tmp_path, command, line):
    server = socket.create_server(("127.0.0.1", 0))  # accepts, never answers: the command waits on it
    server.settimeout(120)
    accepted = []

    def waiting(process):
        if not accepted:
            try:
                server.settimeout(0.02)
                accepted.append(server.accept()[0])
            except TimeoutError:
                return False
        return True

    data = tmp_path / "data"
    data.mkdir()
    try:
        result = _interrupt([*command, "--data-dir", str(data)], tmp_path, waiting,
                            env={"ECGSEG_PHYSIONET_URL": f"http://127.0.0.1:{server.getsockname()[1]}/files/"})
    finally:
        for connection in accepted:
            connection.close()
        server.close()
    assert (result.returncode, result.stderr.strip().splitlines()) == (130, [line])
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no half-downloaded file, no output


def _reads_stdin(process) -> bool:
    """The process waits in read(0, ...) (x86-64 and arm64 syscall numbers), i.e. inside the command."""
    try:
        call = Path(f"/proc/{process.pid}/syscall").read_text().split()
    except OSError:
        return False
    return len(call) > 1 and call[0] in ("0", "63") and call[1] == "0x0"


@pytest.mark.skipif(not Path("/proc/self/syscall").exists(), reason="needs /proc/PID/syscall (Linux)")
@pytest.mark.parametrize("command, line", [
    (["classify", "-"], "Interrupted: nothing written"),
    (["plot", "beats", "-", "-o", "beats.png"], "Interrupted: nothing written to beats.png"),
], ids=["classify", "plot"])
def test_ctrl_c_while_reading_stdin(tmp_path, command, line):
    read_end, write_end = os.pipe()  # held open, never written: the command waits on stdin
    try:
        result = _interrupt(command, tmp_path, _reads_stdin, stdin=read_end)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert (result.returncode, result.stderr.strip().splitlines()) == (130, [line])
    assert result.stdout == b"" and list(tmp_path.iterdir()) == []
