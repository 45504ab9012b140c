"""The heartbeat dataset's CSV layout: written by `segment -o x.csv`, read by classify, evaluate and train."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.beatfile import load_beats, save_beats
from ecgseg.cli import cli

from .synthetic import separable_beats

LAYOUT = "the heartbeat CSV layout is one beat per row, its values (187 in the paper's scheme) then its class, no header"


def _run(args, input=None):
    result = CliRunner().invoke(cli, args, input=input)
    return result.exit_code, result.stdout_bytes, result.stderr


def test_csv_round_trip_is_exact_and_keeps_the_class(tmp_path):
    segments = np.random.default_rng(0).random((50, 187)).astype(np.float32)
    labels = np.array([0, 1, 2, 3, 4, -1] * 8 + [0, 0], np.int8)
    save_beats(tmp_path / "b.csv", {"segments": segments, "labels": labels, "record": np.full(50, "100")})
    text = (tmp_path / "b.csv").read_text().splitlines()
    assert len(text) == 50 and len(text[0].split(",")) == 188 and text[5].endswith(",-1.0")
    back = load_beats(tmp_path / "b.csv")
    assert back["segments"].dtype == np.float32 and np.array_equal(back["segments"], segments)
    assert np.array_equal(back["class_index"], labels) and set(back) == {"segments", "class_index"}
    assert np.array_equal(load_beats((tmp_path / "b.csv").read_bytes())["segments"], segments)  # stdin: sniffed


def test_segment_to_csv_then_classify_gives_the_classes_of_the_npy(data_dir, tmp_path):
    csv, npy = tmp_path / "100.csv", tmp_path / "100.npy"
    for path in (csv, npy):
        code, _, err = _run(["segment", "record", "100", "--data-dir", str(data_dir), "--peaks", "annotations", "-q",
                             "-o", str(path)])
        assert code == 0, err
    rows = csv.read_text().splitlines()
    assert len(rows) == 2273 and {len(r.split(",")) for r in rows} == {188}
    assert np.bincount(np.array([float(r.rsplit(",", 1)[1]) for r in rows]).astype(int)).tolist() == [2239, 33, 1]
    from_csv = _run(["classify", str(csv), "--format", "npy", "-q"])[1]
    from_npy = _run(["classify", str(npy), "--format", "npy", "-q"])[1]
    p_csv, p_npy = np.load(io.BytesIO(from_csv)), np.load(io.BytesIO(from_npy))
    assert p_csv.shape == (2273, 5) and np.array_equal(p_csv.argmax(1), p_npy.argmax(1))
    piped = _run(["classify", "-", "--format", "npy", "-q"], input=csv.read_bytes())[1]
    assert np.array_equal(np.load(io.BytesIO(piped)), p_csv)


def _write(path, rows):
    path.write_text("\n".join(",".join(str(v) for v in row) for row in rows) + "\n")
    return path


@pytest.mark.parametrize("command", ["classify", "evaluate", "train"])
def test_a_csv_with_text_in_a_cell_is_one_line(tmp_path, command):
    rows = [[0.5] * 187 + [0]] * 3
    rows[1] = [0.5] * 4 + ["abc"] + [0.5] * 182 + [0]
    bad = _write(tmp_path / "bad.csv", rows)
    args = [command, str(bad)] + (["-o", str(tmp_path / "m.pt")] if command == "train" else [])
    code, out, err = _run(args)
    assert (code, out) == (1, b"") and not (tmp_path / "m.pt").exists()
    assert err == f"Error: {bad}: row 2, column 5 is 'abc', not a number; {LAYOUT}\n"


def test_a_csv_with_186_columns_is_one_line(tmp_path):
    bad = _write(tmp_path / "short.csv", [[0.5] * 185 + [0]] * 3)
    code, out, err = _run(["classify", str(bad)])
    assert (code, out) == (1, b"")
    assert err == (f"Error: {bad} has 186 columns, 185 values per beat then the class; model kachuee_ds1.pt reads 187 "
                   "values per beat (188 columns, as the heartbeat CSV files have)\n")


def test_a_class_out_of_range_is_one_line(tmp_path):
    rows = [[0.5] * 187 + [c] for c in (0, 2, 7, 1)]
    bad = _write(tmp_path / "labels.csv", rows)
    code, out, err = _run(["evaluate", str(bad)])
    assert (code, out) == (1, b"")
    assert err == f"Error: {bad} row 3: the class is 7, but the classes of model kachuee_ds1.pt are 0-4 (N, S, V, F, Q)\n"
    code, _, err = _run(["train", str(bad), "-o", str(tmp_path / "m.pt"), "--classes", "a,b,c"])
    assert code == 1 and err == f"Error: {bad} row 3: the class is 7, but the classes named by --classes are 0-2 (a, b, c)\n"
    half = _write(tmp_path / "half.csv", [[0.5] * 187 + [2.5]])
    code, _, err = _run(["classify", str(half)])
    assert code == 1 and err == f"Error: {half} row 1: the class is 2.5, not a class index (0, 1, ...; -1 for none); {LAYOUT}\n"


def test_train_on_one_csv_and_evaluate_on_another_in_two_commands(tmp_path):
    x, y = separable_beats(60)
    train_csv, test_csv, model = tmp_path / "train.csv", tmp_path / "test.csv", tmp_path / "m.pt"
    save_beats(train_csv, {"segments": x, "labels": y})
    xt, yt = separable_beats(20, seed=3)
    save_beats(test_csv, {"segments": xt, "labels": yt})
    code, _, err = _run(["train", str(train_csv), "-o", str(model), "--epochs", "4", "--batch-size", "16", "--lr", "0.003"])
    assert code == 0, err
    assert (f"{train_csv} has no record or patient of each beat (a CSV): training on all its beats, validation beats "
            "drawn at random (beat-level: optimistic, the same patients on both sides)") in err
    assert f"note: {train_csv} names no classes; its classes 0-2 are taken as 0, 1, 2; name them with --classes" in err
    code, out, err = _run(["evaluate", str(test_csv), "--model", str(model), "--json"])
    assert code == 0, err
    report = json.loads(out)
    assert report["protocol"] == "all" and report["n_beats"] == 60 and report["class_names"] == ["0", "1", "2"]
    assert report["accuracy"] > 0.9 and "records" in report and report["records"] == {}
    code, _, err = _run(["evaluate", str(train_csv), "--model", str(model)])
    assert code == 0 and f"note: {train_csv} is the file the model was trained on: its training beats are scored" in err


def test_a_beat_level_split_of_one_csv_is_reproduced_by_evaluate(tmp_path):
    x, y = separable_beats(50)
    data, model = tmp_path / "ptbdb.csv", tmp_path / "m.pt"
    save_beats(data, {"segments": x, "labels": y})
    code, _, err = _run(["train", str(data), "-o", str(model), "--classes", "a,b,c", "--protocol", "intra",
                         "--epochs", "1", "--seed", "3", "-q"])
    assert code == 0, err
    code, out, err = _run(["evaluate", str(data), "--model", str(model), "--json"])
    assert code == 0 and err == ""
    report = json.loads(out)
    from ecgseg.protocols import protocol_split

    _, held_out = protocol_split(None, y, "intra", seed=3)
    assert report["protocol"] == "intra" and report["n_beats"] == held_out.sum() and report["class_names"] == ["a", "b", "c"]
    assert report["scored"].startswith("intra-patient protocol: a random beat split (optimistic")
