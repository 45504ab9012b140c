"""Transfer learning: a trained beat network started on a new task, its first layers frozen.

Kachuee, Fazeli & Sarrafzadeh (2018) reuse the network trained on arrhythmia beats for myocardial infarction:
the layers are copied, the output layer is replaced by one for the new task's classes, and only the last layers
(or all) are trained. Here a network's layers are its *stages*, counted from the input (:data:`STAGES`: for the
Kachuee network the first convolution, the five residual blocks, then the two dense layers); ``freeze=K`` keeps the
first K stages' weights (and any batch-norm statistics) exactly as the starting model had them; the output layer
(:data:`OUTPUT`) is always new and trained. ``freeze=0`` fine-tunes everything from the copied weights.

Examples
--------
>>> from ecgseg.classify.config import ModelConfig
>>> net = initial_model(ModelConfig(n_classes=2, class_names=("healthy", "MI")), "shipped", freeze=6)
>>> frozen_stages(net), net.out.out_features
(['stem', 'blocks.0', 'blocks.1', 'blocks.2', 'blocks.3', 'blocks.4'], 2)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from torch import nn

from ..terms import say, setting
from .config import DEFAULT_WEIGHTS, ModelConfig, model_file

__all__ = ["STAGES", "OUTPUT", "stages", "resolve_init", "check_init", "initial_model", "frozen_stages", "hold_frozen",
           "init_summary"]

#: Each architecture's stages, input to output, as module names (the output layer apart). ``--freeze K`` freezes the
#: first K. tests/test_transfer.py checks that they and :data:`OUTPUT` hold every parameter once, for every arch.
STAGES = {
    "kachuee": lambda c: ["stem", *[f"blocks.{i}" for i in range(c.n_blocks)], "fc1", "fc2"],
    "lstm-fcn": lambda c: ["fcn.0", "fcn.1", "fcn.2", "lstm"],
    "cnn-bilstm": lambda c: ["conv.0", "conv.2", "conv.4", "lstm", "fc"],
    "cnn-mlp": lambda c: ["conv.0", "conv.3", "conv.6", "conv.9", "mlp.0", "mlp.3", "mlp.5"],
}
#: Each architecture's output layer: replaced for a new task's classes, always trained.
OUTPUT = {"kachuee": "out", "lstm-fcn": "out", "cnn-bilstm": "out", "cnn-mlp": "mlp.7"}

#: ``init="shipped"`` starts from the shipped waveform-only arrhythmia model.
SHIPPED_INIT = "shipped"


def stages(config: ModelConfig) -> list[str]:
    """The module names of a network's stages, input to output (the output layer apart).

    Examples
    --------
    >>> len(stages(ModelConfig())), stages(ModelConfig())[-2:]
    (8, ['fc1', 'fc2'])
    """
    if config.arch not in STAGES:
        raise ValueError(f"transfer learning does not know the stages of the {config.arch!r} network; "
                         f"add them to ecgseg.classify.transfer.STAGES")
    return STAGES[config.arch](config)


def resolve_init(init: str | os.PathLike) -> Path:
    """The model file ``init`` names: ``"shipped"`` is the shipped waveform-only model; a shipped model's file name
    (``context_ds1.pt``) names it (:func:`ecgseg.classify.config.model_file`)."""
    return DEFAULT_WEIGHTS if str(init) == SHIPPED_INIT else model_file(init)


# Fields that must agree between the starting model and the network trained from it: they shape the layers copied.
_SHAPE_FIELDS = ("arch", "input_length", "channels", "kernel_size", "n_blocks", "pool_size", "pool_stride", "hidden",
                 "n_extra", "in_channels", "context", "pre_r_s")


def check_init(config: ModelConfig, start: ModelConfig, name: str) -> None:
    """Refuse a starting model whose layers do not fit ``config`` (anything but the classes), naming the field.

    Raises
    ------
    ValueError
        For example beats of another length or cut, or R-R context the data does not carry.
    """
    for field in _SHAPE_FIELDS:
        want, have = getattr(config, field), getattr(start, field)
        if field == "context" and not (config.n_extra or start.n_extra):
            continue  # the context's source matters only when there is one
        if want != have:
            raise ValueError(f"the starting model {name} has {field} {have!r} but the new task's beats need {want!r}; "
                             f"{_advice(field, have)}")


def _advice(field: str, have) -> str:
    if field == "pre_r_s":
        return f"cut them as it was trained ({setting('pre_r_s', float(have))}) or start from another model"
    if field == "input_length":
        return f"cut them {have} samples long ({setting('length', have)}) or start from another model"
    if field in ("n_extra", "context", "in_channels"):
        return ("train with the inputs it reads (" + say("--context, --template", "context_inputs(context=, template=)")
                + " as it was trained) or start from another model")
    return "start from a model of the same network"


def initial_model(config: ModelConfig, init: str | os.PathLike, freeze: int = 0) -> nn.Module:
    """The network for ``config``'s classes, started from the model file ``init``, its first ``freeze`` stages frozen.

    Every layer but the output layer is copied from ``init`` (with the context standardization it learned); the
    output layer is new (``config.n_classes`` outputs, PyTorch's default initialisation under the caller's seed).

    Parameters
    ----------
    config : ModelConfig
        The new network: as ``init``'s in everything but ``n_classes`` and ``class_names``.
    init : path or "shipped"
        A checkpoint written by ``ecgseg train`` (any classes).
    freeze : int
        Stages kept as they are, counted from the input: 0 (train all) to ``len(stages(config))`` (only the new
        output layer learns).

    Raises
    ------
    ValueError
        ``freeze`` out of range, or a starting model whose layers do not fit ``config``.
    """
    from .model import build_model, load_checkpoint

    names = stages(config)
    if not 0 <= freeze <= len(names):
        raise ValueError(f"{say('--freeze', 'freeze')} must be 0 (train every layer) to {len(names)} (only the output "
                         "layer) for the "
                         f"{config.arch} network, whose stages are {', '.join(names)}; got {freeze}")
    path = resolve_init(init)
    start, _ = load_checkpoint(path)
    check_init(config, start.config, str(path))
    net = build_model(config)
    output = OUTPUT[config.arch] + "."
    copied = {k: v for k, v in start.state_dict().items() if not k.startswith(output)}
    missing, unexpected = net.load_state_dict(copied, strict=False)
    if unexpected or any(not k.startswith(output) for k in missing):
        raise ValueError(f"{path}: its layers do not match the {config.arch} network ({(missing + unexpected)[:3]})")
    modules = dict(net.named_modules())
    for name in names[:freeze]:
        for parameter in modules[name].parameters():
            parameter.requires_grad_(False)
    net.frozen_stages = names[:freeze]
    return net


def frozen_stages(net: nn.Module) -> list[str]:
    """The stages of ``net`` that :func:`initial_model` froze (none for a network built otherwise)."""
    return list(getattr(net, "frozen_stages", []))


def hold_frozen(net: nn.Module) -> nn.Module:
    """Put the frozen stages in eval mode (after ``net.train()``): batch norm keeps its statistics, dropout is off."""
    modules = dict(net.named_modules())
    for name in frozen_stages(net):
        modules[name].eval()
    return net


def init_summary(init: str | os.PathLike, freeze: int, config: ModelConfig) -> dict:
    """Where a transferred model came from, for its checkpoint: the file, its digest, its classes and training."""
    from .model import load_checkpoint

    path = resolve_init(init)
    _, checkpoint = load_checkpoint(path)
    meta = checkpoint.get("metadata", {})
    return {
        "model": SHIPPED_INIT + f" ({path.name})" if str(init) == SHIPPED_INIT else str(path),
        "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
        "class_names": list(checkpoint.get("class_names", [])),
        "task": meta.get("task", {"labels": "labels", "classes": list(checkpoint.get("class_names", []))}),
        "protocol": meta.get("protocol"),
        "train_records": meta.get("train_records"),
        "freeze": int(freeze),
        "frozen_stages": stages(config)[:freeze],
        "trained_stages": stages(config)[freeze:] + [OUTPUT[config.arch]],
    }
