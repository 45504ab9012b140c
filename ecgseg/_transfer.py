"""The machinery behind :func:`ecgseg.fetch.fetch`: one pass over a database's files, HTTP and checksums.

:class:`_Fetcher` walks a database the way the files name each other (RECORDS and
ANNOTATORS, then each record's header, then the signal files the header names and
the annotation files), verifying what is on disk against ``SHA256SUMS.txt`` and,
when online, downloading what is missing or wrong through pooch. The plan and the
transfer are one pass because the signal files are only known once their header is
here. Below it: HTTP requests (:func:`_get`), retries while offline, short error
reasons, and the SHA-256 list, digest and permission helpers.

It reports progress as the fields of :class:`ecgseg.fetch.Progress` and leaves
building :class:`ecgseg.fetch.FetchResult` to :mod:`ecgseg.fetch`, so it does not
import that module.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from .beatfile import default_file_mode, write_atomic

SUMS = "SHA256SUMS.txt"


class _Fetcher:
    """One pass over a database's files: verify each on disk, download what is missing or wrong (when online).

    ``progress``, if not None, is called with the fields of an :class:`ecgseg.fetch.Progress`.
    """

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
        annotators = (
            [line.split()[0] for line in _read_lines(self.folder / "ANNOTATORS")] if "ANNOTATORS" in meta else []
        )
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
            raise ValueError(
                f"record {record!r} of {self.name} is a multi-segment record, which `ecgseg fetch` does not handle yet"
            )
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
            raise ValueError(
                f"{SUMS} of {self.name} {self.version} does not list {rel}, "
                "so it cannot be verified; is the list complete?"
            )
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
            self.progress(rel, self.files_done, len(self.files), self.bytes_done + (in_flight or 0), remaining)

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
            raise ConnectionError(
                f"could not download {self.url}{rel} after {attempts} attempts ({_reason(error)})"
            ) from None
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
            raise PermissionError(
                f"cannot write to {self.folder}; point --data-dir / $ECGSEG_DATA at a writable folder"
            ) from None


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
        need = (
            f"{len(problems)} files are missing or wrong in {offline.folder}: "
            + ", ".join(problems[:8])
            + (", ..." if len(problems) > 8 else "")
        )
        if any(rel.endswith(".hea") for rel in offline.problems):
            need += ", and the files those headers name"
    raise ConnectionError(
        f"{last} after {retries + 1} attempts, and {need}; check the network or --base-url / $ECGSEG_PHYSIONET_URL"
    )


def _reason(error: Exception) -> str:
    """The short cause of a requests error ('[Errno 111] Connection refused', 'HTTP 500', ...)."""
    response = getattr(error, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} {response.reason}"
    text = str(error)
    found = re.search(
        r"\[Errno -?\d+\] [^'\"()]+|Read timed out|Connection broken: [^'\"(]+|IncompleteRead\([^)]*\)", text
    )
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
