"""``ecgseg classify``: each beat's class and probability (torch is imported inside the command only).

``ecgseg train`` and ``evaluate`` are in :mod:`ecgseg.cli.train` and :mod:`ecgseg.cli.evaluate`."""

from __future__ import annotations

import sys

import click

from ._common import _write_stdout, echo_err, library_errors


def _note(classifier, quiet: bool) -> None:
    """Say why the waveform-only model classifies beats the context model cannot take, and what is doubtful."""
    for line in (classifier.reason, classifier.doubt):
        if line is not None:
            echo_err(f"note: {line}", quiet)


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


def _format_classes(probabilities, fmt: str, class_names, index=None) -> bytes:
    import json

    import numpy as np

    names = np.array(class_names)[probabilities.argmax(axis=1)]
    best = probabilities.max(axis=1)
    index = np.arange(len(names)) if index is None else np.asarray(index)
    if fmt == "json":
        return (json.dumps([{"beat": int(i), "class": str(c), "probability": round(float(p), 4)}
                            for i, c, p in zip(index, names, best)]) + "\n").encode()
    sep = "\t" if fmt == "table" else ","
    lines = np.char.add(np.char.add(np.char.add(index.astype(str), sep), np.char.add(names, sep)),
                        np.char.mod("%.4f", best))
    return (f"beat{sep}class{sep}probability\n" + "\n".join(lines.tolist()) + "\n").encode()


@click.command("classify")
@click.argument("beats")
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="Model file [default: the shipped DS1 context model for an .npz with rr, "
              "else the waveform-only one].")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "npy"]), default="table", show_default=True,
              help="table: tab-separated beat, class, probability; npy: the (n, n_classes) float32 probabilities.")
@click.option("--batch-size", type=int, default=1024, show_default=True,
              help="Beats per forward pass (1024: activations stay in L3 cache).")
@click.option("--threads", type=int, default=None, help="Torch intra-op threads [default: torch's, one per core].")
@click.option("--min-quality", type=click.FloatRange(0, 1), default=None,
              help="Leave out beats whose signal quality (the .npz quality key, from `segment --peaks hamilton`) is "
              "below this; 0.7 is where ecgseg calls it poor. Rows keep their beat numbers.")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def classify_command(beats, model, fmt, batch_size, threads, min_quality, quiet):
    """Classify BEATS (.npy, .npz or .csv from `ecgseg segment`, a heartbeat CSV, or - for stdin) into the model's
    classes (N, S, V, F, Q for the shipped models).

    Writes one row per beat to stdout and a per-class count to stderr:
    `ecgseg segment record 100 | ecgseg classify -`.
    """
    if fmt == "npy" and sys.stdout.isatty():
        raise click.ClickException("refusing to write binary .npy to a terminal; redirect it (> probabilities.npy)")
    with library_errors():
        import numpy as np

        from ..beatfile import load_beats, save_npy_bytes, take
        from ..classify.predict import classify_beats

        # bytes, not the stream: a pipe has .seek but cannot seek, and np.load needs to
        source = sys.stdin.buffer.read() if beats == "-" else beats
        arrays = load_beats(source)
        name = "<stdin>" if beats == "-" else beats
        kept = _good_beats(arrays, min_quality, name, quiet)
        if kept is not None:
            arrays = take(arrays, kept)
        probabilities, classifier = classify_beats(arrays, model, name=name, batch_size=batch_size, threads=threads)
        _note(classifier, quiet)
        class_names = classifier.class_names
        _write_stdout(save_npy_bytes(probabilities) if fmt == "npy"
                      else _format_classes(probabilities, fmt, class_names, kept))
    counts = np.bincount(probabilities.argmax(axis=1), minlength=len(class_names))
    total = max(len(probabilities), 1)
    echo_err(f"{name}: {len(probabilities)} beats: "
             + ", ".join(f"{c} {n} ({100 * n / total:.1f}%)" for c, n in zip(class_names, counts)), quiet)
