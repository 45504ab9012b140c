"""What a cut beat is (:class:`Beats`) and the scheme's per-window steps: T per window, segment spans, cutting.

These are steps 6-8 of the Kachuee, Fazeli & Sarrafzadeh (2018) scheme, usable alone on a signal already
resampled and scaled per window (:mod:`ecgseg.signal`) with R-peaks found (:mod:`ecgseg.peaks`).
:func:`ecgseg.segment` (:mod:`ecgseg.segmentation`) runs the whole scheme, whole or in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _kernels
from .scheme import DEFAULTS

__all__ = ["Beats", "window_periods", "segment_lengths", "segment_spans", "cut_beats", "n_close", "SHORT_PERIOD_S"]

#: A heartbeat period below this (300 beats/min) is not physiological: the rule mistook one QRS for two beats.
SHORT_PERIOD_S = 0.2


@dataclass(frozen=True)
class Beats:
    """Fixed-length beats cut from one signal.

    Attributes
    ----------
    segments : numpy.ndarray, shape (n_beats, length) float32
        Each beat from its R-peak, scaled to [0, 1] with its window, zero-padded.
    r_peaks : numpy.ndarray, shape (n_beats,) int64
        R-peak sample indices at the input rate ``fs``.
    windows : numpy.ndarray, shape (n_beats,) int64
        Index of the ``window_s`` window each beat lies in.
    periods_s : numpy.ndarray, shape (n_beats,) float64
        The heartbeat period T (seconds) used to cut each beat.
    fs, fs_out : float
        Input rate, and the rate the segments are sampled at: the ``fs_out``
        asked for whenever ``fs_out / fs`` is a fraction with terms up to
        :data:`ecgseg.signal.MAX_RATIO_TERM` (any rate written with a few
        decimals), else the rate the nearest such fraction gives
        (:func:`ecgseg.signal.output_rate`, within 10 ppm), which every
        position, period and time then uses.
    n_windows : int
        Windows in the signal.
    n_fallback_windows : int
        Windows with no T of their own (fewer than two rule peaks) that used the record's median.
    labels : numpy.ndarray, shape (n_beats,) int8, optional
        AAMI class index per beat (-1 unlabelled), when reference annotations were given.
    n_missed : int, optional
        Reference beats that no cut beat matched, when reference annotations were given.
    n_reference : int, optional
        Reference beats in the record, when reference annotations were given: ``1 - n_missed / n_reference`` is
        the share of them the beats were cut at.
    n_detected : int, optional
        Beats the recommended detector (:data:`ecgseg.scheme.RECOMMENDED_PEAKS`) finds in a record without
        annotations, when the beats were cut at the paper's rule: what the rule missed shows against it.
    duration_s : float
        Length of the signal cut (s).
    pre_r_s : float
        How long before the R-peak each segment starts (0: the paper's scheme).
    peaks : str
        How the R-peaks were found: a detector's name, ``"annotations"``, or ``"given"``.
    symbols : numpy.ndarray, shape (n_beats,) str, optional
        The annotation symbol of the reference beat each beat matched (MIT-BIH: ``N L R e j A a J S V E F / f Q``),
        ``""`` for none, when reference annotations were given.
    diagnosis : str
        The record's diagnosis from its header (:mod:`ecgseg.diagnosis`; PTB), ``""`` when it states none.
    lead, channel : str, int
        The record's lead the beats were cut from, by name and index (``""``, -1: a signal not read from a record).
    database : str
        The database the record came from (``""``: a signal, or a record given by path).
    notes : tuple of str
        What is doubtful or unusual about these beats, one sentence each (the lead taken when there is no MLII,
        labels that are missing and why, ...): the summary line and the beat file say them.
    quality : numpy.ndarray, shape (n_beats,) float32, optional
        Each beat's signal quality in [0, 1]: the bSQI of two independent QRS detectors in the 10 s around it,
        0 in ventricular flutter/fibrillation (:mod:`ecgseg.quality`); below :data:`ecgseg.quality.POOR` is
        poor. None when not measured (the rule's fast path).
    vf_stretches : numpy.ndarray, shape (n_stretches, 2) int64, optional
        ``[start, stop)`` sample ranges (at ``fs``) of ventricular flutter or fibrillation: no organised QRS.
        None when not looked for.
    inverted : bool
        The lead's measured polarity: True when most QRS complexes point down (the vote of
        :func:`ecgseg.detector.detect`, over the whole lead for its cut, else :func:`ecgseg.detector.looks_inverted`
        over pieces of it), False when most point up or it could not be measured (below
        :data:`ecgseg.detector.MIN_FS`). With ``polarity="auto"`` a detector's cut is from the upright signal
        (``-signal``); the rule's and cuts at reference or given positions keep the record's polarity (the notes
        say so).
    spans : numpy.ndarray, shape (n_beats, 2) int64
        The columns ``[first, stop)`` of each segment that hold signal; the rest is zero padding (before
        ``first``: a ``pre_r_s`` reaching back past the window's start; from ``stop``: the beat ended).
    model_segments : numpy.ndarray, shape (n_beats, length) float32, optional
        The same beats cut ``model_pre_r_s`` before their R-peak, when the shipped classifier that suits them reads
        that cut and ``segments`` are cut otherwise (:func:`ecgseg.scheme.classifier_pre_r_s`).
    model_pre_r_s : float, optional
        Where ``model_segments`` start before the R-peak (s).
    """

    segments: np.ndarray
    r_peaks: np.ndarray
    windows: np.ndarray
    periods_s: np.ndarray
    fs: float
    fs_out: float
    n_windows: int
    n_fallback_windows: int
    labels: np.ndarray | None = field(default=None)
    n_missed: int | None = field(default=None)
    n_reference: int | None = field(default=None)
    n_detected: int | None = field(default=None)
    duration_s: float = 0.0
    pre_r_s: float = 0.0
    peaks: str = "rule"
    symbols: np.ndarray | None = field(default=None)
    diagnosis: str = ""
    lead: str = ""
    channel: int = -1
    database: str = ""
    notes: tuple[str, ...] = ()
    quality: np.ndarray | None = field(default=None)
    vf_stretches: np.ndarray | None = field(default=None)
    inverted: bool = False
    spans: np.ndarray | None = field(default=None)
    model_segments: np.ndarray | None = field(default=None)
    model_pre_r_s: float | None = None

    def __len__(self) -> int:
        return self.segments.shape[0]

    @property
    def rr(self) -> np.ndarray:
        """The R-R context of each beat, (n_beats, 6) float32, columns :data:`ecgseg.rhythm.RR_FEATURES`: previous
        and next R-R (s), the local mean R-R and their ratios, from ``r_peaks`` (meaningful when they are every beat:
        a detector's or the annotations, not the paper's rule)."""
        from .rhythm import rr_features

        return rr_features(self.r_peaks, self.fs)

    @property
    def n_short(self) -> int:
        """Beats cut with an implausibly short period T (< :data:`SHORT_PERIOD_S`): nearly empty segments."""
        return int(np.count_nonzero(self.periods_s < SHORT_PERIOD_S))

    @property
    def n_close(self) -> int:
        """Beats closer than :data:`SHORT_PERIOD_S` to the previous R-peak, whatever their T: one QRS or T wave
        taken for two beats (faster than 300 beats/min is no plausible rhythm)."""
        return n_close(self.r_peaks, self.fs)

    @property
    def n_unmatched(self) -> int | None:
        """Beats cut where the reference annotations have no beat within the tolerance (``symbols`` ``""``): false
        detections, or a beat cut off its QRS (None: no reference annotations were given)."""
        if self.symbols is None:
            return None
        return int(np.count_nonzero(np.asarray(self.symbols) == ""))

    @property
    def n_poor(self) -> int:
        """Beats whose quality is below :data:`ecgseg.quality.POOR` (0 when quality was not measured)."""
        if self.quality is None:
            return 0
        from .quality import POOR

        return int(np.count_nonzero(self.quality < POOR))


def n_close(r_peaks, fs: float, refractory_s: float = SHORT_PERIOD_S) -> int:
    """How many R-peaks follow the previous one by less than ``refractory_s`` (sorted or not).

    Examples
    --------
    >>> n_close([100, 150, 500, 900], fs=360)
    1
    """
    peaks = np.sort(np.asarray(r_peaks, dtype=np.int64))
    return int(np.count_nonzero(np.diff(peaks) < refractory_s * fs))


def window_periods(peaks, window: int, n_windows: int, *, fallback: bool = True) -> tuple[np.ndarray, int]:
    """T per window: the median R-R interval (samples) of the ``peaks`` inside it.

    Windows with fewer than two peaks take the median of the other windows' T
    (with ``fallback=False`` they stay NaN, for a caller that sees only part
    of the record).

    Returns
    -------
    periods : numpy.ndarray, shape (n_windows,) float64
        NaN everywhere when no window has two peaks.
    n_fallback : int
        Windows that took the record's median.

    Examples
    --------
    >>> import numpy as np
    >>> periods, n_fallback = window_periods(np.array([10, 110, 210, 1300]), 1250, 2)
    >>> periods.tolist(), n_fallback
    ([100.0, 100.0], 1)
    """
    peaks = np.ascontiguousarray(peaks, dtype=np.int64)
    periods = _kernels.median_rr_per_window(peaks, int(window), int(n_windows))
    missing = np.isnan(periods)
    n_fallback = int(np.count_nonzero(missing))
    if fallback and n_fallback and n_fallback < n_windows:
        periods[missing] = np.median(periods[~missing])
    return periods, n_fallback


def segment_lengths(positions, periods, window: int, *, period_factor: float = DEFAULTS.period_factor, pre: int = 0) -> np.ndarray:
    """Samples each beat spans before padding: ``pre`` + ``period_factor`` * T, stopped at its window's end.

    Examples
    --------
    >>> segment_lengths([2, 8], [2.5, 2.5], 10).tolist()
    [3, 2]
    """
    positions = np.asarray(positions, dtype=np.int64)
    wanted = np.rint(period_factor * np.asarray(periods, dtype=np.float64)).astype(np.int64)
    to_window_end = (positions // window + 1) * window - positions
    return pre + np.minimum(wanted, to_window_end)


def segment_spans(positions, lengths, window: int, n_samples: int, *, length: int = DEFAULTS.length,
                  pre: int = 0) -> np.ndarray:
    """The columns ``[first, stop)`` of each cut segment that hold signal, as :func:`cut_beats` fills them.

    ``lengths`` are :func:`segment_lengths`'s; a segment holds nothing before its window's start (a ``pre`` reaching
    back past it), nothing from its length on, and nothing past the signal's ``n_samples``. The rest is zero padding.

    Returns
    -------
    numpy.ndarray, shape (n_beats, 2) int64

    Examples
    --------
    >>> segment_spans([2, 11], [3, 5], 10, 14, length=5, pre=2).tolist()
    [[0, 3], [1, 5]]
    """
    positions = np.asarray(positions, dtype=np.int64)
    starts = positions - pre
    first = np.clip(positions // window * window - starts, 0, None)
    stop = np.minimum(np.minimum(np.asarray(lengths, dtype=np.int64), length), n_samples - starts)
    return np.stack([np.minimum(first, stop), np.maximum(stop, 0)], axis=1).astype(np.int64)


def cut_beats(
    x_normalized,
    positions,
    periods,
    window: int,
    *,
    period_factor: float = DEFAULTS.period_factor,
    length: int = DEFAULTS.length,
    pre: int = 0,
) -> np.ndarray:
    """Cut ``period_factor`` * T samples from each position, within its window, zero-padded to ``length``.

    Parameters
    ----------
    x_normalized : array_like, shape (n,) float
        The window-scaled signal.
    positions : array_like, shape (n_beats,) int
        R-peak indices into ``x_normalized``.
    periods : array_like, shape (n_beats,) float
        T in samples for each beat.
    window : int
        Window length in samples; a segment stays inside its window.
    pre : int
        Samples before the R-peak to start at (0: the paper's scheme). Those
        before the window's start stay zero.

    Returns
    -------
    numpy.ndarray, shape (n_beats, length) float32

    Examples
    --------
    >>> import numpy as np
    >>> cut_beats(np.arange(10.0) / 10, [2], [2.5], 10, length=5).tolist()
    [[0.20000000298023224, 0.30000001192092896, 0.4000000059604645, 0.0, 0.0]]
    >>> cut_beats(np.arange(10.0) / 10, [1], [2.5], 10, length=5, pre=2).tolist()
    [[0.0, 0.0, 0.10000000149011612, 0.20000000298023224, 0.30000001192092896]]
    """
    positions = np.ascontiguousarray(positions, dtype=np.int64)
    lengths = segment_lengths(positions, periods, window, period_factor=period_factor, pre=pre)
    window_starts = positions // window * window
    x = np.ascontiguousarray(x_normalized, dtype=np.float64)
    return _kernels.cut_segments(x, positions - pre, window_starts, lengths, int(length))
