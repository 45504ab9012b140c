"""Training: a plain function, seeded and CPU-only, any architecture of :data:`~ecgseg.classify.model.ARCHS`, with
or without R-R context, and a patient-wise model selection.

With ``validation="patient"`` a few whole records are held out and the model kept is the epoch with the best
validation macro-F1 (N, S, V, F); per-class logit biases are then tuned on the same beats to maximise that
macro-F1 (prior calibration: the class shares of unseen patients differ from the training mix); they are stored in
the checkpoint and applied at inference. With ``validation="folds"`` the records are split into k patient-wise folds
instead: k models give out-of-fold predictions of every training beat at every epoch, the epoch count and the
biases are chosen on those, and one model is then trained on all beats for that many epochs.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..aami import INTER_CLASSES
from ..evaluate import class_report
from ..protocols import patient_folds, patient_of, split_validation
from .config import BALANCE, CLASS_NAMES, VALIDATION, TrainConfig
from .model import BeatNet, build_model
from .predict import check_beats, logits
from .transfer import hold_frozen

__all__ = ["TrainResult", "train", "split_validation", "patient_folds", "calibrate_bias", "augment"]


@dataclass
class TrainResult:
    model: BeatNet
    logit_bias: np.ndarray
    history: list[dict]
    val_records: list[str]
    metadata: dict
    val_logits: np.ndarray | None = None  # the selected epoch's validation (out-of-fold with ``folds``) logits
    val_labels: np.ndarray | None = None


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random amplitude scale and offset, time stretch (+-10%, as a different heart rate) and noise, per beat.

    ``x`` is (n, length) or (n, channels, length); the channels of a beat (the beat and its template) share one
    scale, offset and stretch. The stretch moves the zero padding with the beat, as a beat of another period would
    be cut.
    """
    if x.dim() == 3:
        n, channels, length = x.shape
        flat = x.reshape(n, channels * length)
        return _augment(flat, generator, channels).reshape(n, channels, length)
    return _augment(x, generator, 1)


def _augment(x: torch.Tensor, generator: torch.Generator, channels: int) -> torch.Tensor:
    n, total = x.shape
    length = total // channels
    scale = 1 + 0.15 * (2 * torch.rand(n, 1, generator=generator) - 1)
    offset = 0.05 * (2 * torch.rand(n, 1, generator=generator) - 1)
    stretch = 1 + 0.1 * (2 * torch.rand(n, 1, generator=generator) - 1)
    position = torch.arange(length, dtype=torch.float32) * stretch  # where each output sample reads the input
    left = position.floor().long().clamp(max=length - 1)
    right = (left + 1).clamp(max=length - 1)
    weight = position - position.floor()
    starts = (torch.arange(channels) * length).repeat_interleave(length)  # each channel reads its own samples
    left, right = left.repeat(1, channels) + starts, right.repeat(1, channels) + starts
    weight, inside = weight.repeat(1, channels), (position <= length - 1).repeat(1, channels)
    y = torch.gather(x, 1, left) * (1 - weight) + torch.gather(x, 1, right) * weight
    y = torch.where(inside, y, torch.zeros(()))
    noise = 0.01 * torch.randn(n, total, generator=generator)
    return y * scale + offset + noise


