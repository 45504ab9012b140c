import numpy as np
import pytest

from ecgseg.evaluate import detection_scores
from ecgseg.labels import AAMI_CLASSES, SYMBOL_TO_CLASS, aami_classes, label_beats, match_peaks


def test_aami_table_is_the_spec_table():
    table = {"N": "NLRej", "S": "AaJS", "V": "VE", "F": "F", "Q": "/fQ"}
    for name, symbols in table.items():
        for symbol in symbols:
            assert AAMI_CLASSES[SYMBOL_TO_CLASS[symbol]] == name
    assert len(SYMBOL_TO_CLASS) == sum(len(s) for s in table.values())
    assert aami_classes(list('+~|x"[]!')).tolist() == [-1] * 8


def test_match_peaks_is_one_to_one_and_closest_wins():
    # Two detections on one reference: the closer keeps it; a far detection matches nothing.
    assert match_peaks([100, 103, 500], [104, 300], tolerance=10).tolist() == [-1, 0, -1]
    assert match_peaks([], [1, 2], tolerance=5).tolist() == []
    assert match_peaks([1, 2], [], tolerance=5).tolist() == [-1, -1]
    rng = np.random.default_rng(3)
    reference = np.sort(rng.choice(100_000, 500, replace=False))
    detected = np.sort(rng.choice(100_000, 500, replace=False))
    match = match_peaks(detected, reference, tolerance=54)
    matched = match[match >= 0]
    assert np.unique(matched).size == matched.size
    assert np.all(np.abs(detected[match >= 0] - reference[matched]) <= 54)


def test_label_beats_counts_misses_and_unlabelled():
    labels, missed = label_beats([100, 250, 800], [99, 300, 305, 790], ["N", "+", "V", "F"], fs=360, tolerance_s=0.15)
    # 250 is 55 samples from the V at 305, beyond 0.15 s * 360 = 54: unlabelled, and that V is missed.
    # The '+' at 300 is not a beat.
    assert labels.tolist() == [0, -1, 3]
    assert missed == 1


def test_detection_scores_agree_with_wfdb_on_a_real_record(record_100):
    """Record 100, the paper's rule against the reference beats, 150 ms: same TP/FP/FN as wfdb."""
    from wfdb.processing import compare_annotations

    from ecgseg.peaks import detect_r_peaks

    reference = record_100.ann_samples[aami_classes(record_100.ann_symbols) >= 0]
    detected = detect_r_peaks(record_100.signal, record_100.fs)
    ours = detection_scores(detected, reference, record_100.fs)
    theirs = compare_annotations(reference, detected, int(0.15 * record_100.fs))
    assert (ours.tp, ours.fp, ours.fn) == (theirs.tp, theirs.fp, theirs.fn)
    assert ours.se == pytest.approx(theirs.sensitivity)
