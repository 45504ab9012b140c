"""Tasks (which class each beat is in), the protocols that choose the scored beats, and PTB header diagnoses."""

from __future__ import annotations

import numpy as np
import pytest

from ecgseg.diagnosis import header_diagnosis
from ecgseg.evaluate import class_report, format_records, record_reports, roc_auc
from ecgseg.protocols import DS1, patient_of, protocol_split, scored_beats
from ecgseg.tasks import task_labels
from ecgseg.terms import command_line

from .conftest import REPO

SEGMENTS = np.zeros((6, 187), np.float32)


def test_aami_labels_are_named_and_a_subset_is_chosen_by_name():
    arrays = {"segments": SEGMENTS, "labels": np.array([0, 1, 2, 4, -1, 2], np.int8)}
    task = task_labels(arrays)
    assert task.class_names == ("N", "S", "V", "F", "Q") and task.labels.tolist() == [0, 1, 2, 4, -1, 2]
    task = task_labels(arrays, classes=["V", "N"])
    assert task.labels.tolist() == [1, -1, 0, -1, -1, 0] and task.left_out == {"S": 1, "Q": 1}
    with pytest.raises(ValueError, match=r"^beats's labels are the AAMI classes N, S, V, F, Q, and 'MI' is not one of"):
        task_labels(arrays, classes=["N", "MI"])


def test_a_text_key_is_matched_by_name_in_any_order_and_a_record_scalar_covers_every_beat():
    diagnosis = np.array(["Myocardial infarction", "Healthy control", "", "Bundle branch block", "Healthy control",
                          "Myocardial infarction"])
    task = task_labels({"segments": SEGMENTS, "diagnosis": diagnosis}, "diagnosis")
    assert task.class_names == ("Bundle branch block", "Healthy control", "Myocardial infarction")
    task = task_labels({"segments": SEGMENTS, "diagnosis": diagnosis}, "diagnosis",
                       ["Healthy control", "Myocardial infarction"])
    assert task.labels.tolist() == [1, 0, -1, -1, 0, 1] and task.left_out == {"Bundle branch block": 1}
    one_record = {"segments": SEGMENTS, "diagnosis": np.array("Myocardial infarction")}
    assert task_labels(one_record, "diagnosis", ["Healthy control", "Myocardial infarction"]).labels.tolist() == [1] * 6
    with pytest.raises(ValueError, match=r"^x.npz has no 'diagnosis' array \(it has labels\); segment a database whose "
                                         r"headers state a diagnosis \(`ecgseg.segment_records\(names, 'ptbdb', "
                                         r"channel='ii'\)`\)$"):
        task_labels({"segments": SEGMENTS, "labels": np.zeros(6)}, "diagnosis", name="x.npz")
    with command_line(), pytest.raises(ValueError, match=r"\(`ecgseg segment database ptbdb --channel ii -o ptb.npz`\)$"):
        task_labels({"segments": SEGMENTS, "labels": np.zeros(6)}, "diagnosis", name="x.npz")


def test_a_csv_class_column_is_an_index_into_the_classes_given():
    arrays = {"segments": SEGMENTS, "class_index": np.array([0, 1, 1, 0, -1, 1])}
    task = task_labels(arrays)
    assert task.class_names == ("0", "1") and not task.named and task.labels.tolist() == [0, 1, 1, 0, -1, 1]
    assert task_labels(arrays, classes=["normal", "abnormal"]).class_names == ("normal", "abnormal")
    five = {"segments": SEGMENTS, "class_index": np.array([0, 1, 2, 3, 4, 0])}
    assert task_labels(five).class_names == ("N", "S", "V", "F", "Q")  # the mitbih files' classes


