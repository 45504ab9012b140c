"""Start-up of the command line: answer numba's BLAS check without importing all of scipy.linalg.

The first time a process calls any numba-compiled function, even one loaded
from the cache, numba builds its compiler context, and on the way checks that
BLAS is available with ``import scipy.linalg.cython_blas`` (``numba.np.linalg.
ensure_blas``). That statement runs ``scipy/linalg/__init__.py``, which imports
the whole of scipy.linalg and, through scipy's array-API layer, numpy.f2py,
numpy.ma and numpy.testing: about a fifth of the command's start-up (0.53 G of
4.0 G instructions for ``ecgseg segment record 100``), for a module the
segmentation never uses.

:func:`preload_cython_blas` loads the real ``cython_blas`` extension module by
itself and registers it under its name, so the check finds it. Numba's linear
algebra still works (it takes its BLAS function pointers from this very
module), and ``scipy.linalg`` is imported as usual by anything that imports it;
``from scipy.linalg import cython_blas`` and ``import scipy.linalg.cython_blas
as blas`` give this module. One difference remains: the package then has no
``cython_blas`` attribute (Python sets it only when it loads the submodule
itself), so ``scipy.linalg.cython_blas`` spelled out fails. Nothing in the
command line's process uses that spelling, and only the command line calls
this: a library does not rearrange its caller's imports.
"""

from __future__ import annotations

import importlib.util
import os
import sys

__all__ = ["preload_cython_blas"]

_NAME = "scipy.linalg.cython_blas"


def preload_cython_blas() -> None:
    """Register scipy's ``cython_blas`` extension module without importing ``scipy.linalg``; never raises.

    Does nothing when it is imported already, when scipy is missing, or when
    its files are laid out otherwise than expected: numba then imports it the
    usual way.
    """
    if _NAME in sys.modules or "scipy.linalg" in sys.modules:
        return
    try:
        spec = importlib.util.find_spec("scipy")  # finds the package without importing it
        if spec is None or not spec.submodule_search_locations:
            return
        folder = os.path.join(next(iter(spec.submodule_search_locations)), "linalg")
        names = [f for f in os.listdir(folder) if f.startswith("cython_blas.") and f.endswith((".so", ".pyd"))]
        if len(names) != 1:
            return
        blas_spec = importlib.util.spec_from_file_location(_NAME, os.path.join(folder, names[0]))
        module = importlib.util.module_from_spec(blas_spec)
        blas_spec.loader.exec_module(module)
    except Exception:  # noqa: BLE001 - a start-up shortcut: any failure leaves numba's usual import
        return
    sys.modules.setdefault(_NAME, module)
