"""``ecgseg classify``: each beat's class and probability (torch is imported inside the command only).

``ecgseg train`` and ``evaluate`` are in :mod:`ecgseg.cli.train` and :mod:`ecgseg.cli.evaluate`."""

from __future__ import annotations

import sys

import click

from ._common import PROGRESS_BEATS, _write_stdout, echo_err, library_errors, progress_bar


def _good_beats(arrays, min_quality, name: str, quiet: bool):
    """Indices of the beats of at least ``min_quality`` (None: keep every beat), saying how many are left out."""
    if min_quality is None:
        return None
    import numpy as np

    quality = arrays.get("quality")
    if quality is None or np.isnan(quality).all():
        raise click.ClickException(f"{name} has no signal quality per beat (a .npy, a CSV, or beats cut at the rule's "
                                   "peaks); cut them with `ecgseg segment record ... --peaks hamilton -o FILE.npz`, "
                                   "or drop --min-quality")
    kept = np.flatnonzero(~(quality < min_quality))  # a beat whose quality was not measured is kept
    echo_err(f"{name}: {len(quality) - kept.size} of {len(quality)} beats below quality {min_quality:g} left out",
             quiet)
    return kept


def _file_notes(arrays, name: str, quiet: bool, most: int = 3) -> None:
    """Repeat what the beat file says is doubtful about its beats (its ``notes``: lead, polarity, labels, gaps)."""
    import numpy as np

    if "notes" not in arrays:
        return
    notes = [note for note in dict.fromkeys(np.ravel(np.asarray(arrays["notes"])).astype(str).tolist()) if note]
    for note in notes[:most]:
        echo_err(f"note: {name} says: {note}", quiet)
    if len(notes) > most:
        echo_err(f"note: {name} holds {len(notes) - most} more notes (its 'notes' key)", quiet)


def _poor_note(arrays, name: str, quiet: bool) -> None:
    """Say how many of the classified beats lie in poor-quality signal (the file's ``quality``), as segment did."""
    import numpy as np

    quality = arrays.get("quality")
    if quality is None or np.isnan(quality).all():
        return
    from ..quality import POOR

    poor = int(np.count_nonzero(quality < POOR))
    if poor:
        echo_err(f"note: {name}: {poor} of {len(quality)} beats in poor-quality signal (quality < {POOR:g}); their "
                 f"classes are doubtful (--min-quality {POOR:g} leaves them out)", quiet)


def _columns(arrays: dict, probabilities, class_names, fmt: str, index=None) -> dict:
    """The output columns, each an array of strings: beat, record, R-peak sample and time, class, its probability,
    every class's probability (csv, json), the reference label (when the file has one), as far as the file holds them.
    ``index``: the beats' numbers in the file (when some were left out), else 0, 1, ...
    """
    import numpy as np

    from ..aami import AAMI_CLASSES

    n = probabilities.shape[0]
    best = probabilities.argmax(axis=1)
    columns = {"beat": (np.arange(n) if index is None else np.asarray(index)).astype(str)}
    if "record" in arrays:
        columns["record"] = np.asarray(arrays["record"]).astype(str)
    if "r_peaks" in arrays and "fs" in arrays:
        r_peaks = np.asarray(arrays["r_peaks"], dtype=np.int64)
        fs = np.broadcast_to(np.asarray(arrays["fs"], dtype=np.float64).ravel(), (n,)) if np.size(arrays["fs"]) == n \
            else np.full(n, float(np.ravel(arrays["fs"])[0]))
        columns["r_peak"] = r_peaks.astype(str)
        columns["time_s"] = np.char.mod("%.3f", r_peaks / fs)
    columns["class"] = np.asarray(class_names)[best]
    columns["probability"] = np.char.mod("%.4f", probabilities[np.arange(n), best])
    if fmt in ("csv", "json"):
        for index, name in enumerate(class_names):
            columns[f"p_{name}"] = np.char.mod("%.4f", probabilities[:, index])
    labels = arrays.get("labels")
    if labels is not None and tuple(class_names) == AAMI_CLASSES and (np.asarray(labels) >= 0).any():
        names = np.array(("",) + AAMI_CLASSES)  # -1: no reference beat within the tolerance
        columns["reference"] = names[np.asarray(labels, dtype=np.int64) + 1]
    return columns


def _format_classes(columns: dict, fmt: str) -> bytes:
    import json

    if fmt == "json":
        numbers = {"beat", "r_peak", "time_s", "probability"} | {name for name in columns if name.startswith("p_")}
        keys = list(columns)
        rows = [{key: (None if value == "" else float(value) if key in numbers else value)
                 for key, value in zip(keys, row)} for row in zip(*columns.values())]
        for row in rows:
            for key in ("beat", "r_peak"):
                if key in row:
                    row[key] = int(row[key])
        return (json.dumps(rows) + "\n").encode()
    sep = "\t" if fmt == "table" else ","
    lines = [sep.join(columns)] + [sep.join(row) for row in zip(*columns.values())]
    return ("\n".join(lines) + "\n").encode()


