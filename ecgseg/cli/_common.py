"""Helpers shared by the command groups: error handling, stderr, stdout, shared options and loaders."""

from __future__ import annotations

import contextlib
import sys

import click

from ..aami import TOLERANCE_S
from ..classify.config import CLASS_NAMES  # noqa: F401  (no numpy, no torch: --help stays fast)
from ..scheme import DEFAULTS, PARAMETERS, PEAKS, RECOMMENDED_PEAKS
from ..terms import command_line


@contextlib.contextmanager
def library_errors():
    """Run the library with its messages in command-line terms (:mod:`ecgseg.terms`: ``--peaks rule``, not
    ``peaks='rule'``), and turn its errors into one-line click errors at the edge."""
    try:
        with command_line():
            yield
    except (ValueError, FileNotFoundError, OSError) as error:
        raise click.ClickException(str(error)) from None


#: What the command being run writes (every output :func:`check_output` checked) and what it keeps when stopped
#: halfway (:func:`kept_when_interrupted`): the line Ctrl-C prints. One command runs per process (tests reset it).
_RUN: dict = {"outputs": [], "kept": None}


@contextlib.contextmanager
def interruptible():
    """Ctrl-C (SIGINT) anywhere in a command: one line saying what was written, and exit status 130 (128 + SIGINT,
    what a shell reports), not click's "Aborted!" and 1, the status of bad input: a script can tell them apart.
    Outputs are written whole or not at all (:mod:`ecgseg.atomic`), so an output not yet written is untouched."""
    _RUN.update(outputs=[], kept=None)
    try:
        yield
    except KeyboardInterrupt:
        outputs = _RUN["outputs"]
        parts = [f"nothing written to {', '.join(outputs)}"] if outputs else []
        parts += [_RUN["kept"]] if _RUN["kept"] else [] if outputs else ["nothing written"]
        click.echo("\nInterrupted: " + "; ".join(parts), err=True)
        raise click.exceptions.Exit(130) from None


def kept_when_interrupted(what: str) -> None:
    """Say what a command keeps of its work when Ctrl-C stops it (fetch: the files downloaded so far)."""
    _RUN["kept"] = what


def echo_err(message: str, quiet: bool = False) -> None:
    if not quiet:
        click.echo(message, err=True)


#: Work this large (beats to classify, epochs, records) gets a progress bar on stderr: a few seconds or more.
PROGRESS_BEATS = 20_000


@contextlib.contextmanager
def progress_bar(total: int, label: str, quiet: bool = False, *, at_least: int = 1):
    """A progress bar on stderr over ``total`` steps, as a callable taking the steps done since its last call; None
    (no bar) with ``quiet`` or when ``total`` is below ``at_least`` (work that ends in a moment). stdout stays data."""
    if quiet or total < at_least:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update


def _apply(options, function):
    for option in reversed(options):
        function = option(function)
    return function


annotator_option = click.option(
    "--annotator", default="atr", show_default=True,
    help="Extension of the reference annotation file the labels come from (qrs: the AF database's beats).")


def data_options(function):
    """--db, --data-dir and --channel, shared by commands that read records."""
    return _apply(
        [
            click.option("--db", default="mitdb", show_default=True, help="Database folder inside the data folder."),
            click.option(
                "--data-dir",
                type=click.Path(file_okay=False),
                envvar="ECGSEG_DATA",
                help="Data folder holding one subfolder per database "
                "[default: $ECGSEG_DATA, else the per-user cache].",
            ),
            click.option("--channel", default=None, help="Lead name or index [default: MLII if present, else 0]."),
            annotator_option,
        ],
        function,
    )


def _scheme_options(peaks_default, peaks_note: str):
    """The segmentation scheme's constants as options, with the paper's values as defaults; ``--peaks`` defaults to
    ``peaks_default`` (``None``: the command decides, as ``peaks_note`` says)."""

    def decorate(function):
        options = [
            click.option(
                "--peaks",
                type=click.Choice(PEAKS),
                default=peaks_default,
                show_default=peaks_default is not None,
                help="Where beats are cut: rule (the paper's 0.9 threshold; finds about half the beats), annotations "
                "(the record's reference beats), or a detector: hamilton (Pan-Tompkins/Hamilton, finds nearly every "
                "beat)." + peaks_note,
            ),
            click.option("--fs-out", type=float, default=DEFAULTS.fs_out, show_default=True,
                         help="Rate beats are sampled at (Hz)."),
            click.option("--window-s", type=float, default=DEFAULTS.window_s, show_default=True, help="Window length (s)."),
            click.option("--threshold", type=float, default=DEFAULTS.threshold, show_default=True,
                         help="R-peak threshold on the normalized window."),
            click.option("--period-factor", type=float, default=DEFAULTS.period_factor, show_default=True,
                         help="Segment length in heartbeat periods T."),
            click.option("--length", type=int, default=DEFAULTS.length, show_default=True,
                         help="Samples per beat after padding."),
            click.option("--refractory-s", type=float, default=DEFAULTS.refractory_s,
                         help="Guard, off by default: keep the highest of rule peaks closer than this (s)."),
            click.option(
                "--period",
                type=click.Choice(["rule", "peaks"]),
                default=DEFAULTS.period,
                show_default=True,
                help="Take T from the rule's peaks per window, or from the cut positions.",
            ),
            click.option("--tolerance-s", type=float, default=TOLERANCE_S, show_default=True,
                         help="Label a beat from the reference beat within this (s)."),
            click.option("--pre-r-s", type=float, default=DEFAULTS.pre_r_s, show_default=True,
                         help="Start segments this long before the R-peak (0: the paper's scheme; 0.25 shows the P wave)."),
            click.option("--polarity", type=click.Choice(["auto", "keep"]), default=DEFAULTS.polarity, show_default=True,
                         help="auto: when beats are cut at a detector's peaks and it finds the lead inverted (QRS "
                         "pointing down; hamilton tells), cut the upright signal; keep: cut it as it is. Cuts at "
                         "annotations keep the record's polarity."),
            click.option("--gaps", type=click.Choice(["error", "interpolate", "split"]), default=DEFAULTS.gaps,
                         show_default=True,
                         help="Stretches of NaN samples (invalid samples, gap segments): refuse, fill them linearly, or "
                         "segment each valid stretch on its own (no beat crosses a gap)."),
        ]
        return _apply(options, function)

    return decorate


