"""Numba kernels of the ventricular flutter/fibrillation detector (:mod:`ecgseg.fibrillation`), and nothing else.

:func:`leakage_scan` filters the signal (first-order high-pass, second-order
Butterworth low-pass, both streaming) and, at every hop, computes the VF
filter leakage (Kuo & Dillman 1978, as specified by Amann et al. 2005) of
the last window. All state lives in arrays, so chunks give the values of
the whole record. :func:`hysteresis` turns leakages into VF windows.

Same rules as ``_kernels.py``: validated, contiguous arrays in; no
``ecgseg`` imports; no module globals read at run time.

Layouts
-------
``params`` (int64): 0 window, 1 hop (input samples, multiples of the
decimation), 2 ring mask, 3 decimation (the ring keeps every such sample of
the low-passed signal: 30 Hz needs no more than ~100 samples a second).
``coef`` (float64): 0-2 high-pass b0, b1, a1; 3-7 low-pass b0, b1, b2, a1, a2.
``fstate`` (float64): 0 previous input, 1 previous high-pass output,
2-3 low-pass delay line.
``istate`` (int64): 0 absolute index of the next sample, 1 valid samples
since the last gap (or the start).
"""

import numpy as np
from numba import njit

# As in _kernels.py: not fastmath=True, whose "nnan" flag folds NaN checks to False.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, fastmath=FASTMATH)
def _leakage(ring, mask, end, window):
    """VF filter leakage of the ``window`` samples before ``end``; NaN for a flat window."""
    start = end - window
    total = 0.0
    steps = 0.0
    for s in range(start, end):
        v = ring[s & mask]
        total += abs(v)
        if s > start:
            steps += abs(v - ring[(s - 1) & mask])
    if steps <= 0.0 or total <= 0.0:
        return np.nan
    # Half the period of the window's mean frequency, in samples: a sinusoid cancels against itself shifted by it.
    shift = int(np.floor(np.pi * total / steps + 0.5))
    shift = min(max(shift, 1), window // 2)
    num = 0.0
    den = 0.0
    for s in range(start + shift, end):
        a = ring[s & mask]
        b = ring[(s - shift) & mask]
        num += abs(a + b)
        den += abs(a) + abs(b)
    return num / den if den > 0.0 else np.nan


@njit(cache=True, fastmath=FASTMATH)
def leakage_scan(x, params, coef, ring, fstate, istate):
    """Feed ``x`` (the next samples); return ``(ends, leakage)`` of the windows completed in it.

    A window ends at every multiple of the hop (absolute sample index); it
    is measured only when its samples are all finite (else no value is
    returned for it). A non-finite sample is a gap: the filters restart on
    the first sample after it.
    """
    window, hop, mask, step = params[0], params[1], params[2], params[3]
    window_d = window // step
    hb0, hb1, ha1 = coef[0], coef[1], coef[2]
    lb0, lb1, lb2, la1, la2 = coef[3], coef[4], coef[5], coef[6], coef[7]
    x_prev, y_prev, z1, z2 = fstate[0], fstate[1], fstate[2], fstate[3]
    t, valid = istate[0], istate[1]
    n_max = x.shape[0] // hop + 2
    ends = np.empty(n_max, dtype=np.int64)
    values = np.empty(n_max)
    k = 0
    for i in range(x.shape[0]):
        v = x[i]
        if not np.isfinite(v):
            valid = 0
        else:
            if valid == 0:
                # Restart as if the signal had always been v: no step into the filters.
                x_prev = v
                y_prev = 0.0
                z1 = 0.0
                z2 = 0.0
            hp = hb0 * v + hb1 * x_prev - ha1 * y_prev
            x_prev = v
            y_prev = hp
            # Low-pass, transposed direct form II.
            lp = lb0 * hp + z1
            z1 = lb1 * hp - la1 * lp + z2
            z2 = lb2 * hp - la2 * lp
            if (t + 1) % step == 0:
                ring[(t // step) & mask] = lp
            valid += 1
        t += 1
        if t % hop == 0 and t >= window:
            if valid >= window and k < n_max:
                ends[k] = t
                values[k] = _leakage(ring, mask, t // step, window_d)
                k += 1
    fstate[0], fstate[1], fstate[2], fstate[3] = x_prev, y_prev, z1, z2
    istate[0], istate[1] = t, valid
    return ends[:k].copy(), values[:k].copy()


@njit(cache=True, fastmath=FASTMATH)
def hysteresis(ends, values, hop, enter, stay):
    """Windows in VF: leakage below ``enter``, or below ``stay`` while the previous window was in VF."""
    out = np.zeros(ends.shape[0], dtype=np.bool_)
    state = False
    for k in range(ends.shape[0]):
        if k > 0 and ends[k] - ends[k - 1] != hop:
            state = False  # a gap or an unmeasured window between: start afresh
        v = values[k]
        state = (not np.isnan(v)) and (v < enter or (state and v < stay))
        out[k] = state
    return out
