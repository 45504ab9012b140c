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
from .rhythm import RHYTHM_FEATURES, cut_intervals, rhythm_features
from .terms import say

__all__ = ["CONTEXT_FEATURES", "beat_context", "file_context", "CUT_FEATURES", "cut_context", "model_inputs",
           "PREMATURE_RATIO", "CUT_FOUND_TYPICAL", "CUT_FOUND_LOW", "cut_doubt"]

#: Column names of the features :func:`beat_context` returns.
CONTEXT_FEATURES = RHYTHM_FEATURES + TEMPLATE_FEATURES
#: Column names of the features :func:`cut_context` returns: the period T the segments tell, the beat context from
#: the R-R intervals they tell, and how the previous and next intervals are known: found exactly (1), longer than
#: the segment (0.5), unknown (0.75: the segment was cut short at its window's end, or the record's first or last).
CUT_FEATURES = ("period_s",) + CONTEXT_FEATURES + ("prev_found", "next_found")
#: Share of beats whose previous R-R :func:`cut_context` finds in a whole MIT-BIH record cut at its annotations
#: (0.82 over the 48 records): far fewer means the rows are not one record's consecutive beats.
CUT_FOUND_TYPICAL = 0.82
#: Below this share a record's rows are doubtful as consecutive beats (:func:`cut_doubt`). Chosen on the DS1 records:
#: cut at every annotated beat, 2 of 22 fall below it (108, and 207 with its flutter); cut at the paper's rule,
#: which misses beats, 7 of 22.
CUT_FOUND_LOW = 0.6

#: A beat whose previous R-R is below this share of the dominant R-R is left out of its record's template.
PREMATURE_RATIO = 0.85


