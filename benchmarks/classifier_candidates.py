"""Candidate recipes for the inter-patient classifier, chosen on DS1 patient folds; DS2 printed beside, never used.

    nice -n 10 python benchmarks/classifier_candidates.py --data ann_pre.npz --candidates R1,R3 \\
        [--seed 0] [--save-dir DIR] [--json rows.jsonl]

``--data`` is ``ecgseg segment database mitdb --peaks annotations --pre-r-s 0.25 -o ann_pre.npz``. Each candidate
is trained by :func:`ecgseg.classify.train` with ``validation="folds"`` on DS1 only: four patient-wise folds give
out-of-fold (OOF) logits of every DS1 beat at every epoch, the epoch with the best OOF macro-F1 (N,S,V,F) is
kept, and one model is trained on all DS1 beats for that many epochs. Each trained candidate is then scored under
four calibrations of its logit biases, all tuned on the OOF logits: ``none`` (no biases), ``free`` (coordinate
ascent on macro-F1), ``floor`` (the same, no class's OOF recall may fall below 0.5), ``floor-n97`` (as floor,
and N's OOF recall may not fall below 0.97, the share of normal beats that must stay normal) and
``min-recall-0.3`` (as floor, then each class's bias raised until its OOF recall is 0.3 at least).

One row per candidate and calibration: OOF (DS1) and DS2 macro-F1 (N,S,V,F), F1 of N, S, V, F and N Se. The
selection rule, fixed before any row was printed: among rows whose OOF N Se is at least 0.97, the best OOF
macro-F1; DS2 columns are printed so the rank correlation between the two can be measured, and for nothing else.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecgseg.beatfile import load_beats  # noqa: E402
from ecgseg.classify import ModelConfig, TrainConfig, save_checkpoint, train  # noqa: E402
from ecgseg.classify.predict import logits  # noqa: E402
from ecgseg.classify.train import calibrate_bias  # noqa: E402
from ecgseg.context import file_context  # noqa: E402
from ecgseg.evaluate import INTER_CLASSES, class_report, protocol_split  # noqa: E402

BASE = dict(inputs="context", channels=2, epochs=12, balance="undersample", ratio=1.0, batch=64, lr=2e-3, arch="kachuee",
            width=32)
#: The candidates, planned before any was run. inputs: rr (the six features of rr_features), rhythm (the 12 of
#: rhythm_features), context (rhythm + the 3 template features); channels 2 adds the local template as an input.
CANDIDATES = {
    "R0": dict(inputs="rr", channels=1, epochs=8),           # the shipped context model's recipe
    "R1": dict(inputs="rhythm", channels=1),
    "R2": dict(inputs="context", channels=1),
    "R3": dict(),                                              # context + template channel
    "R4": dict(inputs="rhythm", channels=2),
    "R5": dict(epochs=24),                                     # R3, twice the epochs
    "R6": dict(ratio=3.0),                                     # R3, three N per other beat
    "R7": dict(balance="weighted", ratio=0.0, batch=256, epochs=8, lr=1e-3),  # R3, every beat, weighted loss
    "R8": dict(width=48),                                      # R3, a wider network
    # waveform only, for a plain .npy of the paper's cut (run with --data on the annotation cut at the R-peak)
    "W1": dict(inputs="none", channels=1, ratio=2.0),
    "W2": dict(inputs="none", channels=1, balance="weighted", ratio=0.0, batch=256, epochs=8, lr=1e-3),
    # round 2 (planned before either ran): the waveform model with the 18 features the segments alone tell
    # (ecgseg.context.cut_context: R-R intervals found where rows overlap, the record's own template)
    "W3": dict(inputs="cut", channels=1, ratio=2.0),          # W1 + cut context
    "W4": dict(inputs="cut", channels=1),                     # W1 + cut context, one N per other beat (as R2)
}
CALIBRATIONS = {"none": None, "free": {}, "floor": {"recall_floor": 0.5}, "floor-n97": {"recall_floor": 0.5, "n_floor": 0.97},
                # added after W1 (see the notes): every class's OOF recall raised to 0.3 at least
                "min-recall-0.3": {"recall_floor": 0.5, "min_recall": 0.3},
                # round 2, for the waveform path (written before W3/W4 ran): raised to 0.3, then N held at 0.90 / 0.95
                "min-recall-0.3-n90": {"recall_floor": 0.5, "min_recall": 0.3, "n_floor": 0.90},
                "min-recall-0.3-n95": {"recall_floor": 0.5, "min_recall": 0.3, "n_floor": 0.95}}


#: The ModelConfig context of each candidate input (what routing computes at classification time).
CONTEXT_OF = {"none": "rr", "rr": "rr", "rhythm": "rr", "context": "beat", "cut": "cut"}


def calibrate(logits, labels, how):
    if how is None:
        return np.zeros(logits.shape[1])
    return calibrate_bias(logits, labels, recall_floor=how.get("recall_floor"), normal_recall=how.get("n_floor"),
                          min_recall=how.get("min_recall"))


def inputs(arrays, context, templates, spec):
    segments = arrays["segments"]
    x = segments if spec["channels"] == 1 else np.stack([segments, templates], axis=1)
    if spec["inputs"] == "none":
        return np.ascontiguousarray(x, dtype=np.float32), None
    if spec["inputs"] == "cut":
        from ecgseg.context import cut_context

        extra = cut_context(segments, arrays["record"], fs_out=float(arrays["fs_out"]))
        return np.ascontiguousarray(x, dtype=np.float32), extra
    extra = {"rr": arrays["rr"], "rhythm": context[:, :12], "context": context}[spec["inputs"]]
    return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(extra, dtype=np.float32)


def scores(labels, logits, bias):
    report = class_report(labels, np.argmax(logits + bias, axis=1))
    return report


def row_of(report):
    return {"macro": round(report.macro_f1(INTER_CLASSES), 4), "f1": np.round(report.f1[:4], 3).tolist(),
            "se": np.round(report.se[:4], 3).tolist(), "ppv": np.round(report.ppv[:4], 3).tolist(),
            "confusion": report.confusion.tolist()}


def print_row(name, seed, how, oof, ds2, epoch, minutes):
    print(f"| {name} | {seed} | {how} | {oof.macro_f1(INTER_CLASSES):.3f} | "
          f"{'/'.join(f'{v:.2f}' for v in oof.f1[:4])} | {oof.se[0]:.3f} | {ds2.macro_f1(INTER_CLASSES):.3f} | "
          f"{'/'.join(f'{v:.2f}' for v in ds2.f1[:4])} | {ds2.se[0]:.3f} | {epoch} | {minutes:.1f} |", flush=True)


def rescore(args):
    """Rows for another calibration from the saved OOF and DS2 logits of finished candidates."""
    rows = [json.loads(line) for line in open(args.json)] if args.json and Path(args.json).exists() else []
    for name in args.candidates.split(","):
        saved = np.load(Path(args.save_dir) / f"{name}_s{args.seed}_logits.npz")
        earlier = [r for r in rows if r["candidate"] == name and r["seed"] == args.seed][0]
        bias = calibrate(saved["oof_logits"], saved["oof_labels"], CALIBRATIONS[args.rescore])
        oof = scores(saved["oof_labels"], saved["oof_logits"], bias)
        ds2 = scores(saved["test_labels"], saved["test_logits"], bias)
        print_row(name, args.seed, args.rescore, oof, ds2, earlier["best_epoch"], earlier["minutes"])
        row = {**earlier, "calibration": args.rescore, "bias": np.round(bias, 2).tolist(), "oof": row_of(oof),
               "ds2": row_of(ds2)}
        if args.json:
            with open(args.json, "a") as out:
                out.write(json.dumps(row) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-dir", default=None, help="checkpoints and OOF/DS2 logits of each candidate")
    parser.add_argument("--json", default=None, help="append one JSON line per row")
    parser.add_argument("--rescore", default=None, metavar="CALIBRATION",
                        help="no training: score the saved logits of --candidates (in --save-dir) with this calibration")
    args = parser.parse_args()
    if args.rescore:
        return rescore(args)
    torch.set_num_threads(1)
    arrays = load_beats(args.data)
    context, templates = file_context(arrays, args.data)
    train_mask, test_mask = protocol_split(arrays["record"], arrays["labels"], "inter")
    labels = arrays["labels"].astype(np.int64)
    print("| candidate | seed | calibration | OOF mF1 | OOF F1 N/S/V/F | OOF N Se | DS2 mF1 | DS2 F1 N/S/V/F | DS2 N Se "
          "| epoch | minutes |", flush=True)
    print("|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for name in args.candidates.split(","):
        spec = {**BASE, **CANDIDATES[name]}
        x, extra = inputs(arrays, context, templates, spec)
        model = ModelConfig(arch=spec["arch"], channels=spec["width"], input_length=x.shape[-1], pre_r_s=float(arrays["pre_r_s"]),
                            in_channels=spec["channels"], context=CONTEXT_OF[spec["inputs"]])
        config = TrainConfig(epochs=spec["epochs"], patience=spec["epochs"], batch_size=spec["batch"], lr=spec["lr"],
                             balance=spec["balance"], undersample_ratio=spec["ratio"], validation="folds", folds=4,
                             seed=args.seed, calibrate=False, model=model)
        started = time.perf_counter()
        def progress(h):
            print(f"{name} fold {h.get('fold', 'final')} epoch {h['epoch']} loss {h['loss']:.4f} "
                  f"val {h['val_macro_f1']:.4f} {h['seconds']:.0f} s", file=sys.stderr, flush=True)

        result = train(x[train_mask], labels[train_mask], arrays["record"][train_mask], config, progress,
                       rr=None if extra is None else extra[train_mask])
        minutes = (time.perf_counter() - started) / 60
        test_logits = logits(result.model, x[test_mask], None if extra is None else extra[test_mask], batch_size=4096)
        oof_logits, oof_labels = result.val_logits, result.val_labels
        for how, options in CALIBRATIONS.items():
            bias = calibrate(oof_logits, oof_labels, options)
            oof = scores(oof_labels, oof_logits, bias)
            ds2 = scores(labels[test_mask], test_logits, bias)
            row = {"candidate": name, "seed": args.seed, "calibration": how, "spec": spec, "bias": np.round(bias, 2).tolist(),
                   "best_epoch": result.metadata["best_epoch"], "oof_by_epoch": result.metadata["oof_macro_f1_by_epoch"],
                   "minutes": round(minutes, 1), "oof": row_of(oof), "ds2": row_of(ds2)}
            print_row(name, args.seed, how, oof, ds2, result.metadata["best_epoch"], minutes)
            if args.json:
                with open(args.json, "a") as out:
                    out.write(json.dumps(row) + "\n")
        if args.save_dir:
            folder = Path(args.save_dir)
            folder.mkdir(parents=True, exist_ok=True)
            stem = f"{name}_s{args.seed}"
            save_checkpoint(folder / f"{stem}.pt", result.model, metadata={**result.metadata, "spec": spec},
                            logit_bias=np.zeros(5))
            np.savez(folder / f"{stem}_logits.npz", oof_logits=oof_logits, oof_labels=oof_labels,
                     oof_records=arrays["record"][train_mask], test_logits=test_logits,
                     test_labels=labels[test_mask], test_records=arrays["record"][test_mask])


if __name__ == "__main__":
    main()
