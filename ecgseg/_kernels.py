"""Numba kernels: every per-sample loop of the package, and nothing else.

Kernels take validated, contiguous arrays of the right dtype; the wrappers in
``signal``, ``peaks`` and ``beats`` do the checking.  Kernels read no module
globals at run time and import nothing from ``ecgseg`` (numba's on-disk cache
does not notice changes across files).
"""

import numpy as np
from numba import njit

# Not ``fastmath=True``: the "nnan"/"ninf" flags it implies make ``np.isnan``
# fold to False inside kernels.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(cache=True, fastmath=FASTMATH)
def window_min_max(x, window):
    """Min and max of each consecutive ``window``-sample block of ``x`` (last may be short)."""
    n = x.shape[0]
    n_windows = (n + window - 1) // window
    mins = np.empty(n_windows)
    maxs = np.empty(n_windows)
    for w in range(n_windows):
        lo = x[w * window]
        hi = lo
        for i in range(w * window + 1, min(n, (w + 1) * window)):
            v = x[i]
            if v < lo:
                lo = v
            elif v > hi:
                hi = v
        mins[w] = lo
        maxs[w] = hi
    return mins, maxs


@njit(cache=True, fastmath=FASTMATH)
def normalize_windows(x, window, mins, maxs):
    """Min-max scale each window of ``x`` to [0, 1]; a flat window becomes zeros."""
    n = x.shape[0]
    out = np.empty(n)
    for w in range(mins.shape[0]):
        span = maxs[w] - mins[w]
        stop = min(n, (w + 1) * window)
        if span > 0.0:
            scale = 1.0 / span
            for i in range(w * window, stop):
                out[i] = (x[i] - mins[w]) * scale
        else:
            for i in range(w * window, stop):
                out[i] = 0.0
    return out


@njit(cache=True, fastmath=FASTMATH)
def _is_peak_above(x, i, threshold):
    # A zero crossing of the first difference from + to 0/-: rising into i, not rising after.
    return x[i] > threshold and x[i] > x[i - 1] and x[i] >= x[i + 1]


@njit(cache=True, fastmath=FASTMATH)
def local_maxima_above(x, window, threshold):
    """Indices of local maxima of ``x`` above ``threshold``, never on a window's first or last sample.

    The derivative is taken within each window only: neighbouring windows are
    normalized separately, so a difference across their edge means nothing.
    """
    n = x.shape[0]
    count = 0
    for start in range(0, n, window):
        for i in range(start + 1, min(n, start + window) - 1):
            if _is_peak_above(x, i, threshold):
                count += 1
    peaks = np.empty(count, dtype=np.int64)
    k = 0
    for start in range(0, n, window):
        for i in range(start + 1, min(n, start + window) - 1):
            if _is_peak_above(x, i, threshold):
                peaks[k] = i
                k += 1
    return peaks


@njit(cache=True, fastmath=FASTMATH)
def suppress_close_peaks(peaks, x, min_distance):
    """Keep the highest of any run of peaks closer than ``min_distance`` samples to the last kept one."""
    keep = np.empty(peaks.shape[0], dtype=np.int64)
    k = 0
    for p in peaks:
        if k > 0 and p - keep[k - 1] < min_distance:
            if x[p] > x[keep[k - 1]]:
                keep[k - 1] = p
        else:
            keep[k] = p
            k += 1
    return keep[:k].copy()


@njit(cache=True, fastmath=FASTMATH)
def median_rr_per_window(peaks, window, n_windows):
    """Median R-R interval (samples) of the peaks inside each window; NaN where fewer than two."""
    periods = np.full(n_windows, np.nan)
    n = peaks.shape[0]
    first = 0
    while first < n:
        w = peaks[first] // window
        last = first
        while last + 1 < n and peaks[last + 1] // window == w:
            last += 1
        if last > first and w < n_windows:
            periods[w] = np.median(np.diff(peaks[first:last + 1]))
        first = last + 1
    return periods


@njit(cache=True, fastmath=FASTMATH)
def cut_segments(x, starts, lows, lengths, segment_length):
    """Copy ``x[start:start + length]`` into zero-padded float32 rows of ``segment_length``.

    Samples before ``lows[b]`` (the start of the beat's window), before 0 or
    past the end of ``x`` stay zero.
    """
    n_beats = starts.shape[0]
    out = np.zeros((n_beats, segment_length), dtype=np.float32)
    n = x.shape[0]
    for b in range(n_beats):
        start = starts[b]
        low = max(lows[b], 0)
        for j in range(min(lengths[b], segment_length)):
            i = start + j
            if low <= i < n:
                out[b, j] = x[i]
    return out