def beat_context(segments, r_peaks, fs: float, records=None, *, pre_r_s: float = 0.25,
                 fs_out: float = 125.0, templates: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
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
    templates : bool
        Return the templates; False: None, and the templates are made only over the samples the features read
        (to 0.4 s after the R-peak: the same features, in a third of the time).

    Returns
    -------
    features : numpy.ndarray, shape (n_beats, 15) float32
        Columns :data:`CONTEXT_FEATURES`, all positive.
    templates : numpy.ndarray, shape (n_beats, length) float32, or None
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
        raise ValueError(f"segments have dtype {segments.dtype}, not floating point; pass the float32 beats "
                         + say("`ecgseg segment` writes", "ecgseg.segment gives"))
    segments = segments.astype(np.float32, copy=False)
    rhythm = np.empty((n, len(RHYTHM_FEATURES)), dtype=np.float32)
    for group in record_groups(records, n):
        rhythm[group] = rhythm_features(r[group], fs)
    regular = rhythm[:, RHYTHM_FEATURES.index("prev_over_median")] >= PREMATURE_RATIO
    r_index = int(round(pre_r_s * fs_out))
    read = segments if templates else segments[:, : r_index + int(round(0.4 * fs_out)) + 1]  # what the features read
    local = beat_templates(read, r, fs, regular=regular, records=records)
    shape = template_features(read, local, r_index=r_index, fs_out=fs_out)
    return np.concatenate([rhythm, shape], axis=1), (local if templates else None)


def file_context(arrays: dict, name: str = "beats", *, templates: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`beat_context` of a loaded beat file (``segments``, ``r_peaks``, ``fs``, ``record``, ``fs_out``, ``pre_r_s``).

    Raises
    ------
    ValueError
        A key the features need is missing (a plain ``.npy``): name it and how to write a file that has it.
    """
    missing = [key for key in ("r_peaks", "fs") if key not in arrays]
    if missing:
        raise ValueError(f"{name} has no {' or '.join(missing)}: the context model needs the R-peaks of every beat; "
                         + say("write an .npz with `ecgseg segment record NAME --peaks hamilton -o beats.npz`",
                               "cut them with ecgseg.segment_record(name, peaks='hamilton')"))
    scalar = (lambda key, default: float(np.ravel(arrays[key])[0]) if key in arrays else default)
    return beat_context(arrays["segments"], arrays["r_peaks"], scalar("fs", 0.0), arrays.get("record"),
                        pre_r_s=scalar("pre_r_s", 0.0), fs_out=scalar("fs_out", 125.0), templates=templates)


def _full_lengths(lengths: np.ndarray, groups, half: int = 4) -> np.ndarray:
    """Each row's uncut length: the median non-zero length of the rows within ``half`` of it in its record.

    Rows of one 10 s window share one T and so one length, but a segment is cut short at its window's end (about
    one row in ten): the median of the neighbours is the window's full length.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    full = np.empty(lengths.size, dtype=np.float64)
    for group in groups:
        padded = np.pad(lengths[group].astype(np.float64), half, mode="edge")
        full[group] = np.median(sliding_window_view(padded, 2 * half + 1), axis=1)
    return full


def cut_context(segments, records=None, *, fs_out: float = 125.0, period_factor: float = 1.2) -> np.ndarray:
    """The context of each beat read from the paper's segments alone (a plain ``.npy``, no R-peak positions).

    A segment cut at its R-peak, ``period_factor`` T long then zero-padded, tells its window's period T (its
    non-zero length; rows cut short at their window's end take their neighbours'), and the row after it starts
    inside it when the next R-R interval is shorter than the segment (:func:`ecgseg.rhythm.cut_intervals` finds
    where, to the sample). From those intervals the R-peaks are laid out again (an interval not found is taken as
    the whole segment, ``period_factor`` T, when the segment was uncut: the interval is longer; as T when it was cut
    short or the rows are not consecutive: unknown), and :func:`beat_context` gives the rhythm and template
    features of each beat as for a file with R-peaks (the template: the record's own median beat from its
    segments).

    Parameters
    ----------
    segments : array_like, shape (n_beats, length) float
        The beats cut at the R-peak (``pre_r_s`` 0), one record's in time order (rows of a record contiguous).
    records : array_like of str, shape (n_beats,), optional
        The record of each beat; None: all rows are one record.
    fs_out : float
        Rate of the segments in Hz.
    period_factor : float
        A segment spans this many periods T (the scheme's 1.2).

    Returns
    -------
    numpy.ndarray, shape (n_beats, 18) float32
        Columns :data:`CUT_FEATURES`, all positive.

    Examples
    --------
    >>> signal = np.tile(np.r_[1.0, 0.6, 0.2, np.linspace(0.1, 0.3, 97)], 80)   # a beat every 0.8 s at 125 Hz
    >>> segments = np.zeros((70, 187), np.float32)
    >>> segments[:, :120] = [signal[s:s + 120] for s in range(0, 7000, 100)]     # cut 1.2 T long
    >>> f = cut_context(segments)
    >>> [round(float(f[10, list(CUT_FEATURES).index(c)]), 2) for c in ("period_s", "rr_prev_s", "prev_found")]
    [0.8, 0.8, 1.0]
    """
    segments = np.asarray(segments)
    if segments.ndim != 2 or not np.issubdtype(segments.dtype, np.floating):
        raise ValueError(f"segments have shape {segments.shape} and dtype {segments.dtype}; pass (n_beats, length) "
                         "float beats as `ecgseg segment` writes them")
    n = segments.shape[0]
    groups = record_groups(records, n)
    lengths, lag = cut_intervals(segments, records, fs_out=fs_out)
    full = np.maximum(_full_lengths(lengths, groups), 1.0)
    uncut = lengths >= 0.9 * full  # a row cut short at its window's end cannot hold the next R-peak
    found = lag > 0
    r_peaks = np.zeros(n, dtype=np.float64)
    prev_state = np.full(n, 0.75)
    next_state = np.full(n, 0.75)
    for group in groups:
        before = group[:-1]  # the row before each row of the group but the first
        known_long = uncut[before] & ~found[group[1:]]
        steps = np.where(found[group[1:]], lag[group[1:]], np.where(known_long, lengths[before], full[before] / period_factor))
        r_peaks[group] = np.r_[0.0, np.cumsum(steps)]
        state = np.where(found[group[1:]], 1.0, np.where(known_long, 0.5, 0.75))
        prev_state[group[1:]] = state
        next_state[before] = state
    features, _ = beat_context(segments, np.round(r_peaks).astype(np.int64), fs_out, records, pre_r_s=0.0,
                               fs_out=fs_out, templates=False)
    period = full / (period_factor * fs_out)
    return np.column_stack([period, features, prev_state, next_state]).astype(np.float32)


def cut_doubt(features, records=None, name: str = "beats", *, min_beats: int = 20) -> str | None:
    """Why the :func:`cut_context` of some beats is doubtful, in one line, or None.

    The segments tell a beat's previous R-R interval only when the row before is the beat before (and the
    interval is shorter than the segment). In a record where fewer than :data:`CUT_FOUND_LOW` of the rows do, the
    rows are mostly not consecutive beats (cut at the paper's rule, which misses beats; selected or shuffled rows)
    or the rhythm is mostly long pauses: the rhythm features are then guesses.

    Parameters
    ----------
    features : numpy.ndarray, shape (n_beats, 18)
        :func:`cut_context` of the beats.
    records : array_like of str, shape (n_beats,), optional
        The record of each beat; None: all rows are one record.
    name : str
        The beats' name in the line.
    min_beats : int
        Records with fewer rows are not judged.

    Returns
    -------
    str or None
        The line (naming the records below the share when there are several), or None.

    Examples
    --------
    >>> features = np.ones((30, len(CUT_FEATURES)), np.float32)
    >>> cut_doubt(features) is None
    True
    >>> features[:, CUT_FEATURES.index("prev_found")] = 0.5
    >>> cut_doubt(features, name="b.npy").split(";")[0]
    'b.npy: the segments tell the previous R-R interval of 0% of the beats (82% when every beat is cut)'
    """
    found = np.asarray(features)[:, CUT_FEATURES.index("prev_found")] == 1.0
    low = []
    for group in record_groups(records, found.size):
        if group.size > min_beats and found[group[1:]].mean() < CUT_FOUND_LOW:
            low.append((str(records[group[0]]) if records is not None else None, found[group[1:]].mean()))
    if not low:
        return None
    where = name if records is None else f"{name}, record{'s' if len(low) > 1 else ''} " + ", ".join(
        f"{record} ({share:.0%})" for record, share in low[:5]) + (" ..." if len(low) > 5 else "")
    share = f" of {low[0][1]:.0%} of the beats" if records is None else " of under {:.0%} of the beats".format(CUT_FOUND_LOW)
    return (f"{where}: the segments tell the previous R-R interval{share} ({CUT_FOUND_TYPICAL:.0%} when every beat "
            "is cut); the rows are not consecutive beats (the paper's rule misses beats: cut with --peaks hamilton) "
            "or the rhythm pauses often, so the model's rhythm features are doubtful there")


def model_inputs(arrays: dict, config, name: str = "beats") -> tuple[np.ndarray, np.ndarray | None]:
    """The arrays a classifier reads for every beat of a loaded beat file: its input channels and its context.

    Parameters
    ----------
    arrays : dict
        A beat file as :func:`ecgseg.beatfile.load_beats` returns it.
    config
        The model's config (:class:`ecgseg.classify.ModelConfig` or its dict): ``in_channels`` (1: the beat;
        2: the beat and its template), ``n_extra`` and ``context`` (``"rr"``: the file's ``rr`` array;
        ``"beat"``: :data:`CONTEXT_FEATURES` from :func:`file_context`; ``"cut"``: :data:`CUT_FEATURES` from the
        segments alone, :func:`cut_context`, grouped by the file's ``record`` if it has one).
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
    features, templates = file_context(arrays, name, templates=channels == 2) if needs_beat else (None, None)
    x = segments if channels == 1 else np.ascontiguousarray(np.stack([segments, templates], axis=1))
    if not n_extra:
        return x, None
    if source == "beat":
        extra = features
    elif source == "cut":
        if "pre_r_s" in arrays and float(np.ravel(arrays["pre_r_s"])[0]) != 0.0:
            raise ValueError(f"{name} was cut {float(np.ravel(arrays['pre_r_s'])[0]):g} s before the R-peak; the cut "
                             "context reads segments cut at the R-peak (--pre-r-s 0)")
        fs_out = float(np.ravel(arrays["fs_out"])[0]) if "fs_out" in arrays else 125.0
        extra = cut_context(segments, arrays.get("record"), fs_out=fs_out)
    elif source == "rr":
        if "rr" not in arrays:
            raise ValueError(f"{name} has no R-R context (rr); pass "
                             + say("the .npz `ecgseg segment ... -o beats.npz` writes", "the beats of ecgseg.segment_record")
                             + ", "
                             "or a waveform-only model")
        extra = np.ascontiguousarray(arrays["rr"], dtype=np.float32)
    else:
        raise ValueError(f"unknown context {source!r} in the model's config; use 'rr', 'beat' or 'cut'")
    if extra.shape != (segments.shape[0], n_extra) or not np.isfinite(extra).all():
        raise ValueError(f"the {source} context of {name} has shape {extra.shape}, not finite (n_beats, {n_extra}); "
                         "re-segment the file with this ecgseg")
    return x, extra
