"""DS2 figures of a classifier, as a user gets them: annotation peaks, hamilton peaks end to end, the waveform path.

    python benchmarks/classifier_ds2.py --ann ann_pre.npz [--ham ham_pre.npz] [--npy ann.npz] [--model M.pt] \\
        [--data-dir DATA] [--per-record] [--json out.json]

Each file is classified as ``ecgseg classify`` would (``ecgseg.classify.classify_beats``: the shipped context
model for an ``.npz`` that carries its inputs, or ``--model``), then scored on the DS2 records only:

- ``--ann``: beats cut at the reference annotations (``ecgseg segment database mitdb --peaks annotations
  --pre-r-s 0.25``);
- ``--ham``: beats cut at the hamilton detector's R-peaks (``--peaks hamilton --pre-r-s 0.25``), end to end: a
  reference beat no detected R-peak matched within 150 ms counts as an error of its class (column ``miss``), and a
  detected R-peak no reference beat matched counts against the class it was given (row ``extra``);
- ``--npy``: only the ``segments`` of the file (the paper's cut, as ``ecgseg segment record N > beats.npy``
  writes them), so the waveform-only model classifies.

``--per-record`` adds the table of where the S and V errors are (DS2 records: S beats, S found, N called S, V
beats, V found, other called V).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecgseg.beatfile import load_beats  # noqa: E402
from ecgseg.evaluate import DS2, INTER_CLASSES  # noqa: E402
from ecgseg.labels import AAMI_CLASSES  # noqa: E402

NAMES = list(AAMI_CLASSES)


def classify(arrays, model, name):
    from ecgseg.classify import classify_beats

    probabilities, classifier = classify_beats(arrays, model, name=name, threads=2)
    used = str(model) if model else f"shipped {classifier.path.name}"
    return probabilities.argmax(axis=1), used


def ds2_subset(arrays):
    """The DS2 records' beats (whole records, so their rhythm and templates are computed as a user's would be)."""
    keep = np.isin(arrays["record"].astype(str), DS2)
    return {k: (v[keep] if np.ndim(v) and len(v) == len(keep) else v) for k, v in arrays.items()}


def confusion_with_misses(true, predicted, misses=None):
    """A 6 x 6 confusion: rows true N S V F Q and ``extra`` (no reference beat), columns predicted and ``miss``."""
    confusion = np.zeros((6, 6), dtype=np.int64)
    true = np.where(true < 0, 5, true)
    np.add.at(confusion, (true, predicted), 1)
    if misses is not None:
        confusion[:5, 5] += misses
    return confusion


def scores(confusion):
    tp = np.diag(confusion)[:5].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = tp / confusion[:5].sum(axis=1)
        ppv = tp / confusion[:, :5].sum(axis=0)
        f1 = 2 * tp / (confusion[:5].sum(axis=1) + confusion[:, :5].sum(axis=0))
    macro = float(np.mean(f1[:4]))
    return se, ppv, f1, macro


def print_report(title, confusion, out):
    se, ppv, f1, macro = scores(confusion)
    rows = [title, f"{'class':<6}{'Se':>7}{'+P':>7}{'F1':>7}{'support':>9}   " + "".join(f"{c:>7}" for c in NAMES + ['miss'])]
    for i, name in enumerate(NAMES + ["extra"]):
        if i < 5:
            figures = "".join("      -" if np.isnan(v) else f"{v:7.3f}" for v in (se[i], ppv[i], f1[i]))
            rows.append(f"{name:<6}{figures}{confusion[i].sum():9d}   " + "".join(f"{c:7d}" for c in confusion[i]))
        elif confusion[5].any():
            rows.append(f"{name:<6}{'':21}{confusion[5].sum():9d}   " + "".join(f"{c:7d}" for c in confusion[5]))
    accuracy = np.trace(confusion[:5, :5]) / max(confusion[:5].sum(), 1)
    rows.append(f"macro-F1 (N,S,V,F) {macro:.4f}   accuracy {accuracy:.4f}   reference beats {confusion[:5].sum()}")
    print("\n".join(rows) + "\n", flush=True)
    out[title] = {"confusion": confusion.tolist(), "se": np.round(se, 4).tolist(), "ppv": np.round(ppv, 4).tolist(),
                  "f1": np.round(f1, 4).tolist(), "macro_f1_nsvf": round(macro, 4)}


def missed_reference(arrays, data_dir):
    """Per record, the reference beats (by AAMI class) that no detected R-peak matched within 150 ms."""
    from ecgseg.labels import aami_classes, match_peaks
    from ecgseg.records import read_record

    missed = {}
    for name in DS2:
        record = read_record(name, data_dir=data_dir)
        classes = aami_classes(record.ann_symbols)
        inside = (classes >= 0) & (record.ann_samples >= 0) & (record.ann_samples < record.signal.shape[0])
        reference, classes = record.ann_samples[inside], classes[inside]
        detected = np.sort(arrays["r_peaks"][arrays["record"] == name])
        matched = match_peaks(detected, reference, int(round(0.15 * record.fs)))
        hit = np.zeros(reference.size, bool)
        hit[matched[matched >= 0]] = True
        missed[name] = np.bincount(classes[~hit], minlength=5)
    return missed


def per_record(arrays, predicted):
    print("| record | S beats | S found | N called S | V beats | V found | other called V |\n|---|---|---|---|---|---|---|")
    records, labels = arrays["record"].astype(str), arrays["labels"]
    for name in DS2:
        m = records == name
        t, p = labels[m], predicted[m]
        print(f"| {name} | {np.sum(t == 1)} | {np.sum((t == 1) & (p == 1))} | {np.sum((t == 0) & (p == 1))} | "
              f"{np.sum(t == 2)} | {np.sum((t == 2) & (p == 2))} | {np.sum((t != 2) & (t >= 0) & (p == 2))} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ann", help="annotation-cut .npz")
    parser.add_argument("--ham", help="hamilton-cut .npz")
    parser.add_argument("--npy", help="an .npz whose segments alone (the paper's cut) go to the waveform path")
    parser.add_argument("--model", default=None, help="model file [default: as ecgseg classify chooses]")
    parser.add_argument("--data-dir", default=None, help="MIT-BIH folder's parent, for the missed reference beats")
    parser.add_argument("--per-record", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    out = {}
    if args.ann:
        arrays = ds2_subset(load_beats(args.ann))
        predicted, used = classify(arrays, args.model, args.ann)
        labelled = arrays["labels"] >= 0
        print_report(f"DS2, annotation peaks, {used}", confusion_with_misses(arrays["labels"][labelled], predicted[labelled]), out)
        if args.per_record:
            per_record(arrays, predicted)
    if args.ham:
        arrays = ds2_subset(load_beats(args.ham))
        predicted, used = classify(arrays, args.model, args.ham)
        missed = missed_reference(arrays, args.data_dir)
        confusion = confusion_with_misses(arrays["labels"].astype(np.int64), predicted, np.sum(list(missed.values()), axis=0))
        print_report(f"DS2, hamilton peaks end to end, {used}", confusion, out)
        if args.per_record:
            per_record(arrays, predicted)
    if args.npy:
        full = ds2_subset(load_beats(args.npy))
        arrays = {"segments": full["segments"]}
        predicted, used = classify(arrays, args.model, "segments only (.npy)")
        labelled = full["labels"] >= 0
        print_report(f"DS2, segments only (.npy), {used}",
                     confusion_with_misses(full["labels"][labelled], predicted[labelled]), out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