def test_the_patient_protocol_holds_whole_patients_out():
    records = np.array(["patient001/s0010_re", "patient001/s0014lre", "patient002/s0015lre", "patient003/s0020are",
                        "patient004/s0030_re", "patient005/s0040_re"]).repeat(5)
    labels = np.array([1, 1, 0, 1, 0, 0]).repeat(5)
    assert patient_of(records[::5]).tolist()[:2] == ["patient001", "patient001"]
    for seed in range(6):
        train, test = protocol_split(records, labels, "patient", test_fraction=0.4, seed=seed, scored=[0, 1])
        assert not (train & test).any() and (train | test).all()
        assert not set(patient_of(records[train])) & set(patient_of(records[test]))  # patient001's records together
        assert set(labels[test]) == {0, 1}  # each class keeps a share of its beats on the test side
    with pytest.raises(ValueError, match=r"the patient protocol needs the record of each beat, and x.csv has none"):
        protocol_split(None, labels, "patient", name="x.csv")
    with pytest.raises(ValueError, match=r"the inter-patient protocol needs MIT-BIH DS1 and DS2 records, and x.npz holds "
                                         r"labelled beats of 6 records \(patient001/s0010_re, .*\); segment the whole"):
        protocol_split(records, labels, "inter", name="x.npz")


def test_scored_beats_never_score_training_patients_as_unseen():
    records = np.array(["100", "101", "232", "p1/a"]).repeat(3)
    labels = np.zeros(12, int)
    shipped = {"protocol": "inter"}  # the shipped models: trained on DS1, no list of records
    test, notes = scored_beats(records, labels, "patient", shipped, name="f")
    assert sorted(set(records[test])) == ["100", "232", "p1/a"] and notes == ["1 record not scored (101): the model "
                                                                              "trained on their patients"]
    test, _ = scored_beats(records, labels, "inter", shipped, name="f")
    assert sorted(set(records[test])) == ["100", "232"]
    test, notes = scored_beats(records, labels, "all", shipped, name="f")
    assert test.all() and notes == ["the model trained on the patients of 1 of these records (101): their scores are "
                                    "optimistic"]
    with pytest.raises(ValueError, match=r"^the model trained on every patient in f \(101\); protocol='all' scores"):
        scored_beats(records[3:6], labels[3:6], "patient", shipped, name="f")
    with command_line(), pytest.raises(ValueError, match=r"; --protocol all scores them anyway \(optimistic\)$"):
        scored_beats(records[3:6], labels[3:6], "patient", shipped, name="f")
    assert "101" in DS1
    _, notes = scored_beats(records, labels, "intra", {"protocol": "intra"}, name="f")  # an intra model, no digest
    assert notes == ["the model does not record the beats it was trained on: if it was trained on this file with this "
                     "split, these are its held-out beats; either way the same patients were on both sides (optimistic)"]
    _, notes = scored_beats(records, labels, "intra", {"protocol": "intra", "data_sha256": "ab"}, digest="cd", name="f")
    assert notes[0].startswith("f is not the file the model was trained on")
    trained = {"protocol": "patient", "train_records": ["p1/b"]}  # another record of patient p1
    test, _ = scored_beats(records, labels, "patient", trained, name="f")
    assert sorted(set(records[test])) == ["100", "101", "232"]


def test_roc_auc_is_the_share_of_positive_negative_pairs_ranked_right():
    rng = np.random.default_rng(0)
    positive = rng.random(200) < 0.3
    score = np.round(rng.random(200) + 0.3 * positive, 1)  # rounded: many ties
    pairs = score[positive][:, None] - score[~positive][None, :]
    assert roc_auc(positive, score) == pytest.approx(np.mean((pairs > 0) + 0.5 * (pairs == 0)))
    assert np.isnan(roc_auc([True, True], [0.1, 0.2]))


def test_a_binary_report_gives_se_sp_ppv_f1_auc_and_per_record_rows():
    true, predicted = np.array([0, 0, 0, 1, 1, 1, 1]), np.array([0, 1, 0, 1, 1, 0, 1])
    probability = np.array([0.1, 0.6, 0.2, 0.9, 0.7, 0.4, 0.8])
    report = class_report(true, predicted, class_names=("Healthy control", "MI"),
                          probabilities=np.c_[1 - probability, probability])
    b = report.binary
    assert (b["positive"], b["se"], b["sp"], b["ppv"]) == ("MI", 0.75, pytest.approx(2 / 3), 0.75)
    assert b["auc"] == pytest.approx(11 / 12) and "MI positive: Se 0.750   Sp 0.667   +P 0.750   F1 0.750   AUC 0.917" \
        in report.format_table()
    rows = record_reports(np.array(["a"] * 3 + ["b"] * 4), true, predicted, ("Healthy control", "MI"))
    table = format_records(rows).splitlines()
    assert table[1].split() == ["a", "3", "0.667", "0.800", "-", "0.667", "Healthy", "control", "->", "Healthy", "control"]
    assert table[2].split()[:6] == ["b", "4", "0.750", "0.857", "0.750", "-"]


