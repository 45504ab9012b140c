"""Tasks: which class each beat of a beat file is in, read from one of its keys, for a list of class names.

A task is a key of the beat file and its classes in output order:

- ``labels``: the AAMI class (0-4 = N, S, V, F, Q) of each beat's reference annotation: the arrhythmia task;
- a text key: ``diagnosis``, the record's diagnosis from its header (PTB: ``Myocardial infarction``, ``Healthy
  control``, ...), or any other per-beat or per-record text; classes are matched by name, ``""`` is no class;
- ``class_index``: the class column of a heartbeat CSV, which names no classes: an index into the classes given.

A beat whose class is not among those chosen is left out (-1), as are unlabelled beats. Matching by name lets a
model trained on a task score any file that carries the same names, in whatever order the file lists them.
No torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .aami import AAMI_CLASSES
from .beatfile import CSV_CLASS
from .terms import say, setting

__all__ = ["Task", "task_labels", "default_key", "require_labelled"]


@dataclass(frozen=True)
class Task:
    """The beats' classes in a task.

    Attributes
    ----------
    labels : numpy.ndarray, shape (n_beats,) int64
        Index into ``class_names``; -1 for beats of no chosen class.
    class_names : tuple of str
        The task's classes, in output order.
    key : str
        The beat file's key the classes were read from.
    left_out : dict
        Beats whose class (by name) is not among ``class_names``: name -> count.
    named : bool
        False when the file names no classes (a CSV): ``class_names`` then names its indices.
    """

    labels: np.ndarray
    class_names: tuple[str, ...]
    key: str
    left_out: dict = field(default_factory=dict)
    named: bool = True

    def counts(self) -> np.ndarray:
        """Beats per class, in ``class_names`` order."""
        return np.bincount(self.labels[self.labels >= 0], minlength=len(self.class_names))


def default_key(arrays: dict) -> str:
    """``labels`` (the AAMI classes) when the file has them, else a CSV's ``class_index``."""
    return CSV_CLASS if CSV_CLASS in arrays and "labels" not in arrays else "labels"


def task_labels(arrays: dict, key: str | None = None, classes=None, *, name: str = "beats",
                classes_of: str = "") -> Task:
    """Each beat's class in a task: read from ``arrays[key]``, as an index into ``classes``.

    Parameters
    ----------
    arrays : dict
        A beat file (:func:`ecgseg.beatfile.load_beats`).
    key : str, optional
        ``labels``, ``class_index``, or a text key such as ``diagnosis``; default :func:`default_key`.
    classes : sequence of str, optional
        The task's classes in output order. Default: the five AAMI classes for ``labels``; the names present,
        sorted, for a text key; for a CSV's class indices the AAMI names when they run 0-4, else ``"0"``, ``"1"``...
    name : str
        The beat file's name in messages.
    classes_of : str
        Whose the classes are, in messages (``"of model m.pt"``).

    Returns
    -------
    Task

    Raises
    ------
    ValueError
        The file lacks the key, ``classes`` names an AAMI class that does not exist, or a CSV class index is beyond
        the classes given.

    Examples
    --------
    >>> arrays = {"segments": np.zeros((4, 187)), "diagnosis": np.array(["MI", "Healthy control", "MI", "n/a"])}
    >>> task = task_labels(arrays, "diagnosis", ["Healthy control", "MI"])
    >>> task.labels.tolist(), task.left_out
    ([1, 0, 1, -1], {'n/a': 1})
    >>> task_labels({"segments": np.zeros((3, 187)), "labels": np.array([0, 2, -1])}, classes=["N", "V"]).labels.tolist()
    [0, 1, -1]
    """
    key = default_key(arrays) if key is None else key
    if set(arrays) == {"segments"}:
        raise ValueError(f"{name} holds beats without labels (a .npy holds the segments only); use the .npz that "
                         + say("`ecgseg segment record RECORD --peaks annotations -o beats.npz`",
                               "`ecgseg.pipeline.write_record('beats.npz', RECORD, peaks='annotations')`")
                         + " writes, or a heartbeat CSV")
    if key not in arrays:
        have = ", ".join(k for k in arrays if k != "segments")
        raise ValueError(f"{name} has no {key!r} array (it has {have}); {_key_hint(key)}")
    n = len(arrays["segments"])
    values = np.broadcast_to(np.asarray(arrays[key]), (n,)) if np.ndim(arrays[key]) == 0 else np.asarray(arrays[key])
    if values.shape != (n,):
        raise ValueError(f"{name}'s {key!r} array has shape {values.shape}, not one value per beat ({n},)")
    if values.dtype.kind in "US":
        return _by_name(values.astype(str), classes, key, name)
    values = values.astype(np.int64)
    if key == "labels":  # AAMI class indices: named
        known = np.array(AAMI_CLASSES)
        as_names = np.where(values >= 0, known[np.clip(values, 0, len(known) - 1)], "")
        if classes is not None:
            unknown = [c for c in classes if c not in AAMI_CLASSES]
            if unknown:
                raise ValueError(f"{name}'s labels are the AAMI classes {', '.join(AAMI_CLASSES)}, and {unknown[0]!r} "
                                 f"is not one of them; choose among them, or read another key of the file ({_key_option()})")
        return _by_name(as_names, tuple(AAMI_CLASSES) if classes is None else classes, key, name)
    return _by_index(values, classes, key, name, classes_of)


