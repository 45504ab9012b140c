"""Signal preparation: validation, polyphase resampling, 10 s windows and their min-max scaling."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import _kernels

__all__ = ["validate_rate", "validate_signal", "resample", "resample_ratio", "window_length", "normalize_windows"]


def validate_rate(fs) -> None:
    """Raise ValueError unless ``fs`` is a positive, finite sampling rate in Hz."""
    if not np.isscalar(fs) or not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be a positive sampling rate in Hz, got {fs!r}")


def validate_signal(signal, fs: float, *, name: str = "signal") -> np.ndarray:
    """Check that ``signal`` is a finite, non-flat 1-D float array and ``fs`` a positive rate.

    Parameters
    ----------
    signal : array_like, shape (n_samples,)
        One ECG lead in physical units (float).
    fs : float
        Sampling rate in Hz.
    name : str
        How error messages call the input.

    Returns
    -------
    numpy.ndarray, shape (n_samples,) float64
        The signal, C-contiguous.

    Raises
    ------
    ValueError
        With one line saying what is wrong and what to do.

    Examples
    --------
    >>> import numpy as np
    >>> validate_signal(np.sin(np.arange(1000) / 10), fs=360).dtype
    dtype('float64')
    """
    validate_rate(fs)
    array = np.asarray(signal)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one lead), got shape {array.shape}; pick one channel, e.g. signal[:, 0]"
        )
    if array.dtype.kind != "f":
        raise ValueError(
            f"{name} has dtype {array.dtype}, expected float in physical units (mV); "
            "convert it, e.g. signal.astype(float) or wfdb's p_signal"
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    n_nan = int(np.count_nonzero(~np.isfinite(array)))
    if n_nan:
        raise ValueError(
            f"{name} has {n_nan} NaN or infinite samples; fill or cut the gaps before segmenting"
        )
    if array.max() == array.min():
        raise ValueError(f"{name} is flat (every sample is {array[0]!r}); there are no beats to find")
    return np.ascontiguousarray(array, dtype=np.float64)


def resample(signal, fs: float, fs_out: float = 125.0) -> np.ndarray:
    """Resample ``signal`` from ``fs`` to ``fs_out`` Hz with a polyphase filter.

    The rate ratio is approximated by a fraction with a denominator of at most
    1000 (360 -> 125 Hz is exactly 25/72).

    Parameters
    ----------
    signal : array_like, shape (n_samples,) float
    fs, fs_out : float
        Input and output sampling rates in Hz.

    Returns
    -------
    numpy.ndarray, shape (ceil(n_samples * fs_out / fs),) float64

    Examples
    --------
    >>> import numpy as np
    >>> resample(np.zeros(3600), fs=360, fs_out=125).shape
    (1250,)
    """
    from scipy.signal import resample_poly  # ~0.9 s to import: only when resampling

    signal = np.asarray(signal, dtype=np.float64)
    up, down = resample_ratio(fs, fs_out)
    if up == down:
        return signal.copy()
    return resample_poly(signal, up, down)


def resample_ratio(fs: float, fs_out: float = 125.0) -> tuple[int, int]:
    """The polyphase factors ``(up, down)`` :func:`resample` uses: ``fs_out / fs`` as a fraction, denominator <= 1000.

    Examples
    --------
    >>> resample_ratio(360, 125)
    (25, 72)
    """
    if fs_out <= 0:
        raise ValueError(f"fs_out must be a positive sampling rate in Hz, got {fs_out!r}")
    ratio = Fraction(fs_out / fs).limit_denominator(1000)
    return ratio.numerator, ratio.denominator


def window_length(fs: float, window_s: float = 10.0) -> int:
    """Number of samples in a ``window_s`` window at ``fs`` Hz (1250 for the paper's 10 s at 125 Hz).

    Examples
    --------
    >>> window_length(125, 10)
    1250
    """
    n = int(round(window_s * fs))
    if n < 3:
        raise ValueError(f"window_s={window_s} at {fs} Hz gives {n} samples; a window needs at least 3")
    return n


def normalize_windows(x, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min-max scale each consecutive ``window``-sample block of ``x`` to [0, 1].

    The last block holds the remainder and may be shorter. A flat block
    (max == min) becomes zeros, so no peak is found in it.

    Returns
    -------
    normalized : numpy.ndarray, shape (n,) float64
    mins, maxs : numpy.ndarray, shape (n_windows,) float64
        Each window's extremes, to undo or reuse the scaling.

    Examples
    --------
    >>> import numpy as np
    >>> xn, lo, hi = normalize_windows(np.arange(6.0), 3)
    >>> xn.tolist()
    [0.0, 0.5, 1.0, 0.0, 0.5, 1.0]
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.size == 0:
        raise ValueError("cannot normalize an empty signal")
    mins, maxs = _kernels.window_min_max(x, int(window))
    return _kernels.normalize_windows(x, int(window), mins, maxs), mins, maxs
