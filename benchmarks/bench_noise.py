"""R-peak detectors in noise: MIT-BIH records with nstdb noise added as PhysioNet's ``nst`` does, against the peers.

Protocol (``benchmarks/_nst.py`` has the details): for each record, lead MLII
(channel 0 where there is none), each noise record (``bw`` baseline wander,
``ma`` muscle artefact, from the MIT-BIH Noise Stress Test Database) and each
SNR, noise is scaled from the record's own QRS amplitude and added after a
5-minute clean start, in alternating 2-minute noisy and clean stretches.
Every detector runs on the same noisy signal in the same run; its R-peaks
are matched one to one with the reference beats (every annotation with an
AAMI class) within 150 ms, counts summed over the records. "whole" scores
the whole record, "noisy" only the noisy stretches (reference beats and
detections inside them). ``clean`` is the record without noise.

Record set (default ``nst17``): DS1 every third record from the first
(101 109 115 119 201 207 209 223) plus 118, the record the Noise Stress Test
Database itself uses, and DS2 every third record from the first (100 111
121 202 212 219 222 232). A systematic third keeps the run under ~30
minutes (wfdb's gqrs runs at ~0.2 M samples/s and every record is read 13
times) while keeping the arrhythmic 2xx records (ventricular flutter in
207, atrial flutter and fibrillation in 202, 219, 222, long pauses in 232).
DS1 and DS2 are scored apart: detector parameters were chosen on DS1 with
``bw`` noise; DS2 and ``ma`` are the check. ``--records ds1,ds2`` runs all
44 non-paced records (about 1.5 h with the peers).

Peers: wfdb's ``gqrs`` and NeuroKit2 (``pip install neurokit2``, the
``bench`` extra). Of the NeuroKit2 methods fast enough to run here
(neurokit, pantompkins1985, kalidas2017, martinez2004, hamilton2002,
rodrigues2021, nabian2018, elgendi2010), run on the DS1 part of the default
set, ``neurokit`` had the highest F1 in ``ma`` noise and ``pantompkins1985``
on clean records and in ``bw`` noise, so both are in the default run;
``--methods`` takes the others. "best peer" in the table is the peer with
the highest F1 in that condition.

    nice -n 10 python benchmarks/bench_noise.py                   # the default set, all detectors
    python benchmarks/bench_noise.py --records 118,119 --methods hamilton,gqrs --snr 12,6
    python benchmarks/bench_noise.py --records ds1,ds2 --methods hamilton
"""

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, data_dir  # noqa: E402, F401
from _nst import channel_index, noisy_stretches, nst_record, read_noise  # noqa: E402

from ecgseg.evaluate import DS1, DS2, DetectionScores, detection_scores  # noqa: E402
from ecgseg.labels import aami_classes  # noqa: E402
from ecgseg.records import read_record, record_path  # noqa: E402

TOLERANCE_S = 0.15
SNRS = (24, 18, 12, 6, 0, -6)
NST17 = "101 109 115 118 119 201 207 209 223 100 111 121 202 212 219 222 232".split()


def _hamilton(signal, fs):
    from ecgseg.peaks import detect_r_peaks

    return detect_r_peaks(signal, fs, method="hamilton")


def _gqrs(signal, fs):
    from wfdb.processing import gqrs_detect

    return gqrs_detect(signal, fs)


def _neurokit(method):
    def run(signal, fs):
        import neurokit2 as nk

        own_clean = method in ("neurokit", "pantompkins1985", "hamilton2002", "elgendi2010", "engzeemod2012")
        cleaned = nk.ecg_clean(signal, sampling_rate=fs, method=method if own_clean else "neurokit")
        _, info = nk.ecg_peaks(cleaned, sampling_rate=fs, method=method)
        return info["ECG_R_Peaks"]

    return run


NK_METHODS = ("neurokit", "pantompkins1985", "kalidas2017", "martinez2004", "hamilton2002", "rodrigues2021",
              "nabian2018", "elgendi2010")
METHODS = {"hamilton": _hamilton, "gqrs": _gqrs, **{f"nk-{m}": _neurokit(m) for m in NK_METHODS}}
DEFAULT_METHODS = "hamilton,gqrs,nk-neurokit,nk-pantompkins1985"


def record_names(spec: str) -> list[str]:
    names = []
    for part in spec.split(","):
        names += {"ds1": list(DS1), "ds2": list(DS2), "nst17": NST17}.get(part.lower(), [part])
    return list(dict.fromkeys(names))


