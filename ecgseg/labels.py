"""AAMI EC57 beat classes from MIT-BIH annotation symbols, and labelling cut beats by the nearest reference beat."""

from __future__ import annotations

import numpy as np

from .aami import AAMI_CLASSES, SYMBOL_TO_CLASS, TOLERANCE_S, UNCLASSED_BEATS
from .scheme import check_tolerance

__all__ = ["AAMI_CLASSES", "SYMBOL_TO_CLASS", "aami_classes", "is_beat_symbol", "reference_beats", "match_peaks", "label_beats",
           "beat_symbols", "missed_beats"]


def aami_classes(symbols) -> np.ndarray:
    """AAMI class index of each annotation symbol; -1 for symbols that are not beats.

    Examples
    --------
    >>> aami_classes(["N", "V", "+", "A", "/"]).tolist()
    [0, 2, -1, 1, 4]
    """
    return np.array([SYMBOL_TO_CLASS.get(s, -1) for s in symbols], dtype=np.int8)


def is_beat_symbol(symbols) -> np.ndarray:
    """Whether each annotation symbol is a beat of the WFDB standard: those with an AAMI class, and
    :data:`ecgseg.aami.UNCLASSED_BEATS` (``B r n ?``), which have none.

    Examples
    --------
    >>> is_beat_symbol(["N", "+", "B", "~", "Z"]).tolist()
    [True, False, True, False, False]
    """
    return np.array([s in SYMBOL_TO_CLASS or s in UNCLASSED_BEATS for s in symbols], dtype=bool)


