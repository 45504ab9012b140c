"""Atomic file writing: a file appears whole at its final name, or not at all.

Everything ecgseg writes (beat files, models, figures, reports, downloads, run indexes) goes through here:
the data go to a temporary file beside the target, which then replaces the target in one ``os.replace``.
A failure (an error, Ctrl-C, a full disk) removes the temporary file and leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic", "atomic_file", "default_file_mode"]


def default_file_mode() -> int:
    """The permissions a new file gets under the current umask (0o644 usually); temporary files start at 0o600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike):
    """A binary file open at a temporary name beside ``path``; it becomes ``path`` only if the block succeeds.

    Examples
    --------
    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "out.bin")
    >>> with atomic_file(target) as handle:
    ...     _ = handle.write(b"abc")
    >>> open(target, "rb").read()
    b'abc'
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(fd, default_file_mode())  # mkstemp makes it owner-only; a finished file gets the usual ones
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    with atomic_file(path) as handle:
        handle.write(data)
