"""The beat classifier networks (Kachuee, Fazeli & Sarrafzadeh 2018 and three others) and their checkpoint format.

A checkpoint is a plain dict that carries everything needed to rebuild the
model: its config, the state dict, the class names, the input length, the
training metadata and per-class logit biases (prior calibration). It holds
only tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
import pickle
import warnings
from dataclasses import asdict, fields
from pathlib import Path

import torch
from torch import nn

from ..terms import say
from .config import ARCHS, CLASS_NAMES, DEFAULT_WEIGHTS, ModelConfig, shipped_names

__all__ = ["BeatNet", "KachueeNet", "LstmFcnNet", "CnnBiLstmNet", "CnnMlpNet", "NETWORKS", "build_model",
           "save_checkpoint", "load_checkpoint"]


class BeatNet(nn.Module):
    """Base of the beat networks: ``features`` (waveform -> vector), then the context, then ``head``.

    The context (R-R features, all positive seconds or ratios) enters log-scaled and standardized with the
    training beats' mean and spread, which live in buffers and so travel in the state dict.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        if config.n_extra:
            self.register_buffer("extra_mean", torch.zeros(config.n_extra))
            self.register_buffer("extra_std", torch.ones(config.n_extra))

    def fit_context(self, extra) -> None:
        """Set the context standardization from the training beats' features (n, n_extra)."""
        logged = self._log(torch.as_tensor(extra, dtype=torch.float32))
        self.extra_mean.copy_(logged.mean(0))
        self.extra_std.copy_(logged.std(0).clamp(min=1e-3))

    @staticmethod
    def _log(extra: torch.Tensor) -> torch.Tensor:
        return torch.log(extra.clamp(min=1e-3))  # rr_features gives 0 s only for records of one beat

    def forward(self, segments: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (batch, n_classes) of beats (batch, input_length), or (batch, in_channels, input_length), and, if
        configured, context (batch, n_extra)."""
        x = self.features(segments.unsqueeze(1) if segments.dim() == 2 else segments)
        if self.config.n_extra:
            if extra is None:
                raise ValueError(f"this {self.config.arch} model needs {self.config.n_extra} R-R context features per beat")
            x = torch.cat([x, (self._log(extra) - self.extra_mean) / self.extra_std], dim=1)
        return self.head(x)


def _pooled_length(length: int, n: int, size: int, stride: int, config: ModelConfig) -> int:
    for _ in range(n):
        length = (length - size) // stride + 1
    if length < 1:
        raise ValueError(f"input_length {config.input_length} is too short for the {config.arch} network's pooling")
    return length


class ResidualBlock(nn.Module):
    """Conv - ReLU - Conv - add skip - ReLU - MaxPool (one of the paper's five blocks)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        c, k = config.channels, config.kernel_size
        self.conv1 = nn.Conv1d(c, c, k, padding=k // 2)
        self.conv2 = nn.Conv1d(c, c, k, padding=k // 2)
        self.pool = nn.MaxPool1d(config.pool_size, config.pool_stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(torch.relu(self.conv1(x)))  # (batch, channels, length)
        # max-pooling commutes with ReLU (both monotone), so pool first: ReLU on 2x fewer samples
        return torch.relu(self.pool(x + y))  # (batch, channels, (length - pool) // stride + 1)


class KachueeNet(BeatNet):
    """Conv1D(32, 5), five residual blocks, FC(32) - ReLU - FC(32) - FC(5): about 55k parameters at 187 samples.

    Examples
    --------
    >>> net = KachueeNet(ModelConfig())
    >>> net(torch.zeros(4, 187)).shape
    torch.Size([4, 5])
    >>> sum(p.numel() for p in net.parameters())
    55013
    """

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        c = config.channels
        self.stem = nn.Conv1d(config.in_channels, c, config.kernel_size, padding=config.kernel_size // 2)
        self.blocks = nn.Sequential(*[ResidualBlock(config) for _ in range(config.n_blocks)])
        length = _pooled_length(config.input_length, config.n_blocks, config.pool_size, config.pool_stride, config)
        self.fc1 = nn.Linear(c * length + config.n_extra, config.hidden)
        self.fc2 = nn.Linear(config.hidden, config.hidden)
        self.out = nn.Linear(config.hidden, config.n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x)).flatten(1)  # (batch, channels * 2) at 187 samples

    def head(self, x: torch.Tensor) -> torch.Tensor:
        # the paper has no activation between the last two dense layers
        return self.out(self.fc2(torch.relu(self.fc1(x))))


def _conv_bn(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm1d(c_out), nn.ReLU())


class LstmFcnNet(BeatNet):
    """LSTM-FCN (Karim et al. 2017) at half the paper's widths: a fully convolutional branch (Conv 64-128-64, kernels
    8-5-3, batch norm, global average pooling) beside an LSTM(8) that reads the beat as one time step of
    ``input_length`` values (the paper's dimension shuffle), dropout 0.8, then FC(5). About 72k parameters.

    Examples
    --------
    >>> LstmFcnNet(ModelConfig(arch="lstm-fcn"))(torch.zeros(3, 187)).shape
    torch.Size([3, 5])
    """

    widths = (64, 128, 64)
    lstm_hidden = 8

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        a, b, c = self.widths
        self.fcn = nn.Sequential(_conv_bn(config.in_channels, a, 8), _conv_bn(a, b, 5), _conv_bn(b, c, 3), nn.AdaptiveAvgPool1d(1))
        self.lstm = nn.LSTM(config.input_length, self.lstm_hidden, batch_first=True)
        self.dropout = nn.Dropout(0.8)
        self.out = nn.Linear(c + self.lstm_hidden + config.n_extra, config.n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(x)  # x (batch, 1, length): one step of `length` features
        return torch.cat([self.fcn(x).flatten(1), self.dropout(h[-1])], dim=1)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(x)


class CnnBiLstmNet(BeatNet):
    """Conv1D 64-128-128 (kernel 5, batch norm, max-pool 2 after each), a bidirectional LSTM(64) over the pooled
    sequence (its last states both ways), FC(64) - ReLU - dropout 0.5 - FC(5). About 240k parameters.

    Examples
    --------
    >>> CnnBiLstmNet(ModelConfig(arch="cnn-bilstm"))(torch.zeros(3, 187)).shape
    torch.Size([3, 5])
    """

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.conv = nn.Sequential(_conv_bn(config.in_channels, 64, 5), nn.MaxPool1d(2), _conv_bn(64, 128, 5), nn.MaxPool1d(2),
                                  _conv_bn(128, 128, 5), nn.MaxPool1d(2))
        _pooled_length(config.input_length, 3, 2, 2, config)
        self.lstm = nn.LSTM(128, 64, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * 64 + config.n_extra, 64)
        self.dropout = nn.Dropout(0.5)
        self.out = nn.Linear(64, config.n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(self.conv(x).transpose(1, 2))  # (batch, length / 8, 128) -> h (2, batch, 64)
        return torch.cat([h[0], h[1]], dim=1)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(torch.relu(self.fc(x))))


class CnnMlpNet(BeatNet):
    """Four Conv1D (16-32-32-32, kernel 5, ReLU, max-pool 2) and four dense layers (128-64-32-5). About 70k parameters.

    Examples
    --------
    >>> CnnMlpNet(ModelConfig(arch="cnn-mlp"))(torch.zeros(3, 187)).shape
    torch.Size([3, 5])
    """

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        layers, c_in = [], config.in_channels
        for c_out in (16, 32, 32, 32):
            layers += [nn.Conv1d(c_in, c_out, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2)]
            c_in = c_out
        self.conv = nn.Sequential(*layers)
        length = _pooled_length(config.input_length, 4, 2, 2, config)
        self.mlp = nn.Sequential(nn.Linear(32 * length + config.n_extra, 128), nn.ReLU(), nn.Dropout(0.3),
                                 nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                                 nn.Linear(32, config.n_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).flatten(1)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


#: The network of each architecture name in :data:`ecgseg.classify.config.ARCHS` (tests check they agree).
NETWORKS = {"kachuee": KachueeNet, "lstm-fcn": LstmFcnNet, "cnn-bilstm": CnnBiLstmNet, "cnn-mlp": CnnMlpNet}


def build_model(config: ModelConfig) -> BeatNet:
    """The network ``config.arch`` names, freshly initialised.

    Examples
    --------
    >>> type(build_model(ModelConfig(arch="cnn-mlp"))).__name__
    'CnnMlpNet'
    """
    if config.arch not in NETWORKS:
        raise ValueError(f"unknown architecture {config.arch!r}; choose one of {', '.join(ARCHS)}")
    return NETWORKS[config.arch](config)


def save_checkpoint(path: str | os.PathLike, model: BeatNet, *, metadata: dict | None = None,
                    logit_bias=None) -> None:
    """Write the model with its config, class names, input length, metadata and logit biases, atomically."""
    import io

    from ..atomic import write_atomic

    bias = torch.zeros(model.config.n_classes) if logit_bias is None else torch.as_tensor(logit_bias, dtype=torch.float32)
    checkpoint = {
        "format": "ecgseg-classifier/1",
        "config": asdict(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "class_names": list(model.config.class_names),
        "input_length": model.config.input_length,
        "arch": model.config.arch,
        "inputs": (["segments"] + (["template"] if model.config.in_channels == 2 else [])
                   + ([model.config.context] if model.config.n_extra else [])),
        "pre_r_s": float(model.config.pre_r_s),
        "logit_bias": bias,
        "metadata": metadata or {},
    }
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    write_atomic(path, buffer.getvalue())


def _not_a_model(path: Path, error: Exception) -> str:
    """One line on a file torch's safe loader refuses, never its advice to unpickle it anyway: objects beyond tensors
    and plain data are never loaded, since unpickling them can run code."""
    with open(path, "rb") as handle:
        start = handle.read(64)
    if start.startswith(b"PK") and isinstance(error, pickle.UnpicklingError):  # torch.save's archive, with objects
        return (f"{path} holds Python objects beside its tensors, which are never loaded (unpickling them can run "
                "code); a model from `ecgseg train` holds none")
    if start[:1] == b"\x80":
        return f"{path} is a Python pickle, not a model from `ecgseg train`; pickles are never loaded (they can run code)"
    if start and b"\x00" not in start:
        try:
            start.decode("utf-8")
            return f"{path} is a text file, not a model from `ecgseg train`"
        except UnicodeDecodeError:
            pass
    if start.startswith(b"PK"):  # a torch archive that does not load: say what failed, never torch's advice
        return f"{path} is a torch file that cannot be loaded as a model ({type(error).__name__}); is it truncated?"
    return f"{path} is not a model from `ecgseg train` (neither a torch file nor a pickle)"


def load_checkpoint(path: str | os.PathLike | None = None) -> tuple[BeatNet, dict]:
    """Rebuild a model from a checkpoint (the shipped weights when ``path`` is None), in eval mode.

    Returns the model and the checkpoint dict (with ``class_names``, ``logit_bias``, ``metadata``).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not an ecgseg classifier checkpoint, or one whose class names do not match its outputs.

    Examples
    --------
    >>> model, checkpoint = load_checkpoint()
    >>> checkpoint["class_names"], checkpoint["input_length"]
    (['N', 'S', 'V', 'F', 'Q'], 187)
    """
    path = DEFAULT_WEIGHTS if path is None else Path(path)
    if not Path(path).is_file():
        shipped = ", ".join(shipped_names())
        raise FileNotFoundError(f"model file {path} does not exist; "
                                + say("train one with `ecgseg train`, name a shipped one", "train one "
                                      "(ecgseg.classify.train), name a shipped one")
                                + f" ({shipped})" + say(" or omit --model", " or pass model=None"))
    try:
        with warnings.catch_warnings():  # torch warns about a foreign pickle's protocol before refusing it
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError... for foreign files
        raise ValueError(_not_a_model(path, error)) from None
    if not isinstance(checkpoint, dict) or "config" not in checkpoint or "state_dict" not in checkpoint:
        raise ValueError(f"{path} is not an ecgseg classifier checkpoint (no config/state_dict); write one with `ecgseg train`")
    known = {f.name for f in fields(ModelConfig)}
    stored = {k: v for k, v in checkpoint["config"].items() if k in known}
    # the class names live beside the config in checkpoints written before transfer tasks (always the AAMI five)
    stored.setdefault("class_names", tuple(checkpoint.get("class_names", CLASS_NAMES[: stored.get("n_classes", 5)])))
    try:
        config = ModelConfig(**stored)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path} is not a consistent ecgseg classifier checkpoint ({error})") from None
    checkpoint["class_names"] = list(config.class_names)
    model = build_model(config)
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise ValueError(f"{path}: weights do not match the network in its config ({str(error).splitlines()[0]})") from None
    checkpoint.setdefault("logit_bias", torch.zeros(config.n_classes))
    checkpoint.setdefault("arch", config.arch)  # checkpoints written before the other architectures
    checkpoint.setdefault("pre_r_s", config.pre_r_s)
    return model.eval(), checkpoint
