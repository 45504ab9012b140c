"""Download PhysioNet databases into the data folder: verified, atomic, resumable.

Files land in ``DATA/<db>/`` in PhysioNet's own layout, the folder that
:func:`ecgseg.read_record` reads (``DATA`` is :func:`ecgseg.records.resolve_data_dir`).
A database is read from ``BASE/<db>/<version>/``; ``BASE`` is ``base_url``, else
``$ECGSEG_PHYSIONET_URL``, else PhysioNet's files URL.

What is fetched: ``RECORDS`` (and ``ANNOTATORS`` when the database has one), then
for each record its header, the signal files the header names (read with wfdb),
and its annotation files (one per annotator, e.g. ``100.atr``).

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

import contextlib
import hashlib
import io
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .beatfile import default_file_mode, write_atomic
from .records import resolve_data_dir

__all__ = ["DATABASES", "DEFAULT_BASE_URL", "Progress", "FetchResult", "DatabaseStatus", "fetch", "list_databases", "parse_database"]

DEFAULT_BASE_URL = "https://physionet.org/files/"
SUMS = "SHA256SUMS.txt"

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
        Every file wanted, relative to ``folder``.
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

    def summary(self) -> str:
        """One line saying what was downloaded and how it was checked."""
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
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name) or (version and not re.fullmatch(r"[0-9A-Za-z.]+", version)):
        raise ValueError(f"{db!r} is not a PhysioNet database: give a slug such as mitdb, or slug/version such as ptb-xl/1.0.3")
    if not version:
        if name not in DATABASES:
            raise ValueError(
                f"unknown database {name!r}: known are {', '.join(DATABASES)}; "
                f"for another PhysioNet database give its version, e.g. `ecgseg fetch {name}/1.0.0`"
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
        Record names to fetch (default: every record in RECORDS).
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
    ValueError
        Unknown database or record, or a download that does not match its checksum.
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
    kwargs = dict(name=name, version=version, folder=folder, url=url, progress=progress, retries=retries, timeout=timeout)

    try:
        sums_bytes = _get(url + SUMS, timeout)
    except ConnectionError as error:
        local = folder / SUMS
        offline = _Fetcher(sums=_parse_sums(local.read_bytes(), local) if local.is_file() else None, online=False, **kwargs)
        if offline.sums is not None:
            offline.run(records)
            if not offline.problems:
                return offline.result("local", str(error), start)
        sums_bytes = _get_with_retries(url + SUMS, timeout, retries, offline, error)

    if sums_bytes is None and _get(url + "RECORDS", timeout, head=True) is None:
        raise ValueError(f"no database {name} version {version} at {url} (no {SUMS}, no RECORDS); check the name and version on physionet.org (databases that need credentials are not supported)")
    sums = _parse_sums(sums_bytes, url + SUMS) if sums_bytes is not None else None
    fetcher = _Fetcher(sums=sums, sums_bytes=sums_bytes, online=True, **kwargs)
    fetcher.run(records)
    return fetcher.result("server" if sums is not None else "none", None, start)


class _Fetcher:
    """One pass over a database's files: verify each on disk, download what is missing or wrong (when online)."""

    def __init__(self, name, version, folder, url, sums, online, progress, retries, timeout, sums_bytes=None):
        self.name, self.version, self.folder, self.url = name, version, folder, url
        self.sums, self.sums_bytes, self.online = sums, sums_bytes, online
        self.progress, self.retries, self.timeout = progress, retries, timeout
        self.files: list[str] = []
        self.downloaded: list[str] = []
        self.problems: dict[str, str] = {}  # offline pass: file -> what is wrong with it
        self.bytes_done = 0
        self.files_done = 0
        self._sizes: dict[str, list[int]] = {}  # extension -> [bytes, files] downloaded, for the estimate
        self._pooch = None

    def run(self, records) -> None:
        meta = ["RECORDS"] + (["ANNOTATORS"] if self._exists("ANNOTATORS") else [])
        self._ensure_all(meta, later=["record files"])
        if "RECORDS" in self.problems:
            return
        chosen = _select(_read_lines(self.folder / "RECORDS"), records, self.name, self.version)
        annotators = [line.split()[0] for line in _read_lines(self.folder / "ANNOTATORS")] if "ANNOTATORS" in meta else []
        headers = [f"{record}.hea" for record in chosen]
        self._ensure_all(headers, later=["their signal and annotation files"])
        data = []
        for record in chosen:
            if f"{record}.hea" not in self.problems:
                data += self._record_files(record, annotators)
        self._ensure_all(data)

    def _record_files(self, record: str, annotators: list[str]) -> list[str]:
        import wfdb  # ~0.4 s to import: only once headers are here

        path = self.folder / record
        try:
            header = wfdb.rdheader(str(path))
        except Exception as error:  # wfdb raises many types on a malformed header
            raise ValueError(f"cannot read header {path}.hea ({type(error).__name__}: {error})") from None
        if getattr(header, "seg_name", None):
            raise ValueError(f"record {record!r} of {self.name} is a multi-segment record, which `ecgseg fetch` does not handle yet")
        parent = os.path.dirname(record)
        signal_files = [os.path.join(parent, file_name) for file_name in dict.fromkeys(header.file_name or [])]
        annotations = [f"{record}.{ext}" for ext in annotators if self._exists(f"{record}.{ext}")]
        return signal_files + annotations

    def _exists(self, rel: str) -> bool:
        """Does the database have this optional file (an annotator list, an annotation)?"""
        if self.sums is not None:
            return rel in self.sums
        if (self.folder / rel).is_file() or not self.online:
            return (self.folder / rel).is_file()
        return _get(self.url + rel, self.timeout, head=True) is not None

    def _ensure_all(self, rels: list[str], later: list[str] = ()) -> None:
        self.files += rels
        for index, rel in enumerate(rels):
            try:
                self._ensure(rel)
            except ConnectionError as error:
                missing = [r for r in rels[index:] if not self._verified(r)]
                shown = ", ".join(missing[:8]) + (f", ... ({len(missing)} files)" if len(missing) > 8 else "")
                raise ConnectionError(
                    f"{error}; still missing in {self.folder}: {shown}{''.join(f' and {x}' for x in later)}; "
                    "run the same command again to resume"
                ) from None

    def _verified(self, rel: str) -> bool:
        path = self.folder / rel
        expected = self.sums.get(rel) if self.sums is not None else None
        return path.is_file() and (expected is None or _sha256(path) == expected)

    def _ensure(self, rel: str) -> None:
        if self.sums is not None and rel not in self.sums:
            if not self.online:
                self.problems[rel] = f"not in the local {SUMS}"
                return
            raise ValueError(f"{SUMS} of {self.name} {self.version} does not list {rel}, so it cannot be verified; is the list complete?")
        if not self._verified(rel):
            if not self.online:
                self.problems[rel] = "fails its checksum" if (self.folder / rel).exists() else "missing"
                return
            self._download(rel)
        self._report(rel)

    def _report(self, rel: str, in_flight: int | None = None) -> None:
        """Tell the callback: ``rel`` is done (``in_flight`` None) or has ``in_flight`` bytes so far."""
        if in_flight is None:
            self.files_done += 1
        if self.progress is not None:
            remaining = self._bytes_remaining(in_flight or 0)
            self.progress(Progress(rel, self.files_done, len(self.files), self.bytes_done + (in_flight or 0), remaining))

    def _bytes_remaining(self, in_flight: int) -> int | None:
        pending = self.files[self.files_done :]  # the file in flight first
        try:
            estimate = sum(self._sizes[_extension(rel)][0] / self._sizes[_extension(rel)][1] for rel in pending)
        except KeyError:
            return None
        return max(int(estimate) - in_flight, 0)

    def _download(self, rel: str) -> None:
        import pooch
        import requests

        if self._pooch is None:
            self._prepare_folder()
            self._pooch = pooch.create(path=self.folder, base_url=self.url, registry={}, retry_if_failed=self.retries)
        expected = self.sums.get(rel) if self.sums is not None else None
        self._pooch.registry[rel] = f"sha256:{expected}" if expected else None
        counter = _ByteCounter(lambda n: self._report(rel, n))
        downloader = pooch.HTTPDownloader(progressbar=counter, chunk_size=1 << 16, timeout=self.timeout)
        attempts = 1 + self.retries
        try:
            with _quiet_pooch():
                self._pooch.fetch(rel, downloader=downloader)
        except ValueError as error:
            got = re.search(r"but got (\w+)", str(error))
            raise ValueError(
                f"{self.url}{rel} does not match its SHA-256 in {SUMS} after {attempts} attempts "
                f"(expected {expected}, got {got.group(1) if got else '?'}); nothing was kept. "
                "The server's copy is corrupt or was altered in transit: try again later or another --base-url"
            ) from None
        except requests.RequestException as error:
            raise ConnectionError(f"could not download {self.url}{rel} after {attempts} attempts ({_reason(error)})") from None
        _default_permissions(self.folder / rel)
        size = (self.folder / rel).stat().st_size
        self.bytes_done += size
        total = self._sizes.setdefault(_extension(rel), [0, 0])
        total[0] += size
        total[1] += 1
        self.downloaded.append(rel)

    def _prepare_folder(self) -> None:
        """Create the folder and save the server's checksum list, once something is to be downloaded."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            local = self.folder / SUMS
            if self.sums_bytes is not None and (not local.is_file() or local.read_bytes() != self.sums_bytes):
                write_atomic(local, self.sums_bytes)
                _default_permissions(local)
        except PermissionError:
            raise PermissionError(f"cannot write to {self.folder}; point --data-dir / $ECGSEG_DATA at a writable folder") from None

    def result(self, checksums: str, offline_reason: str | None, start: float) -> FetchResult:
        return FetchResult(
            db=self.name,
            version=self.version,
            folder=self.folder,
            url=self.url,
            files=tuple(self.files),
            downloaded=tuple(self.downloaded),
            bytes_downloaded=self.bytes_done,
            checksums=checksums,
            offline_reason=offline_reason,
            seconds=time.perf_counter() - start,
        )


class _ByteCounter:
    """Pooch's progress-bar protocol (total, update, reset, close), forwarding bytes of the file in flight."""

    def __init__(self, report: Callable[[int], None]):
        self._report = report
        self._total = self.n = 0

    @property
    def total(self) -> int:
        return self._total

    @total.setter
    def total(self, value: int) -> None:  # set at the start of every attempt
        self._total, self.n = value, 0

    def update(self, n: int) -> None:
        self.n = min(self.n + n, self._total) if self._total else self.n + n
        self._report(self.n)

    def reset(self) -> None:
        self.n = 0

    def close(self) -> None:
        pass


