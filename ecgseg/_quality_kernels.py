"""Numba kernels of the beat-quality module (:mod:`ecgseg.quality`), and nothing else.

:func:`length_transform` is the per-sample filter of the length-transform QRS
detector (after Zong, Moody & Jiang 2003, PhysioNet's ``wqrs``): a low-pass
with a notch at the mains frequency, a smoothed derivative, and the curve
length ``sqrt(c + dy^2)`` summed over 130 ms, less that of a flat line
(at wqrs's 125 Hz the flat line is small beside a QRS, at 1000 Hz it is
not). :func:`lt_decide` is its
per-sample decision, run with a delay of half the eye-closing period so it
can look that far ahead. :func:`agreement` is the per-beat agreement of two
beat lists. All state lives in arrays, so chunks give the results of the
whole record.

Same rules as ``_kernels.py``: validated, contiguous arrays in; no ``ecgseg``
imports; no module globals read at run time.

Layouts
-------
``fparams`` (float64): 0 scale (signal units per "mV": the learning span's
QRS size), 1 curve-length constant ``c``.
``iparams`` (int64): 0 low-pass half-length ``LPn``, 1 length window,
2 ring mask.
``fstate`` (float64): 0-2 the low-pass outputs Y(n-1), Y(n-2) and the
previous Y, 3 running length sum.
``istate`` (int64): 0 absolute index of the next sample, 1 valid samples
since the last gap.
``rings`` (2, ring): 0 the input, 1 the curve-length terms.

Decision: ``dparams`` (int64): 0 longest eye-closing, 1 shortest
eye-closing, 2 samples without a QRS before the threshold decays, 3 ring
mask, 4 delay (half the longest eye-closing), 5 report offset (filter delay
from threshold crossing to onset estimate). ``dfparams`` (float64): 0 rise
needed, 1 eye-closing as a fraction of the mean R-R, 2 threshold floor. ``dstate`` (float64): 0 ``Ta``, 1 ``T1``, 2 mean R-R
(samples). ``distate`` (int64): 0 next sample index to decide, 1 lockout
end, 2 samples since the last QRS, 3 last QRS time (-1: none).
"""

import numpy as np
from numba import njit

# As in _kernels.py: not fastmath=True, whose "nnan" flag folds NaN checks to False.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, fastmath=FASTMATH)
def length_transform(x, fparams, iparams, rings, fstate, istate):
    """Curve-length feature of ``x`` (the next samples); NaN where the input is in a gap or just after one."""
    scale, c = fparams[0], fparams[1]
    lpn, window, mask = iparams[0], iparams[1], iparams[2]
    lp2n = 2 * lpn
    y1, y2, total = fstate[0], fstate[1], fstate[3]
    t, valid = istate[0], istate[1]
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        v = x[i]
        j = t & mask
        if not np.isfinite(v):
            valid = 0
            out[i] = np.nan
            t += 1
            continue
        v = v / scale
        if valid == 0:
            # Restart as if the signal had always been v: the filter and the length sum start from rest.
            for back in range(1, max(lp2n, window) + 1):
                rings[0, (t - back) & mask] = v
                rings[1, (t - back) & mask] = np.sqrt(c)
            y1 = v * lpn * lpn
            y2 = y1
            total = window * np.sqrt(c)
        rings[0, j] = v
        # wqrs's low-pass: a triangle of length 2 LPn (a double running sum), its zeros at fs / LPn.
        y = 2.0 * y1 - y2 + v - 2.0 * rings[0, (t - lpn) & mask] + rings[0, (t - lp2n) & mask]
        dy = (y - y1) / lp2n
        y2 = y1
        y1 = y
        e = np.sqrt(c + dy * dy)
        total += e - rings[1, (t - window) & mask]
        rings[1, j] = e
        valid += 1
        # Less the length of a flat line, so wqrs's thresholds (fractions of the QRS length) hold at any rate.
        out[i] = total - window * np.sqrt(c) if valid > lp2n + window else np.nan
        t += 1
    fstate[0], fstate[1], fstate[3] = y1, y2, total
    istate[0], istate[1] = t, valid
    return out


