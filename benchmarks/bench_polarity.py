"""The rule's polarity check: does the sampled vote agree with the detector's over the whole lead, and what it costs.

    python benchmarks/bench_polarity.py

Every MIT-BIH record (lead MLII, else channel 0), upright and negated. `ecgseg.detector.looks_inverted` votes on
pieces of the lead (its constants were chosen on DS1; DS2 is the check); `detect` votes on the whole lead. Cost: the
time of the sampled vote as a share of the rule's whole cut (`segment(x, fs)`, which now includes it), and the
whole-lead detector's share for comparison (what running it in full would cost).
"""

from __future__ import annotations

import time

from _common import read_all

from ecgseg.detector import detect, looks_inverted
from ecgseg.protocols import DS1, DS2
from ecgseg.segmentation import segment


def timed(function, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return result, best


def main():
    records, _ = read_all()
    segment(records[0].signal[:36000], records[0].fs)  # compile once, outside the timings
    detect(records[0].signal[:36000], records[0].fs)
    disagree = {"DS1": [], "DS2": [], "other": []}
    t_rule = t_sampled = t_whole = 0.0
    for r in records:
        group = "DS1" if r.name in DS1 else "DS2" if r.name in DS2 else "other"
        for sign in (1.0, -1.0):
            x = sign * r.signal
            whole, seconds = timed(lambda: detect(x, r.fs).inverted)
            t_whole += seconds
            sampled, seconds = timed(lambda: looks_inverted(lambda a, b: x[a:b], x.size, r.fs))
            t_sampled += seconds
            t_rule += timed(lambda: segment(x, r.fs))[1]
            if sampled != whole:
                disagree[group].append(f"{r.name}{'-' if sign < 0 else '+'}")
    for group, names in disagree.items():
        print(f"{group}: sampled vote differs from the whole lead's on {len(names)} leads {' '.join(names)}")
    print(f"sampled vote: {t_sampled / t_rule:.1%} of the rule's cut (which includes it); "
          f"the detector over the whole lead would be {t_whole / (t_rule - t_sampled):.0%} of the cut without it")


if __name__ == "__main__":
    main()
