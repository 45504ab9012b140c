"""Signal preparation: validation, polyphase resampling, 10 s windows and their min-max scaling."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from numbers import Real

import numpy as np

from . import _kernels

__all__ = [
    "validate_rate", "validate_signal", "resample", "resample_part", "resample_span", "resample_ratio", "output_rate",
    "resampled_length", "window_length", "normalize_windows", "MAX_RATIO_TERM", "MAX_RATE_ERROR",
]


def validate_rate(fs, *, name: str = "fs") -> None:
    """Raise ValueError unless ``fs`` is a positive, finite sampling rate in Hz (a real number; ``name`` in the message)."""
    if isinstance(fs, (bool, np.bool_)) or not isinstance(fs, Real) or not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"{name} must be a positive sampling rate in Hz, got {fs!r}")


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
        raise ValueError(f"{name} is flat (every sample is {float(array[0]):g}); there are no beats to find")
    return np.ascontiguousarray(array, dtype=np.float64)


#: Largest term of the reduced ratio ``up/down`` used as it is: a filter of at most 20 * 2**17 + 1 taps (21 MB).
MAX_RATIO_TERM = 2**17
#: Largest relative difference allowed between the output rate a bounded ratio gives and the one asked for.
MAX_RATE_ERROR = 1e-5


def _decimal(rate) -> Fraction:
    """A rate as the decimal number it reads as (the float's shortest repr): 133.33 -> 13333/100, not 2**-46 * ..."""
    return Fraction(repr(float(rate)))


def resample_ratio(fs: float, fs_out: float = 125.0) -> tuple[int, int]:
    """The polyphase factors ``(up, down)`` of :func:`resample`: ``fs_out / fs`` as a reduced fraction.

    Both rates are read as the decimal numbers they print as, so the ratio is
    exact for every rate written with a few decimals (2048 Hz -> 125/2048,
    44100 Hz -> 5/1764, 133.33 Hz -> 12500/13333, 1 MHz -> 1/8000). When a
    term of the exact fraction exceeds :data:`MAX_RATIO_TERM` (a header rate
    such as 360.0000001 Hz, or a few MHz), the resampling filter
    (``20 * max(up, down) + 1`` taps) would be impractically large: the
    nearest fraction with both terms within the bound is used instead
    (360.0000001 Hz -> 25/72), and :func:`output_rate` gives the output rate it
    really yields, which every position and time must then use. The choice is
    symmetric: ``resample_ratio(b, a)`` is ``resample_ratio(a, b)`` inverted,
    and passing that output rate back gives the same fraction.

    Parameters
    ----------
    fs, fs_out : float
        Input and output sampling rates in Hz.

    Returns
    -------
    up, down : int
        Coprime, each at most :data:`MAX_RATIO_TERM`.

    Raises
    ------
    ValueError
        A rate that is not positive and finite, or rates so far apart (beyond
        about 16 MHz to 125 Hz) that no bounded fraction comes within
        :data:`MAX_RATE_ERROR` of their ratio.

    Examples
    --------
    >>> resample_ratio(360, 125), resample_ratio(2048), resample_ratio(360.0000001)
    ((25, 72), (125, 2048), (25, 72))
    """
    validate_rate(fs)
    validate_rate(fs_out, name="fs_out")
    exact = _decimal(fs_out) / _decimal(fs)
    if max(exact.numerator, exact.denominator) <= MAX_RATIO_TERM:
        return exact.numerator, exact.denominator
    # Bounded on the side <= 1, so that the ratio and its inverse get inverse fractions.
    ratio = exact.limit_denominator(MAX_RATIO_TERM) if exact < 1 else 1 / (1 / exact).limit_denominator(MAX_RATIO_TERM)
    if ratio == 0 or abs(ratio / exact - 1) > MAX_RATE_ERROR:
        raise ValueError(
            f"cannot resample {float(fs):g} Hz to {float(fs_out):g} Hz: the ratio {exact} would need a filter of "
            f"{20 * max(exact.numerator, exact.denominator) + 1:,} taps, and none with at most "
            f"{20 * MAX_RATIO_TERM + 1:,} comes within {MAX_RATE_ERROR:g} of it; resample the signal to a lower rate first"
        )
    return ratio.numerator, ratio.denominator


def output_rate(fs: float, fs_out: float = 125.0) -> float:
    """The rate :func:`resample` really gives: ``fs * up / down``; ``fs_out`` itself whenever the ratio is exact.

    Examples
    --------
    >>> output_rate(2048, 125), round(output_rate(360.0000001, 125), 9)
    (125.0, 125.000000035)
    """
    up, down = resample_ratio(fs, fs_out)
    return float(_decimal(fs) * Fraction(up, down))


def resampled_length(n_samples: int, fs: float, fs_out: float = 125.0) -> int:
    """Samples :func:`resample` gives for ``n_samples`` at ``fs``: ``ceil(n_samples * up / down)``.

    Examples
    --------
    >>> resampled_length(3600, 360), resampled_length(2049, 2048)
    (1250, 126)
    """
    up, down = resample_ratio(fs, fs_out)
    return -(-int(n_samples) * up // down)


@lru_cache(maxsize=4)
def _polyphase_taps(up: int, down: int) -> tuple[np.ndarray, int]:
    """scipy's ``resample_poly`` filter for ``up/down`` in the layout of :func:`ecgseg._kernels.polyphase_resample`.

    ``firwin(2 * half_len + 1, 1 / max(up, down), window=("kaiser", 5.0)) * up``
    with ``half_len = 10 * max(up, down)``, designed with numpy in scipy's
    order of operations (same bits; tests check against scipy).
    """
    half_len = 10 * max(up, down)
    n = 2 * half_len + 1
    cutoff = 1.0 / max(up, down)
    m = np.arange(0, n, dtype=np.float64) - 0.5 * (n - 1)
    h = cutoff * np.sinc(cutoff * m)
    alpha = (n - 1) / 2.0
    n_ = np.arange(0, n, dtype=np.float64)
    window = _kernels.bessel_i0(5.0 * np.sqrt(1 - ((n_ - alpha) / alpha) ** 2.0)) / _kernels.bessel_i0(np.array([5.0]))[0]
    h *= window
    h /= np.sum(h)
    h *= up
    n_taps = -(-n // up)  # per phase
    padded = np.zeros(n_taps * up)
    padded[:n] = h
    # taps[p, i] = h[p + (n_taps - 1 - i) * up]: each phase's taps, oldest input first.
    taps = np.ascontiguousarray(padded.reshape(n_taps, up).T[:, ::-1])
    taps.flags.writeable = False
    return taps, half_len


def resample_span(out_start: int, out_stop: int, n_samples: int, fs: float, fs_out: float = 125.0) -> tuple[int, int]:
    """The input samples ``[start, stop)`` that output samples ``[out_start, out_stop)`` of :func:`resample` depend on.

    Examples
    --------
    >>> resample_span(1000, 2000, 360 * 600, 360)  # 8 s to 16 s at 125 Hz, plus the filter's reach
    (2851, 5786)
    """
    up, down = resample_ratio(fs, fs_out)
    if up == down:
        return max(0, out_start), min(n_samples, out_stop)
    half_len = 10 * max(up, down)
    n_taps = -(-(2 * half_len + 1) // up)  # per phase, as the kernel reads them (the last may be zero padding)
    start = (out_start * down + half_len) // up - n_taps + 1
    stop = ((out_stop - 1) * down + half_len) // up + 1
    return max(0, start), min(int(n_samples), stop)


def resample(signal, fs: float, fs_out: float = 125.0) -> np.ndarray:
    """Resample ``signal`` from ``fs`` to ``fs_out`` Hz with a polyphase filter: ``scipy.signal.resample_poly``.

    The same filter (Kaiser-windowed sinc, ``beta`` 5, ``20 * max(up, down) + 1``
    taps), zero padding and alignment as ``resample_poly(signal, up, down)``
    with the factors of :func:`resample_ratio`, computed by a numba kernel (no
    scipy import). Output sample ``m`` lies at input position ``m * down / up``:
    map positions with :func:`ecgseg.peaks.rescale_indices`, and take the
    output rate from :func:`output_rate` (``fs_out`` itself unless the ratio
    had to be bounded).

    Parameters
    ----------
    signal : array_like, shape (n_samples,) float
    fs, fs_out : float
        Input and output sampling rates in Hz.

    Returns
    -------
    numpy.ndarray, shape (ceil(n_samples * up / down),) float64

    Raises
    ------
    ValueError
        As :func:`resample_ratio`.

    Examples
    --------
    >>> import numpy as np
    >>> resample(np.zeros(3600), fs=360, fs_out=125).shape
    (1250,)
    """
    signal = np.ascontiguousarray(signal, dtype=np.float64)
    n = signal.shape[0]
    return resample_part(signal, fs, fs_out, start=0, n_samples=n, out_start=0, out_stop=resampled_length(n, fs, fs_out))


def resample_part(part, fs: float, fs_out: float = 125.0, *, start: int, n_samples: int, out_start: int, out_stop: int):
    """Output samples ``[out_start, out_stop)`` of :func:`resample` on a signal of which ``part`` is a piece.

    For reading a long record in chunks: ``part`` holds input samples
    ``[start, start + len(part))`` and must cover :func:`resample_span` of the
    outputs. The result is bit for bit ``resample(signal, fs, fs_out)[out_start:out_stop]``.

    Parameters
    ----------
    part : array_like, shape (n_part,) float
    fs, fs_out : float
        Input and output sampling rates in Hz.
    start : int
        Index of ``part[0]`` in the whole signal.
    n_samples : int
        Length of the whole signal.
    out_start, out_stop : int
        The output samples wanted.

    Returns
    -------
    numpy.ndarray, shape (out_stop - out_start,) float64

    Raises
    ------
    ValueError
        When ``part`` does not cover the input the outputs need.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.sin(np.arange(7200) / 50.0)
    >>> lo, hi = resample_span(1000, 2000, x.size, 360)
    >>> piece = resample_part(x[lo:hi], 360, start=lo, n_samples=x.size, out_start=1000, out_stop=2000)
    >>> np.array_equal(piece, resample(x, 360)[1000:2000])
    True
    """
    part = np.ascontiguousarray(part, dtype=np.float64)
    need = resample_span(out_start, out_stop, n_samples, fs, fs_out)
    if need[1] > need[0] and not (start <= need[0] and need[1] <= start + part.shape[0]):
        raise ValueError(
            f"outputs {out_start}..{out_stop} need input samples {need[0]}..{need[1]}, "
            f"but the part holds {start}..{start + part.shape[0]}"
        )
    up, down = resample_ratio(fs, fs_out)
    if up == down:
        return part[out_start - start : out_stop - start].copy()
    taps, half_len = _polyphase_taps(up, down)
    return _kernels.polyphase_resample(part, int(start), int(n_samples), taps, up, down, half_len, int(out_start), int(out_stop))


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
    return _kernels.scale_windows(x, int(window))
