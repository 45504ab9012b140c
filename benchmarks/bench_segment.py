"""Speed of the segmentation on all 48 MIT-BIH records, against resampling alone and NeuroKit2, in one run.

    python benchmarks/bench_segment.py [--repeats 3] [--skip-nk-segment]

Reading and numba compilation (or cache load) are timed apart. Figures are wall
times of the best of ``--repeats`` runs in this process; ratios compare peers
timed in this same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import best_of, read_all


def ecgseg_rule(records):
    from ecgseg import segment

    return sum(len(segment(r.signal, r.fs)) for r in records)


def ecgseg_annotations(records):
    from ecgseg.pipeline import segment_record

    return sum(len(segment_record(r, peaks="annotations")) for r in records)


def resample_only(records):
    from scipy.signal import resample_poly

    for r in records:
        resample_poly(r.signal, 25, 72)
    return 0  # no beats: the floor any 125 Hz pipeline pays


def ecgseg_resample_only(records):
    from ecgseg.signal import resample

    for r in records:
        resample(r.signal, r.fs, 125)
    return 0  # the same filter and output as resample_poly, in a numba kernel


def neurokit_fixed_windows(records):
    """NeuroKit2: resample to 125 Hz, find R-peaks, cut 187 samples from each (no normalization)."""
    import neurokit2 as nk
    from scipy.signal import resample_poly

    total = 0
    for r in records:
        x = resample_poly(r.signal, 25, 72)
        _, info = nk.ecg_peaks(x, sampling_rate=125)
        peaks = info["ECG_R_Peaks"]
        peaks = peaks[peaks + 187 <= x.shape[0]]
        total += x[peaks[:, None] + np.arange(187)].shape[0]
    return total


def neurokit_ecg_segment(records):
    """NeuroKit2's own segmenter: ecg_peaks then ecg_segment (heart-rate-dependent epochs)."""
    import neurokit2 as nk
    from scipy.signal import resample_poly

    total = 0
    for r in records:
        x = resample_poly(r.signal, 25, 72)
        _, info = nk.ecg_peaks(x, sampling_rate=125)
        total += len(nk.ecg_segment(x, rpeaks=info["ECG_R_Peaks"], sampling_rate=125, show=False))
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-nk-segment", action="store_true", help="skip nk.ecg_segment (about a minute)")
    args = parser.parse_args()

    records, read_s = read_all()
    n_samples = sum(r.signal.shape[0] for r in records)
    print(f"read {len(records)} records ({n_samples / 1e6:.1f} M samples at 360 Hz) in {read_s:.2f} s (wfdb, not counted below)")

    from ecgseg import segment

    start = time.perf_counter()
    segment(records[0].signal[:36000], records[0].fs)
    print(f"first call (numba compile or cache load): {time.perf_counter() - start:.2f} s (not counted below)")

    rows = [
        ("ecgseg.segment, rule peaks", ecgseg_rule, args.repeats),
        ("resample_poly alone (floor)", resample_only, args.repeats),
        ("ecgseg.signal.resample alone", ecgseg_resample_only, args.repeats),
        ("ecgseg, annotation peaks + labels", ecgseg_annotations, args.repeats),
        ("NeuroKit2 peaks + fixed windows", neurokit_fixed_windows, 1),
    ]
    if not args.skip_nk_segment:
        rows.append(("NeuroKit2 peaks + nk.ecg_segment", neurokit_ecg_segment, 1))

    times = {}
    print(f"\n{'pipeline':36s} {'wall s':>8s} {'M samples/s':>12s} {'beats':>8s} {'x rule':>8s}")
    for name, function, repeats in rows:
        seconds, beats = best_of(repeats, function, records)
        times[name] = seconds
        rule = times["ecgseg.segment, rule peaks"]
        print(f"{name:36s} {seconds:8.3f} {n_samples / seconds / 1e6:12.1f} {beats:8d} {seconds / rule:8.2f}")
    floor = times["resample_poly alone (floor)"]
    rule = times["ecgseg.segment, rule peaks"]
    print(f"\nsegmentation / resampling alone: {rule / floor:.2f}x (target <= 1.5x)")
    print(f"ecgseg's resampling kernel / scipy's resample_poly: {times['ecgseg.signal.resample alone'] / floor:.2f}x")
    for name in ("NeuroKit2 peaks + fixed windows", "NeuroKit2 peaks + nk.ecg_segment"):
        if name in times:
            print(f"{name} / ecgseg rule: {times[name] / rule:.1f}x slower (target >= 20x)")


if __name__ == "__main__":
    main()
