"""The segmentation scheme of Kachuee, Fazeli & Sarrafzadeh (2018) over a whole signal or in chunks: one code path.

1. resample to ``fs_out`` (125 Hz); 2. cut ``window_s`` (10 s) windows; 3. min-max scale each window to [0, 1];
4. local maxima = zero crossings of the first difference; 5. R-peak candidates = maxima above ``threshold``
(0.9); 6. T = median R-R interval of the window; 7. from each R-peak take ``period_factor`` * T (1.2 T)
samples; 8. zero-pad or truncate to ``length`` (187).

Decisions the paper leaves open, made here:

- Window edges: windows start at sample 0 of the resampled signal; the last window holds the remainder
  (shorter than ``window_s``) and is scaled on its own. The derivative is taken within a window, so no peak
  sits on a window's first or last sample, and a segment never runs past the end of its window (it is
  zero-padded instead), because each window has its own scaling.
- Windows with fewer than two R-peaks have no T of their own: they use the median of the other windows' T.
- Flat windows (max == min) scale to zeros and yield no peaks.
- T comes from the rule's peaks per window even when beats are cut at other positions
  (``peaks="annotations"`` or another detector), unless ``period="peaks"``.
- Known weakness, kept by default: two maxima on one QRS complex can both pass 0.9, so T collapses to a few
  samples and the beat comes out nearly empty. :attr:`Beats.n_short` counts such beats; ``refractory_s`` is
  an opt-in guard.

A whole signal is one region; with ``chunk_s`` it is read in regions of whole windows, and what is not local
to a window stays exact: each region is resampled from the input it depends on
(:func:`ecgseg.signal.resample_part`, bit for bit the whole signal's); windows without a T are cut long and
trimmed once every window's T is known ("cut long, trim later"); the ``refractory_s`` guard holds a region's
last window back until the next region's peaks are known. The beats are therefore the same, array for array,
whole or in chunks of any size.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

import numpy as np

from . import _kernels
from .beats import Beats, cut_beats, segment_lengths, segment_spans, window_periods
from .peaks import DETECTIONS, DETECTORS, rescale_indices, rule_peaks
from .gaps import Filled, Stretch, describe_gaps, find_gaps, gap_error, valid_stretches
from .scheme import DEFAULTS, RECOMMENDED_PEAKS, Scheme
from .signal import (
    normalize_windows,
    output_rate,
    resample_part,
    resample_span,
    resampled_length,
    validate_rate,
    validate_signal,
    window_length,
)
from .terms import say, setting

__all__ = ["segment", "Spool"]

#: A period long enough that a beat is cut to its full ``length`` or its window end (trimmed later).
_LONG_PERIOD = 2.0**40


class Spool(contextlib.AbstractContextManager):
    """Segments gathered region by region in an anonymous temporary file: a few MB in memory however many beats.

    Pass one to :func:`segment` to keep the segments on disk: ``Beats.segments`` is then the spool itself
    (``shape``, ``dtype``, ``blocks()``), which :func:`ecgseg.beatfile.save_beats` copies into a beat file
    block by block. Use it as a context manager: the file goes when the block ends.
    """

    dtype = np.float32

    def __init__(self, spool_dir: str | os.PathLike | None = None):
        self.file = tempfile.TemporaryFile(dir=spool_dir)
        self.length, self.n_beats = 0, 0

    def __exit__(self, *exc):
        self.file.close()

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_beats, self.length)

    def add(self, segments: np.ndarray) -> None:
        self.file.write(np.ascontiguousarray(segments, dtype=np.float32).tobytes())
        self.n_beats += segments.shape[0]

    def blocks(self, block_rows: int = 4096):
        """The rows, ``block_rows`` at a time, read with ``pread`` (a memory map would count as the process's memory)."""
        self.file.flush()
        row = self.length * 4
        for first in range(0, self.n_beats, block_rows):
            n = min(block_rows, self.n_beats - first)
            yield np.frombuffer(os.pread(self.file.fileno(), n * row, first * row), np.float32).reshape(n, self.length)

    def trim(self, rows: np.ndarray, lengths: np.ndarray, block_rows: int = 4096) -> None:
        """Zero row ``rows[i]`` (sorted) from column ``lengths[i]`` on, a block of rows at a time, in place."""
        fd = self.file.fileno()
        for first, block in zip(range(0, self.n_beats, block_rows), self.blocks(block_rows)):
            i0, i1 = np.searchsorted(rows, [first, first + block.shape[0]])
            if i0 < i1:
                block = _trimmed(block.copy(), rows[i0:i1] - first, lengths[i0:i1])
                os.pwrite(fd, block.tobytes(), first * self.length * 4)

    def load(self) -> np.ndarray:
        """All rows in one (n_beats, length) float32 array."""
        self.file.seek(0)
        return np.fromfile(self.file, dtype=np.float32, count=self.n_beats * self.length).reshape(self.shape)


class _Memory:
    """Segments gathered region by region in memory (a whole signal, already in memory)."""

    def __init__(self):
        self.parts, self.length = [], 0

    def add(self, segments: np.ndarray) -> None:
        self.parts.append(segments)

    def load(self) -> np.ndarray:
        if len(self.parts) == 1:
            return self.parts[0]
        return np.concatenate(self.parts) if self.parts else np.empty((0, self.length), np.float32)

    def trim(self, rows: np.ndarray, lengths: np.ndarray) -> None:
        self.parts = [_trimmed(self.load(), rows, lengths)]


def _trimmed(block: np.ndarray, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    block[rows] = np.where(np.arange(block.shape[1]) < lengths[:, None], block[rows], 0.0)
    return block


def _regions(read, n_samples, fs, fs_out, window, chunk_out, extent=None):
    """Yield ``(a, x_normalized)``: output samples [a, a + len) resampled and scaled per window, as the whole signal's.

    With ``extent`` (a signal read piece by piece), each piece is checked for gaps and its range is added to
    ``extent`` (``[lowest, highest]``), for the flat check once every piece is read.
    """
    n_out = resampled_length(n_samples, fs, fs_out)
    for a in range(0, n_out, chunk_out):
        b = min(n_out, a + chunk_out)
        s0, s1 = resample_span(a, b, n_samples, fs, fs_out)
        raw = np.ascontiguousarray(read(s0, s1), dtype=np.float64)
        if raw.shape[0] != s1 - s0:
            raise ValueError(f"reading samples {s0}..{s1} gave {raw.shape[0]} samples, expected {s1 - s0}")
        if extent is not None:
            if not np.isfinite(raw).all():
                raise _GapsFound
            extent[0], extent[1] = min(extent[0], raw.min()), max(extent[1], raw.max())
        x = resample_part(raw, fs, fs_out, start=s0, n_samples=n_samples, out_start=a, out_stop=b)
        yield a, normalize_windows(x, window)[0]


class _GapsFound(Exception):
    """A signal read in chunks has a gap (found on the way: the whole signal is then searched for the message)."""


def _with_rule_peaks(regions, window: int, threshold: float, refractory: int | None):
    """Yield ``(a, x_normalized, rule)``: each region with the rule's peaks in it, as on the whole signal.

    With a refractory distance (at most a window), only the last kept peak can still be replaced by a later
    one, and it lies in the region's last window: that window is held back and goes first into the next region.
    """
    held = None  # (a, x_normalized, kept peaks) of the held-back window
    for a, x_normalized in regions:
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


def _given_peaks(peaks, n_samples: int) -> np.ndarray:
    """R-peak sample indices given by the caller, checked and sorted."""
    r_peaks = np.asarray(peaks)
    if r_peaks.ndim != 1 or (r_peaks.size and r_peaks.dtype.kind not in "iu"):
        raise ValueError(f"peaks must be a 1-D array of integer sample indices, got {r_peaks.dtype} {r_peaks.shape}")
    r_peaks = np.sort(r_peaks.astype(np.int64))
    if r_peaks.size and (r_peaks[0] < 0 or r_peaks[-1] >= n_samples):
        raise ValueError(f"peaks must lie in [0, {n_samples}), got {r_peaks[0]}..{r_peaks[-1]}")
    return r_peaks


def _scan(peaks, quality, read, n_samples: int, fs: float, chunk_s, detector_params: dict):
    """The R-peak detector and the quality detector over the lead in one pass, or None when neither is wanted.

    Wanted for a detector with a streaming form (``peaks.DETECTIONS``: its R-peaks, polarity and flutter
    stretches come from here, whole or in chunks) and whenever quality is measured (by default for every cut
    but the rule's, the paper's fast path). Below :data:`ecgseg.detector.MIN_FS` the detectors cannot run.
    """
    from .detector import MIN_FS

    detecting = isinstance(peaks, str) and peaks in DETECTIONS
    if quality is None:
        quality = not (isinstance(peaks, str) and peaks == "rule") and fs >= MIN_FS
    if not (detecting or quality):
        return None
    from .quality import scan_quality

    step = max(1, int(chunk_s * fs)) if chunk_s is not None else n_samples
    chunks = (read(a, min(a + step, n_samples)) for a in range(0, n_samples, step))
    return scan_quality(chunks, fs, **(detector_params if detecting else {}))


def _looks_inverted(signal, n_samples: int, fs: float) -> bool:
    """The lead's polarity when no detector ran over it whole: False where it cannot be measured (below
    :data:`ecgseg.detector.MIN_FS`)."""
    from .detector import MIN_FS, looks_inverted

    if fs < MIN_FS:
        return False
    return looks_inverted(lambda a, b: np.asarray(signal[a:b], dtype=np.float64), n_samples, fs)


def _lead_notes(inverted: bool, stretches, flipped: bool, peaks, fs: float) -> tuple[str, ...]:
    """What the detector saw that the summary and the beat file must say: an inverted lead, flutter stretches."""
    notes = []
    detected = isinstance(peaks, str) and peaks in DETECTIONS
    if inverted:
        if flipped:
            notes.append("lead inverted (QRS pointing down): cut from the upright signal")
        elif detected:
            notes.append("lead inverted (QRS pointing down) and cut as it is (polarity 'keep'): segments upside down")
        elif isinstance(peaks, str) and peaks == "rule":
            notes.append("lead looks inverted (QRS pointing down): the paper's rule cuts at maxima, so its beats sit "
                         f"off the QRS; {setting('peaks', RECOMMENDED_PEAKS)} cuts it upright")
        else:
            notes.append("lead inverted (QRS pointing down) and cut as it is: cuts at given or reference positions "
                         "keep the record's polarity")
    if stretches.size:
        seconds = float((stretches[:, 1] - stretches[:, 0]).sum()) / fs
        where = "no beats cut there" if detected else "its beats have quality 0"
        plural = "es" if len(stretches) > 1 else ""
        notes.append(f"ventricular flutter/fibrillation in {len(stretches)} stretch{plural} ({seconds:.0f} s): {where}")
    return tuple(notes)


def _signal_length(signal) -> int:
    """The length of a signal read in chunks, checked as :func:`ecgseg.signal.validate_signal` checks a whole one."""
    if len(signal.shape) != 1:
        raise ValueError(f"signal must be 1-D (one lead), got shape {signal.shape}; pick one channel, e.g. signal[:, 0]")
    dtype = np.dtype(getattr(signal, "dtype", np.float64))
    if dtype.kind != "f":
        raise ValueError(f"signal has dtype {dtype}, expected float in physical units (mV); "
                         "convert it, e.g. signal.astype(float) or wfdb's p_signal")
    if signal.shape[0] == 0:
        raise ValueError("signal is empty")
    return int(signal.shape[0])


def segment(
    signal,
    fs: float,
    *,
    peaks="rule",
    chunk_s: float | None = None,
    spool: Spool | None = None,
    fs_out: float = DEFAULTS.fs_out,
    window_s: float = DEFAULTS.window_s,
    threshold: float = DEFAULTS.threshold,
    period_factor: float = DEFAULTS.period_factor,
    length: int = DEFAULTS.length,
    refractory_s: float | None = DEFAULTS.refractory_s,
    period: str = DEFAULTS.period,
    pre_r_s: float = DEFAULTS.pre_r_s,
    polarity: str = DEFAULTS.polarity,
    quality: bool | None = None,
    gaps: str = DEFAULTS.gaps,
    **detector_params,
) -> Beats:
    """Cut one ECG lead into fixed-length beats with the Kachuee et al. (2018) scheme, whole or in chunks.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) float
        One lead in physical units, at least ``window_s`` long. With ``chunk_s``, anything 1-D that slices
        (``signal[a:b]``) is read a chunk at a time: a ``numpy.memmap``, an HDF5 dataset, a record on disk
        (:attr:`ecgseg.records.RecordReader.signal`).
    fs : float
        Its sampling rate in Hz (any rate; it is resampled to ``fs_out``).
    peaks : str or array_like of int
        Where beats are cut: ``"rule"`` (the paper's detector, default), another detector's name from
        :data:`ecgseg.peaks.DETECTORS` (in chunks: those in :data:`ecgseg.peaks.DETECTIONS`), or R-peak sample indices at ``fs`` (e.g.
        reference annotations).
    chunk_s : float, optional
        Read and cut the signal this many seconds at a time (rounded down to whole windows, at least one):
        the same beats, array for array, with one chunk's work arrays in memory. ``refractory_s`` must then
        be at most one window.
    spool : Spool, optional
        Gather the segments in this temporary file instead of memory; ``Beats.segments`` is then the spool
        (for :func:`ecgseg.beatfile.save_beats`). By default they come back as one array.
    fs_out, window_s, threshold, period_factor, length
        The scheme's constants: 125 Hz, 10 s, 0.9, 1.2 and 187 samples (:class:`ecgseg.scheme.Scheme`).
    refractory_s : float, optional
        Off by default (faithful). When set, rule candidates closer than this keep only the highest, so one
        QRS is not taken for two beats.
    period : {"rule", "peaks"}
        Take T from the rule's peaks per window (default), or from ``peaks``.
    pre_r_s : float
        Start each segment this long before its R-peak, so the P wave is in it (e.g. 0.25); 0 is the paper's
        scheme. The segment then spans ``pre_r_s`` + 1.2 T, within the window, padded to ``length``.
    polarity : {"auto", "keep"}
        ``"auto"``: when the beats are cut at a detector's peaks (``"hamilton"``) and it finds the lead
        inverted, cut ``-signal`` (T, the rule's peaks for T, and the segments), so beats come out upright;
        ``"keep"``: as it is. Cuts at reference or given positions and the rule's keep the record's polarity (as
        the published heartbeat dataset did); their polarity is measured all the same (without a detector over
        the whole lead: :func:`ecgseg.detector.looks_inverted`, a few % of the rule's time), kept in
        :attr:`Beats.inverted`, and an inverted lead is said in :attr:`Beats.notes`.
    quality : bool, optional
        Measure each beat's quality (:attr:`Beats.quality`, :mod:`ecgseg.quality`: one more pass of two
        detectors over the signal). Default: for every ``peaks`` but ``"rule"`` (the paper's fast path).
    gaps : {"error", "interpolate", "split"}
        What to do with stretches of NaN (or infinite) samples (:mod:`ecgseg.gaps`): refuse (default), fill them
        linearly, or segment each valid stretch on its own (no window, T or beat crosses a gap; stretches shorter
        than a window give no beats). ``Beats.notes`` says what was done.
    **detector_params
        Passed to a named detector other than ``"rule"``.

    Returns
    -------
    Beats

    Raises
    ------
    ValueError
        Bad signal (not 1-D float, gaps of NaN with ``gaps="error"``, flat, shorter than one window), bad ``fs``,
        scheme keyword or ``peaks``, a detector asked to run in chunks, or no window with two R-peaks to estimate T.

    Examples
    --------
    >>> import numpy as np
    >>> fs = 360; t = np.arange(95 * fs) / fs
    >>> ecg = np.exp(-((t % 0.8) - 0.1) ** 2 / 2e-4)  # one narrow peak every 0.8 s
    >>> beats = segment(ecg, fs)
    >>> beats.segments.shape[1], beats.segments.dtype, round(float(np.median(beats.periods_s)), 2)
    (187, dtype('float32'), 0.8)
    >>> chunked = segment(ecg, fs, chunk_s=25)
    >>> np.array_equal(chunked.segments, beats.segments), np.array_equal(chunked.r_peaks, beats.r_peaks)
    (True, True)
    """
    scheme = Scheme(fs_out=fs_out, window_s=window_s, threshold=threshold, period_factor=period_factor, length=length,
                    refractory_s=refractory_s, period=period, pre_r_s=pre_r_s, polarity=polarity, gaps=gaps)
    validate_rate(fs)
    chunked = chunk_s is not None
    if chunked and not chunk_s > 0:
        raise ValueError(f"chunk_s must be a positive number of seconds, got {chunk_s!r}")
    signal, finite = (signal if hasattr(signal, "shape") else np.asarray(signal), None) if chunked else _whole(signal, fs)
    n_samples = _signal_length(signal)
    r_peaks = _given_peaks(peaks, n_samples) if not isinstance(peaks, str) else None
    if isinstance(peaks, str):
        _check_detector(peaks, chunked)
    rate = output_rate(fs, scheme.fs_out)  # as asked unless the rate ratio had to be bounded: then the one resampled
    window = window_length(rate, scheme.window_s)
    refractory = None if scheme.refractory_s is None else scheme.samples(scheme.refractory_s, rate)
    if refractory is not None and refractory <= 1:
        refractory = None  # as rule_peaks: no suppression
    if chunked and refractory is not None and refractory > window:
        raise ValueError(f"refractory_s={refractory_s} is longer than a {window_s:g} s window; chunks need it shorter")
    if finite:
        found = np.empty((0, 2), dtype=np.int64)
    else:  # a signal read in chunks without a choice about gaps is checked on the way
        found = find_gaps(signal, n_samples) if not chunked or scheme.gaps != "error" else None
    if found is not None and len(found) and scheme.gaps == "error":
        raise gap_error(found, fs, n_samples)
    filled = np.empty((0, 2), dtype=np.int64)  # no beat is cut in a filled gap: there was no signal
    if found is not None and len(found) and scheme.gaps == "interpolate":
        signal, filled = Filled(signal, found, n_samples), found
    stretches = valid_stretches(found, n_samples) if found is not None and scheme.gaps == "split" else [(0, n_samples)]
    long_enough = [(a, b) for a, b in stretches if b - a >= window_s * fs]
    if not len(stretches):
        raise ValueError(f"signal has no valid sample: all {n_samples} are NaN or infinite")
    if not long_enough:
        what = "signal" if list(map(tuple, stretches)) == [(0, n_samples)] else "the longest valid stretch between its gaps"
        longest = max(b - a for a, b in stretches)
        raise ValueError(f"{what} is {longest / fs:.2f} s long ({longest} samples at {fs} Hz); "
                         f"segmentation needs at least one {window_s:g} s window" + _shorter_window(longest / fs))
    scanned = _scan(peaks, quality, lambda a, b: np.asarray(signal[a:b], dtype=np.float64), n_samples, fs, chunk_s,
                    detector_params)
    detection = scanned.detection if scanned is not None else None
    detected = isinstance(peaks, str) and peaks in DETECTIONS
    if detected:  # a streaming detector's peaks come from the scan (it steps over NaN gaps)
        r_peaks = _given_peaks(detection.r_peaks, n_samples)
    # Only a detector's cut is turned upright: cuts at reference or given positions keep the record's polarity,
    # as the published heartbeat dataset (and the models trained on it) did.
    flipped = detection is not None and detection.inverted and scheme.polarity == "auto" and detected
    sign = -1.0 if flipped else 1.0  # T, the rule's peaks and the segments from the upright signal
    chunk_out = max(1, int(chunk_s // window_s)) * window if chunked else None
    extent = [np.inf, -np.inf]

    def parts():
        for a, b in long_enough:
            piece = signal if (a, b) == (0, n_samples) else Stretch(signal, a, b)
            if not chunked:
                piece = sign * np.ascontiguousarray(piece[0:b - a], dtype=np.float64)
                extent[0], extent[1] = min(extent[0], piece.min()), max(extent[1], piece.max())
            if r_peaks is not None:
                local = r_peaks[(r_peaks >= a) & (r_peaks < b) & ~_inside(r_peaks, filled)] - a
            elif peaks != "rule":  # a detector without a streaming form, on this stretch (whole signals only)
                local = _given_peaks(DETECTORS[peaks](piece, fs, **detector_params), b - a)
                local = local[~_inside(local + a, filled)]
            else:
                local = None
            if chunked:
                read = (lambda x, y, piece=piece: sign * np.asarray(piece[x:y], dtype=np.float64))
            else:
                read = (lambda x, y, piece=piece: piece[x:y])
            out = chunk_out or resampled_length(b - a, fs, rate)
            yield a, b - a, _regions(read, b - a, fs, rate, window, out, extent if chunked else None), local

    with contextlib.ExitStack() as stack:
        sink = spool if spool is not None else stack.enter_context(Spool()) if chunked else _Memory()
        sink.length = scheme.length
        try:
            fields = _run(parts(), sink, fs, rate, window, scheme, refractory, extent, filled)
        except _GapsFound:
            raise gap_error(find_gaps(signal, n_samples), fs, n_samples) from None
        segments = sink if spool is not None else sink.load()
    notes = _gap_notes(found, stretches, long_enough, fs, window_s, fields["r_peaks"],
                       None if isinstance(peaks, str) else r_peaks, scheme.gaps)
    if detection is not None:
        quality_values = scanned.at(fields["r_peaks"]) if quality is not False else None
        fields.update(quality=quality_values, vf_stretches=detection.vf_stretches, inverted=detection.inverted)
        notes += _lead_notes(detection.inverted, detection.vf_stretches, flipped, peaks, fs)
    else:  # no detector ran over the lead (the rule's fast path): its polarity from pieces, at a few % of the cost
        inverted = _looks_inverted(signal, n_samples, fs)
        fields.update(inverted=inverted)
        notes += _lead_notes(inverted, np.empty((0, 2), dtype=np.int64), False, peaks, fs)
    return Beats(segments=segments, **fields, duration_s=n_samples / fs, pre_r_s=float(pre_r_s),
                 peaks=peaks if isinstance(peaks, str) else "given", notes=notes)


def _whole(signal, fs: float) -> tuple[np.ndarray, bool]:
    """A whole signal as a 1-D float64 array (a record on disk is read), and whether it has no gap; checked as
    :func:`ecgseg.signal.validate_signal` checks one, gaps apart (``gaps=`` decides) and flatness too when it has some."""
    array = np.asarray(signal)
    if array.ndim == 1 and array.dtype.kind == "f" and array.size and np.isfinite(array).all():
        return validate_signal(array, fs), True  # the one check of a signal without gaps
    _signal_length(array)
    return np.ascontiguousarray(array, dtype=np.float64), False


#: The shortest window worth suggesting: T is the median R-R interval of a window, so it needs two beats or more.
_MIN_WINDOW_S = 2.0


def _shorter_window(seconds: float) -> str:
    """How to cut a signal shorter than a window: windows as long as it (whole seconds), when it can hold two beats."""
    if seconds < _MIN_WINDOW_S:
        return f"; at {seconds:.2f} s it is too short to hold the two beats a window's period T needs"
    return (f"; cut it in windows as long as it, {setting('window_s', float(np.floor(seconds)))} (each window's "
            "period T is the median R-R interval of its beats)")


def _check_detector(peaks: str, chunked: bool) -> None:
    """Refuse a name of ``peaks`` that is no detector, or one that cannot run in chunks."""
    if peaks == "rule":
        return
    if peaks == "annotations":
        raise ValueError(f"{setting('peaks', peaks)} cuts at a record's reference beats, which a signal does not "
                         "have: use ecgseg.segment_record(name, peaks='annotations'), or pass their sample indices as "
                         "peaks=")
    if peaks not in DETECTORS:
        names = ", ".join(repr(name) for name in DETECTORS)
        raise ValueError(f"unknown peaks {peaks!r}; give a detector ({names}) or R-peak sample indices (an integer "
                         "array)")
    if chunked and peaks not in DETECTIONS:
        streaming = " or ".join(["annotations", *sorted(DETECTIONS)])
        raise ValueError(
            f"{setting('peaks', peaks)} cannot run in chunks (only "
            + say(f"--peaks rule, {streaming}", f"peaks='rule', {', '.join(map(repr, sorted(DETECTIONS)))}, "
                  "'annotations' or given R-peaks")
            + f" can); read the record whole: drop {setting('chunk_s')}"
        )


def _gap_notes(found, stretches, used, fs, window_s, cut, given, mode) -> tuple[str, ...]:
    """What the summary says about the gaps: what they are, what was done, what it cost."""
    if found is None or not len(found):
        return ()
    if mode == "interpolate":
        note = f"{describe_gaps(found, fs)} filled by linear interpolation (no beat cut inside)"
        lost = int(np.count_nonzero(_inside(given, found))) if given is not None else 0
        return (note + (f"; {lost} of the given R-peaks lie in them and were not cut" if lost else ""),)
    note = (f"{describe_gaps(found, fs)}: segmented around {'it' if len(found) == 1 else 'them'} "
            f"({len(stretches)} valid stretch{'es' * (len(stretches) != 1)}, each on its own)")
    short = [b - a for a, b in stretches if (a, b) not in used]
    if short:
        note += f"; {len(short)} shorter than one {window_s:g} s window gave no beats ({sum(short) / fs:.1f} s)"
    if given is not None:
        lost = int(given.size - sum(np.count_nonzero((given >= a) & (given < b)) for a, b in used))
        note += f"; {lost} of the given R-peaks lie outside them and were not cut" if lost else ""
    return (note,)


def _inside(samples, gaps) -> np.ndarray:
    """Whether each sample index lies in one of the ``[start, stop)`` ranges of ``gaps`` (sorted, disjoint)."""
    samples = np.asarray(samples, dtype=np.int64)
    if not len(gaps):
        return np.zeros(samples.shape, dtype=bool)
    at = np.searchsorted(gaps[:, 0], samples, side="right") - 1
    return (at >= 0) & (samples < gaps[np.maximum(at, 0), 1])


def _run(parts, sink, fs, rate, window, scheme, refractory, extent, filled) -> dict:
    """Cut the beats of every stretch (``(start, n_samples, regions, r_peaks or None)``) into ``sink``, then give the
    windows without a T the median of all windows: the fields of Beats. The rule's peaks in ``filled`` gaps are
    dropped (a line drawn where there was no signal has no beats)."""
    pre = scheme.samples(scheme.pre_r_s, rate)
    out = {"r_peaks": [], "positions": [], "windows": [], "periods": [], "window_periods": [], "spans": []}
    first_window = 0
    for start, n_samples, regions, r_peaks in parts:
        n_out = resampled_length(n_samples, fs, rate)
        positions = None if r_peaks is None else np.minimum(rescale_indices(r_peaks, fs, rate), n_out - 1)
        for a, x_normalized, rule in _with_rule_peaks(regions, window, scheme.threshold, refractory):
            if len(filled):
                rule = rule[~_inside(rescale_indices(rule + a, rate, fs) + start, filled)]
            if positions is None:  # cut at the rule's peaks
                local, cut_r = rule, rescale_indices(rule + a, rate, fs)
            else:
                i0, i1 = np.searchsorted(positions, [a, a + x_normalized.shape[0]])
                local, cut_r = positions[i0:i1] - a, r_peaks[i0:i1]
            n_windows = -(-x_normalized.shape[0] // window)
            region_periods, _ = window_periods(rule if scheme.period == "rule" else local, window, n_windows,
                                               fallback=False)
            beat_periods = region_periods[local // window]
            cut_periods = np.where(np.isnan(beat_periods), _LONG_PERIOD, beat_periods)
            sink.add(cut_beats(x_normalized, local, cut_periods, window, period_factor=scheme.period_factor,
                               length=scheme.length, pre=pre))
            lengths = segment_lengths(local, cut_periods, window, period_factor=scheme.period_factor, pre=pre)
            spans = segment_spans(local, lengths, window, x_normalized.shape[0], length=scheme.length, pre=pre)
            for key, value in zip(out, (cut_r + start, local + a, (local + a) // window + first_window, beat_periods,
                                        region_periods, spans)):
                out[key].append(value)
        first_window += -(-n_out // window)
    if extent[0] == extent[1]:
        raise ValueError(f"signal is flat (every sample is {float(extent[0]):g}); there are no beats to find")
    joined = {key: np.concatenate(value) if value else np.empty(0) for key, value in out.items()}
    spans = joined["spans"].reshape(-1, 2).astype(np.int64)
    all_periods, periods = joined["window_periods"], joined["periods"].astype(np.float64)
    missing = np.isnan(all_periods)
    n_fallback = int(np.count_nonzero(missing))
    fallback_beats = np.flatnonzero(np.isnan(periods))
    if fallback_beats.size:  # windows without a T: the record's median, and their beats trimmed to it
        if n_fallback == all_periods.size:
            raise ValueError(
                f"no {scheme.window_s:g} s window has two R-peaks from the {scheme.period!r} peaks, so the heartbeat "
                "period T is unknown; check the signal or pass period='peaks' with your own peaks"
            )
        median = np.median(all_periods[~missing])
        at = joined["positions"].astype(np.int64)[fallback_beats]  # within its stretch: its window's end is there
        lengths = segment_lengths(at, np.full(fallback_beats.size, median), window, period_factor=scheme.period_factor,
                                  pre=pre)
        sink.trim(fallback_beats, np.maximum(lengths, 0))
        spans[fallback_beats, 1] = np.minimum(spans[fallback_beats, 1], np.maximum(lengths, 0))
        spans[fallback_beats, 0] = np.minimum(spans[fallback_beats, 0], spans[fallback_beats, 1])
        periods[fallback_beats] = median
    return dict(
        r_peaks=joined["r_peaks"].astype(np.int64),
        windows=joined["windows"].astype(np.int64),
        periods_s=periods / rate,
        fs=float(fs),
        fs_out=float(rate),
        n_windows=first_window,
        n_fallback_windows=n_fallback,
        spans=spans,
    )
