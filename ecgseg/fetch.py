"""Download PhysioNet databases into the data folder: verified, atomic, resumable.

Files land in ``DATA/<db>/`` in PhysioNet's own layout, the folder that
:func:`ecgseg.read_record` reads (``DATA`` is :func:`ecgseg.records.resolve_data_dir`).
A database is read from ``BASE/<db>/<version>/``; ``BASE`` is ``base_url``, else
``$ECGSEG_PHYSIONET_URL``, else PhysioNet's files URL.

What is fetched: ``RECORDS`` (and ``ANNOTATORS`` when the database has one), the
record lists it nests (a line ending in ``/`` names a folder with its own ``RECORDS``,
as in PTB-XL), then for each record its header, the signal files the header names (read
with wfdb; for a multi-segment record, its segments' headers and their signal files),
and its annotation files (one per annotator, e.g. ``100.atr``). Records in subfolders
keep their paths: ptbdb's ``patient001/s0010_re`` lands in ``DATA/ptbdb/patient001/``.

Names from the server: every path read from ``SHA256SUMS.txt``, a record list, the
annotator list or a header is checked before a file of that name is written (no ``..``,
no absolute path, no backslash, no ``%``-encoding, ...; see
:func:`ecgseg._layout.check_name`), and no write may pass through a symbolic link out of
the database folder. A server that names such a path is not trusted: the fetch stops with
:class:`UnsafeName` naming the entry, and removes what it downloaded from that server in
this run. A record the server does not have (listed in ``RECORDS``, but its header or a
file its header names is absent) is set aside, nothing of it kept, and the other records
are fetched; :class:`MissingRecords` then names it.

Trust: every file is checked against the server's ``SHA256SUMS.txt``. Transfers
go through pooch, which writes to a temporary name, checks the SHA-256 and only
then renames, retrying network errors with back-off; so an interrupted run never
leaves a file that looks complete, and the next run resumes. A local file that
fails its checksum is downloaded again.

Offline: when the server cannot be reached, the files on disk are checked against
the local copy of ``SHA256SUMS.txt`` (saved by an earlier fetch). If every wanted
file is there and matches, the fetch succeeds without writing anything, and says
that the list could not be checked against the server. This is sound because a
PhysioNet version never changes once published (new data gets a new version), but
the files are then only as trustworthy as that local list. If anything is missing,
the fetch fails and names it.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ._http import SUMS, example, get, get_with_retries, parse_sums, term
from ._layout import UnsafeName, read_local_records
from ._transfer import Fetcher, refusal
from .records import resolve_data_dir

__all__ = [
    "DATABASES", "DEFAULT_BASE_URL", "Progress", "FetchResult", "MissingRecords", "UnsafeName", "DatabaseStatus", "fetch",
    "list_databases", "parse_database",
]

DEFAULT_BASE_URL = "https://physionet.org/files/"

#: Known PhysioNet databases: slug -> (current version, title).
DATABASES = {
    "mitdb": ("1.0.0", "MIT-BIH Arrhythmia Database"),
    "ptbdb": ("1.0.0", "PTB Diagnostic ECG Database"),
    "incartdb": ("1.0.0", "St Petersburg INCART 12-lead Arrhythmia Database"),
    "svdb": ("1.0.0", "MIT-BIH Supraventricular Arrhythmia Database"),
    "nsrdb": ("1.0.0", "MIT-BIH Normal Sinus Rhythm Database"),
    "ltafdb": ("1.0.0", "Long Term AF Database"),
}


@dataclass(frozen=True)
class Progress:
    """What a fetch has done so far, passed to the ``progress`` callback.

    ``files_total`` grows while headers name their signal files;
    ``bytes_downloaded`` counts this run's downloads, including the file in flight.
    ``bytes_remaining`` estimates what is left to download, taking each file still to
    come to be as large as the mean of the files with its extension downloaded so far
    (so it is None until one of each has come, and too high for files already on disk).
    """

    file: str
    files_done: int
    files_total: int
    bytes_downloaded: int
    bytes_remaining: int | None = None


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` did.

    Attributes
    ----------
    db, version : str
        The database slug and version.
    folder : pathlib.Path
        Where the files are (``DATA/<db>``).
    url : str
        Where they come from (``BASE/<db>/<version>/``).
    files : tuple of str
        Every file of the fetched records (and the lists), relative to ``folder``.
    downloaded : tuple of str
        Those downloaded in this run.
    bytes_downloaded : int
    checksums : str
        ``"server"`` (checked against the server's SHA256SUMS.txt), ``"local"``
        (server unreachable: checked against the local copy) or ``"none"``
        (the server has no SHA256SUMS.txt: not verified).
    offline_reason : str or None
        Why the server could not be reached, when it could not.
    seconds : float
    records : tuple of str
        The records fetched, complete on disk (``"patient001/s0010_re"``).
    missing : dict of str to str
        Records (or listed folders) in the record lists that the server does not have -> why.
    """

    db: str
    version: str
    folder: Path
    url: str
    files: tuple[str, ...]
    downloaded: tuple[str, ...]
    bytes_downloaded: int
    checksums: str
    offline_reason: str | None
    seconds: float
    records: tuple[str, ...] = ()
    missing: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """One line saying what was downloaded, how it was checked, and which listed records the server lacks."""
        if not self.missing:
            return self._fetched()
        n, listed = len(self.missing), len(self.records) + len(self.missing)
        shown = "; ".join(f"{name} ({why})" for name, why in list(self.missing.items())[:5])
        more = f"; ... ({n} in all)" if n > 5 else ""
        return (
            f"{self._fetched()}; NOT fetched, {n} of {listed} listed record{'s' if listed > 1 else ''} "
            f"(nothing of {'them' if n > 1 else 'it'} kept): {shown}{more}"
        )

    def _fetched(self) -> str:
        head = f"{self.db} {self.version}: {len(self.files)} files in {self.folder}"
        if self.checksums == "local":
            return (
                f"{head}, all verified against the local {SUMS}; nothing downloaded "
                f"({self.offline_reason}, so that list itself could not be checked against the server)"
            )
        checked = f"verified against the server's {SUMS}" if self.checksums == "server" else f"NOT verified (the server has no {SUMS})"
        if not self.downloaded:
            return f"{head}, all already on disk and {checked}; nothing downloaded"
        return (
            f"{head}: downloaded {len(self.downloaded)} ({_megabytes(self.bytes_downloaded)} in {self.seconds:.1f} s), "
            f"{len(self.files) - len(self.downloaded)} already on disk; all {checked}"
        )


