"""Ventricular flutter and fibrillation: stretches of a lead without organised QRS complexes.

The VF filter of Kuo & Dillman (1978), as specified and evaluated by Amann,
Tratnig & Unterkofler (2005): after removing drift (1 Hz high-pass) and
high-frequency noise (30 Hz low-pass), a window of the signal is compared
with itself shifted by half the period of its mean frequency. A sinusoid
(flutter, coarse fibrillation) nearly cancels, so the *leakage*
``sum |v_i + v_(i-N)| / sum (|v_i| + |v_(i-N)|)`` is small; narrow QRS
complexes with flat stretches between them do not cancel, and neither does
broadband noise (leakage about 0.7). A window is in VF when its leakage is
below 0.406 (the published threshold); while the previous window was in
VF, a window stays in VF below 0.55. That second value was chosen on MIT-BIH
record 207 (DS1, the only MIT-BIH record with ventricular flutter): it
takes the flutter episodes' windows whose leakage lies between 0.406 and
0.55, while no window outside them in the DS1 records (clean, or with
nstdb ``bw``/``ma`` noise down to -6 dB) goes below 0.55.

Windows are ``window_s`` long and end every ``hop_s`` on the record's own
sample grid, so :func:`vf_stretches_chunks` gives the stretches of
:func:`vf_stretches` on the whole record. A window that holds a NaN sample
is not measured (never VF). Of a VF window the middle ``window_s - 2 *
margin_s`` seconds are marked: a window straddling the start or end of an
episode can be in VF while its outer second is not.

References
----------
S. Kuo and R. Dillman, "Computer detection of ventricular fibrillation",
Computers in Cardiology 1978:347-349.
A. Amann, R. Tratnig and K. Unterkofler, "Reliability of old and new
ventricular fibrillation detection algorithms for automated external
defibrillators", BioMedical Engineering OnLine 4:60, 2005.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from . import _fibrillation_kernels
from ._leads import as_chunk, check_fs

__all__ = ["VFScanner", "vf_leakage", "vf_stretches", "vf_stretches_chunks", "inside"]

_DEFAULTS = dict(window_s=4.0, hop_s=1.0, enter=0.406, stay=0.55, margin_s=1.0, highpass_hz=1.0, lowpass_hz=30.0)


def _coefficients(fs: float, highpass_hz: float, lowpass_hz: float) -> np.ndarray:
    """Bilinear-transform Butterworth filters: first-order high-pass, second-order low-pass."""
    k = np.tan(np.pi * highpass_hz / fs)
    hb0 = 1.0 / (1.0 + k)
    ha1 = (k - 1.0) / (k + 1.0)
    # The low-pass edge must stay below Nyquist: at low rates it moves down to 0.45 fs.
    k = np.tan(np.pi * min(lowpass_hz, 0.45 * fs) / fs)
    norm = 1.0 / (1.0 + np.sqrt(2.0) * k + k * k)
    lb0 = k * k * norm
    return np.array([hb0, -hb0, ha1, lb0, 2.0 * lb0, lb0, 2.0 * (k * k - 1.0) * norm,
                     (1.0 - np.sqrt(2.0) * k + k * k) * norm])


class VFScanner:
    """The VF filter over a record fed in consecutive chunks (:meth:`feed`), then :meth:`stretches`.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (validated by the caller).
    window_s, hop_s, enter, stay, margin_s, highpass_hz, lowpass_hz : float
        See :func:`vf_stretches`.
    """

    def __init__(self, fs: float, *, window_s, hop_s, enter, stay, margin_s, highpass_hz, lowpass_hz):
        # The leakage is computed on every ``step``-th sample of the 30 Hz low-passed signal (about 100 a second
        # or more); window and hop are whole numbers of steps so the windows sit on that grid.
        step = max(int(fs // 100), 1)
        window = max(int(round(window_s * fs / step)), 4) * step
        hop = max(int(round(hop_s * fs / step)), 1) * step
        margin = int(round(margin_s * fs))
        if not 0 <= 2 * margin < window:
            raise ValueError(f"margin_s must lie in [0, window_s / 2), got {margin_s!r} with window_s={window_s!r}")
        ring = 1 << int(np.ceil(np.log2(window // step + 1)))
        self.params = np.array([window, hop, ring - 1, step], dtype=np.int64)
        self.coef = _coefficients(fs, highpass_hz, lowpass_hz)
        self.ring = np.zeros(ring)
        self.fstate = np.zeros(4)
        self.istate = np.zeros(2, dtype=np.int64)
        self.enter, self.stay, self.margin = float(enter), float(stay), margin
        self._ends: list[np.ndarray] = []
        self._values: list[np.ndarray] = []

    def feed(self, x: np.ndarray) -> None:
        """Scan the next samples (1-D float64, contiguous)."""
        ends, values = _fibrillation_kernels.leakage_scan(x, self.params, self.coef, self.ring, self.fstate,
                                                          self.istate)
        if ends.size:
            self._ends.append(ends)
            self._values.append(values)

    def leakage(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ends, leakage)``: each measured window's end (exclusive sample index) and its VF filter leakage."""
        if not self._ends:
            return np.empty(0, dtype=np.int64), np.empty(0)
        return np.concatenate(self._ends), np.concatenate(self._values)

    def stretches(self) -> np.ndarray:
        """Marked VF stretches as sorted, disjoint ``[start, stop)`` sample ranges, shape (n, 2) int64."""
        ends, values = self.leakage()
        window = int(self.params[0])
        vf = _fibrillation_kernels.hysteresis(ends, values, int(self.params[1]), self.enter, self.stay)
        starts = ends[vf] - window + self.margin
        stops = ends[vf] - self.margin
        return _merge(starts, stops)


