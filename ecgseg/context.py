"""What the context classifier reads beside each beat's waveform, from the keys of a beat file (no torch).

:func:`beat_context` takes the segments, R-peaks, sampling rate and record of
each beat (the ``segments``, ``r_peaks``, ``fs``, ``record``, ``fs_out`` and
``pre_r_s`` of an ``.npz`` written by ``ecgseg segment``) and returns the
rhythm features of :mod:`ecgseg.rhythm`, the template comparison of
:mod:`ecgseg.morphology` and the template of every beat. The R-peaks must be
all the beats of each record, in time order, found by a detector or the
annotations: the paper's rule misses about half the beats, and R-R intervals
across a missed beat are wrong.
"""

from __future__ import annotations

import numpy as np

from .morphology import TEMPLATE_FEATURES, beat_templates, record_groups, template_features
from .rhythm import RHYTHM_FEATURES, rhythm_features

__all__ = ["CONTEXT_FEATURES", "beat_context", "file_context", "PREMATURE_RATIO"]

#: Column names of the features :func:`beat_context` returns.
CONTEXT_FEATURES = RHYTHM_FEATURES + TEMPLATE_FEATURES

#: A beat whose previous R-R is below this share of the dominant R-R is left out of its record's template.
PREMATURE_RATIO = 0.85


def beat_context(segments, r_peaks, fs: float, records=None, *, pre_r_s: float = 0.25,
                 fs_out: float = 125.0) -> tuple[np.ndarray, np.ndarray]:
    """Rhythm and template features, and the template, of every beat.

    Parameters
    ----------
    segments : array_like, shape (n_beats, length) float
        The beats, cut ``pre_r_s`` seconds before their R-peak at ``fs_out``.
    r_peaks : array_like of int, shape (n_beats,)
        R-peak sample indices at ``fs``, sorted within each record.
    fs : float
        Rate of ``r_peaks`` in Hz (the record's rate).
    records : array_like of str, shape (n_beats,), optional
        The record of each beat; None: all beats are one record.
    pre_r_s, fs_out : float
        Where the segments start before the R-peak (seconds) and their rate (Hz).

    Returns
    -------
    features : numpy.ndarray, shape (n_beats, 15) float32
        Columns :data:`CONTEXT_FEATURES`, all positive.
    templates : numpy.ndarray, shape (n_beats, length) float32
        Each beat's local dominant beat (:func:`ecgseg.morphology.beat_templates` over its record's
        non-premature beats).

    Examples
    --------
    >>> r = np.arange(0, 360 * 60, 288); seg = np.tile(np.hanning(187), (r.size, 1)).astype(np.float32)
    >>> features, templates = beat_context(seg, r, 360)
    >>> features.shape, templates.shape, round(float(features[10, 2]), 2)
    ((75, 15), (75, 187), 0.8)
    """
    segments = np.asarray(segments, dtype=np.float32)
    r = np.asarray(r_peaks, dtype=np.int64)
    n = segments.shape[0]
    if segments.ndim != 2 or r.shape != (n,):
        raise ValueError(f"segments {segments.shape} and r_peaks {r.shape} must be (n_beats, length) and (n_beats,)")
    rhythm = np.empty((n, len(RHYTHM_FEATURES)), dtype=np.float32)
    for group in record_groups(records, n):
        rhythm[group] = rhythm_features(r[group], fs)
    regular = rhythm[:, RHYTHM_FEATURES.index("prev_over_median")] >= PREMATURE_RATIO
    templates = beat_templates(segments, r, fs, regular=regular, records=records)
    shape = template_features(segments, templates, r_index=int(round(pre_r_s * fs_out)), fs_out=fs_out)
    return np.concatenate([rhythm, shape], axis=1), templates


def file_context(arrays: dict, name: str = "beats") -> tuple[np.ndarray, np.ndarray]:
    """:func:`beat_context` of a loaded beat file (``segments``, ``r_peaks``, ``fs``, ``record``, ``fs_out``, ``pre_r_s``).

    Raises
    ------
    ValueError
        A key the features need is missing (a plain ``.npy``): name it and how to write a file that has it.
    """
    missing = [key for key in ("r_peaks", "fs") if key not in arrays]
    if missing:
        raise ValueError(f"{name} has no {' or '.join(missing)}: the context model needs the R-peaks of every beat; "
                         "write an .npz with `ecgseg segment record NAME --peaks hamilton -o beats.npz`")
    scalar = (lambda key, default: float(np.ravel(arrays[key])[0]) if key in arrays else default)
    return beat_context(arrays["segments"], arrays["r_peaks"], scalar("fs", 0.0), arrays.get("record"),
                        pre_r_s=scalar("pre_r_s", 0.0), fs_out=scalar("fs_out", 125.0))
