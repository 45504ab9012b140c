"""The four architectures, R-R context, imbalance and fold options, checkpoints, and routing in classify."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ecgseg.classify import ARCHS, DEFAULT_WEIGHTS, ModelConfig, TrainConfig, build_model, load_checkpoint, save_checkpoint, train
from ecgseg.classify.routing import DEFAULT_CONTEXT_WEIGHTS, choose_model, context_inputs, predict_beats
from ecgseg.classify.train import _batches, patient_folds
from ecgseg.cli import cli

#: Rough parameter counts (waveform only, 187 samples): the seeds' sizes, scaled for 2 CPU cores.
PARAMS = {"kachuee": (50_000, 60_000), "lstm-fcn": (60_000, 90_000), "cnn-bilstm": (200_000, 300_000),
          "cnn-mlp": (55_000, 85_000)}


def rr_task(n_per_class: int = 96, seed: int = 0):
    """Two classes that differ only by rhythm: the same noisy waveform, a premature previous R-R for class 1 (S)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n_per_class)
    segments = rng.normal(0, 0.05, (labels.size, 187)).astype(np.float32)
    prev = np.where(labels == 1, 0.5, 0.9) * rng.uniform(0.95, 1.05, labels.size)
    local = rng.uniform(0.85, 0.95, labels.size)
    nxt = np.where(labels == 1, 1.3, 0.9)
    rr = np.stack([prev, nxt, local, prev / local, nxt / local, nxt / prev], axis=1).astype(np.float32)
    return segments, labels, rr


@pytest.mark.parametrize("arch", list(ARCHS))
def test_every_arch_builds_with_shape_and_size(arch):
    for n_extra in (0, 6):
        net = build_model(ModelConfig(arch=arch, n_extra=n_extra)).eval()
        rr = torch.ones(4, 6) if n_extra else None
        assert net(torch.zeros(4, 187), rr).shape == (4, 5)
        low, high = PARAMS[arch]
        assert low <= sum(p.numel() for p in net.parameters()) <= high
    with pytest.raises(ValueError, match="R-R context"):
        build_model(ModelConfig(arch=arch, n_extra=6))(torch.zeros(2, 187))


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'.*kachuee"):
        build_model(ModelConfig(arch="resnet"))


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


def test_checkpoint_round_trip_rebuilds_arch_inputs_and_context_scaling(tmp_path):
    segments, labels, rr = rr_task(32)
    config = TrainConfig(epochs=1, batch_size=32, validation="beats", augment=False,
                         model=ModelConfig(arch="cnn-bilstm", pre_r_s=0.25))
    result = train(segments, labels, config=config, rr=rr)
    path = tmp_path / "m.pt"
    save_checkpoint(path, result.model, logit_bias=result.logit_bias)
    net, checkpoint = load_checkpoint(path)
    assert type(net).__name__ == "CnnBiLstmNet" and checkpoint["arch"] == "cnn-bilstm"
    assert checkpoint["inputs"] == ["segments", "rr"] and checkpoint["pre_r_s"] == 0.25
    # the R-R standardization is fitted on the training beats (80% of these) and travels with the weights
    assert torch.equal(net.extra_mean, result.model.extra_mean) and torch.equal(net.extra_std, result.model.extra_std)
    assert torch.allclose(net.extra_mean, torch.log(torch.from_numpy(rr)).mean(0), atol=0.1)
    with torch.inference_mode():
        x, r = torch.from_numpy(segments[:8]), torch.from_numpy(rr[:8])
        assert torch.allclose(net(x, r), result.model.eval()(x, r), atol=1e-6)


