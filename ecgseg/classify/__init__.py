"""The beat classifier: the only part of ecgseg that imports torch.

:mod:`~ecgseg.classify.model` holds the networks and the checkpoint format,
:mod:`~ecgseg.classify.routing` picks the waveform-only or the R-R context model for a beat file,
:mod:`~ecgseg.classify.train` the training loop, :mod:`~ecgseg.classify.predict`
batched inference. The weights trained on DS1 ship in ``weights/`` (see MODEL_CARD.md).

Examples
--------
>>> import numpy as np
>>> from ecgseg.classify import load_checkpoint, predict_proba
>>> model, checkpoint = load_checkpoint()
>>> predict_proba(model, np.zeros((2, 187), np.float32), logit_bias=checkpoint["logit_bias"]).shape
(2, 5)
"""

from .model import ARCHS, CLASS_NAMES, DEFAULT_WEIGHTS, BeatNet, KachueeNet, ModelConfig, build_model, load_checkpoint, save_checkpoint
from .predict import check_segments, predict_proba
from .train import TrainConfig, TrainResult, train

__all__ = [
    "ARCHS", "BeatNet", "build_model", "CLASS_NAMES", "DEFAULT_WEIGHTS", "KachueeNet", "ModelConfig", "load_checkpoint", "save_checkpoint",
    "check_segments", "predict_proba", "TrainConfig", "TrainResult", "train",
]
