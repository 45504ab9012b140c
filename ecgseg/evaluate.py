"""Scores: R-peak detection against reference beats, beat-class reports, and the evaluation protocols."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .aami import AAMI_CLASSES, INTER_CLASSES, TEST_FRACTION, TOLERANCE_S
from .labels import match_peaks

__all__ = ["DS1", "DS2", "PACED", "DetectionScores", "detection_scores", "ClassReport", "class_report", "protocol_split"]

#: de Chazal et al. (2004) inter-patient split of MIT-BIH: train on DS1, test on DS2 (paced records excluded).
DS1 = ("101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230").split()
DS2 = ("100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234").split()
PACED = ("102", "104", "107", "217")


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


# --- beat-class reports and the two evaluation protocols (numpy only: no torch here) ---



@dataclass(frozen=True)
class ClassReport:
    """Confusion matrix (rows = true class, columns = predicted, order N S V F Q) and the scores derived from it."""

    confusion: np.ndarray
    class_names: tuple = AAMI_CLASSES

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

        return {
            **extra,
            "n_beats": int(self.confusion.sum()),
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1(), 4),
            "macro_f1_nsvf": round(self.macro_f1(INTER_CLASSES), 4),
            "per_class": {
                name: {"se": number(se), "ppv": number(ppv), "f1": number(f1), "support": int(n)}
                for name, se, ppv, f1, n in zip(self.class_names, self.se, self.ppv, self.f1, self.support)
            },
            "confusion": self.confusion.tolist(),
        }

    def format_table(self) -> str:
        """Per-class scores and the confusion matrix as aligned text."""
        lines = [f"{'class':<6}{'Se':>8}{'+P':>8}{'F1':>8}{'support':>9}   " + "".join(f"{n:>7}" for n in self.class_names)]
        for i, name in enumerate(self.class_names):
            scores = "".join("       -" if np.isnan(v) else f"{v:8.3f}" for v in (self.se[i], self.ppv[i], self.f1[i]))
            counts = "".join(f"{c:7d}" for c in self.confusion[i])
            lines.append(f"{name:<6}{scores}{self.support[i]:9d}   {counts}")
        lines.append(
            f"accuracy {self.accuracy:.4f}   macro-F1 {self.macro_f1():.4f}   "
            f"macro-F1 (N,S,V,F) {self.macro_f1(INTER_CLASSES):.4f}   beats {int(self.confusion.sum())}"
        )
        lines.append("(rows: true class, columns: predicted)")
        return "\n".join(lines)


def class_report(true, predicted, n_classes: int = len(AAMI_CLASSES)) -> ClassReport:
    """Confusion matrix and per-class Se, +P, F1 of predicted against true class indices (0-4, order N S V F Q).

    Examples
    --------
    >>> r = class_report([0, 0, 1, 2, 2], [0, 1, 1, 2, 0])
    >>> r.confusion[:3, :3].tolist()
    [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    >>> round(r.accuracy, 2), r.f1[:3].round(3).tolist()
    (0.6, [0.5, 0.667, 0.667])
    """
    true = np.asarray(true, dtype=np.int64).ravel()
    predicted = np.asarray(predicted, dtype=np.int64).ravel()
    if true.shape != predicted.shape:
        raise ValueError(f"{true.size} true labels but {predicted.size} predictions; pass one of each per beat")
    for name, values in (("true labels", true), ("predictions", predicted)):
        if values.size and (values.min() < 0 or values.max() >= n_classes):
            raise ValueError(f"{name} must be class indices 0..{n_classes - 1}; drop unlabelled beats (-1) first")
    confusion = np.bincount(true * n_classes + predicted, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    return ClassReport(confusion=confusion, class_names=AAMI_CLASSES[:n_classes])


def protocol_split(records, labels, protocol: str = "inter", *, test_fraction: float = TEST_FRACTION, seed: int = 0):
    """Train and test beat masks of a protocol, over labelled beats only.

    ``inter`` (de Chazal 2004): train on DS1, test on DS2, paced records out.
    ``intra``: a seeded random split of all labelled beats, ``test_fraction`` to test.

    Examples
    --------
    >>> records = np.array(["101", "100", "102", "100"]); labels = np.array([0, 2, 4, -1])
    >>> train, test = protocol_split(records, labels, "inter")
    >>> train.tolist(), test.tolist()
    ([True, False, False, False], [False, True, False, False])
    """
    records = np.asarray(records).astype(str)
    labelled = np.asarray(labels) >= 0
    if protocol == "inter":
        train = labelled & np.isin(records, DS1)
        test = labelled & np.isin(records, DS2)
        if not train.any() or not test.any():
            raise ValueError("the inter-patient protocol needs DS1 and DS2 records in the beat file; "
                             "segment the whole database with `ecgseg segment database mitdb --peaks annotations`")
    elif protocol == "intra":
        rng = np.random.default_rng(seed)
        test = labelled & (rng.random(records.size) < test_fraction)
        train = labelled & ~test
    else:
        raise ValueError(f"unknown protocol {protocol!r}; use 'inter' (DS1 -> DS2) or 'intra' (random 80/20 beats)")
    return train, test
