"""Many records to beats: one function, :func:`segment_records`, gathering every beat or writing one file per record.

Records run in this process, in local processes (``jobs``) or as tasks on Dask (``scheduler``: an address or a
``distributed.Client``; see :mod:`ecgseg.parallel`). A record that fails with a library error is reported by
name and reason; the others go on. Either way the result is one :class:`RecordsRun`.

With ``output_dir``, ``DIR/<record>.npz`` holds one record's beats (the keys of :data:`ecgseg.beatfile.KEYS`),
written by the worker that segmented it (:func:`ecgseg.pipeline.write_record`), so no process ever holds the whole
run's beats. The worker writes it under a hidden name of the run; this process gives it its name and its line in
``DIR/index.tsv`` together (Ctrl-C waits for both), so the folder holds exactly the record files its index lists,
whatever stops the run: Ctrl-C stops the workers at once (:class:`Interrupted`), and what a stopped worker left is
removed. The index gets one line per finished record as it finishes (record, status ``ok``/``failed``, beat counts,
file, reason); a line cut short by a crash is ignored, the last line of a record wins, and the index is rewritten
with one line per record at the end of a run. A rerun skips the records whose status is ``ok`` and whose file
exists, and retries the others.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from .annotations import DEFAULT_ANNOTATOR
from .atomic import atomic_file
from .beatfile import beat_arrays, concatenate
from .parallel import RecordFailure, map_records
from .pipeline import RecordSummary, segment_record, write_record
from .records import DEFAULT_DB, open_record, record_name

__all__ = ["RecordsRun", "segment_records", "read_index", "Interrupted", "INDEX_NAME"]

INDEX_NAME = "index.tsv"
INDEX_COLUMNS = ("record", "status", "n_beats", "n_missed", "n_short", "file", "reason")


@dataclass
class RecordsRun:
    """What one :func:`segment_records` call did.

    Attributes
    ----------
    done : list of RecordSummary
        Records segmented in this run, in the order given (with ``file`` set when written to a folder).
    skipped : list of str
        Records a folder's index lists as finished by an earlier run.
    failures : list of RecordFailure
        Records that failed in this run, in the order given.
    arrays : dict or None
        Without ``output_dir``: the beat arrays of every record done, joined in order
        (:func:`ecgseg.beatfile.concatenate`); None when none was.
    """

    done: list[RecordSummary] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[RecordFailure] = field(default_factory=list)
    arrays: dict | None = None

    @property
    def n_beats(self) -> int:
        return sum(summary.n_beats for summary in self.done)

    @property
    def n_missed(self) -> int:
        """Reference beats missed, summed over the records done (those without annotations count 0)."""
        return sum(summary.n_missed or 0 for summary in self.done)

    @property
    def n_short(self) -> int:
        return sum(summary.n_short for summary in self.done)

    @property
    def n_close(self) -> int:
        """Beats within 0.2 s of the previous R-peak, summed over the records done."""
        return sum(summary.n_close for summary in self.done)

    def _sum_known(self, key: str) -> int | None:
        """A per-record count summed over the records done that have it (None: none has it)."""
        counts = [getattr(summary, key) for summary in self.done if getattr(summary, key) is not None]
        return sum(counts) if counts else None

    @property
    def n_poor(self) -> int | None:
        """Beats of poor signal quality, summed over the records done whose quality was measured (None: none)."""
        return self._sum_known("n_poor")

    @property
    def n_reference(self) -> int | None:
        """Reference beats, summed over the records done that have annotations (None: none has)."""
        return self._sum_known("n_reference")

    @property
    def n_unmatched(self) -> int | None:
        """Beats cut at no reference beat, summed over the records done that have annotations (None: none has)."""
        return self._sum_known("n_unmatched")

    @property
    def n_detected(self) -> int | None:
        """Beats the recommended detector finds, summed over the rule-cut records done without annotations."""
        return self._sum_known("n_detected")

    @property
    def duration_s(self) -> float:
        """The records' length (s), summed over the records done."""
        return sum(summary.duration_s for summary in self.done)


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


def _gather_one(name: str, db, data_dir, channel, annotator, peaks, chunk_s, params) -> tuple[dict, RecordSummary]:
    source = open_record(name, db, data_dir=data_dir, channel=channel, annotator=annotator)
    beats = segment_record(source, peaks=peaks, chunk_s=chunk_s, **params)
    return beat_arrays(beats, source.name), RecordSummary.of(beats, source.name)


