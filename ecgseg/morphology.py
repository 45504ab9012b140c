"""Each beat against its record's own dominant beat: a local median template and how far the beat is from it.

Between patients, QRS shapes differ more than a normal beat differs from an
ectopic one of the same patient. Compared with the patient's own dominant
beat (the median of the regular, non-premature beats around it), a
ventricular beat stands out by its wide, different QRS and a supraventricular
one by its P wave, whoever the patient is. The template is a second input
channel for the classifier; :func:`template_features` summarises the
comparison in three numbers.
"""

from __future__ import annotations

import numpy as np

from . import _kernels

__all__ = ["TEMPLATE_FEATURES", "beat_templates", "template_features", "record_groups"]

#: Column names of :func:`template_features`.
TEMPLATE_FEATURES = ("qrs_dissimilarity", "wave_dissimilarity", "qrs_amplitude_ratio")


def record_groups(records, n_beats: int) -> list[np.ndarray]:
    """Index arrays of the beats of each record, in order of first appearance (one group when ``records`` is None).

    Examples
    --------
    >>> [g.tolist() for g in record_groups(np.array(["b", "b", "a"]), 3)]
    [[0, 1], [2]]
    """
    if records is None:
        return [np.arange(n_beats)]
    records = np.asarray(records).astype(str)
    if records.shape != (n_beats,):
        raise ValueError(f"records has shape {records.shape}; pass one record name per beat ({n_beats})")
    names, first, inverse = np.unique(records, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=names.size))[:-1]
    groups = np.split(order, bounds)
    return [groups[k] for k in np.argsort(first)]


def beat_templates(segments, r_peaks, fs: float, *, regular=None, records=None, half_window_s: float = 30.0,
                   block_s: float = 10.0, min_beats: int = 5, max_beats: int = 32) -> np.ndarray:
    """The local dominant beat of each beat: the sample-wise median of the regular beats around it.

    Beats are grouped in blocks of ``block_s`` seconds; every beat of a block gets the median of the
    ``regular`` beats of its record within ``half_window_s`` of the block (all beats there when fewer than
    ``min_beats`` are regular; ``max_beats`` of them evenly spread when there are more).

    Parameters
    ----------
    segments : array_like, shape (n_beats, length) float
        The beats (any cut; the template has the same cut).
    r_peaks : array_like of int, shape (n_beats,)
        R-peak sample indices at ``fs``, sorted within each record.
    fs : float
        Sampling rate of ``r_peaks`` in Hz.
    regular : array_like of bool, shape (n_beats,), optional
        Beats that may form the template, for example those not premature
        (``rhythm_features(...)[:, 3] >= 0.85``); default all.
    records : array_like of str, shape (n_beats,), optional
        The record of each beat: templates never mix records.
    half_window_s, block_s : float
        The neighbourhood of a block and the block length, seconds.
    min_beats, max_beats : int
        Fewer regular beats than ``min_beats`` in a neighbourhood: use all its beats; more than ``max_beats``:
        use that many, evenly spread.

    Returns
    -------
    numpy.ndarray, shape (n_beats, length) float32

    Examples
    --------
    >>> seg = np.tile(np.hanning(8), (20, 1)); seg[5] = 0          # one odd beat among 20 alike
    >>> t = beat_templates(seg, np.arange(20) * 360, 360)
    >>> bool(np.allclose(t, np.hanning(8), atol=1e-6))
    True
    """
    segments = np.asarray(segments, dtype=np.float32)
    r = np.asarray(r_peaks, dtype=np.int64)
    n = segments.shape[0]
    if segments.ndim != 2 or r.shape != (n,):
        raise ValueError(f"segments {segments.shape} and r_peaks {r.shape} must be (n_beats, length) and (n_beats,)")
    if not block_s > 0 or not half_window_s >= 0:
        raise ValueError(f"block_s must be > 0 and half_window_s >= 0 seconds, got {block_s!r}, {half_window_s!r}")
    regular = np.ones(n, bool) if regular is None else np.asarray(regular, bool)
    # gather every block's members first, then one kernel call takes all the medians
    members, owners = [], []
    for group in record_groups(records, n):
        t = r[group] / float(fs)
        if np.any(np.diff(t) < 0):
            raise ValueError("r_peaks must be sorted within each record")
        block = np.floor((t - t[0]) / block_s).astype(np.int64)
        starts = np.searchsorted(block, np.arange(block[-1] + 2) if group.size else [])
        for b in np.unique(block):
            lo, hi = t[0] + b * block_s - half_window_s, t[0] + (b + 1) * block_s + half_window_s
            near = group[np.searchsorted(t, lo, "left"):np.searchsorted(t, hi, "right")]
            chosen = near[regular[near]]
            chosen = chosen if chosen.size >= min_beats else near
            if chosen.size > max_beats:  # evenly spread over the neighbourhood: the cost stays bounded at fast rates
                chosen = chosen[np.linspace(0, chosen.size - 1, max_beats).round().astype(np.int64)]
            members.append(chosen)
            owners.append(group[starts[b]:starts[b + 1]])
    out = np.empty_like(segments)
    if members:
        offsets = np.concatenate([[0], np.cumsum([m.size for m in members])]).astype(np.int64)
        medians = _kernels.row_medians(np.ascontiguousarray(segments), np.concatenate(members).astype(np.int64), offsets)
        out[np.concatenate(owners)] = np.repeat(medians, [o.size for o in owners], axis=0)
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.where(denominator > 0, (a * b).sum(axis=1) / np.maximum(denominator, 1e-12), 0.0)


