"""What the figures of :mod:`ecgseg.plot` share: class colours, the matplotlib import, image formats, saving.

Also the small helpers every figure uses: a new constrained-layout ``Figure``,
beat counts in words, and a class index's name and colour.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from ..aami import AAMI_CLASSES

#: One colour per AAMI class, the same in every figure; beats without a class are grey.
CLASS_COLORS = {"N": "#1f77b4", "S": "#ff7f0e", "V": "#d62728", "F": "#9467bd", "Q": "#8c564b"}
UNLABELLED_COLOR = "#7f7f7f"
CLASS_TITLES = {
    "N": "normal",
    "S": "supraventricular ectopic",
    "V": "ventricular ectopic",
    "F": "fusion",
    "Q": "paced / unclassifiable",
}
INSTALL_HINT = "pip install 'ecgseg[plot]'"
FORMATS = ("png", "svg", "pdf")


class MissingMatplotlib(ImportError):
    """matplotlib is not installed; the message says how to install it."""


def require_matplotlib():
    """Import matplotlib, or raise :class:`MissingMatplotlib` naming the extra to install."""
    try:
        import matplotlib
    except ImportError:
        raise MissingMatplotlib(
            f"plots need matplotlib, which is not installed; install it with: {INSTALL_HINT}"
        ) from None
    return matplotlib


def _figure(size: tuple[float, float], dpi: int):
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=dpi, layout="constrained")


def figure_format(path: str | os.PathLike) -> str:
    """The image format named by a path's suffix: png, svg or pdf.

    Raises
    ------
    ValueError
        Any other suffix.

    Examples
    --------
    >>> figure_format("strip.SVG")
    'svg'
    """
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the image format of {path}: name it .png, .svg or .pdf")
    return fmt


def figure_bytes(figure, fmt: str = "png") -> bytes:
    """The figure rendered to ``fmt`` (png, svg or pdf) at its own dpi."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=figure.dpi)
    return buffer.getvalue()


def save_figure(figure, path: str | os.PathLike) -> None:
    """Render the figure in the format of ``path``'s suffix (png, svg, pdf) and write it atomically.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from ecgseg.plot import confusion_figure
    >>> path = os.path.join(tempfile.mkdtemp(), "confusion.png")
    >>> save_figure(confusion_figure(np.eye(5, dtype=int)), path)
    >>> open(path, "rb").read(4)
    b'\\x89PNG'
    """
    from ..atomic import write_atomic

    write_atomic(path, figure_bytes(figure, figure_format(path)))


def _beats(n: int) -> str:
    return f"{n} beat" if n == 1 else f"{n} beats"


def _class_name(index: int, class_names=AAMI_CLASSES) -> str:
    return class_names[index] if index >= 0 else "unlabelled"


def _class_color(index: int, class_names=AAMI_CLASSES) -> str:
    return CLASS_COLORS.get(class_names[index], UNLABELLED_COLOR) if index >= 0 else UNLABELLED_COLOR