PTB = REPO.parent / "shared" / "data" / "ptbdb" / "patient001" / "s0010_re"


def test_the_diagnosis_of_the_real_ptb_record():
    if not PTB.with_suffix(".hea").is_file():
        pytest.skip(f"the PTB record is not at {PTB}")
    import wfdb

    assert header_diagnosis(wfdb.rdheader(str(PTB)).comments) == "Myocardial infarction"


@pytest.mark.parametrize("comments, diagnosis", [
    (["age: 55", "sex: male", "Reason for admission: Healthy control", "Smoker: no"], "Healthy control"),
    (["Reason for admission: Myocardial infarction", "Acute infarction (localization): anterior"],
     "Myocardial infarction"),
    (["reason for admission:   Heart failure (NYHA 2)  "], "Heart failure (NYHA 2)"),
    (["Reason for admission: Bundle branch block"], "Bundle branch block"),
    (["Reason for admission: n/a"], ""),
    (["age: 81", "sex: female", "Diagnose:"], ""),
    ([], ""),
])
def test_header_diagnoses(comments, diagnosis):
    assert header_diagnosis(comments) == diagnosis


def test_the_real_ptb_record_carries_its_diagnosis_into_the_beat_file(tmp_path):
    if not PTB.with_suffix(".hea").is_file():
        pytest.skip(f"the PTB record is not at {PTB}")
    from click.testing import CliRunner

    from ecgseg.beatfile import load_beats
    from ecgseg.cli import cli
    from ecgseg.records import open_record

    reader = open_record(str(PTB), channel="ii")
    assert (reader.diagnosis, reader.channel, reader.fs) == ("Myocardial infarction", "ii", 1000.0)
    assert reader.read_record(0, 1000).diagnosis == "Myocardial infarction"
    out = tmp_path / "s0010_re.npz"
    result = CliRunner().invoke(cli, ["segment", "record", str(PTB), "--channel", "ii", "--peaks", "hamilton", "-q",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    arrays = load_beats(out)
    assert str(arrays["diagnosis"]) == "Myocardial infarction" and arrays["diagnosis"].shape == ()
    task = task_labels(arrays, "diagnosis", ["Healthy control", "Myocardial infarction"])
    assert len(task.labels) > 30 and set(task.labels.tolist()) == {1}
    assert set(arrays["symbol"].tolist()) == {""} and set(arrays["labels"].tolist()) == {-1}  # PTB has no beat labels


def test_beat_files_keep_each_beats_annotation_symbol(data_dir):
    from ecgseg.beatfile import beat_arrays
    from ecgseg.pipeline import segment_record

    beats = segment_record("207", data_dir=data_dir, peaks="annotations")
    arrays = beat_arrays(beats, "207")
    symbols, counts = np.unique(arrays["symbol"], return_counts=True)
    assert dict(zip(symbols.tolist(), counts.tolist())) == {"A": 107, "E": 105, "L": 1457, "R": 86, "V": 105}
    assert str(arrays["diagnosis"]) == ""  # MIT-BIH headers state no diagnosis
    task = task_labels(arrays, "symbol", ["N", "L", "R"])
    assert task.counts().tolist() == [0, 1457, 86] and task.left_out == {"A": 107, "E": 105, "V": 105}
    rule = beat_arrays(segment_record("207", data_dir=data_dir), "207")  # the rule's beats: symbols where matched
    assert np.array_equal(rule["symbol"] != "", rule["labels"] >= 0)
