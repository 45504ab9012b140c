"""Which model classifies a beat file: the context model when the file carries what it reads, else the waveform one.

A plain ``.npy`` of segments (``ecgseg segment record 100 > beats.npy``) has no rhythm context; an ``.npz``
written by ``ecgseg segment`` has ``r_peaks``, ``fs``, ``record`` and ``pre_r_s``. The shipped pair is a
waveform-only model (:data:`~ecgseg.classify.model.DEFAULT_WEIGHTS`) and a model that reads each beat cut 0.25 s
before its R-peak beside its record's template, with the rhythm and template features of
:func:`ecgseg.context.beat_context` (:data:`DEFAULT_CONTEXT_WEIGHTS`); an explicit model is used as given, or
refused with the reason.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..context import CONTEXT_FEATURES, model_inputs
from .model import DEFAULT_WEIGHTS, BeatNet, load_checkpoint
from .predict import predict_proba

__all__ = ["DEFAULT_CONTEXT_WEIGHTS", "needs_context", "choose_model", "predict_beats", "context_inputs"]

#: The shipped model that also reads the rhythm and the record's template (see MODEL_CARD.md).
DEFAULT_CONTEXT_WEIGHTS = Path(__file__).parent / "weights" / "context_ds1.pt"


def needs_context(checkpoint: dict) -> bool:
    """Whether a checkpoint's model reads more than each beat's own waveform (R-R context or its record's template)."""
    return any(key in checkpoint.get("inputs", ()) for key in ("rr", "beat", "template"))


def _lacks(arrays: dict, checkpoint: dict) -> str | None:
    """What a beat file lacks for a context model, in words, or None."""
    config = checkpoint["config"]
    if config.get("n_extra") and config.get("context", "rr") == "rr":
        return None if "rr" in arrays else "carries no R-R context (rr)"
    missing = [key for key in ("r_peaks", "fs") if key not in arrays]
    return f"carries no {' or '.join(missing)}" if missing else None


def _pre_r_s(arrays: dict) -> float:
    return float(arrays["pre_r_s"]) if "pre_r_s" in arrays else 0.0  # a bare .npy: the default cut, at the R-peak


def _check_cut(arrays: dict, checkpoint: dict, path, name: str) -> None:
    want, have = float(checkpoint.get("pre_r_s", 0.0)), _pre_r_s(arrays)
    if abs(want - have) > 1e-9:
        raise ValueError(f"model {path} was trained on segments starting {want:g} s before the R-peak but {name} starts "
                         f"{have:g} s before; segment with `--pre-r-s {want:g}` or pass a model trained on such beats")


def choose_model(arrays: dict, model=None, name: str = "beats"):
    """The model for a loaded beat file, its checkpoint, the inputs to feed it and a note (or None).

    Parameters
    ----------
    arrays : dict
        A beat file as :func:`ecgseg.beatfile.load_beats` returns it (``segments``, maybe ``r_peaks``, ``fs``,
        ``record``, ``rr``, ``pre_r_s``, ``peaks``).
    model : path, optional
        A model file; None picks the shipped context model when ``arrays`` carries what it reads, cut the way it
        was trained, from R-peaks that are not the paper's rule's; else the shipped waveform-only model, with a
        note saying why.
    name : str
        The beat file's name in messages.

    Returns
    -------
    net : BeatNet
    checkpoint : dict
    inputs : tuple (x, extra)
        ``x`` the beats (n, length) or, with the template channel, (n, 2, length); ``extra`` the context features
        (n, n_extra) or None (see :func:`ecgseg.context.model_inputs`).
    note : str or None

    Raises
    ------
    ValueError
        ``model`` needs context that ``arrays`` lacks, or the beats were cut with another ``pre_r_s``.

    Examples
    --------
    >>> net, checkpoint, (x, extra), note = choose_model({"segments": np.zeros((2, 187), np.float32)}, name="beats.npy")
    >>> extra is None, note.endswith("; classifying with the waveform-only model")
    (True, True)
    """
    note = None
    if model is None:
        # R-R intervals from the paper's rule are wrong where it missed beats (about half of them): not trusted.
        from_rule = str(arrays.get("peaks", "")) == "rule"
        net, checkpoint = load_checkpoint(DEFAULT_CONTEXT_WEIGHTS)
        lacks = _lacks(arrays, checkpoint)
        context_pre = float(checkpoint.get("pre_r_s", 0.0))
        if lacks is None and not from_rule and abs(context_pre - _pre_r_s(arrays)) < 1e-9:
            model = DEFAULT_CONTEXT_WEIGHTS
        else:
            if lacks is not None:
                why = lacks
            elif from_rule:
                why = "has R-peaks from the paper's rule, which misses beats (cut with --peaks hamilton for the context model)"
            else:
                why = f"was cut {_pre_r_s(arrays):g} s before the R-peak, not {context_pre:g} s (--pre-r-s {context_pre:g})"
            note = f"note: {name} {why}; classifying with the waveform-only model"
            model = DEFAULT_WEIGHTS
            net, checkpoint = load_checkpoint(model)
    else:
        net, checkpoint = load_checkpoint(model)
        lacks = _lacks(arrays, checkpoint) if needs_context(checkpoint) else None
        if lacks is not None:
            raise ValueError(f"model {model} reads the rhythm of the beats but {name} {lacks}; pass the .npz "
                             "`ecgseg segment ... -o beats.npz` writes, or a waveform-only model")
    _check_cut(arrays, checkpoint, model, name)
    return net, checkpoint, model_inputs(arrays, net.config, name), note


def predict_beats(net: BeatNet, checkpoint: dict, segments, rr=None, *, batch_size: int = 4096,
                  threads: int | None = None, name: str = "beats") -> np.ndarray:
    """Class probabilities (n_beats, 5) of beats, with their context when the model takes it, calibrated.

    ``segments`` and ``rr`` are the ``inputs`` :func:`choose_model` returns (any subset of beats, both alike).

    Examples
    --------
    >>> net, checkpoint = load_checkpoint(DEFAULT_CONTEXT_WEIGHTS)
    >>> x = np.zeros((3, net.config.in_channels, net.config.input_length), np.float32).squeeze(1)
    >>> predict_beats(net, checkpoint, x, np.ones((3, net.config.n_extra), np.float32)).shape
    (3, 5)
    """
    if net.config.n_extra and rr is None:
        raise ValueError(f"this model needs context features for {name}; pass the inputs choose_model returns")
    return predict_proba(net, segments, extra=rr, logit_bias=checkpoint["logit_bias"], batch_size=batch_size,
                         threads=threads, name=f"beats in {name}")


def context_inputs(arrays: dict, context: str, config, name: str = "data", *, template: bool = False):
    """The inputs to train on and ``config`` fitted to the beat file: its cut, its context, its channels.

    ``context`` is ``none``, ``rr`` (the file's ``rr`` array) or ``beat`` (:data:`ecgseg.context.CONTEXT_FEATURES`
    from the file's R-peaks and segments); ``template`` adds each beat's record template as a second input channel.
    Returns ``(x, extra, config)``: the beats (n, length) or (n, 2, length), the context (n, n_extra) or None, and
    the model config with the file's segment length and ``pre_r_s``.

    Examples
    --------
    >>> from ecgseg.classify.model import ModelConfig
    >>> x, extra, config = context_inputs({"segments": np.zeros((2, 219)), "pre_r_s": 0.25}, "none", ModelConfig())
    >>> extra, config.input_length, config.pre_r_s
    (None, 219, 0.25)
    """
    if context not in ("none", "rr", "beat"):
        raise ValueError(f"unknown context {context!r}; use 'none', 'rr' or 'beat'")
    segments = np.asarray(arrays["segments"])
    length = segments.shape[1] if segments.ndim == 2 else config.input_length
    n_extra = {"none": 0, "rr": 6, "beat": len(CONTEXT_FEATURES)}[context]
    if context == "rr" and "rr" in arrays:
        n_extra = np.shape(arrays["rr"])[1]
    config = replace(config, input_length=length, pre_r_s=_pre_r_s(arrays), n_extra=n_extra,
                     context=context if context != "none" else "rr", in_channels=2 if template else 1)
    x, extra = model_inputs(arrays, config, name)
    return x, extra, config
