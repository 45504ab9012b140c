"""Chunked reading against whole-record reading on all 48 MIT-BIH records: every array must be equal.

    nice python benchmarks/chunked_exactness.py

Modes: rule peaks; annotation peaks (T from the rule, and T from the annotations); rule peaks with the
refractory guard (0.2 s). Chunk sizes 7 s (rounded down to one window), 25 s (not a multiple of the window),
60 s and 600 s. Compares segments, R-peaks, windows, periods, labels, window and fallback counts, missed beats.
A check, not a timing: it prints the number of comparisons and of differences (expected 0).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

FIELDS = ("segments", "r_peaks", "windows", "periods_s", "labels", "n_windows", "n_fallback_windows", "n_missed", "fs")
MODES = [dict(peaks="rule"), dict(peaks="annotations"), dict(peaks="annotations", period="peaks"), dict(peaks="rule", refractory_s=0.2)]
CHUNKS_S = (7, 25, 60, 600)


def main():
    from ecgseg.pipeline import segment_record
    from ecgseg.records import list_records, read_record

    folder = Path(os.environ.get("ECGSEG_DATA") or REPO.parent / "shared" / "data")
    if not (folder / "mitdb" / "RECORDS").is_file():
        sys.exit(f"MIT-BIH not found in {folder}: set ECGSEG_DATA to a folder holding mitdb/")
    runs = differ = with_fallback = 0
    for name in list_records("mitdb", folder):
        record = read_record(name, data_dir=folder)
        for mode in MODES:
            whole = segment_record(record, **mode)
            with_fallback += mode is MODES[0] and whole.n_fallback_windows > 0
            for chunk_s in CHUNKS_S:
                chunked = segment_record(name, data_dir=folder, chunk_s=chunk_s, **mode)
                runs += 1
                fields = [f for f in FIELDS if not np.array_equal(getattr(whole, f), getattr(chunked, f))]
                if fields:
                    differ += 1
                    print(f"{name} {mode} chunk_s={chunk_s}: differs in {', '.join(fields)}")
    print(f"48 records x {len(MODES)} modes x {len(CHUNKS_S)} chunk sizes = {runs} comparisons, {differ} differ; "
          f"records with windows that fall back to the record's median T (rule peaks): {with_fallback}")


if __name__ == "__main__":
    main()