def _batches(labels: np.ndarray, config: TrainConfig, rng: np.random.Generator):
    """Index batches for one epoch: a shuffle, class-balanced or weighted draws with replacement, or N undersampled."""
    n = labels.size if config.epoch_beats is None else config.epoch_beats
    counts = np.bincount(labels, minlength=config.model.n_classes)
    if config.balance == "sampler":
        present = np.flatnonzero(counts)
        by_class = [np.flatnonzero(labels == c) for c in present]
        picks = rng.integers(0, present.size, n)
        order = np.empty(n, dtype=np.int64)
        for k, members in enumerate(by_class):
            where = picks == k
            order[where] = members[rng.integers(0, members.size, np.count_nonzero(where))]
    elif config.balance == "sqrt-sampler":
        weight = 1 / np.sqrt(counts[labels])
        order = rng.choice(labels.size, n, replace=True, p=weight / weight.sum())
    elif config.balance == "undersample":
        normal = np.flatnonzero(labels == 0)
        others = np.flatnonzero(labels != 0)
        keep = min(normal.size, int(config.undersample_ratio * max(others.size, 1)))
        order = rng.permutation(np.concatenate([rng.choice(normal, keep, replace=False), others]))[:n]
    elif config.balance in ("none", "weighted"):
        order = rng.permutation(labels.size)[:n] if n <= labels.size else rng.integers(0, labels.size, n)
    else:
        raise ValueError(f"unknown balance {config.balance!r}; use one of {', '.join(BALANCE)}")
    return [order[i : i + config.batch_size] for i in range(0, order.size, config.batch_size)]


def _class_weights(labels: np.ndarray, balance: str, n_classes: int = len(CLASS_NAMES)) -> torch.Tensor | None:
    if balance != "weighted":
        return None
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    # 1/sqrt(share), capped: full inverse frequency over-weights classes with a handful of beats (Q in DS1)
    weights = np.where(counts > 0, 1 / np.sqrt(np.maximum(counts, 1) / counts.sum()), 0.0)
    weights = np.minimum(weights / weights[counts > 0].min(), 20.0)
    return torch.tensor(weights, dtype=torch.float32)


def _score(logits: np.ndarray, labels: np.ndarray, bias=0.0, classes=INTER_CLASSES, class_names=CLASS_NAMES) -> float:
    report = class_report(labels, np.argmax(logits + bias, axis=1), logits.shape[1], class_names=class_names)
    return report.macro_f1(classes)


def _recalls(logits: np.ndarray, labels: np.ndarray, bias) -> np.ndarray:
    """Validation recall of each class (0 for a class absent from ``labels``)."""
    predicted = np.argmax(logits + bias, axis=1)
    hits = np.bincount(labels[predicted == labels], minlength=logits.shape[1])
    return hits / np.maximum(np.bincount(labels, minlength=logits.shape[1]), 1)


def calibrate_bias(logits: np.ndarray, labels: np.ndarray, grid=np.linspace(-4, 4, 33), rounds: int = 3,
                   classes=INTER_CLASSES, recall_floor: float | None = None, class_names=CLASS_NAMES,
                   normal_recall: float | None = None, min_recall: float | None = None) -> np.ndarray:
    """Per-class logit biases that maximise validation macro-F1 over ``classes``, by coordinate ascent on a grid.

    ``class_names`` names the columns of ``logits`` (the AAMI classes by default), ``classes`` are among them.

    N's bias stays 0 (only differences matter); a class absent from ``labels`` keeps 0. With ``recall_floor``, a
    bias that leaves any class of ``classes`` with a validation recall below ``min(recall_floor, its recall
    without biases)`` is not taken: the search cannot trade a class away for small gains in the others. With
    ``min_recall``, the bias of each class of ``classes`` whose validation recall is below it is then raised, in
    steps of 0.25, until it reaches it (or +8). With ``normal_recall``, the other classes' biases are then lowered
    together, in steps of 0.25, until the first class's (N's) validation recall reaches it: normal beats stay normal
    at that rate whatever macro-F1 would prefer.

    Examples
    --------
    >>> logits = np.array([[1.0, 0.5], [1.0, 0.8], [0.0, 1.0]]); labels = np.array([0, 1, 1])
    >>> bias = calibrate_bias(np.c_[logits, np.full((3, 3), -9.0)], labels)
    >>> np.argmax(np.c_[logits, np.full((3, 3), -9.0)] + bias, axis=1).tolist()
    [0, 1, 1]
    """
    bias = np.zeros(logits.shape[1])
    present = np.bincount(labels, minlength=logits.shape[1]) > 0
    best = _score(logits, labels, bias, classes, class_names)
    floor = None
    if recall_floor is not None:
        scored = present & np.isin(np.array(class_names[: logits.shape[1]]), classes)
        floor = np.where(scored, np.minimum(recall_floor, _recalls(logits, labels, bias)), 0.0)
    for _ in range(rounds):
        improved = False
        for c in range(1, logits.shape[1]):
            if not present[c]:
                continue
            for value in grid:
                trial = bias.copy()
                trial[c] = value
                if floor is not None and np.any(_recalls(logits, labels, trial) < floor - 1e-12):
                    continue
                score = _score(logits, labels, trial, classes, class_names)
                if score > best + 1e-9:
                    best, bias, improved = score, trial, True
        if not improved:
            break
    if min_recall is not None:
        for c in np.flatnonzero(present & np.isin(np.array(class_names[: logits.shape[1]]), classes)):
            while c > 0 and _recalls(logits, labels, bias)[c] < min_recall and bias[c] < 8:
                bias[c] += 0.25
    if normal_recall is not None:
        for shift in np.arange(0.0, 8.01, 0.25):
            trial = np.where(np.arange(bias.size) == 0, 0.0, bias - shift)
            if _recalls(logits, labels, trial)[0] >= normal_recall:
                break
        bias = trial
    return bias


