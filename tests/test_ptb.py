"""PTB as a database: records in per-patient subfolders, each record's diagnosis from its header, lead II."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.beatfile import load_beats
from ecgseg.cli import cli
from ecgseg.protocols import patient_of
from ecgseg.tasks import task_labels

from .conftest import REPO
from .synthetic import spike_train

PTB = REPO.parent / "shared" / "data" / "ptbdb" / "patient001" / "s0010_re"
MI = ("Healthy control", "Myocardial infarction")


def _record(folder, name, diagnosis, seed):
    """A 3-lead PTB-like record at 1000 Hz (leads i, ii, iii) whose header states ``diagnosis``."""
    import wfdb

    signal, _ = spike_train(1000, 30, period_s=0.7 + 0.05 * seed)
    leads = np.stack([0.5 * signal, signal, -0.3 * signal], axis=1)
    comments = ["age: 60", "sex: male", "", "Diagnose:"] + (
        [f"Reason for admission: {diagnosis}"] if diagnosis is not None else [])
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=1000, units=["mV"] * 3, sig_name=["i", "ii", "iii"], p_signal=leads, fmt=["16"] * 3,
                comments=comments, write_dir=str(folder))


@pytest.fixture(scope="module")
def ptb_folder(tmp_path_factory):
    """DATA/ptbdb in PhysioNet's layout: the real MI record, and records of other diagnoses (one patient with two)."""
    if not PTB.with_suffix(".hea").is_file():
        pytest.skip(f"the PTB record is not at {PTB}")
    data = tmp_path_factory.mktemp("data")
    db = data / "ptbdb"
    (db / "patient001").mkdir(parents=True)
    for suffix in (".hea", ".dat", ".xyz"):
        shutil.copy(PTB.with_suffix(suffix), db / "patient001")
    names = ["patient001/s0010_re"]
    for i, (patient, record, diagnosis) in enumerate([
            ("patient104", "s0306lre", "Healthy control"), ("patient104", "s0307lre", "Healthy control"),
            ("patient105", "s0303lre", "Healthy control"), ("patient106", "s0030_re", "Myocardial infarction"),
            ("patient107", "s0400lre", "Bundle branch block"), ("patient108", "s0500lre", None),
            ("patient109", "s0600lre", "n/a")]):
        _record(db / patient, record, diagnosis, i)
        names.append(f"{patient}/{record}")
    (db / "RECORDS").write_text("\n".join(names) + "\n")
    return data


def test_segment_database_reads_ptb_with_each_records_diagnosis(ptb_folder, tmp_path):
    out = tmp_path / "ptb.npz"
    result = CliRunner().invoke(cli, ["segment", "database", "ptbdb", "--data-dir", str(ptb_folder), "--channel", "ii",
                                      "-j", "1", "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    arrays = load_beats(out)
    records = arrays["record"].astype(str)
    assert sorted(set(records)) == ["patient001/s0010_re", "patient104/s0306lre", "patient104/s0307lre",
                                    "patient105/s0303lre", "patient106/s0030_re", "patient107/s0400lre",
                                    "patient108/s0500lre", "patient109/s0600lre"]
    by_record = {r: set(arrays["diagnosis"][records == r].tolist()) for r in set(records)}
    assert by_record["patient001/s0010_re"] == {"Myocardial infarction"}
    assert by_record["patient104/s0307lre"] == {"Healthy control"}
    assert by_record["patient107/s0400lre"] == {"Bundle branch block"}
    assert by_record["patient108/s0500lre"] == by_record["patient109/s0600lre"] == {""}  # none stated, n/a
    assert sorted(set(patient_of(records))) == ["patient001", "patient104", "patient105", "patient106", "patient107",
                                                "patient108", "patient109"]
    task = task_labels(arrays, "diagnosis", MI)
    assert task.left_out == {"Bundle branch block": int(np.count_nonzero(records == "patient107/s0400lre"))}
    assert set(task.labels[np.isin(records, ["patient108/s0500lre", "patient109/s0600lre"])].tolist()) == {-1}


def test_mi_transfer_on_a_ptb_layout_holds_patients_out_and_scores_them(ptb_folder, tmp_path):
    data, model = tmp_path / "ptb.npz", tmp_path / "mi.pt"
    runner = CliRunner()
    result = runner.invoke(cli, ["segment", "database", "ptbdb", "--data-dir", str(ptb_folder), "--channel", "ii",
                                 "--peaks", "hamilton", "-j", "1", "-q", "-o", str(data)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["train", str(data), "-o", str(model), "--labels", "diagnosis", "--classes", ",".join(MI),
                                 "--init", "shipped", "--freeze", "8", "--epochs", "1", "--test-fraction", "0.5"])
    assert result.exit_code == 0, result.output
    assert "training on" in result.stderr and "classes from 'diagnosis'" in result.stderr
    assert "patient protocol: 2 training patients, 2 patients held out for testing" in result.stderr
    meta = load_checkpoint_metadata(model)
    trained = set(patient_of(meta["train_records"]))
    assert len(trained) == 2 and trained <= {"patient001", "patient104", "patient105", "patient106"}
    if "patient104" in trained:  # both of its records, or neither
        assert {"patient104/s0306lre", "patient104/s0307lre"} <= set(meta["train_records"])
    scored = runner.invoke(cli, ["evaluate", str(data), "--model", str(model)])
    assert scored.exit_code == 0, scored.output
    lines = scored.stdout.splitlines()
    assert lines[0].startswith("patient-wise: patients the model did not train on; model ")
    assert any(line.startswith("Myocardial infarction positive: Se ") and " AUC " in line for line in lines)
    held_out = {p for p in ("patient001", "patient104", "patient105", "patient106") if p not in trained}
    assert held_out == {line.split("/")[0] for line in lines[1:] if line.startswith("patient")}
    assert "note: beats of classes the model does not have are not scored (" in scored.stderr  # bundle branch block


def load_checkpoint_metadata(path):
    from ecgseg.classify.model import load_checkpoint

    return load_checkpoint(path)[1]["metadata"]
