"""Which model classifies a beat file: the context model when the file carries R-R context, else the waveform one.

A plain ``.npy`` of segments (``ecgseg segment record 100 > beats.npy``) has no rhythm context; an ``.npz``
written by ``ecgseg segment`` has ``rr`` and ``pre_r_s``. The shipped pair is a waveform-only model
(:data:`~ecgseg.classify.model.DEFAULT_WEIGHTS`) and a model that also reads ``rr``
(:data:`DEFAULT_CONTEXT_WEIGHTS`); an explicit model is used as given, or refused with the reason.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .model import DEFAULT_WEIGHTS, BeatNet, load_checkpoint
from .predict import check_segments, predict_proba

__all__ = ["DEFAULT_CONTEXT_WEIGHTS", "needs_context", "choose_model", "predict_beats", "context_inputs"]

#: The shipped model that also reads the R-R context (see MODEL_CARD.md).
DEFAULT_CONTEXT_WEIGHTS = Path(__file__).parent / "weights" / "context_ds1.pt"


def needs_context(checkpoint: dict) -> bool:
    """Whether a checkpoint's model takes the ``rr`` features beside the waveform."""
    return "rr" in checkpoint.get("inputs", ())


def _pre_r_s(arrays: dict) -> float:
    return float(arrays["pre_r_s"]) if "pre_r_s" in arrays else 0.0  # a bare .npy: the default cut, at the R-peak


def _check_cut(arrays: dict, checkpoint: dict, path, name: str) -> None:
    want, have = float(checkpoint.get("pre_r_s", 0.0)), _pre_r_s(arrays)
    if abs(want - have) > 1e-9:
        raise ValueError(f"model {path} was trained on segments starting {want:g} s before the R-peak but {name} starts "
                         f"{have:g} s before; segment with `--pre-r-s {want:g}` or pass a model trained on such beats")


def choose_model(arrays: dict, model=None, name: str = "beats") -> tuple[BeatNet, dict, np.ndarray | None, str | None]:
    """The model for a loaded beat file, its checkpoint, the context to feed it (or None) and a note (or None).

    Parameters
    ----------
    arrays : dict
        A beat file as :func:`ecgseg.beatfile.load_beats` returns it (``segments``, maybe ``rr``, ``pre_r_s``).
    model : path, optional
        A model file; None picks the shipped context model when ``arrays`` carries ``rr`` cut the way it was
        trained, else the shipped waveform-only model, with a note saying so.
    name : str
        The beat file's name in messages.

    Raises
    ------
    ValueError
        ``model`` needs R-R context that ``arrays`` lacks, or the beats were cut with another ``pre_r_s``.

    Examples
    --------
    >>> net, checkpoint, rr, note = choose_model({"segments": np.zeros((2, 187), np.float32)}, name="beats.npy")
    >>> rr is None, note
    (True, 'note: beats.npy carries no R-R context (rr); classifying with the waveform-only model')
    """
    has_rr = "rr" in arrays
    note = None
    if model is None:
        # a plain .npy (the README's flow) never loads the context model
        # R-R context from the paper's rule is wrong where it missed beats (about half of them): not trusted.
        from_rule = str(arrays.get("peaks", "")) == "rule"
        context = load_checkpoint(DEFAULT_CONTEXT_WEIGHTS) if has_rr and not from_rule else None
        context_pre = None if context is None else float(context[1].get("pre_r_s", 0.0))
        if context is not None and abs(context_pre - _pre_r_s(arrays)) < 1e-9:
            model, (net, checkpoint) = DEFAULT_CONTEXT_WEIGHTS, context
        else:
            if from_rule and has_rr:
                why = "has R-R context from the rule's R-peaks, which miss beats (cut with --peaks hamilton for the context model)"
            elif context is None:
                why = "carries no R-R context (rr)"
            else:
                why = f"was cut {_pre_r_s(arrays):g} s before the R-peak, not {context_pre:g} s"
            note = f"note: {name} {why}; classifying with the waveform-only model"
            model = DEFAULT_WEIGHTS
            net, checkpoint = load_checkpoint(model)
    else:
        net, checkpoint = load_checkpoint(model)
        if needs_context(checkpoint) and not has_rr:
            raise ValueError(f"model {model} needs R-R context but {name} has none (no rr); pass the .npz `ecgseg "
                             f"segment ... -o beats.npz` writes, or a waveform-only model")
    _check_cut(arrays, checkpoint, model, name)
    rr = None
    if needs_context(checkpoint):
        rr = np.ascontiguousarray(arrays["rr"], dtype=np.float32)
        n_extra = net.config.n_extra
        if rr.shape != (len(arrays["segments"]), n_extra) or not np.isfinite(rr).all():
            raise ValueError(f"rr in {name} has shape {rr.shape}, not finite (n_beats, {n_extra}); re-segment the file")
    return net, checkpoint, rr, note


class _Packed(nn.Module):
    """A context model seen as taking one (batch, input_length + n_extra) array: segments, then context."""

    def __init__(self, net: BeatNet):
        super().__init__()
        self.net = net
        self.config = replace(net.config, input_length=net.config.input_length + net.config.n_extra)

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        length = self.net.config.input_length
        return self.net(packed[:, :length], packed[:, length:])


def predict_beats(net: BeatNet, checkpoint: dict, segments, rr=None, *, batch_size: int = 4096,
                  threads: int | None = None, name: str = "beats") -> np.ndarray:
    """Class probabilities (n_beats, 5) of beats, with their R-R context when the model takes it, calibrated.

    Examples
    --------
    >>> net, checkpoint = load_checkpoint(DEFAULT_CONTEXT_WEIGHTS)
    >>> rr = np.tile(np.float32([0.8, 0.8, 0.8, 1, 1, 1]), (3, 1))
    >>> predict_beats(net, checkpoint, np.zeros((3, net.config.input_length), np.float32), rr).shape
    (3, 5)
    """
    segments = check_segments(segments, net.config.input_length, f"beats in {name}")
    if net.config.n_extra:
        if rr is None:
            raise ValueError(f"this model needs R-R context for {name}; pass rr")
        packed = np.concatenate([segments, np.asarray(rr, np.float32)], axis=1)
        return predict_proba(_Packed(net), packed, logit_bias=checkpoint["logit_bias"], batch_size=batch_size,
                             threads=threads)
    return predict_proba(net, segments, logit_bias=checkpoint["logit_bias"], batch_size=batch_size, threads=threads)


def context_inputs(arrays: dict, context: str, config, name: str = "data"):
    """The context array to train with (or None) and ``config`` fitted to the beat file's cut.

    ``context`` is ``none`` or ``rr``; the model config takes the file's segment length and ``pre_r_s``.

    Examples
    --------
    >>> from ecgseg.classify.model import ModelConfig
    >>> rr, config = context_inputs({"segments": np.zeros((2, 219)), "pre_r_s": 0.25}, "none", ModelConfig())
    >>> rr, config.input_length, config.pre_r_s
    (None, 219, 0.25)
    """
    if context not in ("none", "rr"):
        raise ValueError(f"unknown context {context!r}; use 'none' or 'rr'")
    rr = None
    if context == "rr":
        if "rr" not in arrays:
            raise ValueError(f"{name} has no 'rr' array; segment it again with this ecgseg (`ecgseg segment database ... -o FILE.npz`)")
        rr = np.asarray(arrays["rr"], np.float32)
    segments = np.asarray(arrays["segments"])
    length = segments.shape[1] if segments.ndim == 2 else config.input_length
    return rr, replace(config, input_length=length, pre_r_s=_pre_r_s(arrays), n_extra=0 if rr is None else rr.shape[1])
