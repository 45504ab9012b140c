"""The classifier's choices and defaults, and which model classifies a beat file: no torch, no numpy.

The command line builds its options from these names and defaults (``ecgseg train --arch`` offers
:data:`ARCHS`, its ``--epochs`` default is :class:`TrainConfig`'s), so a choice is added or a default changed
here only. :func:`choose_model` decides between the shipped models from what a beat file carries, without
loading either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from ..aami import AAMI_CLASSES, INTER_CLASSES
from ..scheme import CONTEXT_PRE_R_S, RECOMMENDED_PEAKS
from ..scheme import DEFAULTS as SCHEME
from ..terms import setting

__all__ = ["CLASS_NAMES", "ARCHS", "CONTEXTS", "BALANCE", "VALIDATION", "ModelConfig", "TrainConfig",
           "DEFAULT_WEIGHTS", "DEFAULT_CONTEXT_WEIGHTS", "Shipped", "SHIPPED", "needs_context", "lacks", "choose_model",
           "choice_line", "model_file", "shipped_names", "TRAINED_LEAD", "lead_doubt"]

#: The classes the shipped models predict, in output order (the AAMI classes).
CLASS_NAMES = AAMI_CLASSES
#: Network architectures by name (built by :func:`ecgseg.classify.model.build_model`).
ARCHS = ("kachuee", "lstm-fcn", "cnn-bilstm", "cnn-mlp")
#: Features beside the waveform: none, the ``rr`` array of a beat file (:func:`ecgseg.rhythm.rr_features`),
#: ``beat``: :func:`ecgseg.context.beat_context` from the file's R-peaks and segments, or ``cut``:
#: :func:`ecgseg.context.cut_context` from the segments alone (the paper's cut; a plain ``.npy`` has them).
CONTEXTS = ("none", "rr", "beat", "cut")
#: Class-imbalance options (see :class:`TrainConfig`).
BALANCE = ("none", "weighted", "sampler", "sqrt-sampler", "undersample")
#: Model-selection options (see :class:`TrainConfig`).
VALIDATION = ("patient", "folds", "beats")

_WEIGHTS = Path(__file__).parent / "weights"
#: The shipped waveform-only model (trained on DS1 only; see MODEL_CARD.md).
DEFAULT_WEIGHTS = _WEIGHTS / "kachuee_ds1.pt"
#: The shipped model that also reads the beats' context (see MODEL_CARD.md), cut 0.25 s before the R-peak.
DEFAULT_CONTEXT_WEIGHTS = _WEIGHTS / "context_ds1.pt"


class Shipped(NamedTuple):
    """What a shipped model is and reads, known without loading it (tests/test_config.py checks the checkpoints)."""

    description: str
    pre_r_s: float  # where the segments it was trained on start, seconds before the R-peak
    inputs: tuple[str, ...]  # as its checkpoint's "inputs": segments, then template, rr or beat


#: The shipped models by path. Shipping another model is changing its entry here.
SHIPPED = {
    DEFAULT_WEIGHTS: Shipped("waveform-only", 0.0, ("segments",)),
    DEFAULT_CONTEXT_WEIGHTS: Shipped("context (rhythm + template, pre-R)", CONTEXT_PRE_R_S, ("segments", "beat")),
}


def needs_context(inputs) -> bool:
    """Whether a model with these ``inputs`` (a checkpoint's) reads more of a beat file than its segments (the
    ``cut`` context is read from the segments themselves)."""
    return any(key in inputs for key in ("rr", "beat", "template"))


def lacks(arrays: dict, inputs) -> str | None:
    """What a beat file lacks for a model with these ``inputs``, in words (``"carries no ..."``), or None."""
    if not needs_context(inputs):
        return None
    if "rr" in inputs:
        return None if "rr" in arrays else "carries no R-R context (rr)"
    missing = [key for key in ("r_peaks", "fs") if key not in arrays]  # the template and beat context need them
    return f"carries no {' or '.join(missing)}" if missing else None


@dataclass
class ModelConfig:
    """Shape of the network. ``arch`` names one of :data:`ARCHS`; ``n_extra`` per-beat context features (the R-R
    features of :mod:`ecgseg.rhythm`) join the convolution output before the dense layers (0: waveform only).
    ``pre_r_s`` records where the segments the model was trained on start (seconds before the R-peak), and ``fs_out``
    the rate they were sampled at (Hz), so a beat file cut otherwise is refused. ``in_channels`` is 2 for a model that reads each beat beside its record's local
    template (:func:`ecgseg.morphology.beat_templates`), 1 for the beat alone. ``context`` names where the
    ``n_extra`` features come from: ``"rr"`` the ``rr`` array of a beat file (:func:`ecgseg.rhythm.rr_features`),
    ``"beat"`` :func:`ecgseg.context.beat_context` computed from the file's R-peaks and segments, ``"cut"``
    :func:`ecgseg.context.cut_context` computed from the segments alone (cut at the R-peak). The remaining
    fields size the Kachuee network; the others have fixed seed sizes. ``class_names`` names the ``n_classes`` outputs in
