"""Rhythm context of each beat: R-R intervals around it and against the local rhythm.

Inter-patient, a beat's shape alone separates supraventricular (S) beats
poorly; their prematurity against the *local* rhythm (not the record's
median, which a record full of S beats drags down) and the compensatory pause
after them carry much of the signal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RR_FEATURES", "rr_features"]

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