#: The scheme's options of `segment`: the paper's rule by default.
scheme_options = _scheme_options("rule", "")
#: The scheme's options of the commands that analyse a record (`report`, `plot record --predict`): beats are cut where
#: the recommended detector finds every beat unless --peaks says otherwise.
analysis_scheme_options = _scheme_options(
    None, f" [default: {RECOMMENDED_PEAKS}, every beat, when the beats are classified (report, plot record "
    "--predict); rule otherwise]")


#: The scheme's keywords and the labelling tolerance, in the order the options list them (and the report shows them).
_SCHEME_KEYS = ("fs_out", "window_s", "threshold", "period_factor", "length", "refractory_s", "period", "tolerance_s",
                "pre_r_s", "polarity", "gaps")
assert set(_SCHEME_KEYS) == {*PARAMETERS, "tolerance_s"}, "a scheme keyword without its option"


def _scheme_params(kwargs: dict) -> dict:
    """The scheme's keywords (and the labelling tolerance) out of a command's options, checked before any work."""
    from ..scheme import Scheme, check_tolerance

    params = {key: kwargs.pop(key) for key in _SCHEME_KEYS}
    with library_errors():
        Scheme(**{key: params[key] for key in PARAMETERS})
        check_tolerance(params["tolerance_s"])
    return params


model_option = click.option("--model", type=click.Path(dir_okay=False), default=None,
                            help="Model file [default: the shipped DS1 weights].")


def _write_stdout(data: bytes) -> None:
    stream = sys.stdout.buffer  # not click.get_binary_stream: deprecated in click 8.5
    stream.write(data)
    stream.flush()


def check_output(option: str, path, *, folder: bool = False) -> None:
    """Fail before any work when ``path`` (given as ``option``) cannot be written: its folder is missing, is a file,
    or takes no new file. The one check of every command's outputs (:func:`ecgseg.atomic.output_problem`);
    ``folder``: an output folder, made if missing. Nothing to check for stdout (None or ``-``)."""
    if path is None or path == "-":
        return
    _RUN["outputs"].append(str(path))
    from ..atomic import output_problem

    problem = output_problem(path, folder=folder)
    if problem is not None:
        raise click.ClickException(f"cannot write {path} ({option}): {problem}")


def _need_matplotlib(output: str | None = None, option: str = "-o") -> None:
    """Fail before any work when matplotlib is missing (saying how to install it) or ``output`` cannot be written."""
    from ..plot import MissingMatplotlib, require_matplotlib

    try:
        require_matplotlib()
    except MissingMatplotlib as error:
        raise click.ClickException(str(error)) from None
    check_output(option, output)


def analysis_peaks(peaks: str | None, classified: bool) -> tuple[str, str]:
    """Where a command that analyses a record cuts its beats, and a phrase saying so: the recommended detector when
    the beats are classified (the classes of half the beats are no analysis of a record), else the paper's rule."""
    if peaks is not None:
        return peaks, f"beats cut at --peaks {peaks}"
    if classified:
        return RECOMMENDED_PEAKS, (f"beats cut at {RECOMMENDED_PEAKS} R-peaks, which find nearly every beat (the default "
                                   "here; --peaks rule for the paper's)")
    return "rule", "beats cut at the paper's rule's R-peaks (the default here; --peaks hamilton finds every beat)"


def _read_beats(record, db, data_dir, channel, annotator, peaks, params):
    """The record, and its beats cut and labelled as `ecgseg segment record` cuts them."""
    from ..pipeline import segment_record
    from ..records import read_record

    rec = read_record(record, db, data_dir=data_dir, channel=channel, annotator=annotator)
    return rec, segment_record(rec, peaks=peaks, **params)
