"""`ecgseg train`, `evaluate` and `classify`: which model runs on which beat file, output formats, errors."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.beatfile import save_npy_bytes
from ecgseg.classify.config import DEFAULT_CONTEXT_WEIGHTS, DEFAULT_WEIGHTS, ModelConfig
from ecgseg.classify.model import KachueeNet, load_checkpoint, save_checkpoint
from ecgseg.classify.predict import predict_proba
from ecgseg.cli import cli

from .conftest import REPO
from .synthetic import rr_task, separable_beats


def _run(args):
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout_bytes, result.stderr


def test_cli_classify_file_and_stdin_agree(tmp_path, beats_100):
    path = tmp_path / "beats.npy"
    path.write_bytes(save_npy_bytes(beats_100.segments))
    runner = CliRunner()
    from_file = runner.invoke(cli, ["classify", str(path)])
    assert from_file.exit_code == 0, from_file.output
    lines = from_file.stdout.splitlines()
    assert lines[0] == "beat\tclass\tprobability" and len(lines) == len(beats_100) + 1  # a .npy: the segments only
    assert lines[1].split("\t")[1] in "NSVFQ" and 0.2 <= float(lines[1].split("\t")[2]) <= 1
    assert f"{path}: {len(beats_100)} beats: N " in from_file.stderr
    piped = subprocess.run([sys.executable, "-m", "ecgseg", "classify", "-", "--format", "csv", "-q"], cwd=REPO,
                           input=path.read_bytes(), capture_output=True, check=True)
    assert piped.stderr == b""
    header, *rows = piped.stdout.decode().splitlines()
    assert header == "beat,class,probability,p_N,p_S,p_V,p_F,p_Q"
    assert [",".join(row.split(",")[:3]) for row in rows] == [line.replace("\t", ",") for line in lines[1:]]


def test_classify_output_traces_each_beat_to_its_record(beat_files_100):
    """Per beat: record, R-peak sample and time, class, its probability, every class's probability, the reference;
    on stderr the model line and a count per record."""
    _, _, at_r = beat_files_100
    arrays = dict(np.load(at_r))
    code, out, err = _run(["classify", str(at_r), "--format", "csv"])
    assert code == 0, err
    header, first, *rest = out.decode().splitlines()
    assert header == "beat,record,r_peak,time_s,class,probability,p_N,p_S,p_V,p_F,p_Q,reference"
    cells = first.split(",")
    assert cells[:4] == ["0", "100", str(arrays["r_peaks"][0]), f"{arrays['r_peaks'][0] / 360:.3f}"]
    p = np.array([float(c) for c in cells[6:11]])
    assert abs(p.sum() - 1) < 2e-3 and cells[4] == "NSVFQ"[p.argmax()] and float(cells[5]) == p.max()
    assert cells[11] == "NSVFQ"[arrays["labels"][0]] and len(rest) == len(arrays["segments"]) - 1
    assert err.splitlines()[0] == (
        "model: context_ds1.pt, the shipped context (rhythm + template, pre-R) model, the best for " + str(at_r)
        + ": its R-peaks come from the hamilton detector and it holds beats cut 0.25 s before them")
    assert re.fullmatch(r"100: 2272 beats: N \d+ \(\d+\.\d%\), S .*; reference N 2238, S 33, V 1, F 0, Q 0; "
                        r"agrees on \d+ of 2272 labelled beats \(\d+\.\d%\)", err.splitlines()[1])
    rows = json.loads(_run(["classify", str(at_r), "--format", "json", "-q"])[1])
    assert set(rows[0]) == set(header.split(",")) and rows[0]["r_peak"] == int(arrays["r_peaks"][0])
    table = _run(["classify", str(at_r), "-q"])[1].decode().splitlines()[0]
    assert table == "beat\trecord\tr_peak\ttime_s\tclass\tprobability\treference"


def test_a_database_file_is_counted_per_record(beat_files_100, tmp_path):
    from ecgseg.beatfile import concatenate

    _, _, at_r = beat_files_100
    one = dict(np.load(at_r))
    other = {**one, "record": np.full(len(one["segments"]), "100b")}
    both = tmp_path / "two.npz"
    np.savez(both, **concatenate([one, other]))
    code, _, err = _run(["classify", str(both), "--format", "npy"])
    lines = err.splitlines()
    assert code == 0 and len(lines) == 4
    assert lines[1].startswith("100: 2272 beats: ") and lines[2].startswith("100b: 2272 beats: ")
    assert lines[3].startswith(f"{both} (2 records): 4544 beats: ")


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


def test_classify_names_the_classes_of_the_model(tmp_path):
    model = tmp_path / "three.pt"
    net = KachueeNet(ModelConfig(n_classes=3, class_names=("normal", "LBBB", "RBBB")))
    save_checkpoint(model, net)
    beats = tmp_path / "beats.npy"
    np.save(beats, np.zeros((2, 187), np.float32))
    code, out, err = _run(["classify", str(beats), "--model", str(model)])
    assert code == 0, err
    rows = out.decode().splitlines()
    assert rows[0] == "beat\tclass\tprobability" and rows[1].split("\t")[1] in ("normal", "LBBB", "RBBB")
    assert re.search(r"2 beats: normal \d \(.*%\), LBBB \d \(.*%\), RBBB \d \(.*%\)", err)
    code, out, _ = _run(["classify", str(beats), "--model", str(model), "--format", "npy", "-q"])
    assert np.load(io.BytesIO(out)).shape == (2, 3)


def test_classify_routes_npz_with_r_peaks_to_the_context_model(beat_files_100):
    from ecgseg.context import model_inputs

    npy, npz, _ = beat_files_100
    code, out, err = _run(["classify", str(npz), "--format", "npy"])
    assert code == 0 and "note:" not in err and err.startswith("model: context_ds1.pt")
    net, checkpoint = load_checkpoint(DEFAULT_CONTEXT_WEIGHTS)
    arrays = dict(np.load(npz))
    expected = predict_proba(net, *model_inputs(arrays, net.config), logit_bias=checkpoint["logit_bias"])
    assert np.allclose(np.load(io.BytesIO(out)), expected, atol=1e-5)


def test_the_paper_s_cut_at_detector_peaks_gets_the_context_model_from_the_cut_beside_it(beat_files_100):
    """`segment --peaks hamilton -o b.npz` (the paper's cut) carries the context model's cut too: the best model,
    with no other flag, and the same probabilities as beats cut with --pre-r-s 0.25 from the start."""
    _, npz, at_r = beat_files_100
    arrays, pre = dict(np.load(at_r)), dict(np.load(npz))
    assert float(arrays["pre_r_s"]) == 0.0 and float(arrays["model_pre_r_s"]) == 0.25
    assert np.array_equal(arrays["model_segments"], pre["segments"])  # exactly the beats cut 0.25 s before
    assert "model_segments" not in pre  # cut as the best model reads them already
    code, out, err = _run(["classify", str(at_r), "--format", "npy"])
    assert code == 0 and err.startswith("model: context_ds1.pt")
    assert np.array_equal(np.load(io.BytesIO(out)), np.load(io.BytesIO(_run(["classify", str(npz), "--format",
                                                                             "npy", "-q"])[1])))


def test_classify_npy_falls_back_to_the_waveform_model_and_says_why(beat_files_100):
    npy, _, _ = beat_files_100
    code, out, err = _run(["classify", str(npy)])
    assert code == 0
    assert err.splitlines()[0] == (
        f"model: kachuee_ds1.pt, the shipped waveform-only model: {npy} holds the segments only, without their "
        "R-peaks (segment to an .npz with --peaks hamilton for the context model)")
    net, checkpoint = load_checkpoint(DEFAULT_WEIGHTS)
    expected = predict_proba(net, np.load(npy), logit_bias=checkpoint["logit_bias"]).argmax(axis=1)
    rows = out.decode().strip().splitlines()[1:]
    assert [r.split("\t")[1] for r in rows] == np.array(list("NSVFQ"))[expected].tolist()
    assert _run(["classify", str(npy), "-q"])[2] == ""  # -q silences the model line too


def test_rr_from_the_rule_peaks_is_not_trusted(data_dir, tmp_path):
    """The rule misses about half the beats, so its R-R context is wrong: the waveform model classifies and says
    why; the context model given by hand is refused in one sentence."""
    for extra in ([], ["--pre-r-s", "0.25"]):  # the waveform model's cut is carried beside a 0.25 s cut
        path = tmp_path / "rule.npz"
        result = CliRunner().invoke(cli, ["segment", "record", "100", "--data-dir", str(data_dir), "-q", "-o",
                                          str(path), *extra])
        assert result.exit_code == 0 and str(np.load(path)["peaks"]) == "rule"
        code, _, err = _run(["classify", str(path)])
        assert code == 0
        assert err.splitlines()[0] == (
            f"model: kachuee_ds1.pt, the shipped waveform-only model: {path} has R-peaks from the paper's rule, which "
            "misses beats (segment with --peaks hamilton for the context model)")
        code, out, err = _run(["classify", str(path), "--model", str(DEFAULT_CONTEXT_WEIGHTS)])
        assert (code, out) == (1, b"")
        assert err == (f"Error: model context_ds1.pt reads the R-R intervals around each beat, but {path} was cut at "
                       "the paper's rule's R-peaks, which miss about half the beats, so those intervals are wrong; "
                       "segment with --peaks hamilton, or use a waveform-only model\n")


def test_context_model_on_beats_without_rr_is_a_one_line_error(beat_files_100):
    npy, _, _ = beat_files_100
    code, out, err = _run(["classify", str(npy), "--model", str(DEFAULT_CONTEXT_WEIGHTS)])
    assert code == 1 and out == b""
    assert err == (f"Error: model context_ds1.pt reads the rhythm around each beat, but {npy} carries no r_peaks or fs"
                   "; segment to an .npz with --peaks hamilton, or use a waveform-only model\n")


def test_beats_at_another_rate_are_refused(beat_files_100, tmp_path):
    """Beats cut at 250 Hz hold 0.75 s, not 1.5 s: no model reads them; a sentence, exit 1, nothing on stdout."""
    _, _, at_r = beat_files_100
    arrays = dict(np.load(at_r))
    fast = tmp_path / "x.npz"
    np.savez(fast, **{**arrays, "fs_out": np.float64(250.0)})
    for model in ([], ["--model", str(DEFAULT_WEIGHTS)]):
        code, out, err = _run(["classify", str(fast), *model])
        assert (code, out) == (1, b"")
        assert err == (f"Error: {fast} holds beats sampled at 250 Hz, but model {'context' if not model else 'kachuee'}"
                       f"_ds1.pt reads beats sampled at 125 Hz; segment with --fs-out 125\n")
    with pytest.raises(ValueError, match=r"segment with fs_out=125.0$"):
        from ecgseg import classify_beats

        classify_beats(str(fast))


def test_a_cut_the_model_does_not_read_is_refused(beat_files_100, tmp_path):
    _, npz, _ = beat_files_100
    arrays = {k: v for k, v in np.load(npz).items() if not k.startswith("model_")}  # a file from before the cut
    path = tmp_path / "pre.npz"
    np.savez(path, **arrays)
    code, out, err = _run(["classify", str(path), "--model", str(DEFAULT_WEIGHTS)])
    assert (code, out) == (1, b"")
    assert err == (f"Error: model kachuee_ds1.pt reads beats cut 0 s before the R-peak, but {path} holds beats cut "
                   "0.25 s before it; segment with --pre-r-s 0\n")


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
    assert result.exit_code == 1 and result.stderr == (
        f"Error: {data} holds beats without labels (a .npy holds the segments only); use the .npz that `ecgseg segment "
        "record RECORD --peaks annotations -o beats.npz` writes, or a heartbeat CSV\n")
    assert not (tmp_path / "m.pt").exists()


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


def test_an_inverted_record_gives_the_upright_records_segments_and_classes(data_dir, tmp_path):
    """MIT-BIH 100, 2 minutes, written upright and sign-flipped as WFDB records: `segment --peaks hamilton` cuts the
    inverted one from its upright signal, so its beat file's segments (to the 16-bit storage's rounding) and
    `classify`'s classes are the same."""
    import wfdb

    source = str(data_dir / "mitdb" / "100")
    rec = wfdb.rdrecord(source, channels=[0], sampto=360 * 120)
    ann = wfdb.rdann(source, "atr", sampto=360 * 120)
    outputs = {}
    for name, sign in (("up", 1.0), ("down", -1.0)):
        wfdb.wrsamp(name, fs=360, units=["mV"], sig_name=["MLII"], p_signal=sign * rec.p_signal, fmt=["16"],
                    write_dir=str(tmp_path))
        wfdb.wrann(name, "atr", ann.sample, symbol=ann.symbol, fs=360, write_dir=str(tmp_path))
        npz = tmp_path / f"{name}.npz"
        code, _, err = _run(["segment", "record", str(tmp_path / name), "--peaks", "hamilton", "--pre-r-s", "0.25",
                             "-o", str(npz)])
        assert code == 0, err
        code, classes, err = _run(["classify", str(npz), "-q"])
        assert code == 0, err
        with np.load(npz) as saved:
            outputs[name] = (saved["segments"], saved["r_peaks"], bool(saved["inverted"]), classes)
    assert outputs["down"][2] and not outputs["up"][2]
    assert np.array_equal(outputs["down"][1], outputs["up"][1])
    assert np.abs(outputs["down"][0] - outputs["up"][0]).max() < 1e-4  # -x is stored rounded to the ADC grid
    # the same rows but for the record column (each file names its own record)
    rows = {name: [line.split(b"\t")[:1] + line.split(b"\t")[2:] for line in outputs[name][3].splitlines()]
            for name in outputs}
    assert rows["down"] == rows["up"] and len(rows["up"]) == len(outputs["up"][1]) + 1


