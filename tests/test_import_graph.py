"""The package's imports point one way (docs/ARCHITECTURE.md): no circle, no upward arrow, no private name taken."""

from __future__ import annotations

import subprocess
import sys

from .conftest import REPO


def test_imports_point_one_way():
    result = subprocess.run([sys.executable, str(REPO / "tools" / "import_graph.py"), "--check"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout.splitlines()[-5:]
    assert result.stdout.strip().endswith("no circle, no upward arrow, no private name taken across modules")
    assert "ecgseg.segmentation -> " in result.stdout  # the listing covers the package


def test_the_check_fails_on_a_circle(tmp_path):
    """The check can fail: a copy of the tool run on a package with a circle says so."""
    package = tmp_path / "ecgseg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "records.py").write_text("from .pipeline import x\n")
    (package / "pipeline.py").write_text("from .records import y\n")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "import_graph.py").write_text((REPO / "tools" / "import_graph.py").read_text())
    result = subprocess.run([sys.executable, str(tools / "import_graph.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 1
    assert "circle: ecgseg.pipeline -> ecgseg.records" in result.stdout
    assert "upward: ecgseg.records (layer 3) -> ecgseg.pipeline (layer 4)" in result.stdout
