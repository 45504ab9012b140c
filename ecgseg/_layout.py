"""The layout of a PhysioNet database folder: record lists, flat and nested, and which names are safe.

A database is a tree of files in PhysioNet's layout (``DATA/<db>/`` on disk,
``BASE/<db>/<version>/`` on a server). Its ``RECORDS`` file lists one record per line,
relative to the folder that holds that ``RECORDS``: ``100`` (mitdb), ``patient001/s0010_re``
(ptbdb). A line ending in ``/`` names a folder with a ``RECORDS`` of its own (PTB-XL's
``records100/00000/``, the large 12-lead arrhythmia databases' ``WFDBRecords/01/010/``), the
convention of PhysioNet and of ``wfdb.dl_database``; such lists may nest again.

Every name read from a record list, a header or a checksum list is a relative path that
must stay inside the database folder: :func:`check_name` refuses the kinds that can leave it
or that the server would read as another name. Nothing here touches the network or imports
more than the standard library, so :mod:`ecgseg.records` can read the same lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

__all__ = ["UnsafeName", "check_name", "outside", "parse_annotators", "parse_list", "read_local_records", "walk_records"]

#: How deep record lists may nest (PTB-XL and the 12-lead arrhythmia databases use 1-2 levels).
MAX_DEPTH = 8

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UnsafeName(ValueError):
    """A name from a server (or a local list) that would be written outside the database folder."""


def check_name(name: str, *, folder_entry: bool = False) -> str | None:
    """Why ``name`` is not a safe relative path inside a database folder, or None when it is.

    Refused: an absolute path, a ``..`` or ``.`` component, an empty component (``a//b``), a
    backslash (a Windows separator), ``:`` (a drive or URL scheme), ``%`` (URL-encoded: the
    server would decode ``%2e%2e`` to ``..`` and serve another file than the one named here),
    ``?`` and ``#`` (they end the path part of a URL) and control characters. A trailing ``/``
    is allowed only for a folder entry of a record list.

    Parameters
    ----------
    name : str
        The name as read, e.g. ``"patient001/s0010_re"``.
    folder_entry : bool
        The name is a record-list line, which may end in ``/`` (a folder with its own list).

    Returns
    -------
    str or None
        A short reason, e.g. ``"'..' leads out of the folder"``.

    Examples
    --------
    >>> check_name("patient001/s0010_re") is None
    True
    >>> check_name("../../somewhere/evil")
    "'..' leads out of the folder"
    >>> check_name("records100/00000/", folder_entry=True) is None
    True
    """
    if not name:
        return "an empty name"
    if name.startswith("/"):
        return "an absolute path"
    for bad, why in (("\\", "a backslash (a Windows path separator)"), (":", "a ':' (a drive or URL scheme)"),
                     ("%", "a '%' (URL-encoded, so the server would read another name)"),
                     ("?", "a '?' (it ends the path of a URL)"), ("#", "a '#' (it ends the path of a URL)")):
        if bad in name:
            return why
    if _CONTROL.search(name):
        return "a control character"
    parts = name[:-1].split("/") if folder_entry and name.endswith("/") else name.split("/")
    if ".." in parts:
        return "'..' leads out of the folder"
    if "." in parts:
        return "a '.' path component"
    if "" in parts:
        return "an empty path component"
    return None


def parse_list(text: str, source: str, *, folder_entries: bool = True) -> list[str]:
    """The non-blank lines of a record list, each checked with :func:`check_name`.

    Raises
    ------
    UnsafeName
        Naming the first unsafe line and ``source`` (e.g. ``"the server's RECORDS"``).

    Examples
    --------
    >>> parse_list("100\\n\\n101\\r\\n", "RECORDS")
    ['100', '101']
    """
    names = [line.strip() for line in text.splitlines() if line.strip()]
    for name in names:
        why = check_name(name, folder_entry=folder_entries)
        if why is not None:
            raise UnsafeName(f"{source} names {name!r}: {why}")
    return names


def parse_annotators(text: str) -> list[str]:
    """The annotation file extensions an ANNOTATORS file lists (``atr<TAB>reference beat annotations``).

    Raises
    ------
    UnsafeName
        An extension that is not a plain name (``../x``, ``a/b``, ...).

    Examples
    --------
    >>> parse_annotators("atr\\treference beat, rhythm, and signal quality annotations\\n")
    ['atr']
    """
    extensions = [line.split()[0] for line in text.splitlines() if line.split()]
    for ext in extensions:
        why = check_name(ext) or ("a '/' in a file extension" if "/" in ext else None)
        if why is not None:
            raise UnsafeName(f"ANNOTATORS names {ext!r}: {why}")
    return extensions


def walk_records(
    read: Callable[[str], list[str] | None],
    is_folder: Callable[[str], bool] = lambda entry: entry.endswith("/"),
    wanted: Callable[[str], bool] = lambda folder: True,
) -> tuple[list[str], list[str]]:
    """Every record below a database's ``RECORDS``, following nested lists.

    Parameters
    ----------
    read : callable
        ``read("records100/00000/RECORDS")`` gives that list's checked lines (see
        :func:`parse_list`), or None when the list is missing. ``read("RECORDS")`` is the top.
    is_folder : callable
        Whether an entry (a path relative to the database) names a folder with its own list;
        by default, entries ending in ``/``.
    wanted : callable
        Whether to descend into a folder (``"records100/00000/"``); lets a caller read only the
        lists it needs.

    Returns
    -------
    records : list of str
        Record paths relative to the database, in list order (``"records100/00000/00001_lr"``).
    missing : list of str
        Folders (ending in ``/``) that are listed and wanted but whose list ``read`` did not find.

    Raises
    ------
    ValueError
        Lists nested deeper than :data:`MAX_DEPTH`.
    """
    records: list[str] = []
    missing: list[str] = []

    def visit(prefix: str, depth: int) -> None:
        lines = read(prefix + "RECORDS")
        if lines is None:
            missing.append(prefix)
            return
        for entry in lines:
            path = prefix + entry
            if not is_folder(path):
                records.append(path)
                continue
            folder = path.rstrip("/") + "/"
            if depth >= MAX_DEPTH:
                raise ValueError(f"record lists nest deeper than {MAX_DEPTH} levels at {folder}RECORDS")
            if wanted(folder):
                visit(folder, depth + 1)

    visit("", 0)
    return records, missing


def read_local_records(folder: Path) -> tuple[list[str], list[str]]:
    """:func:`walk_records` over the lists on disk in ``folder``; a folder's RECORDS file is found or missing."""

    def read(rel: str) -> list[str] | None:
        path = folder / rel
        return parse_list(path.read_text(errors="replace"), str(path)) if path.is_file() else None

    def is_folder(entry: str) -> bool:
        return entry.endswith("/") or ((folder / entry / "RECORDS").is_file() and not (folder / f"{entry}.hea").is_file())

    return walk_records(read, is_folder)


def outside(folder: Path, rel: str) -> str | None:
    """Where writing ``folder/rel`` would land outside ``folder`` through a symbolic link, or None.

    ``rel`` has passed :func:`check_name`; what is left is a link on disk (``folder/sub`` pointing
    elsewhere). The file itself may be a link: files are replaced by renaming, which replaces the
    link and writes nothing through it.
    """
    root = folder.resolve()
    parent = (folder / rel).parent.resolve()
    if parent == root or root in parent.parents:
        return None
    return str(parent)