order: a transfer task's own classes, by default the AAMI classes (the arrhythmia models)."""

    input_length: int = SCHEME.length  # the scheme's beat length
    n_classes: int = 5
    channels: int = 32
    kernel_size: int = 5
    n_blocks: int = 5
    pool_size: int = 5
    pool_stride: int = 2
    hidden: int = 32
    n_extra: int = 0
    arch: str = "kachuee"
    pre_r_s: float = 0.0
    fs_out: float = SCHEME.fs_out
    in_channels: int = 1
    context: str = "rr"
    class_names: tuple[str, ...] | None = None

    def __post_init__(self):
        if self.class_names is None:  # the AAMI classes (N, S, V, F, Q), as many as there are outputs
            self.class_names = CLASS_NAMES[: self.n_classes] + tuple(map(str, range(len(CLASS_NAMES), self.n_classes)))
        self.class_names = tuple(str(name) for name in self.class_names)
        if len(self.class_names) != self.n_classes:
            raise ValueError(f"{self.n_classes} classes but {len(self.class_names)} class names "
                             f"({', '.join(self.class_names)}); give one name per class")


@dataclass
class TrainConfig:
    """Training choices.

    ``balance``: ``weighted`` (loss weights ~ 1/sqrt(class share)), ``sampler`` (class-balanced batches: every class
    drawn equally often, with replacement), ``sqrt-sampler`` (weighted random sampling, beats drawn with probability ~
    1/sqrt(their class share)), ``undersample`` (each epoch a fresh random subset of N beats, at most
    ``undersample_ratio`` times the other beats), or ``none``. ``validation``: ``patient`` (hold out whole records),
    ``folds`` (``folds`` patient-wise folds, out-of-fold selection, then a final model on all beats) or ``beats``.
    ``score_classes``: the classes whose mean F1 picks the epoch and tunes the logit biases; N, S, V, F for the
    inter-patient protocol (its Q is a handful of beats once the paced records are out), all five for intra-patient,
    where the paced beats are a class like the others. ``recall_floor``: the logit biases may not push any scored
    class's validation recall below this (or below its recall without biases, if that is lower already), so the
    calibration cannot silence a class; None: no floor. ``normal_recall``: then lower the other classes' biases until
    N's validation recall reaches this; ``min_recall``: raise each class's bias until its validation recall reaches
    this (see :func:`ecgseg.classify.train.calibrate_bias`). ``init``: a model file (or ``"shipped"``, the shipped
    waveform-only model) to start from instead of random weights: its layers are copied, its output layer replaced by
    one for ``model.class_names`` (transfer learning, :mod:`ecgseg.classify.transfer`); ``freeze``: that many of its
    layers, counted from the input, keep their weights."""

    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    balance: str = "weighted"
    augment: bool = True
    patience: int = 5
    validation: str = "patient"
    folds: int = 4
    undersample_ratio: float = 2.0
    val_fraction: float = 0.2
    epoch_beats: int | None = None  # beats drawn per epoch (None: all training beats once)
    calibrate: bool = True
    recall_floor: float | None = None
    normal_recall: float | None = None
    min_recall: float | None = None
    score_classes: tuple[str, ...] = INTER_CLASSES
    seed: int = 0
    threads: int = 1  # measured here: 2 threads on 2 shared, busy cores trained 8x slower than 1 (spinning OMP threads)
    init: str | None = None
    freeze: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)


#: The lead every shipped model learnt: MIT-BIH's modified limb lead II (its DS1 records, or all 48 for intra).
TRAINED_LEAD = "MLII"


def lead_doubt(arrays: dict, path, name: str = "beats") -> str | None:
    """Why a shipped model's classes of a beat file are doubtful because of its lead, in one line, or None.

    The shipped models learnt beats of MIT-BIH's lead MLII; a file whose ``lead`` key names another lead (MIT-BIH's
    V5 in records 102 and 104, any lead of another database) is classified outside what they were trained on. A
    file without ``lead`` (a plain ``.npy``, a CSV) or a model not shipped with the package is not judged.

    Examples
    --------
    >>> lead_doubt({"lead": "V5"}, DEFAULT_WEIGHTS, "b.npz")
    'the shipped models learnt lead MLII of MIT-BIH; b.npz holds lead V5, outside what they were trained on: read its classes as doubtful'
    >>> lead_doubt({"lead": "MLII"}, DEFAULT_WEIGHTS, "b.npz") is None
    True
    """
    if "lead" not in arrays or Path(path).parent != _WEIGHTS:
        return None
    import numpy as np  # only when a file is there to look at

    named = np.unique(np.ravel(np.asarray(arrays["lead"])).astype(str))  # one per file, or one per beat
    leads = [str(lead) for lead in named if lead and lead.upper() != TRAINED_LEAD.upper()]
    if not leads:
        return None
    return (f"the shipped models learnt lead {TRAINED_LEAD} of MIT-BIH; {name} holds lead{'s' * (len(leads) > 1)} "
            f"{', '.join(leads)}, outside what they were trained on: read its classes as doubtful")