def test_context_inputs_follow_the_beat_file():
    arrays = {"segments": np.zeros((3, 219), np.float32), "rr": np.ones((3, 6), np.float32), "pre_r_s": np.float64(0.25)}
    x, rr, config = context_inputs(arrays, "rr", ModelConfig(arch="lstm-fcn"))
    assert x.shape == (3, 219) and rr.shape == (3, 6) and (config.input_length, config.pre_r_s, config.n_extra, config.arch) == (219, 0.25, 6, "lstm-fcn")
    with pytest.raises(ValueError, match="has no R-R context"):
        context_inputs({"segments": arrays["segments"]}, "rr", ModelConfig())
    with pytest.raises(ValueError, match="has no r_peaks or fs: the context model needs the R-peaks"):
        context_inputs({"segments": arrays["segments"]}, "beat", ModelConfig(), template=True)


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


@pytest.fixture(scope="module")
def beats_100(data_dir, tmp_path_factory):
    """Record 100 as the README writes it (.npy, no context), as an .npz with rr cut 0.25 s before the R-peaks of the
    hamilton detector (the rule misses beats, which corrupts R-R), and as an .npz cut at hamilton's R-peaks."""
    folder = tmp_path_factory.mktemp("beats")
    runner = CliRunner()
    npy, npz, at_r = folder / "100.npy", folder / "100.npz", folder / "100_at_r.npz"
    for path, extra in ((npy, []), (npz, ["--pre-r-s", "0.25", "--peaks", "hamilton"]), (at_r, ["--peaks", "hamilton"])):
        result = runner.invoke(cli, ["segment", "record", "100", "--data-dir", str(data_dir), "-q", "-o", str(path), *extra])
        assert result.exit_code == 0, result.output
    return npy, npz, at_r


def _run(args):
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout_bytes, result.stderr


def test_classify_routes_npz_with_rr_to_the_context_model(beats_100):
    npy, npz, _ = beats_100
    code, out, err = _run(["classify", str(npz), "--format", "npy"])
    assert code == 0 and "note:" not in err
    net, checkpoint = load_checkpoint(DEFAULT_CONTEXT_WEIGHTS)
    arrays = dict(np.load(npz))
    expected = predict_beats(net, checkpoint, arrays["segments"], arrays["rr"])
    assert np.allclose(np.load(io.BytesIO(out)), expected, atol=1e-5)


def test_classify_npy_falls_back_to_the_waveform_model_with_a_note(beats_100):
    npy, _, _ = beats_100
    code, out, err = _run(["classify", str(npy)])
    assert code == 0
    assert "carries no R-R context (rr); classifying with the waveform-only model" in err
    net, checkpoint = load_checkpoint(DEFAULT_WEIGHTS)
    expected = predict_beats(net, checkpoint, np.load(npy)).argmax(axis=1)
    rows = out.decode().strip().splitlines()[1:]
    assert [r.split("\t")[1] for r in rows] == np.array(list("NSVFQ"))[expected].tolist()


def test_npz_cut_otherwise_than_the_context_model_falls_back_with_a_note(beats_100):
    at_r = beats_100[2]
    code, _, err = _run(["classify", str(at_r), "-q"])
    assert code == 0 and err == ""  # -q silences the note too
    code, _, err = _run(["classify", str(at_r)])
    assert code == 0 and "was cut 0 s before the R-peak, not 0.25 s (--pre-r-s 0.25); classifying with the waveform-only model" in err


def test_rr_from_the_rule_peaks_is_not_trusted(data_dir, tmp_path):
    """The rule misses about half the beats, so its R-R context is wrong: the waveform model classifies, with a note."""
    path = tmp_path / "rule.npz"
    result = CliRunner().invoke(cli, ["segment", "record", "100", "--data-dir", str(data_dir), "-q", "-o", str(path)])
    assert result.exit_code == 0 and str(np.load(path)["peaks"]) == "rule"
    code, _, err = _run(["classify", str(path)])
    assert code == 0
    assert "has R-peaks from the paper's rule, which misses beats (cut with --peaks hamilton for the context model)" in err


def test_context_model_on_beats_without_rr_is_a_one_line_error(beats_100):
    npy, _, _ = beats_100
    code, out, err = _run(["classify", str(npy), "--model", str(DEFAULT_CONTEXT_WEIGHTS)])
    assert code == 1 and out == b""
    assert err.count("\n") == 1 and "reads the rhythm of the beats but" in err and "or a waveform-only model" in err


