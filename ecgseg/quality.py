"""A quality value for every beat: agreement of two independent QRS detectors (bSQI).

Li, Clark & Clifford (2008) measure the quality of an ECG stretch by how
well two QRS detectors built on different principles agree: in clean ECG
both find the same beats; noise and artefact make them disagree. Their
bSQI is ``matched / (n_1 + n_2 - matched)`` over a 10 s window, beats
matched within 150 ms; they paired Hamilton's OSEA (``eplimited``) with the
length-transform detector ``wqrs`` (Zong, Moody & Jiang 2003). Here the
first detector is :func:`ecgseg.detector.detect` (OSEA's rules) and the
second :func:`length_transform_peaks`, a port of ``wqrs``; each beat gets the
bSQI of the 10 s window centred on it, a value in [0, 1].

What the port changes, and why: the signal is first scaled so that the QRS
size of its first 8 s (median peak-to-peak of its one-second blocks) is 1,
standing in for wqrs's ADC gain, so any unit works; the eye-closing period
(250 ms in wqrs) follows the rhythm like :mod:`ecgseg.detector`'s pre-blank
(0.45 of the mean R-R, at least 150 ms), or a 300 bpm rhythm would score 0.5
everywhere; without a QRS for 2.5 s the threshold decays e-fold per second
to a floor instead of by one ADC unit per sample; the reported time is the
threshold crossing less the filter delay (wqrs searches back for the onset).

:data:`POOR` (0.7) separates poor beats, chosen on the DS1 records of MIT-BIH
(``benchmarks/bench_noise.py``'s protocol, noise signal 2): clean, 0.9% of
the detector's beats score below it and 71% of its false detections; with
nstdb muscle noise, 64% of the beats in the noisy stretches at 12 dB SNR
and 86% at 6 dB (at 0.8: 1.4%, 76%, 82%, 92%).

References
----------
Q. Li, R. G. Mark and G. D. Clifford, "Robust heart rate estimation from
multiple asynchronous noisy sources using signal quality indices and a
Kalman filter", Physiological Measurement 29(1):15-32, 2008.
W. Zong, G. B. Moody and D. Jiang, "A robust open-source algorithm to
detect onset and duration of QRS complexes", Computers in Cardiology
30:737-740, 2003.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from . import _quality_kernels
from ._leads import as_chunk, check_fs

__all__ = ["POOR", "LengthTransformScanner", "length_transform_peaks", "bsqi", "beat_quality", "quality_chunks",
           "SignalQuality", "scan_quality", "poor_stretches"]

#: Beats whose quality is below this are poor.
POOR = 0.7

_LT = dict(init_s=8.0, window_s=0.13, mains_hz=60.0, eye_closing_s=0.25, shortest_s=0.15, eye_closing_rr=0.45,
           expect_s=2.5, rise=0.05)


class LengthTransformScanner:
    """The length-transform detector over a record fed in consecutive chunks (:meth:`feed`), then :meth:`finish`.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (validated by the caller).
    **params
        ``init_s`` (8.0, learning span), ``window_s`` (0.13, length window),
        ``mains_hz`` (60, the low-pass notch), ``eye_closing_s`` (0.25, longest
        lockout) and ``shortest_s`` (0.15), ``eye_closing_rr`` (0.45 mean R-R),
        ``expect_s`` (2.5, no QRS before the threshold decays), ``rise``
        (0.05 QRS sizes: the least rise over half an eye-closing).
    """

    def __init__(self, fs: float, **params):
        unknown = set(params) - set(_LT)
        if unknown:
            raise ValueError(f"unknown length-transform parameters {sorted(unknown)}; choose from {sorted(_LT)}")
        p = {**_LT, **params}
        self.fs = fs
        self.init = max(int(round(p["init_s"] * fs)), 1)
        lpn = int(min(max(round(fs / p["mains_hz"]), 1), 8))  # as wqrs: at most 8, not to filter too hard
        window = max(int(round(p["window_s"] * fs)), 1)
        ring = 1 << int(np.ceil(np.log2(2 * lpn + window + 2)))
        self.iparams = np.array([lpn, window, ring - 1], dtype=np.int64)
        self.fparams = np.array([1.0, 1.25 / fs])
        self.rings = np.zeros((2, ring))
        self.fstate = np.zeros(4)
        self.istate = np.zeros(2, dtype=np.int64)
        ec_max = max(int(round(p["eye_closing_s"] * fs)), 2)
        ec_min = min(max(int(round(p["shortest_s"] * fs)), 2), ec_max)
        dring = 1 << int(np.ceil(np.log2(4 * ec_max + 4)))
        # Reported at the threshold crossing less the low-pass delay: near the QRS onset.
        offset = lpn
        self.dparams = np.array([ec_max, ec_min, max(int(round(p["expect_s"] * fs)), 1), dring - 1, ec_max // 2,
                                 offset], dtype=np.int64)
        self.rise = float(p["rise"])
        self.ec_rr = float(p["eye_closing_rr"])
        self.dring = np.zeros(dring)
        self._raw: list[np.ndarray] | None = []  # the learning span, until it is complete
        self._n_raw = 0
        self._lt_done = 0
        self._peaks: list[np.ndarray] = []

    def _start(self) -> None:
        """Scale from the learning span, learn the thresholds on it (wqrs's learning pass), then decide from 0."""
        raw = np.concatenate(self._raw) if self._raw else np.empty(0)
        self._raw = None
        blocks = [b for b in np.array_split(raw[: self.init], max(int(self.init // self.fs), 1)) if np.isfinite(b).any()]
        sizes = [np.nanmax(b) - np.nanmin(b) for b in blocks]
        scale = float(np.median(sizes)) if sizes else 1.0
        self.fparams[0] = scale if scale > 0 else 1.0
        lt = _quality_kernels.length_transform(raw, self.fparams, self.iparams, self.rings, self.fstate, self.istate)
        learning = lt[: self.init]
        t0 = float(np.nanmean(learning)) if np.isfinite(learning).any() else 1.0
        rr = 0.8 * self.fs
        self.dfparams = np.array([self.rise, self.ec_rr, t0])
        self.dstate = np.array([3.0 * t0, 2.0 * t0, rr])
        self.distate = np.array([0, 0, 0, -1], dtype=np.int64)
        _quality_kernels.lt_decide(learning, 0, self.dring, self.dparams, self.dfparams, self.dstate, self.distate,
                                   True)
        # Start over (wqrs): the adapted Ta is kept, T1 restarts at T0, the learning span is decided again.
        self.dstate[1] = t0
        self.dstate[2] = rr
        self.distate[:] = [0, 0, 0, -1]
        self._decide(lt, 0)

    def _decide(self, lt: np.ndarray, t_first: int, flush: bool = False) -> None:
        found = _quality_kernels.lt_decide(lt, t_first, self.dring, self.dparams, self.dfparams, self.dstate,
                                           self.distate, flush)
        if found.size:
            self._peaks.append(found)
        self._lt_done = t_first + lt.size

    def feed(self, x: np.ndarray) -> None:
        """Scan the next samples (1-D float64, contiguous)."""
        if self._raw is not None:
            self._raw.append(x)
            self._n_raw += x.size
            if self._n_raw >= self.init:
                self._start()
            return
        lt = _quality_kernels.length_transform(x, self.fparams, self.iparams, self.rings, self.fstate, self.istate)
        self._decide(lt, self._lt_done)

    def finish(self) -> np.ndarray:
        """Decide the last samples; the detections' sample indices, sorted, int64."""
        if self._raw is not None:
            self._start()
        self._decide(np.empty(0), self._lt_done, flush=True)
        peaks = np.concatenate(self._peaks) if self._peaks else np.empty(0, dtype=np.int64)
        return np.clip(peaks, 0, None)


def length_transform_peaks(signal, fs: float, **params) -> np.ndarray:
    """QRS complexes by curve length: a port of PhysioNet's ``wqrs`` (Zong, Moody & Jiang 2003).

    Parameters
    ----------
    signal : array_like, shape (n_samples,) real
        One lead in any unit; NaN samples are gaps.
    fs : float
        Sampling rate in Hz (at least 50).
    **params
        See :class:`LengthTransformScanner`.

    Returns
    -------
    numpy.ndarray, shape (n_beats,) int64
        Sample indices near each QRS onset (about 50 ms before R).

    Examples
    --------
    >>> import numpy as np
    >>> fs = 250; t = np.arange(30 * fs) / fs
    >>> onsets = length_transform_peaks(np.exp(-((t % 0.8) - 0.4) ** 2 / 2e-4), fs)
    >>> len(onsets), bool(np.all(np.abs(onsets[1:] % 200 - 100) < 15))
    (37, True)
    """
    return _scan([as_chunk(signal, "signal")], fs, params)


def _scan(chunks: Iterable, fs: float, params: dict) -> np.ndarray:
    scanner = LengthTransformScanner(check_fs(fs), **params)
    for number, chunk in enumerate(chunks):
        scanner.feed(as_chunk(chunk, f"chunk {number}"))
    return scanner.finish()


def _agreement(centres, beats, other, fs, window_s, tolerance_s) -> np.ndarray:
    centres = np.asarray(centres, dtype=np.int64)
    order = np.argsort(centres, kind="stable")
    out = np.empty(centres.size, dtype=np.float32)
    out[order] = _quality_kernels.agreement(np.ascontiguousarray(centres[order]),
                                            np.sort(np.asarray(beats, dtype=np.int64)),
                                            np.sort(np.asarray(other, dtype=np.int64)),
                                            int(round(window_s * fs / 2)), int(round(tolerance_s * fs)))
    return out


def bsqi(r_peaks, other_peaks, fs: float, *, window_s: float = 10.0, tolerance_s: float = 0.15) -> np.ndarray:
    """Per-beat bSQI (Li, Clark & Clifford 2008): agreement of two beat lists in a window centred on each beat.

    Parameters
    ----------
    r_peaks : array_like, shape (n_beats,) int
        The beats to score, sample indices.
    other_peaks : array_like, shape (n_other,) int
        The second detector's beats.
    fs : float
        Sampling rate in Hz.
    window_s, tolerance_s : float
        Window length and matching tolerance in seconds (the paper's 10 s and 150 ms).

    Returns
    -------
    numpy.ndarray, shape (n_beats,) float32
        ``matched / (n_1 + n_2 - matched)`` over the window, in [0, 1].

    Examples
    --------
    >>> bsqi([100, 400, 700], [110, 390, 560, 700], fs=100, window_s=20).tolist()
    [0.75, 0.75, 0.75]
    """
    return _agreement(r_peaks, r_peaks, other_peaks, fs, window_s, tolerance_s)


def beat_quality(signal, fs: float, r_peaks, *, stretches=None, window_s: float = 10.0,
                 tolerance_s: float = 0.15) -> np.ndarray:
    """Quality of every beat of one lead: bSQI against the length-transform detector, 0 inside ``stretches``.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) real
        The lead the beats were found in; NaN samples are gaps.
    fs : float
        Sampling rate in Hz (at least 50).
    r_peaks : array_like, shape (n_beats,) int
        The beats, sample indices (any detector's).
    stretches : array_like, shape (n, 2) int, optional
        ``[start, stop)`` sample ranges without organised QRS (ventricular
        flutter/fibrillation, :attr:`ecgseg.detector.Detection.vf_stretches`):
        their beats score 0.
    window_s, tolerance_s : float
        As for :func:`bsqi`.

    Returns
    -------
    numpy.ndarray, shape (n_beats,) float32
        In [0, 1]; below :data:`POOR` is poor.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgseg.detector import detect
    >>> fs = 360; t = np.arange(60 * fs) / fs
    >>> ecg = np.exp(-((t % 0.8) - 0.4) ** 2 / 2e-4)
    >>> ecg[30 * fs:] += np.random.default_rng(0).normal(0, 0.5, 30 * fs)  # the second half buried in noise
    >>> q = beat_quality(ecg, fs, detect(ecg, fs).r_peaks)
    >>> bool(q[:20].min() >= POOR), bool(np.median(q[-20:]) < POOR)
    (True, True)
    """
    return quality_chunks([signal], fs, r_peaks, stretches=stretches, window_s=window_s, tolerance_s=tolerance_s)


def quality_chunks(chunks: Iterable, fs: float, r_peaks, *, stretches=None, window_s: float = 10.0,
                   tolerance_s: float = 0.15) -> np.ndarray:
    """:func:`beat_quality` over consecutive chunks of one lead: the same values, without holding the signal."""
    from .fibrillation import inside

    other = _scan(chunks, fs, {})
    quality = bsqi(r_peaks, other, fs, window_s=window_s, tolerance_s=tolerance_s)
    if stretches is not None:
        quality[inside(r_peaks, stretches)] = 0.0
    return quality


@dataclass(frozen=True)
class SignalQuality:
    """What the two detectors of bSQI found in one lead: the quality of the signal at any position.

    Attributes
    ----------
    detection : ecgseg.detector.Detection
        The R-peak detector's result (R-peaks, polarity, ventricular flutter/fibrillation stretches).
    other : numpy.ndarray, shape (n_other,) int64
        The length-transform detector's beats.
    """

    detection: object
    other: np.ndarray

    def at(self, positions, *, window_s: float = 10.0, tolerance_s: float = 0.15) -> np.ndarray:
        """bSQI of the two detectors in the ``window_s`` window centred on each position, 0 in a VF stretch.

        Parameters
        ----------
        positions : array_like, shape (n,) int
            Sample indices (the beats to score, found by any means: a detector, reference annotations).

        Returns
        -------
        numpy.ndarray, shape (n,) float32
            In [0, 1]; below :data:`POOR` is poor.
        """
        from .fibrillation import inside

        found = self.detection
        quality = _agreement(positions, found.r_peaks, self.other, found.fs, window_s, tolerance_s)
        quality[inside(positions, found.vf_stretches)] = 0.0
        return quality


def scan_quality(chunks: Iterable, fs: float, **detector_params) -> SignalQuality:
    """Run the R-peak detector and the length-transform detector over one lead in one pass.

    Parameters
    ----------
    chunks : iterable of array_like, each shape (n_i,) real
        Consecutive pieces of the lead (one piece: the whole lead).
    fs : float
        Sampling rate in Hz (at least 50).
    **detector_params
        Passed to :func:`ecgseg.detector.detect_chunks`.

    Returns
    -------
    SignalQuality

    Examples
    --------
    >>> import numpy as np
    >>> fs = 250; t = np.arange(60 * fs) / fs
    >>> ecg = -np.exp(-((t % 0.8) - 0.4) ** 2 / 2e-4)  # an inverted lead
    >>> scanned = scan_quality(np.array_split(ecg, 4), fs)
    >>> scanned.detection.inverted, float(scanned.at(scanned.detection.r_peaks).min())
    (True, 1.0)
    """
    from .detector import detect_chunks

    scanner = LengthTransformScanner(check_fs(fs))

    def both(chunks=chunks):
        for number, chunk in enumerate(chunks):
            x = as_chunk(chunk, f"chunk {number}")
            scanner.feed(x)
            yield x

    detection = detect_chunks(both(), fs, **detector_params)
    return SignalQuality(detection, scanner.finish())


def poor_stretches(r_peaks, quality, fs: float, *, threshold: float = POOR, join_s: float = 2.0) -> np.ndarray:
    """Stretches of poor beats, for plots and summaries: runs of beats below ``threshold``.

    Parameters
    ----------
    r_peaks : array_like, shape (n_beats,) int
        Sorted beat sample indices.
    quality : array_like, shape (n_beats,) float
        Their quality (:func:`beat_quality`).
    fs : float
        Sampling rate in Hz.
    threshold : float
        Poor below this (default :data:`POOR`).
    join_s : float
        Poor beats closer than this are one stretch.

    Returns
    -------
    numpy.ndarray, shape (n_stretches, 2) int64
        ``[first poor beat, last poor beat + 1)`` sample ranges.

    Examples
    --------
    >>> poor_stretches([100, 200, 300, 900, 1000], [0.9, 0.2, 0.3, 0.1, 0.95], fs=100, join_s=2).tolist()
    [[200, 301], [900, 901]]
    """
    peaks = np.asarray(r_peaks, dtype=np.int64)
    bad = peaks[np.asarray(quality) < threshold]
    if bad.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    breaks = np.flatnonzero(np.diff(bad) > join_s * fs)
    starts = np.concatenate([bad[:1], bad[breaks + 1]])
    stops = np.concatenate([bad[breaks], bad[-1:]]) + 1
    return np.stack([starts, stops], axis=1)