def _record_counts(arrays: dict, probabilities, class_names, name: str) -> list[str]:
    """One line per record (the file's name for a file without records): predicted classes, and against the
    reference labels when the file has them; a total line when there are several records."""
    import numpy as np

    from ..aami import AAMI_CLASSES

    predicted = probabilities.argmax(axis=1)
    records = np.asarray(arrays["record"]).astype(str) if "record" in arrays else np.full(len(predicted), name)
    labels = arrays.get("labels")
    compare = labels is not None and tuple(class_names) == AAMI_CLASSES
    groups = list(dict.fromkeys(records.tolist()))

    def line(title, mask):
        counts = np.bincount(predicted[mask], minlength=len(class_names))
        total = max(int(mask.sum()), 1)
        text = f"{title}: {int(mask.sum())} beats: " + ", ".join(
            f"{c} {k} ({100 * k / total:.1f}%)" for c, k in zip(class_names, counts))
        if compare:
            reference = np.asarray(labels)[mask]
            labelled = reference >= 0
            if labelled.any():
                agree = int(np.count_nonzero(predicted[mask][labelled] == reference[labelled]))
                text += (f"; reference " + ", ".join(f"{c} {k}" for c, k in zip(
                    AAMI_CLASSES, np.bincount(reference[labelled], minlength=len(AAMI_CLASSES))))
                    + f"; agrees on {agree} of {int(labelled.sum())} labelled beats ({100 * agree / labelled.sum():.1f}%)")
                if not labelled.all():  # cuts at no reference beat (false detections, the rule off the QRS): unscored
                    text += f"; {int(np.count_nonzero(~labelled))} beats without a reference label, not compared"
        return text

    lines = [line(group if len(groups) > 1 or "record" in arrays else name, records == group) for group in groups]
    if len(groups) > 1:
        lines.append(line(f"{name} ({len(groups)} records)", np.ones(len(predicted), bool)))
    return lines


@click.command("classify")
@click.argument("beats")
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="Model file, or a shipped model's name (context_ds1.pt, kachuee_ds1.pt, intra_context.pt) "
              "[default: the best shipped model for BEATS: the context model for an .npz cut at a "
              "detector's or the annotations' R-peaks, else the waveform-only one; the choice is said on stderr].")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "npy"]), default="table", show_default=True,
              help="table: tab-separated beat, record, r_peak (sample), time_s, class, probability, reference (the "
              "label, when the file has them); csv and json: also p_N ... p_Q, each class's probability; npy: the "
              "(n, n_classes) float32 probabilities.")
@click.option("--batch-size", type=int, default=1024, show_default=True,
              help="Beats per forward pass (1024: activations stay in L3 cache).")
@click.option("--threads", type=int, default=None, help="Torch intra-op threads [default: torch's, one per core].")
@click.option("--min-quality", type=click.FloatRange(0, 1), default=None,
              help="Leave out beats whose signal quality (the .npz quality key, from `segment --peaks hamilton`) is "
              "below this; 0.7 is where ecgseg calls it poor. Rows keep their beat numbers.")
@click.option("-q", "--quiet", is_flag=True, help="No model line, progress or summary on stderr.")
def classify_command(beats, model, fmt, batch_size, threads, min_quality, quiet):
    """Classify BEATS (.npy, .npz or .csv from `ecgseg segment`, a heartbeat CSV, or - for stdin) into the model's
    classes (N, S, V, F, Q for the shipped models).

    Writes one row per beat to stdout; on stderr, which model was used and why, and the classes per record:
    `ecgseg segment record 232 --peaks hamilton -o b.npz && ecgseg classify b.npz`.
    """
    if fmt == "npy" and sys.stdout.isatty():
        raise click.ClickException("refusing to write binary .npy to a terminal; redirect it (> probabilities.npy)")
    with library_errors():
        from ..beatfile import load_beats, save_npy_bytes, take
        from ..classify.predict import classify_beats

        # bytes, not the stream: a pipe has .seek but cannot seek, and np.load needs to
        source = sys.stdin.buffer.read() if beats == "-" else beats
        arrays = load_beats(source)
        name = "<stdin>" if beats == "-" else beats
        kept = _good_beats(arrays, min_quality, name, quiet)
        with progress_bar(len(arrays["segments"]), "classifying", quiet, at_least=PROGRESS_BEATS) as progress:
            probabilities, classifier = classify_beats(arrays, model, name=name, batch_size=batch_size,
                                                       threads=threads, progress=progress)
        if kept is not None:
            # left out after classifying: a beat's context (its R-R intervals, its record's template) is read from
            # every beat around it, so dropping the poor ones first would make their good neighbours look premature
            arrays, probabilities = take(arrays, kept), probabilities[kept]
        echo_err(classifier.choice, quiet)
        if classifier.doubt is not None:  # another lead than the model learnt, rows that are not consecutive beats, ...
            echo_err(f"note: {classifier.doubt}", quiet)
        _file_notes(arrays, name, quiet)
        if kept is None:  # with --min-quality the poor beats are out, and said so above
            _poor_note(arrays, name, quiet)
        class_names = classifier.class_names
        _write_stdout(save_npy_bytes(probabilities) if fmt == "npy"
                      else _format_classes(_columns(arrays, probabilities, class_names, fmt, kept), fmt))
    for line in _record_counts(arrays, probabilities, class_names, name):
        echo_err(line, quiet)
