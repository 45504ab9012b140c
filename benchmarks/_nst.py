"""Noisy copies of MIT-BIH records made the way PhysioNet's ``nst`` makes the Noise Stress Test Database.

``nst`` (G. Moody, WFDB software; Moody, Muldrow & Mark 1984) and the
``sigamp`` program it calls define the method; this module follows them:

- Signal size S: the peak-to-peak amplitude of the clean signal from 50 ms
  before to 50 ms after each of the first 300 beats that WFDB's ``map1``
  maps to NORMAL (every beat but ventricular ectopic and fusion beats), as a
  trimmed mean (the lowest and highest 5% dropped).
- Noise size N: the RMS (mean removed) of each of the first 300 one-second
  windows of the noise signal, as the same trimmed mean.
- Gain for an SNR in dB: ``10 ** (-snr / 20) * sqrt(2) / 4 * S / N``, i.e. the
  SNR compares the noise RMS with the RMS of a sinusoid whose peak-to-peak
  amplitude is S.
- Protocol: the first 5 minutes clean, then 2-minute stretches with noise
  and without, alternately, to the end of the record. Where the gain
  changes, an offset keeps the output continuous (no step), as ``nst`` does.
- Clean signal ``i`` takes noise signal ``i % 2`` (``noise1`` for channel
  0), sample for sample from the start of both records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: WFDB map1 NORMAL: every beat symbol but V, E (ventricular), F (fusion).
NST_NORMAL = frozenset("N L R a J A S j / Q B e n f".split())
LEARNING_S = 300.0
STRETCH_S = 120.0
N_MEASURE = 300


def trimmed_mean(values) -> float:
    """sigamp's trimmed mean: sort, drop ``n // 20`` values at each end."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    cut = values.size // 20
    return float(values[cut: values.size - cut].mean())


def qrs_amplitude(signal, ann_samples, ann_symbols, fs: float) -> float:
    """S: trimmed mean peak-to-peak over +-50 ms of the first 300 non-ventricular, non-fusion beats."""
    half = int(round(0.05 * fs))
    normal = [s for s, sym in zip(ann_samples, ann_symbols) if sym in NST_NORMAL]
    amps = []
    for s in normal:
        if len(amps) == N_MEASURE:
            break
        if s - half < 0 or s + half >= signal.size:
            continue
        window = signal[s - half: s + half + 1]
        amps.append(window.max() - window.min())
    return trimmed_mean(amps)


def noise_rms(noise, fs: float) -> float:
    """N: trimmed mean RMS of the first 300 one-second windows (each window's mean removed)."""
    w = int(round(fs))
    n = min(N_MEASURE, noise.size // w)
    blocks = noise[: n * w].reshape(n, w)
    return trimmed_mean(np.sqrt(((blocks - blocks.mean(axis=1, keepdims=True)) ** 2).mean(axis=1)))


def noisy_stretches(n_samples: int, fs: float) -> list[tuple[int, int]]:
    """The protocol's noisy stretches as [start, stop) sample ranges: 5:00-7:00, 9:00-11:00, ..."""
    out, t = [], int(round(LEARNING_S * fs))
    step = int(round(STRETCH_S * fs))
    while t < n_samples:
        out.append((t, min(t + step, n_samples)))
        t += 2 * step
    return out


def add_noise(signal, noise, gain: float, fs: float) -> np.ndarray:
    """``signal`` plus ``gain * noise`` in the noisy stretches, with nst's continuity offsets."""
    signal = np.asarray(signal, dtype=np.float64)
    noise = np.resize(np.asarray(noise, dtype=np.float64), signal.size)  # nst rewinds a short noise record
    g = np.zeros(signal.size)
    for lo, hi in noisy_stretches(signal.size, fs):
        g[lo:hi] = gain
    # At each gain change at sample t the offset grows by (g_new - g_old) * noise[t - 1], so the output
    # sample before the change would have been the same under the new gain: no step.
    change = np.flatnonzero(np.diff(g)) + 1
    offset = np.zeros(signal.size)
    steps = (g[change] - g[change - 1]) * noise[change - 1]
    for t, step in zip(change, steps):
        offset[t:] += step
    return signal + g * noise - offset


def read_noise(name: str, data_dir) -> tuple[np.ndarray, float]:
    """Both signals of an nstdb noise record (``bw``, ``ma``), digital units, shape (n, 2)."""
    import wfdb

    rec = wfdb.rdrecord(str(Path(data_dir) / "nstdb-noise" / name), physical=False)
    return rec.d_signal.astype(np.float64), float(rec.fs)


def channel_index(path, channel_name: str) -> int:
    import wfdb

    return wfdb.rdheader(str(path)).sig_name.index(channel_name)


def nst_record(signal, ann_samples, ann_symbols, fs, noise2, channel: int, snr_db: float) -> np.ndarray:
    """A noisy copy of one lead at ``snr_db``, as ``nst -s snr_db`` would write it."""
    noise = noise2[:, channel % noise2.shape[1]]
    gain = 10.0 ** (-snr_db / 20.0) * np.sqrt(2.0) / 4.0 * qrs_amplitude(signal, ann_samples, ann_symbols, fs) \
        / noise_rms(noise, fs)
    return add_noise(signal, noise, gain, fs)
