"""The classifier's config: no torch or numpy to import, the command line's choices, the model choice (pure)."""

from __future__ import annotations

import subprocess
import sys

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


R = np.array([0, 288, 576])


@pytest.mark.parametrize("arrays, expected, why", [
    (_file(), DEFAULT_WEIGHTS, "b.npz carries no r_peaks or fs"),
    (_file(r_peaks=R, fs=np.float64(360), peaks=np.array("rule"), pre_r_s=np.float64(0.25)), DEFAULT_WEIGHTS, "R-peaks from the paper's rule"),
    (_file(r_peaks=R, fs=np.float64(360), peaks=np.array("hamilton"), pre_r_s=np.float64(0.0)), DEFAULT_WEIGHTS, "was cut 0 s before the R-peak, not 0.25 s (--pre-r-s 0.25)"),
    (_file(r_peaks=R, fs=np.float64(360), peaks=np.array("hamilton"), pre_r_s=np.float64(0.25)), DEFAULT_CONTEXT_WEIGHTS, None),
    (_file(r_peaks=R, fs=np.float64(360), peaks=np.array("annotations"), pre_r_s=np.float64(0.25)), DEFAULT_CONTEXT_WEIGHTS, None),
])
def test_the_model_choice_follows_what_the_file_carries(arrays, expected, why):
    path, reason = choose_model(arrays, name="b.npz")
    assert path == expected
    if why is None:
        assert reason is None
    else:
        assert why in reason and reason.endswith("; classifying with the waveform-only model")


def test_the_choice_loads_nothing_and_takes_a_given_model_as_given(tmp_path):
    missing = tmp_path / "not-there.pt"
    assert choose_model(_file(), missing) == (missing, None)  # no file is opened to choose
    code = ("import sys, numpy as np; from ecgseg.classify.config import choose_model; "
            "choose_model({'segments': np.zeros((2, 187), np.float32)}); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