def template_features(segments, templates, *, r_index: int, fs_out: float = 125.0) -> np.ndarray:
    """How far each beat is from its template: QRS and whole-wave shape, and QRS amplitude.

    Parameters
    ----------
    segments, templates : array_like, shape (n_beats, length) float
        Beats and their templates (:func:`beat_templates`), cut alike.
    r_index : int
        Sample of the R-peak in a segment (``round(pre_r_s * fs_out)``).
    fs_out : float
        Rate of the segments in Hz.

    Returns
    -------
    numpy.ndarray, shape (n_beats, 3) float32
        Columns :data:`TEMPLATE_FEATURES`: ``1 - r`` (Pearson) over the QRS (0.1 s before to 0.12 s after the
        R-peak) and over the beat from the segment start to 0.4 s after the R-peak (in [0, 2]; 0 when the beat
        has the template's shape), and the beat's peak-to-peak amplitude over the QRS divided by the
        template's (floored at 1e-3 of the larger).

    Examples
    --------
    >>> x = np.sin(np.linspace(0, 6, 187))[None].astype(np.float32)
    >>> template_features(x, x, r_index=31).round(3).tolist()
    [[0.0, 0.0, 1.0]]
    """
    segments, templates = np.asarray(segments), np.asarray(templates)
    if segments.shape != templates.shape or segments.ndim != 2:
        raise ValueError(f"segments {segments.shape} and templates {templates.shape} must both be (n_beats, length)")
    length = segments.shape[1]
    qrs = slice(max(r_index - int(round(0.1 * fs_out)), 0), min(r_index + int(round(0.12 * fs_out)) + 1, length))
    wave = slice(0, min(r_index + int(round(0.4 * fs_out)) + 1, length))
    beat_wave, template_wave = (np.asarray(x[:, wave], dtype=np.float64) for x in (segments, templates))
    qrs = slice(qrs.start, min(qrs.stop, wave.stop))
    out = np.empty((segments.shape[0], len(TEMPLATE_FEATURES)), dtype=np.float32)
    out[:, 0] = 1.0 - _pearson(beat_wave[:, qrs], template_wave[:, qrs])
    out[:, 1] = 1.0 - _pearson(beat_wave, template_wave)
    beat_span = np.ptp(beat_wave[:, qrs], axis=1)
    template_span = np.ptp(template_wave[:, qrs], axis=1)
    floor = 1e-3 * np.maximum(np.maximum(beat_span, template_span), 1e-9)
    out[:, 2] = np.maximum(beat_span, floor) / np.maximum(template_span, floor)
    return out
