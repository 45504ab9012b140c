"""Scores: R-peak detection against reference beats, and the evaluation protocols' record lists."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .labels import match_peaks

__all__ = ["DS1", "DS2", "PACED", "DetectionScores", "detection_scores"]

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


def detection_scores(detected, reference, fs: float, tolerance_s: float = 0.15) -> DetectionScores:
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
