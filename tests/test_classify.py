"""The beat classifier: network shape, training on a separable task, shipped weights on real beats, bad inputs, CLI."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ecgseg.beatfile import save_npy_bytes
from ecgseg.classify import (
    DEFAULT_WEIGHTS,
    KachueeNet,
    ModelConfig,
    TrainConfig,
    check_segments,
    load_checkpoint,
    predict_proba,
    save_checkpoint,
    train,
)
from ecgseg.cli import cli
from ecgseg.evaluate import class_report, protocol_split

from .conftest import REPO


def separable_beats(n_per_class: int = 64, seed: int = 0):
    """Three classes a CNN must tell apart by shape: a spike early, a spike late, a wide bump (with noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(187)
    shapes = [np.exp(-((t - 10) ** 2) / 8), np.exp(-((t - 90) ** 2) / 8), np.exp(-((t - 40) ** 2) / 400)]
    labels = np.repeat(np.arange(3), n_per_class)
    segments = np.stack([shapes[c] for c in labels]) + rng.normal(0, 0.05, (labels.size, 187))
    return segments.astype(np.float32), labels


# --- the network ---


def test_network_shapes_and_parameter_count():
    net = KachueeNet(ModelConfig())
    assert net(torch.zeros(7, 187)).shape == (7, 5)
    n_parameters = sum(p.numel() for p in net.parameters())
    assert 50_000 < n_parameters < 56_000  # SPEC: about 53k
    # five blocks of pooling (5, stride 2): 187 -> 92 -> 44 -> 20 -> 8 -> 2 samples of 32 channels
    assert net.fc1.in_features == 32 * 2


def test_extra_inputs_join_the_dense_layers():
    net = KachueeNet(ModelConfig(n_extra=3))
    assert net(torch.zeros(4, 187), torch.zeros(4, 3)).shape == (4, 5)


def test_too_short_input_length_is_refused():
    with pytest.raises(ValueError, match="too short"):
        KachueeNet(ModelConfig(input_length=40))


# --- training ---


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


# --- checkpoints ---


def test_checkpoint_round_trip(tmp_path):
    net = KachueeNet(ModelConfig()).eval()
    path = tmp_path / "m.pt"
    save_checkpoint(path, net, metadata={"protocol": "inter"}, logit_bias=[0, 1, 2, 3, 4])
    loaded, checkpoint = load_checkpoint(path)
    x = torch.randn(3, 187)
    assert torch.equal(loaded(x), net(x))
    assert checkpoint["logit_bias"].tolist() == [0, 1, 2, 3, 4]
    assert checkpoint["metadata"]["protocol"] == "inter" and checkpoint["input_length"] == 187


def test_checkpoint_with_wrong_class_count_is_refused(tmp_path):
    path = tmp_path / "three.pt"
    net = KachueeNet(ModelConfig(n_classes=3))
    torch.save({"config": {**vars(net.config)}, "state_dict": net.state_dict(), "class_names": ["N", "S", "V"]}, path)
    with pytest.raises(ValueError, match="3 classes .* not the 5 AAMI classes"):
        load_checkpoint(path)


def test_pickled_object_in_a_model_file_is_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"config": {}, "state_dict": {}, "payload": Exception("x")}, path)  # arbitrary object: needs unpickling
    with pytest.raises(ValueError, match="not a loadable ecgseg model file"):
        load_checkpoint(path)


