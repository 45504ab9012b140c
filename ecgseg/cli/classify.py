"""``ecgseg classify``: each beat's class and probability (torch is imported inside the command only).

``ecgseg train`` and ``evaluate`` are in :mod:`ecgseg.cli.train` and :mod:`ecgseg.cli.evaluate`."""

from __future__ import annotations

import sys

import click

from ._common import _write_stdout, echo_err, library_errors


def _note(classifier, quiet: bool) -> None:
    """Say why the waveform-only model classifies beats the context model cannot take."""
    if classifier.reason is not None:
        echo_err(f"note: {classifier.reason}", quiet)


def _format_classes(probabilities, fmt: str, class_names) -> bytes:
    import json

    import numpy as np

    names = np.array(class_names)[probabilities.argmax(axis=1)]
    best = probabilities.max(axis=1)
    index = np.arange(len(names))
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
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def classify_command(beats, model, fmt, batch_size, threads, quiet):
    """Classify BEATS (.npy, .npz or .csv from `ecgseg segment`, a heartbeat CSV, or - for stdin) into the model's
    classes (N, S, V, F, Q for the shipped models).

    Writes one row per beat to stdout and a per-class count to stderr:
    `ecgseg segment record 100 | ecgseg classify -`.
    """
    if fmt == "npy" and sys.stdout.isatty():
        raise click.ClickException("refusing to write binary .npy to a terminal; redirect it (> probabilities.npy)")
    with library_errors():
        import numpy as np

        from ..beatfile import load_beats, save_npy_bytes
        from ..classify.predict import classify_beats

        # bytes, not the stream: a pipe has .seek but cannot seek, and np.load needs to
        source = sys.stdin.buffer.read() if beats == "-" else beats
        arrays = load_beats(source)
        name = "<stdin>" if beats == "-" else beats
        probabilities, classifier = classify_beats(arrays, model, name=name, batch_size=batch_size, threads=threads)
        _note(classifier, quiet)
        class_names = classifier.class_names
        _write_stdout(save_npy_bytes(probabilities) if fmt == "npy" else _format_classes(probabilities, fmt, class_names))
    counts = np.bincount(probabilities.argmax(axis=1), minlength=len(class_names))
    total = max(len(probabilities), 1)
    echo_err(f"{name}: {len(probabilities)} beats: "
             + ", ".join(f"{c} {n} ({100 * n / total:.1f}%)" for c, n in zip(class_names, counts)), quiet)
