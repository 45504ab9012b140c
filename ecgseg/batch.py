"""Many records to a folder: one ``.npz`` beat file per record and an index, so a run resumes where it stopped.

``DIR/<record>.npz`` holds one record's beats (keys of
:data:`ecgseg.beatfile.KEYS`), each written atomically by the
worker that segmented it, so no process ever holds the whole run's beats.
``DIR/index.tsv`` gets one line per finished record as it finishes (record,
status ``ok``/``failed``, beat counts, file, reason); a line cut short by a
crash is ignored, the last line of a record wins, and the index is rewritten
with one line per record at the end of a run. A rerun skips the records whose
status is ``ok`` and whose file exists, and retries the others.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from .atomic import atomic_file
from .beatfile import beat_arrays, save_beats
from .database import read_and_segment, record_path_name
from .parallel import RecordFailure, map_records
from .records import DEFAULT_DB

__all__ = ["FolderRun", "segment_to_folder", "read_index", "INDEX_NAME"]

INDEX_NAME = "index.tsv"
INDEX_COLUMNS = ("record", "status", "n_beats", "n_missed", "n_short", "file", "reason")


@dataclass
class FolderRun:
    """What one :func:`segment_to_folder` call did.

    Attributes
    ----------
    written : list of dict
        Records segmented in this run: ``record``, ``n_beats``, ``n_missed``, ``n_short``, ``file``.
    skipped : list of str
        Records already finished in an earlier run.
    failures : list of RecordFailure
        Records that failed in this run, in the order given.
    """

    written: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)


def _clean(value) -> str:
    return "" if value is None else " ".join(str(value).split())  # one line, no tabs


def read_index(output_dir: str | os.PathLike) -> dict[str, dict[str, str]]:
    """The index of a folder run: record name -> its last complete row (empty when there is no index).

    Examples
    --------
    >>> read_index("/nonexistent")
    {}
    """
    index = Path(output_dir) / INDEX_NAME
    if not index.is_file():
        return {}
    rows = {}
    for line in index.read_text().split("\n")[1:]:
        values = line.split("\t")
        if len(values) == len(INDEX_COLUMNS) and values[1] in ("ok", "failed"):
            rows[values[0]] = dict(zip(INDEX_COLUMNS, values))
    return rows


def _write_index(output_dir: Path, rows: dict[str, dict]) -> None:
    lines = ["\t".join(INDEX_COLUMNS)] + ["\t".join(_clean(row.get(c)) for c in INDEX_COLUMNS) for row in rows.values()]
    with atomic_file(output_dir / INDEX_NAME) as handle:
        handle.write(("\n".join(lines) + "\n").encode())


def _segment_to_file(name: str, output_dir: Path, db, data_dir, channel, peaks, chunk_s, params) -> dict:
    target = output_dir / f"{record_path_name(name)}.npz"
    if chunk_s is not None:
        from .chunked import write_record_beats

        summary = write_record_beats(target, name, db, data_dir=data_dir, channel=channel, peaks=peaks, chunk_s=chunk_s, **params)
    else:
        beats = read_and_segment(name, db, data_dir=data_dir, channel=channel, peaks=peaks, **params)
        save_beats(target, beat_arrays(beats, record_path_name(name)))
        summary = {"record": record_path_name(name), "n_beats": len(beats), "n_missed": beats.n_missed, "n_short": beats.n_short}
    return {**summary, "file": target.name}


def segment_to_folder(
    names: list[str],
    output_dir: str | os.PathLike,
    db: str = DEFAULT_DB,
    *,
    data_dir=None,
    channel=None,
    peaks: str = "rule",
    chunk_s: float | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = True,
    progress=None,
    **params,
) -> FolderRun:
    """Segment records into ``output_dir/<record>.npz`` with an index, skipping those an earlier run finished.

    Parameters
    ----------
    names : list of str
        Record names (or paths; the file is named after the record).
    output_dir : path
        Created if missing. Workers write their records' files there
        themselves: on a cluster it must be a folder they all see at this path.
    chunk_s : float, optional
        Read each record in chunks of about this many seconds and stream its
        beats to its file (bounded memory, the same beats).
    jobs, scheduler, workers
        Where records run: see :func:`ecgseg.parallel.map_records`.
    resume : bool
        Skip records the index lists as ``ok`` whose file exists; False redoes all.
    progress : callable, optional
        Called with each finished record's name, first for those skipped.
    **params
        Passed to :func:`ecgseg.segment_record`.

    Returns
    -------
    FolderRun

    Examples
    --------
    >>> run = segment_to_folder(["100", "101"], "beats/", data_dir="../shared/data")  # doctest: +SKIP
    >>> [row["n_beats"] for row in run.written]  # doctest: +SKIP
    [1073, 1175]
    """
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output folder {output_dir} is a file; give a folder (it is created if missing)")
    stems = [record_path_name(name) for name in names]
    repeated = sorted(s for s, n in Counter(stems).items() if n > 1)
    if repeated:
        raise ValueError(f"records {', '.join(repeated)} are given more than once (by name or path); each record needs its own file")
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = read_index(output_dir) if resume else {}
    done = {r for r, row in rows.items() if row["status"] == "ok" and (output_dir / row["file"]).is_file()}
    run = FolderRun(skipped=[n for n, s in zip(names, stems) if s in done])
    todo = [n for n, s in zip(names, stems) if s not in done]
    for name in run.skipped if progress is not None else ():
        progress(name)
    _write_index(output_dir, rows)  # compact, and no line cut short by a crash for the log to continue
    task = partial(_segment_to_file, output_dir=output_dir, db=db, data_dir=data_dir, channel=channel, peaks=peaks, chunk_s=chunk_s, params=params)
    try:
        with open(output_dir / INDEX_NAME, "a") as log:
            for name, result in map_records(task, todo, jobs=jobs, scheduler=scheduler, workers=workers, progress=progress):
                if isinstance(result, RecordFailure):
                    run.failures.append(result)
                    row = {"record": record_path_name(name), "status": "failed", "reason": result.reason}
                else:
                    run.written.append(result)
                    row = {**result, "status": "ok"}
                rows[row["record"]] = row
                log.write("\t".join(_clean(row.get(c)) for c in INDEX_COLUMNS) + "\n")
                log.flush()  # a crash after this line loses nothing already finished
    finally:
        _write_index(output_dir, rows)
    order = {stem: i for i, stem in enumerate(stems)}
    run.failures.sort(key=lambda f: order[record_path_name(f.record)])
    run.written.sort(key=lambda row: order.get(row["record"], len(order)))
    return run
