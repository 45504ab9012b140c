"""``python -m ecgseg``: the same as the ``ecgseg`` command."""

from ._numba_blas import preload_cython_blas
from .cli import cli

preload_cython_blas()  # start-up: numba's BLAS check without all of scipy.linalg (see the module)
cli(prog_name="ecgseg")
