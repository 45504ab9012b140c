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
def scale_windows(x, window):
    """:func:`window_min_max` then :func:`normalize_windows`: one kernel to load instead of two."""
    mins, maxs = window_min_max(x, window)
    return normalize_windows(x, window, mins, maxs), mins, maxs


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
            # np.median's value (the mean of the middle two for an even count) from a plain sort: numba's
            # np.median brings three times the machine code, which every run loads from the cache.
            rr = np.sort(peaks[first + 1:last + 1] - peaks[first:last])
            half = rr.shape[0] // 2
            periods[w] = rr[half] if rr.shape[0] % 2 else (rr[half - 1] + rr[half]) / 2.0
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


@njit(cache=True)
def bessel_i0(x):
    """I0(x), the modified Bessel function of order 0, for each ``x`` in [-8, 8].

    Cephes' ``i0`` (S. L. Moshier; the Chebyshev series on [0, 8] that numpy
    and scipy.special use), evaluated in its order with the C library's
    ``exp``: bit for bit scipy.special.i0, so filters designed with it equal
    scipy's. Not ``fastmath``: the order of operations is the point.
    """
    coefficients = (
        -4.4153416464793395e-18, 3.3307945188222384e-17, -2.431279846547955e-16, 1.715391285555133e-15,
        -1.1685332877993451e-14, 7.676185498604936e-14, -4.856446783111929e-13, 2.95505266312964e-12,
        -1.726826291441556e-11, 9.675809035373237e-11, -5.189795601635263e-10, 2.6598237246823866e-09,
        -1.300025009986248e-08, 6.046995022541919e-08, -2.670793853940612e-07, 1.1173875391201037e-06,
        -4.4167383584587505e-06, 1.6448448070728896e-05, -5.754195010082104e-05, 0.00018850288509584165,
        -0.0005763755745385824, 0.0016394756169413357, -0.004324309995050576, 0.010546460394594998,
        -0.02373741480589947, 0.04930528423967071, -0.09490109704804764, 0.17162090152220877,
        -0.3046826723431984, 0.6767952744094761,
    )
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        a = abs(x[i])
        y = a / 2.0 - 2.0
        b0 = coefficients[0]
        b1 = 0.0
        b2 = 0.0
        for k in range(1, 30):
            b2 = b1
            b1 = b0
            b0 = y * b1 - b2 + coefficients[k]
        out[i] = np.exp(a) * (0.5 * (b0 - b2))
    return out


@njit(cache=True)
def polyphase_resample(x, x_start, n_samples, taps, up, down, half_len, out_start, out_stop):
    """Output samples ``[out_start, out_stop)`` of a signal upsampled by ``up``, filtered, downsampled by ``down``.

    The signal has ``n_samples`` samples (zero outside them); ``x`` holds
    samples ``[x_start, x_start + len(x))``, which must include every one the
    outputs need. ``taps[p, i]`` is the filter's tap ``p + (T - 1 - i) * up``
    (``T = taps.shape[1]``; 0 past the filter's end), the filter being
    centred on tap ``half_len``: output ``m`` sits at input position
    ``m * down / up``. Each output sums its products in ascending input order
    from 0.0, as scipy's ``upfirdn`` does, so a part of the signal gives the
    very bits of the whole. Not ``fastmath`` (that reorders the sums).
    """
    n_taps = taps.shape[1]
    n_out = out_stop - out_start
    out = np.empty(n_out)
    # t = m * down + half_len for output m: newest = t // up (the latest input sample it sees), phase = t % up,
    # stepped from output to output without a division.
    t = out_start * down + half_len
    newest = t // up
    phase = t - newest * up
    step, step_phase = down // up, down % up
    j = 0
    while j < n_out:
        if j + 4 <= n_out and newest - n_taps + 1 >= 0 and newest + 4 * (step + 1) < n_samples:
            # Four outputs inside the signal: four independent sums in one loop (the CPU overlaps them),
            # each still added in ascending input order.
            n0, p0 = newest, phase
            n1, p1 = _step(n0, p0, step, step_phase, up)
            n2, p2 = _step(n1, p1, step, step_phase, up)
            n3, p3 = _step(n2, p2, step, step_phase, up)
            o0, o1, o2, o3 = n0 - n_taps + 1 - x_start, n1 - n_taps + 1 - x_start, n2 - n_taps + 1 - x_start, n3 - n_taps + 1 - x_start
            a0 = a1 = a2 = a3 = 0.0
            for i in range(n_taps):
                a0 = a0 + x[o0 + i] * taps[p0, i]
                a1 = a1 + x[o1 + i] * taps[p1, i]
                a2 = a2 + x[o2 + i] * taps[p2, i]
                a3 = a3 + x[o3 + i] * taps[p3, i]
            out[j], out[j + 1], out[j + 2], out[j + 3] = a0, a1, a2, a3
            newest, phase = _step(n3, p3, step, step_phase, up)
            j += 4
            continue
        oldest = newest - n_taps + 1
        acc = 0.0
        for k in range(max(oldest, 0), min(newest, n_samples - 1) + 1):
            acc = acc + x[k - x_start] * taps[phase, k - oldest]
        out[j] = acc
        newest, phase = _step(newest, phase, step, step_phase, up)
        j += 1
    return out