class MissingRecords(ValueError):
    """Records listed in a record list that the server does not have; the others were fetched.

    Attributes
    ----------
    result : FetchResult
        What was fetched; ``result.missing`` maps each record (or listed folder) to why.
    """

    def __init__(self, result: FetchResult):
        super().__init__(result.summary())
        self.result = result


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def parse_database(db: str) -> tuple[str, str]:
    """Split ``"mitdb"`` or ``"mitdb/1.0.0"`` into slug and version; a bare slug must be known.

    Examples
    --------
    >>> parse_database("mitdb")
    ('mitdb', '1.0.0')
    >>> parse_database("ptb-xl/1.0.3")
    ('ptb-xl', '1.0.3')
    """
    name, _, version = db.strip("/").partition("/")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name) or (version and not re.fullmatch(r"[0-9]+(\.[0-9A-Za-z]+)*", version)):
        raise ValueError(f"{db!r} is not a PhysioNet database: give a slug such as mitdb, or slug/version such as ptb-xl/1.0.3")
    if not version:
        if name not in DATABASES:
            raise ValueError(
                f"unknown database {name!r}: known are {', '.join(DATABASES)}; "
                f"for another PhysioNet database give its version, e.g. {example(name + '/1.0.0')}"
            )
        version = DATABASES[name][0]
    return name, version


