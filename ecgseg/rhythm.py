"""Rhythm context of each beat: R-R intervals around it and against the local rhythm.

Inter-patient, a beat's shape alone separates supraventricular (S) beats
poorly; their prematurity against the *local* rhythm (not the record's
median, which a record full of S beats drags down) and the compensatory pause
after them carry much of the signal.

Over a longer horizon (:func:`rhythm_features`), the record's own dominant
rhythm tells a premature beat (short against a regular rhythm) from an
irregular rhythm such as atrial fibrillation (every interval differs from
its neighbours): the spread of successive R-R differences is small in sinus
rhythm with isolated ectopic beats and large in fibrillation. Every feature
is in seconds or a ratio, so it does not depend on the sampling rate.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RR_FEATURES", "rr_features", "RHYTHM_FEATURES", "rhythm_features", "cut_intervals"]

#: Column names of :func:`rr_features`.
RR_FEATURES = ("rr_prev_s", "rr_next_s", "rr_local_s", "prev_over_local", "next_over_local", "next_over_prev")


def rr_features(r_peaks, fs: float, *, local_s: float = 10.0) -> np.ndarray:
    """R-R features of each beat: previous, next, local average, and their ratios.

    Parameters
    ----------
    r_peaks : array_like of int, shape (n_beats,), sorted
        R-peak sample indices at ``fs`` (all beats of one record, in order).
    fs : float
        Sampling rate in Hz.
    local_s : float
        The local average is the mean of the R-R intervals that end within
        this many seconds before the beat (not counting the beat's own
        previous interval, so a premature beat does not dilute its own
        reference).

    Returns
    -------
    numpy.ndarray, shape (n_beats, 6) float32
        Columns :data:`RR_FEATURES`: previous and next R-R and the local
        average (seconds), previous / local, next / local, next / previous.
        The first beat takes its next interval as previous, the last its
        previous as next; where no earlier interval exists the local average
        is the previous interval. With fewer than two beats the intervals are
        0 and the ratios 1.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([0, 360, 720, 960, 1440, 1800])  # the 4th beat comes early, then a pause
    >>> [round(float(v), 2) for v in rr_features(r, fs=360)[3]]
    [0.67, 1.33, 1.0, 0.67, 1.33, 2.0]
    """
    r = np.asarray(r_peaks, dtype=np.int64)
    n = r.shape[0]
    out = np.zeros((n, len(RR_FEATURES)), dtype=np.float32)
    if n < 2:
        out[:, 3:] = 1.0
        return out
    intervals = np.maximum(np.diff(r), 1) / float(fs)  # intervals[k - 1] ends at beat k; duplicates count 1 sample
    prev = np.concatenate([intervals[:1], intervals])
    nxt = np.concatenate([intervals, intervals[-1:]])

    # Intervals ending at beats first..i-1 with r[first] >= r[i] - local_s: a cumulative-sum window mean.
    ends_sum = np.concatenate([[0.0], np.cumsum(intervals)])  # ends_sum[k] = sum of intervals ending at beats 1..k
    first = np.maximum(np.searchsorted(r, r - local_s * fs, side="left"), 1)
    last = np.arange(n) - 1
    count = last - first + 1
    total = ends_sum[np.maximum(last, 0)] - ends_sum[np.maximum(first - 1, 0)]
    local = np.where(count > 0, total / np.maximum(count, 1), prev)

    out[:, 0], out[:, 1], out[:, 2] = prev, nxt, local
    out[:, 3], out[:, 4], out[:, 5] = prev / local, nxt / local, nxt / prev
    return out


#: Column names of :func:`rhythm_features`.
RHYTHM_FEATURES = (
    "rr_prev_s", "rr_next_s", "rr_median_s", "prev_over_median", "next_over_median", "prev_over_long",
    "next_over_prev", "prev_over_local", "before_prev_over_median", "after_next_over_median", "rr_spread",
    "rr_spread_lag2",
)


def rhythm_features(r_peaks, fs: float, *, horizon_s: float = 60.0, local_s: float = 10.0,
                    long_quantile: float = 0.9) -> np.ndarray:
    """R-R features of each beat against the record's rhythm over ``horizon_s`` centred on it.

    Parameters
    ----------
    r_peaks : array_like of int, shape (n_beats,), sorted
        R-peak sample indices at ``fs`` (all beats of one record, in order).
    fs : float
        Sampling rate in Hz.
    horizon_s : float
        Length of the centred window (seconds) over which the dominant R-R (the median), the long R-R (the
        ``long_quantile`` quantile) and the spread of the rhythm are measured.
    local_s : float
        The mean of the R-R intervals ending within this many seconds before the beat (as :func:`rr_features`).
    long_quantile : float
        Quantile of the R-R intervals in the window taken as the long, unhurried cycle: where premature
        beats are the majority (runs of atrial ectopy), the median is theirs but this quantile is not.

    Returns
    -------
    numpy.ndarray, shape (n_beats, 12) float32
        Columns :data:`RHYTHM_FEATURES`, all positive: the previous and next R-R and the median R-R of the
        window (seconds); previous and next over the median; previous over the long R-R; next over previous;
        previous over the local mean; the interval before the previous one and the one after the next over the
        median; the spread ``1 + median |RR[k] - RR[k-1]| / median`` and the same at lag 2 (near 1 in a regular
        rhythm or one with isolated ectopic beats; large in atrial fibrillation; the lag-2 spread stays small in
        bigeminy, where beats alternate short and long). Intervals missing at the edges take their nearest
        neighbour's value; with fewer than two beats the seconds are 0 and the ratios and spreads 1.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.arange(0, 360 * 60, 288)                   # 0.8 s sinus rhythm ...
    >>> r[40:] -= 100                                      # ... with one beat 0.28 s early
    >>> f = rhythm_features(np.sort(r), fs=360)
    >>> [round(float(v), 2) for v in f[40, [0, 2, 3, 10]]]
    [0.52, 0.8, 0.65, 1.0]
    """
    from . import _kernels

    r = np.asarray(r_peaks, dtype=np.int64)
    n = r.shape[0]
    out = np.ones((n, len(RHYTHM_FEATURES)), dtype=np.float32)
    if n < 2:
        out[:, :3] = 0.0
        return out
    if np.any(np.diff(r) < 0):
        raise ValueError("r_peaks must be sorted (the beats of one record in time order)")
    t = r / float(fs)
    intervals = np.maximum(np.diff(r), 1) / float(fs)  # intervals[k - 1] ends at beat k
    prev = np.concatenate([intervals[:1], intervals])
    nxt = np.concatenate([intervals, intervals[-1:]])
    before_prev = np.concatenate([prev[:1], prev[:-1]])
    after_next = np.concatenate([nxt[1:], nxt[-1:]])
    ends = t[1:]  # each interval is placed at the time of the beat that ends it
    half = horizon_s / 2.0
    median = _kernels.windowed_quantile(ends, intervals, t, half, 0.5)
    long = _kernels.windowed_quantile(ends, intervals, t, half, long_quantile)
    # a beat with no interval ending within the window (long pauses): its own previous interval
    median = np.where(np.isnan(median), prev, median)
    long = np.where(np.isnan(long), prev, long)
    spreads = []
    for lag in (1, 2):
        if intervals.size > lag:
            change = np.abs(intervals[lag:] - intervals[:-lag])
            spread = _kernels.windowed_quantile(ends[lag:], change, t, half, 0.5)
            spreads.append(1.0 + np.nan_to_num(spread, nan=0.0) / median)
        else:
            spreads.append(np.ones(n))
    local = rr_features(r, fs, local_s=local_s)[:, 2]
    columns = (prev, nxt, median, prev / median, nxt / median, prev / long, nxt / prev, prev / local,
               before_prev / median, after_next / median, spreads[0], spreads[1])
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def cut_intervals(segments, records=None, *, fs_out: float = 125.0, min_overlap_s: float = 0.08,
                  max_overlap_s: float = 0.3, tolerance: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """The R-R intervals that a file of the paper's segments tells by itself, with no R-peak positions.

    Each segment starts at its R-peak and holds the signal up to ``1.2 T`` (then zeros), so when the next beat
    comes within that span, the next row's first samples are a copy of this row's from the next R-peak on (an
    exact copy, or an affine one when the two beats lie in windows scaled apart). Finding that copy gives the R-R
    interval exactly, to the sample. It is not found when the interval is longer than the segment (a pause, a
    compensatory interval) or when the rows are not consecutive beats (a beat the paper's rule missed, rows
    shuffled or selected).

    Parameters
    ----------
    segments : array_like, shape (n_beats, length) float
        The beats as ``ecgseg segment`` cuts them at the R-peak (``pre_r_s`` 0), in time order within a record.
    records : array_like of str, shape (n_beats,), optional
        The record of each beat (rows of a record contiguous); None: all rows are one record.
    fs_out : float
        Rate of the segments in Hz.
    min_overlap_s, max_overlap_s : float
        The copy must span at least ``min_overlap_s`` seconds; at most ``max_overlap_s`` are compared.
    tolerance : float
        A span is a copy when its Pearson r with the other is at least ``1 - tolerance``.

    Returns
    -------
    lengths : numpy.ndarray, shape (n_beats,) int64
        Non-zero samples of each segment (``1.2 T`` at ``fs_out``, up to the segment length).
    prev_lag : numpy.ndarray, shape (n_beats,) int64
        Samples from the row before's R-peak to this row's (its previous R-R interval at ``fs_out``); -1 where not
        found (the first row of each record included).

    Examples
    --------
    >>> signal = np.tile(np.r_[1.0, 0.5, np.linspace(0.1, 0.3, 98)], 5)     # a beat every 100 samples
    >>> starts = np.array([0, 100, 200, 300])
    >>> segments = np.zeros((4, 187)); segments[:, :120] = [signal[s:s + 120] for s in starts]
    >>> lengths, lags = cut_intervals(segments)
    >>> lengths.tolist(), lags.tolist()
    ([120, 120, 120, 120], [-1, 100, 100, 100])
    """
    from . import _kernels
    from .morphology import record_groups

    segments = np.ascontiguousarray(segments, dtype=np.float32)
    if segments.ndim != 2:
        raise ValueError(f"segments have shape {segments.shape}; pass (n_beats, length) beats")
    n, length = segments.shape
    lengths = (length - np.argmax(segments[:, ::-1] != 0, axis=1)).astype(np.int64)
    lengths[~(segments != 0).any(axis=1)] = 0
    follows = np.ones(n, dtype=np.bool_)
    for group in record_groups(records, n):
        if group.size and np.any(np.diff(group) != 1):
            raise ValueError("the rows of each record must be contiguous (one record's beats in time order)")
        follows[group[:1]] = False
    lag = _kernels.successor_lags(segments, lengths, follows, 1, max(int(round(min_overlap_s * fs_out)), 2),
                                  max(int(round(max_overlap_s * fs_out)), 2), float(tolerance))
    return lengths, lag