def train(segments, labels, records=None, config: TrainConfig | None = None,
          progress: Callable[[dict], None] | None = None, rr=None) -> TrainResult:
    """Train a beat classifier on labelled beats.

    Parameters
    ----------
    segments : array (n_beats, input_length) float32
    labels : array (n_beats,) int
        Class indices into ``config.model.class_names`` (the AAMI classes 0-4, N S V F Q, by default); beats labelled
        -1 are dropped.
    records : array (n_beats,) str, optional
        Record of each beat; needed for ``config.validation`` ``patient`` and ``folds``, which hold out whole
        patients (:func:`ecgseg.protocols.patient_of`).
    config : TrainConfig
        ``config.model`` chooses the architecture and names the classes; its ``n_extra`` is set from ``rr``.
        ``config.init`` starts from a trained model (transfer learning, :mod:`ecgseg.classify.transfer`),
        ``config.freeze`` keeps its first stages. ``config.score_classes`` not among the class names (the AAMI
        defaults on a task of other classes) are replaced by all the classes.
    progress : callable, optional
        Called after each epoch with a dict (epoch, loss, val_macro_f1, seconds, best, and fold with ``folds``).
    rr : array (n_beats, n_features) float32, optional
        Rhythm context of each beat (the ``rr`` array of a beat file): given, the model takes it as input.

    Returns
    -------
    TrainResult
        The selected model (eval mode), its logit biases, the per-epoch history, the validation records, and
        metadata for the checkpoint.

    Examples
    --------
    >>> rng = np.random.default_rng(0); y = np.repeat([0, 2], 64)
    >>> x = (rng.normal(0, 0.05, (128, 187)) + np.where(y[:, None] == 2, 0.5, 0.0)).astype(np.float32)
    >>> result = train(x, y, config=TrainConfig(epochs=3, batch_size=16, lr=3e-3, validation="beats", augment=False))
    >>> result.history[-1]["val_macro_f1"] > 0.9
    True
    """
    from dataclasses import replace

    config = config or TrainConfig()
    segments = check_beats(segments, config.model, "training beats")
    labels = np.asarray(labels).astype(np.int64)
    if labels.shape != (segments.shape[0],):
        raise ValueError(f"{labels.size} labels for {segments.shape[0]} beats; pass one label per beat")
    if rr is not None:
        rr = np.ascontiguousarray(rr, dtype=np.float32)
        if rr.ndim != 2 or rr.shape[0] != segments.shape[0] or not np.isfinite(rr).all():
            raise ValueError(f"rr has shape {rr.shape}; pass finite (n_beats={segments.shape[0]}, n_features) R-R features")
        config = replace(config, model=replace(config.model, n_extra=rr.shape[1]))
    elif config.model.n_extra:
        raise ValueError(f"config.model.n_extra is {config.model.n_extra} but no rr was given; pass rr= or n_extra=0")
    keep = labels >= 0
    if records is not None:  # held out by patient: a PTB patient's several records stay on one side
        records = patient_of(np.asarray(records).astype(str)[keep])
    segments, labels = segments[keep], labels[keep]
    rr = None if rr is None else rr[keep]
    if labels.size == 0 or labels.max() >= config.model.n_classes:
        raise ValueError(f"training labels must be class indices 0..{config.model.n_classes - 1} with at least one beat")
    if config.balance not in BALANCE:
        raise ValueError(f"unknown balance {config.balance!r}; use one of {', '.join(BALANCE)}")
    if not set(config.score_classes) & set(config.model.class_names):
        config = replace(config, score_classes=tuple(config.model.class_names))
    if config.init is not None:
        from .transfer import initial_model

        initial_model(config.model, config.init, config.freeze)  # refuse a misfit before any epoch, not after

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train(segments, labels, records, rr, config, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _bias(config: TrainConfig, logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The logit biases tuned on validation predictions, or zeros without calibration."""
    if not config.calibrate:
        return np.zeros(config.model.n_classes)
    return calibrate_bias(logits, labels, classes=config.score_classes, recall_floor=config.recall_floor,
                          class_names=config.model.class_names, normal_recall=config.normal_recall,
                          min_recall=config.min_recall)


def _start(config: TrainConfig) -> BeatNet:
    """A fresh network, or (transfer) one started from ``config.init`` with its first ``config.freeze`` stages frozen."""
    if config.init is None:
        return build_model(config.model)
    from .transfer import initial_model

    return initial_model(config.model, config.init, config.freeze)


def _score_of(config: TrainConfig, logits: np.ndarray, labels: np.ndarray, bias=0.0) -> float:
    return _score(logits, labels, bias, config.score_classes, config.model.class_names)


def _scored(config: TrainConfig) -> list[int]:
    """Indices of the classes a patient-wise split balances: those scored."""
    return [i for i, name in enumerate(config.model.class_names) if name in config.score_classes]


def _take(arrays, mask):
    return [None if a is None else a[mask] for a in arrays]


def _fit(config: TrainConfig, train_set, val_set, progress, *, epochs: int, select: bool, fold=None):
    """Train one model for up to ``epochs`` epochs (cosine over ``config.epochs``).

    ``train_set``/``val_set`` are (segments, rr or None, labels). With ``select`` the best validation epoch is
    kept and patience applies; otherwise the last epoch is kept. Returns the model, the history and the
    validation logits of every epoch.
    """
    x_train, rr_train, y_train = train_set
    x_val, rr_val, y_val = val_set
    seed = config.seed if fold is None else config.seed + 1000 * (fold + 1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    model = _start(config)
    if rr_train is not None and config.init is None:  # a started model keeps the scaling its layers learned with
        model.fit_context(rr_train)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    weights = _class_weights(y_train, config.balance, config.model.n_classes)
    x_t, y_t = torch.from_numpy(x_train), torch.from_numpy(y_train)
    r_t = None if rr_train is None else torch.from_numpy(rr_train)

    history, val_logits, best_state, best_score, since_best = [], [], None, -1.0, 0
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.train()
        hold_frozen(model)
        total, count = 0.0, 0
        for batch in _batches(y_train, config, rng):
            xb = x_t[batch]
            if config.augment:
                xb = augment(xb, generator)
            loss = F.cross_entropy(model(xb, None if r_t is None else r_t[batch]), y_t[batch], weight=weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            count += len(batch)
        scheduler.step()
        score, improved = float("nan"), False
        if y_val.size:
            val_logits.append(logits(model, x_val, rr_val, batch_size=4096))
            score = _score_of(config, val_logits[-1], y_val)
            improved = score > best_score
        if improved or not select:
            best_score, best_state, since_best = max(score, best_score), copy.deepcopy(model.state_dict()), 0
        else:
            since_best += 1
        record = {"epoch": epoch, "loss": round(total / count, 5), "val_macro_f1": round(score, 4),
                  "seconds": round(time.perf_counter() - started, 1), "best": improved}
        if fold is not None:
            record["fold"] = fold
        history.append(record)
        if progress is not None:
            progress(record)
        if select and since_best >= config.patience:
            break
    model.load_state_dict(best_state)
    return model.eval(), history, val_logits


def _train(segments, labels, records, rr, config: TrainConfig, progress) -> TrainResult:
    rng = np.random.default_rng(config.seed)
    everything = (segments, rr, labels)
    if config.validation == "folds":
        if records is None:
            raise ValueError("validation='folds' needs the record of each beat; pass records= or validation='beats'")
        folds = patient_folds(records, labels, config.folds, config.seed, scored=_scored(config))
        oof = [np.zeros((labels.size, config.model.n_classes), np.float32) for _ in range(config.epochs)]
        history = []
        for f, fold_records in enumerate(folds):
            held = np.isin(records, fold_records)
            _, fold_history, fold_logits = _fit(config, _take(everything, ~held), _take(everything, held), progress,
                                                epochs=config.epochs, select=False, fold=f)
            history += fold_history
            for e, epoch_logits in enumerate(fold_logits):
                oof[e][held] = epoch_logits
        scores = [_score_of(config, o, labels) for o in oof]
        best_epoch = int(np.argmax(scores)) + 1
        bias = _bias(config, oof[best_epoch - 1], labels)
        empty = (segments[:0], None if rr is None else rr[:0], labels[:0])
        model, final_history, _ = _fit(config, everything, empty, progress, epochs=best_epoch, select=False)
        history += final_history
        val_records, best_score = [], scores[best_epoch - 1]
        val_labels, val_logits = labels, oof[best_epoch - 1]
        n_train, n_val = labels.size, labels.size
        train_labels = labels  # the final model trains on every beat
        extra = {"folds": folds, "oof_macro_f1_by_epoch": [round(v, 4) for v in scores]}
    else:
        if config.validation == "patient":
            if records is None:
                raise ValueError("validation='patient' needs the record of each beat; pass records= or validation='beats'")
            val_records = split_validation(records, labels, config.val_fraction, config.seed, scored=_scored(config))
            is_val = np.isin(records, val_records)
        elif config.validation == "beats":
            val_records = []
            is_val = rng.random(labels.size) < config.val_fraction
        else:
            raise ValueError(f"unknown validation {config.validation!r}; use one of {', '.join(VALIDATION)}")
        model, history, _ = _fit(config, _take(everything, ~is_val), _take(everything, is_val), progress,
                                 epochs=config.epochs, select=True)
        best_epoch = int(max(history, key=lambda h: h["val_macro_f1"])["epoch"])
        best_score = max(h["val_macro_f1"] for h in history)
        val_labels = labels[is_val]
        val_logits = logits(model, segments[is_val], None if rr is None else rr[is_val], batch_size=4096)
        bias = _bias(config, val_logits, val_labels)
        n_train, n_val = int(np.count_nonzero(~is_val)), int(np.count_nonzero(is_val))
        train_labels = labels[~is_val]
        extra = {}
    metadata = {
        "train_config": {k: v for k, v in asdict(config).items() if k != "model"},
        "n_train_beats": n_train,
        "n_val_beats": n_val,
        "class_names": list(config.model.class_names),
        "train_class_counts": np.bincount(train_labels, minlength=config.model.n_classes).tolist(),
        "val_records": val_records,
        "best_epoch": best_epoch,
        "val_macro_f1": round(float(best_score), 4),
        "val_macro_f1_calibrated": round(_score_of(config, val_logits, val_labels, bias), 4),
        "torch": str(torch.__version__),
        **extra,
    }
    return TrainResult(model=model, logit_bias=bias.astype(np.float32), history=history,
                       val_records=val_records, metadata=metadata, val_logits=val_logits, val_labels=val_labels)