def _unpublished(output_dir: Path, stem: str, run_id: str) -> Path:
    """Where a worker writes a record's file: a hidden name of this run, which only the main process publishes."""
    target = output_dir / f"{stem}.npz"  # a record in a subfolder gets the same subfolder here
    return target.with_name(f".{target.stem}.{run_id}.unpublished.npz")


#: A file no run published: ``.<leaf>.<run id>.unpublished.npz``, or the temporary file of one being written.
_UNPUBLISHED = re.compile(r"^\.\.?(?P<leaf>.+)\.[0-9a-f]{12}\.unpublished\.npz(\..+\.part)?$")


def _write_one(name: str, output_dir: Path, run_id: str, db, data_dir, channel, annotator, peaks, chunk_s,
               params) -> tuple[RecordSummary, str]:
    source = open_record(name, db, data_dir=data_dir, channel=channel, annotator=annotator)
    part = _unpublished(output_dir, source.name, run_id)
    part.parent.mkdir(parents=True, exist_ok=True)
    summary = write_record(part, source, peaks=peaks, chunk_s=chunk_s, **params)
    return replace(summary, file=f"{source.name}.npz"), str(part)


def segment_records(
    names: list[str],
    db: str = DEFAULT_DB,
    *,
    output_dir: str | os.PathLike | None = None,
    data_dir=None,
    channel=None,
    annotator: str = DEFAULT_ANNOTATOR,
    peaks: str = "rule",
    chunk_s: float | None = None,
    jobs: int | None = None,
    scheduler=None,
    resume: bool = True,
    progress=None,
    **params,
) -> RecordsRun:
    """Segment many records, keeping the others when one fails: all beats gathered, or one file per record.

    Parameters
    ----------
    names : list of str
        Record names (or paths; a record's file is named after the record).
    db, data_dir, channel, annotator, peaks, chunk_s, **params
        As for :func:`ecgseg.segment_record`, for every record.
    output_dir : path, optional
        Write ``output_dir/<record>.npz`` per record and an index instead of gathering the beats here; created
        if missing. Workers write their records' files themselves: on a cluster it must be a folder they all
        see at this path.
    jobs : int, optional
        Local worker processes; all cores by default, 1 runs in this process.
    scheduler : str or distributed.Client, optional
        Run on Dask: a scheduler address (``tcp://HOST:PORT``) or a client (see :func:`ecgseg.parallel.map_records`).
    resume : bool
        With ``output_dir``: skip records the index lists as ``ok`` whose file exists; False redoes all.
    progress : callable, optional
        Called with each finished record's name (first for those skipped).

    Returns
    -------
    RecordsRun

    Raises
    ------
    ValueError
        ``output_dir`` is a file, or two names are the same record.

    Examples
    --------
    >>> run = segment_records(["100", "101"], data_dir=DATA, peaks="annotations", jobs=1)
    >>> run.arrays["segments"].shape, run.failures, run.n_missed
    ((4138, 187), [], 0)
    """
    options = dict(db=db, data_dir=data_dir, channel=channel, annotator=annotator, peaks=peaks, chunk_s=chunk_s,
                   params=params)
    stems = [record_name(name, db, data_dir) for name in names]
    order = {stem: i for i, stem in enumerate(stems)}
    if output_dir is None:
        run = RecordsRun()
        results = {}
        running = map_records(partial(_gather_one, **options), names, jobs=jobs, scheduler=scheduler, progress=progress)
        with contextlib.closing(running):  # Ctrl-C: the workers stop at once, nothing is kept
            for name, result in running:
                if isinstance(result, RecordFailure):
                    run.failures.append(result)
                else:
                    results[name] = result
        ordered = [results[name] for name in names if name in results]
        run.done = [summary for _, summary in ordered]
        run.arrays = concatenate([arrays for arrays, _ in ordered]) if ordered else None
    else:
        run_id = uuid.uuid4().hex[:12]
        task = partial(_write_one, output_dir=Path(output_dir), run_id=run_id, **options)
        run = _to_folder(names, stems, Path(output_dir), task, jobs, scheduler, resume, progress)
        run.done.sort(key=lambda summary: order.get(summary.record, len(order)))
    given = {name: i for i, name in enumerate(names)}
    run.failures.sort(key=lambda failure: given[failure.record])
    return run


