"""Slow, obviously correct references for the numba kernels (compared in the tests)."""

from __future__ import annotations

import numpy as np


def normalize_windows(x, window):
    out = np.empty(len(x))
    for start in range(0, len(x), window):
        block = np.asarray(x[start:start + window], dtype=float)
        span = block.max() - block.min()
        out[start:start + window] = (block - block.min()) / span if span > 0 else 0.0
    return out


def local_maxima_above(x, window, threshold):
    peaks = []
    for start in range(0, len(x), window):
        stop = min(len(x), start + window)
        for i in range(start + 1, stop - 1):
            if x[i] > threshold and x[i] - x[i - 1] > 0 and x[i + 1] - x[i] <= 0:
                peaks.append(i)
    return np.array(peaks, dtype=np.int64)


def median_rr_per_window(peaks, window, n_windows):
    periods = np.full(n_windows, np.nan)
    for w in range(n_windows):
        inside = [p for p in peaks if p // window == w]
        if len(inside) >= 2:
            periods[w] = np.median(np.diff(inside))
    return periods


def cut_segments(x, starts, lows, lengths, segment_length):
    out = np.zeros((len(starts), segment_length), dtype=np.float32)
    for b, (start, low, n) in enumerate(zip(starts, lows, lengths)):
        for j in range(min(n, segment_length)):
            if max(low, 0) <= start + j < len(x):
                out[b, j] = x[start + j]
    return out


def polyphase_resample(x, up, down, h):
    """``resample_poly``'s definition: output m = sum over k of h[m * down - k * up + half] * x[k], zero outside x."""
    half = (len(h) - 1) // 2
    n_out = -(-len(x) * up // down)
    out = np.zeros(n_out)
    for m in range(n_out):
        for k in range(len(x)):
            j = m * down - k * up + half
            if 0 <= j < len(h):
                out[m] += h[j] * x[k]
    return out


def windowed_quantile(times, values, centers, half_window, q):
    out = np.full(len(centers), np.nan)
    for i, c in enumerate(centers):
        inside = (times >= c - half_window) & (times <= c + half_window)
        if inside.any():
            out[i] = np.quantile(values[inside], q)
    return out


def successor_lags(segments, lengths, follows, min_lag, min_overlap, max_overlap, tolerance):
    """Reference for _kernels.successor_lags: numpy's corrcoef at every lag."""
    out = np.full(len(segments), -1, dtype=np.int64)
    for i in range(1, len(segments)):
        if not follows[i]:
            continue
        for p in range(min_lag, lengths[i - 1] - min_overlap + 1):
            m = min(lengths[i - 1] - p, lengths[i], max_overlap)
            if m < min_overlap:
                break
            a, b = segments[i - 1, p:p + m].astype(float), segments[i, :m].astype(float)
            if np.sum((a - a.mean()) ** 2) <= 1e-12 or np.sum((b - b.mean()) ** 2) <= 1e-12:
                continue
            if np.corrcoef(a, b)[0, 1] >= 1 - tolerance:
                out[i] = p
                break
    return out
