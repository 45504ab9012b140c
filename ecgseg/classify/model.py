"""The beat classifier network (Kachuee, Fazeli & Sarrafzadeh 2018) and its checkpoint format.

A checkpoint is a plain dict that carries everything needed to rebuild the
model: its config, the state dict, the class names, the input length, the
training metadata and per-class logit biases (prior calibration). It holds
only tensors, numbers, strings, lists and dicts, so it loads with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import nn

from ..labels import AAMI_CLASSES

__all__ = ["ModelConfig", "KachueeNet", "save_checkpoint", "load_checkpoint", "DEFAULT_WEIGHTS", "CLASS_NAMES"]

CLASS_NAMES = AAMI_CLASSES

#: The weights shipped with the package (trained on DS1 only; see MODEL_CARD.md).
DEFAULT_WEIGHTS = Path(__file__).parent / "weights" / "kachuee_ds1.pt"


@dataclass
class ModelConfig:
    """Shape of the network. ``n_extra`` extra per-beat features (e.g. R-R intervals) join the flattened convolution
    output before the dense layers; 0 keeps the paper's waveform-only network."""

    input_length: int = 187
    n_classes: int = 5
    channels: int = 32
    kernel_size: int = 5
    n_blocks: int = 5
    pool_size: int = 5
    pool_stride: int = 2
    hidden: int = 32
    n_extra: int = 0


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


class KachueeNet(nn.Module):
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
        super().__init__()
        self.config = config
        c = config.channels
        self.stem = nn.Conv1d(1, c, config.kernel_size, padding=config.kernel_size // 2)
        self.blocks = nn.Sequential(*[ResidualBlock(config) for _ in range(config.n_blocks)])
        length = config.input_length
        for _ in range(config.n_blocks):
            length = (length - config.pool_size) // config.pool_stride + 1
        if length < 1:
            raise ValueError(f"input_length {config.input_length} is too short for {config.n_blocks} pooling blocks")
        self.fc1 = nn.Linear(c * length + config.n_extra, config.hidden)
        self.fc2 = nn.Linear(config.hidden, config.hidden)
        self.out = nn.Linear(config.hidden, config.n_classes)

    def forward(self, segments: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (batch, n_classes) of beats (batch, input_length) and, if configured, extra features (batch, n_extra)."""
        x = self.blocks(self.stem(segments.unsqueeze(1)))  # (batch, channels, 2) at 187 samples
        x = x.flatten(1)
        if self.config.n_extra:
            x = torch.cat([x, extra], dim=1)
        # the paper has no activation between the last two dense layers
        return self.out(self.fc2(torch.relu(self.fc1(x))))


def save_checkpoint(path: str | os.PathLike, model: KachueeNet, *, metadata: dict | None = None,
                    logit_bias=None) -> None:
    """Write the model with its config, class names, input length, metadata and logit biases, atomically."""
    import io

    from ..beatfile import write_atomic

    bias = torch.zeros(model.config.n_classes) if logit_bias is None else torch.as_tensor(logit_bias, dtype=torch.float32)
    checkpoint = {
        "format": "ecgseg-classifier/1",
        "config": asdict(model.config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "class_names": list(CLASS_NAMES[: model.config.n_classes]),
        "input_length": model.config.input_length,
        "inputs": ["segments"] + (["extra"] if model.config.n_extra else []),
        "logit_bias": bias,
        "metadata": metadata or {},
    }
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    write_atomic(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike | None = None) -> tuple[KachueeNet, dict]:
    """Rebuild a model from a checkpoint (the shipped weights when ``path`` is None), in eval mode.

    Returns the model and the checkpoint dict (with ``class_names``, ``logit_bias``, ``metadata``).

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not an ecgseg classifier checkpoint, or one that does not classify into the five AAMI classes.

    Examples
    --------
    >>> model, checkpoint = load_checkpoint()
    >>> checkpoint["class_names"], checkpoint["input_length"]
    (['N', 'S', 'V', 'F', 'Q'], 187)
    """
    path = DEFAULT_WEIGHTS if path is None else Path(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"model file {path} does not exist; train one with `ecgseg train` or omit --model")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError... for foreign files
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{path} is not a loadable ecgseg model file ({first_line})") from None
    if not isinstance(checkpoint, dict) or "config" not in checkpoint or "state_dict" not in checkpoint:
        raise ValueError(f"{path} is not an ecgseg classifier checkpoint (no config/state_dict); write one with `ecgseg train`")
    known = {f.name for f in fields(ModelConfig)}
    config = ModelConfig(**{k: v for k, v in checkpoint["config"].items() if k in known})
    names = list(checkpoint.get("class_names", []))
    if config.n_classes != len(CLASS_NAMES) or names != list(CLASS_NAMES):
        raise ValueError(
            f"{path} classifies into {config.n_classes} classes {names}, not the 5 AAMI classes {list(CLASS_NAMES)}; "
            "retrain it with `ecgseg train`"
        )
    model = KachueeNet(config)
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as error:
        raise ValueError(f"{path}: weights do not match the network in its config ({str(error).splitlines()[0]})") from None
    checkpoint.setdefault("logit_bias", torch.zeros(config.n_classes))
    return model.eval(), checkpoint
