"""The context a plain .npy of the paper's segments tells by itself: R-R intervals where rows overlap, the template."""

import re

import numpy as np
import pytest

from ecgseg import _kernels
from ecgseg.context import CUT_FEATURES, cut_context, model_inputs
from ecgseg.rhythm import cut_intervals

from . import naive


def planted(rng, n=40, length=60):
    """Rows where each row's start is (an affine copy of) the previous row from a known lag, zero-padded."""
    signal = rng.normal(size=n * 50 + length)
    starts = np.cumsum(rng.integers(15, 45, n))
    lengths = rng.integers(35, length + 1, n)
    rows = np.zeros((n, length), np.float32)
    for i, (s, m) in enumerate(zip(starts, lengths)):
        scale, offset = (1.0, 0.0) if i % 3 else (rng.uniform(0.5, 2), rng.uniform(-1, 1))  # another window's scaling
        rows[i, :m] = scale * signal[s:s + m] + offset
    return rows, lengths, starts


def test_successor_lags_matches_the_naive_reference_and_finds_planted_copies():
    rng = np.random.default_rng(1)
    rows, lengths, starts = planted(rng)
    follows = np.ones(len(rows), bool)
    follows[[0, 17]] = False  # row 17 starts a record
    args = (rows, lengths.astype(np.int64), follows, 1, 8, 30, 1e-5)
    fast, slow = _kernels.successor_lags(*args), naive.successor_lags(*args)
    assert np.array_equal(fast, slow)
    lag = np.diff(starts)
    inside = np.r_[False, lag + 8 <= lengths[:-1]] & follows
    assert np.array_equal(fast[inside], np.r_[0, lag][inside])  # every copy inside the row before is found, exactly
    assert np.all(fast[~inside] == -1)  # and nothing else: random rows never pass as copies


def test_cut_intervals_on_a_real_record_give_the_annotation_intervals(beats_at_annotations_100):
    beats = beats_at_annotations_100
    lengths, lag = cut_intervals(beats.segments)
    r = np.round(beats.r_peaks * 125 / 360).astype(np.int64)
    found = lag > 0
    assert found.mean() > 0.7 and lag[0] == -1
    assert np.array_equal(lag[found], np.diff(r)[found[1:]])  # exact to the sample
    assert np.all(lengths <= beats.segments.shape[1]) and np.all(lengths > 0)
    with pytest.raises(ValueError, match="rows of each record must be contiguous"):
        cut_intervals(beats.segments[:6], np.array(list("aabbaa")))


def test_cut_context_tells_premature_beats_and_shuffled_rows(beats_at_annotations_100):
    beats = beats_at_annotations_100
    features = cut_context(beats.segments)
    assert features.shape == (len(beats.segments), len(CUT_FEATURES)) and features.dtype == np.float32
    assert np.all(np.isfinite(features)) and np.all(features > 0)
    prematurity = features[:, CUT_FEATURES.index("prev_over_median")]
    labels = beats.labels
    # record 100's supraventricular beats come early against its rhythm; its normal beats do not
    assert np.median(prematurity[labels == 1]) < 0.85 < np.median(prematurity[labels == 0])
    period = features[:, CUT_FEATURES.index("period_s")]
    # the non-zero length is 1.2 T; rows cut short at their window's end take their neighbours' (wrong only where
    # T changes between the windows)
    assert np.mean(np.abs(period - np.minimum(beats.periods_s, 187 / 150)) < 0.01) > 0.93
    shuffled = cut_context(beats.segments[np.random.default_rng(0).permutation(len(beats.segments))])
    assert np.mean(shuffled[:, CUT_FEATURES.index("prev_found")] == 1) < 0.05  # rows out of order: nothing found


