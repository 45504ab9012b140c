"""A self-contained HTML report of one record: its facts, a strip, class counts, beat overlays, class probabilities, the model card.

One file: every image is inlined as a base64 PNG and the CSS sits in a
``<style>`` element; no scripts, fonts or links to fetch, so it opens offline
by double-clicking. The figures come from :mod:`ecgseg.plot` (needs
matplotlib: ``pip install 'ecgseg[plot]'``).
"""

from __future__ import annotations

import base64
import datetime
import html
import re
from pathlib import Path

import numpy as np

from .aami import AAMI_CLASSES, TOLERANCE_S

from .report_quality import quality_facts, quality_note, quality_window

__all__ = ["model_facts", "busiest_window", "quality_window", "record_report", "card_html", "markdown_html"]

MODEL_CARD = Path(__file__).parent / "classify" / "MODEL_CARD.md"

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 0; background: #fafafa; }
main { max-width: 1560px; margin: 0 auto; padding: 16px 28px 48px; }
h1 { font-size: 26px; margin: 8px 0 2px; }
h2 { font-size: 19px; margin: 30px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #666; font-size: 13px; }
section { background: #fff; border: 1px solid #e4e4e4; border-radius: 6px; padding: 4px 18px 14px; margin-top: 18px; }
img { max-width: 100%; height: auto; display: block; margin: 10px 0; }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { padding: 3px 12px; border-bottom: 1px solid #eee; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f4f4f4; padding: 10px; overflow-x: auto; font-size: 13px; }
code { font-size: 13px; }
.card { max-width: 1100px; }
"""


def model_facts(classifier) -> dict[str, str]:
    """Facts about the model that classified the beats, for the report's model section.

    Parameters
    ----------
    classifier : ecgseg.classify.predict.Classifier
        From :func:`ecgseg.classify.classify_beats`.

    Examples
    --------
    >>> from ecgseg.classify import classify_beats
    >>> _, classifier = classify_beats({"segments": np.zeros((2, 187), np.float32)})
    >>> sorted(model_facts(classifier))
    ['logit biases', 'model', 'trained with', 'validation macro-F1']
    """
    from .classify.config import SHIPPED

    metadata, checkpoint = classifier.metadata, classifier.checkpoint
    shipped = classifier.path in SHIPPED
    return {
        "model": f"shipped {classifier.description} weights (trained on DS1, see the model card)" if shipped
        else str(classifier.path),
        "trained with": f"{metadata.get('protocol', '?')}-patient protocol, {metadata.get('n_train_beats', '?')} beats",
        "validation macro-F1": str(metadata.get("val_macro_f1_calibrated", metadata.get("val_macro_f1", "?"))),
        "logit biases": " ".join(f"{c} {float(b):+.2f}" for c, b in zip(checkpoint.get("class_names", AAMI_CLASSES), checkpoint["logit_bias"])),
    }


def busiest_window(r_peaks, classes, fs: float, window_s: float = 10.0) -> float:
    """Start (s) of the ``window_s`` window holding the most beats of a class other than N (the first such; 0 if none).

    Examples
    --------
    >>> busiest_window([100, 4000, 4100, 9000], [0, 2, 1, 0], fs=360)
    10.0
    """
    r_peaks, classes = np.asarray(r_peaks, dtype=np.int64), np.asarray(classes)
    ectopic = r_peaks[classes >= 1] // int(round(window_s * fs))
    return float(np.bincount(ectopic).argmax() * window_s) if ectopic.size else 0.0


def _image(figure, alt: str) -> str:
    from .plot import figure_bytes

    data = base64.b64encode(figure_bytes(figure, "png")).decode("ascii")
    width, height = (figure.get_size_inches() * figure.dpi).round().astype(int)
    return f'<img alt="{html.escape(alt)}" width="{width}" height="{height}" src="data:image/png;base64,{data}">'


def _table(header, rows) -> str:
    head = "<thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr></thead>" if any(header) else ""
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{v}</td>' if isinstance(v, (int, np.integer)) else f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table>{head}<tbody>{body}</tbody></table>"


def _source(record, db: str | None) -> str:
    """Where the record came from: its database (a record named in the data folder) or its path."""
    database = db if db is not None else getattr(record, "database", "")
    if database:
        return f"{record.name} in database {database} ({record.path})"
    return f"{record.name}, read from {record.path} (given by path, no database)"


def _facts(record, beats, db: str | None, params: dict, cut: str | None) -> list[tuple[str, str]]:
    duration = record.signal.shape[0] / record.fs
    facts = [
        ("record", _source(record, db)),
        ("lead", f"{record.channel}, {record.units}, {record.fs:g} Hz"),
        ("duration", f"{datetime.timedelta(seconds=round(duration))} ({record.signal.shape[0]} samples)"),
    ]
    if record.has_annotations:
        from .labels import reference_beats

        n_reference = int(reference_beats(record.ann_samples, record.ann_symbols)[0].size)
        facts.append(("reference annotations", f"{record.ann_samples.size}, of which {n_reference} beats"))
        found = n_reference - beats.n_missed
        facts.append(("reference beats found", f"{found} of {n_reference} ({100 * found / max(n_reference, 1):.1f}%)"))
    else:
        why = f": {record.annotation_problem}" if record.annotation_problem else ""
        facts.append(("reference annotations", f"none{why} (classes below are predicted only)"))
    if cut:
        facts.append(("R-peaks", cut))
    facts += [
        ("beats cut", f"{len(beats)} in {beats.n_windows} windows ({beats.n_fallback_windows} took the record's median T)"),
        ("beats with T < 0.2 s", str(beats.n_short)),
        *quality_facts(beats),
        ("segmentation", ", ".join(f"{k}={v}" for k, v in params.items())),
    ]
    return facts


def _counts(reference, predicted) -> str:
    names = list(AAMI_CLASSES)
    predicted_counts = np.bincount(predicted, minlength=len(names))
    if reference is None:
        return _table(["class", "predicted"], [[n, int(c)] for n, c in zip(names, predicted_counts)])
    reference_counts = np.bincount(reference + 1, minlength=len(names) + 1)
    agree = np.bincount(reference[reference == predicted], minlength=len(names))
    rows = [[n, int(r), int(p), int(a)] for n, r, p, a in zip(names, reference_counts[1:], predicted_counts, agree)]
    rows.append(["no reference beat", int(reference_counts[0]), "", ""])
    return _table(["class", "reference", "predicted", "predicted = reference"], rows)


def _split_note(name: str, db: str | None) -> str:
    """Where an MIT-BIH record sits in the inter-patient protocol: a model trained on DS1 has seen DS1 records."""
    from .evaluate import DS1, DS2, PACED

    if db != "mitdb":
        return ""
    where = "in neither DS1 nor DS2"
    if name in DS1:
        where = "in DS1, the training records of the inter-patient protocol: a model trained on DS1 has seen these beats"
    elif name in DS2:
        where = "in DS2, the test records of the inter-patient protocol (unseen by a model trained on DS1)"
    elif name in PACED:
        where = "paced, outside both DS1 and DS2"
    return f"<p>Record {html.escape(name)} is {where}.</p>"


def record_report(
    record,
    beats,
    probabilities,
    *,
    start_s: float | None = None,
    seconds: float = 10.0,
    window_s: float = 10.0,
    db: str | None = None,
    params: dict | None = None,
    model_facts: dict | None = None,
    model_card: str | None = None,
    tolerance_s: float = TOLERANCE_S,
    cut: str | None = None,
    model_file: str | None = None,
) -> str:
    """The HTML report of a record and its beats, one self-contained document.

    Parameters
    ----------
    record : Record
        From :func:`ecgseg.read_record`.
    beats : Beats
        Cut from it (:func:`ecgseg.segment_record`), with ``window_s``.
    probabilities : array_like, shape (n_beats, 5)
        The classifier's (:func:`ecgseg.classify.classify_beats`).
    start_s : float, optional
        Start of the strip; by default a fifth of ``seconds`` before the window with the most non-N beats. When the
        beats have flutter/fibrillation or poor signal quality and that strip shows none of it, a second strip shows
        it (:func:`quality_window`).
    db : str, optional
        The record's database; by default the record's own (``Record.database``; none for a record given by path).
    params : dict, optional
        The segmentation settings, listed in the facts.
    model_facts : dict, optional
        Name -> text about the model (from :func:`model_facts`).
    model_card : str, optional
        Markdown of the model card: its summary and the section of ``model_file`` are rendered at the end
        (:func:`card_html`).
    cut : str, optional
        Where the beats were cut, in words, for the facts.
    model_file : str, optional
        The file name of the model that classified the beats (``classifier.path.name``).

    Returns
    -------
    str
        An HTML5 document.

    Examples
    --------
    >>> from ecgseg import read_record, segment_record
    >>> from ecgseg.classify import classify_beats
    >>> rec = read_record("100", data_dir=DATA); beats = segment_record(rec)
    >>> probabilities, classifier = classify_beats(beats)
    >>> page = record_report(rec, beats, probabilities, model_facts=model_facts(classifier))
    >>> page.count('<img alt='), page.count("data:image/png;base64,")
    (5, 5)
    """
    from .evaluate import class_report
    from .plot import beats_figure, confusion_figure, probability_figure, record_strip

    probabilities = np.asarray(probabilities)
    if probabilities.shape != (len(beats), len(AAMI_CLASSES)):
        raise ValueError(f"probabilities have shape {probabilities.shape} for {len(beats)} beats; give ({len(beats)}, {len(AAMI_CLASSES)})")
    predicted = probabilities.argmax(axis=1)
    reference = beats.labels.astype(np.int64) if beats.labels is not None else None
    if start_s is None:  # from a little before the busiest window, so its left edge shows
        busiest = busiest_window(beats.r_peaks, predicted if reference is None else reference, record.fs, window_s)
        start_s = max(0.0, busiest - 0.2 * seconds)
    strip = dict(start_s=start_s, seconds=seconds, window_s=window_s, tolerance_s=tolerance_s)
    pre_r_s = beats.pre_r_s

    parts = [f"<h1>Record {html.escape(record.name)}</h1>",
             f'<p class="meta">ecgseg report, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC</p>',
             "<section><h2>The record</h2>", _table([], _facts(record, beats, db, params or {}, cut)), "</section>",
             f"<section><h2>Strip from {start_s:g} s</h2>"]
    if reference is not None:
        parts += ["<p>Cut beats coloured by their reference label (the annotation within "
                  f"{1000 * tolerance_s:.0f} ms); crosses: annotated beats no beat was cut at.</p>",
                  _image(record_strip(record, beats, **strip), "strip coloured by reference class"),
                  "<p>The same beats coloured by the classifier's class; rings: it differs from the reference label.</p>"]
    shown = quality_window(beats, start_s, seconds)
    note = quality_note(beats, start_s, seconds) if shown is None else ""
    parts += [_image(record_strip(record, beats, predicted=predicted, **strip), "strip coloured by predicted class"),
              f"<p>{html.escape(note, quote=False)}</p>" if note else "", "</section>"]
    if shown is not None:  # the record has poor signal or flutter/fibrillation the strip above does not show
        at, what = shown
        which = "first stretch of it" if what.startswith("ventricular") else "stretch of it with the most poor beats"
        parts += [f"<section><h2>Strip from {at:g} s: {what}</h2>",
                  f"<p>The record's {which}, which the strip above does not reach; beats coloured by the "
                  f"classifier's class. {html.escape(quality_note(beats, at, seconds), quote=False)}</p>",
                  _image(record_strip(record, beats, predicted=predicted, **{**strip, "start_s": at}),
                         f"strip at {what}"), "</section>"]
    parts += ["<section><h2>Class counts</h2>", _split_note(record.name, db if db is not None else
                                                            getattr(record, "database", "")),
              _counts(reference, predicted)]
    if reference is not None and (reference >= 0).any():
        labelled = reference >= 0
        report = class_report(reference[labelled], predicted[labelled])
        title = f"record {record.name}: accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1():.3f} ({int(labelled.sum())} labelled beats)"
        parts.append(_image(confusion_figure(report.confusion, title=title), "confusion matrix"))
    source = "reference" if reference is not None else "predicted"
    labels = reference if reference is not None else predicted
    parts += ["</section>", "<section><h2>Beats by class</h2>",
              _image(beats_figure(beats.segments, labels, fs=beats.fs_out, pre_r_s=pre_r_s, class_source=source,
                                  spans=beats.spans), "beat overlays"),
              "</section>", "<section><h2>Class probabilities</h2>",
              _image(probability_figure(probabilities, reference), "class probability histograms"), "</section>",
              "<section><h2>The model</h2>", _table([], list((model_facts or {}).items()))]
    if model_card:
        parts.append(f'<div class="card">{card_html(model_card, model_file)}</div>')
    parts.append("</section>")
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>ecgseg report: record {html.escape(record.name)}</title><style>{CSS}</style></head>\n"
            f"<body><main>\n{body}\n</main></body></html>\n")


def card_html(card: str, model_file: str | None = None) -> str:
    """The model card as HTML, for the model that classified the beats: the card's opening and first section (what it
    is, which model is used when), the section whose heading names ``model_file``, and its limits (the section whose
    heading starts "Limits"); all of it when ``model_file`` is None. Tables as tables, headings under the report's.
    How the models were chosen, the other models and the card's history stay in the card itself.

    Examples
    --------
    >>> card = ("# Card\\n\\n## Which\\n\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\n\\n## The x (`x.pt`)\\n\\nX.\\n\\n"
    ...         "## The y (`y.pt`)\\n\\nY.\\n\\n## Limits\\n\\nL.\\n")
    >>> page = card_html(card, "x.pt")
    >>> "<table>" in page, "|---|" in page, "X." in page, "Y." in page, "L." in page
    (True, False, True, False, True)
    """
    opening, *sections = re.split(r"(?m)^(?=## )", card)
    if model_file is not None:
        sections = sections[:1] + [part for part in sections[1:] if f"{model_file}`" in part.splitlines()[0]
                                   or part.startswith("## Limits")]
    text = opening + "".join(sections)
    text = re.sub(r"(?m)^(#{1,4}) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", text)  # under the report's <h2>
    # a table right under a line of text (its caption) is a table too, as on GitHub: Markdown wants a blank line
    text = re.sub(r"(?m)^([^|\n].*)\n(\|.*\|\n\|[-|: ]+\|)$", r"\1\n\n\2", text)
    return markdown_html(text) + ("\n<p>The whole model card (how the models were chosen, the other models, their "
                                  "history): <code>ecgseg/classify/MODEL_CARD.md</code> in the ecgseg package.</p>"
                                  if model_file is not None else "")


def markdown_html(text: str) -> str:
    """Markdown as HTML, with tables and fenced code (Python-Markdown, in the ``plot`` extra).

    Examples
    --------
    >>> markdown_html("**What.** A `net`.\\n\\n| a |\\n|---|\\n| 1 |")
    '<p><strong>What.</strong> A <code>net</code>.</p>\\n<table>\\n<thead>\\n<tr>\\n<th>a</th>\\n</tr>\\n</thead>\\n<tbody>\\n<tr>\\n<td>1</td>\\n</tr>\\n</tbody>\\n</table>'
    """
    import markdown

    return markdown.markdown(text, extensions=["tables", "fenced_code"], output_format="html")