@njit(cache=True)
def _step(newest, phase, step, step_phase, up):
    """The next output's (newest, phase): t grows by ``down`` = ``step * up + step_phase``."""
    newest += step
    phase += step_phase
    if phase >= up:
        phase -= up
        newest += 1
    return newest, phase


@njit(cache=True, fastmath=FASTMATH)
def windowed_quantile(times, values, centers, half_window, q):
    """The ``q`` quantile (linear interpolation, as ``np.quantile``) of ``values`` whose ``times`` lie within
    ``half_window`` of each center; NaN where none do. ``times`` and ``centers`` are sorted.

    The window slides forward, so a sorted copy of it is kept and updated by one insertion or removal per value.
    """
    n_out = centers.shape[0]
    n = times.shape[0]
    out = np.full(n_out, np.nan)
    window = np.empty(n)
    m = 0
    lo = 0
    hi = 0
    for i in range(n_out):
        while hi < n and times[hi] <= centers[i] + half_window:
            v = values[hi]  # insert, keeping the window sorted
            k = m
            while k > 0 and window[k - 1] > v:
                window[k] = window[k - 1]
                k -= 1
            window[k] = v
            m += 1
            hi += 1
        while lo < hi and times[lo] < centers[i] - half_window:
            v = values[lo]  # remove one copy
            k = 0
            while window[k] != v:
                k += 1
            for j in range(k, m - 1):
                window[j] = window[j + 1]
            m -= 1
            lo += 1
        if m == 0:
            continue
        position = q * (m - 1)
        below = int(np.floor(position))
        above = min(below + 1, m - 1)
        out[i] = window[below] + (window[above] - window[below]) * (position - below)
    return out


@njit(cache=True, fastmath=FASTMATH)
def row_medians(segments, members, offsets):
    """Sample-wise median of the rows ``members[offsets[b]:offsets[b + 1]]`` of ``segments``, per group b."""
    n_groups = offsets.shape[0] - 1
    length = segments.shape[1]
    out = np.zeros((n_groups, length), dtype=np.float32)
    column = np.empty(members.shape[0])
    for b in range(n_groups):
        start = offsets[b]
        m = offsets[b + 1] - start
        if m == 0:
            continue
        for j in range(length):
            for k in range(m):
                column[k] = segments[members[start + k], j]
            out[b, j] = np.median(column[:m])
    return out


@njit(cache=True, fastmath=FASTMATH)
def successor_lags(segments, lengths, follows, min_lag, min_overlap, max_overlap, tolerance):
    """Where each row starts inside the row before it: the smallest lag ``p >= min_lag`` at which the first
    ``L = min(lengths[i - 1] - p, lengths[i], max_overlap) >= min_overlap`` samples of row ``i`` are an affine copy
    of row ``i - 1``'s samples from ``p`` (Pearson r >= 1 - tolerance, both spans varying); -1 where none is, or
    where ``follows[i]`` is False (row ``i`` starts a record)."""
    n = segments.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    for i in range(1, n):
        if not follows[i]:
            continue
        before = lengths[i - 1]
        for p in range(min_lag, before - min_overlap + 1):
            m = min(before - p, lengths[i], max_overlap)
            if m < min_overlap:
                break
            # an affine copy (positive scale) rises and falls where the original does: most lags fail here
            same_turns = True
            for k in range(min(m - 1, 4)):
                da = segments[i - 1, p + k + 1] - segments[i - 1, p + k]
                db = segments[i, k + 1] - segments[i, k]
                if (da > 0) != (db > 0) or (da < 0) != (db < 0):
                    same_turns = False
                    break
            if not same_turns:
                continue
            sa = 0.0
            sb = 0.0
            for k in range(m):
                sa += segments[i - 1, p + k]
                sb += segments[i, k]
            ma = sa / m
            mb = sb / m
            saa = 0.0
            sbb = 0.0
            sab = 0.0
            for k in range(m):
                a = segments[i - 1, p + k] - ma
                b = segments[i, k] - mb
                saa += a * a
                sbb += b * b
                sab += a * b
            if saa <= 1e-12 or sbb <= 1e-12:
                continue
            if sab / np.sqrt(saa * sbb) >= 1.0 - tolerance:
                out[i] = p
                break
    return out
