"""``python -m ecgseg``: the same as the ``ecgseg`` command."""

from .cli import cli

cli(prog_name="ecgseg")
