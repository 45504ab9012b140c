"""Training: learning separable tasks, seeds, patient-wise validation and folds, imbalance options, calibration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgseg.classify.config import ARCHS, ModelConfig, TrainConfig
from ecgseg.classify.predict import predict_proba
from ecgseg.classify.train import _batches, augment, calibrate_bias, patient_folds, train

from .synthetic import rr_task, separable_beats


def test_training_learns_a_separable_task():
    segments, labels = separable_beats()
    losses = []
    result = train(segments, labels, config=TrainConfig(epochs=4, batch_size=16, validation="beats", seed=1, patience=10),
                   progress=lambda h: losses.append(h["loss"]))
    assert losses[-1] < losses[0] / 2
    test_x, test_y = separable_beats(40, seed=2)
    accuracy = (predict_proba(result.model, test_x, logit_bias=result.logit_bias).argmax(1) == test_y).mean()
    assert accuracy > 0.9  # chance is 1/3


def test_training_is_reproducible_with_a_seed():
    segments, labels = separable_beats(32)
    config = TrainConfig(epochs=1, validation="beats", seed=3)
    a, b = train(segments, labels, config=config), train(segments, labels, config=config)
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key])


def test_patient_validation_holds_out_whole_records():
    segments, labels = separable_beats(40)
    records = np.array([f"r{i % 5}" for i in range(labels.size)])
    result = train(segments, labels, records, TrainConfig(epochs=1, val_fraction=0.4, seed=0))
    assert len(result.val_records) == 2 and set(result.val_records) <= set(records)
    assert result.metadata["n_val_beats"] == np.isin(records, result.val_records).sum()


def test_training_refuses_patient_validation_without_records():
    segments, labels = separable_beats(8)
    with pytest.raises(ValueError, match="needs the record of each beat"):
        train(segments, labels, config=TrainConfig(epochs=1))


@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_arch_learns_from_rr_context_alone(arch):
    # the waveforms carry nothing: only the context path can separate the classes
    segments, labels, rr = rr_task()
    config = TrainConfig(epochs=4, batch_size=32, lr=3e-3, validation="beats", augment=False, balance="none",
                         model=ModelConfig(arch=arch))
    result = train(segments, labels, config=config, rr=rr)
    assert result.model.config.n_extra == 6
    assert result.metadata["val_macro_f1"] >= 0.95


def test_waveform_only_cannot_learn_the_rr_task():
    segments, labels, _ = rr_task()
    config = TrainConfig(epochs=4, batch_size=32, lr=3e-3, validation="beats", augment=False, balance="none",
                         model=ModelConfig(arch="cnn-mlp"))
    assert train(segments, labels, config=config).metadata["val_macro_f1"] < 0.8


def test_balance_options_shape_the_epoch():
    labels = np.r_[np.zeros(900, int), np.ones(60, int), np.full(40, 2)]
    rng = np.random.default_rng(0)
    order = np.concatenate(_batches(labels, TrainConfig(balance="undersample", undersample_ratio=2.0), rng))
    assert np.count_nonzero(labels[order] == 0) == 200 and np.count_nonzero(labels[order] != 0) == 100
    order = np.concatenate(_batches(labels, TrainConfig(balance="sampler", epoch_beats=3000), rng))
    assert np.allclose(np.bincount(labels[order]) / 3000, 1 / 3, atol=0.04)
    order = np.concatenate(_batches(labels, TrainConfig(balance="sqrt-sampler", epoch_beats=3000), rng))
    share = np.bincount(labels[order]) / 3000
    expected = np.sqrt([900, 60, 40]) / np.sqrt([900, 60, 40]).sum()  # count x 1/sqrt(count)
    assert np.allclose(share, expected, atol=0.04)
    with pytest.raises(ValueError, match="unknown balance"):
        train(np.zeros((4, 187), np.float32), [0, 1, 0, 1], config=TrainConfig(balance="smote", validation="beats"))


def test_folds_choose_epochs_and_biases_out_of_fold():
    segments, labels, rr = rr_task(48)
    records = np.array([f"r{i % 6}" for i in range(labels.size)])
    folds = patient_folds(records, labels, 3)
    assert sorted(sum(folds, [])) == [f"r{i}" for i in range(6)] and all(len(f) == 2 for f in folds)
    config = TrainConfig(epochs=3, batch_size=32, lr=3e-3, validation="folds", folds=3, augment=False,
                         model=ModelConfig(arch="cnn-mlp"))
    result = train(segments, labels, records, config, rr=rr)
    meta = result.metadata
    assert meta["folds"] == folds and len(meta["oof_macro_f1_by_epoch"]) == 3
    assert meta["best_epoch"] == 1 + int(np.argmax(meta["oof_macro_f1_by_epoch"]))
    # 3 folds x 3 epochs, then the final model on all beats for the chosen epochs
    assert len(result.history) == 9 + meta["best_epoch"]
    with pytest.raises(ValueError, match="3 patient-wise folds need at least 3 records"):
        patient_folds(["a", "b"], [0, 1], 3)


def test_calibration_counts_q_only_when_asked():
    # an N beat and a Q beat both lean N; a Q bias that moves the Q beat to Q moves that N beat too
    logits = np.array([[1, -9, -9, -9, 0.0], [1, -9, -9, -9, 0.9], [1, -9, -9, -9, 0.8]])
    labels = np.array([0, 0, 4])
    assert calibrate_bias(logits, labels)[4] == 0  # N, S, V, F only: N's F1 is best with nothing called Q
    assert calibrate_bias(logits, labels, classes=("N", "S", "V", "F", "Q"))[4] > 0.2  # with Q's F1 in the mean


@pytest.mark.parametrize("validation", ["patient", "beats", "folds"])
def test_every_validation_records_the_training_beats_and_returns_an_eval_model(validation):
    """The class counts of the beats the returned model trained on, for each selection (folds: all of them)."""
    segments, labels = separable_beats(24)
    records = np.array([f"r{i % 4}" for i in range(labels.size)])
    config = TrainConfig(epochs=1, batch_size=16, validation=validation, folds=2, augment=False, seed=0)
    result = train(segments, labels, records, config)
    meta = result.metadata
    held = np.isin(records, result.val_records) if validation == "patient" else None
    if validation == "folds":
        assert meta["n_train_beats"] == labels.size and meta["train_class_counts"] == [24, 24, 24, 0, 0]
    elif validation == "patient":
        assert meta["train_class_counts"] == np.bincount(labels[~held], minlength=5).tolist()
    assert sum(meta["train_class_counts"]) == meta["n_train_beats"]
    assert not result.model.training  # the selected model comes back in eval mode, as documented


def test_a_second_input_channel_carries_the_task():
    # class 2 beats differ from their template channel only: the beat channel alone is the same noise for both
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 2], 64)
    beats = rng.normal(0, 0.05, (128, 187)).astype(np.float32)
    templates = (beats + np.where(labels[:, None] == 2, 0.6, 0.0)).astype(np.float32)
    x = np.stack([beats, templates], axis=1)
    config = TrainConfig(epochs=4, batch_size=16, lr=3e-3, validation="beats", augment=True, balance="none",
                         model=ModelConfig(in_channels=2))
    result = train(x, labels, config=config)
    assert result.metadata["val_macro_f1"] >= 0.95
    with pytest.raises(ValueError, match=r"not \(n_beats, 2, 187\) for a model of 2 input channels"):
        train(beats, labels, config=config)


def test_augment_shares_its_draw_between_a_beat_and_its_template():
    x = torch.rand(8, 187)
    out = augment(torch.stack([x, x], dim=1), torch.Generator().manual_seed(0))
    assert out.shape == (8, 2, 187)
    # the same scale, offset and stretch: the channels differ by their independent noise only
    assert float((out[:, 0] - out[:, 1]).abs().max()) < 0.1
    assert augment(x, torch.Generator().manual_seed(0)).shape == (8, 187)


def test_recall_floor_keeps_the_calibration_from_silencing_a_class():
    rng = np.random.default_rng(0)
    labels = np.r_[np.zeros(900, int), np.ones(100, int)]
    # class S is poorly separated: silencing it costs its F1 but wins N's
    logits = np.zeros((1000, 5)) - 9
    logits[:, 0] = 0
    logits[:, 1] = rng.normal(np.where(labels == 1, 0.3, -0.3), 1.0)
    free = calibrate_bias(logits, labels, classes=("N", "S"))
    floored = calibrate_bias(logits, labels, classes=("N", "S"), recall_floor=0.5)
    recall = lambda bias: np.mean(np.argmax(logits + bias, axis=1)[labels == 1] == 1)  # noqa: E731
    assert recall(free) < 0.5 <= recall(floored)  # free: 0.15; floored: its uncalibrated 0.53


def test_normal_recall_keeps_normal_beats_normal():
    from ecgseg.classify.train import calibrate_bias

    rng = np.random.default_rng(1)
    labels = np.r_[np.zeros(900, int), np.full(100, 2)]
    logits = np.full((1000, 5), -9.0)
    logits[:, 0] = 0
    logits[:, 2] = rng.normal(np.where(labels == 2, 1.0, -0.2), 1.0)  # many N beats lean V
    recall_n = lambda bias: np.mean(np.argmax(logits + bias, axis=1)[labels == 0] == 0)  # noqa: E731
    assert recall_n(calibrate_bias(logits, labels, classes=("N", "V"))) < 0.97
    bias = calibrate_bias(logits, labels, classes=("N", "V"), normal_recall=0.97)
    assert recall_n(bias) >= 0.97 and bias[0] == 0


def test_min_recall_raises_a_silent_class():
    from ecgseg.classify.train import calibrate_bias

    rng = np.random.default_rng(2)
    labels = np.r_[np.zeros(950, int), np.ones(50, int)]
    logits = np.full((1000, 5), -9.0)
    logits[:, 0] = 1.0
    logits[:, 1] = rng.normal(np.where(labels == 1, 0.0, -1.0), 0.7)  # S never wins without a bias
    recall_s = lambda bias: np.mean(np.argmax(logits + bias, axis=1)[labels == 1] == 1)  # noqa: E731
    assert recall_s(np.zeros(5)) < 0.3
    assert recall_s(calibrate_bias(logits, labels, classes=("N", "S"), min_recall=0.3)) >= 0.3
