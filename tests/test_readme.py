"""The README's two set-up commands are the ones CI runs."""

import re

from .conftest import REPO


def readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (REPO / "README.md").read_text(), flags=re.S)


def test_ci_runs_the_readme_commands_verbatim():
    commands = readme_commands()
    assert len(commands) >= 2
    install_and_run, run_tests = commands[0], commands[1]
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert install_and_run in ci and run_tests in ci
    assert "ecgseg segment record 100" in install_and_run and "pytest" in run_tests
