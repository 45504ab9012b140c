"""Scores: R-peak detection against reference beats, beat-class reports (any classes; Se, Sp, +P, F1 and AUC for
two), per record and in total. Which beats are scored is :mod:`ecgseg.protocols` (its names are importable here too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .aami import AAMI_CLASSES, INTER_CLASSES, TOLERANCE_S
from .labels import match_peaks
from .protocols import DS1, DS2, PACED, protocol_split  # noqa: F401  (where the protocols were first defined)

__all__ = ["DS1", "DS2", "PACED", "DetectionScores", "detection_scores", "ClassReport", "class_report", "roc_auc",
           "record_reports", "format_records", "protocol_split"]


@dataclass(frozen=True)
class DetectionScores:
    """Counts and rates of R-peak detection against reference beats; add them to sum over records."""

    tp: int
    fp: int
    fn: int

    @property
    def se(self) -> float:
        """Sensitivity TP / (TP + FN)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def ppv(self) -> float:
        """Positive predictivity TP / (TP + FP)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def f1(self) -> float:
        return 2 * self.tp / (2 * self.tp + self.fp + self.fn) if self.tp else 0.0

    def __add__(self, other: "DetectionScores") -> "DetectionScores":
        return DetectionScores(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def detection_scores(detected, reference, fs: float, tolerance_s: float = TOLERANCE_S) -> DetectionScores:
    """Match detected R-peaks one to one with reference beats within ``tolerance_s``.

    Examples
    --------
    >>> s = detection_scores([100, 400, 900], [102, 398, 600], fs=360)
    >>> s.tp, s.fp, s.fn, round(s.se, 3)
    (2, 1, 1, 0.667)
    """
    detected = np.sort(np.asarray(detected, dtype=np.int64))
    reference = np.sort(np.asarray(reference, dtype=np.int64))
    tp = int(np.count_nonzero(match_peaks(detected, reference, int(round(tolerance_s * fs))) >= 0))
    return DetectionScores(tp=tp, fp=int(detected.size - tp), fn=int(reference.size - tp))


# --- beat-class reports (numpy only: no torch here) ---


@dataclass(frozen=True)
class ClassReport:
    """Confusion matrix (rows = true class, columns = predicted, in ``class_names`` order: N S V F Q for the AAMI
    classes) and the scores derived from it. ``auc``: the area under the ROC curve of a two-class task (the second
    class positive), when the probabilities were given."""

    confusion: np.ndarray
    class_names: tuple = AAMI_CLASSES
    auc: float | None = None

    @property
    def is_aami(self) -> bool:
        return tuple(self.class_names) == AAMI_CLASSES

    @property
    def binary(self) -> dict | None:
        """For two classes: the second (the task's finding, e.g. myocardial infarction) as positive: Se, Sp, +P, F1,
        AUC; None otherwise."""
        if len(self.class_names) != 2:
            return None
        return {"positive": self.class_names[1], "se": self.se[1], "sp": self.se[0], "ppv": self.ppv[1],
                "f1": self.f1[1], "auc": np.nan if self.auc is None else self.auc}

    @property
    def support(self) -> np.ndarray:
        return self.confusion.sum(axis=1)

    @property
    def se(self) -> np.ndarray:
        """Per-class sensitivity (recall); NaN for a class with no true beats."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.confusion) / self.confusion.sum(axis=1)

    @property
    def ppv(self) -> np.ndarray:
        """Per-class positive predictivity (precision); NaN for a class never predicted."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diag(self.confusion) / self.confusion.sum(axis=0)

    @property
    def f1(self) -> np.ndarray:
        """Per-class F1 = 2TP / (2TP + FP + FN); 0 where TP is 0, NaN for a class neither true nor predicted."""
        tp = np.diag(self.confusion).astype(float)
        denominator = self.confusion.sum(axis=0) + self.confusion.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(denominator > 0, 2 * tp / denominator, np.nan)

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / max(self.confusion.sum(), 1))

    def macro_f1(self, classes=None) -> float:
        """Mean F1 over ``classes`` (names; default: the classes with true beats).

        A class neither true nor predicted (F1 undefined) is left out of the mean; one with true beats never
        predicted, or predicted but never true, counts as 0.
        """
        if classes is None:
            chosen = self.support > 0
        else:
            chosen = np.isin(np.array(self.class_names), classes) & ~np.isnan(self.f1)
        return float(np.mean(self.f1[chosen])) if chosen.any() else float("nan")

    def to_dict(self, **extra) -> dict:
        """A JSON-ready dict: accuracy, macro_f1, macro_f1_nsvf, per_class {name: {se, ppv, f1, support}}, confusion."""

        def number(x):
            return None if np.isnan(x) else round(float(x), 4)

        scores = {
            **extra,
            "n_beats": int(self.confusion.sum()),
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1(), 4),
        }
        if self.is_aami:
            scores["macro_f1_nsvf"] = round(self.macro_f1(INTER_CLASSES), 4)
        if self.binary is not None:
            scores["binary"] = {k: (v if isinstance(v, str) else number(v)) for k, v in self.binary.items()}
        scores["class_names"] = list(self.class_names)
        scores["per_class"] = {
            name: {"se": number(se), "ppv": number(ppv), "f1": number(f1), "support": int(n)}
            for name, se, ppv, f1, n in zip(self.class_names, self.se, self.ppv, self.f1, self.support)
        }
        scores["confusion"] = self.confusion.tolist()
        return scores

    def format_table(self) -> str:
        """Per-class scores and the confusion matrix as aligned text."""
        width = max(6, *(len(n) + 1 for n in self.class_names))
        column = max(7, *(len(n) + 1 for n in self.class_names))
        lines = [f"{'class':<{width}}{'Se':>8}{'+P':>8}{'F1':>8}{'support':>9}   "
                 + "".join(f"{n:>{column}}" for n in self.class_names)]
        for i, name in enumerate(self.class_names):
            scores = "".join("       -" if np.isnan(v) else f"{v:8.3f}" for v in (self.se[i], self.ppv[i], self.f1[i]))
            counts = "".join(f"{c:{column}d}" for c in self.confusion[i])
            lines.append(f"{name:<{width}}{scores}{self.support[i]:9d}   {counts}")
        nsvf = f"macro-F1 (N,S,V,F) {self.macro_f1(INTER_CLASSES):.4f}   " if self.is_aami else ""
        lines.append(f"accuracy {self.accuracy:.4f}   macro-F1 {self.macro_f1():.4f}   {nsvf}beats {int(self.confusion.sum())}")
        if self.binary is not None:
            b = self.binary
            lines.append(f"{b['positive']} positive: Se {_num(b['se'])}   Sp {_num(b['sp'])}   +P {_num(b['ppv'])}   "
                         f"F1 {_num(b['f1'])}   AUC {_num(b['auc'])}")
        lines.append("(rows: true class, columns: predicted)")
        return "\n".join(lines)


def class_report(true, predicted, n_classes: int | None = None, *, class_names=None, probabilities=None) -> ClassReport:
    """Confusion matrix and per-class Se, +P, F1 of predicted against true class indices.

    Parameters
    ----------
    true, predicted : array_like of int, shape (n_beats,)
        Class indices 0 .. n_classes - 1 (unlabelled beats, -1, dropped before).
    n_classes : int, optional
        Default: ``len(class_names)``, else the five AAMI classes.
    class_names : sequence of str, optional
        The classes in index order; default the AAMI classes N, S, V, F, Q (the first ``n_classes``).
    probabilities : array_like, shape (n_beats, 2), optional
        For a two-class task: the area under the ROC curve of the second class's probability.

    Examples
    --------
    >>> r = class_report([0, 0, 1, 2, 2], [0, 1, 1, 2, 0])
    >>> r.confusion[:3, :3].tolist()
    [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    >>> round(r.accuracy, 2), r.f1[:3].round(3).tolist()
    (0.6, [0.5, 0.667, 0.667])
    >>> b = class_report([0, 0, 1, 1], [0, 1, 1, 1], class_names=("healthy", "MI"),
    ...                  probabilities=[[.9, .1], [.4, .6], [.3, .7], [.2, .8]]).binary
    >>> b["se"], b["sp"], b["auc"]
    (np.float64(1.0), np.float64(0.5), 1.0)
    """
    if class_names is None:
        class_names = AAMI_CLASSES[: len(AAMI_CLASSES) if n_classes is None else n_classes]
    class_names = tuple(str(name) for name in class_names)
    n_classes = len(class_names) if n_classes is None else n_classes
    if len(class_names) != n_classes:
        raise ValueError(f"{n_classes} classes but {len(class_names)} class names; give one name per class")
    true = np.asarray(true, dtype=np.int64).ravel()
    predicted = np.asarray(predicted, dtype=np.int64).ravel()
    if true.shape != predicted.shape:
        raise ValueError(f"{true.size} true labels but {predicted.size} predictions; pass one of each per beat")
    for name, values in (("true labels", true), ("predictions", predicted)):
        if values.size and (values.min() < 0 or values.max() >= n_classes):
            raise ValueError(f"{name} must be class indices 0..{n_classes - 1}; drop unlabelled beats (-1) first")
    confusion = np.bincount(true * n_classes + predicted, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    auc = None
    if probabilities is not None and n_classes == 2:
        auc = roc_auc(true == 1, np.asarray(probabilities)[:, 1])
    return ClassReport(confusion=confusion, class_names=class_names, auc=auc)


def roc_auc(positive, score) -> float:
    """Area under the ROC curve: the chance that a positive beat scores above a negative one (ties count half).

    The Mann-Whitney U statistic over the average ranks of the scores; NaN without both classes.

    Examples
    --------
    >>> roc_auc([False, False, True, True], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([False, True], [0.5, 0.5])
    0.5
    """
    positive = np.asarray(positive, dtype=bool).ravel()
    score = np.asarray(score, dtype=np.float64).ravel()
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2  # 1-based ranks, ties sharing their mean rank
    ranks = average_rank[inverse]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def record_reports(records, true, predicted, class_names, probabilities=None) -> list[tuple[str, ClassReport]]:
    """One :class:`ClassReport` per record (in order of first appearance) of the beats given.

    Examples
    --------
    >>> rows = record_reports(["a", "a", "b"], [0, 1, 1], [0, 0, 1], ("N", "L"))
    >>> [(name, round(r.accuracy, 2)) for name, r in rows]
    [('a', 0.5), ('b', 1.0)]
    """
    records = np.asarray(records).astype(str)
    true, predicted = np.asarray(true), np.asarray(predicted)
    names, first = np.unique(records, return_index=True)
    rows = []
    for name in names[np.argsort(first)]:
        mine = records == name
        proba = None if probabilities is None else np.asarray(probabilities)[mine]
        rows.append((str(name), class_report(true[mine], predicted[mine], class_names=class_names, probabilities=proba)))
    return rows


def format_records(rows: list[tuple[str, ClassReport]]) -> str:
    """The per-record table: beats, accuracy, macro-F1, the true classes and the class predicted most often.

    For a two-class task the positive class's Se and the negative's Sp; a record whose beats all have one true
    class (a record-level label, as PTB's diagnosis) is right when the class predicted most often is that one.
    """
    binary = rows and len(rows[0][1].class_names) == 2
    width = max(8, *(len(name) + 2 for name, _ in rows)) if rows else 8
    extra = f"{'Se':>7}{'Sp':>7}" if binary else ""
    lines = [f"{'record':<{width}}{'beats':>7}{'accuracy':>10}{'macro-F1':>10}{extra}   true -> most predicted"]
    for name, report in rows:
        names = np.array(report.class_names)
        true_classes = ",".join(names[report.support > 0].tolist()) or "-"
        most = names[int(np.argmax(report.confusion.sum(axis=0)))]
        scores = f"{_num(report.binary['se'], 7)}{_num(report.binary['sp'], 7)}" if binary else ""
        lines.append(f"{name:<{width}}{int(report.confusion.sum()):7d}{report.accuracy:10.3f}"
                     f"{_num(report.macro_f1(), 10)}{scores}   {true_classes} -> {most}")
    return "\n".join(lines)


def _num(value, width: int = 0) -> str:
    return f"{'-':>{width}}" if value is None or np.isnan(value) else f"{value:{width}.3f}"
