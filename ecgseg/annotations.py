"""A record's reference annotations: read on the record's clock, beats told from the rest, what could not be used said.

An annotation file (``100.atr``; another annotator's extension with ``annotator=``) is read with wfdb. Its positions
are in ticks of its own time resolution, which it may state (``ann.fs``, wfdb's ``## time resolution`` note) and which
then differs from the record's rate: they are mapped to the record's samples with the exact ratio of the rates
(:func:`ecgseg.peaks.rescale_indices`). Its symbols fall in four kinds:

- beats with an AAMI class (:data:`ecgseg.aami.SYMBOL_TO_CLASS`): the reference beats, labels come from them;
- WFDB beats without one (``B r n ?``, :data:`ecgseg.aami.UNCLASSED_BEATS`): reference beats too (a cut beat on one
  is labelled -1, one missed is counted), and said;
- the WFDB standard's other annotations (rhythm ``+``, noise ``~``, ...): not beats;
- symbols the WFDB table does not have (a file's own label definitions) and codes wfdb does not know: not used as
  beats, and said.

What could not be used is never silent: a file that cannot be read, or holds no beat at all (the AF database's
``.atr`` holds rhythm changes only; its beats are in ``.qrs``), gives no labels and a :attr:`Annotations.problem`
saying why (and which other annotation file beside it has beats); the others give :attr:`Annotations.notes`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .aami import SYMBOL_TO_CLASS, UNCLASSED_BEATS
from .peaks import rescale_indices
from .terms import setting

__all__ = ["Annotations", "read_annotations", "DEFAULT_ANNOTATOR"]

#: The reference annotator of PhysioNet's databases.
DEFAULT_ANNOTATOR = "atr"


@dataclass(frozen=True)
class Annotations:
    """A record's reference annotations on the record's clock.

    Attributes
    ----------
    samples : numpy.ndarray, shape (n,) int64, or None
        Every annotation's position in samples at the record's rate (None: no file, or it cannot be read).
    symbols : numpy.ndarray, shape (n,) str, or None
        Their symbols (``""`` for a label code wfdb does not know).
    file : pathlib.Path
        The annotation file.
    fs : float or None
        The file's own time resolution (Hz), when it was read.
    problem : str or None
        Why the file gives no reference beats (missing, unreadable, no beat annotations), else None.
    notes : tuple of str
        What else a user should know: beats without an AAMI class, symbols or codes not used.
    """

    samples: np.ndarray | None
    symbols: np.ndarray | None
    file: Path
    fs: float | None = None
    problem: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def has_beats(self) -> bool:
        """Whether there are reference beats to label with (or to cut at)."""
        return self.problem is None

    def window(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Positions (shifted by ``start``) and symbols of the annotations in samples ``[start, stop)``."""
        if self.samples is None:
            return None, None
        inside = self.samples >= start
        if stop is not None:
            inside &= self.samples < stop
        return self.samples[inside] - start, self.symbols[inside]


def _counts(items, prefix: str = "") -> str:
    """``B 10, r 2``: each item and how often, the commonest first."""
    return ", ".join(f"{prefix}{s} {n}" for s, n in Counter(items).most_common())


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _have(count: int) -> str:
    return "has" if count == 1 else "have"


def _read(path: Path, annotator: str, fs: float):
    """wfdb's annotation object, or the one-line reason it cannot be read."""
    import wfdb

    try:
        return wfdb.rdann(str(path), annotator, return_label_elements=["symbol", "label_store"]), None
    except Exception as error:  # wfdb raises many types on a garbled file
        return None, f"{type(error).__name__}: {error}"


def _other_annotators(path: Path, annotator: str, signal_files) -> list[str]:
    """``qrs (180 beats)`` for each other annotation file beside the record that holds beats (only asked for
    when the one read has none: a hint, not a search on every read)."""
    found = []
    skip = {"hea", annotator, *(Path(f).suffix.lstrip(".") for f in signal_files)}
    for other in sorted(path.parent.glob(f"{path.name}.*")):
        extension = other.name[len(path.name) + 1:]
        if extension in skip or "." in extension:
            continue
        ann, _ = _read(path, extension, 0.0)
        if ann is not None:
            n_beats = sum(1 for s in ann.symbol if s in SYMBOL_TO_CLASS or s in UNCLASSED_BEATS)
            if n_beats:
                found.append(f"{path.name}.{extension} has {n_beats} beat annotations (give {setting('annotator', extension)})")
    return found


