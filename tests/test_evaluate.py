"""Scores: the class report and the evaluation protocols."""

from __future__ import annotations

import numpy as np
import pytest

from ecgseg.evaluate import class_report, protocol_split


def test_class_report_scores():
    report = class_report([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 0, 2])
    assert report.confusion[:3, :3].tolist() == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert np.allclose(report.se[:3], [2 / 3, 1 / 2, 1])
    assert np.allclose(report.ppv[:3], [2 / 3, 1 / 2, 1])
    assert np.isnan(report.se[3]) and np.isnan(report.f1[4])
    assert report.macro_f1() == pytest.approx(np.mean([2 / 3, 1 / 2, 1]))
    assert report.macro_f1(("N", "S", "V", "F")) == pytest.approx(np.mean([2 / 3, 1 / 2, 1]))  # F: neither true nor predicted
    assert class_report([0, 0, 3], [0, 0, 0]).macro_f1(("N", "S", "V", "F")) == pytest.approx(np.mean([0.8, 0]))
    with pytest.raises(ValueError, match="drop unlabelled beats"):
        class_report([0, -1], [0, 0])


def test_intra_split_is_seeded_and_disjoint():
    records = np.repeat(["100", "101"], 500)
    labels = np.zeros(1000, int)
    labels[::100] = -1
    train_a, test_a = protocol_split(records, labels, "intra", seed=4)
    train_b, test_b = protocol_split(records, labels, "intra", seed=4)
    assert np.array_equal(test_a, test_b) and not (train_a & test_a).any()
    assert 0.15 < test_a.sum() / 990 < 0.25 and not (test_a | train_a)[labels < 0].any()
