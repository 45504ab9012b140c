"""HTTP and checksums for :mod:`ecgseg.fetch`: requests, pooch downloads, SHA-256 lists, and how messages name settings.

Below :mod:`ecgseg._transfer` (the pass over a database's files): a GET or HEAD
(:func:`get`), retrying while offline, pooch's downloader with a server's "not found"
ending at once (:class:`NotOnServer`), short error reasons, the SHA-256 list and digests.

Messages name a setting the way the caller gives it (:mod:`ecgseg.terms`): ``base_url=`` from Python,
``--base-url`` on the command line.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import time
from collections.abc import Callable
from pathlib import Path

from ._layout import UnsafeName, check_name
from .terms import say, setting

SUMS = "SHA256SUMS.txt"

def term(keyword: str) -> str:
    """``--base-url`` on the command line, ``base_url=`` in Python (:func:`ecgseg.terms.setting`)."""
    return setting(keyword)


def example(db: str) -> str:
    """How the caller fetches ``db``: ```ecgseg fetch db``` or ``fetch("db")``."""
    return say(f"`ecgseg fetch {db}`", f"fetch({db!r})")


def again() -> str:
    """How the caller resumes: the same command, or the same call."""
    return say("run the same command again", "call fetch again")


class NotOnServer(Exception):
    """The server does not have a file (not in its SHA256SUMS.txt, or HTTP 404/403).

    Not a ValueError or a requests error on purpose: pooch retries those, and a missing
    file does not come back by asking again.
    """


class Downloader:
    """pooch's HTTP downloader, except that a 404 or 403 raises :class:`NotOnServer` at once."""

    def __init__(self, rel: str, progressbar, timeout: float):
        import pooch

        self.rel = rel
        self._inner = pooch.HTTPDownloader(progressbar=progressbar, chunk_size=1 << 16, timeout=timeout)

    def __call__(self, url, output_file, pooch_object, check_only=False):
        import requests

        try:
            return self._inner(url, output_file, pooch_object, check_only=check_only)
        except requests.HTTPError as error:
            status = getattr(error.response, "status_code", None)
            if status in (403, 404):  # PhysioNet answers 403 for some paths that do not exist
                raise NotOnServer(f"the server answers HTTP {status} for {self.rel}") from None
            raise


class ByteCounter:
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
def quiet_pooch():
    """Pooch logs every download at INFO on stderr; our caller shows progress its own way."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")
    try:
        yield
    finally:
        logger.setLevel(level)


def get(url: str, timeout: float, head: bool = False) -> bytes | None:
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
        raise ConnectionError(f"{url}: {reason(error)}") from None
    except requests.RequestException as error:
        raise ConnectionError(f"cannot reach {url} ({reason(error)})") from None


def get_verified(url: str, rel: str, expected: str | None, retries: int, timeout: float) -> bytes:
    """A small file's bytes (a record list), checked against ``expected`` (SHA-256), retried as pooch retries.

    Raises NotOnServer (404/403), ConnectionError (after the retries) or ValueError (the bytes never matched).
    """
    got = None
    for attempt in range(1 + retries):
        if attempt:
            time.sleep(min(attempt, 10))
        try:
            data = get(url + rel, timeout)
        except ConnectionError as error:
            if attempt == retries:
                raise ConnectionError(f"could not download {url}{rel} after {attempt + 1} attempts ({error})") from None
            continue
        if data is None:
            raise NotOnServer(f"the server answers HTTP 404 for {rel}")
        got = hashlib.sha256(data).hexdigest()
        if expected is None or got == expected:
            return data
    raise ValueError(mismatch(url, rel, expected, got, 1 + retries))


def mismatch(url: str, rel: str, expected: str | None, got: str | None, attempts: int) -> str:
    """The line for a file that never matched its checksum."""
    return (
        f"{url}{rel} does not match its SHA-256 in {SUMS} after {attempts} attempts "
        f"(expected {expected}, got {got or '?'}); nothing was kept. "
        f"The server's copy is corrupt or was altered in transit: try again later or another {term('base_url')}"
    )


def get_with_retries(url: str, timeout: float, retries: int, offline, last: ConnectionError) -> bytes | None:
    """Try the server again with back-off (as pooch does); fail naming what is missing on disk.

    ``offline`` is the :class:`ecgseg._transfer.Fetcher` pass that checked the files on disk.
    """
    for attempt in range(retries):
        time.sleep(min(attempt + 1, 10))
        try:
            return get(url, timeout)
        except ConnectionError as error:
            last = error
    if not offline.folder.is_dir() or not any(offline.folder.iterdir()):
        need = f"nothing is on disk yet in {offline.folder}"
    elif offline.sums is None:
        need = f"there is no local {SUMS} in {offline.folder} to verify the files on disk"
    else:
        problems = [f"{rel} ({why})" for rel, why in offline.problems.items()]
        need = (
            f"{len(problems)} file{'s are' if len(problems) != 1 else ' is'} missing or wrong in {offline.folder}: "
            + ", ".join(problems[:8])
            + (", ..." if len(problems) > 8 else "")
        )
        if any(rel.endswith(".hea") for rel in offline.problems):
            need += ", and the files those headers name"
    raise ConnectionError(
        f"{last} after {retries + 1} attempts, and {need}; "
        f"check the network or {term('base_url')} / $ECGSEG_PHYSIONET_URL"
    )


def reason(error: Exception) -> str:
    """The short cause of a requests error ('[Errno 111] Connection refused', 'HTTP 500', ...)."""
    response = getattr(error, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} {response.reason}"
    text = str(error)
    found = re.search(
        r"\[Errno -?\d+\] [^'\"()]+|Read timed out|Connection broken: [^'\"(]+|IncompleteRead\([^)]*\)", text
    )
    return found.group(0).strip() if found else f"{type(error).__name__}: {text[:160]}"


def parse_sums(data: bytes, source) -> dict[str, str]:
    """``{path: sha256}`` from a sha256sum-style list.

    Raises
    ------
    UnsafeName
        A listed path that could lead outside the database folder (see :func:`ecgseg._layout.check_name`):
        the list is what every download is verified against, so a list naming such a path is not trusted.
    ValueError
        A line that is not ``<64 hex digits> <path>``.
    """
    sums = {}
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or not re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
            raise ValueError(f"{source} is not a SHA-256 list (line {number}: {line[:60]!r})")
        name = parts[1].strip().lstrip("*").removeprefix("./")
        why = check_name(name)
        if why is not None:
            raise UnsafeName(f"{SUMS} names {name!r}: {why}")
        sums[name] = parts[0].lower()
    return sums


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
