"""How a message names a setting: the option on the command line, the keyword in Python.

The library's errors are read by two kinds of caller. Someone at the command line needs ``--peaks hamilton``;
someone calling :func:`ecgseg.segment` needs ``peaks='hamilton'``. Each message is written once, with
:func:`setting` (and :func:`say` for wording that differs more than a setting's name); the command line runs the
library inside :func:`command_line`, so the same message comes out in command-line terms there. Standard library
only: every layer may use it.

Examples
--------
>>> setting("peaks", "hamilton")
"peaks='hamilton'"
>>> with command_line():
...     setting("peaks", "hamilton"), setting("chunk_s")
('--peaks hamilton', '--chunk-s')
"""

from __future__ import annotations

import contextlib
import contextvars

__all__ = ["command_line", "on_command_line", "setting", "say", "OPTIONS"]

_COMMAND_LINE = contextvars.ContextVar("ecgseg_command_line", default=False)

#: Keywords whose command-line option is not the keyword with its underscores as dashes.
OPTIONS = {"method": "--peaks"}

_UNSET = object()


@contextlib.contextmanager
def command_line():
    """Within this block (the command line's commands), messages name options (``--peaks rule``), not keywords."""
    token = _COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)


def on_command_line() -> bool:
    """Whether messages are being written for the command line (inside :func:`command_line`)."""
    return _COMMAND_LINE.get()


def setting(keyword: str, value=_UNSET) -> str:
    """A setting as the caller writes it: ``--pre-r-s 0.25`` on the command line, ``pre_r_s=0.25`` in Python.

    Without ``value``: ``--chunk-s`` and ``chunk_s=``.

    Examples
    --------
    >>> setting("pre_r_s", 0.25), setting("chunk_s")
    ('pre_r_s=0.25', 'chunk_s=')
    """
    if on_command_line():
        option = OPTIONS.get(keyword, "--" + keyword.replace("_", "-"))
        return option if value is _UNSET else f"{option} {value:g}" if isinstance(value, float) else f"{option} {value}"
    return f"{keyword}=" if value is _UNSET else f"{keyword}={value!r}"


def say(command_line: str, python: str) -> str:
    """``command_line`` inside :func:`command_line`, else ``python``: for wording that differs beyond a name.

    Examples
    --------
    >>> say("`ecgseg segment record 100 -o beats.npz`", "`ecgseg.segment_record('100')`")
    "`ecgseg.segment_record('100')`"
    """
    return command_line if on_command_line() else python
