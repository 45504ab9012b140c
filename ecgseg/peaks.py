"""R-peak detectors, chosen by name; the paper's 0.9 rule is the default.

A detector is a function ``(signal, fs, **params) -> r_peaks`` (int64 sample
indices at ``fs``), registered in :data:`DETECTORS`.
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from .scheme import DEFAULTS
from .signal import normalize_windows, output_rate, resample, resample_ratio, validate_signal, window_length

__all__ = ["DETECTORS", "DETECTIONS", "detect_r_peaks", "local_maxima", "rule_peaks", "rule_detector"]


def local_maxima(x, *, threshold: float = -np.inf, window: int | None = None) -> np.ndarray:
    """Local maxima of ``x``: zero crossings (+ to 0/-) of its first difference.

    Parameters
    ----------
    x : array_like, shape (n,) float
    threshold : float
        Keep only maxima whose value exceeds it.
    window : int, optional
        Take the difference within consecutive blocks of this many samples
        only, so no maximum sits on a block's first or last sample.

    Returns
    -------
    numpy.ndarray, int64
        Sorted indices. A plateau counts once, at its first sample.

    Examples
    --------
    >>> local_maxima([0.0, 1.0, 0.0, 2.0, 2.0, 0.0]).tolist()
    [1, 3]
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    window = x.shape[0] if window is None else int(window)
    return _kernels.local_maxima_above(x, max(window, 1), float(threshold))


def rule_peaks(
    x_normalized,
    window: int,
    *,
    threshold: float = DEFAULTS.threshold,
    refractory: int | None = None,
) -> np.ndarray:
    """The paper's R-peak candidates on a signal already min-max scaled per window.

    Steps 4 and 5 of Kachuee et al. (2018): local maxima (derivative zero
    crossings) whose normalized value exceeds ``threshold``.

    Parameters
    ----------
    x_normalized : array_like, shape (n,) float
        Output of :func:`ecgseg.signal.normalize_windows`.
    window : int
        The window length in samples used for the normalization.
    threshold : float
        The paper's 0.9.
    refractory : int, optional
        Off by default (the paper has none). When set, of candidates closer
        than this many samples only the highest is kept: a guard against two
        maxima on one QRS complex collapsing the R-R median.

    Returns
    -------
    numpy.ndarray, int64
        Sorted sample indices into ``x_normalized``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros(1250); x[[100, 400, 700]] = 1.0
    >>> rule_peaks(x, 1250).tolist()
    [100, 400, 700]
    """
    peaks = local_maxima(x_normalized, threshold=threshold, window=window)
    if refractory is not None and refractory > 1:
        x = np.ascontiguousarray(x_normalized, dtype=np.float64)
        peaks = _kernels.suppress_close_peaks(peaks, x, int(refractory))
    return peaks


def rescale_indices(indices, fs_from: float, fs_to: float) -> np.ndarray:
    """Map sample indices at ``fs_from`` Hz to the nearest sample index at ``fs_to`` Hz, as the resampler does.

    Index ``i`` goes to ``i * up / down`` with the factors of
    :func:`ecgseg.signal.resample_ratio` (the fraction :func:`ecgseg.signal.resample`
    uses: sample ``m`` of its output lies at input position ``m * down / up``),
    in exact integer arithmetic and rounded to the nearest index, ties to
    even (as ``numpy.rint``). So positions never drift from the resampled
    signal, however long the record; either rate may be given as asked or as
    :func:`ecgseg.signal.output_rate` returned it.

    Parameters
    ----------
    indices : array_like of int
        Sample indices at ``fs_from``.
    fs_from, fs_to : float
        The two rates in Hz.

    Returns
    -------
    numpy.ndarray, int64
        Same shape as ``indices``.

    Raises
    ------
    ValueError
        Indices that are not whole numbers, or rates :func:`ecgseg.signal.resample_ratio` refuses.

    Examples
    --------
    >>> rescale_indices([0, 36, 108, 360], 360, 125).tolist()  # 12.5 -> 12, 37.5 -> 38 (ties to even)
    [0, 12, 38, 125]
    >>> int(rescale_indices(24 * 3600 * 2048 + 1000, 2048, 125))  # 24 h at 2048 Hz: exactly 10,800,061.035...
    10800061
    """
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        whole = np.zeros(indices.shape, bool)
        if indices.dtype.kind == "f":
            whole = np.isfinite(indices) & (indices == np.round(indices))
        if not whole.all():
            bad = indices[~whole].ravel()[0]
            bad = bad.item() if hasattr(bad, "item") else bad
            raise ValueError(f"indices must be whole sample numbers, got {indices.dtype} values such as {bad!r}")
    indices = indices.astype(np.int64)
    up, down = resample_ratio(fs_from, fs_to)
    # i * up / down as whole * up + (rest * up) / down: no int64 overflow for any index a record can have.
    whole, rest = np.divmod(indices, down)
    quotient, remainder = np.divmod(rest * up, down)
    nearest = whole * up + quotient
    return nearest + ((2 * remainder > down) | ((2 * remainder == down) & (nearest % 2 == 1)))


def rule_detector(
    signal,
    fs: float,
    *,
    fs_out: float = DEFAULTS.fs_out,
    window_s: float = DEFAULTS.window_s,
    threshold: float = DEFAULTS.threshold,
    refractory_s: float | None = None,
) -> np.ndarray:
    """The paper's rule as a stand-alone detector: resample, window, scale, threshold.

    Returns R-peaks as int64 sample indices at the input rate ``fs``.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 360; x = np.zeros(10 * fs); x[::fs] = 1.0
    >>> len(rule_detector(x, fs)) > 0
    True
    """
    signal = validate_signal(signal, fs)
    x = resample(signal, fs, fs_out)
    rate = output_rate(fs, fs_out)  # fs_out unless the rate ratio had to be bounded
    window = window_length(rate, window_s)
    x_normalized, _, _ = normalize_windows(x, window)
    refractory = None if refractory_s is None else int(round(refractory_s * rate))
    peaks = rule_peaks(x_normalized, window, threshold=threshold, refractory=refractory)
    return rescale_indices(peaks, rate, fs)


from .detector import detect_chunks, hamilton_detector  # noqa: E402  (the slope detector, ecgseg.detector)

DETECTORS = {"rule": rule_detector, "hamilton": hamilton_detector}

#: Detectors that also run over a signal read in chunks and report what they saw: a function
#: ``(chunks, fs, **params) -> ecgseg.detector.Detection`` (R-peaks, whether the lead is inverted, ventricular
#: flutter/fibrillation stretches). ``segment`` uses it with ``chunk_s`` and to read an inverted lead upright.
DETECTIONS = {"hamilton": detect_chunks}


def detect_r_peaks(signal, fs: float, method: str = "rule", **params) -> np.ndarray:
    """Detect R-peaks in one ECG lead with the detector named ``method``.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) float
        One lead in physical units.
    fs : float
        Sampling rate in Hz.
    method : str
        A key of :data:`DETECTORS`; ``"rule"`` is the paper's 0.9 threshold.
    **params
        Passed to the detector.

    Returns
    -------
    numpy.ndarray, int64
        R-peak sample indices at ``fs``.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 250; x = np.zeros(20 * fs); x[fs::fs] = 1.0
    >>> detect_r_peaks(x, fs)[:3].tolist()
    [250, 500, 750]
    """
    try:
        detector = DETECTORS[method]
    except KeyError:
        raise ValueError(f"unknown R-peak method {method!r}; choose one of {sorted(DETECTORS)}") from None
    return detector(signal, fs, **params)
