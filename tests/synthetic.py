"""Synthetic inputs whose answers are known exactly: ECG-like signals and their beats, and beats of toy classes."""

from __future__ import annotations

from pathlib import Path

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


def separable_beats(n_per_class: int = 64, seed: int = 0):
    """Three classes a CNN must tell apart by shape: a spike early, a spike late, a wide bump (with noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(187)
    shapes = [np.exp(-((t - 10) ** 2) / 8), np.exp(-((t - 90) ** 2) / 8), np.exp(-((t - 40) ** 2) / 400)]
    labels = np.repeat(np.arange(3), n_per_class)
    segments = np.stack([shapes[c] for c in labels]) + rng.normal(0, 0.05, (labels.size, 187))
    return segments.astype(np.float32), labels


def rr_task(n_per_class: int = 96, seed: int = 0):
    """Two classes that differ only by rhythm: the same noisy waveform, a premature previous R-R for class 1 (S)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n_per_class)
    segments = rng.normal(0, 0.05, (labels.size, 187)).astype(np.float32)
    prev = np.where(labels == 1, 0.5, 0.9) * rng.uniform(0.95, 1.05, labels.size)
    local = rng.uniform(0.85, 0.95, labels.size)
    nxt = np.where(labels == 1, 1.3, 0.9)
    rr = np.stack([prev, nxt, local, prev / local, nxt / local, nxt / prev], axis=1).astype(np.float32)
    return segments, labels, rr


def fast_rhythm(fs: float, seconds: float, hr_bpm: float, seed: int = 11):
    """P-Q-R-S-T beats at ``hr_bpm`` (R-R within 1%), P and T moving closer to R as the rate rises.

    The same shapes as ``../shared/cases/B11.py``. Returns ``(signal, r_peaks)``, the R waves' sample indices.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    x = 0.01 * rng.standard_normal(n)
    beats, tb = [], 0.5
    while tb < seconds - 0.5:
        beats.append(tb)
        tb += 60.0 / hr_bpm * (1 + 0.01 * rng.standard_normal())
    waves = [(-0.2 * 72 / hr_bpm, 0.02, 0.12), (-0.03, 0.01, -0.12), (0.0, 0.01, 1.0), (0.03, 0.01, -0.25),
             (0.25 * 72 / hr_bpm + 0.05, 0.03, 0.3)]
    for b in beats:
        for offset, width, height in waves:
            x += height * np.exp(-((t - b - offset) ** 2) / (2 * width * width))
    return x, np.rint(np.array(beats) * fs).astype(np.int64)


def fibrillation(fs: float, seconds: float, seed: int = 0):
    """Coarse ventricular fibrillation: a 4-6 Hz wave whose frequency and amplitude wander, no QRS complexes."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    wander = np.convolve(rng.standard_normal(n), np.ones(int(fs)) / np.sqrt(fs), "same")
    frequency = 5.0 + 0.3 * wander
    amplitude = 0.6 + 0.3 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 2 * np.pi))
    wave = np.sin(2 * np.pi * np.cumsum(frequency) / fs)
    return amplitude * (wave + 0.3 * wave ** 2) + 0.02 * rng.standard_normal(n)


def synthetic_ecg(fs: float, seconds: float, seed: int = 0):
    """R waves of uneven height at uneven intervals over noise and wander: many windows have < 2 rule peaks.

    Returns ``(signal, r_samples)``.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    r_samples = (np.cumsum(rng.uniform(0.5, 1.3, int(seconds / 0.5) + 2)) * fs).astype(np.int64)
    r_samples = r_samples[r_samples < n]
    signal = 0.05 * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 0.2 * t)
    offsets = np.arange(-int(0.05 * fs), int(0.05 * fs) + 1)
    wave = np.exp(-((offsets / fs) ** 2) / 2e-4)
    for r, height in zip(r_samples, rng.uniform(0.5, 1.5, r_samples.size)):
        at = r + offsets
        keep = (at >= 0) & (at < n)
        signal[at[keep]] += height * wave[keep]
    return signal, r_samples


def write_wfdb(folder: Path, name: str, fs: float, seconds: float, seed: int = 0) -> Path:
    """A one-lead WFDB record (format 16) with N/V beat annotations, written with wfdb."""
    import wfdb

    signal, r_samples = synthetic_ecg(fs, seconds, seed)
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"], p_signal=signal[:, None], fmt=["16"], write_dir=str(folder))
    symbols = np.where(np.arange(r_samples.size) % 7 == 3, "V", "N").tolist()
    wfdb.wrann(name, "atr", r_samples, symbol=symbols, fs=fs, write_dir=str(folder))
    return folder / name


def spikes(fs: float, seconds: float, times_s, heights, seed: int = 0):
    """Narrow Gaussian spikes (sigma 20 ms) at ``times_s`` over a little noise."""
    n = int(seconds * fs)
    t = np.arange(n) / fs
    signal = 0.01 * np.random.default_rng(seed).standard_normal(n)
    for at, height in zip(times_s, heights):
        near = np.abs(t - at) < 0.1
        signal[near] += height * np.exp(-0.5 * ((t[near] - at) / 0.02) ** 2)
    return signal


BEAT_FIELDS = ("segments", "r_peaks", "windows", "periods_s", "labels", "n_windows", "n_fallback_windows", "n_missed", "fs", "pre_r_s",
               "quality", "vf_stretches", "inverted")


def assert_same_beats(chunked, whole):
    for name in BEAT_FIELDS:
        a, b = getattr(chunked, name), getattr(whole, name)
        assert (a is None and b is None) or np.array_equal(a, b), name


def new_task_beats(n_per_class: int = 48, seed: int = 0):
    """A two-class task the arrhythmia classes do not have: a narrow spike late in the beat against a wide bump."""
    rng = np.random.default_rng(seed)
    t = np.arange(187)
    shapes = [np.exp(-((t - 150) ** 2) / 8), np.exp(-((t - 120) ** 2) / 600)]
    labels = np.repeat(np.arange(2), n_per_class)
    segments = np.stack([shapes[c] for c in labels]) + rng.normal(0, 0.05, (labels.size, 187))
    return segments.astype(np.float32), labels
