"""R-peak detectors on MIT-BIH, in one run: accuracy (Se, +P, F1) and speed, against the peers.

Protocol: every record of the database (48 for MIT-BIH), lead MLII (channel 0
where a record has none: 102, 104), reference = the beat annotations (symbols
with an AAMI class), one-to-one matching within 150 ms, counts summed over the
records (``ecgseg.evaluate.detection_scores``; record 100 is cross-checked
against ``wfdb.processing.compare_annotations``). A second score, "EC57",
leaves out the ventricular flutter episodes ('[' to ']', record 207) as ANSI/
AAMI EC57 does: their flutter waves are not beats, so detections there count
as false positives in the first score.

Speed: seconds spent in each detector's call from the raw signal (NeuroKit2:
its matching ``ecg_clean`` plus ``ecg_peaks``), summed; input samples per
second; ratio to ``hamilton``. Wall and CPU time of this process are both
given: the machine may be shared, and CPU time is closer to what one idle
core does. Threads are limited to one before numpy/numba load. ``hamilton``'s
compile time (a fresh numba cache in a subprocess) and its first call in
this process (cache load) are reported apart from the steady state.

    python benchmarks/bench_detectors.py                      # everything (xqrs takes minutes)
    python benchmarks/bench_detectors.py --records 100,108,207 --skip xqrs
    python benchmarks/bench_detectors.py --skip xqrs,gqrs,nk-elgendi2010 --robustness
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ecgseg.evaluate import DetectionScores, detection_scores  # noqa: E402
from ecgseg.labels import aami_classes  # noqa: E402
from ecgseg.records import list_records, read_record  # noqa: E402

TOLERANCE_S = 0.15


def _rule(signal, fs):
    from ecgseg.peaks import rule_detector

    return rule_detector(signal, fs)


def _hamilton(signal, fs):
    from ecgseg.detector import detect

    return detect(signal, fs).r_peaks


def _xqrs(signal, fs):
    from wfdb.processing import xqrs_detect

    return xqrs_detect(signal, fs, verbose=False)


def _gqrs(signal, fs):
    from wfdb.processing import gqrs_detect

    return gqrs_detect(signal, fs)


def _neurokit(method):
    def run(signal, fs):
        import neurokit2 as nk

        cleaned = nk.ecg_clean(signal, sampling_rate=fs, method=method)
        _, info = nk.ecg_peaks(cleaned, sampling_rate=fs, method=method)
        return info["ECG_R_Peaks"]

    return run


METHODS = {
    "rule": _rule,
    "hamilton": _hamilton,
    "xqrs": _xqrs,
    "gqrs": _gqrs,
    "nk-neurokit": _neurokit("neurokit"),
    "nk-pantompkins1985": _neurokit("pantompkins1985"),
    "nk-elgendi2010": _neurokit("elgendi2010"),
}


def excluded_intervals(samples, symbols) -> list[tuple[int, int]]:
    """Ventricular flutter episodes: from each '[' to the next ']'."""
    intervals, start = [], None
    for sample, symbol in zip(samples, symbols):
        if symbol == "[":
            start = sample
        elif symbol == "]" and start is not None:
            intervals.append((start, sample))
            start = None
    return intervals


def outside(peaks, intervals) -> np.ndarray:
    peaks = np.asarray(peaks, dtype=np.int64)
    keep = np.ones(peaks.size, dtype=bool)
    for lo, hi in intervals:
        keep &= ~((peaks >= lo) & (peaks <= hi))
    return peaks[keep]


def compile_time() -> float:
    """Seconds for hamilton's first call in a fresh process with an empty numba cache (import + compile)."""
    code = (
        "import time; t = time.perf_counter(); import numpy as np; from ecgseg.detector import detect; "
        "detect(np.sin(np.arange(5000) / 20.0), 360.0); print(time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(REPO)}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def robustness(records) -> None:
    """hamilton on transformed records: inverted, baseline wander, other rates, NaN gaps; and a 24 h stream."""
    from fractions import Fraction

    from scipy.signal import resample_poly

    from ecgseg.detector import detect, detect_chunks

    def gaps(x, ref, fs):
        # 10 s of NaN every 2 min from 30 s on; reference beats inside a gap are dropped.
        x, keep = x.copy(), np.ones(ref.size, dtype=bool)
        for start in range(int(30 * fs), x.size, int(120 * fs)):
            x[start:start + int(10 * fs)] = np.nan
            keep &= ~((ref >= start) & (ref < start + int(10 * fs)))
        return x, fs, ref[keep]

    def rate(fs_new):
        def change(x, ref, fs):
            ratio = Fraction(fs_new / fs).limit_denominator(1000)
            return resample_poly(x, ratio.numerator, ratio.denominator), fs_new, np.rint(ref * fs_new / fs).astype(int)
        return change

    def wander(x, ref, fs):
        t = np.arange(x.size) / fs
        return x + np.sin(2 * np.pi * 0.3 * t) + 0.5 * np.sin(2 * np.pi * 0.05 * t), fs, ref

    cases = {
        "as is": lambda x, ref, fs: (x, fs, ref),
        "inverted (-signal)": lambda x, ref, fs: (-x, fs, ref),
        "wander 1 mV 0.3 Hz + 0.5 mV 0.05 Hz": wander,
        "10 s NaN gap every 2 min": gaps,
        **{f"resampled to {f} Hz": rate(float(f)) for f in (100, 250, 500, 1000)},
    }
    print(f"\nhamilton robustness, {len(records)} records, summed, 150 ms:")
    for name, change in cases.items():
        total, inverted = DetectionScores(0, 0, 0), 0
        for rec in records:
            ref = rec.ann_samples[aami_classes(rec.ann_symbols) >= 0]
            x, fs, ref = change(rec.signal, ref, rec.fs)
            found = detect(x, fs)
            inverted += found.inverted
            total = total + detection_scores(found.r_peaks, ref, fs, TOLERANCE_S)
        print(f"  {name:36s} Se {100 * total.se:7.3f}  +P {100 * total.ppv:7.3f}  FN {total.fn:4d}  FP {total.fp:4d}  "
              f"inverted {inverted}/{len(records)}")

    # All records end to end: one long trace (24 h at 360 Hz for MIT-BIH), whole and in 10-minute chunks.
    trace = np.concatenate([rec.signal for rec in records])
    fs = records[0].fs
    print(f"one {trace.size / fs / 3600:.1f} h trace of {trace.size:,} samples (all records end to end):")
    for fraction in (0.25, 0.5, 1.0):
        part = trace[: int(trace.size * fraction)]
        w = time.perf_counter()
        whole = detect(part, fs)
        print(f"  {fraction:4.2f} of it: {time.perf_counter() - w:.2f} s wall, {len(whole)} beats")
    chunk = int(600 * fs)
    w = time.perf_counter()
    pieces = detect_chunks((trace[i:i + chunk] for i in range(0, trace.size, chunk)), fs)
    print(f"  in {-(-trace.size // chunk)} chunks of 10 min: {time.perf_counter() - w:.2f} s wall, "
          f"same R-peaks as whole: {np.array_equal(pieces.r_peaks, whole.r_peaks)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("ECGSEG_DATA", str(REPO.parent / "shared" / "data")))
    parser.add_argument("--db", default="mitdb")
    parser.add_argument("--records", default=None, help="Comma-separated subset (default: all in RECORDS).")
    parser.add_argument("--skip", default="", help=f"Comma-separated methods to leave out, of {','.join(METHODS)}.")
    parser.add_argument("--worst", type=int, default=8, help="List this many worst records for hamilton.")
    parser.add_argument("--robustness", action="store_true", help="Also run hamilton on transformed records.")
    args = parser.parse_args(argv)

    skip = {s for s in args.skip.split(",") if s}
    unknown = skip - set(METHODS)
    if unknown:
        parser.error(f"unknown methods in --skip: {sorted(unknown)}")
    methods = {name: fn for name, fn in METHODS.items() if name not in skip}
    names = args.records.split(",") if args.records else list_records(args.db, args.data_dir)

    records = [read_record(name, args.db, data_dir=args.data_dir) for name in names]
    total_samples = sum(r.signal.size for r in records)
    print(f"{len(records)} records of {args.db}, {total_samples:,} samples; channels: "
          f"{sorted({r.channel for r in records})}; not MLII: {[r.name for r in records if r.channel != 'MLII']}",
          file=sys.stderr)

    # Warm-up (compile or cache load) apart from the steady state.
    t = time.perf_counter()
    _hamilton(records[0].signal[:5000], records[0].fs)
    first_call = time.perf_counter() - t
    for name, fn in methods.items():
        if name != "hamilton":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(records[0].signal[:20000], records[0].fs)

    rows, per_record = {}, {}
    for name, fn in methods.items():
        total = ec57 = DetectionScores(0, 0, 0)
        wall = cpu = 0.0
        for rec in records:
            ref = rec.ann_samples[aami_classes(rec.ann_symbols) >= 0]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                w, c = time.perf_counter(), time.process_time()
                peaks = np.asarray(fn(rec.signal, rec.fs), dtype=np.int64)
                wall += time.perf_counter() - w
                cpu += time.process_time() - c
            score = detection_scores(peaks, ref, rec.fs, TOLERANCE_S)
            total = total + score
            flutter = excluded_intervals(rec.ann_samples, rec.ann_symbols)
            ec57 = ec57 + detection_scores(outside(peaks, flutter), outside(ref, flutter), rec.fs, TOLERANCE_S)
            per_record[name, rec.name] = (score, peaks)
        rows[name] = (total, ec57, wall, cpu)
        print(f"  {name}: {wall:.2f} s", file=sys.stderr)

    print(f"\nR-peak detection, {len(records)} records, MLII, {TOLERANCE_S * 1000:.0f} ms, summed "
          f"({total_samples:,} input samples; {os.cpu_count()} cores, NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']})")
    print(f"{'method':20s} {'Se %':>7s} {'+P %':>7s} {'F1 %':>7s} {'FN':>6s} {'FP':>6s} | {'EC57 Se':>7s} {'+P':>7s} "
          f"| {'wall s':>7s} {'cpu s':>7s} {'M samp/s':>9s} {'(cpu)':>7s} {'x slower':>8s}")
    base = rows.get("hamilton")
    for name, (total, ec57, wall, cpu) in rows.items():
        ratio = f"{wall / base[2]:8.1f}" if base else ""
        print(f"{name:20s} {100 * total.se:7.3f} {100 * total.ppv:7.3f} {100 * total.f1:7.3f} {total.fn:6d} {total.fp:6d} | "
              f"{100 * ec57.se:7.3f} {100 * ec57.ppv:7.3f} | {wall:7.2f} {cpu:7.2f} {total_samples / wall / 1e6:9.2f} "
              f"{total_samples / cpu / 1e6:7.2f} {ratio}")

    if "hamilton" in methods:
        print(f"\nhamilton: compile in a fresh process (empty numba cache, with imports) {compile_time():.2f} s; "
              f"first call here (cache load) {first_call:.3f} s; both excluded from the table")
        worst = sorted(records, key=lambda r: -(per_record["hamilton", r.name][0].fn + per_record["hamilton", r.name][0].fp))
        print("hamilton worst records (FN, FP):",
              ", ".join(f"{r.name} ({per_record['hamilton', r.name][0].fn}, {per_record['hamilton', r.name][0].fp})"
                        for r in worst[: args.worst]))

        # Cross-check the scoring against wfdb on one record.
        from wfdb.processing import compare_annotations

        rec = next((r for r in records if r.name == "100"), records[0])
        ref = rec.ann_samples[aami_classes(rec.ann_symbols) >= 0]
        score, peaks = per_record["hamilton", rec.name]
        comparitor = compare_annotations(ref, peaks, int(round(TOLERANCE_S * rec.fs)))
        comparitor.compare()
        print(f"cross-check record {rec.name}: ecgseg TP/FP/FN {score.tp}/{score.fp}/{score.fn}, "
              f"wfdb compare_annotations {comparitor.tp}/{comparitor.fp}/{comparitor.fn}")
        if args.robustness:
            robustness(records)


if __name__ == "__main__":
    main()
