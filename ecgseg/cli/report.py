"""``ecgseg report``: the self-contained HTML report of a record (matplotlib and torch imported inside it only)."""

from __future__ import annotations

import click

from ..aami import AAMI_CLASSES
from ._common import (
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


@click.group("report")
def report():
    """Self-contained HTML reports (needs matplotlib and Markdown: pip install 'ecgseg[plot]')."""


@report.command("record")
@click.argument("record")
@data_options
@analysis_scheme_options
@click.option("--start", "start_s", type=float, default=None,
              help="Strip start (s) [default: 2 s before the window with the most beats of a class other than N].")
@click.option("--seconds", type=float, default=10.0, show_default=True, help="Strip length (s).")
@model_option
@click.option("-o", "--output", type=click.Path(), required=True, help="The HTML file to write.")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def report_record_command(record, db, data_dir, channel, annotator, peaks, start_s, seconds, model, output, quiet, **kwargs):
    """Write one HTML file about RECORD that opens offline: its facts, a strip, class counts, beat overlays, class
    probabilities, the model card.

    Images are inlined, the CSS is in the file; nothing is fetched when it is viewed. Beats are cut at the hamilton
    detector's R-peaks unless --peaks says otherwise (the paper's rule misses about half of them), and classified by
    the best shipped model for them; the page says both.
    """
    params = _scheme_params(kwargs)
    peaks, cut = analysis_peaks(peaks, classified=True)
    _need_matplotlib(output)
    try:
        import markdown  # noqa: F401  (the model card's tables)
    except ImportError:
        raise click.ClickException("the report needs markdown, which is not installed; install it with: "
                                   "pip install 'ecgseg[plot]'") from None
    with library_errors():
        from ..atomic import write_atomic
        from ..classify.predict import classify_beats
        from ..report import MODEL_CARD, model_facts, record_report

        rec, beats = _read_beats(record, db, data_dir, channel, annotator, peaks, params)
        probabilities, classifier = classify_beats(beats, model, name=rec.name, classes=AAMI_CLASSES)
        card = MODEL_CARD.read_text() if model is None and MODEL_CARD.is_file() else None
        page = record_report(rec, beats, probabilities, start_s=start_s, seconds=seconds, window_s=params["window_s"],
                             params={"peaks": peaks, **params}, model_facts=model_facts(classifier),
                             model_card=card, tolerance_s=params["tolerance_s"], cut=cut,
                             model_file=classifier.path.name)
        write_atomic(output, page.encode("utf-8"))
    echo_err(classifier.choice, quiet)
    echo_err(f"{output}: record {rec.name}, {len(beats)} beats, {len(page) / 1e6:.1f} MB; {cut}", quiet)
