"""Training: a plain function, seeded and CPU-only, with a patient-wise validation split for early stopping.

The model kept is the epoch with the best validation macro-F1 (N, S, V, F). After
training, per-class logit biases are tuned on the same validation beats to
maximise that macro-F1 (prior calibration: the class shares of unseen patients
differ from the training mix); they are stored in the checkpoint and applied at
inference.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..evaluate import INTER_CLASSES, class_report
from .model import CLASS_NAMES, KachueeNet, ModelConfig
from .predict import check_segments

__all__ = ["TrainConfig", "TrainResult", "train", "split_validation", "calibrate_bias", "augment"]


@dataclass
class TrainConfig:
    """Training choices. ``balance``: ``weighted`` (loss weights ~ 1/sqrt(class share)), ``sampler`` (class-balanced
    batches drawn with replacement), or ``none``. ``validation``: ``patient`` (hold out whole records) or ``beats``."""

    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    balance: str = "weighted"
    augment: bool = True
    patience: int = 5
    validation: str = "patient"
    val_fraction: float = 0.2
    epoch_beats: int | None = None  # beats drawn per epoch (None: all training beats once)
    calibrate: bool = True
    seed: int = 0
    threads: int = 1  # measured here: 2 threads on 2 shared, busy cores trained 8x slower than 1 (spinning OMP threads)
    model: ModelConfig = field(default_factory=ModelConfig)


@dataclass
class TrainResult:
    model: KachueeNet
    logit_bias: np.ndarray
    history: list[dict]
    val_records: list[str]
    metadata: dict


def split_validation(records, labels, val_fraction: float = 0.2, seed: int = 0, n_draws: int = 500) -> np.ndarray:
    """Choose whole records for validation so that each class is represented near ``val_fraction`` of its beats.

    Returns the sorted record names. Random draws of ``round(val_fraction * n_records)`` records (seeded) are
    scored by their worst class: r = (share of the class's beats drawn) / ``val_fraction``, counted as min(r, 1/r),
    so too few and too many both count against; the best draw wins. Classes N, S, V, F only (Q is paced beats).

    Examples
    --------
    >>> recs = np.repeat(np.array(["a", "b", "c", "d", "e"]), 4); labs = np.tile([0, 0, 1, 2], 5)
    >>> len(split_validation(recs, labs, 0.4))
    2
    """
    records = np.asarray(records).astype(str)
    labels = np.asarray(labels)
    names, index = np.unique(records, return_inverse=True)
    if names.size < 2:
        raise ValueError("a patient-wise validation split needs beats of at least 2 records; use validation='beats'")
    n_val = int(np.clip(round(val_fraction * names.size), 1, names.size - 1))
    counts = np.zeros((names.size, len(CLASS_NAMES)))
    np.add.at(counts, (index, labels), 1)
    totals = counts.sum(axis=0)
    present = (totals > 0) & np.isin(np.array(CLASS_NAMES), INTER_CLASSES)  # Q: a handful of beats outside paced records
    rng = np.random.default_rng(seed)
    best, best_score = None, -np.inf
    for _ in range(n_draws):
        chosen = rng.choice(names.size, n_val, replace=False)
        share = counts[chosen].sum(axis=0)[present] / totals[present] / val_fraction
        score = np.min(np.minimum(share, 1 / np.maximum(share, 1e-9)))  # 1 when every class has its fair share
        if score > best_score:
            best, best_score = chosen, score
    return sorted(names[best].tolist())


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random amplitude scale and offset, time stretch (+-10%, as a different heart rate) and noise, per beat.

    The stretch moves the zero padding with the beat, as a beat of another period would be cut.
    """
    n, length = x.shape
    scale = 1 + 0.15 * (2 * torch.rand(n, 1, generator=generator) - 1)
    offset = 0.05 * (2 * torch.rand(n, 1, generator=generator) - 1)
    stretch = 1 + 0.1 * (2 * torch.rand(n, 1, generator=generator) - 1)
    position = torch.arange(length, dtype=torch.float32) * stretch  # where each output sample reads the input
    left = position.floor().long().clamp(max=length - 1)
    right = (left + 1).clamp(max=length - 1)
    weight = position - position.floor()
    y = torch.gather(x, 1, left) * (1 - weight) + torch.gather(x, 1, right) * weight
    y = torch.where(position <= length - 1, y, torch.zeros(()))
    noise = 0.01 * torch.randn(n, length, generator=generator)
    return y * scale + offset + noise


def _batches(labels: np.ndarray, config: TrainConfig, rng: np.random.Generator):
    """Index batches for one epoch: a shuffle, or class-balanced draws with replacement."""
    n = labels.size if config.epoch_beats is None else config.epoch_beats
    if config.balance == "sampler":
        present = np.flatnonzero(np.bincount(labels, minlength=len(CLASS_NAMES)))
        by_class = [np.flatnonzero(labels == c) for c in present]
        picks = rng.integers(0, present.size, n)
        order = np.empty(n, dtype=np.int64)
        for k, members in enumerate(by_class):
            where = picks == k
            order[where] = members[rng.integers(0, members.size, np.count_nonzero(where))]
    else:
        order = rng.permutation(labels.size)[:n] if n <= labels.size else rng.integers(0, labels.size, n)
    return [order[i : i + config.batch_size] for i in range(0, n, config.batch_size)]


def _class_weights(labels: np.ndarray, balance: str) -> torch.Tensor | None:
    if balance != "weighted":
        return None
    counts = np.bincount(labels, minlength=len(CLASS_NAMES)).astype(float)
    # 1/sqrt(share), capped: full inverse frequency over-weights classes with a handful of beats (Q in DS1)
    weights = np.where(counts > 0, 1 / np.sqrt(np.maximum(counts, 1) / counts.sum()), 0.0)
    weights = np.minimum(weights / weights[counts > 0].min(), 20.0)
    return torch.tensor(weights, dtype=torch.float32)


def _logits(model: KachueeNet, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        t = torch.from_numpy(x)
        out = torch.cat([model(t[i : i + batch_size]) for i in range(0, len(t), batch_size)])
    model.train()
    return out.numpy()


def _score(logits: np.ndarray, labels: np.ndarray, bias=0.0) -> float:
    return class_report(labels, np.argmax(logits + bias, axis=1)).macro_f1(INTER_CLASSES)


def calibrate_bias(logits: np.ndarray, labels: np.ndarray, grid=np.linspace(-4, 4, 33), rounds: int = 3) -> np.ndarray:
    """Per-class logit biases that maximise validation macro-F1 over N, S, V, F, by coordinate ascent on a grid.

    N's bias stays 0 (only differences matter); a class absent from ``labels`` keeps 0.

    Examples
    --------
    >>> logits = np.array([[1.0, 0.5], [1.0, 0.8], [0.0, 1.0]]); labels = np.array([0, 1, 1])
    >>> bias = calibrate_bias(np.c_[logits, np.full((3, 3), -9.0)], labels)
    >>> np.argmax(np.c_[logits, np.full((3, 3), -9.0)] + bias, axis=1).tolist()
    [0, 1, 1]
    """
    bias = np.zeros(logits.shape[1])
    present = np.bincount(labels, minlength=logits.shape[1]) > 0
    best = _score(logits, labels, bias)
    for _ in range(rounds):
        improved = False
        for c in range(1, logits.shape[1]):
            if not present[c]:
                continue
            for value in grid:
                trial = bias.copy()
                trial[c] = value
                score = _score(logits, labels, trial)
                if score > best + 1e-9:
                    best, bias, improved = score, trial, True
        if not improved:
            break
    return bias


def train(segments, labels, records=None, config: TrainConfig | None = None,
          progress: Callable[[dict], None] | None = None) -> TrainResult:
    """Train the beat classifier on labelled beats.

    Parameters
    ----------
    segments : array (n_beats, 187) float32
    labels : array (n_beats,) int
        AAMI class indices 0-4 (N S V F Q); beats labelled -1 are dropped.
    records : array (n_beats,) str, optional
        Record (patient) of each beat; needed for ``config.validation == "patient"``.
    config : TrainConfig
    progress : callable, optional
        Called after each epoch with a dict (epoch, loss, val_macro_f1, seconds, best).

    Returns
    -------
    TrainResult
        The model of the best validation epoch (eval mode), its logit biases, the per-epoch history, the
        validation records, and metadata for the checkpoint.

    Examples
    --------
    >>> rng = np.random.default_rng(0); y = np.repeat([0, 2], 64)
    >>> x = (rng.normal(0, 0.05, (128, 187)) + np.where(y[:, None] == 2, 0.5, 0.0)).astype(np.float32)
    >>> result = train(x, y, config=TrainConfig(epochs=3, batch_size=16, validation="beats", augment=False))
    >>> result.history[-1]["val_macro_f1"] > 0.9
    True
    """
    config = config or TrainConfig()
    segments = check_segments(segments, config.model.input_length, "training beats")
    labels = np.asarray(labels).astype(np.int64)
    if labels.shape != (segments.shape[0],):
        raise ValueError(f"{labels.size} labels for {segments.shape[0]} beats; pass one label per beat")
    keep = labels >= 0
    if records is not None:
        records = np.asarray(records).astype(str)[keep]
    segments, labels = segments[keep], labels[keep]
    if labels.size == 0 or labels.max() >= config.model.n_classes:
        raise ValueError(f"training labels must be class indices 0..{config.model.n_classes - 1} with at least one beat")

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        return _train(segments, labels, records, config, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _train(segments, labels, records, config: TrainConfig, progress) -> TrainResult:
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)

    if config.validation == "patient":
        if records is None:
            raise ValueError("validation='patient' needs the record of each beat; pass records= or validation='beats'")
        val_records = split_validation(records, labels, config.val_fraction, config.seed)
        is_val = np.isin(records, val_records)
    elif config.validation == "beats":
        val_records = []
        is_val = rng.random(labels.size) < config.val_fraction
    else:
        raise ValueError(f"unknown validation {config.validation!r}; use 'patient' or 'beats'")
    x_train, y_train = segments[~is_val], labels[~is_val]
    x_val, y_val = segments[is_val], labels[is_val]

    model = KachueeNet(config.model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    weights = _class_weights(y_train, config.balance)
    x_train_t, y_train_t = torch.from_numpy(x_train), torch.from_numpy(y_train)

    history, best_state, best_score, since_best = [], None, -1.0, 0
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        model.train()
        total, count = 0.0, 0
        for batch in _batches(y_train, config, rng):
            xb = x_train_t[batch]
            if config.augment:
                xb = augment(xb, generator)
            loss = F.cross_entropy(model(xb), y_train_t[batch], weight=weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            count += len(batch)
        scheduler.step()
        score = _score(_logits(model, x_val), y_val)
        improved = score > best_score
        if improved:
            best_score, best_state, since_best = score, copy.deepcopy(model.state_dict()), 0
        else:
            since_best += 1
        record = {"epoch": epoch, "loss": round(total / count, 5), "val_macro_f1": round(score, 4),
                  "seconds": round(time.perf_counter() - started, 1), "best": improved}
        history.append(record)
        if progress is not None:
            progress(record)
        if since_best >= config.patience:
            break

    model.load_state_dict(best_state)
    model.eval()
    val_logits = _logits(model, x_val)
    bias = calibrate_bias(val_logits, y_val) if config.calibrate else np.zeros(config.model.n_classes)
    metadata = {
        "train_config": {k: v for k, v in asdict(config).items() if k != "model"},
        "n_train_beats": int(y_train.size),
        "n_val_beats": int(y_val.size),
        "train_class_counts": np.bincount(y_train, minlength=len(CLASS_NAMES)).tolist(),
        "val_records": val_records,
        "best_epoch": int(max(history, key=lambda h: h["val_macro_f1"])["epoch"]),
        "val_macro_f1": round(best_score, 4),
        "val_macro_f1_calibrated": round(_score(val_logits, y_val, bias), 4),
        "torch": str(torch.__version__),
    }
    return TrainResult(model=model, logit_bias=bias.astype(np.float32), history=history,
                       val_records=val_records, metadata=metadata)
