"""A slope-based R-peak detector for raw records: Pan-Tompkins filtering with Hamilton's decision rules.

The signal is band-passed by cascaded moving averages, differentiated,
rectified and integrated over 80 ms (Pan & Tompkins 1985; Hamilton &
Tompkins 1986). Peaks of that feature are classified with the rules of
Hamilton's open-source OSEA detector (Hamilton 2002): an adaptive threshold
between the running means of QRS and noise peaks, pre-blanking (of peaks
closer than 250 ms the largest is kept), T-wave rejection by slope within
360 ms, baseline-shift rejection, and search-back after 1.5 mean R-R
intervals. Every constant is in seconds, so any rate works (tested from 100
to 1000 Hz). One constant differs from OSEA: pre-blanking is 250 ms, not
200 ms, because the large P waves of MIT-BIH record 108 (P to R just over
200 ms) were taken for beats; that choice was made on MIT-BIH itself, so its
scores there are not those of an unseen database.

What this module adds for real-world signals:

- NaN (or infinite) samples are gaps: the filters restart after each gap
  without a transient, no R-peak is ever placed inside one, and a beat
  whose search window a gap cuts is not reported (its R may lie in the
  gap). A gap ends the R-R interval and the search-back but keeps the
  amplitude estimates.
- Flat or saturated stretches give no peaks: an extremum that ends a flat
  run is no R-peak, and no threshold restart happens without peaks.
- Polarity: each QRS votes by its larger band-passed excursion; when most
  point down, the signal is taken as inverted and R-peaks are placed on
  minima. :class:`Detection` says which.
- R-peaks are refined to the highest (or, inverted, the lowest) raw sample
  within ``refine_s`` of the estimate, at the input rate.
- Streaming: all filter state is carried between chunks, so
  :func:`detect_chunks` gives exactly the peaks of :func:`detect` on the
  whole signal, without loading it at once and without overlap. Time is
  linear in the record length; memory holds the filter rings (under a
  second of signal) and 56 bytes per candidate peak (a few per second).

References
----------
J. Pan and W. J. Tompkins, "A real-time QRS detection algorithm", IEEE Trans.
Biomed. Eng. 32(3):230-236, 1985.
P. S. Hamilton and W. J. Tompkins, "Quantitative investigation of QRS
detection rules using the MIT/BIH arrhythmia database", IEEE Trans. Biomed.
Eng. 33(12):1157-1165, 1986.
P. S. Hamilton, "Open source ECG analysis", Computers in Cardiology
29:101-104, 2002.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from . import _detector_kernels

__all__ = ["Detection", "detect", "detect_chunks", "hamilton_detector", "MIN_FS"]

#: Below this rate the 10 ms derivative and 25 ms low-pass have no samples left.
MIN_FS = 50.0


@dataclass(frozen=True)
class Detection:
    """R-peaks found in one lead.

    Attributes
    ----------
    r_peaks : numpy.ndarray, shape (n_beats,) int64
        Sorted R-peak sample indices at ``fs``, on the local extremum of the
        signal in the detected polarity; never inside a NaN gap.
    inverted : bool
        Most QRS complexes point down; ``r_peaks`` are on minima.
    fs : float
        Sampling rate of the input.
    n_samples : int
        Samples scanned (NaN included).
    """

    r_peaks: np.ndarray
    inverted: bool
    fs: float
    n_samples: int

    def __len__(self) -> int:
        return self.r_peaks.shape[0]


def _as_chunk(chunk, name: str) -> np.ndarray:
    array = np.asarray(chunk)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one lead), got shape {array.shape}; pick one channel, e.g. signal[:, 0]")
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name} has dtype {array.dtype}, expected real numbers (mV or ADC units)")
    return np.ascontiguousarray(array, dtype=np.float64)


def _check_fs(fs) -> float:
    if not np.isscalar(fs) or not np.isfinite(fs) or fs < MIN_FS:
        raise ValueError(f"fs must be a sampling rate of at least {MIN_FS:g} Hz for QRS slopes, got {fs!r}")
    return float(fs)


def _samples(seconds: float, fs: float) -> int:
    return max(int(round(seconds * fs)), 1)


class _Scanner:
    """The per-sample pass with its state; feed chunks in order, then :meth:`flush`."""

    def __init__(self, fs, lowpass_s, highpass_s, derivative_s, integration_s, preblank_s, peak_timeout_s,
                 refine_s, baseline_shift_s, baseline_pair_s):
        lp, hp, der, mwi = (_samples(s, fs) for s in (lowpass_s, highpass_s, derivative_s, integration_s))
        hp_c = (hp - 1) // 2
        bandpass_delay = lp - 1 + hp_c  # two boxes of (lp - 1) / 2 each, then the high-pass centre
        slope_delay = bandpass_delay + der / 2
        feature_delay = slope_delay + (mwi - 1) / 2
        refine = _samples(refine_s, fs)
        bls = _samples(baseline_shift_s / 2, fs)
        # The ring must reach back from a confirmed peak (up to pre-blank + timeout later) past its refine
        # window and the flat-stretch check before it; the rest is margin.
        reach = feature_delay + 2 * refine + _samples(preblank_s + peak_timeout_s, fs) + hp + bls + 2
        ring = 1 << int(np.ceil(np.log2(reach)))
        self.params = np.array(
            [lp, hp, der, mwi, _samples(preblank_s, fs), _samples(peak_timeout_s, fs), ring - 1, hp_c,
             int(round(feature_delay)), int(round(slope_delay)), bandpass_delay, refine, bls,
             _samples(baseline_pair_s, fs)],
            dtype=np.int64,
        )
        self.rings = np.zeros((5, ring))
        self.fstate = np.zeros(7)
        self.istate = np.array([0, 1, 0, 0, 0, 0, 0, 0], dtype=np.int64)  # starts "in a gap": filters prime on sample 0
        self.events_i: list[np.ndarray] = []
        self.events_f: list[np.ndarray] = []

    @property
    def n_samples(self) -> int:
        return int(self.istate[0])

    def feed(self, x: np.ndarray) -> None:
        ev_i, ev_f = _detector_kernels.scan(x, self.params, self.rings, self.fstate, self.istate)
        if ev_i.shape[0]:
            self.events_i.append(ev_i)
            self.events_f.append(ev_f)

    def flush(self) -> None:
        """Confirm the peak still held at the end: the end is a gap's start, one NaN sample that is not counted."""
        n_samples = self.n_samples
        self.feed(np.full(1, np.nan))
        self.istate[0] = n_samples

    def events(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.events_i:
            return np.empty((0, 5), dtype=np.int64), np.empty((0, 2))
        return np.concatenate(self.events_i), np.concatenate(self.events_f)


def _detect_stream(chunks: Iterable, fs: float, *, lowpass_s, highpass_s, derivative_s, integration_s, preblank_s,
                   peak_timeout_s, refine_s, baseline_shift_s, baseline_pair_s, threshold, twave_s, searchback,
                   init_s, reset_s, n_average) -> Detection:
    fs = _check_fs(fs)
    if not 0.0 < threshold < 1.0:
        raise ValueError(
            f"threshold must lie between 0 and 1 (a fraction of the way from noise to QRS), got {threshold!r}"
        )
    scanner = _Scanner(fs, lowpass_s, highpass_s, derivative_s, integration_s, preblank_s, peak_timeout_s,
                       refine_s, baseline_shift_s, baseline_pair_s)
    for number, chunk in enumerate(chunks):
        scanner.feed(_as_chunk(chunk, f"chunk {number}"))
    scanner.flush()
    ev_i, ev_f = scanner.events()
    qrs = _detector_kernels.decide(
        ev_i, ev_f, scanner.n_samples, fs, float(threshold), _samples(twave_s, fs), float(searchback),
        _samples(init_s, fs), _samples(reset_s, fs), int(n_average),
    )
    votes = ev_i[qrs, 3]
    inverted = bool(np.count_nonzero(votes < 0) > np.count_nonzero(votes > 0))
    no_peak = (ev_i[qrs, 4] & (8 if inverted else 4)) != 0
    r_peaks = np.unique(ev_i[qrs, 2 if inverted else 1][~no_peak])
    return Detection(r_peaks=r_peaks, inverted=inverted, fs=fs, n_samples=scanner.n_samples)


_DEFAULTS = dict(
    lowpass_s=0.025,
    highpass_s=0.125,
    derivative_s=0.010,
    integration_s=0.080,
    preblank_s=0.250,
    peak_timeout_s=0.095,
    refine_s=0.080,
    baseline_shift_s=0.220,
    baseline_pair_s=0.150,
    threshold=0.3125,
    twave_s=0.360,
    searchback=1.5,
    init_s=8.0,
    reset_s=8.0,
    n_average=8,
)


def _with_defaults(params: dict) -> dict:
    unknown = set(params) - set(_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown detector parameters {sorted(unknown)}; choose from {sorted(_DEFAULTS)}")
    return {**_DEFAULTS, **params}


def detect(signal, fs: float, **params) -> Detection:
    """Detect R-peaks in one lead that may hold NaN gaps, flat stretches or inverted beats.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) real
        One lead; NaN or infinite samples mark gaps.
    fs : float
        Sampling rate in Hz, at least :data:`MIN_FS`.
    **params
        The method's constants, in seconds unless said otherwise (defaults
        from Hamilton 2002 but ``preblank_s``): ``lowpass_s`` (0.025, two
        moving averages), ``highpass_s`` (0.125), ``derivative_s`` (0.010),
        ``integration_s`` (0.080), ``preblank_s`` (0.25), ``peak_timeout_s`` (0.095),
        ``refine_s`` (0.08, half-window for the extremum), ``baseline_shift_s``
        (0.22) and ``baseline_pair_s`` (0.15), ``threshold`` (0.3125 of the way
        from noise to QRS), ``twave_s`` (0.36), ``searchback`` (1.5 mean R-R),
        ``init_s`` and ``reset_s`` (8.0), ``n_average`` (8 peaks).

    Returns
    -------
    Detection

    Raises
    ------
    ValueError
        Not 1-D, not real, empty, or ``fs`` too low.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 360; t = np.arange(20 * fs) / fs
    >>> ecg = -np.exp(-((t % 0.8) - 0.4) ** 2 / 2e-4)  # inverted narrow beats, R at 0.4 s + k * 0.8 s
    >>> ecg[3000:3400] = np.nan
    >>> found = detect(ecg, fs)
    >>> found.inverted, found.r_peaks[:3].tolist(), bool(np.isnan(ecg[found.r_peaks]).any())
    (True, [144, 432, 720], False)
    """
    x = _as_chunk(signal, "signal")
    if x.size == 0:
        raise ValueError("signal is empty")
    return _detect_stream([x], fs, **_with_defaults(params))


def detect_chunks(chunks: Iterable, fs: float, **params) -> Detection:
    """:func:`detect` over consecutive chunks of one record: the same R-peaks, without holding the signal.

    The filter and peak state is carried from one chunk to the next, so no
    overlap is needed and the result equals :func:`detect` on the
    concatenation, sample for sample. Chunks may have any lengths.

    Parameters
    ----------
    chunks : iterable of array_like, each shape (n_i,) real
        Consecutive pieces of one lead, e.g. read block by block from disk.
    fs : float
        Sampling rate in Hz.
    **params
        As for :func:`detect`.

    Returns
    -------
    Detection
        ``r_peaks`` index the concatenated record.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 250; t = np.arange(60 * fs) / fs
    >>> ecg = np.exp(-((t % 0.9) - 0.3) ** 2 / 2e-4)
    >>> whole = detect(ecg, fs).r_peaks
    >>> pieces = detect_chunks(np.array_split(ecg, 7), fs).r_peaks
    >>> np.array_equal(whole, pieces), len(whole)
    (True, 67)
    """
    return _detect_stream(chunks, fs, **_with_defaults(params))


def hamilton_detector(signal, fs: float, **params) -> np.ndarray:
    """:func:`detect` as a registered detector: R-peak sample indices only.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 500; t = np.arange(10 * fs) / fs
    >>> hamilton_detector(np.exp(-((t % 1.0) - 0.5) ** 2 / 2e-4), fs).tolist()
    [250, 750, 1250, 1750, 2250, 2750, 3250, 3750, 4250, 4750]
    """
    return detect(signal, fs, **params).r_peaks
