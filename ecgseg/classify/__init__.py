"""The beat classifier: the only part of ecgseg that imports torch.

:mod:`~ecgseg.classify.config` holds the choices, defaults and the choice of the shipped model (no torch),
:mod:`~ecgseg.classify.model` the networks and the checkpoint format, :mod:`~ecgseg.classify.predict` the one way
to classify beats (:func:`classify_beats`), :mod:`~ecgseg.classify.train` the training loop. The weights trained on
DS1 ship in ``weights/`` (see MODEL_CARD.md). The names below load on first use (PEP 562), so importing
``ecgseg.classify.config`` does not import torch.

Examples
--------
>>> import numpy as np
>>> from ecgseg.classify import classify_beats
>>> probabilities, classifier = classify_beats({"segments": np.zeros((2, 187), np.float32)})
>>> probabilities.shape, classifier.path.name
((2, 5), 'kachuee_ds1.pt')
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "ARCHS": "config",
    "BALANCE": "config",
    "CLASS_NAMES": "config",
    "DEFAULT_CONTEXT_WEIGHTS": "config",
    "DEFAULT_WEIGHTS": "config",
    "ModelConfig": "config",
    "TrainConfig": "config",
    "VALIDATION": "config",
    "choose_model": "config",
    "BeatNet": "model",
    "KachueeNet": "model",
    "build_model": "model",
    "load_checkpoint": "model",
    "save_checkpoint": "model",
    "Classifier": "predict",
    "check_segments": "predict",
    "classify_beats": "predict",
    "load_classifier": "predict",
    "predict_proba": "predict",
    "TrainResult": "train",
    "train": "train",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
