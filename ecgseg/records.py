"""Finding and reading WFDB records: the data folder, one lead, and its reference annotations.

A data folder holds one subfolder per PhysioNet database in its own layout
(``DATA/mitdb/100.hea``). It is ``data_dir`` if given, else ``$ECGSEG_DATA``,
else the per-user cache folder (``~/.cache/ecgseg`` on Linux).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Record", "resolve_data_dir", "record_path", "list_records", "read_record", "read_signal", "read_annotations"]

DEFAULT_DB = "mitdb"
#: The lead the scheme was built on; taken when present, else the first.
PREFERRED_CHANNEL = "MLII"


@dataclass(frozen=True)
class Record:
    """One lead of a WFDB record with its reference annotations.

    Attributes
    ----------
    name : str
        Record name, e.g. ``"100"``.
    path : pathlib.Path
        Record path without extension.
    signal : numpy.ndarray, shape (n_samples,) float64
        The lead in physical units.
    fs : float
        Sampling rate in Hz.
    channel : str
        Signal name of the lead read.
    units : str
        Physical units of ``signal``.
    ann_samples : numpy.ndarray of int64, or None
        Reference annotation positions (all annotations; None if there is no .atr).
    ann_symbols : numpy.ndarray of str, or None
        Their symbols.
    """

    name: str
    path: Path
    signal: np.ndarray
    fs: float
    channel: str
    units: str
    ann_samples: np.ndarray | None
    ann_symbols: np.ndarray | None

    @property
    def has_annotations(self) -> bool:
        return self.ann_samples is not None


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data folder: ``data_dir``, else ``$ECGSEG_DATA``, else the per-user cache folder.

    Examples
    --------
    >>> resolve_data_dir("/tmp/ecg")
    PosixPath('/tmp/ecg')
    """
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get("ECGSEG_DATA"):
        return Path(os.environ["ECGSEG_DATA"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("ecgseg"))


def _is_path(record: str) -> bool:
    return os.sep in record or "/" in record or record.endswith(".hea")


def record_path(record: str | os.PathLike, db: str = DEFAULT_DB, data_dir=None) -> Path:
    """Path (without extension) of a record given by name (``"100"``) or by path (``"data/100"``, ``"x/100.hea"``).

    Examples
    --------
    >>> record_path("100", data_dir="/data")
    PosixPath('/data/mitdb/100')
    >>> record_path("/elsewhere/s0010_re.hea")
    PosixPath('/elsewhere/s0010_re')
    """
    record = os.fspath(record)
    if _is_path(record):
        path = Path(record)
        return path.with_suffix("") if path.suffix == ".hea" else path
    return resolve_data_dir(data_dir) / db / record


def list_records(db: str = DEFAULT_DB, data_dir=None) -> list[str]:
    """Record names listed in a database's RECORDS file.

    Raises
    ------
    FileNotFoundError
        When the database is not in the data folder.
    """
    folder = resolve_data_dir(data_dir) / db
    listing = folder / "RECORDS"
    if not listing.is_file():
        raise FileNotFoundError(
            f"database {db!r} is not in {folder} (no RECORDS file); fetch it with `ecgseg fetch {db}` "
            "or point --data-dir / $ECGSEG_DATA at a folder that holds it"
        )
    return listing.read_text().split()


def _fetch_hint(path: Path, db: str) -> str:
    return f"fetch it with `ecgseg fetch {db} --records {path.name}` or set --data-dir / $ECGSEG_DATA"


def _read_header(path: Path, db: str):
    import wfdb  # ~0.4 s to import (pandas): only when reading records

    if not path.with_suffix(".hea").is_file():
        raise FileNotFoundError(f"record {path.name!r} not found: no {path}.hea; {_fetch_hint(path, db)}")
    try:
        header = wfdb.rdheader(str(path))
    except Exception as error:  # wfdb raises many types on a malformed header
        raise ValueError(f"cannot read header {path}.hea ({type(error).__name__}: {error}); is the file corrupt?") from None
    for file_name in set(header.file_name or []):
        if not (path.parent / file_name).is_file():
            raise FileNotFoundError(
                f"record {path.name!r} has a header but its signal file {path.parent / file_name} is missing; "
                f"{_fetch_hint(path, db)}"
            )
    return header


def _channel_index(header, channel, path: Path) -> int:
    names = list(header.sig_name)
    if channel is None:
        return names.index(PREFERRED_CHANNEL) if PREFERRED_CHANNEL in names else 0
    if isinstance(channel, (int, np.integer)) or str(channel).isdigit():
        index = int(channel)
        if 0 <= index < len(names):
            return index
    elif str(channel) in names:
        return names.index(str(channel))
    raise ValueError(f"record {path.name!r} has no channel {channel!r}; its channels are {', '.join(names)} (or 0..{len(names) - 1})")


def read_record(
    record: str | os.PathLike,
    db: str = DEFAULT_DB,
    *,
    data_dir=None,
    channel: str | int | None = None,
    sampfrom: int = 0,
    sampto: int | None = None,
) -> Record:
    """Read one lead of a WFDB record and its ``.atr`` reference annotations.

    Parameters
    ----------
    record : str or path
        A name in the data folder (``"100"``) or a path (``"folder/100"``).
    db : str
        Database subfolder for names (``"mitdb"``).
    data_dir : path, optional
        See :func:`resolve_data_dir`.
    channel : str or int, optional
        Signal name or index; by default ``"MLII"`` when present, else 0.
    sampfrom, sampto : int
        Read only this sample range (annotations are cut to it and shifted).

    Returns
    -------
    Record

    Raises
    ------
    FileNotFoundError
        Missing header or signal file.
    ValueError
        Corrupt header or signal, unknown channel.

    Examples
    --------
    >>> rec = read_record("100", data_dir=DATA)
    >>> rec.channel, rec.fs, rec.signal.shape
    ('MLII', 360.0, (650000,))
    """
    path = record_path(record, db, data_dir)
    header = _read_header(path, db)
    index = _channel_index(header, channel, path)
    signal = read_signal(path, index, sampfrom, sampto)
    ann_samples, ann_symbols = read_annotations(path, sampfrom, sampto)
    return Record(
        name=path.name,
        path=path,
        signal=signal,
        fs=float(header.fs),
        channel=header.sig_name[index],
        units=(header.units or ["mV"])[index],
        ann_samples=ann_samples,
        ann_symbols=ann_symbols,
    )


def read_signal(path: Path, channel_index: int, sampfrom: int = 0, sampto: int | None = None) -> np.ndarray:
    """Samples ``[sampfrom, sampto)`` of one lead of the record at ``path``, float64 in physical units."""
    import wfdb

    try:
        data = wfdb.rdrecord(str(path), channels=[channel_index], sampfrom=sampfrom, sampto=sampto)
    except Exception as error:
        raise ValueError(f"cannot read signal of record {path} ({type(error).__name__}: {error}); is the .dat corrupt?") from None
    return np.ascontiguousarray(data.p_signal[:, 0], dtype=np.float64)


def read_annotations(path: Path, sampfrom: int = 0, sampto: int | None = None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Positions (shifted by ``sampfrom``) and symbols of the ``.atr`` annotations in range; (None, None) without one."""
    import wfdb

    if not path.with_suffix(".atr").is_file():
        return None, None
    try:
        ann = wfdb.rdann(str(path), "atr", sampfrom=sampfrom, sampto=sampto)
    except Exception as error:
        raise ValueError(f"cannot read annotations {path}.atr ({type(error).__name__}: {error})") from None
    return np.asarray(ann.sample, dtype=np.int64) - sampfrom, np.asarray(ann.symbol, dtype=str)
