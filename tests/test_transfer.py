"""Transfer learning: a trained model started on a new task, its first layers frozen (ecgseg.classify.transfer)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ecgseg.classify.config import ARCHS, ModelConfig, TrainConfig
from ecgseg.classify.model import build_model, load_checkpoint, save_checkpoint
from ecgseg.classify.predict import predict_proba
from ecgseg.classify.train import train
from ecgseg.classify.transfer import OUTPUT, initial_model, stages
from ecgseg.cli import cli
from ecgseg.terms import command_line

from .synthetic import new_task_beats, separable_beats

TASK = ("spike", "bump")


@pytest.mark.parametrize("arch", ARCHS)
def test_stages_and_the_output_layer_hold_every_parameter_once(arch):
    config = ModelConfig(arch=arch)
    net = build_model(config)
    owners = {}
    for name in stages(config) + [OUTPUT[arch]]:
        module = dict(net.named_modules())[name]
        for parameter in module.parameters():
            assert id(parameter) not in owners, f"{name} and {owners.get(id(parameter))} share a parameter"
            owners[id(parameter)] = name
    assert {id(p) for p in net.parameters()} == set(owners)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A small model trained on three AAMI-labelled shapes (N, S, V), as the arrhythmia model is on beats."""
    segments, labels = separable_beats(48)
    result = train(segments, labels, config=TrainConfig(epochs=2, batch_size=16, validation="beats", seed=0))
    path = tmp_path_factory.mktemp("source") / "source.pt"
    save_checkpoint(path, result.model, metadata={"protocol": "intra"}, logit_bias=result.logit_bias)
    return path


def _state(net, prefix):
    return {k: v.clone() for k, v in net.state_dict().items() if k.startswith(prefix + ".")}


def test_transfer_learns_a_new_task_and_keeps_the_frozen_layers(source):
    segments, labels = new_task_beats()
    start, _ = load_checkpoint(source)
    model = ModelConfig(n_classes=2, class_names=TASK)
    config = TrainConfig(epochs=6, batch_size=16, lr=3e-3, validation="beats", seed=1, patience=10, init=str(source),
                         freeze=6, model=model)
    result = train(segments, labels, config=config)
    frozen, trained = stages(model)[:6], stages(model)[6:]
    for name in frozen:  # the stem and the five residual blocks: exactly the starting model's weights
        for key, value in _state(start, name).items():
            assert torch.equal(value, result.model.state_dict()[key]), key
    for name in trained:
        assert any(not torch.equal(v, result.model.state_dict()[k]) for k, v in _state(start, name).items()), name
    assert result.model.out.out_features == 2 and result.model.config.class_names == TASK
    test_x, test_y = new_task_beats(30, seed=5)
    accuracy = (predict_proba(result.model, test_x, logit_bias=result.logit_bias).argmax(1) == test_y).mean()
    assert accuracy > 0.9  # chance is 1/2


def test_frozen_batch_norm_keeps_its_statistics(tmp_path):
    segments, labels = separable_beats(16)
    source = train(segments, labels, config=TrainConfig(epochs=1, batch_size=16, validation="beats",
                                                        model=ModelConfig(arch="lstm-fcn")))
    path = tmp_path / "lstm.pt"
    save_checkpoint(path, source.model)
    x, y = new_task_beats(16)
    config = TrainConfig(epochs=1, batch_size=8, validation="beats", init=str(path), freeze=3,
                         model=ModelConfig(arch="lstm-fcn", n_classes=2, class_names=TASK))
    result = train(x, y, config=config)
    for name in ("fcn.0", "fcn.1", "fcn.2"):
        for key, value in _state(source.model, name).items():  # weights and running mean/var alike
            assert torch.equal(value, result.model.state_dict()[key]), key


def test_a_starting_model_that_does_not_fit_is_refused(source):
    with pytest.raises(ValueError, match=r"has input_length 187 but the new task's beats need 219; cut them 187 "
                                         r"samples long \(length=187\) or start from another model$"):
        initial_model(ModelConfig(n_classes=2, input_length=219), source)
    with command_line(), pytest.raises(ValueError, match=r"pre_r_s 0.0 but the new task's beats need 0.25; cut them as "
                                                         r"it was trained \(--pre-r-s 0\) or start from another model$"):
        initial_model(ModelConfig(n_classes=2, pre_r_s=0.25), source)
    with pytest.raises(ValueError, match=r"^freeze must be 0 \(train every layer\) to 8 \(only the output layer\) for "
                                         r"the kachuee network, whose stages are stem, blocks.0, .*; got 9$"):
        initial_model(ModelConfig(n_classes=2), source, freeze=9)


