"""Checks of one lead and its rate for the streaming detectors (R-peaks, VF, quality): one line per fault."""

from __future__ import annotations

import numpy as np

#: Below this rate the 10 ms derivative and 25 ms low-pass of the R-peak detector have no samples left.
MIN_FS = 50.0


def as_chunk(chunk, name: str) -> np.ndarray:
    """``chunk`` as a contiguous 1-D float64 array, or a ValueError naming ``name`` and the fix."""
    array = np.asarray(chunk)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one lead), got shape {array.shape}; pick one channel, e.g. signal[:, 0]")
    if array.dtype.kind not in "fiu":
        raise ValueError(f"{name} has dtype {array.dtype}, expected real numbers (mV or ADC units)")
    return np.ascontiguousarray(array, dtype=np.float64)


def check_fs(fs) -> float:
    """``fs`` as a float, or a ValueError when it is not a finite rate of at least :data:`MIN_FS` Hz."""
    if not np.isscalar(fs) or not np.isfinite(fs) or fs < MIN_FS:
        raise ValueError(f"fs must be a sampling rate of at least {MIN_FS:g} Hz for QRS slopes, got {fs!r}")
    return float(fs)
