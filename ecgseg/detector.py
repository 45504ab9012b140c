"""An R-peak detector for raw records: Hamilton's OSEA decision rules on a noise-robust QRS feature.

The signal is band-passed by cascaded moving averages (Pan & Tompkins
1985; Hamilton & Tompkins 1986). The QRS feature is the geometric mean of
the band-passed signal's absolute amplitude and absolute slope, each summed
over 80 ms: OSEA uses the slope alone, which muscle noise (20-40 Hz)
inflates; the amplitude alone takes large T and atrial flutter waves for
beats. Peaks of the feature are classified with the rules of Hamilton's
open-source OSEA detector (Hamilton 2002): an adaptive threshold between
the running means of QRS and noise peaks, pre-blanking (of peaks closer
than 250 ms the largest is kept), T-wave rejection by slope within 360 ms,
baseline-shift rejection, and search-back after 1.5 mean R-R intervals.
Every constant is in seconds, so any rate works (tested from 100 to
1000 Hz). Changes to OSEA (module ``_decide_kernels`` has the rules):

- Pre-blank (0.45 mean R-R, at most 250 ms) and T-wave window (0.9 mean
  R-R, at most 360 ms) follow the rhythm, never below the 150 ms refractory
  period: rhythms up to 300 bpm keep every beat. OSEA's values hold at
  normal rates (pre-blank from R-R 0.56 s, T-wave window from 0.4 s). After a
  sudden jump to 300 bpm the mean of 8 R-R intervals takes about 2 s to follow.
- The threshold fraction (0.3125, OSEA) rises by 1.5 per unit of the ratio
  of the mean steepest slopes of the last noise peaks and QRS complexes
  above 0.15, and by 4 more for a candidate sooner than 0.7 mean R-R after
  the last QRS, to at most 0.7. Clean signals keep OSEA's threshold; in
  muscle noise the threshold moves towards the QRS.
- Pre-blank is 250 ms, not OSEA's 200 ms, because the large P waves of
  MIT-BIH record 108 (P to R just over 200 ms) were taken for beats.
- Stretches of ventricular flutter or fibrillation
  (:mod:`ecgseg.fibrillation`) hold no R-peaks: their waves are not beats.

What was chosen on which data: the feature, the noise constants (0.15, 1.5,
0.7, 4, 0.7) and the rhythm fractions on the DS1 records of MIT-BIH (de Chazal
2004), clean and with the Noise Stress Test Database's ``bw`` and ``ma``
noise (its second signal, so the benchmark's first signal is not the one
tuned on), and on synthetic rhythms of 60-300 bpm; the 250 ms pre-blank on
record 108 (DS1). DS2 and the benchmark (``benchmarks/bench_noise.py``) are
the check.

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
from dataclasses import dataclass, field

import numpy as np

from . import _decide_kernels, _detector_kernels, fibrillation
from ._leads import MIN_FS, as_chunk, check_fs

__all__ = ["Detection", "detect", "detect_chunks", "hamilton_detector", "looks_inverted", "MIN_FS"]



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
    vf_stretches : numpy.ndarray, shape (n_stretches, 2) int64
        ``[start, stop)`` sample ranges of ventricular flutter or
        fibrillation (:func:`ecgseg.fibrillation.vf_stretches`): no
        organised QRS, so no R-peaks are reported inside them unless
        ``keep_vf=True``.
    """

    r_peaks: np.ndarray
    inverted: bool
    fs: float
    n_samples: int
    vf_stretches: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))

    def __len__(self) -> int:
        return self.r_peaks.shape[0]


def _samples(seconds: float, fs: float) -> int:
    return max(int(round(seconds * fs)), 1)


class _Scanner:
    """The per-sample pass with its state; feed chunks in order, then :meth:`flush`."""

    def __init__(self, fs, lowpass_s, highpass_s, derivative_s, integration_s, refractory_s, peak_timeout_s,
                 refine_s, baseline_shift_s, baseline_pair_s):
        lp, hp, der, mwi = (_samples(s, fs) for s in (lowpass_s, highpass_s, derivative_s, integration_s))
        hp_c = (hp - 1) // 2
        bandpass_delay = lp - 1 + hp_c  # two boxes of (lp - 1) / 2 each, then the high-pass centre
        slope_delay = bandpass_delay + der / 2
        # The feature averages amplitude (band-pass delay) and slope (half a derivative later) over the window.
        feature_delay = bandpass_delay + der / 4 + (mwi - 1) / 2
        refine = _samples(refine_s, fs)
        bls = _samples(baseline_shift_s / 2, fs)
        # The ring must reach back from a confirmed peak (up to refractory + timeout later) past its refine
        # window and the flat-stretch check before it; the rest is margin.
        reach = feature_delay + 2 * refine + _samples(refractory_s + peak_timeout_s, fs) + hp + bls + 2
        ring = 1 << int(np.ceil(np.log2(reach)))
        self.params = np.array(
            [lp, hp, der, mwi, _samples(refractory_s, fs), _samples(peak_timeout_s, fs), ring - 1, hp_c,
             int(round(feature_delay)), int(round(slope_delay)), bandpass_delay, refine, bls,
             _samples(baseline_pair_s, fs)],
            dtype=np.int64,
        )
        self.rings = np.zeros((5, ring))
        self.fstate = np.zeros(8)
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