def read_annotations(path: str | Path, fs: float, annotator: str = DEFAULT_ANNOTATOR, *,
                     signal_files=(), required: bool = False) -> Annotations:
    """Read a record's annotation file onto the record's clock and say what in it can be used.

    Parameters
    ----------
    path : path
        The record (without extension): ``DATA/mitdb/100``.
    fs : float
        The record's sampling rate (Hz).
    annotator : str
        The annotation file's extension: ``"atr"`` (PhysioNet's reference), ``"qrs"``, ...
    signal_files : iterable of str
        The record's signal files (not annotation files, when another annotator is looked for).
    required : bool
        Raise when the file is missing (an annotator asked for by name) instead of reading as no annotations.

    Returns
    -------
    Annotations
        Never raises for a file that is garbled or holds no beats: its ``problem`` says so.

    Raises
    ------
    FileNotFoundError
        ``required`` and there is no such file.

    Examples
    --------
    >>> ann = read_annotations(f"{DATA}/mitdb/100", 360.0)
    >>> ann.samples[:3].tolist(), ann.symbols[:3].tolist(), ann.problem
    ([18, 77, 370], ['+', 'N', 'N'], None)
    """
    path = Path(path)
    file = path.parent / f"{path.name}.{annotator}"
    if not file.is_file():
        if required:
            raise FileNotFoundError(f"record {path.name!r} has no annotation file {file}")
        return Annotations(None, None, file, problem=f"no {file.name}")
    ann, error = _read(path, annotator, fs)
    if ann is None:
        return Annotations(None, None, file, problem=f"{file.name} cannot be read ({error})")
    ann_fs = float(ann.fs) if ann.fs else float(fs)
    samples = np.asarray(ann.sample, dtype=np.int64)
    if ann_fs != float(fs):  # positions in ticks of the file's own time resolution
        samples = rescale_indices(samples, ann_fs, fs)
    codes = np.asarray(ann.label_store if ann.label_store is not None else np.zeros(samples.size), dtype=np.int64)
    known = np.array([isinstance(s, str) for s in ann.symbol], dtype=bool)
    symbols = np.array([s if isinstance(s, str) else "" for s in ann.symbol], dtype=str)
    order = np.argsort(samples, kind="stable")
    samples, symbols, codes, known = samples[order], symbols[order], codes[order], known[order]
    return Annotations(samples, symbols, file, ann_fs, *_judge(file, symbols, codes, known, path, annotator, signal_files))


def _judge(file: Path, symbols, codes, known, path: Path, annotator: str, signal_files):
    """(problem, notes): whether there are beats to label with, and what is not used."""
    import wfdb

    standard = set(wfdb.io.annotation.ann_label_table["symbol"])
    notes = []
    unclassed = [s for s in symbols if s in UNCLASSED_BEATS]
    if unclassed:
        notes.append(f"{_plural(len(unclassed), 'annotated beat')} {_have(len(unclassed))} no AAMI class ({_counts(unclassed)}): labelled -1")
    foreign = [s for s, k in zip(symbols, known) if k and s not in standard]
    if foreign:
        notes.append(f"{_plural(len(foreign), 'annotation')} in {file.name} {_have(len(foreign))} symbols the WFDB standard does not define "
                     f"({_counts(foreign)}): not used as beats")
    unknown = codes[~known]
    if unknown.size:
        notes.append(f"{_plural(unknown.size, 'annotation')} in {file.name} {_have(unknown.size)} label codes wfdb does not know "
                     f"({_counts(unknown.tolist(), 'code ')}): not used as beats")
    n_beats = sum(1 for s in symbols if s in SYMBOL_TO_CLASS) + len(unclassed)
    if n_beats:
        return None, tuple(notes)
    what = f"no beat annotations, only {symbols.size} others ({_counts(symbols)})" if symbols.size else "no annotations"
    problem = f"{file.name} holds {what}"
    others = _other_annotators(path, annotator, signal_files)
    if others:
        problem += "; " + ", ".join(others)
    return problem, tuple(notes)
