"""The pass behind :func:`ecgseg.fetch.fetch`: which files a database's records need, verified or downloaded.

:class:`Fetcher` walks a database the way its files name each other: ``RECORDS`` (and
the lists it nests, see :mod:`ecgseg._layout`) and ``ANNOTATORS``, then each chosen
record's header, then the files that header names (signal files, or the segment records
of a multi-segment record) and the record's annotation files. Each file is verified on
disk against ``SHA256SUMS.txt`` and, when online, downloaded through pooch if missing or
wrong. The plan and the transfer are one pass because a record's files are only known
once its header is here.

Every name read from the server is checked (:func:`ecgseg._layout.check_name`) before a
file of that name is written, and every write is checked to land inside the database
folder; a server that names a path outside it is not trusted: the pass stops and removes
what it downloaded in this run. A record the server does not have is set aside (its files
from this run removed, so nothing partial stays) and the others are fetched.

It reports progress as the fields of :class:`ecgseg.fetch.Progress` and leaves building
:class:`ecgseg.fetch.FetchResult` to :mod:`ecgseg.fetch`, so it does not import that module.
"""

from __future__ import annotations

import os
import re

from ._http import (
    SUMS,
    ByteCounter,
    Downloader,
    NotOnServer,
    again,
    get,
    get_verified,
    mismatch,
    quiet_pooch,
    reason,
    sha256,
    term,
)
from ._layout import UnsafeName, check_name, outside, parse_annotators, parse_list, walk_records
from .atomic import default_file_mode, write_atomic


class _Unreadable(Exception):
    """A header wfdb cannot read: its record is set aside like one the server does not have."""