def test_cli_transfer_records_the_task_its_classes_and_where_it_came_from(tmp_path, source):
    segments, labels = new_task_beats(40)
    patients = np.array([f"patient{i:03d}/s{i:04d}_re" for i in range(8)])
    records = patients[np.arange(labels.size) % 8]
    diagnosis = np.array(TASK)[labels]
    data = tmp_path / "task.npz"
    np.savez(data, segments=segments, labels=np.full(labels.size, -1, np.int8), record=records, diagnosis=diagnosis)
    model = tmp_path / "task.pt"
    result = CliRunner().invoke(cli, ["train", str(data), "-o", str(model), "--labels", "diagnosis", "--classes",
                                      "spike,bump", "--init", str(source), "--freeze", "6", "--epochs", "4",
                                      "--batch-size", "16", "--lr", "0.003"])
    assert result.exit_code == 0, result.output
    assert "patient protocol: 6 training patients, 2 patients held out for testing; validation by patient" in result.stderr
    assert f"starting from {source}, its first 6 layers frozen" in result.stderr
    net, checkpoint = load_checkpoint(model)
    meta = checkpoint["metadata"]
    assert checkpoint["class_names"] == ["spike", "bump"]
    assert meta["task"] == {"labels": "diagnosis", "classes": ["spike", "bump"], "named": True}
    assert meta["init"]["model"] == str(source) and meta["init"]["class_names"] == ["N", "S", "V", "F", "Q"]
    assert meta["init"]["frozen_stages"] == ["stem", "blocks.0", "blocks.1", "blocks.2", "blocks.3", "blocks.4"]
    assert len(meta["train_records"]) == 6 and meta["protocol"] == "patient"
    scored = CliRunner().invoke(cli, ["evaluate", str(data), "--model", str(model), "--json"])
    assert scored.exit_code == 0, scored.output
    report = json.loads(scored.stdout)
    held_out = sorted(set(records) - set(meta["train_records"]))
    assert report["protocol"] == "patient" and sorted(report["records"]) == held_out
    assert report["n_beats"] == np.isin(records, held_out).sum() and report["class_names"] == ["spike", "bump"]
    assert set(report["binary"]) == {"positive", "se", "sp", "ppv", "f1", "auc"} and report["binary"]["positive"] == "bump"
    table = CliRunner().invoke(cli, ["evaluate", str(data), "--model", str(model)]).stdout
    assert "patient-wise: patients the model did not train on" in table
    assert "bump positive: Se " in table and " AUC " in table and "macro-F1 (N,S,V,F)" not in table


def test_figures_and_reports_refuse_a_model_of_other_classes(tmp_path, data_dir):
    """Plots and reports are drawn for the AAMI classes: a transferred model's outputs would be named wrongly."""
    pytest.importorskip("matplotlib")
    from ecgseg.aami import AAMI_CLASSES
    from ecgseg.classify.predict import classify_beats

    model = tmp_path / "nlr.pt"
    save_checkpoint(model, build_model(ModelConfig(n_classes=3, class_names=("N", "L", "R"))))
    beats = tmp_path / "beats.npz"
    np.savez(beats, segments=np.zeros((4, 187), np.float32), labels=np.zeros(4, np.int8))
    with pytest.raises(ValueError, match=r"^model nlr.pt predicts N, L, R, not the classes N, S, V, F, Q drawn here; "
                                         r"use classify_beats without classes= for it, or omit model=$"):
        classify_beats(str(beats), model, classes=AAMI_CLASSES)
    assert classify_beats(str(beats), model)[0].shape == (4, 3)  # without classes=: its own classes, as classify does
    line = ("Error: model nlr.pt predicts N, L, R, not the classes N, S, V, F, Q drawn here; use `ecgseg classify` (or "
            "`ecgseg evaluate`) with it, or omit --model\n")
    for args in (["plot", "beats", str(beats), "--predict"], ["plot", "record", "100", "--predict"],
                 ["report", "record", "100"]):
        out = tmp_path / ("out.html" if args[0] == "report" else "out.png")
        result = CliRunner().invoke(cli, [*args, "--model", str(model), "-o", str(out)],
                                    env={"ECGSEG_DATA": str(data_dir)})
        assert (result.exit_code, result.output.splitlines()[-1] + "\n") == (1, line), args
        assert not out.exists()


def test_train_says_which_protocol_it_chose_when_that_one_cannot_run(tmp_path):
    """No --protocol given: a file of one record gets the patient protocol by default, and the refusal says so."""
    path = tmp_path / "one.npz"
    np.savez(path, segments=np.random.default_rng(0).random((40, 187)).astype(np.float32),
             labels=np.arange(40, dtype=np.int8) % 2, record=np.array(["100"] * 40))
    result = CliRunner().invoke(cli, ["train", str(path), "-o", str(tmp_path / "m.pt"), "--epochs", "1"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: --protocol patient is the default for {path} (its records are not MIT-BIH's DS1 and DS2): the patient "
        f"protocol holds whole patients out, and {path} holds labelled beats of 1 record (100); give beats of at "
        "least 2 patients, or use --protocol intra (beat-level)")
    result = CliRunner().invoke(cli, ["train", str(path), "-o", str(tmp_path / "m.pt"), "--protocol", "patient"])
    assert result.output.splitlines()[-1].startswith("Error: the patient protocol holds whole patients out")
    assert not (tmp_path / "m.pt").exists()