@contextlib.contextmanager
def _quiet_pooch():
    """Pooch logs every download at INFO on stderr; our caller shows progress its own way."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def _get(url: str, timeout: float, head: bool = False) -> bytes | None:
    """The body of ``url`` (``b""`` for ``head``), None when the server says 404; ConnectionError otherwise."""
    import pooch
    import requests

    try:
        if head:
            available = pooch.HTTPDownloader(timeout=timeout)(url, None, None, check_only=True)
            return b"" if available else None
        buffer = io.BytesIO()
        pooch.HTTPDownloader(timeout=timeout)(url, buffer, None)
        return buffer.getvalue()
    except requests.HTTPError as error:
        if error.response is not None and error.response.status_code in (403, 404):
            return None  # PhysioNet answers 403 for some paths that do not exist
        raise ConnectionError(f"{url}: {_reason(error)}") from None
    except requests.RequestException as error:
        raise ConnectionError(f"cannot reach {url} ({_reason(error)})") from None


def _get_with_retries(url: str, timeout: float, retries: int, offline: _Fetcher, last: ConnectionError) -> bytes | None:
    """Try the server again with back-off (as pooch does); fail naming what is missing on disk."""
    for attempt in range(retries):
        time.sleep(min(attempt + 1, 10))
        try:
            return _get(url, timeout)
        except ConnectionError as error:
            last = error
    if not offline.folder.is_dir() or not any(offline.folder.iterdir()):
        need = f"nothing is on disk yet in {offline.folder}"
    elif offline.sums is None:
        need = f"there is no local {SUMS} in {offline.folder} to verify the files on disk"
    else:
        problems = [f"{rel} ({why})" for rel, why in offline.problems.items()]
        need = f"{len(problems)} files are missing or wrong in {offline.folder}: " + ", ".join(problems[:8]) + (", ..." if len(problems) > 8 else "")
        if any(rel.endswith(".hea") for rel in offline.problems):
            need += ", and the files those headers name"
    raise ConnectionError(f"{last} after {retries + 1} attempts, and {need}; check the network or --base-url / $ECGSEG_PHYSIONET_URL")


def _reason(error: Exception) -> str:
    """The short cause of a requests error ('[Errno 111] Connection refused', 'HTTP 500', ...)."""
    response = getattr(error, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} {response.reason}"
    text = str(error)
    found = re.search(r"\[Errno -?\d+\] [^'\"()]+|Read timed out|Connection broken: [^'\"(]+|IncompleteRead\([^)]*\)", text)
    return found.group(0).strip() if found else f"{type(error).__name__}: {text[:160]}"


def _parse_sums(data: bytes, source) -> dict[str, str]:
    """``{path: sha256}`` from a sha256sum-style list."""
    sums = {}
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            raise ValueError(f"{source} is not a SHA-256 list (line {number}: {line[:60]!r})")
        sums[parts[1].strip().lstrip("*").removeprefix("./")] = parts[0].lower()
    return sums


def _default_permissions(path: Path) -> None:
    """pooch's temporary files are created 0600; a data file gets what the umask gives a new file."""
    os.chmod(path, default_file_mode())


