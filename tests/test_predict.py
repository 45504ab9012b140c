"""Classifying beats: the model choice, the inputs a model takes from a beat file, the forward loop, shipped weights."""

from __future__ import annotations

import numpy as np
import pytest

from ecgseg.classify.config import DEFAULT_CONTEXT_WEIGHTS, DEFAULT_WEIGHTS, ModelConfig
from ecgseg.classify.model import KachueeNet, load_checkpoint
from ecgseg.classify.predict import check_segments, context_inputs, load_classifier, predict_proba


@pytest.mark.parametrize(
    "segments, message",
    [
        (np.zeros((3, 180), np.float32), r"shape \(3, 180\), not \(n_beats, 187\)"),
        (np.zeros((2, 3, 187), np.float32), r"shape \(2, 3, 187\)"),
        (np.zeros((3, 187), np.int16), "dtype int16, not floating point"),
        (np.full((3, 187), np.nan, np.float32), "NaN or infinite values in 3 beats"),
    ],
)
def test_bad_beats_are_refused(segments, message):
    with pytest.raises(ValueError, match=message):
        check_segments(segments)


def test_probabilities_are_batched_consistently():
    net = KachueeNet(ModelConfig()).eval()
    x = np.random.default_rng(0).random((50, 187), dtype=np.float32)
    whole = predict_proba(net, x, batch_size=4096)
    assert np.allclose(predict_proba(net, x, batch_size=7), whole, atol=1e-6)
    assert np.allclose(whole.sum(axis=1), 1, atol=1e-5)


def test_context_inputs_follow_the_beat_file():
    arrays = {"segments": np.zeros((3, 219), np.float32), "rr": np.ones((3, 6), np.float32), "pre_r_s": np.float64(0.25)}
    x, rr, config = context_inputs(arrays, "rr", ModelConfig(arch="lstm-fcn"))
    assert x.shape == (3, 219) and rr.shape == (3, 6) and (config.input_length, config.pre_r_s, config.n_extra, config.arch) == (219, 0.25, 6, "lstm-fcn")
    with pytest.raises(ValueError, match="has no R-R context"):
        context_inputs({"segments": arrays["segments"]}, "rr", ModelConfig())
    with pytest.raises(ValueError, match="has no r_peaks or fs: the context model needs the R-peaks"):
        context_inputs({"segments": arrays["segments"]}, "beat", ModelConfig(), template=True)


def test_shipped_weights_classify_record_100(beats_100):
    assert DEFAULT_WEIGHTS.stat().st_size < 1_000_000
    model, checkpoint = load_checkpoint()
    ds1 = set("101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230".split())
    metadata = checkpoint["metadata"]
    # selected on DS1 only: held-out DS1 records, or patient folds that cover exactly DS1
    chosen_on = set(sum(metadata["folds"], [])) if "folds" in metadata else set(metadata["val_records"])
    assert metadata["protocol"] == "inter" and chosen_on <= ds1 and chosen_on
    labelled = beats_100.labels >= 0
    predicted = predict_proba(model, beats_100.segments, logit_bias=checkpoint["logit_bias"]).argmax(axis=1)
    # record 100 (a DS2 patient, never trained on) is almost all normal beats
    assert (predicted[labelled] == beats_100.labels[labelled]).mean() > 0.9


def test_beats_cut_before_the_r_peak_need_a_model_trained_so(beat_files_100):
    npz = beat_files_100[1]
    arrays = dict(np.load(npz))
    arrays["pre_r_s"] = np.float64(0.4)
    with pytest.raises(ValueError, match=r"^model kachuee_ds1.pt reads beats cut 0 s before the R-peak, but x.npz holds "
                                         r"beats cut 0.4 s before it; segment with pre_r_s=0.0$"):
        load_classifier(arrays, DEFAULT_WEIGHTS, name="x.npz").inputs(arrays, "x.npz")