def _to_folder(names, stems: list[str], output_dir: Path, task, jobs, scheduler, resume, progress) -> RecordsRun:
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output folder {output_dir} is a file; give a folder (it is created if missing)")
    stem_of = dict(zip(names, stems))
    repeated = sorted(s for s, n in Counter(stems).items() if n > 1)
    if repeated:
        raise ValueError(f"records {', '.join(repeated)} are given more than once (by name or path); each record needs its own file")
    output_dir.mkdir(parents=True, exist_ok=True)
    rows = read_index(output_dir)  # rows of records not redone stay: their files are still there
    finished = {r for r, row in rows.items() if row["status"] == "ok" and (output_dir / row["file"]).is_file()}
    finished = finished if resume else set()
    run = RecordsRun(skipped=[n for n, s in zip(names, stems) if s in finished])
    todo = [n for n, s in zip(names, stems) if s not in finished]
    for name in run.skipped if progress is not None else ():
        progress(name)
    _tidy(output_dir, [stem_of[name] for name in todo], rows)
    _write_index(output_dir, rows)  # compact, and no line cut short by a crash for the log to continue
    results = map_records(task, todo, jobs=jobs, scheduler=scheduler, progress=progress)
    try:
        with open(output_dir / INDEX_NAME, "a") as log:
            for name, result in results:
                with _uninterrupted():  # a record's file and its index line go together
                    row = _publish(output_dir, stem_of[name], result, run)
                    rows[row["record"]] = row
                    log.write("\t".join(_clean(row.get(c)) for c in INDEX_COLUMNS) + "\n")
                    log.flush()  # a crash after this line loses nothing already finished
    except KeyboardInterrupt:
        results.close()  # the workers stop before the folder is tidied
        raise Interrupted(run, partial(_tidy, output_dir, [stem_of[name] for name in todo], rows)) from None
    finally:
        results.close()
        _tidy(output_dir, [stem_of[name] for name in todo], rows)
        _write_index(output_dir, rows)
    return run


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a folder run: the local workers are stopped, the folder holds only files its index lists.

    Attributes
    ----------
    run : RecordsRun
        What was done before it stopped.
    tidy : callable
        Removes again what no run published: call it once a cluster's workers are stopped too (a task running on
        Dask ends on its own and may leave its unpublished file after the run has ended).
    """

    def __init__(self, run: RecordsRun, tidy):
        super().__init__("interrupted")
        self.run, self.tidy = run, tidy


def _publish(output_dir: Path, stem: str, result, run: RecordsRun) -> dict:
    """Give a finished record's file its name (or, for a failure, remove an older one), and its index row."""
    target = output_dir / f"{stem}.npz"
    if isinstance(result, RecordFailure):
        run.failures.append(result)
        target.unlink(missing_ok=True)  # an earlier run's file for a record that now fails: the index must not lie
        return {"record": stem, "status": "failed", "reason": result.reason}
    summary, part = result
    os.replace(part, target)
    run.done.append(summary)
    return {"record": summary.record, "status": "ok", "n_beats": summary.n_beats, "n_missed": summary.n_missed,
            "n_short": summary.n_short, "file": summary.file}


def _tidy(output_dir: Path, stems: list[str], rows: dict) -> None:
    """Remove what no run published for these records (a stopped worker's files), and a file the index does not
    list as finished: the folder holds the files its index lists, and only those. Each folder is listed once."""
    leaves: dict[Path, set[str]] = {}
    for stem in stems:
        target = output_dir / f"{stem}.npz"
        leaves.setdefault(target.parent, set()).add(target.stem)
        row = rows.get(stem)
        if row is None or row["status"] != "ok":
            target.unlink(missing_ok=True)
    for folder, names in leaves.items():
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            found = _UNPUBLISHED.match(entry.name)
            if found is not None and found["leaf"] in names:
                Path(entry.path).unlink(missing_ok=True)


@contextlib.contextmanager
def _uninterrupted():
    """Ctrl-C (SIGINT) during the block is held until it ends, then raised (main thread only: where Python runs
    signal handlers). A handler, not a signal mask: the pool's threads would still take a masked signal."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        if callable(previous):
            previous(signal.SIGINT, held[0])
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt
