"""Finding and reading WFDB records: the data folder, one lead, and its reference annotations.

A data folder holds one subfolder per PhysioNet database in its own layout
(``DATA/mitdb/100.hea``). It is ``data_dir`` if given, else ``$ECGSEG_DATA``,
else the per-user cache folder (``~/.cache/ecgseg`` on Linux).

:func:`open_record` is the one way in: it reads the header (rate, length, the
lead) and returns a :class:`RecordReader` that reads any range of samples and
the annotations on demand; :func:`read_record` reads a range into memory as a
:class:`Record`. Both have the same attributes (``name``, ``fs``, ``n_samples``,
``channel``, ``units``, ``signal``, ``ann_samples``, ``ann_symbols``), so the
rest of the package takes either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._layout import read_local_records
from .annotations import DEFAULT_ANNOTATOR, Annotations, read_annotations
from .diagnosis import header_diagnosis
from .headers import PREFERRED_CHANNEL, Header, channel_index, read_header, read_signal
from .terms import say

__all__ = ["Record", "RecordReader", "open_record", "resolve_data_dir", "record_path", "record_name", "is_path", "list_records",
           "read_record"]

DEFAULT_DB = "mitdb"


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
        Reference annotation positions at the record's rate (all annotations; None if there is no .atr, or it
        cannot be read).
    ann_symbols : numpy.ndarray of str, or None
        Their symbols.
    diagnosis : str
        The diagnosis the header's comments state (PTB: ``Reason for admission``, see :mod:`ecgseg.diagnosis`);
        ``""`` when they state none.
    channel_index : int
        The lead's index among the record's signals (-1: not known).
    database : str
        The database the record was found in by name (``"mitdb"``); ``""`` for a record given by path.
    notes : tuple of str
        What a user should know about how the record was read (the lead taken when it has no MLII, what in the
        annotations was not used).
    annotation_problem : str or None
        Why there are no reference beats to label with although there are annotations (see
        :attr:`ecgseg.annotations.Annotations.problem`).
    """

    name: str
    path: Path
    signal: np.ndarray
    fs: float
    channel: str
    units: str
    ann_samples: np.ndarray | None
    ann_symbols: np.ndarray | None
    diagnosis: str = ""
    channel_index: int = -1
    database: str = ""
    notes: tuple[str, ...] = ()
    annotation_problem: str | None = None

    @property
    def has_annotations(self) -> bool:
        """Whether there are reference beat annotations to label with."""
        return self.ann_samples is not None and self.annotation_problem is None

    @property
    def n_samples(self) -> int:
        return int(self.signal.shape[0])


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


def is_path(record) -> bool:
    """Whether a record is given by path, never a name in a database: a Path object, absolute, ``./`` or ``../``
    first, ``.hea`` last. (A relative name with a ``/`` is a name in the database when it is there: see
    :func:`record_path`.)

    Examples
    --------
    >>> is_path("patient001/s0010_re"), is_path("./m"), is_path("x/100.hea")
    (False, True, True)
    """
    if isinstance(record, os.PathLike):
        return True
    return (os.path.isabs(record) or record.startswith(("./", "../", "~")) or record.endswith(".hea")
            or (os.sep != "/" and os.sep in record))


def _hea(path: Path) -> Path:
    return path.parent / f"{path.name}.hea"  # not with_suffix: a record name may hold a dot


def _locate(record, db: str, data_dir) -> tuple[Path, str, str]:
    """``(path without extension, name, database)`` of a record given by name or by path.

    A name is looked up in ``DATA/db/``, subfolders and all (ptbdb's ``patient001/s0010_re``); a relative
    name with a ``/`` that is not there but is a record from the working folder is that path. A record given
    by path is named after its file and has no database (``""``).
    """
    if is_path(record):
        path = Path(os.path.expanduser(os.fspath(record)))
        path = path.with_name(path.name[:-4]) if path.name.endswith(".hea") else path
        return path, path.name, ""
    in_db = resolve_data_dir(data_dir) / db / record
    if "/" in record and not _hea(in_db).is_file() and _hea(Path(record)).is_file():
        return Path(record), Path(record).name, ""
    return in_db, record.rstrip("/"), db


def record_path(record: str | os.PathLike, db: str = DEFAULT_DB, data_dir=None) -> Path:
    """Path (without extension) of a record given by name (``"100"``, ``"patient001/s0010_re"``) or by path
    (``"./data/100"``, ``"x/100.hea"``).

    A name is looked for in the database's folder of the data folder, in subfolders too; a relative name with a
    ``/`` that is not there is taken as a path from the working folder when that record exists.

    Examples
    --------
    >>> record_path("100", data_dir="/data")
    PosixPath('/data/mitdb/100')
    >>> record_path("patient001/s0010_re", "ptbdb", data_dir="/data")
    PosixPath('/data/ptbdb/patient001/s0010_re')
    >>> record_path("/elsewhere/s0010_re.hea")
    PosixPath('/elsewhere/s0010_re')
    """
    return _locate(record, db, data_dir)[0]


def record_name(record: str | os.PathLike, db: str = DEFAULT_DB, data_dir=None) -> str:
    """The record's name: as its database lists it (``"patient001/s0010_re"``), or its file's name when it is
    given as a path (``"data/100.hea"`` -> ``"100"``).

    Examples
    --------
    >>> record_name("100"), record_name("patient001/s0010_re", "ptbdb"), record_name("/elsewhere/s0010_re.hea")
    ('100', 'patient001/s0010_re', 's0010_re')
    """
    return _locate(record, db, data_dir)[1]


def list_records(db: str = DEFAULT_DB, data_dir=None) -> list[str]:
    """Record names a database's ``RECORDS`` lists, following nested lists (PTB-XL's ``records100/00000/``).

    Names are as :func:`open_record` takes them, relative to the database folder (``"patient001/s0010_re"``).
    A folder that a list names but whose own ``RECORDS`` is not on disk (not fetched) is given as it is listed,
    ending in ``/``, so that opening it fails with the reason and the command to fetch it.

    Raises
    ------
    FileNotFoundError
        When the database is not in the data folder.

    Examples
    --------
    >>> list_records("mitdb", DATA)[:3]
    ['100', '101', '102']
    """
    folder = resolve_data_dir(data_dir) / db
    if not (folder / "RECORDS").is_file():
        raise FileNotFoundError(
            f"database {db!r} is not in {folder} (no RECORDS file); "
            + say(f"fetch it with `ecgseg fetch {db}` or point --data-dir / $ECGSEG_DATA at a folder that holds it",
                  f"fetch it with ecgseg.fetch.fetch({db!r}) or pass data_dir= (or set $ECGSEG_DATA) for a folder "
                  "that holds it")
        )
    records, missing = read_local_records(folder)
    return records + missing


def _fetch_hint(name: str, db: str) -> str:
    """How to get a record that is not on disk, in the caller's terms (the command line, or Python's keywords)."""
    return say(f"fetch it with `ecgseg fetch {db} --records {name}` or set --data-dir / $ECGSEG_DATA",
               f"fetch it with ecgseg.fetch.fetch({db!r}, records=[{name!r}]) or pass data_dir= (or set $ECGSEG_DATA)")


#: Files that are no WFDB record but are given as one: what each is, and what reads it.
_NOT_RECORDS = {".npz": "a beat file", ".npy": "a beat file", ".csv": "a CSV file"}


