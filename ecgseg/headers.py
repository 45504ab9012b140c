"""A WFDB record's header as one set of signals, whether the record is one file or many segments, and reading one lead.

A single-segment header names its signals and their files. A multi-segment header (MIMIC and several PhysioNet
databases) names segment records instead, each a record of its own, read one after the other as one signal:

- fixed layout: every segment has the same signals;
- variable layout: a layout header (the first segment, of length 0, ``<record>_layout``) lists every signal, and a
  segment holds some of them; a lead a segment lacks reads as NaN there;
- a segment named ``~`` is a gap (no data): NaN.

wfdb reads both layouts (``wfdb.rdrecord`` on the master header, any sample range), so reading stays wfdb's; what is
checked here, before any sample is read, is what wfdb would fail on later or get wrong silently: a segment header or
signal file that is missing, a segment at another rate, a fixed layout whose segments have different signals, a lead
in different units in different segments. Each is one line naming the segment. The NaN stretches of a lead are said
(:attr:`Header.notes`) and handled as gaps by the segmentation (``gaps=``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Header", "read_header", "channel_index", "read_signal", "PREFERRED_CHANNEL"]

#: The lead the scheme was built on; taken when present, else the first.
PREFERRED_CHANNEL = "MLII"


@dataclass(frozen=True)
class Header:
    """What a record's header says, for one set of signals.

    Attributes
    ----------
    fs : float
        Sampling rate (Hz).
    sig_len : int or None
        Samples in the record (None when the header does not say).
    sig_name, units : tuple of str
        The signals (for a variable layout: every signal of its layout header) and their units.
    comments : tuple of str
        The header's comment lines.
    signal_files : tuple of str
        Every signal file of the record (of every segment), relative to its folder.
    segments : tuple of (str, int, tuple of str)
        For a multi-segment record: each segment's name (``~`` for a gap), length, and signals; else empty.
    """

    fs: float
    sig_len: int | None
    sig_name: tuple[str, ...]
    units: tuple[str, ...]
    comments: tuple[str, ...] = ()
    signal_files: tuple[str, ...] = ()
    segments: tuple[tuple[str, int, tuple[str, ...]], ...] = ()

    def missing_stretches(self, index: int) -> str | None:
        """For a multi-segment record, where signal ``index`` reads as NaN (gaps, segments without it), said in one
        clause; None when nowhere."""
        lead = self.sig_name[index]
        gaps = [length for name, length, _ in self.segments if name == "~"]
        lacking = [length for name, length, signals in self.segments if name != "~" and lead not in signals]
        if not gaps and not lacking:
            return None
        parts = []
        if gaps:
            parts.append(f"{len(gaps)} gap segment{'s' * (len(gaps) > 1)} (~)")
        if lacking:
            parts.append(f"{len(lacking)} segment{'s' * (len(lacking) > 1)} without {lead}")
        seconds = (sum(gaps) + sum(lacking)) / self.fs
        return f"{' and '.join(parts)} of its {len(self.segments)} segments: {lead} is NaN for {seconds:.1f} s there"


def _rdheader(path: Path, what: str):
    import wfdb  # ~0.4 s to import (pandas): only when reading records

    try:
        return wfdb.rdheader(str(path))
    except Exception as error:  # wfdb raises many types on a malformed header
        raise ValueError(f"cannot read {what} {path.parent / (path.name + '.hea')} ({type(error).__name__}: {error}); "
                         "is the file corrupt?") from None


def _check_files(folder: Path, files, name: str, hint: str) -> None:
    for file_name in dict.fromkeys(files):
        if not (folder / file_name).is_file():
            raise FileNotFoundError(f"record {name!r} has a header but its signal file {folder / file_name} is missing{hint}")


def read_header(path: Path, name: str, hint: str = "") -> Header:
    """Read the header of the record at ``path`` (without extension), and of each of its segments.

    Parameters
    ----------
    path : pathlib.Path
        The record, without extension; its ``.hea`` exists.
    name : str
        The record's name, for messages.
    hint : str
        Appended to the message of a missing file (``"; fetch it with ..."``).

    Returns
    -------
    Header

    Raises
    ------
    FileNotFoundError
        A signal file, or a segment's header, is missing.
    ValueError
        A header wfdb cannot read; a segment at another rate; a fixed layout whose segments differ in signals.

    Examples
    --------
    >>> header = read_header(Path(DATA) / "mitdb" / "100", "100")
    >>> header.fs, header.sig_len, header.sig_name, header.segments
    (360.0, 650000, ('MLII', 'V5'), ())
    """
    header = _rdheader(path, "header")
    if getattr(header, "seg_name", None) is None:  # one segment: the record itself
        _check_files(path.parent, header.file_name or (), name, hint)
        return Header(float(header.fs), int(header.sig_len) if header.sig_len else None, tuple(header.sig_name),
                      tuple(header.units or ["mV"] * len(header.sig_name)), tuple(header.comments or ()),
                      tuple(dict.fromkeys(header.file_name or ())))
    return _multi_segment(path, header, name, hint)


def _multi_segment(path: Path, master, name: str, hint: str) -> Header:
    """The signals of a multi-segment record, every segment checked (see the module's docstring)."""
    segments, files, layout = [], [], None
    for i, (seg, length) in enumerate(zip(master.seg_name, master.seg_len)):
        if seg == "~":
            segments.append(("~", int(length), (), ()))
            continue
        seg_path = path.parent / seg
        if not (path.parent / f"{seg}.hea").is_file():
            raise FileNotFoundError(f"record {name!r} is a multi-segment record whose segment {seg} is missing: "
                                    f"no {seg_path}.hea{hint}")
        header = _rdheader(seg_path, f"segment {seg} of {name!r}:")
        if float(header.fs) != float(master.fs):
            raise ValueError(f"record {name!r} cannot be read as one signal: its segment {seg} is at {header.fs:g} Hz, "
                             f"the record at {master.fs:g} Hz")
        signals = tuple(header.sig_name or ())
        if i == 0 and int(length) == 0:  # a variable layout's layout header: every signal, no samples
            layout = header
            continue
        _check_files(path.parent, header.file_name or (), name, hint)
        files += header.file_name or []
        segments.append((seg, int(length), signals, tuple(header.units or ["mV"] * len(signals))))
    if layout is not None:
        sig_name = tuple(layout.sig_name or ())
        units = tuple(layout.units or ["mV"] * len(sig_name))
    else:
        sig_name, units = _fixed_layout(name, segments)
    _same_units(name, sig_name, units, segments)
    return Header(float(master.fs), int(master.sig_len) if master.sig_len else None, sig_name, units,
                  tuple(master.comments or ()), tuple(dict.fromkeys(files)), tuple(s[:3] for s in segments))


def _fixed_layout(name: str, segments) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The signals every segment of a fixed layout has, or the one line saying which segment differs."""
    real = [s for s in segments if s[0] != "~"]
    if not real:
        raise ValueError(f"record {name!r} is a multi-segment record with no segment that holds samples")
    first = real[0]
    for seg in real[1:]:
        if seg[2] != first[2]:
            raise ValueError(
                f"record {name!r} cannot be read as one signal: its segments have different signals "
                f"({first[0]}: {', '.join(first[2])}; {seg[0]}: {', '.join(seg[2])}) and it has no layout header "
                "(a first segment of length 0) saying which is which")
    return first[2], first[3]


def _same_units(name: str, sig_name, units, segments) -> None:
    for seg, _, signals, seg_units in (s for s in segments if s[0] != "~"):
        for signal, unit in zip(signals, seg_units):
            if signal in sig_name and unit != units[sig_name.index(signal)]:
                raise ValueError(
                    f"record {name!r} cannot be read as one signal: {signal} is in {unit} in segment {seg} but in "
                    f"{units[sig_name.index(signal)]} in its layout")


def channel_index(header: Header, channel, name: str) -> int:
    """The index of the lead to read: ``channel`` by name or index, else MLII when present, else 0.

    Raises
    ------
    ValueError
        No such channel (the message lists the record's).

    Examples
    --------
    >>> channel_index(Header(360.0, 10, ("V5", "MLII"), ("mV", "mV")), None, "x")
    1
    """
    names = list(header.sig_name)
    if channel is None:
        return names.index(PREFERRED_CHANNEL) if PREFERRED_CHANNEL in names else 0
    if isinstance(channel, (int, np.integer)) or str(channel).isdigit():
        index = int(channel)
        if 0 <= index < len(names):
            return index
    elif str(channel) in names:
        return names.index(str(channel))
    raise ValueError(f"record {name!r} has no channel {channel!r}; its channels are {', '.join(names)} (or 0..{len(names) - 1})")


def read_signal(path: Path, channel_index: int, sampfrom: int = 0, sampto: int | None = None) -> np.ndarray:
    """Samples ``[sampfrom, sampto)`` of one lead of the record at ``path`` (one or many segments), float64 in
    physical units; NaN where the record has no valid sample."""
    import wfdb

    try:
        data = wfdb.rdrecord(str(path), channels=[channel_index], sampfrom=sampfrom, sampto=sampto)
    except Exception as error:
        raise ValueError(f"cannot read signal of record {path} ({type(error).__name__}: {error}); is the .dat corrupt?") from None
    return np.ascontiguousarray(data.p_signal[:, 0], dtype=np.float64)
