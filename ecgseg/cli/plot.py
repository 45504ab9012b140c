"""``ecgseg plot``: figures of records and beats (matplotlib, and torch for --predict, imported in commands only)."""

from __future__ import annotations

import click

from ..aami import AAMI_CLASSES
from ._common import (
    _apply,
    _need_matplotlib,
    _read_beats,
    _scheme_params,
    analysis_peaks,
    analysis_scheme_options,
    data_options,
    echo_err,
    library_errors,
    model_option,
)


def image_options(function):
    """-o, --dpi and -q, shared by the plot commands."""
    return _apply(
        [
            click.option("-o", "--output", type=click.Path(), required=True,
                         help="Image file to write (.png, .svg or .pdf)."),
            click.option("--dpi", type=click.IntRange(20, 600), default=100, show_default=True,
                         help="Pixels per inch of a PNG."),
            click.option("-q", "--quiet", is_flag=True, help="No summary on stderr."),
        ],
        function,
    )


@click.group("plot")
def plot():
    """Figures of records, beats and classifier results (needs matplotlib: pip install 'ecgseg[plot]')."""


@plot.command("record")
@click.argument("record")
@data_options
@analysis_scheme_options
@click.option("--start", "start_s", type=float, default=0.0, show_default=True,
              help="Strip start (s from the record's start).")
@click.option("--seconds", type=float, default=10.0, show_default=True, help="Strip length (s).")
@click.option("--predict", is_flag=True,
              help="Colour beats by the classifier's class (rings where it differs from the reference label).")
@model_option
@image_options
def plot_record_command(record, db, data_dir, channel, annotator, peaks, start_s, seconds, predict, model, output, dpi, quiet,
                        **kwargs):
    """Draw a strip of RECORD: the ECG in its units, the 10 s windows' edges, each cut beat's R-peak coloured by
    class, missed annotated beats.

    Classes are the reference labels (from the record's .atr annotations), or
    the classifier's with --predict. Beats are cut over the whole record with
    the scheme options, exactly as `ecgseg segment record` cuts them: at the
    paper's rule R-peaks by default, at hamilton's with --predict (every beat).
    """
    params = _scheme_params(kwargs)
    peaks, cut = analysis_peaks(peaks, predict)
    _need_matplotlib(output)
    with library_errors():
        from ..classify.predict import classify_beats
        from ..plot import figure_format, record_strip, save_figure

        figure_format(output)
        rec, beats = _read_beats(record, db, data_dir, channel, annotator, peaks, params)
        classifier = None
        if predict:
            probabilities, classifier = classify_beats(beats, model, name=rec.name, classes=AAMI_CLASSES)
        figure = record_strip(rec, beats, start_s=start_s, seconds=seconds, window_s=params["window_s"],
                              predicted=None if classifier is None else probabilities.argmax(axis=1),
                              tolerance_s=params["tolerance_s"], dpi=dpi)
        save_figure(figure, output)
    echo_err(f"{output}: {figure.axes[0].get_title(loc='left')}; {cut}", quiet)
    if classifier is not None:
        echo_err(classifier.choice, quiet)


@plot.command("beats")
@click.argument("beats")
@click.option("--predict", is_flag=True, help="Group beats by the classifier's class instead of their labels.")
@model_option
@click.option("--max-per-class", type=click.IntRange(min=1), default=200, show_default=True,
              help="Beats drawn per class (a seeded sample).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@click.option("--fs-out", type=float, default=None,
              help="Rate the beats were cut at (Hz), for the time axis [default: the file's fs_out, else 125].")
@image_options
def plot_beats_command(beats, predict, model, max_per_class, seed, fs_out, output, dpi, quiet):
    """Overlay the beats of each class in BEATS (.npz, .npy or .csv from `ecgseg segment`, or - for stdin), each only
    where it holds signal (no zero padding), with the class mean and counts; one panel of all beats without labels.
    """
    import sys

    _need_matplotlib(output)
    with library_errors():
        import numpy as np

        from ..beatfile import load_beats, scalar
        from ..classify.predict import classify_beats
        from ..plot import beats_figure, figure_format, save_figure

        figure_format(output)
        name = "<stdin>" if beats == "-" else beats
        arrays = load_beats(sys.stdin.buffer.read() if beats == "-" else beats)
        labels = arrays.get("labels")
        if labels is not None and not (np.asarray(labels) >= 0).any():
            labels = None  # a record without annotations: no class to group by
        classifier = None
        if predict:
            probabilities, classifier = classify_beats(arrays, model, name=name, classes=AAMI_CLASSES)
            labels = probabilities.argmax(axis=1)
        elif labels is None:
            echo_err(f"{name} holds no labels: all beats in one panel "
                     "(pass --predict to group them by the classifier's class)", quiet)
        pre_r_s = scalar(arrays, "pre_r_s", name)
        if fs_out is None:  # a plain .npy, or a file from before fs_out was stored: the paper's rate
            fs_out = scalar(arrays, "fs_out", name)
        figure = beats_figure(arrays["segments"], labels, fs=fs_out, pre_r_s=pre_r_s, max_per_class=max_per_class,
                              seed=seed, class_source="predicted" if predict else "reference", dpi=dpi,
                              spans=arrays.get("spans"))
        save_figure(figure, output)
    if classifier is not None:
        echo_err(classifier.choice, quiet)
    echo_err(f"{output}: {len(arrays['segments'])} beats; "
             + "; ".join(ax.get_title() for ax in figure.axes if ax.get_title()), quiet)
