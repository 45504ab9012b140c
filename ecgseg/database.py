"""Records to labelled beats: one record, or many in parallel processes."""

from __future__ import annotations

import os
from dataclasses import replace
from functools import partial

import numpy as np

from .beats import Beats, segment
from .labels import label_beats, reference_beats
from .parallel import RecordFailure, map_records
from .beatfile import beat_arrays, concatenate
from .records import DEFAULT_DB, Record, read_record, record_path

__all__ = ["segment_record", "segment_records", "read_and_segment", "record_path_name", "RecordFailure", "annotated_beats"]


def annotated_beats(name: str, ann_samples, ann_symbols, n_samples: int) -> np.ndarray:
    """Positions of the reference beat annotations (AAMI beat symbols) inside ``[0, n_samples)``, to cut beats at."""
    if ann_samples is None:
        raise ValueError(f"record {name!r} has no reference annotations (.atr); use peaks='rule'")
    return reference_beats(ann_samples, ann_symbols, n_samples)[0]


def segment_record(record: Record, *, peaks: str = "rule", tolerance_s: float = 0.15, **params) -> Beats:
    """Segment a record and label its beats from the reference annotations.

    Parameters
    ----------
    record : Record
        From :func:`ecgseg.read_record`.
    peaks : str
        ``"rule"`` (default), ``"annotations"`` (cut at the reference beats),
        or a detector name.
    tolerance_s : float
        A cut beat takes the class of the reference beat within this distance.
    **params
        Passed to :func:`ecgseg.segment`.

    Returns
    -------
    Beats
        With ``labels`` and ``n_missed`` when the record has annotations.

    Examples
    --------
    >>> rec = read_record("100", data_dir=DATA)
    >>> segment_record(rec, peaks="annotations").labels[:3]
    array([0, 0, 0], dtype=int8)
    """
    if isinstance(peaks, str) and peaks == "annotations":
        positions = annotated_beats(record.name, record.ann_samples, record.ann_symbols, record.signal.shape[0])
        beats = replace(segment(record.signal, record.fs, peaks=positions, **params), peaks="annotations")
    else:
        beats = segment(record.signal, record.fs, peaks=peaks, **params)
    if not record.has_annotations:
        return beats
    labels, n_missed = label_beats(beats.r_peaks, record.ann_samples, record.ann_symbols, record.fs, tolerance_s)
    return replace(beats, labels=labels, n_missed=n_missed)


def read_and_segment(
    record: str | os.PathLike, db: str = DEFAULT_DB, *, data_dir=None, channel=None, peaks: str = "rule", chunk_s: float | None = None, **params
) -> Beats:
    """Read a record whole, or in chunks of about ``chunk_s`` seconds (bounded memory, the same beats), and segment and label it.

    Examples
    --------
    >>> beats = read_and_segment("100", data_dir=DATA, chunk_s=600)
    >>> beats.segments.shape
    (1073, 187)
    """
    if chunk_s is None:
        return segment_record(read_record(record, db, data_dir=data_dir, channel=channel), peaks=peaks, **params)
    from .chunked import segment_record_chunked

    return segment_record_chunked(record, db, data_dir=data_dir, channel=channel, peaks=peaks, chunk_s=chunk_s, **params)


def _segment_one(name: str, db: str, data_dir, channel, peaks: str, chunk_s, params: dict):
    beats = read_and_segment(name, db, data_dir=data_dir, channel=channel, peaks=peaks, chunk_s=chunk_s, **params)
    return beat_arrays(beats, record_path_name(name)), beats.n_missed or 0, beats.n_short


def record_path_name(name: str) -> str:
    """The record's own name, also when it is given as a path (``"data/100.hea"`` -> ``"100"``)."""
    return record_path(name, data_dir=".").name


def segment_records(
    names: list[str],
    db: str = DEFAULT_DB,
    *,
    data_dir=None,
    channel=None,
    peaks: str = "rule",
    jobs: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    chunk_s: float | None = None,
    progress=None,
    **params,
) -> tuple[dict[str, np.ndarray] | None, list[RecordFailure], dict]:
    """Segment many records in parallel, keeping the others when one fails; all beats gathered here.

    For runs too large to gather in one process, write one file per record
    with :func:`ecgseg.batch.segment_to_folder`.

    Parameters
    ----------
    names : list of str
        Record names (or paths).
    jobs : int, optional
        Local worker processes; all cores by default, 1 runs in this process.
    scheduler, workers
        Run on Dask instead: a scheduler address, or a local cluster of this
        many workers (see :func:`ecgseg.parallel.map_records`).
    chunk_s : float, optional
        Read each record in chunks of about this many seconds (bounded
        memory, the same beats; see :func:`ecgseg.chunked.segment_record_chunked`).
    progress : callable, optional
        Called with each finished record's name.
    **params
        Passed to :func:`segment_record`.

    Returns
    -------
    arrays : dict or None
        Beat arrays of all successful records in ``names`` order (see :func:`ecgseg.beatfile.beat_arrays`); None if all failed.
    failures : list of RecordFailure
        In ``names`` order.
    totals : dict
        ``n_missed`` and ``n_short`` summed over records.

    Examples
    --------
    >>> arrays, failures, totals = segment_records(["100", "101"], data_dir=DATA, peaks="annotations", jobs=1)
    >>> arrays["segments"].shape, failures, totals["n_missed"]
    ((4138, 187), [], 0)
    """
    task = partial(_segment_one, db=db, data_dir=data_dir, channel=channel, peaks=peaks, chunk_s=chunk_s, params=params)
    results: dict[str, tuple] = {}
    failures: list[RecordFailure] = []
    for name, result in map_records(task, names, jobs=jobs, scheduler=scheduler, workers=workers, progress=progress):
        if isinstance(result, RecordFailure):
            failures.append(result)
        else:
            results[name] = result
    ordered = [results[name] for name in names if name in results]
    arrays = concatenate([r[0] for r in ordered]) if ordered else None
    totals = {"n_missed": sum(r[1] for r in ordered), "n_short": sum(r[2] for r in ordered)}
    order = {name: i for i, name in enumerate(names)}
    failures.sort(key=lambda f: order[f.record])
    return arrays, failures, totals