def shipped_names() -> list[str]:
    """The file names of the models shipped with the package (:func:`model_file` takes them as a model argument)."""
    return sorted(path.name for path in _WEIGHTS.glob("*.pt"))


def model_file(model) -> Path:
    """The file a model argument names: a path, or a shipped model by its file name when no such file is here.

    The README, the model card and ``ecgseg classify``'s choice line call the shipped models by their file names
    (``context_ds1.pt``, ``kachuee_ds1.pt``, ``intra_context.pt``); a file of that name in the working folder wins.

    Examples
    --------
    >>> model_file("context_ds1.pt") == DEFAULT_CONTEXT_WEIGHTS
    True
    >>> str(model_file("runs/mine.pt"))
    'runs/mine.pt'
    """
    path = Path(model)
    shipped = _WEIGHTS / path.name
    if not path.exists() and path.parent == Path(".") and path.suffix == ".pt" and shipped.is_file():
        return shipped
    return path


def choose_model(arrays: dict, model=None, name: str = "beats") -> tuple[Path, str | None]:
    """Which model classifies a loaded beat file, and why when it is not the best one for it; loads nothing.

    The shipped context model needs what it reads (:data:`SHIPPED`: ``rr``, or R-peaks and the rate for the
    beat context), R-peaks that miss no beats (not the paper's rule, which misses about half) and segments cut
    as it was trained (``pre_r_s``); a file with all of that gets it, any other the shipped waveform-only model
    with the reason. A given ``model`` is used as given (whether it fits is checked once it is loaded).

    Parameters
    ----------
    arrays : dict
        A beat file as :func:`ecgseg.beatfile.load_beats` returns it (``segments``, maybe ``r_peaks``, ``fs``,
        ``record``, ``rr``, ``pre_r_s``, ``peaks``).
    model : path, optional
        A model file, or a shipped model's file name (:func:`model_file`).
    name : str
        The beat file's name in the reason.

    Returns
    -------
    path : pathlib.Path
        The model file to load.
    reason : str or None
        Why the waveform-only model was chosen for a file the context model cannot take; None otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> path, reason = choose_model({"segments": np.zeros((2, 187), np.float32)}, name="beats.npy")
    >>> path.name, reason.endswith("; classifying with the waveform-only model")
    ('kachuee_ds1.pt', True)
    """
    if model is not None:
        return model_file(model), None
    why = _why_not_context(arrays, name)
    if why is None:
        return DEFAULT_CONTEXT_WEIGHTS, None
    return DEFAULT_WEIGHTS, f"{name} {why}; classifying with the waveform-only model"


def _why_not_context(arrays: dict, name: str) -> str | None:
    """What keeps the shipped context model from a beat file, in words (``"has ..."``), or None."""
    from ..beatfile import cut_at, scalar  # numpy: only when a file is there to look at

    context = SHIPPED[DEFAULT_CONTEXT_WEIGHTS]
    if "r_peaks" not in arrays:  # a plain .npy, or a CSV: the segments alone
        return (f"holds the segments only, without their R-peaks (segment to an .npz with "
                f"{setting('peaks', RECOMMENDED_PEAKS)} for the context model)")
    why = lacks(arrays, context.inputs)
    if why is None and scalar(arrays, "peaks", name) == "rule":
        # R-R intervals from the paper's rule are wrong where it missed beats (about half of them): not trusted.
        why = (f"has R-peaks from the paper's rule, which misses beats (segment with "
               f"{setting('peaks', RECOMMENDED_PEAKS)} for the context model)")
    if why is None and cut_at(arrays, context.pre_r_s, name) is None:
        why = (f"holds no beats cut {context.pre_r_s:g} s before the R-peak (segment with "
               f"{setting('pre_r_s', context.pre_r_s)})")
    return why


def choice_line(arrays: dict, path, reason: str | None, name: str = "beats", given: bool = False) -> str:
    """One line saying which model classifies a beat file and why (what ``ecgseg classify`` prints).

    Examples
    --------
    >>> import numpy as np
    >>> arrays = {"segments": np.zeros((2, 187), np.float32)}
    >>> print(choice_line(arrays, *choose_model(arrays, name="b.npy"), name="b.npy"))
    model: kachuee_ds1.pt, the shipped waveform-only model: b.npy holds the segments only, without their R-peaks (segment to an .npz with peaks='hamilton' for the context model)
    """
    path = Path(path)
    if given:  # a shipped model named by its file name is said by that name, not by where it is installed
        named = path.name if path.parent == _WEIGHTS else path
        return f"model: {named} (given with {setting('model')})"
    shipped = f"{path.name}, the shipped {SHIPPED[path].description} model" if path in SHIPPED else str(path)
    if reason is not None:
        return f"model: {shipped}: {name} {_why_not_context(arrays, name)}"
    from ..beatfile import scalar

    peaks = scalar(arrays, "peaks", name)
    found = "the reference annotations" if peaks == "annotations" else f"the {peaks} detector" if peaks else "given"
    return (f"model: {shipped}, the best for {name}: its R-peaks come from {found} and it holds beats cut "
            f"{SHIPPED[path].pre_r_s:g} s before them")
