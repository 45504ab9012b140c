"""Batched inference: beats (n, 187) in, class probabilities (n, 5) out."""

from __future__ import annotations

import numpy as np
import torch

from .model import KachueeNet

__all__ = ["check_segments", "check_beats", "predict_proba"]


def check_segments(segments, input_length: int = 187, name: str = "beats") -> np.ndarray:
    """Validate beats and return them as a C-contiguous (n, input_length) float32 array.

    Raises
    ------
    ValueError
        Not 2-D with ``input_length`` columns, not floating point, or holding NaN/inf.

    Examples
    --------
    >>> check_segments(np.zeros((3, 187))).dtype
    dtype('float32')
    >>> check_segments(np.zeros((3, 180)))
    Traceback (most recent call last):
    ...
    ValueError: beats have shape (3, 180), not (n_beats, 187); cut them with `ecgseg segment` (--length 187)
    """
    segments = np.asarray(segments)
    if segments.ndim == 1 and segments.size == input_length:
        segments = segments[None, :]
    if segments.ndim != 2 or segments.shape[1] != input_length:
        raise ValueError(
            f"{name} have shape {segments.shape}, not (n_beats, {input_length}); "
            f"cut them with `ecgseg segment` (--length {input_length})"
        )
    if not np.issubdtype(segments.dtype, np.floating):
        raise ValueError(f"{name} have dtype {segments.dtype}, not floating point; pass the float32 beats `ecgseg segment` writes")
    segments = np.ascontiguousarray(segments, dtype=np.float32)
    if not np.isfinite(segments).all():
        bad = int(np.count_nonzero(~np.isfinite(segments).all(axis=1)))
        raise ValueError(f"{name} hold NaN or infinite values in {bad} beats; drop or repair those beats first")
    return segments


def check_beats(segments, config, name: str = "beats") -> np.ndarray:
    """Beats (n, input_length) for a one-channel model, (n, in_channels, input_length) for one of several, checked.

    Examples
    --------
    >>> from ecgseg.classify.model import ModelConfig
    >>> check_beats(np.zeros((3, 2, 187)), ModelConfig(in_channels=2)).shape
    (3, 2, 187)
    """
    if config.in_channels == 1:
        return check_segments(segments, config.input_length, name)
    segments = np.asarray(segments)
    if segments.ndim != 3 or segments.shape[1:] != (config.in_channels, config.input_length):
        raise ValueError(f"{name} have shape {segments.shape}, not (n_beats, {config.in_channels}, "
                         f"{config.input_length}) for a model of {config.in_channels} input channels")
    return np.stack([check_segments(segments[:, c], config.input_length, name) for c in range(config.in_channels)],
                    axis=1)


def predict_proba(model: KachueeNet, segments, *, extra=None, logit_bias=None, batch_size: int = 1024,
                  threads: int | None = None, name: str = "beats") -> np.ndarray:
    """Class probabilities (n_beats, n_classes) float32 of beats (n_beats, input_length), in batches.

    A model of several input channels takes (n_beats, in_channels, input_length); one with context features takes
    them as ``extra`` (n_beats, n_extra). ``logit_bias`` (n_classes,) is added to the logits before the softmax: the
    prior calibration stored in a checkpoint. ``threads`` sets torch's intra-op threads for the call; ``name`` names the
    beats in messages.

    Examples
    --------
    >>> from ecgseg.classify.model import ModelConfig
    >>> p = predict_proba(KachueeNet(ModelConfig()).eval(), np.zeros((10, 187), np.float32))
    >>> p.shape, bool(np.allclose(p.sum(axis=1), 1, atol=1e-5))
    ((10, 5), True)
    """
    segments = check_beats(segments, model.config, name)
    if model.config.n_extra:
        if extra is None:
            raise ValueError(f"this model needs {model.config.n_extra} context features per beat; pass extra=")
        extra = np.ascontiguousarray(extra, dtype=np.float32)
        if extra.shape != (segments.shape[0], model.config.n_extra):
            raise ValueError(f"extra has shape {extra.shape}, not (n_beats={segments.shape[0]}, {model.config.n_extra})")
    bias = torch.zeros(model.config.n_classes) if logit_bias is None else torch.as_tensor(logit_bias, dtype=torch.float32)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    was_training = model.training
    model.eval()
    out = np.empty((segments.shape[0], model.config.n_classes), dtype=np.float32)
    try:
        with torch.inference_mode():
            x = torch.from_numpy(segments)
            context = None if not model.config.n_extra else torch.from_numpy(extra)
            for start in range(0, segments.shape[0], batch_size):
                batch = slice(start, start + batch_size)
                logits = model(x[batch], None if context is None else context[batch]) + bias
                out[start : start + batch_size] = torch.softmax(logits, dim=1).numpy()
    finally:
        torch.set_num_threads(previous)
        model.train(was_training)
    return out
