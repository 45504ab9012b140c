"""The README: CI runs its two set-up commands verbatim, its transcripts print what it shows, its examples run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

README = (REPO / "README.md").read_text()


def readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", README, flags=re.S)


def blocks(language: str = "") -> list[str]:
    """The README's fenced blocks of a language ("" for plain ones), in order."""
    found, current, inside = [], [], None
    for line in README.splitlines():
        if line.startswith("```"):
            if inside is None:
                inside, current = line[3:].strip(), []
            else:
                if inside == language:
                    found.append("\n".join(current) + "\n")
                inside = None
        elif inside is not None:
            current.append(line)
    return found


def test_ci_runs_the_readme_commands_verbatim():
    commands = readme_commands()
    assert len(commands) >= 2
    install_and_run, run_tests = commands[0], commands[1]
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert install_and_run in ci and run_tests in ci
    assert "ecgseg segment record 100" in install_and_run and "pytest" in run_tests


def test_what_the_first_command_writes_in_the_checkout_is_ignored_by_git():
    written = re.findall(r"(?:>|-o) (\S+)", readme_commands()[0])
    assert written == ["beats.npy", "classes.tsv"]
    result = subprocess.run(["git", "check-ignore", *written], cwd=REPO, capture_output=True, text=True)
    if result.returncode == 128:
        pytest.skip("not a git checkout")
    assert result.stdout.split() == written


def _shell(command: str, folder: Path, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ECGSEG_DATA": str(data_dir),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-c", f"set -o pipefail; {command}"], cwd=folder, env=env, capture_output=True,
                          text=True, errors="replace", timeout=600)


def transcripts() -> list[tuple[str, list[str]]]:
    """``$ command`` lines of the plain blocks, each with the lines the README shows it printing."""
    found = []
    for block in blocks():
        for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *output = part.rstrip("\n").split("\n")
            found.append((command, output))
    return found


@pytest.mark.slow
def test_the_readme_transcripts_print_what_the_readme_shows(data_dir, tmp_path):
    """Each `$ command` in the README, run as written in a fresh folder, prints exactly the lines shown under it."""
    assert len(transcripts()) >= 4
    for command, shown in transcripts():
        result = _shell(f"{{ {command}; }} 2>&1", tmp_path, data_dir)
        assert result.returncode == 0, (command, result.stdout)
        assert result.stdout.splitlines() == shown, command


#: README example lines that cannot run here, and why (everything else in its plain blocks runs in the test below).
CANNOT_RUN = {
    "ecgseg fetch mitdb  ": "all 48 records: verifying them reads the whole database (tests/test_fetch.py fetches)",
    "ecgseg fetch ptbdb": "needs PhysioNet (only one PTB record is on disk here); tests/test_fetch_layouts.py serves it",
    "ecgseg fetch svdb": "needs PhysioNet",
    "path/to/": "a placeholder path",
    "holter01": "a placeholder record",
    "segment database mitdb": "the whole database (minutes here); tests/test_batch.py and test_cli.py run it on records",
    "ecgseg train": "training runs are not tests (tests/test_train.py trains on small synthetic beats)",
    "mitdb_ann.npz": "needs the whole database's beat file",
    "mitbih_": "the heartbeat dataset's CSV files are not here",
    "ptbdb.csv": "the PTB beat file of the transfer example is not here",
    "ptb.npz": "the whole PTB database needs PhysioNet; tests/test_ptb.py segments a PTB-layout folder and transfers",
    "mi.pt": "the MI model of the PTB example (above)",
}


def runnable_examples() -> list[str]:
    lines = [line for block in blocks() + blocks("bash")[2:] for line in block.splitlines()
             if line.startswith("ecgseg ")]
    return [line.split("  #")[0].split(" # ")[0].strip() for line in lines
            if not any(pattern in line + "  " for pattern in CANNOT_RUN)]


@pytest.mark.slow
def test_every_readme_example_that_can_run_here_runs(data_dir, tmp_path):
    """Every other `ecgseg ...` line of the README, run as written, in order, in one fresh folder, exits 0."""
    examples = runnable_examples()
    assert len(examples) >= 15 and "ecgseg report record 100 -o report.html" in examples
    for command in examples:
        result = _shell(command, tmp_path, data_dir)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        assert "\x93NUMPY" not in result.stdout, f"{command} writes binary to the terminal"  # as written, at a prompt
    assert (tmp_path / "report.html").stat().st_size > 100_000


def test_the_readme_python_runs(data_dir, monkeypatch):
    monkeypatch.setenv("ECGSEG_DATA", str(data_dir))
    for code in blocks("python"):
        exec(compile(code, "README.md", "exec"), {})


def test_the_readme_and_the_help_list_the_beat_file_keys_of_the_schema():
    from click.testing import CliRunner

    from ecgseg.beatfile import KEYS
    from ecgseg.cli import cli

    rows = re.findall(r"^\| `(\w+)` \| (\S+) \| (\([^|]*\)) \| (.+) \|$", README, flags=re.M)
    assert rows == [(key.name, key.dtype, key.shape, key.meaning) for key in KEYS]
    for command in (["segment", "record", "--help"], ["segment", "database", "--help"]):
        help_text = CliRunner().invoke(cli, command, terminal_width=200).output
        listed = help_text[help_text.index("Keys of an .npz beat file"):]
        assert re.findall(r"^  (\w+) +(\S+) \(", listed, flags=re.M) == [(key.name, key.dtype) for key in KEYS]