@pytest.mark.parametrize("weights", [DEFAULT_WEIGHTS, DEFAULT_CONTEXT_WEIGHTS], ids=["waveform", "context"])
def test_shipped_weights_classify_real_beats(beat_files_100, weights):
    arrays = dict(np.load(beat_files_100[1] if weights == DEFAULT_CONTEXT_WEIGHTS else beat_files_100[2]))
    classifier = load_classifier(arrays, weights, name="100.npz")
    assert weights.stat().st_size < 1_000_000
    predicted = classifier.predict_proba(*classifier.inputs(arrays, "100.npz")).argmax(axis=1)
    labelled = arrays["labels"] >= 0
    # record 100: 2,239 N beats of 2,273; a shipped model must call most of them N
    assert np.mean(predicted[labelled & (arrays["labels"] == 0)] == 0) > 0.9


def test_one_forward_loop_takes_rr_directly_and_batches_consistently():
    from ecgseg.classify.model import build_model
    from ecgseg.classify.predict import logits

    net = build_model(ModelConfig(arch="cnn-mlp", n_extra=6)).eval()
    rng = np.random.default_rng(0)
    x, rr = rng.random((37, 187), dtype=np.float32), rng.uniform(0.5, 1.5, (37, 6)).astype(np.float32)
    whole = logits(net, x, rr, batch_size=4096)
    assert np.allclose(logits(net, x, rr, batch_size=5), whole, atol=1e-6)
    assert not np.allclose(logits(net, x, rr[::-1].copy()), whole)  # the context is read, beat by beat
    with pytest.raises(ValueError, match="needs 6 context features per beat; pass extra="):
        logits(net, x)
    net.train()
    logits(net, x, rr)
    assert net.training  # given back in the mode it was in


def test_classify_beats_takes_beats_a_file_or_arrays_alike(beats_100, beat_files_100, tmp_path):
    from ecgseg.beatfile import beat_arrays, save_beats
    from ecgseg.classify.predict import classify_beats

    from_beats, used = classify_beats(beats_100, name="100")
    assert used.path == DEFAULT_WEIGHTS and "R-peaks from the paper's rule" in used.reason  # cut by the rule: the waveform model
    path = tmp_path / "100.npz"
    save_beats(path, beat_arrays(beats_100, "100"))
    from_file, _ = classify_beats(str(path))
    assert np.array_equal(from_beats, from_file) and from_beats.shape == (len(beats_100), 5)
    probabilities, used = classify_beats(str(beat_files_100[1]))
    assert used.path == DEFAULT_CONTEXT_WEIGHTS and used.reason is None and used.description == "context (rhythm + template, pre-R)"
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


def test_a_given_model_that_does_not_fit_the_beats_is_refused(beat_files_100):
    npy = beat_files_100[0]
    arrays = {"segments": np.load(npy)}
    classifier = load_classifier(arrays, DEFAULT_CONTEXT_WEIGHTS, name="100.npy")
    with pytest.raises(ValueError, match=r"^model context_ds1.pt reads the rhythm around each beat, but 100.npy carries no "
                                         r"r_peaks or fs; segment to an .npz with peaks='hamilton', or use a "
                                         r"waveform-only model$"):
        classifier.inputs(arrays, "100.npy")
    with pytest.raises(ValueError, match=r"and r_peaks \(2,\) must be \(n_beats, length\) and \(n_beats,\)"):
        classifier.inputs({**dict(np.load(beat_files_100[1])), "r_peaks": np.arange(2)}, "x")


def test_classify_beats_takes_the_segments_alone():
    """An (n, 187) array is what a plain .npy holds: classified as the file would be; anything else is one line."""
    from ecgseg.classify.predict import classify_beats

    segments = np.random.default_rng(0).random((3, 187)).astype(np.float32)
    probabilities, used = classify_beats(segments)
    assert probabilities.shape == (3, 5) and used.path.name == "kachuee_ds1.pt"
    assert np.array_equal(probabilities, classify_beats({"segments": segments})[0])
    with pytest.raises(TypeError, match=r"^beats is a list; pass Beats, a beat file \(dict of arrays or its path\) "
                                        r"or an \(n_beats, length\) array of segments$"):
        classify_beats([[0.0] * 187])