class Fetcher:
    """One pass over a database's files: verify each on disk, download what is missing or wrong (when online).

    ``progress``, if not None, is called with the fields of an :class:`ecgseg.fetch.Progress`.
    After :meth:`run`: ``records`` (complete on disk), ``missing`` (listed record or folder ->
    why the server does not have it), ``files``, ``downloaded``, ``bytes_done``, and, offline,
    ``problems`` (file -> what is wrong with it on disk).
    """

    def __init__(self, name, version, folder, url, sums, online, progress, retries, timeout, sums_bytes=None):
        self.name, self.version, self.folder, self.url = name, version, folder, url
        self.sums, self.sums_bytes, self.online = sums, sums_bytes, online
        self.progress, self.retries, self.timeout = progress, retries, timeout
        self.records: list[str] = []
        self.missing: dict[str, str] = {}
        self.files: list[str] = []
        self.downloaded: list[str] = []
        self.problems: dict[str, str] = {}
        self.bytes_done = 0
        self.files_done = 0
        self._owner: dict[str, str] = {}  # file -> the record (or listed folder) it belongs to
        self._sizes: dict[str, list[int]] = {}  # extension -> [bytes, files] downloaded, for the estimate
        self._pooch = None
        self._lists: dict[str, list[str] | None] = {}  # list file -> its checked lines (None: not to be had)
        self._new_lists: dict[str, bytes] = {}  # list files fetched this run, written once all are checked
        self._old_sums: bytes | None = None  # the local SHA256SUMS.txt this run replaced, if any
        self._wrote_sums = False
        self._made_folder = False
        self._prepared = False

    def run(self, requests: list[str] | None) -> None:
        """Fetch the records named in ``requests`` (records or listed folders; None: all)."""
        try:
            self._run(requests)
        except UnsafeName as error:
            removed = self._remove(list(self.downloaded))
            self._restore_sums()
            raise UnsafeName(refusal(self.url, self.folder, error, removed)) from None

    def kept_files(self) -> list[str]:
        """The files of the records fetched, and the lists: ``files`` less those of records set aside."""
        return list(dict.fromkeys(rel for rel in self.files if self._owner.get(rel) not in self.missing))

    def _run(self, requests) -> None:
        # The lists are read into memory and checked whole before any is written: a list naming a path
        # outside the folder leaves the disk as it was (an earlier, good copy included).
        if self._read_list("RECORDS") is None:
            return
        annotators = (self._read_list("ANNOTATORS") or []) if self._exists("ANNOTATORS") else []
        chosen = self._choose(requests)
        for rel, content in self._new_lists.items():
            self._write(rel, content)

        data: list[str] = []
        pending = [(record, record) for record in chosen]  # (record to read, the listed record it belongs to)
        while pending:  # headers, then the segment headers that multi-segment headers name
            headers = [f"{record}.hea" for record, _ in pending]
            self._owner.update((f"{record}.hea", owner) for record, owner in pending)
            self._ensure_all(headers, later=["their signal and annotation files"])
            following = []
            for record, owner in pending:
                if owner in self.missing or f"{record}.hea" in self.problems:
                    continue
                try:
                    segments, files = self._record_files(record, annotators if record == owner else [])
                except _Unreadable as error:
                    self._lose(owner, str(error))
                    continue
                following += [(segment, owner) for segment in segments]
                self._owner.update((rel, owner) for rel in files)
                data += files
            pending = following
        if self.online and self.sums is not None:  # a record the server lacks a file of: set aside before its data comes
            for rel in data:
                if rel not in self.sums:
                    self._lose(self._owner[rel], f"{SUMS} has no {rel}")
        self._ensure_all(data)
        self.records = [record for record in chosen if record not in self.missing]

    def _read_list(self, rel: str, owner: str | None = None) -> list[str] | None:
        """The checked lines of a record list (or ANNOTATORS' extensions), from disk if verified, else the server.

        None when it is not to be had: offline and missing or wrong (in ``problems``), or the server lacks
        a nested list (its folder ``owner`` is then set aside).
        """
        if rel in self._lists:
            return self._lists[rel]
        self.files.append(rel)
        self._owner[rel] = owner
        data = None
        if self._verified(rel):
            data = (self.folder / rel).read_bytes()
        elif not self.online:
            self.problems[rel] = "fails its checksum" if (self.folder / rel).exists() else "missing"
        else:
            try:
                expected = self.sums.get(rel) if self.sums is not None else None
                if self.sums is not None and expected is None:
                    raise NotOnServer(f"{SUMS} has no {rel}")
                data = self._new_lists[rel] = get_verified(self.url, rel, expected, self.retries, self.timeout)
            except NotOnServer as gone:
                if owner is None:
                    raise ValueError(
                        f"{self.name} {self.version} at {self.url} has no {rel} ({gone}), "
                        "and ecgseg needs it to know the records; is this a WFDB database?"
                    ) from None
                self._lose(owner, str(gone))
            except ConnectionError as error:
                raise ConnectionError(f"{error}; nothing was written; {again()} to try again") from None
        if data is not None:
            text = data.decode("utf-8", errors="replace")
            self._lists[rel] = parse_annotators(text) if rel == "ANNOTATORS" else parse_list(text, rel)
        lines = self._lists.setdefault(rel, None)
        self._report(rel)
        return lines

    def _choose(self, requests) -> list[str]:
        """The records to fetch, in list order, reading (and fetching) the nested lists they need."""
        requests = None if requests is None else list(dict.fromkeys(r.strip() for r in requests if r.strip()))

        def within(path: str, request: str) -> bool:
            return path == request or path.startswith(request.rstrip("/") + "/")

        def wanted(folder: str) -> bool:
            return requests is None or any(r.startswith(folder) or within(folder, r) for r in requests)

        def read(rel: str) -> list[str] | None:
            return self._read_list(rel, owner=None if rel == "RECORDS" else rel[: -len("RECORDS")])

        def is_folder(entry: str) -> bool:  # "a/" by convention, or a folder the checksum list shows as one
            sums = self.sums or {}
            return entry.endswith("/") or (f"{entry}/RECORDS" in sums and f"{entry}.hea" not in sums)

        records, _ = walk_records(read, is_folder, wanted)
        if requests is None:
            return records
        unknown = [r for r in requests if not any(within(x, r) for x in records)
                   and not any(within(r, folder) or within(folder, r) for folder in self.missing)]
        if unknown:
            listed = self._lists["RECORDS"]
            shown = ", ".join(listed[:6]) + (f", ..., {listed[-1]}" if len(listed) > 6 else "")
            everything = walk_records(read, is_folder)[0]  # every list, for the hint: they are small
            near = [x for x in everything if x.rsplit("/", 1)[-1] in {u.rsplit("/", 1)[-1] for u in unknown}]
            hint = f"; did you mean {', '.join(near[:3])}?" if near else ""
            raise ValueError(
                f"{self.name} {self.version} has no record {', '.join(unknown)} ({term('records')}); "
                f"its RECORDS lists {len(listed)}: {shown}{hint}"
            )
        return [x for x in records if any(within(x, r) for r in requests)]

    def _record_files(self, record: str, annotators: list[str]) -> tuple[list[str], list[str]]:
        """(segment records, files) a header names: signal files or segments, and ``record``'s annotations."""
        import wfdb  # ~0.4 s to import: only once headers are here

        path = self.folder / record
        try:
            header = wfdb.rdheader(str(path))
        except Exception as error:  # wfdb raises many types on a malformed header
            raise _Unreadable(f"wfdb cannot read its header {record}.hea ({type(error).__name__}: {error})") from None
        parent = os.path.dirname(record)
        named = getattr(header, "seg_name", None) or header.file_name or []
        for name in dict.fromkeys(named):
            why = check_name(name)
            if name != "~" and why is not None:  # "~": a gap or a signal without a file (WFDB)
                raise UnsafeName(f"header {record}.hea names {name!r}: {why}")
        names = [os.path.join(parent, name) for name in dict.fromkeys(named) if name != "~"]
        annotations = [f"{record}.{ext}" for ext in annotators if self._exists(f"{record}.{ext}")]
        if getattr(header, "seg_name", None):
            return names, annotations
        return [], names + annotations

    def _exists(self, rel: str) -> bool:
        """Does the database have this optional file (an annotator list, an annotation)?"""
        if self.sums is not None:
            return rel in self.sums
        if (self.folder / rel).is_file() or not self.online:
            return (self.folder / rel).is_file()
        return get(self.url + rel, self.timeout, head=True) is not None

    def _ensure_all(self, rels: list[str], later: list[str] = ()) -> None:
        self.files += rels
        for index, rel in enumerate(rels):
            owner = self._owner[rel]
            if owner in self.missing:
                self._report(rel)
                continue
            try:
                self._ensure(rel)
            except NotOnServer as gone:  # every file here belongs to a listed record
                self._lose(owner, str(gone))
                self._report(rel)
            except ConnectionError as error:
                missing = [r for r in rels[index:] if not self._verified(r)]
                shown = ", ".join(missing[:8]) + (f", ... ({len(missing)} files)" if len(missing) > 8 else "")
                raise ConnectionError(
                    f"{error}; still missing in {self.folder}: {shown}{''.join(f' and {x}' for x in later)}; "
                    f"{again()} to resume"
                ) from None

    def _lose(self, owner: str, why: str) -> None:
        """The server lacks ``owner`` (a record or a listed folder): note why, remove what this run kept of it."""
        self.missing.setdefault(owner, why)
        self._remove([rel for rel in self.downloaded if self._owner.get(rel) == owner])

    def _remove(self, rels: list[str]) -> int:
        """Remove files this run downloaded, and the folders left empty (this run made them)."""
        for rel in rels:
            size = (self.folder / rel).stat().st_size
            (self.folder / rel).unlink()
            self.downloaded.remove(rel)
            self.bytes_done -= size
            parent = (self.folder / rel).parent
            while parent != self.folder and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent
        return len(rels)

    def _restore_sums(self) -> None:
        """Put back the local checksum list this run replaced; remove the folder if this run made it and it is empty."""
        local = self.folder / SUMS
        if self._wrote_sums:
            write_atomic(local, self._old_sums) if self._old_sums is not None else local.unlink()
        if self._made_folder and not any(self.folder.iterdir()):
            self.folder.rmdir()

    def _verified(self, rel: str) -> bool:
        path = self.folder / rel
        expected = self.sums.get(rel) if self.sums is not None else None
        return path.is_file() and (expected is None or sha256(path) == expected)

    def _ensure(self, rel: str) -> None:
        if self.sums is not None and rel not in self.sums:
            if not self.online:
                self.problems[rel] = f"not in the local {SUMS}"
                return
            raise NotOnServer(f"{SUMS} has no {rel}")
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

        self._check_inside(rel)
        if self._pooch is None:
            self._prepare_folder()
            self._pooch = pooch.create(path=self.folder, base_url=self.url, registry={}, retry_if_failed=self.retries)
        expected = self.sums.get(rel) if self.sums is not None else None
        self._pooch.registry[rel] = f"sha256:{expected}" if expected else None
        downloader = Downloader(rel, ByteCounter(lambda n: self._report(rel, n)), self.timeout)
        attempts = 1 + self.retries
        try:
            with quiet_pooch():
                self._pooch.fetch(rel, downloader=downloader)
        except ValueError as error:
            got = re.search(r"but got (\w+)", str(error))
            raise ValueError(mismatch(self.url, rel, expected, got.group(1) if got else None, attempts)) from None
        except requests.RequestException as error:
            raise ConnectionError(
                f"could not download {self.url}{rel} after {attempts} attempts ({reason(error)})"
            ) from None
        os.chmod(self.folder / rel, default_file_mode())  # pooch's temporary files are created 0600
        self._count(rel)

    def _write(self, rel: str, data: bytes) -> None:
        """Write a file fetched into memory (a list), atomically."""
        self._check_inside(rel)
        self._prepare_folder()
        (self.folder / rel).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / rel, data)
        self._count(rel)

    def _count(self, rel: str) -> None:
        size = (self.folder / rel).stat().st_size
        self.bytes_done += size
        total = self._sizes.setdefault(_extension(rel), [0, 0])
        total[0] += size
        total[1] += 1
        self.downloaded.append(rel)

    def _check_inside(self, rel: str) -> None:
        where = outside(self.folder, rel)
        if where is not None:  # rel passed check_name: a symbolic link on disk leads elsewhere
            raise ValueError(
                f"refused to write {self.folder / rel}: a symbolic link in that path leads to {where}, "
                f"outside {self.folder}; nothing was written there. Remove the link or fetch into another "
                f"folder ({term('data_dir')})"
            )

    def _prepare_folder(self) -> None:
        """Create the folder and save the server's checksum list, once something is to be written."""
        if self._prepared:
            return
        self._prepared = True
        try:
            self._made_folder = not self.folder.exists()
            self.folder.mkdir(parents=True, exist_ok=True)
            local = self.folder / SUMS
            if self.sums_bytes is not None and (not local.is_file() or local.read_bytes() != self.sums_bytes):
                self._old_sums = local.read_bytes() if local.is_file() else None
                write_atomic(local, self.sums_bytes)
                self._wrote_sums = True
        except PermissionError:
            raise PermissionError(
                f"cannot write to {self.folder}; give a writable folder as {term('data_dir')} or $ECGSEG_DATA"
            ) from None


def _extension(rel: str) -> str:
    return os.path.splitext(rel)[1] or rel


def refusal(url: str, folder, error: Exception, removed: int) -> str:
    """The one line that says a server named a path outside the database folder, and what became of this run."""
    done = (f"nothing was written outside {folder}, and the {removed} file{'s' if removed > 1 else ''} this run "
            f"downloaded from it {'were' if removed > 1 else 'was'} removed") if removed else "nothing from it was written"
    return f"refused {url}: {error}; {done} (a server that names such paths is broken or hostile: check {term('base_url')})"
