"""Beat files: the schema of ``.npz`` (every key) and ``.npy`` (segments only), how they are made, written and read.

:data:`KEYS` is the one list of what a beat file holds: each key's name, dtype, shape, meaning, how it is
made from a record's :class:`~ecgseg.beats.Beats`, and what a file without it is read as. Adding a key is
adding one :class:`Key` there. Per-record scalars (``fs``, ``fs_out``, ``pre_r_s``, ``peaks``, ``lead``, ...) are stored as
0-d arrays; when records with different values are joined in one file they become one value per beat, and
:func:`scalar` is the one way to read them back.

Writing computes everything first and then replaces the target in one step (:mod:`ecgseg.atomic`), so a
failure never leaves a half-written file. Reading never unpickles.

A ``.csv`` is the layout of the published "heartbeat" dataset built with this scheme (Kachuee et al. 2018;
``mitbih_train.csv``, ``ptbdb_normal.csv``, ...): no header, one beat per row, its values (187 in the paper's
scheme) then its class as a float. Written from a beat file, the class is the ``labels`` AAMI index (0-4 = N S V F
Q, -1 for a beat with no reference label). Read, the class column becomes ``class_index``: an index into the classes
of the model or task the file is used with, since a CSV names no classes (the heartbeat files: 0-4 = N S V F Q in
the mitbih files, 0/1 = normal/abnormal in the ptbdb ones). A CSV has no record column: protocols that hold out
patients cannot be followed on it.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import atomic_file
from .heartbeat_csv import CSV_CLASS, read_csv, write_csv
from .rhythm import RR_FEATURES, rr_features
from .terms import say

__all__ = ["Key", "KEYS", "CSV_CLASS", "describe_keys", "beat_arrays", "key_array", "concatenate", "scalar", "cut_at", "stretches", "take",
           "save_beats",
           "save_npy_bytes", "load_beats"]


@dataclass(frozen=True)
class Key:
    """One array of a beat file.

    Attributes
    ----------
    name : str
        The key in the ``.npz``.
    dtype : str
        Its numpy dtype (``"str"``: a unicode string array).
    shape : str
        ``"(n_beats,)"``, ``"(n_beats, length)"``, ... or ``"()"`` for a per-record scalar.
    meaning : str
        What it holds, with units.
    make : callable
        ``make(beats, record_name) -> numpy.ndarray``: the array for one record's beats, or None when the key does
        not apply to them (it is then not written).
    default : object
        What a file without the key is read as by :func:`scalar` (scalars only; None: no default).
    """

    name: str
    dtype: str
    shape: str
    meaning: str
    make: Callable
    default: object = None

    @property
    def is_scalar(self) -> bool:
        return self.shape == "()"


def _labels(beats, record: str) -> np.ndarray:
    labels = beats.labels if beats.labels is not None else np.full(len(beats), -1, dtype=np.int8)
    return labels.astype(np.int8)


def _symbols(beats, record: str) -> np.ndarray:
    symbols = beats.symbols if beats.symbols is not None else np.full(len(beats), "")
    return np.asarray(symbols, dtype=f"<U{max(1, max(map(len, symbols), default=1))}")


def _quality(beats, record: str) -> np.ndarray:
    if beats.quality is None:
        return np.full(len(beats), np.nan, dtype=np.float32)
    return np.asarray(beats.quality, dtype=np.float32)


def _stretches_text(beats, record: str) -> np.ndarray:
    stretches = beats.vf_stretches if beats.vf_stretches is not None else np.empty((0, 2), np.int64)
    return np.array(" ".join(f"{start}-{stop}" for start, stop in np.asarray(stretches).tolist()))


#: Every key of an ``.npz`` beat file, in the order written; a key whose ``make`` gives None is not written (it does
#: not apply to those beats). A ``.npy`` beat file holds ``segments`` only.
KEYS: tuple[Key, ...] = (
    Key("segments", "float32", "(n_beats, length)",
        "each beat from its R-peak (or pre_r_s before it), scaled to [0, 1] with its window, zero-padded",
        lambda beats, record: beats.segments),
    Key("labels", "int8", "(n_beats,)",
        "AAMI class index (0 N, 1 S, 2 V, 3 F, 4 Q) of the reference beat within tolerance_s; -1 none",
        _labels),
    Key("r_peaks", "int64", "(n_beats,)", "R-peak sample index at the record's rate fs",
        lambda beats, record: beats.r_peaks.astype(np.int64)),
    Key("record", "str", "(n_beats,)", "the record (patient) each beat comes from",
        lambda beats, record: np.full(len(beats), record, dtype=f"<U{max(len(record), 1)}")),
    Key("fs", "float64", "()", "the record's sampling rate (Hz)", lambda beats, record: np.float64(beats.fs)),
    Key("fs_out", "float64", "()", "the rate the segments are sampled at (Hz)",
        lambda beats, record: np.float64(beats.fs_out), default=125.0),
    Key("window", "int64", "(n_beats,)", "index of the window_s window each beat lies in",
        lambda beats, record: beats.windows.astype(np.int64)),
    Key("period_s", "float64", "(n_beats,)", "the heartbeat period T (s) each beat was cut with",
        lambda beats, record: beats.periods_s.astype(np.float64)),
    Key("rr", "float32", f"(n_beats, {len(RR_FEATURES)})",
        "R-R context of each beat, columns ecgseg.rhythm.RR_FEATURES (s and ratios)",
        lambda beats, record: rr_features(beats.r_peaks, beats.fs)),
    Key("pre_r_s", "float64", "()", "how long before the R-peak segments start (s); 0: the paper's cut",
        lambda beats, record: np.float64(beats.pre_r_s), default=0.0),
    Key("peaks", "str", "()", 'how the R-peaks were found: "rule", "annotations", a detector\'s name, "given"',
        lambda beats, record: np.array(beats.peaks), default=""),
    Key("symbol", "str", "(n_beats,)",
        'annotation symbol of the reference beat within tolerance_s (N L R e j A a J S V E F / f Q); "" none',
        _symbols),
    Key("diagnosis", "str", "()",
        'the record\'s diagnosis from its header comments (PTB: "Reason for admission"); "" when none is stated',
        lambda beats, record: np.array(beats.diagnosis), default=""),
    Key("lead", "str", "()", "the name of the record's lead the beats were cut from ('' for a bare signal)",
        lambda beats, record: np.array(beats.lead), default=""),
    Key("channel", "int64", "()", "that lead's index among the record's signals (-1 for a bare signal)",
        lambda beats, record: np.int64(beats.channel), default=-1),
    Key("database", "str", "()", "the database the record came from ('' for a record given by path)",
        lambda beats, record: np.array(beats.database), default=""),
    Key("notes", "str", "()", "what is doubtful or unusual about the beats (lead, labels, gaps), '; '-separated",
        lambda beats, record: np.array("; ".join(beats.notes)), default=""),
    Key("quality", "float32", "(n_beats,)",
        "signal quality at each beat in [0, 1]: bSQI of two QRS detectors in the 10 s around it, 0 in ventricular "
        "flutter/fibrillation (ecgseg.quality; below ecgseg.quality.POOR = 0.7 is poor); NaN: not measured",
        _quality),
    Key("inverted", "bool", "()", "the lead's measured polarity: true when most QRS complexes point down (the "
        "hamilton detector's vote, over the whole lead for its cut, else over pieces of it), false when most point "
        "up or it could not be measured (rates below 50 Hz); a hamilton cut is then from the upright signal "
        "(polarity 'auto'), the rule's and cuts at reference or given positions keep the record's polarity",
        lambda beats, record: np.bool_(beats.inverted), default=False),
    Key("vf_stretches", "str", "()",
        "ventricular flutter/fibrillation (no organised QRS) as 'start-stop' sample ranges at fs, space-separated "
        "(read with ecgseg.beatfile.stretches); '' none found or not looked for", _stretches_text, default=""),
    Key("spans", "int64", "(n_beats, 2)",
        "the columns [first, stop) of each segment that hold signal; the rest is zero padding",
        lambda beats, record: None if beats.spans is None else beats.spans.astype(np.int64)),
    Key("model_segments", "float32", "(n_beats, length)",
        "the same beats cut model_pre_r_s before the R-peak, as the best shipped classifier for them reads them "
        "(only when segments are cut otherwise)",
        lambda beats, record: beats.model_segments),
    Key("model_pre_r_s", "float64", "()", "where model_segments start before the R-peak (s)",
        lambda beats, record: None if beats.model_segments is None else np.float64(beats.model_pre_r_s)),
)

_BY_NAME = {key.name: key for key in KEYS}

_FORMATS = (".npz", ".npy", ".csv")


def describe_keys() -> list[str]:
    """One line per key of an ``.npz`` beat file: ``name  dtype shape  meaning`` (what ``segment --help`` lists).

    Examples
    --------
    >>> describe_keys()[0].split()[:3]
    ['segments', 'float32', '(n_beats,']
    """
    return [f"{key.name}  {key.dtype} {key.shape}  {key.meaning}" for key in KEYS]


def beat_arrays(beats, record: str) -> dict[str, np.ndarray]:
    """The arrays of the ``.npz`` beat file of one record's beats, every key of :data:`KEYS`.

    Parameters
    ----------
    beats : Beats
        From :func:`ecgseg.segment` or :func:`ecgseg.segment_record`.
    record : str
        The record's name, stored per beat.

    Examples
    --------
    >>> import numpy as np, ecgseg
    >>> fs = 360; t = np.arange(20 * fs) / fs
    >>> arrays = beat_arrays(ecgseg.segment(np.exp(-((t % 0.75) - 0.1) ** 2 / 2e-4), fs), "synthetic")
    >>> list(arrays)[:4], arrays["fs"], str(arrays["peaks"])
    (['segments', 'labels', 'r_peaks', 'record'], np.float64(360.0), 'rule')
    """
    arrays = {key.name: key.make(beats, record) for key in KEYS}
    return {name: value for name, value in arrays.items() if value is not None}


def key_array(name: str, beats, record: str) -> np.ndarray:
    """One key's array for one record's beats, as :func:`beat_arrays` makes it.

    Examples
    --------
    >>> import numpy as np, ecgseg
    >>> fs = 360; t = np.arange(20 * fs) / fs
    >>> key_array("labels", ecgseg.segment(np.exp(-((t % 0.75) - 0.1) ** 2 / 2e-4), fs), "x")[:3]
    array([-1, -1, -1], dtype=int8)
    """
    return _BY_NAME[name].make(beats, record)


def concatenate(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join the beat arrays of several records; a scalar stays one when all records share it, else one per beat.

    Examples
    --------
    >>> a = {"segments": np.zeros((2, 3), np.float32), "fs": np.float64(360)}
    >>> b = {"segments": np.zeros((1, 3), np.float32), "fs": np.float64(250)}
    >>> joined = concatenate([a, b])
    >>> joined["segments"].shape, joined["fs"].tolist()
    ((3, 3), [360.0, 360.0, 250.0])
    """
    if not parts:
        raise ValueError("no records were segmented, nothing to join")
    joined = {}
    for key in [key for key in parts[0] if all(key in p for p in parts)]:  # a key not all records have is dropped
        if np.ndim(parts[0][key]):
            joined[key] = np.concatenate([p[key] for p in parts])
        elif len({p[key].item() for p in parts}) == 1:
            joined[key] = parts[0][key]
        else:
            joined[key] = np.concatenate([np.full(len(p["segments"]), p[key].item()) for p in parts])
    return joined