@njit(cache=True, fastmath=FASTMATH)
def _decide_one(t, newest, ring, dparams, dfparams, dstate, distate):
    """Decide sample ``t`` (samples up to ``newest`` are in the ring); return the reported time or -1."""
    ec_max, ec_min, expect, mask, offset = dparams[0], dparams[1], dparams[2], dparams[3], dparams[5]
    rise, ec_frac, floor = dfparams[0], dfparams[1], dfparams[2]
    if t < distate[1]:
        return -1
    v = ring[t & mask]
    if not np.isnan(v) and v > dstate[1]:
        half = int(min(max(ec_frac * dstate[2], float(ec_min)), float(ec_max))) // 2
        hi = v
        for s in range(t + 1, min(t + half, newest + 1)):
            w = ring[s & mask]
            if not np.isnan(w) and w > hi:
                hi = w
        lo = v
        for s in range(max(t - half + 1, newest - mask), t):
            w = ring[s & mask]
            if not np.isnan(w) and w < lo:
                lo = w
        if hi > lo + rise:
            if distate[3] >= 0:
                dstate[2] += (float(t - distate[3]) - dstate[2]) / 8.0
            distate[3] = t
            dstate[0] += (hi - dstate[0]) / 10.0
            dstate[1] = dstate[0] / 3.0
            distate[1] = t + 2 * half
            distate[2] = 0
            return t - offset
    distate[2] += 1
    if distate[2] > expect and dstate[0] > floor:
        dstate[0] = max(floor, dstate[0] * (1.0 - 1.0 / expect))
        dstate[1] = dstate[0] / 3.0
    return -1


@njit(cache=True, fastmath=FASTMATH)
def lt_decide(lt, t_first, ring, dparams, dfparams, dstate, distate, flush):
    """Decide the QRS complexes among the curve-length samples ``lt`` (absolute index ``t_first`` onwards).

    wqrs's rule: a sample above ``T1`` is a QRS when the largest value in the
    next half eye-closing rises above the smallest in the previous half by
    ``rise``; then ``Ta`` moves a tenth of the way to that largest value,
    ``T1 = Ta / 3``, and detection is locked out for one eye-closing. With no
    QRS for ``expect`` samples, ``Ta`` decays (e-fold per ``expect`` samples
    here) to its floor ``T0``. Here the eye-closing follows the rhythm: a
    fraction of the mean R-R of the detections, within [shortest, longest].
    Decisions lag the input by half the longest eye-closing; ``flush``
    decides the rest (the end of the record). Returns the reported times
    (sample decided minus the filter delay).
    """
    mask, delay = dparams[3], dparams[4]
    out = np.empty(lt.shape[0] // max(dparams[1], 1) + 4, dtype=np.int64)
    k = 0
    newest = t_first - 1
    for i in range(lt.shape[0]):
        newest = t_first + i
        ring[newest & mask] = lt[i]
        while distate[0] <= newest - delay:
            found = _decide_one(distate[0], newest, ring, dparams, dfparams, dstate, distate)
            distate[0] += 1
            if found >= 0 and k < out.shape[0]:
                out[k] = found
                k += 1
    if flush:
        while distate[0] <= newest:
            found = _decide_one(distate[0], newest, ring, dparams, dfparams, dstate, distate)
            distate[0] += 1
            if found >= 0 and k < out.shape[0]:
                out[k] = found
                k += 1
    return out[:k].copy()


@njit(cache=True, fastmath=FASTMATH)
def agreement(centres, beats, other, half_window, tolerance):
    """For each of ``centres`` (sorted), the bSQI of ``beats`` and ``other`` (both sorted) in the window around it.

    bSQI = matched / (n_beats + n_other - matched) over the beats of both
    lists inside ``[c - half_window, c + half_window)``, matching one to one
    within ``tolerance`` samples greedily in time order; 1 when both lists
    agree, 0 when none match. An empty window (no beats of either) is 1.
    """
    n = centres.shape[0]
    out = np.empty(n)
    lo_a = 0
    lo_b = 0
    hi_a = 0
    hi_b = 0
    for i in range(n):
        start = centres[i] - half_window
        stop = centres[i] + half_window
        while lo_a < beats.shape[0] and beats[lo_a] < start:
            lo_a += 1
        while lo_b < other.shape[0] and other[lo_b] < start:
            lo_b += 1
        hi_a = max(hi_a, lo_a)
        while hi_a < beats.shape[0] and beats[hi_a] < stop:
            hi_a += 1
        hi_b = max(hi_b, lo_b)
        while hi_b < other.shape[0] and other[hi_b] < stop:
            hi_b += 1
        matched = 0
        j = lo_b
        for a in range(lo_a, hi_a):
            while j < hi_b and other[j] < beats[a] - tolerance:
                j += 1
            if j < hi_b and abs(other[j] - beats[a]) <= tolerance:
                matched += 1
                j += 1
        total = (hi_a - lo_a) + (hi_b - lo_b) - matched
        out[i] = matched / total if total > 0 else 1.0
    return out