def inside(peaks, intervals) -> np.ndarray:
    peaks = np.asarray(peaks, dtype=np.int64)
    keep = np.zeros(peaks.size, dtype=bool)
    for lo, hi in intervals:
        keep |= (peaks >= lo) & (peaks < hi)
    return peaks[keep]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="nst17",
                        help="Comma-separated record names or sets: nst17 (default), ds1, ds2.")
    parser.add_argument("--noise", default="bw,ma", help="Noise records from nstdb-noise/ (default bw,ma).")
    parser.add_argument("--snr", default=",".join(map(str, SNRS)), help="SNRs in dB (default 24,18,12,6,0,-6).")
    parser.add_argument("--methods", default=DEFAULT_METHODS, help=f"Of {','.join(METHODS)}.")
    parser.add_argument("--worst", type=int, default=5, help="List this many worst records per noise for hamilton.")
    args = parser.parse_args(argv)

    methods = args.methods.split(",")
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {','.join(METHODS)}")
    folder = data_dir()
    names = record_names(args.records)
    noises = args.noise.split(",")
    snrs = [float(s) for s in args.snr.split(",")]
    conditions = [("clean", None)] + [(noise, snr) for noise in noises for snr in snrs]
    noise_signals = {noise: read_noise(noise, folder)[0] for noise in noises}

    # Warm-up (numba cache load, NeuroKit2 imports) apart from the timing.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm = read_record(names[0], data_dir=folder)
        for name in methods:
            METHODS[name](warm.signal[:20000], warm.fs)

    scores = defaultdict(lambda: DetectionScores(0, 0, 0))  # (method, condition, part, set)
    seconds = defaultdict(float)
    samples = defaultdict(int)
    per_record = defaultdict(lambda: DetectionScores(0, 0, 0))
    start = time.perf_counter()
    for number, name in enumerate(names, 1):
        rec = read_record(name, data_dir=folder)
        group = "DS1" if name in DS1 else "DS2" if name in DS2 else "other"
        beats = aami_classes(rec.ann_symbols) >= 0
        ref = rec.ann_samples[beats]
        channel = channel_index(record_path(name, data_dir=folder), rec.channel)
        stretches = noisy_stretches(rec.signal.size, rec.fs)
        for noise, snr in conditions:
            if noise == "clean":
                x = rec.signal
            else:
                x = nst_record(rec.signal, rec.ann_samples, rec.ann_symbols, rec.fs, noise_signals[noise], channel, snr)
            for method in methods:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t = time.process_time()
                    try:
                        peaks = np.asarray(METHODS[method](x, rec.fs), dtype=np.int64)
                    except Exception as error:  # a peer failing on a noisy record finds no beats there: say so
                        print(f"  {method} failed on {name} {noise} {snr}: {error!r}", file=sys.stderr)
                        peaks = np.empty(0, dtype=np.int64)
                    seconds[method] += time.process_time() - t
                samples[method] += x.size
                whole = detection_scores(peaks, ref, rec.fs, TOLERANCE_S)
                noisy = detection_scores(inside(peaks, stretches), inside(ref, stretches), rec.fs, TOLERANCE_S)
                for part, score in (("whole", whole), ("noisy", noisy)):
                    for grp in (group, "all"):
                        scores[method, (noise, snr), part, grp] += score
                per_record[method, noise, name] += noisy
        print(f"  [{number}/{len(names)}] {name} ({group}) done, {time.perf_counter() - start:.0f} s", file=sys.stderr)

    groups = [g for g in ("DS1", "DS2", "other") if any(k[3] == g for k in scores)]
    groups += ["all"] if len(groups) > 1 else []
    print(f"\nR-peak detection in nst noise: {len(names)} records ({' '.join(names)}), MLII, {TOLERANCE_S * 1e3:.0f} ms, "
          f"summed; whole record / noisy stretches only")
    for grp in groups:
        n_rec = sum(1 for n in names if (n in DS1 and grp == "DS1") or (n in DS2 and grp == "DS2") or grp == "all"
                    or (grp == "other" and n not in DS1 and n not in DS2))
        for noise in ["clean"] + noises:
            print(f"\n{grp} ({n_rec} records), noise {noise}")
            print(f"{'SNR dB':>6s} {'method':20s} | {'Se %':>7s} {'+P %':>7s} {'FN':>6s} {'FP':>6s} | "
                  f"{'noisy Se':>8s} {'+P':>7s} {'FN':>6s} {'FP':>6s}")
            for cond in [c for c in conditions if c[0] == noise]:
                for method in methods:
                    w = scores[method, cond, "whole", grp]
                    n = scores[method, cond, "noisy", grp]
                    snr = "-" if cond[1] is None else f"{cond[1]:g}"
                    print(f"{snr:>6s} {method:20s} | {100 * w.se:7.2f} {100 * w.ppv:7.2f} {w.fn:6d} {w.fp:6d} | "
                          f"{100 * n.se:8.2f} {100 * n.ppv:7.2f} {n.fn:6d} {n.fp:6d}")
                peers = [m for m in methods if m != "hamilton"]
                if "hamilton" in methods and peers:
                    h = scores["hamilton", cond, "whole", grp]
                    best = max(peers, key=lambda m: scores[m, cond, "whole", grp].f1)
                    b = scores[best, cond, "whole", grp]
                    print(f"{'':6s} {'hamilton - ' + best:20s} | {100 * (h.se - b.se):+7.2f} {100 * (h.ppv - b.ppv):+7.2f} "
                          f"  (whole record; best peer by F1)")

    if "hamilton" in methods:
        for noise in noises:
            worst = sorted(names, key=lambda n: -(per_record["hamilton", noise, n].fn + per_record["hamilton", noise, n].fp))
            print(f"hamilton worst records in {noise} noise, noisy stretches, all SNRs (FN, FP): " + ", ".join(
                f"{n} ({per_record['hamilton', noise, n].fn}, {per_record['hamilton', noise, n].fp})"
                for n in worst[: args.worst]))
    print("\nCPU seconds per method (one thread), input samples per second:")
    for method in methods:
        print(f"  {method:20s} {seconds[method]:8.1f} s  {samples[method] / max(seconds[method], 1e-9) / 1e6:8.2f} M/s")
    print(f"total wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
