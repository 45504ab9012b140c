"""Batched inference: beats (n, 187) in, class probabilities (n, 5) out."""

from __future__ import annotations

import numpy as np
import torch

from .model import KachueeNet

__all__ = ["check_segments", "predict_proba"]


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


def predict_proba(model: KachueeNet, segments, *, logit_bias=None, batch_size: int = 4096,
                  threads: int | None = None) -> np.ndarray:
    """Class probabilities (n_beats, n_classes) float32 of beats (n_beats, input_length), in batches.

    ``logit_bias`` (n_classes,) is added to the logits before the softmax: the prior
    calibration stored in a checkpoint. ``threads`` sets torch's intra-op threads for the call.

    Examples
    --------
    >>> from ecgseg.classify.model import ModelConfig
    >>> p = predict_proba(KachueeNet(ModelConfig()).eval(), np.zeros((10, 187), np.float32))
    >>> p.shape, bool(np.allclose(p.sum(axis=1), 1, atol=1e-5))
    ((10, 5), True)
    """
    segments = check_segments(segments, model.config.input_length)
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
            for start in range(0, segments.shape[0], batch_size):
                logits = model(x[start : start + batch_size]) + bias
                out[start : start + batch_size] = torch.softmax(logits, dim=1).numpy()
    finally:
        torch.set_num_threads(previous)
        model.train(was_training)
    return out