def test_classify_leaves_out_poor_beats_on_request(data_dir, tmp_path):
    from ecgseg.beatfile import beat_arrays, save_beats
    from ecgseg.pipeline import segment_record

    beats = segment_record("100", data_dir=data_dir, peaks="hamilton")
    arrays = beat_arrays(beats, "100")
    arrays["quality"] = arrays["quality"].copy()
    arrays["quality"][[3, 7]] = 0.2  # two beats of poor signal
    path = tmp_path / "q.npz"
    save_beats(path, arrays)
    code, out, err = _run(["classify", str(path), "--min-quality", "0.7"])
    assert code == 0, err
    rows = out.decode().splitlines()[1:]
    assert len(rows) == len(beats) - 2 and [int(r.split("\t")[0]) for r in rows[2:7]] == [2, 4, 5, 6, 8]
    assert f"2 of {len(beats)} beats below quality 0.7 left out" in err
    # every kept beat gets the class and probabilities it gets with none left out: a beat's context is read from
    # all its neighbours, the poor ones included (dropping them first made their neighbours look premature)
    code, everything, err = _run(["classify", str(path), "--format", "csv"])
    assert code == 0, err
    assert (f"note: {path}: 2 of {len(beats)} beats in poor-quality signal (quality < 0.7); their classes are "
            "doubtful (--min-quality 0.7 leaves them out)") in err.splitlines()
    code, kept, err = _run(["classify", str(path), "--format", "csv", "--min-quality", "0.7"])
    assert code == 0, err
    every_row = everything.decode().splitlines()
    assert kept.decode().splitlines() == every_row[:4] + every_row[5:8] + every_row[9:]  # header, beats 0-2, 4-6, 8-
    del arrays["quality"]
    save_beats(path, arrays)
    code, out, err = _run(["classify", str(path), "--min-quality", "0.7"])
    assert code == 1 and err.strip().startswith(f"Error: {path} has no signal quality per beat") and not out