def fetch(
    db: str = "mitdb",
    records: list[str] | None = None,
    *,
    data_dir=None,
    base_url: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    retries: int = 3,
    timeout: float = 30.0,
) -> FetchResult:
    """Download a PhysioNet database (or some of its records), verified, into the data folder.

    Parameters
    ----------
    db : str
        ``"mitdb"`` (a known slug, see :data:`DATABASES`) or ``"slug/version"``.
    records : list of str, optional
        Records to fetch, as the record lists name them (``"100"``, ``"patient001/s0010_re"``,
        ``"records100/00000/00001_lr"``), or folders (``"records100/00000/"``: every record
        below it); default: every record.
    data_dir : path, optional
        See :func:`ecgseg.records.resolve_data_dir`; files go to ``DATA/<db>/``.
    base_url : str, optional
        Server root (default ``$ECGSEG_PHYSIONET_URL``, else :data:`DEFAULT_BASE_URL`).
    progress : callable, optional
        Called with a :class:`Progress` after each file and while downloading.
    retries : int
        Extra attempts after a network error or checksum mismatch (waits 1 s, 2 s, ...).
    timeout : float
        Seconds to wait for the server to connect or send.

    Returns
    -------
    FetchResult

    Raises
    ------
    MissingRecords
        Records in the lists that the server does not have (or whose header wfdb cannot
        read): the others were fetched, nothing of these kept; ``error.result`` says what was.
    UnsafeName
        A name from the server that would lead outside the database folder (``../x``, ``/x``,
        ``a\\b``, ``%2e%2e``, ...); what this run downloaded from that server is removed.
    ValueError
        Unknown database or requested record, a download that does not match its checksum,
        or a write that would pass through a symbolic link out of the database folder.
    ConnectionError
        The server cannot be reached (after retries) and files are missing; names them.

    Examples
    --------
    >>> result = fetch("mitdb", ["100"], data_dir="data")  # doctest: +SKIP
    >>> result.files  # doctest: +SKIP
    ('RECORDS', 'ANNOTATORS', '100.hea', '100.dat', '100.atr')
    """
    start = time.perf_counter()
    name, version = parse_database(db)
    base = (base_url or os.environ.get("ECGSEG_PHYSIONET_URL") or DEFAULT_BASE_URL).rstrip("/")
    url = f"{base}/{name}/{version}/"
    folder = resolve_data_dir(data_dir) / name
    report = None if progress is None else lambda *fields: progress(Progress(*fields))  # Fetcher gives the fields
    kwargs = dict(name=name, version=version, folder=folder, url=url, progress=report, retries=retries, timeout=timeout)

    try:
        sums_bytes = get(url + SUMS, timeout)
    except ConnectionError as error:
        local = folder / SUMS
        offline = Fetcher(sums=parse_sums(local.read_bytes(), local) if local.is_file() else None, online=False, **kwargs)
        if offline.sums is not None:
            offline.run(records)
            if not offline.problems:
                return _result(offline, "local", str(error), start)
        sums_bytes = get_with_retries(url + SUMS, timeout, retries, offline, error)

    if sums_bytes is None and get(url + "RECORDS", timeout, head=True) is None:
        raise ValueError(
            f"no database {name} version {version} at {url} (no {SUMS}, no RECORDS); check the name and version "
            f"on physionet.org, or {term('base_url')} (databases that need credentials are not supported)"
        )
    try:
        sums = parse_sums(sums_bytes, url + SUMS) if sums_bytes is not None else None
    except UnsafeName as error:
        raise UnsafeName(refusal(url, folder, error, removed=0)) from None
    fetcher = Fetcher(sums=sums, sums_bytes=sums_bytes, online=True, **kwargs)
    fetcher.run(records)
    result = _result(fetcher, "server" if sums is not None else "none", None, start)
    if result.missing:
        raise MissingRecords(result)
    return result


def _result(run: Fetcher, checksums: str, offline_reason: str | None, start: float) -> FetchResult:
    """What a pass over the database did, as the :class:`FetchResult` that :func:`fetch` returns."""
    return FetchResult(
        db=run.name,
        version=run.version,
        folder=run.folder,
        url=run.url,
        files=tuple(run.kept_files()),
        downloaded=tuple(run.downloaded),
        bytes_downloaded=run.bytes_done,
        checksums=checksums,
        offline_reason=offline_reason,
        seconds=time.perf_counter() - start,
        records=tuple(run.records),
        missing=dict(run.missing),
    )


@dataclass(frozen=True)
class DatabaseStatus:
    """A database and how much of it is on disk (files present; :func:`fetch` verifies them).

    ``version`` is None for a database folder found on disk that is not in :data:`DATABASES`
    (fetch it as ``slug/version``). ``records_total`` is None when the folder has no
    ``RECORDS``; ``lists_missing`` counts nested record lists named but not on disk (their
    records are then not in ``records_total``).
    """

    name: str
    version: str | None
    title: str
    folder: Path
    records_total: int | None
    records_on_disk: int
    lists_missing: int = 0


def list_databases(data_dir=None) -> list[DatabaseStatus]:
    """The known databases, then any other database folder in the data folder, with what is on disk.

    A record counts as on disk when its header and the signal files it names are there;
    nested record lists (PTB-XL's layout) are followed.

    Examples
    --------
    >>> [s.name for s in list_databases("/nonexistent")][:2]
    ['mitdb', 'ptbdb']
    """
    root = resolve_data_dir(data_dir)
    names = list(DATABASES)
    if root.is_dir():
        names += sorted(p.name for p in root.iterdir() if p.name not in DATABASES and (p / "RECORDS").is_file())
    statuses = []
    for name in names:
        version, title = DATABASES.get(name, (None, ""))
        folder = root / name
        total, on_disk, lists_missing = None, 0, 0
        if (folder / "RECORDS").is_file():
            records, missing = read_local_records(folder)
            total, lists_missing = len(records), len(missing)
            on_disk = sum(_record_on_disk(folder / r) for r in records)
        statuses.append(DatabaseStatus(name, version, title, folder, total, on_disk, lists_missing))
    return statuses


def _record_on_disk(path: Path) -> bool:
    """Header and the files it names are there (for a multi-segment record: each segment's)."""
    import wfdb

    if not path.parent.joinpath(f"{path.name}.hea").is_file():
        return False
    try:
        header = wfdb.rdheader(str(path))
    except Exception:  # a broken header: not usable, so not on disk
        return False
    segments = getattr(header, "seg_name", None)
    if segments:
        return all(_record_on_disk(path.parent / s) for s in segments if s != "~")
    return all((path.parent / f).is_file() for f in (header.file_name or []) if f != "~")