def _not_found(record, path: Path, name: str, database: str) -> FileNotFoundError:
    """Why a record is not there, and how to get it: a beat file given as a record is said to be one, a record's
    own file (``100.dat``) names the record, and a name the database's RECORDS on disk does not list, or a record
    given by path, has no fetch hint."""
    from .terms import say

    given = os.fspath(record)
    suffix = os.path.splitext(given)[1].lower()
    if suffix in _NOT_RECORDS:
        return FileNotFoundError(
            f"{given} is {_NOT_RECORDS[suffix]}, not a WFDB record: give a record (a name such as 100, or the path of "
            "its .hea); " + say("classify, evaluate and plot beats read beat files (.npz, .npy, the heartbeat .csv)",
                                "read a beat file with ecgseg.load_beats"))
    stem = path.with_name(path.name[: -len(suffix)]) if suffix else path
    if suffix and _hea(stem).is_file():  # 100.dat, 100.atr: a file of the record, not its name
        return FileNotFoundError(f"{given} is a file of record {name[: -len(suffix)]!r}; give the record itself: "
                                 f"{given[: -len(suffix)]}")
    if not database:
        return FileNotFoundError(f"record {name!r} not found: no {_hea(path)}")
    if given.endswith("/"):
        return FileNotFoundError(f"{given!r} is a folder listed in {database}'s RECORDS, but its own list "
                                 f"{path}/RECORDS is not on disk; {_fetch_hint(given, database)}")
    also = f", nor {given}.hea from here" if "/" in given else ""  # a name with a / is looked for in both
    folder = path.parents[len(Path(name).parts) - 1]
    if (folder / "RECORDS").is_file() and name not in read_local_records(folder)[0]:
        return FileNotFoundError(f"record {name!r} not found: no {_hea(path)}{also}, and {database}'s RECORDS "
                                 f"({folder / 'RECORDS'}) does not list it; check the name")
    return FileNotFoundError(f"record {name!r} not found: no {_hea(path)}{also}; {_fetch_hint(name, database)}")


def _read_header(record, path: Path, name: str, database: str) -> Header:
    if not _hea(path).is_file():
        raise _not_found(record, path, name, database)
    return read_header(path, name, f"; {_fetch_hint(name, database)}" if database else "")


class _Lead:
    """One lead of a record on disk as a 1-D float64 array that reads the samples it is sliced for."""

    dtype = np.dtype(np.float64)

    def __init__(self, reader: RecordReader):
        self.reader = reader

    @property
    def shape(self) -> tuple[int]:
        if self.reader.n_samples is None:
            raise ValueError(f"header {self.reader.path}.hea does not give the number of samples, which chunked "
                             "reading needs; read it whole (no chunk_s)")
        return (self.reader.n_samples,)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("a record on disk reads contiguous ranges only: signal[start:stop]")
        start, stop, _ = index.indices(self.shape[0])
        return self.reader.read(start, max(start, stop))

    def __array__(self, dtype=None, copy=None):
        return self.reader.read() if dtype is None else self.reader.read().astype(dtype)


class RecordReader:
    """One lead of a WFDB record on disk, opened: its rate, length and lead known, samples read on demand.

    It has the attributes of :class:`Record` (``name``, ``path``, ``fs``, ``channel``, ``units``, ``diagnosis``,
    ``ann_samples``, ``ann_symbols``, ``has_annotations``, ``n_samples``, the annotations read on first use),
    and these, which differ:

    Attributes
    ----------
    n_samples : int or None
        Samples in the record (None when the header does not say).
    channel_index : int
        The lead's index among the record's signals.
    database : str
        The database a record given by name was found in; ``""`` for a record given by path.
    notes : tuple of str
        What a user should know about how it was read: the lead taken when the record has no MLII, what in the
        annotations was not used (they are read on first use).
    annotator : str
        The annotation file's extension (``"atr"``).
    signal : array-like, shape (n_samples,) float64
        The lead, read as it is sliced (``reader.signal[a:b]``) or converted (``numpy.asarray``).

    Examples
    --------
    >>> reader = open_record("100", data_dir=DATA)
    >>> reader.fs, reader.n_samples, reader.channel, reader.signal[:3].round(3).tolist()
    (360.0, 650000, 'MLII', [-0.145, -0.145, -0.145])
    """

    def __init__(self, path: Path, header, channel_index: int, *, name: str | None = None, database: str = "",
                 notes: tuple[str, ...] = (), annotator: str = DEFAULT_ANNOTATOR):
        self.path, self.name = path, path.name if name is None else name
        self.fs = float(header.fs)
        self.n_samples = int(header.sig_len) if header.sig_len else None  # some headers leave it out
        self.channel_index = channel_index
        self.channel = header.sig_name[channel_index]
        self.units = header.units[channel_index]
        self.diagnosis = header_diagnosis(header.comments)
        self.database, self.annotator = database, annotator
        self._lead_notes, self._signal_files = notes, header.signal_files
        self.signal = _Lead(self)
        self._annotations = None
        if annotator != DEFAULT_ANNOTATOR:  # asked for by name: it must be there
            self.annotation_file()

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``[start, stop)`` of the lead, float64 in physical units."""
        return read_signal(self.path, self.channel_index, start, stop)

    def annotation_file(self) -> Annotations:
        """The reference annotations, read once (:func:`ecgseg.annotations.read_annotations`)."""
        if self._annotations is None:
            self._annotations = read_annotations(self.path, self.fs, self.annotator, signal_files=self._signal_files,
                                                 required=self.annotator != DEFAULT_ANNOTATOR)
        return self._annotations

    def annotations(self, start: int = 0, stop: int | None = None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Reference annotations in ``[start, stop)``, positions shifted by ``start`` (None, None: none to use)."""
        return self.annotation_file().window(start, stop)

    @property
    def ann_samples(self) -> np.ndarray | None:
        return self.annotation_file().samples

    @property
    def ann_symbols(self) -> np.ndarray | None:
        return self.annotation_file().symbols

    @property
    def annotation_problem(self) -> str | None:
        return self.annotation_file().problem

    @property
    def has_annotations(self) -> bool:
        return self.annotation_file().has_beats

    @property
    def notes(self) -> tuple[str, ...]:
        return self._lead_notes + _annotation_notes(self.annotation_file())

    def read_record(self, sampfrom: int = 0, sampto: int | None = None) -> Record:
        """Samples ``[sampfrom, sampto)`` and their annotations in memory."""
        signal = self.read(sampfrom, sampto)
        ann_samples, ann_symbols = self.annotations(sampfrom, sampto)
        return Record(name=self.name, path=self.path, signal=signal, fs=self.fs, channel=self.channel,
                      units=self.units, ann_samples=ann_samples, ann_symbols=ann_symbols, diagnosis=self.diagnosis,
                      channel_index=self.channel_index, database=self.database, notes=self.notes,
                      annotation_problem=self.annotation_problem)


