"""The classifier's config: no torch or numpy to import, the command line's choices, the model choice (pure)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgseg.classify.config import (
    ARCHS,
    BALANCE,
    CLASS_NAMES,
    DEFAULT_CONTEXT_WEIGHTS,
    DEFAULT_WEIGHTS,
    SHIPPED,
    VALIDATION,
    TrainConfig,
    choose_model,
)


def test_config_and_the_command_line_import_neither_torch_nor_numpy():
    code = "import sys, ecgseg.classify.config, ecgseg.cli; print(sorted({'torch', 'numpy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_command_line_offers_the_configs_choices_and_defaults():
    from ecgseg.cli.train import train_command

    options = {p.name: p for p in train_command.params}
    defaults = TrainConfig()
    assert tuple(options["arch"].type.choices) == ARCHS and options["arch"].default == defaults.model.arch
    assert tuple(options["balance"].type.choices) == BALANCE and options["balance"].default == defaults.balance
    assert tuple(options["validation"].type.choices) == VALIDATION
    for name in ("epochs", "patience", "batch_size", "lr", "folds", "undersample_ratio", "seed", "threads"):
        assert options[name].default == getattr(defaults, name), name
    assert CLASS_NAMES == ("N", "S", "V", "F", "Q")


def test_shipped_facts_match_the_checkpoints():
    from ecgseg.classify.model import load_checkpoint

    for path, shipped in SHIPPED.items():
        _, checkpoint = load_checkpoint(path)
        assert (checkpoint["pre_r_s"], tuple(checkpoint["inputs"])) == (shipped.pre_r_s, shipped.inputs), path


def _file(**keys):
    return {"segments": np.zeros((3, 187), np.float32), **keys}


RR = np.ones((3, 6), np.float32)
R = dict(r_peaks=np.array([100, 400, 700]), fs=np.float64(360.0))
CUT_025 = dict(model_segments=np.ones((3, 187), np.float32), model_pre_r_s=np.float64(0.25))


@pytest.mark.parametrize("arrays, expected, why", [
    (_file(), DEFAULT_WEIGHTS,
     "b.npz holds the segments only, without their R-peaks (segment to an .npz with peaks='hamilton' for the context "
     "model)"),
    (_file(**R, rr=RR, peaks=np.array("rule"), pre_r_s=np.float64(0.25)), DEFAULT_WEIGHTS,
     "b.npz has R-peaks from the paper's rule, which misses beats (segment with peaks='hamilton' for the context "
     "model)"),
    (_file(**R, rr=RR, peaks=np.array("hamilton"), pre_r_s=np.float64(0.0)), DEFAULT_WEIGHTS,
     "b.npz holds no beats cut 0.25 s before the R-peak (segment with pre_r_s=0.25)"),
    # the paper's cut, with the context model's cut beside it (what `segment --peaks hamilton -o b.npz` writes)
    (_file(**R, **CUT_025, rr=RR, peaks=np.array("hamilton"), pre_r_s=np.float64(0.0)), DEFAULT_CONTEXT_WEIGHTS, None),
    (_file(**R, rr=RR, peaks=np.array("hamilton"), pre_r_s=np.float64(0.25)), DEFAULT_CONTEXT_WEIGHTS, None),
    (_file(**R, rr=RR, peaks=np.array("annotations"), pre_r_s=np.float64(0.25)), DEFAULT_CONTEXT_WEIGHTS, None),
])
def test_the_model_choice_follows_what_the_file_carries(arrays, expected, why):
    path, reason = choose_model(arrays, name="b.npz")
    assert path == expected
    if why is None:
        assert reason is None
    else:
        assert reason == why + "; classifying with the waveform-only model"


def test_the_choice_line_says_which_model_and_why():
    from ecgseg.classify.config import choice_line
    from ecgseg.terms import command_line

    best = _file(**R, **CUT_025, rr=RR, peaks=np.array("hamilton"), pre_r_s=np.float64(0.0))
    rule = _file(**R, rr=RR, peaks=np.array("rule"))
    with command_line():
        assert choice_line(best, *choose_model(best, name="b.npz"), name="b.npz") == (
            "model: context_ds1.pt, the shipped context (rhythm + template, pre-R) model, the best for b.npz: its R-peaks come from "
            "the hamilton detector and it holds beats cut 0.25 s before them")
        assert choice_line(rule, *choose_model(rule, name="b.npz"), name="b.npz") == (
            "model: kachuee_ds1.pt, the shipped waveform-only model: b.npz has R-peaks from the paper's rule, which "
            "misses beats (segment with --peaks hamilton for the context model)")
        assert choice_line(rule, "m.pt", None, name="b.npz", given=True) == "model: m.pt (given with --model)"
    assert SHIPPED[DEFAULT_CONTEXT_WEIGHTS].pre_r_s == 0.25  # scheme.CONTEXT_PRE_R_S, the cut segment adds


def test_the_choice_loads_nothing_and_takes_a_given_model_as_given(tmp_path):
    missing = tmp_path / "not-there.pt"
    assert choose_model(_file(), missing) == (missing, None)  # no file is opened to choose
    code = ("import sys, numpy as np; from ecgseg.classify.config import choose_model; "
            "choose_model({'segments': np.zeros((2, 187), np.float32)}); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_shipped_model_is_named_by_its_file_name(tmp_path, monkeypatch):
    """The README and the choice line call the shipped models by file name: that name works as a model argument."""
    import numpy as np

    from ecgseg.classify.config import DEFAULT_CONTEXT_WEIGHTS, choice_line, model_file, shipped_names

    assert shipped_names() == ["context_ds1.pt", "intra_context.pt", "kachuee_ds1.pt"]
    monkeypatch.chdir(tmp_path)
    assert model_file("context_ds1.pt") == DEFAULT_CONTEXT_WEIGHTS
    assert model_file("sub/context_ds1.pt") == Path("sub/context_ds1.pt")  # a path is a path
    (tmp_path / "context_ds1.pt").write_bytes(b"mine")
    assert model_file("context_ds1.pt") == Path("context_ds1.pt")  # a file here of that name wins
    arrays = {"segments": np.zeros((2, 187), np.float32)}
    assert choice_line(arrays, DEFAULT_CONTEXT_WEIGHTS, None, given=True) == "model: context_ds1.pt (given with model=)"
