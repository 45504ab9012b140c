"""Compare the four beat networks, each with and without R-R context and pre-R context, in one run.

    nice /work/venv/bin/python benchmarks/compare_models.py --data mitdb_ann.npz --pre-data mitdb_pre.npz \
        [--protocols inter,intra] [--archs kachuee,lstm-fcn,cnn-bilstm,cnn-mlp] [--epochs 3] [--save-dir DIR]
    nice /work/venv/bin/python benchmarks/compare_models.py --data mitdb_ann.npz --pre-data mitdb_pre.npz --shipped-speed

Both files come from ``ecgseg segment database mitdb --peaks annotations`` (``--pre-r-s 0.25`` for the second).
Per architecture x {waveform, +rr, +pre-R, +rr+pre-R}: parameters, training seconds (1 torch thread), inference
beats/s (``predict_proba``, 2 threads, 8192 beats), and

- inter: trained on DS1 (N undersampled afresh each epoch to ``--ratio`` N per other beat, ``--epochs`` epochs,
  best epoch and logit biases on 20% of the DS1 records held out), scored on DS2: F1 of N, S, V, F, macro-F1
  (N,S,V,F), and the DS1 validation macro-F1 (calibrated), the only figure a choice may use;
- intra: trained on the seeded random 80% of all beats (as ``ecgseg train --protocol intra``, the same N
  undersampling, ``--intra-beats`` beats per epoch), scored on the other 20%: accuracy, macro-F1 over all 5
  classes.

This is a reduced budget against the shipped models' full training, stated in the table header. The machine may
be shared: compare the times as ratios to the Kachuee waveform-only row of the same run.
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
from ecgseg.classify.config import ARCHS  # noqa: E402
from ecgseg.classify.predict import context_inputs, load_classifier, predict_proba  # noqa: E402
from ecgseg.evaluate import INTER_CLASSES, class_report, protocol_split  # noqa: E402

VARIANTS = {"waveform": (False, "none"), "+rr": (False, "rr"), "+pre-R": (True, "none"), "+rr+pre-R": (True, "rr")}


def speed(net, checkpoint, segments, rr) -> float:
    n = min(8192, len(segments))
    bias = checkpoint["logit_bias"]
    predict_proba(net, segments[:512], None if rr is None else rr[:512], logit_bias=bias, threads=2)  # warm-up
    start = time.perf_counter()
    predict_proba(net, segments[:n], None if rr is None else rr[:n], logit_bias=bias, threads=2)
    return n / (time.perf_counter() - start)


def shipped_speed(files, repeats: int = 3) -> None:
    """Inference beats/s (2 threads, best of ``repeats``, interleaved) of the two shipped models on the DS2 beats."""
    from ecgseg.classify.config import DEFAULT_CONTEXT_WEIGHTS

    runs = {}
    for label, arrays, weights in (("waveform kachuee_ds1.pt", files[False], None),
                                   ("context context_ds1.pt", files[True], DEFAULT_CONTEXT_WEIGHTS)):
        test = protocol_split(arrays["record"], arrays["labels"], "inter")[1]
        subset = {**arrays, "segments": arrays["segments"][test], "rr": arrays["rr"][test]}
        if weights is None:
            subset.pop("rr")
        classifier = load_classifier(subset, None, name=label)
        x, rr = classifier.inputs(subset, label)
        runs[label] = (classifier.net, classifier.checkpoint, x, rr)
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for label, (net, checkpoint, segments, rr) in runs.items():
            start = time.perf_counter()
            predict_proba(net, segments, rr, logit_bias=checkpoint["logit_bias"], threads=2)
            best[label] = min(best[label], time.perf_counter() - start)
    base = best["waveform kachuee_ds1.pt"]
    for label, seconds in best.items():
        n = len(runs[label][2])
        print(f"{label}: {n} DS2 beats in {seconds:.2f} s = {n / seconds:,.0f} beats/s ({seconds / base:.2f}x the waveform model)")


def run(arrays, arch: str, context: str, protocol: str, args) -> dict:
    x_all, rr_all, model_config = context_inputs(arrays, context, ModelConfig(arch=arch))
    train_mask, test_mask = protocol_split(arrays["record"], arrays["labels"], protocol, seed=0)
    config = TrainConfig(epochs=args.epochs, patience=args.epochs, batch_size=args.batch_size, lr=2e-3, balance="undersample",
                         undersample_ratio=args.ratio, validation="patient" if protocol == "inter" else "beats",
                         epoch_beats=None if protocol == "inter" else args.intra_beats, seed=0, model=model_config)
    pick = (lambda a, m: None if a is None else a[m])
    start = time.perf_counter()
    result = train(x_all[train_mask], arrays["labels"][train_mask], arrays["record"][train_mask], config,
                   rr=pick(rr_all, train_mask))
    seconds = time.perf_counter() - start
    checkpoint = {"logit_bias": torch.as_tensor(result.logit_bias)}
    probabilities = predict_proba(result.model, x_all[test_mask], pick(rr_all, test_mask),
                                  logit_bias=checkpoint["logit_bias"])
    report = class_report(arrays["labels"][test_mask], probabilities.argmax(axis=1))
    row = {"params": sum(p.numel() for p in result.model.parameters()), "train_s": seconds,
           "beats_per_s": speed(result.model, checkpoint, x_all[test_mask], pick(rr_all, test_mask)),
           "f1": dict(zip("NSVFQ", np.round(report.f1, 3).tolist())), "macro_nsvf": report.macro_f1(INTER_CLASSES),
           "macro_all": report.macro_f1(), "accuracy": report.accuracy,
           "val_macro_f1_calibrated": result.metadata["val_macro_f1_calibrated"],
           "best_epoch": result.metadata["best_epoch"]}
    if args.save_dir and protocol == "inter":
        metadata = {**result.metadata, "protocol": protocol, "test_fraction": 0.2,
                    "command": "benchmarks/compare_models.py " + " ".join(sys.argv[1:])}
        save_checkpoint(Path(args.save_dir) / f"{arch}_{context}_pre{model_config.pre_r_s:g}.pt", result.model,
                        metadata=metadata, logit_bias=result.logit_bias)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--pre-data", required=True)
    parser.add_argument("--protocols", default="inter,intra")
    parser.add_argument("--archs", default=",".join(ARCHS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--ratio", type=float, default=1.0, help="N beats per other beat in each epoch")
    parser.add_argument("--intra-beats", type=int, default=8192, help="intra: beats per epoch")
    parser.add_argument("--save-dir", default=None, help="write the inter-patient checkpoints here")
    parser.add_argument("--json", default=None, help="append one JSON line per row here")
    parser.add_argument("--shipped-speed", action="store_true", help="only time the two shipped models and exit")
    args = parser.parse_args()
    if args.save_dir:
        Path(args.save_dir).mkdir(parents=True, exist_ok=True)
    files = {False: load_beats(args.data), True: load_beats(args.pre_data)}
    if args.shipped_speed:
        return shipped_speed(files)
    print(f"# {args.epochs} epochs, N undersampled to {args.ratio:g} per other beat each epoch (intra: "
          f"{args.intra_beats} beats per epoch), batch {args.batch_size}, lr 0.002, seed 0, training on 1 torch thread, "
          f"inference on 2; pre-R data cut {float(files[True]['pre_r_s']):g} s before the R-peak, "
          f"{files[True]['segments'].shape[1]} samples", flush=True)
    print("| protocol | arch | inputs | params | train s | beats/s | DS1 val mF1 | F1 N | F1 S | F1 V | F1 F | "
          "mF1 N,S,V,F | accuracy | mF1 (5) |", flush=True)
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for protocol in args.protocols.split(","):
        for variant in args.variants.split(","):  # variant-major: a stopped run still covers every architecture
            for arch in args.archs.split(","):
                pre, context = VARIANTS[variant]
                row = run(files[pre], arch, context, protocol, args)
                f1 = row["f1"]
                print(f"| {protocol} | {arch} | {variant} | {row['params']:,} | {row['train_s']:.0f} | "
                      f"{row['beats_per_s']:,.0f} | {row['val_macro_f1_calibrated']:.3f} | {f1['N']:.3f} | "
                      f"{f1['S']:.3f} | {f1['V']:.3f} | {f1['F']:.3f} | {row['macro_nsvf']:.3f} | "
                      f"{row['accuracy']:.4f} | {row['macro_all']:.3f} |", flush=True)
                if args.json:
                    with open(args.json, "a") as out:
                        out.write(json.dumps({"protocol": protocol, "arch": arch, "inputs": variant, **row}) + "\n")


if __name__ == "__main__":
    main()