def _annotation_notes(annotations: Annotations) -> tuple[str, ...]:
    """What the summary and the beat file say about the annotations: labels missing (a file that is there but
    unusable; no file at all is the summary's "no reference beats"), and what in them was not used."""
    missing = (f"labels missing: {annotations.problem}",) if annotations.problem and annotations.file.is_file() else ()
    return missing + annotations.notes


def open_record(record: str | os.PathLike, db: str = DEFAULT_DB, *, data_dir=None,
                channel: str | int | None = None, annotator: str = DEFAULT_ANNOTATOR) -> RecordReader:
    """Open one lead of a WFDB record: read its header, find the lead, check its files are there.

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
    annotator : str
        The extension of the reference annotation file: ``"atr"`` (PhysioNet's reference), or another such as
        ``"qrs"`` (the MIT-BIH AF Database's beats), which must then exist. See :mod:`ecgseg.annotations`.

    Returns
    -------
    RecordReader

    Raises
    ------
    FileNotFoundError
        Missing header or signal file, or annotation file asked for by ``annotator``.
    ValueError
        Corrupt header, unknown channel.
    """
    path, name, database = _locate(record, db, data_dir)
    header = _read_header(record, path, name, database)
    index = channel_index(header, channel, name)
    notes = ()
    if channel is None and header.sig_name[index] != PREFERRED_CHANNEL:  # the scheme was built on MLII
        notes = (f"no {PREFERRED_CHANNEL} lead, so {header.sig_name[index]} (channel {index}) was used",)
    missing = header.missing_stretches(index)
    if missing is not None:
        notes += (f"multi-segment record: {missing}",)
    return RecordReader(path, header, index, name=name, database=database, notes=notes, annotator=annotator)


def read_record(
    record: str | os.PathLike,
    db: str = DEFAULT_DB,
    *,
    data_dir=None,
    channel: str | int | None = None,
    annotator: str = DEFAULT_ANNOTATOR,
    sampfrom: int = 0,
    sampto: int | None = None,
) -> Record:
    """Read one lead of a WFDB record and its ``.atr`` reference annotations into memory.

    Parameters
    ----------
    record, db, data_dir, channel, annotator
        As for :func:`open_record`.
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
    return open_record(record, db, data_dir=data_dir, channel=channel, annotator=annotator).read_record(sampfrom, sampto)
