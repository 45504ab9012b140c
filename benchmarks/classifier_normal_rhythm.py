"""N Se on DS1's normal sinus rhythm stretches, out of fold: the proxy for "a healthy patient must hear so".

    python benchmarks/classifier_normal_rhythm.py --runs DIR --data ann_pre.npz [--data-dir DATA] [--candidates R0,R3]

``DIR`` holds what ``benchmarks/classifier_candidates.py --save-dir DIR --json DIR/rows.jsonl`` wrote: each
candidate's out-of-fold (OOF) logits of every DS1 beat and the logit biases of each calibration. A beat is in a
normal sinus rhythm stretch when the last rhythm annotation before it (the ``(N`` aux notes of the MIT-BIH
``.atr`` files) says so. Printed per candidate and calibration: OOF N Se over those beats, over all DS1 N beats,
and the share of normal-rhythm N beats called each other class. DS1 only: nothing here reads DS2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecgseg.beatfile import load_beats  # noqa: E402
from ecgseg.evaluate import DS1  # noqa: E402


def rhythm_of_beats(name: str, r_peaks: np.ndarray, data_dir: str) -> np.ndarray:
    """The rhythm annotation in force at each R-peak ('(N', '(AFIB', ...; '' before the first)."""
    import wfdb

    annotation = wfdb.rdann(os.path.join(data_dir, "mitdb", name), "atr")
    notes = np.array([n.strip("\x00") for n in annotation.aux_note])
    changes = np.flatnonzero(np.char.startswith(notes, "("))
    samples, rhythms = annotation.sample[changes], notes[changes]
    at = np.searchsorted(samples, r_peaks, side="right") - 1
    return np.where(at >= 0, rhythms[np.maximum(at, 0)], "")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", required=True)
    parser.add_argument("--data", required=True, help="the beat file the candidates were trained on")
    parser.add_argument("--data-dir", default=os.environ.get("ECGSEG_DATA", "../shared/data"))
    parser.add_argument("--candidates", default=None)
    args = parser.parse_args()
    arrays = load_beats(args.data)
    ds1 = np.isin(arrays["record"], DS1) & (arrays["labels"] >= 0)
    records, r_peaks = arrays["record"][ds1], arrays["r_peaks"][ds1]
    rhythm = np.empty(records.size, dtype=object)
    for name in DS1:
        m = records == name
        rhythm[m] = rhythm_of_beats(name, r_peaks[m], args.data_dir)
    rows = [json.loads(line) for line in open(Path(args.runs) / "rows.jsonl")]
    wanted = None if args.candidates is None else set(args.candidates.split(","))
    print("| candidate | seed | calibration | OOF N Se, normal rhythm | OOF N Se, all N | normal-rhythm N called S / V / F |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        if wanted is not None and row["candidate"] not in wanted:
            continue
        path = Path(args.runs) / f"{row['candidate']}_s{row['seed']}_logits.npz"
        if not path.exists():
            continue
        saved = np.load(path)
        if not np.array_equal(saved["oof_records"], records):
            raise SystemExit(f"{path}: its beats are not this file's DS1 beats")
        predicted = np.argmax(saved["oof_logits"] + np.array(row["bias"]), axis=1)
        normal = (saved["oof_labels"] == 0) & (rhythm == "(N")
        all_n = saved["oof_labels"] == 0
        called = [np.mean(predicted[normal] == c) for c in (1, 2, 3)]
        print(f"| {row['candidate']} | {row['seed']} | {row['calibration']} | {np.mean(predicted[normal] == 0):.4f} "
              f"({normal.sum()} beats) | {np.mean(predicted[all_n] == 0):.4f} | "
              + " / ".join(f"{v:.4f}" for v in called) + " |")


if __name__ == "__main__":
    main()
