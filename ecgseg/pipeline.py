"""A record to labelled beats: open it, cut it (whole or in chunks), label the beats from its reference annotations.

:func:`segment_record` gives the :class:`~ecgseg.beats.Beats` in memory; :func:`write_record` writes them to a
beat file, streaming the segments from a temporary file when the record is read in chunks, so a long record
never has all its segments in memory. Both are the same steps: the record is opened with
:func:`ecgseg.records.open_record` (or taken as given, already read), cut with :func:`ecgseg.segment` on its
lead (whole, or ``chunk_s`` seconds at a time: the same beats), and labelled with
:func:`ecgseg.labels.label_beats`. Many records: :func:`ecgseg.batch.segment_records`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .aami import TOLERANCE_S
from .beatfile import beat_arrays, key_array, save_beats
from .beats import Beats
from .labels import beat_symbols, label_beats, reference_beats
from .annotations import DEFAULT_ANNOTATOR
from .records import DEFAULT_DB, open_record
from .peaks import DETECTORS
from .scheme import DEFAULTS, RECOMMENDED_PEAKS, classifier_pre_r_s
from .segmentation import Spool, segment
from .terms import setting

__all__ = ["segment_record", "write_record", "RecordSummary"]


@dataclass(frozen=True)
class RecordSummary:
    """What was cut from one record (without its segments), as :func:`write_record` returns it.

    Attributes
    ----------
    record : str
        The record's name.
    n_beats : int
        Beats cut.
    n_missed : int or None
        Reference beats no cut beat matched (None: the record has no annotations).
    n_short : int
        Beats cut with an implausibly short period T (see :attr:`ecgseg.beats.Beats.n_short`).
    labels : numpy.ndarray, shape (n_beats,) int8
        AAMI class of each beat, -1 for none.
    file : str or None
        The beat file's name, when written by a many-records run.
    lead, channel, database, notes
        As :class:`ecgseg.beats.Beats` has them: the lead used, where the record came from, what is doubtful.
    n_reference : int or None
        Reference beats in the record (None: no annotations).
    n_detected : int or None
        Beats the recommended detector finds, for a rule cut of a record without annotations.
    duration_s : float
        The record's length (s).
    peaks : str
        How the beats' R-peaks were found.
    n_close : int
        Beats within 0.2 s of the previous R-peak (see :attr:`ecgseg.beats.Beats.n_close`).
    n_poor : int or None
        Beats of poor signal quality (see :attr:`ecgseg.beats.Beats.n_poor`; None: quality not measured).
    n_unmatched : int or None
        Beats cut where no reference beat is, within the tolerance (see :attr:`ecgseg.beats.Beats.n_unmatched`;
        None: the record has no annotations).
    """

    record: str
    n_beats: int
    n_missed: int | None
    n_short: int
    labels: np.ndarray
    file: str | None = None
    lead: str = ""
    channel: int = -1
    database: str = ""
    notes: tuple[str, ...] = ()
    n_reference: int | None = None
    n_detected: int | None = None
    duration_s: float = 0.0
    peaks: str = "rule"
    n_close: int = 0
    n_poor: int | None = None
    n_unmatched: int | None = None

    @classmethod
    def of(cls, beats: Beats, record: str, file: str | None = None) -> RecordSummary:
        """The summary of one record's beats."""
        return cls(record, len(beats), beats.n_missed, beats.n_short, key_array("labels", beats, record), file,
                   lead=beats.lead, channel=beats.channel, database=beats.database, notes=beats.notes,
                   n_reference=beats.n_reference, n_detected=beats.n_detected, duration_s=beats.duration_s,
                   peaks=beats.peaks, n_close=beats.n_close, n_poor=None if beats.quality is None else beats.n_poor,
                   n_unmatched=beats.n_unmatched)


def _source(record, db, data_dir, channel, annotator):
    """An opened record (names and paths are opened; a Record or RecordReader is used as it is)."""
    if isinstance(record, (str, os.PathLike)):
        return open_record(record, db, data_dir=data_dir, channel=channel, annotator=annotator)
    return record


def _cut(source, peaks, chunk_s, tolerance_s, params, spool=None, model_cut=True, model_spool=None) -> Beats:
    method = peaks if isinstance(peaks, str) else "given"
    if method == "annotations":
        why = source.annotation_problem or "no reference annotations"
        if source.has_annotations:
            peaks = reference_beats(source.ann_samples, source.ann_symbols, source.n_samples)[0]
            why = None if peaks.size else "no reference beat inside the signal"
        if why is not None:
            raise ValueError(f"record {source.name!r} has no reference beats to cut at: {why}; find its R-peaks "
                             f"with {setting('peaks', RECOMMENDED_PEAKS)}")
    beats = segment(source.signal, source.fs, peaks=peaks, chunk_s=chunk_s, spool=spool, **params)
    beats = replace(beats, peaks=method, lead=source.channel, channel=source.channel_index, database=source.database,
                    notes=beats.notes + source.notes, diagnosis=source.diagnosis)
    cut = classifier_pre_r_s(method)
    if model_cut and abs(cut - params.get("pre_r_s", DEFAULTS.pre_r_s)) > 1e-9:
        # the same beats (the same R-peaks, periods, windows and polarity: the same steps, a detector run again
        # deterministically) cut as the classifier that suits them reads them; quality is measured once
        again = segment(source.signal, source.fs, peaks=peaks, chunk_s=chunk_s, spool=model_spool,
                        **{**params, "pre_r_s": cut, "quality": False})
        beats = replace(beats, model_segments=again.segments, model_pre_r_s=cut)
    if not source.has_annotations:
        # nothing to count the rule's misses against: count what the recommended detector finds instead
        return replace(beats, n_detected=_detected(source, chunk_s)) if method == "rule" else beats
    labels, n_missed = label_beats(beats.r_peaks, source.ann_samples, source.ann_symbols, source.fs, tolerance_s)
    symbols = beat_symbols(beats.r_peaks, source.ann_samples, source.ann_symbols, source.fs, tolerance_s)
    n_reference = int(reference_beats(source.ann_samples, source.ann_symbols)[0].size)
    return replace(beats, labels=labels, n_missed=n_missed, n_reference=n_reference, symbols=symbols)