def _detect_stream(chunks: Iterable, fs: float, *, lowpass_s, highpass_s, derivative_s, integration_s,
                   refractory_s, peak_timeout_s, refine_s, baseline_shift_s, baseline_pair_s, threshold, preblank_s,
                   preblank_rr, twave_s, twave_rr, searchback, init_s, reset_s, n_average, noise_ratio, noise_slope,
                   early_rr, early_slope, threshold_cap, keep_vf=False) -> Detection:
    fs = check_fs(fs)
    if not 0.0 < threshold < 1.0:
        raise ValueError(
            f"threshold must lie between 0 and 1 (a fraction of the way from noise to QRS), got {threshold!r}"
        )
    for name, value in (("preblank_rr", preblank_rr), ("twave_rr", twave_rr), ("early_rr", early_rr)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be a fraction of the mean R-R interval in [0, 1), got {value!r}")
    scanner = _Scanner(fs, lowpass_s, highpass_s, derivative_s, integration_s, refractory_s, peak_timeout_s,
                       refine_s, baseline_shift_s, baseline_pair_s)
    vf_scanner = fibrillation.VFScanner(fs, **fibrillation._DEFAULTS)
    for number, chunk in enumerate(chunks):
        x = as_chunk(chunk, f"chunk {number}")
        scanner.feed(x)
        vf_scanner.feed(x)
    scanner.flush()
    ev_i, ev_f = scanner.events()
    refractory = _samples(refractory_s, fs)
    ipar = np.array([max(int(fs), 1), _samples(init_s, fs), _samples(reset_s, fs), refractory,
                     max(_samples(preblank_s, fs), refractory), max(_samples(twave_s, fs), refractory), int(n_average)],
                    dtype=np.int64)
    fpar = np.array([threshold, searchback, preblank_rr, twave_rr, noise_ratio, noise_slope, early_rr, early_slope, threshold_cap],
                    dtype=np.float64)
    qrs = _decide_kernels.decide(ev_i, ev_f, scanner.n_samples, ipar, fpar)
    votes = ev_i[qrs, 3]
    inverted = bool(np.count_nonzero(votes < 0) > np.count_nonzero(votes > 0))
    no_peak = (ev_i[qrs, 4] & (8 if inverted else 4)) != 0
    r_peaks = np.unique(ev_i[qrs, 2 if inverted else 1][~no_peak])
    vf = vf_scanner.stretches()
    if not keep_vf:
        r_peaks = r_peaks[~fibrillation.inside(r_peaks, vf)]
    return Detection(r_peaks=r_peaks, inverted=inverted, fs=fs, n_samples=scanner.n_samples, vf_stretches=vf)


_DEFAULTS = dict(
    lowpass_s=0.033,
    highpass_s=0.125,
    derivative_s=0.010,
    integration_s=0.080,
    refractory_s=0.150,
    peak_timeout_s=0.095,
    refine_s=0.080,
    baseline_shift_s=0.220,
    baseline_pair_s=0.150,
    threshold=0.3125,
    preblank_s=0.250,
    preblank_rr=0.45,
    twave_s=0.360,
    twave_rr=0.9,
    searchback=1.5,
    init_s=8.0,
    reset_s=8.0,
    n_average=8,
    noise_ratio=0.15,
    noise_slope=1.5,
    early_rr=0.7,
    early_slope=4.0,
    threshold_cap=0.7,
)


def _with_defaults(params: dict) -> dict:
    unknown = set(params) - set(_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown detector parameters {sorted(unknown)}; choose from {sorted(_DEFAULTS)}")
    return {**_DEFAULTS, **params}


def detect(signal, fs: float, *, keep_vf: bool = False, **params) -> Detection:
    """Detect R-peaks in one lead that may hold NaN gaps, flat stretches or inverted beats.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) real
        One lead; NaN or infinite samples mark gaps.
    fs : float
        Sampling rate in Hz, at least :data:`MIN_FS`.
    keep_vf : bool
        Keep the R-peaks found inside ventricular flutter/fibrillation
        stretches (default: drop them; the stretches are in the result).
    **params
        The method's constants, in seconds unless said otherwise (see the
        module docstring for what differs from Hamilton 2002):
        ``lowpass_s`` (0.033, two moving averages), ``highpass_s`` (0.125),
        ``derivative_s`` (0.010), ``integration_s`` (0.080),
        ``refractory_s`` (0.15, the shortest R-R), ``peak_timeout_s``
        (0.095), ``refine_s`` (0.08, half-window for the extremum),
        ``baseline_shift_s`` (0.22) and ``baseline_pair_s`` (0.15),
        ``threshold`` (0.3125 of the way from noise to QRS), ``preblank_s``
        (0.25) and ``preblank_rr`` (0.45 mean R-R), ``twave_s`` (0.36) and
        ``twave_rr`` (0.9 mean R-R), ``searchback`` (1.5 mean R-R),
        ``init_s`` and ``reset_s`` (8.0), ``n_average`` (8 peaks),
        ``noise_ratio`` (0.15) and ``noise_slope`` (1.5), ``early_rr`` (0.7)
        and ``early_slope`` (4.0), ``threshold_cap`` (0.7).

    Returns
    -------
    Detection

    Raises
    ------
    ValueError
        Not 1-D, not real, empty, ``fs`` too low, or a parameter out of range.

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
    x = as_chunk(signal, "signal")
    if x.size == 0:
        raise ValueError("signal is empty")
    return _detect_stream([x], fs, keep_vf=keep_vf, **_with_defaults(params))


def detect_chunks(chunks: Iterable, fs: float, *, keep_vf: bool = False, **params) -> Detection:
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
    return _detect_stream(chunks, fs, keep_vf=keep_vf, **_with_defaults(params))


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


#: :func:`looks_inverted` reads this share of a lead (at least ``POLARITY_MIN_S`` seconds), in pieces of
#: ``POLARITY_PIECE_S`` spread evenly over it: about 6% of the detector's time over the whole lead. Chosen on the
#: DS1 records of MIT-BIH, upright and negated (with 20 s pieces the sampled vote of record 108 differed from the
#: whole lead's; with 10 s pieces none did); DS2 is the check (``benchmarks/bench_polarity.py``).
POLARITY_SHARE = 0.05
POLARITY_MIN_S = 40.0
POLARITY_PIECE_S = 10.0


def looks_inverted(read, n_samples: int, fs: float, **params) -> bool:
    """Whether most QRS complexes of a lead point down, from pieces of it: the polarity vote of :func:`detect`,
    at a few percent of its cost, for cuts that do not run the detector over the whole lead (the paper's rule).

    The detector runs over ``POLARITY_PIECE_S`` pieces spread evenly over the lead, ``POLARITY_SHARE`` of it and
    at least ``POLARITY_MIN_S`` seconds (a lead no longer than that is read whole), joined by one NaN sample each:
    the detector restarts its filters after a gap and keeps its amplitude estimates, so each piece is read as
    a stretch of the same lead.

    Parameters
    ----------
    read : callable
        ``read(a, b)`` gives samples ``[a, b)`` of the lead (float, NaN for gaps): an array slice, or a record
        read from disk a piece at a time.
    n_samples : int
        The lead's length.
    fs : float
        Its sampling rate in Hz, at least :data:`MIN_FS`.
    **params
        As for :func:`detect`.

    Returns
    -------
    bool
        True when most QRS complexes the detector found in the pieces point down; False when most point up or it
        found none.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 360; t = np.arange(600 * fs) / fs
    >>> ecg = np.exp(-((t % 0.8) - 0.4) ** 2 / 2e-4)
    >>> looks_inverted(lambda a, b: -ecg[a:b], ecg.size, fs), looks_inverted(lambda a, b: ecg[a:b], ecg.size, fs)
    (True, False)
    """
    fs = check_fs(fs)
    piece = max(int(POLARITY_PIECE_S * fs), 1)
    wanted = max(POLARITY_MIN_S * fs, POLARITY_SHARE * n_samples)
    if wanted >= n_samples:
        starts = range(0, n_samples, piece)  # the whole lead, a piece at a time
        return detect_chunks((read(a, min(a + piece, n_samples)) for a in starts), fs, **params).inverted
    n_pieces = int(np.ceil(wanted / piece))
    starts = np.linspace(0, n_samples - piece, n_pieces).astype(np.int64)
    gap = np.full(1, np.nan)

    def pieces():
        for a in starts:
            yield read(int(a), int(a) + piece)
            yield gap

    return detect_chunks(pieces(), fs, **params).inverted
