"""Beat files: ``.npy`` (segments only) and ``.npz`` (segments with labels, R-peaks, records), written atomically.

Writing computes everything first and then replaces the target in one step,
so a failure never leaves a half-written file. Reading never unpickles.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["write_atomic", "atomic_file", "save_npy_bytes", "save_beats", "save_beats_spooled", "load_beats"]


def default_file_mode() -> int:
    """The permissions a new file gets under the current umask (0o644 usually); temporary files start at 0o600."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    with atomic_file(path) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike):
    """A binary file open at a temporary name beside ``path``; it becomes ``path`` only if the block succeeds."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.", suffix=".part")
    try:
        os.fchmod(fd, default_file_mode())  # mkstemp makes it owner-only; a finished file gets the usual ones
        with os.fdopen(fd, "wb") as handle:
            yield handle
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


def save_beats_spooled(path: str | os.PathLike, arrays: dict[str, np.ndarray], segments_file, shape: tuple[int, int]) -> None:
    """Save a ``.npz`` atomically whose ``segments`` are streamed from ``segments_file`` (raw float32 rows).

    Holds a few MB at a time however many beats there are; ``arrays`` are the
    other (small) keys. The file loads like one from :func:`save_beats`.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> rows = tempfile.TemporaryFile(); rows.write(np.ones((3, 4), np.float32).tobytes())
    48
    >>> target = os.path.join(tempfile.mkdtemp(), "beats.npz")
    >>> save_beats_spooled(target, {"labels": np.zeros(3, np.int8)}, rows, (3, 4))
    >>> load_beats(target)["segments"].sum()
    np.float32(12.0)
    """
    import zipfile

    if Path(path).suffix != ".npz":
        raise ValueError(f"spooled beats are written as .npz, got {path}")
    block = 1 << 22
    with atomic_file(path) as handle, zipfile.ZipFile(handle, "w", allowZip64=True) as archive:
        with archive.open("segments.npy", "w", force_zip64=True) as entry:
            header = {"descr": np.dtype(np.float32).str, "fortran_order": False, "shape": tuple(shape)}
            np.lib.format.write_array_header_2_0(entry, header)
            segments_file.seek(0)
            remaining = int(np.prod(shape)) * 4
            while remaining:
                chunk = segments_file.read(min(block, remaining))
                if not chunk:
                    raise ValueError(f"segment spool ended {remaining} bytes short of shape {shape}")
                entry.write(chunk)
                remaining -= len(chunk)
        for key, array in arrays.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(array), allow_pickle=False)


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
    elif hasattr(source, "read") and not (hasattr(source, "seekable") and source.seekable()):
        source = io.BytesIO(source.read())  # np.load needs to seek; a pipe has .seek but cannot
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