def test_training_with_folds_never_prints_nan(tmp_path):
    """The final model of --validation folds has no validation beats: its epochs say so instead of 'nan'."""
    segments, labels = separable_beats(30)
    records = np.array(["101", "106", "108", "109", "112", "114"])[np.arange(labels.size) % 6]  # DS1 patients
    data = tmp_path / "beats.npz"
    np.savez(data, segments=segments, labels=labels.astype(np.int8), record=records)
    result = CliRunner().invoke(cli, ["train", str(data), "-o", str(tmp_path / "m.pt"), "--validation", "folds",
                                      "--folds", "3", "--epochs", "2", "--batch-size", "16", "--arch", "cnn-mlp"])
    assert result.exit_code == 0, result.output
    assert "nan" not in result.stderr
    final = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert final and all("  final model on all training beats  " in line for line in final)
    assert sum(line.startswith("fold ") for line in result.stderr.splitlines()) == 6  # 3 folds x 2 epochs


def test_classifying_many_beats_shows_progress_on_stderr_only(tmp_path, monkeypatch):
    """A file of more beats than ``PROGRESS_BEATS`` (a few seconds of work) gets a progress bar on stderr, which -q
    silences; stdout holds the rows only. (The threshold is lowered here to keep the test small.)"""
    import ecgseg.cli.classify as command

    assert command.PROGRESS_BEATS == 20_000
    monkeypatch.setattr(command, "PROGRESS_BEATS", 100)
    path = tmp_path / "many.npy"
    np.save(path, np.random.default_rng(0).random((300, 187), dtype=np.float32))
    shown = CliRunner().invoke(cli, ["classify", str(path), "--format", "csv"])
    assert shown.exit_code == 0 and len(shown.stdout.splitlines()) == 301
    assert shown.stderr.splitlines()[0].startswith("classifying")
    quiet = CliRunner().invoke(cli, ["classify", str(path), "--format", "csv", "-q"])
    assert quiet.stderr == "" and quiet.stdout == shown.stdout
    monkeypatch.setattr(command, "PROGRESS_BEATS", 20_000)
    few = CliRunner().invoke(cli, ["classify", str(path), "--format", "csv"])
    assert not few.stderr.startswith("classifying")  # a moment's work: no bar


