"""The ``ecgseg`` command line: parse, call the library, format.

stdout carries data only; summaries and progress go to stderr. Library errors
(ValueError, FileNotFoundError) become one ``Error: ...`` line and exit 1.
Heavy modules are imported inside commands so ``ecgseg --help`` stays fast.

This module holds the ``ecgseg`` group; each command group lives in its own
module (segment, fetch, train, evaluate, classify, plot, report) and shared helpers in _common.
"""

from __future__ import annotations

import click

from .. import __version__
from . import classify as _classify
from . import evaluate as _evaluate
from . import fetch as _fetch
from . import plot as _plot
from . import report as _report
from . import segment as _segment
from . import train as _train
from ._common import interruptible


class _Commands(click.Group):
    """The ``ecgseg`` group: every command runs inside :func:`._common.interruptible` (Ctrl-C: one line, exit 130)."""

    def invoke(self, ctx):
        with interruptible():
            return super().invoke(ctx)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecgseg")
def cli():
    """ECG records to labelled fixed-length heartbeats, and their AAMI classes.

    \b
      ecgseg fetch mitdb                       download the MIT-BIH Arrhythmia Database
      ecgseg segment record 100 > beats.npy    one record -> (n_beats, 187) float32 .npy
      ecgseg classify beats.npy                per-beat class and probability
    """


cli.add_command(_segment.segment)
cli.add_command(_fetch.fetch_command)
cli.add_command(_train.train_command)
cli.add_command(_evaluate.evaluate_command)
cli.add_command(_classify.classify_command)
cli.add_command(_plot.plot)
cli.add_command(_report.report)


def main():  # pragma: no cover - console script entry point
    from .._numba_blas import preload_cython_blas

    preload_cython_blas()  # start-up: numba's BLAS check without all of scipy.linalg (see the module)
    cli()
