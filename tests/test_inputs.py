"""Inputs that are not what they claim (issue 13 fault 9): a text file or a pickle named .npy, scheme values out of
range or NaN (command line and library), a model file that is a pickle: each one line saying what it is, exit 1, and
no warning before it. Inputs are built here."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import ecgseg
from ecgseg.beatfile import load_beats
from ecgseg.cli import cli


@pytest.mark.slow  # classify imports torch
def test_a_file_named_npy_that_is_not_one_says_what_it_is(tmp_path):
    text, pickled, other, objects = (tmp_path / n for n in ("text.npy", "pickled.npy", "other.npz", "objects.npy"))
    text.write_text("0.1,0.2,0.3,0\n0.2,0.3,0.4,1\n")
    pickled.write_bytes(pickle.dumps({"segments": [[0.1, 0.2]]}, protocol=4))
    other.write_bytes(b"\x00\x01\x02binary")
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    expected = {
        text: f"{text} is a text file, not a .npy/.npz beat file (it starts '0.1,0.2,0.3,0'); a heartbeat CSV is read "
              "when its name ends in .csv",
        pickled: f"{pickled} is a Python pickle, not a .npy/.npz beat file; pickles are never loaded (they can run "
                 "code): save the beats with numpy.save or `ecgseg segment`",
        other: f"{other} is not a .npy/.npz beat file (binary data of another kind)",
        objects: f"{objects} holds pickled (object) arrays, which are never loaded; save plain numeric arrays",
    }
    for path, message in expected.items():
        with pytest.raises(ValueError) as error:
            load_beats(path)
        assert str(error.value) == message
        result = CliRunner().invoke(cli, ["classify", str(path)])
        assert (result.exit_code, result.output) == (1, f"Error: {message}\n")


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--threshold", "1.5", "--threshold must be in [0, 1): a share of each window's range (1 or more finds no peak), "
                               "got 1.5"),
        ("--threshold", "nan", "--threshold must be in [0, 1): a share of each window's range (1 or more finds no peak), "
                               "got nan"),
        ("--length", "0", "--length must be a whole number of samples, at least 1, got 0"),
        ("--window-s", "0", "--window-s must be a positive number of seconds, got 0.0"),
        ("--fs-out", "inf", "--fs-out must be a positive rate in Hz, got inf"),
        ("--period-factor", "-1", "--period-factor must be a positive number of periods T, got -1.0"),
        ("--refractory-s", "nan", "--refractory-s must be >= 0 seconds (or None: off), got nan"),
        ("--tolerance-s", "-0.1", "--tolerance-s must be >= 0 seconds, got -0.1"),
    ],
)
def test_scheme_values_out_of_range_are_refused_before_any_work(tmp_path, option, value, message):
    # record 999 does not exist: the value is refused first
    result = CliRunner().invoke(cli, ["segment", "record", "999", "--data-dir", str(tmp_path), option, value, "-o",
                                      str(tmp_path / "b.npz")])
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")


@pytest.mark.parametrize(
    "keywords, message",
    [
        (dict(threshold=float("nan")), "threshold must be in [0, 1): a share of each window's range (1 or more finds "
                                       "no peak), got nan"),
        (dict(threshold=1.0), "threshold must be in [0, 1): a share of each window's range (1 or more finds no peak), "
                              "got 1.0"),
        (dict(length=0), "length must be a whole number of samples, at least 1, got 0"),
        (dict(length=187.0), "length must be a whole number of samples, at least 1, got 187.0"),
        (dict(fs_out=float("nan")), "fs_out must be a positive rate in Hz, got nan"),
        (dict(pre_r_s="0.25"), "pre_r_s must be >= 0 seconds, got '0.25'"),
    ],
)
def test_the_library_refuses_them_in_its_own_terms(keywords, message):
    signal = np.sin(np.arange(20 * 360) / 10.0)
    with pytest.raises(ValueError) as error:
        ecgseg.segment(signal, 360, **keywords)
    assert str(error.value) == message


def _model_files(tmp_path):
    torch = pytest.importorskip("torch")
    plain = tmp_path / "plain.pt"
    plain.write_bytes(pickle.dumps({"config": {}, "state_dict": {}}, protocol=4))
    objects = tmp_path / "objects.pt"
    subprocess.run([sys.executable, "-c", "import torch, fractions; torch.save({'config': {}, 'state_dict': {}, "
                    "'x': fractions.Fraction(1, 3)}, " + repr(str(objects)) + ")"], check=True)
    text = tmp_path / "text.pt"
    text.write_text("not a model\n")
    del torch
    return {
        plain: f"{plain} is a Python pickle, not a model from `ecgseg train`; pickles are never loaded (they can run "
               "code)",
        objects: f"{objects} holds Python objects beside its tensors, which are never loaded (unpickling them can run "
                 "code); a model from `ecgseg train` holds none",
        text: f"{text} is a text file, not a model from `ecgseg train`",
    }


@pytest.mark.slow  # classify imports torch
def test_a_model_that_is_a_pickle_gets_one_short_line_and_no_warning(tmp_path):
    npy = tmp_path / "beats.npy"
    np.save(npy, np.zeros((4, 187), dtype=np.float32))
    for model, message in _model_files(tmp_path).items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # a warning torch gave before is shown again
            result = CliRunner().invoke(cli, ["classify", str(npy), "--model", str(model)])
        assert (result.exit_code, result.stderr) == (1, f"Error: {message}\n")  # one line, not torch's advice
        assert caught == [] and result.stdout == ""