def test_a_lead_the_shipped_models_did_not_learn_is_said(data_dir, tmp_path):
    """Record 102 has no MLII lead (V5 is cut): its classes come with a note, in the library and on the command line."""
    from ecgseg.beatfile import save_beats
    from ecgseg.classify.predict import classify_beats

    path = tmp_path / "b102.npz"
    code, _, err = _run(["segment", "record", "102", "--data-dir", str(data_dir), "--peaks", "annotations", "-o",
                         str(path)])
    assert code == 0, err
    code, out, err = _run(["classify", str(path)])
    note = (f"note: the shipped models learnt lead MLII of MIT-BIH; {path} holds lead V5, outside what they were "
            "trained on: read its classes as doubtful")
    assert code == 0 and note in err.splitlines(), err
    assert f"note: {path} says: no MLII lead, so V5 (channel 0) was used" in err.splitlines()  # the file's own notes
    assert classify_beats(str(path), name="b102.npz")[1].doubt == note[len("note: "):].replace(str(path), "b102.npz")
    with np.load(path) as saved:
        mlii = {key: saved[key] for key in saved.files} | {"lead": np.array("MLII")}
    assert classify_beats(mlii)[1].doubt is None
    # beats without a reference label (cuts at no reference beat) are counted apart from the agreement
    mlii["labels"] = mlii["labels"].copy()
    mlii["labels"][:2] = -1
    save_beats(tmp_path / "u.npz", mlii)
    code, _, err = _run(["classify", str(tmp_path / "u.npz")])
    assert code == 0 and err.splitlines()[-1].endswith("; 2 beats without a reference label, not compared"), err
