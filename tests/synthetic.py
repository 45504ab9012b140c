"""Synthetic ECG-like signals whose beats are known exactly."""

from __future__ import annotations

import numpy as np


def spike_train(fs: float, seconds: float, first_s: float = 0.2, period_s: float = 0.8, width_s: float = 0.012):
    """Narrow Gaussian R waves of height 1 at ``first_s + k * period_s``, a T wave of 0.3 after each.

    Returns ``(signal, r_peaks)`` with ``r_peaks`` the exact sample indices of the R waves at ``fs``.
    """
    t = np.arange(int(round(seconds * fs))) / fs
    r_times = np.arange(first_s, seconds - 0.05, period_s)
    signal = np.zeros_like(t)
    for r in r_times:
        signal += np.exp(-0.5 * ((t - r) / width_s) ** 2)
        signal += 0.3 * np.exp(-0.5 * ((t - r - 0.3) / (4 * width_s)) ** 2)
    return signal, np.rint(r_times * fs).astype(np.int64)