def _by_name(values: np.ndarray, classes, key: str, name: str) -> Task:
    present = values != ""
    if classes is None:
        classes = tuple(sorted(set(values[present].tolist())))
    classes = tuple(str(c) for c in classes)
    if len(set(classes)) != len(classes):
        raise ValueError(f"the classes {', '.join(classes)} name one class twice; name each once")
    lookup = {c: i for i, c in enumerate(classes)}
    labels = np.array([lookup.get(v, -1) for v in values.tolist()], dtype=np.int64) if values.size else np.zeros(0, np.int64)
    outside, counts = np.unique(values[present & (labels < 0)], return_counts=True)
    return Task(labels, classes, key, dict(zip(outside.tolist(), counts.tolist())))


def _by_index(values: np.ndarray, classes, key: str, name: str, classes_of: str) -> Task:
    top = int(values.max(initial=-1))
    if classes is None:
        classes = AAMI_CLASSES if top == len(AAMI_CLASSES) - 1 else tuple(str(i) for i in range(top + 1))
    classes = tuple(str(c) for c in classes)
    if top >= len(classes):
        row = int(np.argmax(values >= len(classes)))
        raise ValueError(f"{name} row {row + 1}: the class is {values[row]}, but the classes{' ' + classes_of if classes_of else ''} "
                         f"are 0-{len(classes) - 1} ({', '.join(classes)})")
    return Task(np.where(values >= 0, values, -1), classes, key, {}, named=False)


def require_labelled(task: Task, arrays: dict, name: str) -> None:
    """Refuse a task in which no beat has a class, saying where the classes may be instead.

    Examples
    --------
    >>> arrays = {"segments": np.zeros((2, 187)), "labels": np.array([-1, -1]), "diagnosis": np.array("MI")}
    >>> require_labelled(task_labels(arrays), arrays, "x.npz")
    Traceback (most recent call last):
    ...
    ValueError: x.npz has no beat of the classes N, S, V, F, Q in 'labels'; its classes may be in 'diagnosis' (key=)
    """
    if (task.labels >= 0).any():
        return
    outside = ""
    if task.left_out:
        outside = " (it has " + ", ".join(f"{n} {c}" for c, n in sorted(task.left_out.items(), key=lambda kv: -kv[1])[:6]) + ")"
    texts = [k for k, v in arrays.items() if k not in (task.key, "record", "peaks", "segments")
             and np.asarray(v).dtype.kind == "U" and (np.asarray(v) != "").any()]
    if texts:
        where = f"its classes may be in {', '.join(repr(k) for k in texts)} ({_key_option()})"
    elif task.left_out:
        where = f"use a model trained on its classes ({setting('model')}), or train on them ({setting('classes')})"
    else:
        where = f"cut the beats with reference annotations ({setting('peaks', 'annotations')})"
    raise ValueError(f"{name} has no beat of the classes {', '.join(task.class_names)} in {task.key!r}{outside}; {where}")


def _key_option() -> str:
    return say("--labels", "key=")  # the command line's --labels is this function's key


def _key_hint(key: str) -> str:
    if key == "labels":
        return f"cut the beats with reference annotations ({setting('peaks', 'annotations')})"
    if key == "diagnosis":
        return "segment a database whose headers state a diagnosis (" + say(
            "`ecgseg segment database ptbdb --channel ii -o ptb.npz`",
            "`ecgseg.segment_records(names, 'ptbdb', channel='ii')`") + ")"
    return f"name a key the file has ({_key_option()})"
