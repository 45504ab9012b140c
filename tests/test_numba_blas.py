"""Start-up: the command line answers numba's BLAS check without importing scipy.linalg, and nothing breaks."""

from __future__ import annotations

import subprocess
import sys

import numpy as np


def run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_numba_linear_algebra_and_scipy_linalg_still_work_after_the_preload():
    code = (
        "import sys, numpy as np, numba\n"
        "from ecgseg._numba_blas import preload_cython_blas\n"
        "preload_cython_blas()\n"
        "blas = sys.modules['scipy.linalg.cython_blas']\n"
        "print('scipy.linalg' in sys.modules)\n"
        "dot = numba.njit(lambda a, b: np.dot(a, b))\n"
        "a = np.arange(9.0).reshape(3, 3)\n"
        "print(np.array_equal(dot(a, a), a @ a), 'scipy.linalg' in sys.modules)\n"
        "import scipy.linalg, scipy.signal\n"
        "from scipy.linalg import cython_blas\n"
        "import scipy.linalg.cython_blas as spelled\n"
        "print(cython_blas is spelled is blas, scipy.linalg.solve(a + np.eye(3), np.ones(3)).shape, "
        "scipy.signal.resample_poly(np.ones(8), 1, 2).shape)\n"
    )
    assert run(code).splitlines() == ["False", "True False", "True (3,) (4,)"]


def test_the_preload_leaves_an_imported_scipy_linalg_alone():
    code = (
        "import sys, scipy.linalg\n"
        "before = sys.modules.get('scipy.linalg.cython_blas')\n"
        "from ecgseg._numba_blas import preload_cython_blas\n"
        "preload_cython_blas()\n"
        "print(sys.modules.get('scipy.linalg.cython_blas') is before)\n"
    )
    assert run(code) == "True"


def test_segment_record_from_the_command_line_imports_no_scipy_linalg_signal_or_torch(data_dir, tmp_path):
    out = tmp_path / "b.npy"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ecgseg", "segment", "record", "100", "--data-dir", str(data_dir),
         "-o", str(out), "-q"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "numba" in imported and "wfdb" in imported  # the dependencies it needs
    assert not {"scipy.linalg", "scipy.signal", "scipy.stats", "torch", "matplotlib"} & imported
    assert np.load(out).shape == (1073, 187)
