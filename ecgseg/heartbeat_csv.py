"""The heartbeat dataset's CSV layout: one beat per row, its values, then its class (no header).

The layout of the files published with Kachuee et al. 2018 (``mitbih_train.csv``, ``ptbdb_normal.csv``, ...): 187
values of the paper's scheme, then the class index as a float. :mod:`ecgseg.beatfile` reads and writes beat files in
it through :func:`read_csv` and :func:`write_csv`.
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["CSV_CLASS", "CSV_HELP", "read_csv", "write_csv"]

#: The key a CSV's class column is read into: a class index of no named classes.
CSV_CLASS = "class_index"

#: What the layout is, for messages.
CSV_HELP = "the heartbeat CSV layout is one beat per row, its values (187 in the paper's scheme) then its class, no header"


def write_csv(handle, arrays: dict, blocks) -> None:
    """Write beats as heartbeat CSV rows: ``%.9g`` values (float32 exactly), then the class as a float.

    Parameters
    ----------
    handle : binary file
        Where the rows go (left open).
    arrays : dict
        ``segments`` (n_beats, length), and the class of each beat: ``labels``, else ``class_index``, else -1.
    blocks : callable
        ``blocks(segments)`` yields the segments' rows block by block (spooled rows are never loaded whole).
    """
    segments = arrays["segments"]
    n = segments.shape[0]
    classes = arrays.get("labels", arrays.get(CSV_CLASS))
    classes = np.full(n, -1.0) if classes is None else np.asarray(classes, dtype=np.float64)
    text = io.TextIOWrapper(handle, encoding="ascii", newline="\n")
    fmt = ",".join(["%.9g"] * segments.shape[1] + ["%.1f"])
    start = 0
    for block in blocks(segments):
        rows = np.ascontiguousarray(block, dtype=np.float32).astype(np.float64)
        np.savetxt(text, np.column_stack([rows, classes[start : start + len(rows)]]), fmt=fmt, delimiter=",")
        start += len(rows)
    text.flush()
    text.detach()  # the atomic writer closes the binary handle


def read_csv(data: bytes, name: str) -> dict[str, np.ndarray]:
    """The beats of a heartbeat CSV, or one line on what is wrong with it.

    Returns
    -------
    dict
        ``segments``: (n_beats, n_columns - 1) float32; ``class_index``: (n_beats,) int64, -1 for none.

    Raises
    ------
    ValueError
        An empty file, fewer than two columns, a cell that is not a number, rows of different lengths, a class that is
        not a whole number of -1 or more; the line names the row and column.

    Examples
    --------
    >>> read_csv(b"0.5,1.0,2.0\\n0.25,0.75,-1.0\\n", "b.csv")["class_index"].tolist()
    [2, -1]
    """
    import pandas as pd  # its C parser reads these files about 3x faster than numpy.loadtxt (measured here)

    if not data.strip():
        raise ValueError(f"{name} holds no beats (an empty file); {CSV_HELP}")
    try:
        table = pd.read_csv(io.BytesIO(data), header=None, dtype=np.float64, na_filter=False, engine="c").to_numpy()
    except (ValueError, pd.errors.ParserError):
        raise ValueError(f"{name}: {_csv_problem(data)}; {CSV_HELP}") from None
    if table.shape[1] < 2:
        raise ValueError(f"{name} has {table.shape[1]} column; {CSV_HELP}")
    classes = table[:, -1]
    bad = np.flatnonzero(~np.isfinite(classes) | (classes != np.round(classes)) | (classes < -1))
    if bad.size:
        raise ValueError(f"{name} row {bad[0] + 1}: the class is {classes[bad[0]]:g}, not a class index (0, 1, ...; "
                         f"-1 for none); {CSV_HELP}")
    return {"segments": np.ascontiguousarray(table[:, :-1], dtype=np.float32), CSV_CLASS: classes.astype(np.int64)}


def _csv_problem(data: bytes) -> str:
    """The first row of a CSV that does not parse, in words (row and column numbers from 1)."""
    lines = data.decode("utf-8", errors="replace").splitlines()
    width = None
    for row, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        if width is not None and len(cells) != width:
            return f"row {row} has {len(cells)} columns, the rows before it {width}"
        width = width or len(cells)
        for column, cell in enumerate(cells, start=1):
            try:
                if float(cell) != float(cell):  # "nan": numbers only, missing values have no place in a beat
                    raise ValueError
            except ValueError:
                word = cell.strip()[:1].isalpha() and cell.strip().lower() != "nan"
                header = " (a header row? the layout has none)" if row == 1 and word else ""
                return f"row {row}, column {column} is {cell.strip()[:20]!r}, not a number{header}"
    return "it is not comma-separated numbers"