def scalar(arrays: dict[str, np.ndarray], key: str, name: str = "beats"):
    """A per-record scalar of a beat file as a Python value: the key's default when absent.

    Raises
    ------
    ValueError
        The beats hold several values (records with different settings joined in one file), or the key
        is absent and has no default.

    Examples
    --------
    >>> scalar({"segments": np.zeros((2, 187)), "pre_r_s": np.float64(0.25)}, "pre_r_s")
    0.25
    >>> scalar({"segments": np.zeros((2, 187))}, "fs_out")
    125.0
    """
    if key not in arrays:
        default = _BY_NAME[key].default if key in _BY_NAME else None
        if default is None:
            raise ValueError(f"{name} has no {key!r} array; write it with "
                             + say("`ecgseg segment ... -o FILE.npz`", "ecgseg.pipeline.write_record('FILE.npz', ...)"))
        return default
    values = np.unique(np.ravel(arrays[key]))
    if values.size != 1:
        shown = ", ".join(str(v) for v in values[:5])
        raise ValueError(f"the beats in {name} have several {key} values ({shown}); use beats cut with one setting")
    return values[0].item()


def cut_at(arrays: dict[str, np.ndarray], pre_r_s: float, name: str = "beats") -> dict[str, np.ndarray] | None:
    """The beat file with ``segments`` the cut that starts ``pre_r_s`` before the R-peak, or None if it has none.

    That cut is the file's ``segments``, or its ``model_segments`` (the same beats cut as a shipped classifier
    reads them, :data:`KEYS`); the result's ``pre_r_s`` says which.

    Examples
    --------
    >>> arrays = {"segments": np.zeros((2, 187), np.float32), "model_segments": np.ones((2, 187), np.float32),
    ...           "model_pre_r_s": np.float64(0.25)}
    >>> cut_at(arrays, 0.25)["segments"][0, 0], cut_at(arrays, 0.0)["segments"][0, 0], cut_at(arrays, 0.1)
    (np.float32(1.0), np.float32(0.0), None)
    """
    if abs(scalar(arrays, "pre_r_s", name) - pre_r_s) < 1e-9:
        return arrays
    if "model_segments" in arrays and abs(scalar(arrays, "model_pre_r_s", name) - pre_r_s) < 1e-9:
        return {**arrays, "segments": arrays["model_segments"], "pre_r_s": arrays["model_pre_r_s"]}
    return None