def test_model_inputs_reads_the_cut_context_from_segments_alone(beats_at_annotations_100):
    segments = beats_at_annotations_100.segments[:300]
    x, extra = model_inputs({"segments": segments}, {"n_extra": len(CUT_FEATURES), "context": "cut"})
    assert x.shape == segments.shape and extra.shape == (300, len(CUT_FEATURES))
    with pytest.raises(ValueError, match=r"cut 0.25 s before the R-peak; the cut context reads segments cut at the R-peak"):
        model_inputs({"segments": segments, "pre_r_s": 0.25}, {"n_extra": len(CUT_FEATURES), "context": "cut"})


def test_cut_doubt_names_rows_that_are_not_consecutive_beats(beats_at_annotations_100):
    from ecgseg.context import CUT_FOUND_LOW, cut_doubt

    segments = beats_at_annotations_100.segments
    assert cut_doubt(cut_context(segments), name="100.npy") is None  # every beat cut: 91% found
    every_other = cut_context(segments[::2])  # as when the paper's rule misses every other beat
    line = cut_doubt(every_other, name="100.npy")
    assert re.match(r"100.npy: the segments tell the previous R-R interval of \d% of the beats \(82% when every "
                    r"beat is cut\); the rows are not consecutive beats \(the paper's rule misses beats: cut with "
                    r"--peaks hamilton\)", line)
    records = np.repeat(["100", "odd"], [600, 600])
    mixed = cut_context(np.r_[segments[:600], segments[::2][:600]], records)
    assert re.match(rf"b.npz, record odd \(\d%\): the segments tell the previous R-R interval of under "
                    rf"{CUT_FOUND_LOW:.0%} of the beats", cut_doubt(mixed, records, name="b.npz"))
    assert cut_doubt(every_other[:15], name="x") is None  # too few beats to judge


@pytest.mark.slow  # a real training (a few seconds)
def test_a_model_trained_on_the_cut_context_reads_it_from_a_plain_npy(beats_at_annotations_100, tmp_path):
    from ecgseg.classify import ModelConfig, TrainConfig, classify_beats, save_checkpoint
    from ecgseg.classify.train import train
    from ecgseg.classify.predict import context_inputs

    segments = beats_at_annotations_100.segments
    x, extra, config = context_inputs({"segments": segments}, "cut", ModelConfig(n_classes=2))
    assert config.context == "cut" and config.n_extra == len(CUT_FEATURES)
    # a rhythm task: is the previous R-R (read from the overlap of the rows) short or long against the record's
    # median? (the beats in between are left out: label -1)
    prematurity = extra[:, CUT_FEATURES.index("prev_over_median")]
    labels = np.where(prematurity < 0.97, 1, np.where(prematurity > 1.03, 0, -1))
    assert min(np.sum(labels == 0), np.sum(labels == 1)) > 300
    result = train(x, labels, config=TrainConfig(epochs=3, batch_size=64, lr=3e-3, validation="beats", augment=False,
                                                 balance="none", seed=0, model=config), rr=extra)
    path = tmp_path / "cut.pt"
    save_checkpoint(path, result.model)
    npy = tmp_path / "100.npy"
    np.save(npy, segments)
    probabilities, classifier = classify_beats(npy, path, name="100.npy")
    assert classifier.checkpoint["inputs"] == ["segments", "cut"] and classifier.doubt is None
    predicted, known = probabilities.argmax(axis=1), labels >= 0
    assert np.mean(predicted[known] == labels[known]) > 0.9
    # rows out of order: the same model, its context now guesses, and it says so
    _, shuffled = classify_beats({"segments": segments[::-1].copy()}, path, name="reversed.npy")
    assert shuffled.doubt.startswith("reversed.npy: the segments tell the previous R-R interval of 0% of the beats")


def test_beat_context_without_templates_gives_the_same_features(beats_at_annotations_100):
    from ecgseg.context import beat_context

    beats = beats_at_annotations_100
    with_templates, templates = beat_context(beats.segments, beats.r_peaks, 360.0, pre_r_s=0.0)
    alone, none = beat_context(beats.segments, beats.r_peaks, 360.0, pre_r_s=0.0, templates=False)
    assert none is None and templates.shape == beats.segments.shape
    assert np.array_equal(alone, with_templates)  # the templates are made over the samples the features read only