def test_beats_cut_before_the_r_peak_need_a_model_trained_so(beats_100):
    npz = beats_100[1]
    arrays = dict(np.load(npz))
    arrays["pre_r_s"] = np.float64(0.4)
    with pytest.raises(ValueError, match="starts 0.4 s before"):
        choose_model(arrays, DEFAULT_WEIGHTS, "x.npz")


@pytest.mark.parametrize("weights", [DEFAULT_WEIGHTS, DEFAULT_CONTEXT_WEIGHTS], ids=["waveform", "context"])
def test_shipped_weights_classify_real_beats(beats_100, weights):
    arrays = dict(np.load(beats_100[1] if weights == DEFAULT_CONTEXT_WEIGHTS else beats_100[2]))
    net, checkpoint, (x, rr), _ = choose_model(arrays, weights, "100.npz")
    assert weights.stat().st_size < 1_000_000
    predicted = predict_beats(net, checkpoint, x, rr).argmax(axis=1)
    labelled = arrays["labels"] >= 0
    # record 100: 2,239 N beats of 2,273; a shipped model must call most of them N
    assert np.mean(predicted[labelled & (arrays["labels"] == 0)] == 0) > 0.9


def test_cli_train_records_arch_and_context_and_classify_rebuilds_it(tmp_path):
    segments, labels, rr = rr_task(64)
    records = np.array(["101", "106", "100"])[np.arange(labels.size) % 3]  # DS1 records train, DS2 record 100 tests
    data = tmp_path / "beats.npz"
    np.savez(data, segments=segments, labels=labels.astype(np.int8), record=records, rr=rr, pre_r_s=np.float64(0.25))
    model = tmp_path / "m.pt"
    code, _, err = _run(["train", str(data), "-o", str(model), "--arch", "lstm-fcn", "--context", "rr", "--epochs", "2",
                         "--validation", "beats", "--balance", "undersample", "--batch-size", "32", "-q"])
    assert code == 0, err
    net, checkpoint = load_checkpoint(model)
    assert (checkpoint["arch"], checkpoint["inputs"], checkpoint["pre_r_s"]) == ("lstm-fcn", ["segments", "rr"], 0.25)
    assert checkpoint["metadata"]["train_config"]["balance"] == "undersample"
    code, out, err = _run(["classify", str(data), "--model", str(model), "--format", "npy", "-q"])
    assert code == 0 and np.load(io.BytesIO(out)).shape == (labels.size, 5)
    code, _, err = _run(["train", str(data), "-o", str(tmp_path / "x.pt"), "--context", "rr", "--arch", "resnet"])
    assert code == 2 and "resnet" in err


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
    from ecgseg.classify.train import augment

    x = torch.rand(8, 187)
    out = augment(torch.stack([x, x], dim=1), torch.Generator().manual_seed(0))
    assert out.shape == (8, 2, 187)
    # the same scale, offset and stretch: the channels differ by their independent noise only
    assert float((out[:, 0] - out[:, 1]).abs().max()) < 0.1
    assert augment(x, torch.Generator().manual_seed(0)).shape == (8, 187)


def test_recall_floor_keeps_the_calibration_from_silencing_a_class():
    from ecgseg.classify.train import calibrate_bias

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


def test_two_channel_checkpoint_round_trip(tmp_path):
    net = build_model(ModelConfig(in_channels=2, n_extra=15)).eval()
    path = tmp_path / "m.pt"
    save_checkpoint(path, net)
    loaded, checkpoint = load_checkpoint(path)
    assert loaded.config.in_channels == 2 and loaded.config.n_extra == 15
    x, extra = torch.rand(3, 2, 187), torch.rand(3, 15) + 0.5
    assert torch.equal(net(x, extra), loaded(x, extra))
    assert torch.load(path, weights_only=True)["config"]["in_channels"] == 2
