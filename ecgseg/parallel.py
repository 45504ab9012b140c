"""Run one function over many records: in this process, in local processes, or on Dask distributed.

The function takes a record name and returns a picklable result. A record
whose function raises ``ValueError``, ``FileNotFoundError`` or ``OSError`` (bad
input: the library's errors) becomes a :class:`RecordFailure` with the
record's name and the message; the other records go on. Any other exception
is a bug and propagates.

Stopped early (Ctrl-C, an error, the caller closing the generator), the run
stops at once: nothing queued starts, local worker processes are stopped
(SIGTERM, then SIGKILL), Dask's queued tasks are cancelled (:func:`halt` kills
a local cluster's workers). Local workers ignore SIGINT: a terminal's Ctrl-C
reaches every process, and stopping them is the main process's to do.

Dask is optional (``pip install ecgseg[dask]``) and imported only when a
scheduler (an address or a ``distributed.Client``) is given; :func:`local_cluster`
starts one on this machine. A cluster's workers need ``ecgseg`` installed and the
data folder at the same path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from .terms import command_line, on_command_line

__all__ = ["RecordFailure", "map_records", "local_cluster", "halt"]

#: The library's errors for bad input: they fail one record, not the run.
RECORD_ERRORS = (ValueError, FileNotFoundError, OSError)


@dataclass(frozen=True)
class RecordFailure:
    """A record that could not be segmented, and why."""

    record: str
    reason: str


def _call(function: Callable, name: str, command_line_terms: bool = False):
    """``function(name)``, a library error turned into a :class:`RecordFailure`; in another process too, its message
    names settings as the caller does (:mod:`ecgseg.terms`: the context does not cross processes, this flag does)."""
    try:
        with command_line() if command_line_terms else contextlib.nullcontext():
            return function(name)
    except RECORD_ERRORS as error:
        return RecordFailure(name, str(error))


def map_records(
    function: Callable[[str], object],
    names: Iterable[str],
    *,
    jobs: int | None = None,
    scheduler=None,
    progress: Callable[[str], None] | None = None,
) -> Iterator[tuple[str, object]]:
    """Apply ``function`` to each record name, yielding ``(name, result)`` as records finish.

    Parameters
    ----------
    function : callable
        ``function(name) -> result``; picklable (a module-level function or a
        ``functools.partial`` of one) unless ``jobs=1``.
    names : iterable of str
    jobs : int, optional
        Local worker processes when no ``scheduler`` is given; all cores by
        default, 1 runs in this process.
    scheduler : str or distributed.Client, optional
        Run on Dask instead, each record a task: a scheduler address
        (``tcp://HOST:PORT``, e.g. ``local_cluster(2).scheduler_address``) or a
        connected client (left open).
    progress : callable, optional
        Called with each finished record's name.

    Yields
    ------
    name : str
    result : object or RecordFailure
        In completion order, not ``names`` order.

    Examples
    --------
    >>> sorted(map_records(len, ["100", "2001"], jobs=1))
    [('100', 3), ('2001', 4)]
    """
    names = list(names)
    if jobs is not None and scheduler is not None:
        raise ValueError("jobs sets local processes; on Dask the scheduler's workers run the records: give jobs or scheduler")
    if not names:
        return  # start no pool for nothing
    if scheduler is not None:
        results = _map_dask(function, names, scheduler, on_command_line())
    elif min(jobs or os.cpu_count() or 1, len(names)) <= 1:
        results = ((name, _call(function, name)) for name in names)
    else:
        results = _map_processes(function, names, min(jobs or os.cpu_count() or 1, len(names)), on_command_line())
    try:
        for name, result in results:
            if progress is not None:
                progress(name)
            yield name, result
    finally:
        results.close()  # stopped early (Ctrl-C, an error, the caller closing us): the workers stop now


def _map_processes(function, names, jobs, terms):
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_start)
    try:
        futures = {pool.submit(_call, function, name, terms): name for name in names}
        for future in as_completed(futures):
            yield futures[future], future.result()
    except BaseException:  # Ctrl-C, an error, or the caller closing the generator: stop now, not after the queue
        _stop(pool)
        raise
    pool.shutdown()


def _worker_start() -> None:
    """In a worker process: Ctrl-C is the main process's to handle (it stops the workers: a terminal sends it to
    every process), and a stop (SIGTERM) unwinds like an error, so the file a worker is writing is removed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_signal)


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def _stop(pool: ProcessPoolExecutor, grace_s: float = 2.0) -> None:
    """Cancel what is queued and stop the running workers: SIGTERM, then SIGKILL after ``grace_s``."""
    # No public handle on the workers before Python 3.14's terminate_workers(); shutdown() drops this one.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + grace_s
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


def local_cluster(workers: int, **kwargs):
    """A Dask ``LocalCluster`` of ``workers`` single-threaded processes on 127.0.0.1 (its HTTP endpoint on a free port).

    Examples
    --------
    >>> with local_cluster(2) as cluster:  # doctest: +SKIP
    ...     results = dict(map_records(len, ["100"], scheduler=cluster.scheduler_address))
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    distributed = _import_distributed()
    options = dict(
        n_workers=workers,
        threads_per_worker=1,  # the kernels are single-threaded; one record per process
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",  # None still serves on 8787, and warns when another cluster holds it
        silence_logs=logging.CRITICAL,  # worker shutdown chatter; record errors come back through their futures
    )
    return distributed.LocalCluster(**{**options, **kwargs})


def halt(cluster) -> None:
    """Kill the worker processes of a cluster from :func:`local_cluster` at once (Ctrl-C): the tasks they run are
    abandoned (their records' files are never published), and the cluster then closes in a moment instead of waiting
    seconds for them. Best effort: a worker it cannot reach is left to the cluster's own close."""
    for nanny in list(getattr(cluster, "workers", {}).values()):
        # the worker process under its nanny: distributed has no public handle on it
        process = getattr(getattr(nanny, "process", None), "process", None)
        pid = getattr(process, "pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "running on Dask needs the optional dependency: pip install 'ecgseg[dask]'"
        ) from None
    return distributed


def _check_reachable(address: str) -> None:
    """Fail at once on a closed tcp:// port (Dask's own connect retries for its whole timeout)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    if parts.scheme != "tcp" or parts.port is None:
        return
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()
    except OSError as error:
        raise OSError(f"cannot reach the Dask scheduler at {address} ({error}); is it running?") from None


def _map_dask(function, names, scheduler, terms):
    distributed = _import_distributed()
    if isinstance(scheduler, str):
        _check_reachable(scheduler)
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except OSError as error:
            raise OSError(f"cannot reach the Dask scheduler at {scheduler} ({error}); is it running?") from None
    else:
        client = contextlib.nullcontext(scheduler)  # the caller's client stays open
    with client as client:
        # pure=False: a record is read from disk, so the same name may give a new result on a rerun.
        futures = {client.submit(_call, function, name, terms, pure=False, key=f"ecgseg-{i}-{name}"): name for i, name in enumerate(names)}
        try:
            for future in distributed.as_completed(futures):
                name = futures[future]
                try:
                    yield name, future.result()
                except distributed.KilledWorker as error:  # the worker died (e.g. out of memory) on this record
                    yield name, RecordFailure(name, f"Dask worker died running it ({error})")
        except BaseException:  # stopped early: nothing queued runs any more (a task already running ends on its own)
            client.cancel(list(futures), force=True)
            raise
