"""Mean and standard deviation over seeds of the figures ``classifier_ds2.py --json`` wrote, one file per seed.

    python benchmarks/classifier_spread.py seeds/s0.json seeds/s1.json ...

For each report in the files (annotation peaks, hamilton end to end, ...): per class N, S, V, F the mean +- std
(sample standard deviation, n - 1) of Se, +P and F1, and of macro-F1 (N,S,V,F).
"""

from __future__ import annotations

import json
import sys

import numpy as np


def main():
    runs = [json.load(open(path)) for path in sys.argv[1:]]
    print(f"{len(runs)} seeds: {' '.join(sys.argv[1:])}")
    for position, title in enumerate(runs[0]):  # the same reports in the same order; titles differ by model path
        reports = [list(run.values())[position] for run in runs]
        print(f"\n{', '.join(title.split(', ')[:2])} (mean +- std over {len(runs)} seeds)")
        print("| class | Se | +P | F1 |\n|---|---|---|---|")
        for c, name in enumerate("NSVF"):
            cells = []
            for key in ("se", "ppv", "f1"):
                values = np.array([r[key][c] for r in reports], dtype=float)
                cells.append(f"{np.nanmean(values):.3f} +- {np.nanstd(values, ddof=1):.3f}")
            print(f"| {name} | " + " | ".join(cells) + " |")
        macro = np.array([r["macro_f1_nsvf"] for r in reports])
        print(f"| macro-F1 (N,S,V,F) | {macro.mean():.3f} +- {macro.std(ddof=1):.3f} | per seed: "
              + " ".join(f"{m:.3f}" for m in macro) + " | |")


if __name__ == "__main__":
    main()