def _extension(rel: str) -> str:
    return os.path.splitext(rel)[1] or rel


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _select(names: list[str], records, db: str, version: str) -> list[str]:
    if records is None:
        return names
    unknown = [r for r in records if r not in set(names)]
    if unknown:
        shown = ", ".join(names[:6]) + (f", ..., {names[-1]}" if len(names) > 6 else "")
        raise ValueError(f"{db} {version} has no record {', '.join(unknown)}; its RECORDS lists {len(names)}: {shown}")
    return list(dict.fromkeys(records))


@dataclass(frozen=True)
class DatabaseStatus:
    """A database and how much of it is on disk (files present; :func:`fetch` verifies them)."""

    name: str
    version: str | None
    title: str
    folder: Path
    records_total: int | None
    records_on_disk: int


def list_databases(data_dir=None) -> list[DatabaseStatus]:
    """The known databases, and any other database folder in the data folder, with what is on disk.

    A record counts as on disk when its header and the signal files it names are there.

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
        total = on_disk = None
        if (folder / "RECORDS").is_file():
            records = _read_lines(folder / "RECORDS")
            total, on_disk = len(records), sum(_record_on_disk(folder / r) for r in records)
        statuses.append(DatabaseStatus(name, version, title, folder, total, on_disk or 0))
    return statuses


def _record_on_disk(path: Path) -> bool:
    import wfdb

    if not path.with_suffix(".hea").is_file():
        return False
    try:
        header = wfdb.rdheader(str(path))
    except Exception:  # a broken header: not usable, so not on disk
        return False
    return all((path.parent / f).is_file() for f in (header.file_name or []))
