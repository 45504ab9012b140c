"""Long records in bounded memory: :func:`ecgseg.segment` chunk by chunk, giving exactly the same beats.

A chunk is a whole number of ``window_s`` windows of the resampled signal,
read from the record with a margin on both sides. What in :func:`segment` is
not local to a window, and how it stays exact here:

- Resampling filters across chunk edges: each chunk reads the input its
  output samples depend on (:func:`ecgseg.signal.resample_span`, the filter's
  reach on both sides) and computes exactly those output samples, bit for
  bit the whole record's (:func:`ecgseg.signal.resample_part`, at the
  whole record's exact rate ratio).
- Windows with fewer than two rule peaks take the median T of all the
  record's windows: their beats are cut as long as they can be (``length`` or
  the window end) and trimmed to ``period_factor`` * T once the last chunk
  has given the median ("cut long, trim later").
- The opt-in ``refractory_s`` guard suppresses peaks across window edges:
  each region's last window is held back until the next region's peaks are
  known (only the last kept peak can still be replaced).
- Labels match beats to reference annotations one to one: that runs once at
  the end, on all R-peaks.

Memory: one chunk's work arrays, 8 bytes per window and about 24 bytes per
beat; the segments themselves go to a spool file, and from there either into
one array (:func:`segment_chunked`) or straight into a ``.npz``
(:func:`write_record_beats`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from functools import partial

import numpy as np

from . import _kernels
from .beats import Beats, check_scheme, cut_beats, no_period_error, pre_samples, segment_lengths, window_periods
from .beatfile import beat_arrays, save_beats
from .database import annotated_beats
from .labels import label_beats
from .peaks import rescale_indices, rule_peaks
from .records import DEFAULT_DB, _channel_index, _read_header, read_annotations, read_signal, record_path
from .signal import (
    normalize_windows,
    output_rate,
    resample_part,
    resample_span,
    resampled_length,
    validate_rate,
    window_length,
)

__all__ = ["segment_chunked", "segment_record_chunked", "write_record_beats", "DEFAULT_CHUNK_S"]

#: Ten minutes of signal per chunk: about 1.7 MB of float64 at 360 Hz.
DEFAULT_CHUNK_S = 600.0
#: A period long enough that a beat is cut to its full ``length`` or its window end (trimmed later).
_LONG_PERIOD = 2.0**40


def _plan(n_samples: int, fs: float, fs_out: float, window: int, chunk_s: float, window_s: float):
    """Chunks as ``(a, b, s0, s1)``: output samples [a, b), resampled from input [s0, s1)."""
    n_out = resampled_length(n_samples, fs, fs_out)
    chunk_out = max(1, int(chunk_s // window_s)) * window
    for a in range(0, n_out, chunk_out):
        b = min(n_out, a + chunk_out)
        yield (a, b, *resample_span(a, b, n_samples, fs, fs_out))


class _Spool:
    """Beats gathered chunk by chunk: segments in an anonymous temporary file, the rest in memory."""

    def __init__(self, length: int, spool_dir=None):
        self.length = length
        self.file = tempfile.TemporaryFile(dir=spool_dir)
        self.n_beats = 0
        self.parts: dict[str, list[np.ndarray]] = {"r_peaks": [], "positions": [], "periods": []}

    def add(self, segments, r_peaks, positions, periods):
        self.file.write(np.ascontiguousarray(segments, dtype=np.float32).tobytes())
        self.n_beats += segments.shape[0]
        for key, value in (("r_peaks", r_peaks), ("positions", positions), ("periods", periods)):
            self.parts[key].append(value)

    def joined(self, key: str, dtype) -> np.ndarray:
        return np.concatenate(self.parts[key]).astype(dtype) if self.parts[key] else np.empty(0, dtype)

    def trim(self, rows: np.ndarray, lengths: np.ndarray, block_rows: int = 4096) -> None:
        """Zero row ``rows[i]`` (sorted) from column ``lengths[i]`` on: rows cut long before T was known.

        A block of rows at a time, read and written in place (a memory map of
        the whole spool would count its pages in the process's memory).
        """
        self.file.flush()
        fd, row_bytes = self.file.fileno(), self.length * 4
        for first in range(0, self.n_beats, block_rows):
            i0, i1 = np.searchsorted(rows, [first, first + block_rows])
            if i0 == i1:
                continue
            n = min(block_rows, self.n_beats - first)
            block = np.frombuffer(os.pread(fd, n * row_bytes, first * row_bytes), dtype=np.float32).reshape(n, self.length).copy()
            local = rows[i0:i1] - first
            block[local] = np.where(np.arange(self.length) < lengths[i0:i1, None], block[local], 0.0)
            os.pwrite(fd, block.tobytes(), first * row_bytes)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_beats, self.length)

    dtype = np.float32

    def blocks(self, block_rows: int = 4096):
        """The rows, a block at a time (for :func:`ecgseg.beatfile.save_beats`)."""
        self.file.flush()
        for first in range(0, self.n_beats, block_rows):
            n = min(block_rows, self.n_beats - first)
            yield np.frombuffer(os.pread(self.file.fileno(), n * self.length * 4, first * self.length * 4), np.float32)

    def segments(self) -> np.ndarray:
        self.file.seek(0)
        return np.fromfile(self.file, dtype=np.float32, count=self.n_beats * self.length).reshape(self.n_beats, self.length)

    def close(self):
        self.file.close()


def _normalized_chunks(read, n_samples, fs, *, chunk_s, fs_out, window_s):
    """Yield ``(a, x_normalized)``: output samples [a, a + len) resampled and scaled per window, as the whole record's."""
    window = window_length(fs_out, window_s)
    lo, hi = np.inf, -np.inf
    for a, b, s0, s1 in _plan(n_samples, fs, fs_out, window, chunk_s, window_s):
        raw = np.ascontiguousarray(read(s0, s1), dtype=np.float64)
        if raw.shape[0] != s1 - s0:
            raise ValueError(f"reading samples {s0}..{s1} gave {raw.shape[0]} samples, expected {s1 - s0}")
        n_bad = int(np.count_nonzero(~np.isfinite(raw)))
        if n_bad:
            raise ValueError(f"signal has {n_bad} NaN or infinite samples in {s0}..{s1}; fill or cut the gaps before segmenting")
        lo, hi = min(lo, raw.min()), max(hi, raw.max())
        x = resample_part(raw, fs, fs_out, start=s0, n_samples=n_samples, out_start=a, out_stop=b)
        x_normalized, _, _ = normalize_windows(x, window)
        yield a, x_normalized
    if lo == hi:
        raise ValueError(f"signal is flat (every sample is {lo!r}); there are no beats to find")


def _with_rule_peaks(chunks, window: int, threshold: float, refractory: int | None):
    """Yield ``(a, x_normalized, rule)``: each region with the rule's peaks in it, as on the whole record.

    With a refractory distance (at most a window), only the last kept peak can
    still be replaced by a later one, and it lies in the region's last window:
    that window is held back and goes first into the next region.
    """
    held = None  # (a, x_normalized, kept peaks) of the held-back window
    for a, x_normalized in chunks:
        peaks = rule_peaks(x_normalized, window, threshold=threshold)
        if refractory is None:
            yield a, x_normalized, peaks
            continue
        if held is not None:
            a, x_held, kept = held
            peaks = np.concatenate([kept, peaks + x_held.shape[0]])
            x_normalized = np.concatenate([x_held, x_normalized])
        peaks = _kernels.suppress_close_peaks(peaks, x_normalized, refractory)  # kept peaks pass through unchanged
        cut = (x_normalized.shape[0] - 1) // window * window  # start of the last (maybe short) window
        held = (a + cut, x_normalized[cut:], peaks[peaks >= cut] - cut)
        if cut:
            yield a, x_normalized[:cut], peaks[peaks < cut]
    if held is not None:
        yield held


def _segment_into(spool, read, n_samples, fs, positions, r_given, *, chunk_s, fs_out, window_s, threshold, refractory, period_factor, length, period, pre):
    """Fill ``spool`` region by region; returns (periods of all windows, window length). See the module notes."""
    window = window_length(fs_out, window_s)
    periods = []
    chunks = _normalized_chunks(read, n_samples, fs, chunk_s=chunk_s, fs_out=fs_out, window_s=window_s)
    for a, x_normalized, rule in _with_rule_peaks(chunks, window, threshold, refractory):
        if positions is None:  # cut at the rule's peaks
            local, r_peaks = rule, rescale_indices(rule + a, fs_out, fs)
        else:
            i0, i1 = np.searchsorted(positions, [a, a + x_normalized.shape[0]])
            local, r_peaks = positions[i0:i1] - a, r_given[i0:i1]
        n_windows = -(-x_normalized.shape[0] // window)
        region_periods, _ = window_periods(rule if period == "rule" else local, window, n_windows, fallback=False)
        beat_periods = region_periods[local // window]
        cut_periods = np.where(np.isnan(beat_periods), _LONG_PERIOD, beat_periods)
        segments = cut_beats(x_normalized, local, cut_periods, window, period_factor=period_factor, length=length, pre=pre)
        spool.add(segments, r_peaks, local + a, beat_periods)
        periods.append(region_periods)
    return np.concatenate(periods), window


def _resolve_fallbacks(spool, window_periods_all, window, *, period_factor, window_s, period, pre):
    """The record's median T for windows without one: trim the beats cut long. Returns (periods, n_fallback)."""
    periods = spool.joined("periods", np.float64)
    missing = np.isnan(window_periods_all)
    n_fallback = int(np.count_nonzero(missing))
    fallback_beats = np.flatnonzero(np.isnan(periods))
    if fallback_beats.size:
        if n_fallback == window_periods_all.size:
            raise no_period_error(window_s, period)
        median = np.median(window_periods_all[~missing])
        positions = spool.joined("positions", np.int64)[fallback_beats]
        lengths = segment_lengths(positions, np.full(fallback_beats.size, median), window, period_factor=period_factor, pre=pre)
        spool.trim(fallback_beats, np.maximum(lengths, 0))
        periods[fallback_beats] = median
    return periods, n_fallback


def _run(
    read, n_samples, fs, peaks, spool, *, chunk_s=DEFAULT_CHUNK_S, fs_out=125.0, window_s=10.0, threshold=0.9,
    period_factor=1.2, length=187, refractory_s=None, period="rule", pre_r_s=0.0,
):
    """Validate like :func:`segment`, fill ``spool``, and return the other fields of :class:`Beats`."""
    validate_rate(fs)
    check_scheme(n_samples, fs, window_s, period)
    fs_out = output_rate(fs, fs_out)  # as asked unless the rate ratio had to be bounded, as in segment
    window = window_length(fs_out, window_s)
    pre = pre_samples(pre_r_s, fs_out)
    refractory = None if refractory_s is None else int(round(refractory_s * fs_out))
    if refractory is not None and refractory <= 1:
        refractory = None  # as rule_peaks: no suppression
    if refractory is not None and refractory > window:
        raise ValueError(f"refractory_s={refractory_s} is longer than a {window_s:g} s window; chunks need it shorter")
    if chunk_s <= 0:
        raise ValueError(f"chunk_s must be a positive number of seconds, got {chunk_s!r}")
    positions = r_given = None
    if not isinstance(peaks, str):
        r_given = np.sort(np.asarray(peaks).astype(np.int64))
        if r_given.size and (r_given[0] < 0 or r_given[-1] >= n_samples):
            raise ValueError(f"peaks must lie in [0, {n_samples}), got {r_given[0]}..{r_given[-1]}")
        positions = np.minimum(rescale_indices(r_given, fs, fs_out), resampled_length(n_samples, fs, fs_out) - 1)
    elif peaks != "rule":
        raise ValueError(
            f"peaks={peaks!r} cannot run in chunks (only the window-local 'rule' or given positions can); "
            "segment the whole record, without chunk_s"
        )
    all_periods, window = _segment_into(
        spool, read, n_samples, fs, positions, r_given, chunk_s=chunk_s, fs_out=fs_out, window_s=window_s,
        threshold=threshold, refractory=refractory, period_factor=period_factor, length=length, period=period, pre=pre,
    )
    periods, n_fallback = _resolve_fallbacks(
        spool, all_periods, window, period_factor=period_factor, window_s=window_s, period=period, pre=pre
    )
    return dict(
        r_peaks=spool.joined("r_peaks", np.int64),
        windows=spool.joined("positions", np.int64) // window,
        periods_s=periods / fs_out,
        fs=float(fs),
        fs_out=float(fs_out),
        n_windows=int(all_periods.size),
        n_fallback_windows=n_fallback,
        pre_r_s=float(pre_r_s),
        peaks=peaks if isinstance(peaks, str) else "given",
    )


def segment_chunked(
    read: Callable[[int, int], np.ndarray],
    n_samples: int,
    fs: float,
    *,
    peaks="rule",
    chunk_s: float = DEFAULT_CHUNK_S,
    spool_dir: str | os.PathLike | None = None,
    **params,
) -> Beats:
    """:func:`ecgseg.segment` on a signal read piece by piece: the same beats, with one chunk in memory at a time.

    Parameters
    ----------
    read : callable
        ``read(start, stop)`` returns samples ``[start, stop)`` of one lead,
        float in physical units (e.g. wfdb's ``rdrecord(sampfrom, sampto)``).
    n_samples : int
        Length of the whole signal.
    fs : float
        Its sampling rate in Hz.
    peaks : "rule" or array_like of int
        The rule's peaks (default) or R-peak sample indices at ``fs``. Other
        detectors are not window-local and need the whole signal.
    chunk_s : float
        Seconds of signal per chunk, rounded down to whole windows (at least one).
    spool_dir : path, optional
        Folder for the temporary segment file (default: the system's temp folder).
    **params
        ``fs_out``, ``window_s``, ``threshold``, ``period_factor``, ``length``,
        ``period``, ``refractory_s`` as for :func:`ecgseg.segment`
        (``refractory_s`` at most one window).

    Returns
    -------
    Beats
        Equal, array for array, to ``segment(signal, fs, peaks=peaks, **params)``.

    Raises
    ------
    ValueError
        As :func:`ecgseg.segment`; NaNs are reported with the chunk's sample range.

    Examples
    --------
    >>> import numpy as np, ecgseg
    >>> fs = 360; t = np.arange(95 * fs) / fs
    >>> ecg = np.exp(-((t % 0.8) - 0.1) ** 2 / 2e-4)
    >>> chunked = segment_chunked(lambda a, b: ecg[a:b], ecg.size, fs, chunk_s=25)
    >>> whole = ecgseg.segment(ecg, fs)
    >>> np.array_equal(chunked.segments, whole.segments), np.array_equal(chunked.r_peaks, whole.r_peaks)
    (True, True)
    """
    spool = _Spool(params.get("length", 187), spool_dir)
    try:
        fields = _run(read, int(n_samples), fs, peaks, spool, chunk_s=chunk_s, **params)
        return Beats(segments=spool.segments(), **fields)
    finally:
        spool.close()


def _record_run(spool, record, db, data_dir, channel, peaks, tolerance_s, chunk_s, params):
    path = record_path(record, db, data_dir)
    header = _read_header(path, db)
    index = _channel_index(header, channel, path)
    if not header.sig_len:
        raise ValueError(f"header {path}.hea does not give the number of samples, which chunked reading needs; read it whole (no chunk_s)")
    n_samples, fs = int(header.sig_len), float(header.fs)
    ann_samples, ann_symbols = read_annotations(path)
    method = peaks if isinstance(peaks, str) else "given"
    if method == "annotations":
        peaks = annotated_beats(path.name, ann_samples, ann_symbols, n_samples)
    fields = _run(partial(read_signal, path, index), n_samples, fs, peaks, spool, chunk_s=chunk_s, **params)
    fields["peaks"] = method
    if ann_samples is not None:
        fields["labels"], fields["n_missed"] = label_beats(fields["r_peaks"], ann_samples, ann_symbols, fs, tolerance_s)
    return path.name, fields


def segment_record_chunked(
    record: str | os.PathLike,
    db: str = DEFAULT_DB,
    *,
    data_dir=None,
    channel: str | int | None = None,
    peaks="rule",
    tolerance_s: float = 0.15,
    chunk_s: float = DEFAULT_CHUNK_S,
    **params,
) -> Beats:
    """Segment and label a WFDB record read in chunks: the same as ``segment_record(read_record(record))``.

    Parameters
    ----------
    record, db, data_dir, channel
        As for :func:`ecgseg.read_record`.
    peaks : {"rule", "annotations"} or array_like of int
        As for :func:`ecgseg.segment_record` (no other detector).
    tolerance_s : float
        A beat takes the class of the reference beat within this distance.
    chunk_s : float
        Seconds read at a time (rounded down to whole windows).
    **params
        Passed to :func:`segment_chunked`.

    Returns
    -------
    Beats
        With ``labels`` and ``n_missed`` when the record has annotations.

    Examples
    --------
    >>> beats = segment_record_chunked("100", data_dir=DATA, chunk_s=300)
    >>> beats.segments.shape
    (1073, 187)
    """
    spool = _Spool(params.get("length", 187), params.pop("spool_dir", None))
    try:
        _, fields = _record_run(spool, record, db, data_dir, channel, peaks, tolerance_s, chunk_s, params)
        return Beats(segments=spool.segments(), **fields)
    finally:
        spool.close()


def write_record_beats(
    path: str | os.PathLike,
    record: str | os.PathLike,
    db: str = DEFAULT_DB,
    *,
    data_dir=None,
    channel: str | int | None = None,
    peaks="rule",
    tolerance_s: float = 0.15,
    chunk_s: float = DEFAULT_CHUNK_S,
    **params,
) -> dict:
    """Segment a WFDB record in chunks straight into a ``.npz`` beat file, never holding all its segments.

    The file has the keys of :data:`ecgseg.beatfile.KEYS` and is
    written atomically (nothing at ``path`` if segmentation fails).

    Returns
    -------
    dict
        ``record``, ``n_beats``, ``n_missed`` (None without annotations) and ``n_short``.

    Examples
    --------
    >>> write_record_beats("100.npz", "100", data_dir="../shared/data")  # doctest: +SKIP
    {'record': '100', 'n_beats': 1073, 'n_missed': 1201, 'n_short': 0}
    """
    spool = _Spool(params.get("length", 187), params.pop("spool_dir", None))
    try:
        name, fields = _record_run(spool, record, db, data_dir, channel, peaks, tolerance_s, chunk_s, params)
        beats = Beats(segments=spool, **fields)  # the segments stay on disk; save_beats copies them block by block
        save_beats(path, beat_arrays(beats, name))
    finally:
        spool.close()
    return {"record": name, "n_beats": len(beats), "n_missed": beats.n_missed, "n_short": beats.n_short}
