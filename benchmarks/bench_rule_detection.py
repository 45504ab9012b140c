"""How many annotated beats the paper's 0.9 rule finds: Se and +P per record and summed (150 ms, MLII).

    python benchmarks/bench_rule_detection.py [--refractory-s 0.2]

Protocol: all 48 MIT-BIH records, lead MLII (channel 0 on 102 and 104, which
have none), reference = beat annotations (AAMI classes N S V F Q), one-to-one
matching within 150 ms (ecgseg.evaluate.detection_scores, which gives the same
counts as wfdb.processing.compare_annotations). The rule is not tuned here.
"""

from __future__ import annotations

import argparse

from _common import read_all

from ecgseg.segmentation import segment
from ecgseg.evaluate import DetectionScores, detection_scores
from ecgseg.labels import aami_classes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refractory-s", type=float, default=None, help="the opt-in guard (off = the paper's rule)")
    parser.add_argument("--worst", type=int, default=5)
    args = parser.parse_args()

    records, _ = read_all()
    total = DetectionScores(0, 0, 0)
    rows = []
    n_short = n_beats = 0
    for r in records:
        reference = r.ann_samples[aami_classes(r.ann_symbols) >= 0]
        beats = segment(r.signal, r.fs, refractory_s=args.refractory_s)
        scores = detection_scores(beats.r_peaks, reference, r.fs)
        total += scores
        n_short += beats.n_short
        n_beats += len(beats)
        rows.append((r.name, r.channel, scores, beats.n_short))

    print(f"{'record':>6s} {'lead':>5s} {'ref':>6s} {'TP':>6s} {'FP':>6s} {'FN':>6s} {'Se %':>7s} {'+P %':>7s} {'T<0.2s':>7s}")
    for name, channel, s, short in rows:
        print(f"{name:>6s} {channel:>5s} {s.tp + s.fn:6d} {s.tp:6d} {s.fp:6d} {s.fn:6d} {100 * s.se:7.2f} {100 * s.ppv:7.2f} {short:7d}")
    print(f"{'all':>6s} {'':>5s} {total.tp + total.fn:6d} {total.tp:6d} {total.fp:6d} {total.fn:6d} "
          f"{100 * total.se:7.2f} {100 * total.ppv:7.2f} {n_short:7d}")
    guard = "off (the paper's rule)" if args.refractory_s is None else f"{args.refractory_s} s"
    print(f"\nrule, refractory guard {guard}: Se {100 * total.se:.1f}%  +P {100 * total.ppv:.1f}%  F1 {total.f1:.3f}; "
          f"{n_short} of {n_beats} cut beats ({100 * n_short / n_beats:.1f}%) have T < 0.2 s (nearly empty)")
    worst = sorted(rows, key=lambda row: row[2].f1)[: args.worst]
    print("worst records by F1: " + ", ".join(f"{n} (Se {100 * s.se:.0f}%, +P {100 * s.ppv:.0f}%)" for n, _, s, _ in worst))


if __name__ == "__main__":
    main()