def test_not_a_model_file_is_refused(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a loadable ecgseg model file"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


# --- inputs ---


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


# --- class report and protocols ---


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


def test_calibration_counts_q_only_when_asked():
    from ecgseg.classify.train import calibrate_bias

    # an N beat and a Q beat both lean N; a Q bias that moves the Q beat to Q moves that N beat too
    logits = np.array([[1, -9, -9, -9, 0.0], [1, -9, -9, -9, 0.9], [1, -9, -9, -9, 0.8]])
    labels = np.array([0, 0, 4])
    assert calibrate_bias(logits, labels)[4] == 0  # N, S, V, F only: N's F1 is best with nothing called Q
    assert calibrate_bias(logits, labels, classes=("N", "S", "V", "F", "Q"))[4] > 0.2  # with Q's F1 in the mean


def test_intra_split_is_seeded_and_disjoint():
    records = np.repeat(["100", "101"], 500)
    labels = np.zeros(1000, int)
    labels[::100] = -1
    train_a, test_a = protocol_split(records, labels, "intra", seed=4)
    train_b, test_b = protocol_split(records, labels, "intra", seed=4)
    assert np.array_equal(test_a, test_b) and not (train_a & test_a).any()
    assert 0.15 < test_a.sum() / 990 < 0.25 and not (test_a | train_a)[labels < 0].any()


# --- the shipped weights on real beats, and the CLI ---


@pytest.fixture(scope="module")
def beats_100(record_100):
    from ecgseg.database import segment_record

    return segment_record(record_100)  # the default rule peaks, as `ecgseg segment record 100` cuts them


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


def test_cli_classify_file_and_stdin_agree(tmp_path, beats_100):
    path = tmp_path / "beats.npy"
    path.write_bytes(save_npy_bytes(beats_100.segments))
    runner = CliRunner()
    from_file = runner.invoke(cli, ["classify", str(path)])
    assert from_file.exit_code == 0, from_file.output
    lines = from_file.stdout.splitlines()
    assert lines[0] == "beat\tclass\tprobability" and len(lines) == len(beats_100) + 1
    assert lines[1].split("\t")[1] in "NSVFQ" and 0.2 <= float(lines[1].split("\t")[2]) <= 1
    assert f"{len(beats_100)} beats: N " in from_file.stderr
    piped = subprocess.run([sys.executable, "-m", "ecgseg", "classify", "-", "--format", "csv", "-q"], cwd=REPO,
                           input=path.read_bytes(), capture_output=True, check=True)
    assert piped.stderr == b""
    assert piped.stdout.decode().replace(",", "\t") == from_file.stdout


def test_cli_classify_npy_and_json(tmp_path, beats_100):
    path = tmp_path / "beats.npz"
    np.savez(path, segments=beats_100.segments[:20], labels=beats_100.labels[:20])
    runner = CliRunner()
    probabilities = np.load(io.BytesIO(runner.invoke(cli, ["classify", str(path), "--format", "npy", "-q"]).stdout_bytes))
    assert probabilities.shape == (20, 5) and probabilities.dtype == np.float32
    rows = json.loads(runner.invoke(cli, ["classify", str(path), "--format", "json", "-q"]).stdout)
    assert [r["class"] for r in rows] == [("N", "S", "V", "F", "Q")[i] for i in probabilities.argmax(axis=1)]


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((4, 100), np.float32), r"Error: beats in .*beats.npy have shape \(4, 100\), not \(n_beats, 187\)"),
        (np.zeros((4, 187), np.int64), r"Error: beats in .*beats.npy have dtype int64, not floating point"),
        (np.array([{"a": 1}], dtype=object), r"Error: .*beats.npy holds pickled \(object\) arrays, which are never loaded"),
    ],
)
def test_cli_classify_bad_beats(tmp_path, array, message):
    path = tmp_path / "beats.npy"
    np.save(path, array, allow_pickle=True)
    result = CliRunner().invoke(cli, ["classify", str(path)])
    assert result.exit_code == 1 and result.stdout == ""
    assert re.match(message, result.stderr.strip().splitlines()[-1])


def test_cli_classify_wrong_class_count_model(tmp_path):
    model = tmp_path / "three.pt"
    net = KachueeNet(ModelConfig(n_classes=3))
    save_checkpoint(model, net)  # class_names is then N S V
    beats = tmp_path / "beats.npy"
    np.save(beats, np.zeros((2, 187), np.float32))
    result = CliRunner().invoke(cli, ["classify", str(beats), "--model", str(model)])
    assert result.exit_code == 1 and "classifies into 3 classes" in result.stderr and result.stdout == ""


def test_cli_train_and_evaluate(tmp_path):
    segments, labels = separable_beats(60)
    records = np.array(["101", "100"])[np.arange(labels.size) % 2]  # 101 is in DS1, 100 in DS2
    data = tmp_path / "beats.npz"
    np.savez(data, segments=segments, labels=labels.astype(np.int8), record=records)
    model = tmp_path / "m.pt"
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", str(data), "-o", str(model), "--epochs", "3", "--batch-size", "8", "--validation", "beats"])
    assert trained.exit_code == 0, trained.output
    assert "epoch   1/3  loss" in trained.stderr and "val macro-F1" in trained.stderr
    scored = json.loads(runner.invoke(cli, ["evaluate", str(data), "--model", str(model), "--json"]).stdout)
    assert scored["protocol"] == "inter" and scored["n_beats"] == 90
    assert scored["accuracy"] > 0.9 and len(scored["confusion"]) == 5
    assert set(scored["per_class"]["N"]) == {"se", "ppv", "f1", "support"}
    table = runner.invoke(cli, ["evaluate", str(data), "--model", str(model)]).stdout
    assert "macro-F1 (N,S,V,F)" in table and "(rows: true class, columns: predicted)" in table
    assert load_checkpoint(model)[1]["metadata"]["train_config"]["score_classes"] == ("N", "S", "V", "F")
    intra = runner.invoke(cli, ["train", str(data), "-o", str(model), "--protocol", "intra", "--epochs", "1", "-q"])
    assert intra.exit_code == 0, intra.output
    assert load_checkpoint(model)[1]["metadata"]["train_config"]["score_classes"] == ("N", "S", "V", "F", "Q")


def test_cli_train_needs_labels_and_records(tmp_path):
    data = tmp_path / "beats.npy"
    np.save(data, np.zeros((4, 187), np.float32))
    result = CliRunner().invoke(cli, ["train", str(data), "-o", str(tmp_path / "m.pt")])
    assert result.exit_code == 1 and "has no 'labels' array" in result.stderr
    assert not (tmp_path / "m.pt").exists()
