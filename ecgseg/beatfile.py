"""Beat files: ``.npy`` (segments only) and ``.npz`` (segments with labels, R-peaks, records), written atomically.

Writing computes everything first and then replaces the target in one step,
so a failure never leaves a half-written file. Reading never unpickles.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["write_atomic", "save_npy_bytes", "save_beats", "load_beats"]


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_npy_bytes(array: np.ndarray) -> bytes:
    """The bytes of ``array`` in ``.npy`` format."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def save_beats(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Save beat arrays atomically: ``.npz`` keeps every key, ``.npy`` only ``segments``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "beats.npz")
    >>> save_beats(target, {"segments": np.zeros((2, 187), np.float32)})
    >>> load_beats(target)["segments"].shape
    (2, 187)
    """
    suffix = Path(path).suffix
    if suffix == ".npz":
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        write_atomic(path, buffer.getvalue())
    elif suffix == ".npy":
        write_atomic(path, save_npy_bytes(arrays["segments"]))
    else:
        raise ValueError(f"cannot tell the format of {path}: name it .npy (segments only) or .npz (segments and labels)")


def load_beats(source) -> dict[str, np.ndarray]:
    """Read a ``.npy`` or ``.npz`` beat file (a path, or bytes / a binary stream such as stdin).

    Returns a dict with at least ``segments``; a ``.npy`` gives only that key.

    Raises
    ------
    ValueError
        Not a numpy file, pickled (object) arrays, or no ``segments`` in a ``.npz``.
    FileNotFoundError
        Missing path.
    """
    name = str(source) if isinstance(source, (str, os.PathLike)) else "<stdin>"
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    elif hasattr(source, "read") and not hasattr(source, "seek"):
        source = io.BytesIO(source.read())  # np.load needs to seek; pipes cannot
    try:
        loaded = np.load(source, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"beat file {name} does not exist") from None
    except ValueError as error:
        if "pickle" in str(error):
            raise ValueError(f"{name} holds pickled (object) arrays, which are never loaded; save plain numeric arrays") from None
        raise ValueError(f"{name} is not a .npy/.npz beat file ({error})") from None
    except (OSError, EOFError) as error:
        raise ValueError(f"{name} is not a .npy/.npz beat file ({error})") from None
    if isinstance(loaded, np.ndarray):
        return {"segments": loaded}
    with loaded:
        try:
            arrays = {key: loaded[key] for key in loaded.files}
        except ValueError:
            raise ValueError(f"{name} holds pickled (object) arrays, which are never loaded; save plain numeric arrays") from None
    if "segments" not in arrays:
        raise ValueError(f"{name} has no 'segments' array (it has {', '.join(arrays) or 'nothing'}); write it with `ecgseg segment`")
    return arrays