def _merge(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    out: list[list[int]] = []
    for lo, hi in zip(starts.tolist(), stops.tolist()):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def _with_defaults(params: dict) -> dict:
    unknown = set(params) - set(_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown VF detector parameters {sorted(unknown)}; choose from {sorted(_DEFAULTS)}")
    return {**_DEFAULTS, **params}


def _scanner(chunks: Iterable, fs: float, params: dict) -> VFScanner:
    scanner = VFScanner(check_fs(fs), **_with_defaults(params))
    for number, chunk in enumerate(chunks):
        scanner.feed(as_chunk(chunk, f"chunk {number}"))
    return scanner


def vf_leakage(signal, fs: float, **params) -> tuple[np.ndarray, np.ndarray]:
    """VF filter leakage of consecutive windows of one lead.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) real
        One lead in any unit; NaN samples are gaps.
    fs : float
        Sampling rate in Hz (at least 50).
    **params
        ``window_s`` (4.0) and ``hop_s`` (1.0) in seconds, ``highpass_hz``
        (1.0), ``lowpass_hz`` (30.0); the others of :func:`vf_stretches` are
        accepted and unused.

    Returns
    -------
    ends : numpy.ndarray, shape (n_windows,) int64
        End (exclusive sample index) of each measured window.
    leakage : numpy.ndarray, shape (n_windows,) float64
        In [0, 1]: near 0 for a sinusoid, about 0.7 for noise; NaN for a flat window.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 250; t = np.arange(20 * fs) / fs
    >>> ends, leak = vf_leakage(np.sin(2 * np.pi * 4.5 * t), fs)
    >>> ends[:2].tolist(), bool(leak.max() < 0.1)
    ([1000, 1250], True)
    """
    return _scanner([as_chunk(signal, "signal")], fs, params).leakage()


def vf_stretches(signal, fs: float, **params) -> np.ndarray:
    """Stretches of ventricular flutter or fibrillation (no organised QRS) in one lead.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) real
        One lead in any unit; NaN samples are gaps.
    fs : float
        Sampling rate in Hz (at least 50).
    **params
        ``window_s`` (4.0 s) and ``hop_s`` (1.0 s): window length and step;
        ``enter`` (0.406) and ``stay`` (0.55): leakage thresholds;
        ``margin_s`` (1.0 s): the unmarked edge of a VF window;
        ``highpass_hz`` (1.0) and ``lowpass_hz`` (30.0): the pre-filters.

    Returns
    -------
    numpy.ndarray, shape (n_stretches, 2) int64
        Sorted, disjoint ``[start, stop)`` sample ranges.

    Raises
    ------
    ValueError
        Not 1-D or not real, ``fs`` below 50 Hz, unknown parameters.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 250; t = np.arange(60 * fs) / fs
    >>> ecg = np.exp(-((t % 0.8) - 0.4) ** 2 / 2e-4)        # narrow beats, 75 bpm
    >>> ecg[20 * fs:40 * fs] = np.sin(2 * np.pi * 4.5 * t[20 * fs:40 * fs])  # 20 s of flutter waves
    >>> (vf_stretches(ecg, fs) / fs).tolist()  # windows with one second of flutter are VF: 2 s either side
    [[18.0, 42.0]]
    """
    return _scanner([as_chunk(signal, "signal")], fs, params).stretches()


def vf_stretches_chunks(chunks: Iterable, fs: float, **params) -> np.ndarray:
    """:func:`vf_stretches` over consecutive chunks of one lead: the same stretches, without holding the signal."""
    return _scanner(chunks, fs, params).stretches()


def inside(samples, stretches) -> np.ndarray:
    """Which of ``samples`` (sorted or not) lie in any ``[start, stop)`` of ``stretches`` (n, 2); bool array.

    Examples
    --------
    >>> inside([5, 15, 25], np.array([[10, 20]])).tolist()
    [False, True, False]
    """
    samples = np.asarray(samples, dtype=np.int64)
    stretches = np.asarray(stretches, dtype=np.int64).reshape(-1, 2)
    k = np.searchsorted(stretches[:, 0], samples, side="right") - 1
    return (k >= 0) & (samples < stretches[np.maximum(k, 0), 1]) if stretches.size else np.zeros(samples.shape, bool)
