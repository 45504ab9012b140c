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

__all__ = ["CONTEXT_FEATURES", "beat_context", "file_context", "model_inputs", "PREMATURE_RATIO"]

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
    segments = np.asarray(segments)
    r = np.asarray(r_peaks, dtype=np.int64)
    n = segments.shape[0] if segments.ndim else 0
    if segments.ndim != 2 or r.shape != (n,):
        raise ValueError(f"segments {segments.shape} and r_peaks {r.shape} must be (n_beats, length) and (n_beats,)")
    if not np.issubdtype(segments.dtype, np.floating):
        raise ValueError(f"segments have dtype {segments.dtype}, not floating point; pass the float32 beats `ecgseg segment` writes")
    segments = segments.astype(np.float32, copy=False)
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


def model_inputs(arrays: dict, config, name: str = "beats") -> tuple[np.ndarray, np.ndarray | None]:
    """The arrays a classifier reads for every beat of a loaded beat file: its input channels and its context.

    Parameters
    ----------
    arrays : dict
        A beat file as :func:`ecgseg.beatfile.load_beats` returns it.
    config
        The model's config (:class:`ecgseg.classify.ModelConfig` or its dict): ``in_channels`` (1: the beat;
        2: the beat and its template), ``n_extra`` and ``context`` (``"rr"``: the file's ``rr`` array;
        ``"beat"``: :data:`CONTEXT_FEATURES` from :func:`file_context`).
    name : str
        The file's name in messages.

    Returns
    -------
    x : numpy.ndarray, shape (n_beats, length) or (n_beats, 2, length) float32
    extra : numpy.ndarray, shape (n_beats, n_extra) float32, or None

    Raises
    ------
    ValueError
        The file lacks what the model reads (``rr``, or ``r_peaks``/``fs``), or its context has another width.

    Examples
    --------
    >>> r = np.arange(0, 360 * 60, 288); seg = np.tile(np.hanning(187), (r.size, 1)).astype(np.float32)
    >>> x, extra = model_inputs({"segments": seg, "r_peaks": r, "fs": 360.0},
    ...                         {"in_channels": 2, "n_extra": 15, "context": "beat"})
    >>> x.shape, extra.shape
    ((75, 2, 187), (75, 15))
    """
    get = config.get if isinstance(config, dict) else (lambda key, default=None: getattr(config, key, default))
    segments = np.asarray(arrays["segments"])  # checked (shape, dtype, finite) where the model reads it
    channels, n_extra, source = int(get("in_channels", 1)), int(get("n_extra", 0)), get("context", "rr")
    needs_beat = channels == 2 or (n_extra and source == "beat")
    features, templates = file_context(arrays, name) if needs_beat else (None, None)
    x = segments if channels == 1 else np.ascontiguousarray(np.stack([segments, templates], axis=1))
    if not n_extra:
        return x, None
    if source == "beat":
        extra = features
    elif source == "rr":
        if "rr" not in arrays:
            raise ValueError(f"{name} has no R-R context (rr); pass the .npz `ecgseg segment ... -o beats.npz` writes, "
                             "or a waveform-only model")
        extra = np.ascontiguousarray(arrays["rr"], dtype=np.float32)
    else:
        raise ValueError(f"unknown context {source!r} in the model's config; use 'rr' or 'beat'")
    if extra.shape != (segments.shape[0], n_extra) or not np.isfinite(extra).all():
        raise ValueError(f"the {source} context of {name} has shape {extra.shape}, not finite (n_beats, {n_extra}); "
                         "re-segment the file with this ecgseg")
    return x, extra