def _detected(source, chunk_s) -> int:
    """Beats the recommended detector finds in the record: whole, or chunk by chunk when it is read in chunks."""
    if chunk_s is None:
        return int(DETECTORS[RECOMMENDED_PEAKS](source.signal, source.fs).size)
    from .detector import detect_chunks  # the recommended detector's streaming form

    step = max(1, int(chunk_s * source.fs))
    chunks = (source.signal[a : a + step] for a in range(0, source.n_samples, step))
    return int(detect_chunks(chunks, source.fs).r_peaks.size)


def segment_record(
    record,
    db: str = DEFAULT_DB,
    *,
    data_dir=None,
    channel: str | int | None = None,
    annotator: str = DEFAULT_ANNOTATOR,
    peaks="rule",
    chunk_s: float | None = None,
    tolerance_s: float = TOLERANCE_S,
    model_cut: bool = True,
    **params,
) -> Beats:
    """Segment one record and label its beats from its reference annotations.

    Parameters
    ----------
    record : str, path, Record or RecordReader
        A record name in the data folder (``"100"``), a path (``"folder/100"``), or a record already read
        (:func:`ecgseg.read_record`) or opened (:func:`ecgseg.records.open_record`).
    db, data_dir, channel, annotator
        Where a named record is, which lead and which annotation file: as for :func:`ecgseg.records.open_record`.
    peaks : str or array_like of int
        ``"rule"`` (default), ``"annotations"`` (cut at the reference beats), a detector name, or R-peak
        sample indices.
    chunk_s : float, optional
        Read the record about this many seconds at a time: bounded memory, the same beats
        (see :func:`ecgseg.segment`).
    tolerance_s : float
        A cut beat takes the class of the reference beat within this distance (EC57's 150 ms).
    model_cut : bool
        Also cut the same beats as the best shipped classifier for them reads them (``Beats.model_segments``:
        0.25 s before the R-peak for beats cut at a detector's or the annotations' R-peaks, at the R-peak for the
        rule's), when ``pre_r_s`` cuts them otherwise, so :func:`ecgseg.classify_beats` can use that model.
    **params
        The scheme's keywords, passed to :func:`ecgseg.segment`.

    Returns
    -------
    Beats
        With ``labels``, ``n_missed`` and ``n_reference`` when the record has annotations, ``n_detected`` when it
        has none and was cut at the rule's R-peaks.

    Raises
    ------
    FileNotFoundError, ValueError
        A record that is missing or unreadable, bad keywords, ``peaks="annotations"`` without annotations.

    Examples
    --------
    >>> beats = segment_record("100", data_dir=DATA, peaks="annotations")
    >>> beats.labels[:3], len(beats), beats.n_missed
    (array([0, 0, 0], dtype=int8), 2273, 0)
    >>> chunked = segment_record("100", data_dir=DATA, peaks="annotations", chunk_s=600)
    >>> bool((chunked.segments == beats.segments).all())
    True
    """
    return _cut(_source(record, db, data_dir, channel, annotator), peaks, chunk_s, tolerance_s, params,
                model_cut=model_cut)


def write_record(
    path: str | os.PathLike,
    record,
    db: str = DEFAULT_DB,
    *,
    data_dir=None,
    channel: str | int | None = None,
    annotator: str = DEFAULT_ANNOTATOR,
    peaks="rule",
    chunk_s: float | None = None,
    tolerance_s: float = TOLERANCE_S,
    spool_dir: str | os.PathLike | None = None,
    **params,
) -> RecordSummary:
    """Segment and label one record into a beat file (``.npz``: every key; ``.npy``: the segments), atomically.

    The same beats as :func:`segment_record`; with ``chunk_s`` the segments go to a temporary file in
    ``spool_dir`` (default: the system's) and from there into ``path``, so they are never all in memory.
    Nothing is left at ``path`` if anything fails.

    Returns
    -------
    RecordSummary

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "100.npz")
    >>> summary = write_record(target, "100", data_dir=DATA, chunk_s=600)
    >>> summary.record, summary.n_beats, summary.n_missed
    ('100', 1073, 1201)
    """
    source = _source(record, db, data_dir, channel, annotator)
    model_cut = Path(path).suffix == ".npz"  # only an .npz keeps more than the segments
    with contextlib.ExitStack() as stack:
        spool, model_spool = ((stack.enter_context(Spool(spool_dir)), stack.enter_context(Spool(spool_dir)))
                              if chunk_s is not None else (None, None))
        beats = _cut(source, peaks, chunk_s, tolerance_s, params, spool, model_cut, model_spool)
        save_beats(path, beat_arrays(beats, source.name))
    return RecordSummary.of(beats, source.name, Path(path).name)
