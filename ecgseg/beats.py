"""Cutting fixed-length beats: the segmentation scheme of Kachuee, Fazeli & Sarrafzadeh (2018).

1. resample to ``fs_out`` (125 Hz); 2. cut ``window_s`` (10 s) windows;
3. min-max scale each window to [0, 1]; 4. local maxima = zero crossings of
the first difference; 5. R-peak candidates = maxima above ``threshold``
(0.9); 6. T = median R-R interval of the window; 7. from each R-peak take
``period_factor`` * T (1.2 T) samples; 8. zero-pad or truncate to ``length``
(187).

Decisions the paper leaves open, made here:

- Window edges: windows start at sample 0 of the resampled signal; the last
  window holds the remainder (shorter than ``window_s``) and is scaled on its
  own. The derivative is taken within a window, so no peak sits on a window's
  first or last sample, and a segment never runs past the end of its window
  (it is zero-padded instead), because each window has its own scaling.
- Windows with fewer than two R-peaks have no T of their own: they use the
  median of the other windows' T (the record's median).
- Flat windows (max == min) scale to zeros and yield no peaks.
- T comes from the rule's peaks per window even when beats are cut at other
  positions (``peaks="annotations"`` or another detector), unless
  ``period="peaks"``.
- Known weakness, kept by default: two maxima on one QRS complex can both pass
  0.9, so T collapses to a few samples and the beat comes out nearly empty.
  :attr:`Beats.n_short` counts such beats; ``refractory_s`` is an opt-in guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _kernels
from .peaks import DETECTORS, rule_peaks, rescale_indices
from .signal import normalize_windows, output_rate, resample, validate_signal, window_length

__all__ = ["Beats", "segment", "window_periods", "segment_lengths", "cut_beats", "SHORT_PERIOD_S"]

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
    pre_r_s : float
        How long before the R-peak each segment starts (0: the paper's scheme).
    peaks : str
        How the R-peaks were found: a detector's name, ``"annotations"``, or ``"given"``.
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
    pre_r_s: float = 0.0
    peaks: str = "rule"

    def __len__(self) -> int:
        return self.segments.shape[0]

    @property
    def n_short(self) -> int:
        """Beats cut with an implausibly short period T (< :data:`SHORT_PERIOD_S`): nearly empty segments."""
        return int(np.count_nonzero(self.periods_s < SHORT_PERIOD_S))


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


def no_period_error(window_s: float, period: str) -> ValueError:
    """The error for beats whose heartbeat period T no window of the record can give."""
    return ValueError(
        f"no {window_s:g} s window has two R-peaks from the {period!r} peaks, so the heartbeat period T "
        "is unknown; check the signal or pass period='peaks' with your own peaks"
    )


def check_scheme(n_samples: int, fs: float, window_s: float, period: str) -> None:
    """Raise ValueError unless a signal of ``n_samples`` at ``fs`` fills a window and ``period`` is known."""
    if n_samples < window_s * fs:
        raise ValueError(
            f"signal is {n_samples / fs:.2f} s long ({n_samples} samples at {fs} Hz); "
            f"segmentation needs at least one {window_s:g} s window"
        )
    if period not in ("rule", "peaks"):
        raise ValueError(f"period must be 'rule' or 'peaks', got {period!r}")


def pre_samples(pre_r_s: float, fs_out: float) -> int:
    """``pre_r_s`` seconds in samples at ``fs_out``, checked."""
    if not np.isfinite(pre_r_s) or pre_r_s < 0:
        raise ValueError(f"pre_r_s must be >= 0 seconds, got {pre_r_s!r}")
    return int(round(pre_r_s * fs_out))


def segment_lengths(positions, periods, window: int, *, period_factor: float = 1.2, pre: int = 0) -> np.ndarray:
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


def cut_beats(
    x_normalized,
    positions,
    periods,
    window: int,
    *,
    period_factor: float = 1.2,
    length: int = 187,
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


def _beat_positions(peaks, signal, fs, fs_out, rule, n_out, detector_params):
    """Where beats are cut, at the input rate and at ``fs_out``."""
    if isinstance(peaks, str):
        if peaks == "rule":
            return rescale_indices(rule, fs_out, fs), rule
        if peaks not in DETECTORS:
            raise ValueError(
                f"unknown peaks {peaks!r}; give a detector name ({sorted(DETECTORS)}) or an array of sample indices"
            )
        r_peaks = DETECTORS[peaks](signal, fs, **detector_params)
    else:
        r_peaks = np.asarray(peaks)
        if r_peaks.ndim != 1 or (r_peaks.size and r_peaks.dtype.kind not in "iu"):
            raise ValueError(f"peaks must be a 1-D array of integer sample indices, got {r_peaks.dtype} {r_peaks.shape}")
        r_peaks = np.sort(r_peaks.astype(np.int64))
        if r_peaks.size and (r_peaks[0] < 0 or r_peaks[-1] >= signal.shape[0]):
            raise ValueError(f"peaks must lie in [0, {signal.shape[0]}), got {r_peaks[0]}..{r_peaks[-1]}")
    positions = np.minimum(rescale_indices(r_peaks, fs, fs_out), n_out - 1)
    return r_peaks, positions


def segment(
    signal,
    fs: float,
    *,
    peaks="rule",
    fs_out: float = 125.0,
    window_s: float = 10.0,
    threshold: float = 0.9,
    period_factor: float = 1.2,
    length: int = 187,
    refractory_s: float | None = None,
    period: str = "rule",
    pre_r_s: float = 0.0,
    **detector_params,
) -> Beats:
    """Cut one ECG lead into fixed-length beats with the Kachuee et al. (2018) scheme.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) float
        One lead in physical units, at least ``window_s`` long.
    fs : float
        Its sampling rate in Hz (any rate; it is resampled to ``fs_out``).
    peaks : str or array_like of int
        Where beats are cut: ``"rule"`` (the paper's detector, default), another
        detector's name from :data:`ecgseg.peaks.DETECTORS`, or R-peak sample
        indices at ``fs`` (e.g. reference annotations).
    fs_out, window_s, threshold, period_factor, length
        The scheme's constants: 125 Hz, 10 s, 0.9, 1.2 and 187 samples.
    refractory_s : float, optional
        Off by default (faithful). When set, rule candidates closer than this
        keep only the highest, so one QRS is not taken for two beats.
    period : {"rule", "peaks"}
        Take T from the rule's peaks per window (default), or from ``peaks``.
    pre_r_s : float
        Start each segment this long before its R-peak, so the P wave is in
        it (e.g. 0.25); 0 is the paper's scheme. The segment then spans
        ``pre_r_s`` + 1.2 T, within the window, padded to ``length``.
    **detector_params
        Passed to a named detector other than ``"rule"``.

    Returns
    -------
    Beats

    Raises
    ------
    ValueError
        Bad signal (not 1-D float, NaN, flat, shorter than one window), bad
        ``fs`` or ``peaks``, or no window with two R-peaks to estimate T.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 360; t = np.arange(30 * fs) / fs
    >>> ecg = np.exp(-((t % 0.8) - 0.1) ** 2 / 2e-4)  # one narrow peak every 0.8 s
    >>> beats = segment(ecg, fs)
    >>> beats.segments.shape[1], beats.segments.dtype, round(float(np.median(beats.periods_s)), 2)
    (187, dtype('float32'), 0.8)
    """
    signal = validate_signal(signal, fs)
    check_scheme(signal.shape[0], fs, window_s, period)
    x = resample(signal, fs, fs_out)
    fs_out = output_rate(fs, fs_out)  # as asked unless the rate ratio had to be bounded: then the one x has
    window = window_length(fs_out, window_s)
    x_normalized, _, _ = normalize_windows(x, window)
    n_windows = -(-x.shape[0] // window)
    refractory = None if refractory_s is None else int(round(refractory_s * fs_out))
    rule = rule_peaks(x_normalized, window, threshold=threshold, refractory=refractory)
    r_peaks, positions = _beat_positions(peaks, signal, fs, fs_out, rule, x.shape[0], detector_params)

    periods, n_fallback = window_periods(rule if period == "rule" else positions, window, n_windows)
    windows = positions // window
    beat_periods = periods[windows]
    if positions.size and np.isnan(beat_periods).any():
        raise no_period_error(window_s, period)
    pre = pre_samples(pre_r_s, fs_out)
    segments = cut_beats(x_normalized, positions, beat_periods, window, period_factor=period_factor, length=length, pre=pre)
    return Beats(
        segments=segments,
        r_peaks=r_peaks,
        windows=windows,
        periods_s=beat_periods / fs_out,
        fs=float(fs),
        fs_out=float(fs_out),
        n_windows=int(n_windows),
        n_fallback_windows=n_fallback,
        pre_r_s=float(pre_r_s),
        peaks=peaks if isinstance(peaks, str) else "given",
    )
