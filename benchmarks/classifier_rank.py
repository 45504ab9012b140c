"""The candidate table (DS1 out-of-fold against DS2) and the rank correlation between the two.

    python benchmarks/classifier_rank.py DIR/rows.jsonl

``rows.jsonl`` is what ``classifier_candidates.py --json`` appended: one row per candidate, seed and calibration.
Printed: the table, sorted by OOF macro-F1 (N,S,V,F), and Spearman's rank correlation between OOF and DS2
macro-F1 over the context candidates (R*), over the waveform ones (W*) and over all rows.
"""

from __future__ import annotations

import json
import sys

from scipy.stats import spearmanr


def main():
    rows = [json.loads(line) for line in open(sys.argv[1])]
    latest = {}
    for row in rows:  # a rerun of the same candidate, seed and calibration replaces the earlier row
        latest[(row["candidate"], row["seed"], row["calibration"])] = row
    rows = sorted(latest.values(), key=lambda r: -r["oof"]["macro"])
    print("| candidate | calibration | OOF mF1 | OOF N Se | OOF F1 N/S/V/F | DS2 mF1 | DS2 N Se | DS2 F1 N/S/V/F |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['candidate']} | {r['calibration']} | {r['oof']['macro']:.3f} | {r['oof']['se'][0]:.3f} | "
              f"{'/'.join(f'{v:.2f}' for v in r['oof']['f1'])} | {r['ds2']['macro']:.3f} | {r['ds2']['se'][0]:.3f} | "
              f"{'/'.join(f'{v:.2f}' for v in r['ds2']['f1'])} |")
    for label, chosen in (("context candidates (R*)", [r for r in rows if r["candidate"].startswith("R")]),
                          ("waveform candidates (W*)", [r for r in rows if r["candidate"].startswith("W")]),
                          ("all rows", rows)):
        if len(chosen) > 2:
            rho, p = spearmanr([r["oof"]["macro"] for r in chosen], [r["ds2"]["macro"] for r in chosen])
            print(f"Spearman rank correlation OOF vs DS2 macro-F1 (N,S,V,F), {label}: {rho:+.2f} "
                  f"(n = {len(chosen)}, p = {p:.2g})")


if __name__ == "__main__":
    main()
