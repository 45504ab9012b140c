"""Atomic file writing: a file appears whole at its final name, or not at all.

Everything ecgseg writes (beat files, models, figures, reports, downloads, run indexes) goes through here:
the data go to a temporary file beside the target, which then replaces the target in one ``os.replace``.
A failure (an error, Ctrl-C, a full disk) removes the temporary file and leaves the target as it was.

Several outputs of one command (``segment record -o beats.npz --labels labels.npy``) are written inside
:func:`all_or_none`: each goes to its temporary file, and they replace their targets together once the block
succeeds, or none does. :func:`output_problem` is the one check, before any work, that an output can be written
(its folder exists and takes a file), so a command fails at once rather than after the work.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic", "atomic_file", "all_or_none", "output_problem", "default_file_mode"]

#: Within :func:`all_or_none`: the (temporary file, target) pairs written so far, replaced together at its end.
_PENDING: contextvars.ContextVar[list | None] = contextvars.ContextVar("ecgseg_atomic_pending", default=None)


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
        pending = _PENDING.get()
        if pending is None:
            os.replace(tmp, path)
        else:
            pending.append((tmp, path))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    with atomic_file(path) as handle:
        handle.write(data)


@contextlib.contextmanager
def all_or_none():
    """Within this block, the files written through :func:`atomic_file` appear together when it ends without an
    error, and none does when it fails (or is interrupted).

    The targets are replaced one after the other at the end, each in one ``os.replace`` from a complete file in its
    own folder: only a folder that stops taking renames in that instant could leave some replaced and not others.

    Examples
    --------
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> try:
    ...     with all_or_none():
    ...         write_atomic(os.path.join(folder, "a.bin"), b"a")
    ...         raise ValueError("the second output failed")
    ... except ValueError:
    ...     pass
    >>> os.listdir(folder)
    []
    """
    pending: list[tuple[str, Path]] = []
    token = _PENDING.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        _PENDING.reset(token)
    for i, (tmp, path) in enumerate(pending):
        try:
            os.replace(tmp, path)
        except BaseException:
            for later, _ in pending[i:]:
                Path(later).unlink(missing_ok=True)
            raise


def output_problem(path: str | os.PathLike, *, folder: bool = False) -> str | None:
    """Why ``path`` cannot be written (one clause), or None when it can: checked before any work.

    A file: its folder must exist, be a folder, and take a new file (a probe file is made and removed there), and
    ``path`` must not be a folder. ``folder=True``: ``path`` is a folder that is made if missing; it must not be a
    file, and it (or the nearest folder above it that exists) must take a new file.

    Examples
    --------
    >>> output_problem("/nonexistent-folder/beats.npz")
    'the folder /nonexistent-folder does not exist; create it first'
    >>> import tempfile
    >>> output_problem(tempfile.mkdtemp(), folder=True) is None
    True
    """
    path = Path(path)
    if folder:
        if path.exists() and not path.is_dir():
            return f"{path} is a file, not a folder"
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            return f"{existing} is a file, not a folder"
        return _takes_a_file(existing)
    if path.is_dir():
        return f"{path} is a folder; give a file name"
    parent = path.parent
    if not parent.exists():
        return f"the folder {parent} does not exist; create it first"
    if not parent.is_dir():
        return f"{parent} is a file, not a folder"
    return _takes_a_file(parent)


def _takes_a_file(folder: Path) -> str | None:
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".ecgseg-write-check.")
    except OSError as error:
        return f"the folder {folder} does not take new files ({error.strerror or error})"
    os.close(fd)
    os.unlink(probe)
    return None