def save_npy_bytes(array: np.ndarray) -> bytes:
    """The bytes of ``array`` in ``.npy`` format."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _write_npy(handle, value) -> None:
    """One ``.npy``: an array, or rows spooled on disk (``shape``, ``dtype`` and ``blocks()``), block by block."""
    if isinstance(value, np.ndarray) or np.isscalar(value):
        np.lib.format.write_array(handle, np.asanyarray(value), allow_pickle=False)
        return
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(value.dtype)), "fortran_order": False,
              "shape": tuple(value.shape)}
    np.lib.format.write_array_header_1_0(handle, header)  # the header np.save writes for the same array
    for block in value.blocks():
        handle.write(np.ascontiguousarray(block, dtype=value.dtype).tobytes())


def take(arrays: dict[str, np.ndarray], rows) -> dict[str, np.ndarray]:
    """The beats at ``rows`` (a boolean mask or indices): per-beat arrays indexed, per-record scalars kept.

    Examples
    --------
    >>> arrays = {"segments": np.zeros((3, 187), np.float32), "labels": np.array([0, 2, 0], np.int8),
    ...           "fs": np.float64(360)}
    >>> kept = take(arrays, np.array([True, False, True]))
    >>> kept["segments"].shape, kept["labels"].tolist(), float(kept["fs"])
    ((2, 187), [0, 0], 360.0)
    """
    n = len(arrays["segments"])
    return {key: value[rows] if np.ndim(value) and len(value) == n else value for key, value in arrays.items()}


def stretches(arrays: dict[str, np.ndarray], key: str = "vf_stretches", name: str = "beats") -> np.ndarray:
    """One record's stretches (``vf_stretches``) as ``[start, stop)`` sample ranges at ``fs``, shape (n, 2) int64.

    Raises
    ------
    ValueError
        The beats come from several records with different stretches (read one record's file).

    Examples
    --------
    >>> stretches({"segments": np.zeros((2, 187)), "vf_stretches": np.array("15000-18600 20000-21000")}).tolist()
    [[15000, 18600], [20000, 21000]]
    >>> stretches({"segments": np.zeros((2, 187))}).shape
    (0, 2)
    """
    text = scalar(arrays, key, name)
    pairs = [part.split("-") for part in str(text).split()]
    return np.array([[int(a), int(b)] for a, b in pairs], dtype=np.int64).reshape(-1, 2)


def save_beats(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Save beat arrays atomically: ``.npz`` keeps every key, ``.npy`` only ``segments``, ``.csv`` the heartbeat
    layout (each beat's values, then its class: ``labels``, else ``class_index``, else -1).

    An array may also be rows spooled on disk (anything with ``shape``, ``dtype`` and ``blocks()``, as
    :func:`ecgseg.pipeline.write_record` passes them): those are copied block by block, never loaded whole.
    The bytes are those of ``numpy.savez`` / ``numpy.save`` of the same arrays.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "beats.npz")
    >>> save_beats(target, {"segments": np.zeros((2, 187), np.float32)})
    >>> load_beats(target)["segments"].shape
    (2, 187)
    """
    suffix = Path(path).suffix
    if suffix not in _FORMATS:
        raise ValueError(f"cannot tell the format of {path}: name it .npy (segments only), .npz (segments and labels) "
                         "or .csv (the heartbeat dataset's layout: each beat's values, then its class)")
    with atomic_file(path) as handle:
        if suffix == ".csv":
            write_csv(handle, arrays, _row_blocks)
            return
        if suffix == ".npy":
            _write_npy(handle, arrays["segments"])
            return
        with zipfile.ZipFile(handle, "w", allowZip64=True) as archive:  # as numpy.savez lays it out
            for key, value in arrays.items():
                with archive.open(f"{key}.npy", "w", force_zip64=True) as entry:
                    _write_npy(entry, value)


def load_beats(source) -> dict[str, np.ndarray]:
    """Read a ``.npy``, ``.npz`` or heartbeat ``.csv`` beat file (a path, or bytes / a binary stream such as stdin).

    Returns a dict with at least ``segments``; a ``.npy`` gives only that key, a ``.csv`` also ``class_index``.
    Bytes or a stream are read as a CSV unless they start as a numpy file does.

    Raises
    ------
    ValueError
        Not a numpy file or heartbeat CSV, pickled (object) arrays, or no ``segments`` in a ``.npz``; for a CSV the
        first bad row (and cell), rows of different lengths, or a class that is not an index (-1 for none).
    FileNotFoundError
        Missing path.
    """
    name = str(source) if isinstance(source, (str, os.PathLike)) else "<stdin>"
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    elif hasattr(source, "read") and not (hasattr(source, "seekable") and source.seekable()):
        source = io.BytesIO(source.read())  # np.load needs to seek; a pipe has .seek but cannot
    if isinstance(source, (str, os.PathLike)) and Path(source).suffix == ".csv":
        if not Path(source).is_file():
            raise FileNotFoundError(f"beat file {name} does not exist")
        return read_csv(Path(source).read_bytes(), name)
    if hasattr(source, "read"):
        start = source.read(512)
        source.seek(0)
        if not start:
            raise ValueError(f"{name} is empty, not a .npy/.npz beat file or a heartbeat CSV")
        if not start.startswith((b"\x93NUMPY", b"PK")):
            if not _is_text(start):
                raise ValueError(f"{name} is not a .npy/.npz beat file or a heartbeat CSV (binary data of another kind)")
            return read_csv(source.read(), name)
    elif Path(source).is_file():
        with open(source, "rb") as handle:
            _refuse_foreign(handle.read(512), name)
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
        raise ValueError(f"{name} has no 'segments' array (it has {', '.join(arrays) or 'nothing'}); write it with "
                         + say("`ecgseg segment`", "ecgseg.pipeline.write_record"))
    return arrays


def _row_blocks(value, rows: int = 8192):
    if hasattr(value, "blocks") and not isinstance(value, np.ndarray):
        yield from value.blocks()
        return
    for start in range(0, value.shape[0], rows):
        yield value[start : start + rows]


def _refuse_foreign(start: bytes, name: str) -> None:
    """Say what a file named as a numpy file is when it is not one (numpy would call any such file a pickle)."""
    if start.startswith((b"\x93NUMPY", b"PK")):
        return
    if not start:
        raise ValueError(f"{name} is empty, not a .npy/.npz beat file")
    if start[:1] == b"\x80":  # a pickle's protocol opcode
        raise ValueError(f"{name} is a Python pickle, not a .npy/.npz beat file; pickles are never loaded (they can "
                         "run code): save the beats with numpy.save or `ecgseg segment`")
    if _is_text(start):
        first = start.decode("utf-8", errors="replace").splitlines()[0] if start.strip() else ""
        shown = first[:40] + ("..." if len(first) > 40 else "")
        raise ValueError(f"{name} is a text file, not a .npy/.npz beat file (it starts {shown!r}); a heartbeat CSV "
                         "is read when its name ends in .csv")
    raise ValueError(f"{name} is not a .npy/.npz beat file (binary data of another kind)")


def _is_text(start: bytes, sample: int = 512) -> bool:
    """Whether the first ``sample`` bytes of a stream are text (a CSV) rather than binary."""
    if b"\x00" in start:
        return False
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as error:  # a character cut at the end of a full sample is still text
        return len(start) == sample and error.start > sample - 4
    return True