def reference_beats(ann_samples, ann_symbols, n_samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The reference beats among a record's annotations: positions and AAMI classes of the beat symbols.

    Parameters
    ----------
    ann_samples, ann_symbols : array_like
        All annotations of a record (rhythm changes, noise marks and the like are skipped).
    n_samples : int, optional
        Keep only beats inside ``[0, n_samples)``, the signal read.

    Returns
    -------
    samples : numpy.ndarray, shape (n_beats,) int64
    classes : numpy.ndarray, shape (n_beats,) int8
        -1 for a beat the AAMI table has no class for (``B r n ?``).

    Examples
    --------
    >>> samples, classes = reference_beats([10, 20, 30, 40, 900], ["N", "+", "V", "B", "N"], n_samples=500)
    >>> samples.tolist(), classes.tolist()
    ([10, 30, 40], [0, 2, -1])
    """
    classes = aami_classes(ann_symbols)
    is_beat = is_beat_symbol(ann_symbols)
    if n_samples is not None:
        samples = np.asarray(ann_samples, dtype=np.int64)
        is_beat &= (samples >= 0) & (samples < n_samples)
    return np.asarray(ann_samples, dtype=np.int64)[is_beat], classes[is_beat]


def match_peaks(detected, reference, tolerance: int) -> np.ndarray:
    """Pair each detected peak with the nearest reference peak within ``tolerance`` samples, one to one.

    A reference peak claimed by several detections goes to the closest (the
    earlier on a tie); the others stay unmatched.

    Parameters
    ----------
    detected, reference : array_like of int, sorted
        Sample indices at one rate.
    tolerance : int
        Largest allowed distance in samples.

    Returns
    -------
    numpy.ndarray, shape (n_detected,) int64
        Index into ``reference`` of each detection's match, -1 for none.

    Examples
    --------
    >>> match_peaks([10, 12, 50], [11, 100], tolerance=5).tolist()
    [0, -1, -1]
    """
    detected = np.asarray(detected, dtype=np.int64)
    reference = np.asarray(reference, dtype=np.int64)
    if reference.size == 0 or detected.size == 0:
        return np.full(detected.shape[0], -1, dtype=np.int64)
    right = np.clip(np.searchsorted(reference, detected), 0, reference.size - 1)
    left = np.clip(right - 1, 0, reference.size - 1)
    dist_left = np.abs(detected - reference[left])
    dist_right = np.abs(reference[right] - detected)
    nearest = np.where(dist_right < dist_left, right, left)
    dist = np.minimum(dist_left, dist_right)
    nearest[dist > tolerance] = -1

    claimed = np.flatnonzero(nearest >= 0)
    order = claimed[np.lexsort((dist[claimed], nearest[claimed]))]  # by reference, closest first
    repeated = np.zeros(order.size, dtype=bool)
    repeated[1:] = nearest[order[1:]] == nearest[order[:-1]]
    nearest[order[repeated]] = -1
    return nearest


def label_beats(r_peaks, ann_samples, ann_symbols, fs: float, tolerance_s: float = TOLERANCE_S) -> tuple[np.ndarray, int]:
    """Label cut beats with the AAMI class of the reference beat annotation within ``tolerance_s``.

    Parameters
    ----------
    r_peaks : array_like of int, sorted
        Beat positions (samples at ``fs``).
    ann_samples, ann_symbols : array_like
        Reference annotations (all of them; non-beat symbols are skipped).
    fs : float
        Sampling rate of both.
    tolerance_s : float
        Matching window, 150 ms by default.

    Returns
    -------
    labels : numpy.ndarray, shape (n_beats,) int8
        Class index, -1 where no reference beat matched.
    n_missed : int
        Reference beats that no cut beat matched.

    Examples
    --------
    >>> labels, missed = label_beats([100, 500], [98, 300, 502], ["N", "V", "A"], fs=360)
    >>> labels.tolist(), missed
    ([0, 1], 1)
    """
    check_tolerance(tolerance_s)
    beat_samples, beat_classes = reference_beats(ann_samples, ann_symbols)
    match = match_peaks(r_peaks, beat_samples, int(round(tolerance_s * fs)))
    labels = np.full(match.shape, -1, dtype=np.int8)  # also when there is no reference beat at all
    labels[match >= 0] = beat_classes[match[match >= 0]]
    n_missed = int(beat_samples.size - np.count_nonzero(match >= 0))
    return labels, n_missed


def beat_symbols(r_peaks, ann_samples, ann_symbols, fs: float, tolerance_s: float = TOLERANCE_S) -> np.ndarray:
    """The annotation symbol of the reference beat each cut beat matched within ``tolerance_s``, ``""`` for none.

    The same matching as :func:`label_beats`, keeping the symbol rather than its AAMI class: bundle branch block
    (``L``, ``R``), escape and the other symbols an AAMI class merges stay apart, for tasks of their own.

    Examples
    --------
    >>> beat_symbols([100, 500, 900], [98, 300, 502, 700], ["L", "+", "R", "N"], fs=360).tolist()
    ['L', 'R', '']
    """
    positions = np.asarray(ann_samples, dtype=np.int64)
    symbols = np.asarray(ann_symbols, dtype=str)
    beats = is_beat_symbol(symbols)
    match = match_peaks(r_peaks, positions[beats], int(round(tolerance_s * fs)))
    beat = symbols[beats]
    return np.where(match >= 0, beat[np.maximum(match, 0)] if beat.size else "", "")


def missed_beats(r_peaks, ann_samples, ann_symbols, fs: float, tolerance_s: float = TOLERANCE_S):
    """The reference beats no cut beat matched: the same one-to-one matching as :func:`label_beats`, so there
    are its ``n_missed`` of them.

    Returns
    -------
    samples : numpy.ndarray int64
        Their positions (samples at ``fs``).
    classes : numpy.ndarray int8
        Their AAMI class indices.

    Examples
    --------
    >>> samples, classes = missed_beats([100, 500], [98, 300, 502], ["N", "V", "A"], fs=360)
    >>> samples.tolist(), classes.tolist()
    ([300], [2])
    """
    beat_samples, beat_classes = reference_beats(ann_samples, ann_symbols)
    match = match_peaks(r_peaks, beat_samples, int(round(tolerance_s * fs)))
    missed = np.ones(beat_samples.size, dtype=bool)
    missed[match[match >= 0]] = False
    return beat_samples[missed], beat_classes[missed]
