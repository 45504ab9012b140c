"""The ECG strip: a stretch of a record with its cut beats' R-peaks coloured by class.

Also the reference beats no beat was cut at (crosses), beats whose class
differs from the reference (rings), the segmentation windows' edges, stretches
of poor signal quality and of ventricular flutter/fibrillation (bands behind
the trace; beats in poor signal hollow), and ECG paper behind the trace.
:func:`record_strip` draws one from a record and the beats cut from it;
:func:`strip_figure` from plain arrays.
"""

from __future__ import annotations

import numpy as np

from ..aami import AAMI_CLASSES, TOLERANCE_S
from ..labels import missed_beats
from ..quality import POOR, poor_stretches
from ._common import CLASS_TITLES, _class_color, _class_name, _figure

POOR_COLOR = "#f4c430"  # the band behind stretches of poor signal quality (saffron)
VF_COLOR = "#5e60ce"  # the band behind ventricular flutter/fibrillation (indigo, hatched)


def strip_figure(
    signal,
    fs: float,
    *,
    start_s: float = 0.0,
    seconds: float = 10.0,
    r_peaks=(),
    classes=None,
    reference=None,
    missed=(),
    missed_classes=None,
    window_edges_s=(),
    quality=None,
    vf_stretches=None,
    class_source: str = "reference",
    ylabel: str = "mV",
    title: str = "",
    class_names=AAMI_CLASSES,
    size: tuple[float, float] = (15.0, 4.0),
    dpi: int = 100,
):
    """An ECG strip with its cut beats' R-peaks coloured by class, missed reference beats and window edges.

    Parameters
    ----------
    signal : array_like, shape (n_samples,) float
        The whole lead in physical units; ``[start_s, start_s + seconds)`` is drawn.
    fs : float
        Its sampling rate (Hz).
    r_peaks : array_like of int, shape (n_beats,)
        Cut beats' R-peaks (samples at ``fs``); those in view get a dot.
    classes : array_like of int, shape (n_beats,), optional
        Class index of each beat (-1: none; grey). Default: all unlabelled.
    reference : array_like of int, shape (n_beats,), optional
        Reference classes; beats whose ``classes`` differ (both >= 0) get a ring.
    missed : array_like of int
        Reference beats no beat was cut at (samples at ``fs``); drawn as crosses.
    missed_classes : array_like of int, optional
        Their reference classes, written in brackets in the row of class letters.
    window_edges_s : array_like of float
        Segmentation window edges (s); dashed lines with the window's number.
    quality : array_like of float, shape (n_beats,), optional
        Each beat's signal quality (:attr:`ecgseg.beats.Beats.quality`). Beats below :data:`ecgseg.quality.POOR`
        are drawn hollow, and the stretches they form (:func:`ecgseg.quality.poor_stretches`) get a band in
        :data:`POOR_COLOR`, reaching half way to the neighbouring beats (at most 1 s) so a lone poor beat shows.
        None or all NaN: quality not measured, nothing drawn.
    vf_stretches : array_like of int, shape (n_stretches, 2), optional
        ``[start, stop)`` sample ranges (at ``fs``) of ventricular flutter/fibrillation
        (:attr:`ecgseg.beats.Beats.vf_stretches`); a hatched band in :data:`VF_COLOR`.
    class_source : str
        What ``classes`` are ("reference", "predicted", or why there are none), for the legend.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        ``start_s`` outside the signal or ``seconds`` not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgseg.plot import figure_bytes
    >>> fs = 360; x = np.sin(np.arange(20 * fs) / fs * 2 * np.pi)
    >>> fig = strip_figure(x, fs, r_peaks=[90, 450], classes=[0, 2], window_edges_s=[0, 10, 20])
    >>> figure_bytes(fig)[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    signal = np.asarray(signal, dtype=np.float64)
    duration = signal.shape[0] / fs
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    if not 0 <= start_s < duration:
        raise ValueError(
            f"start {start_s:g} s is outside the record ({duration:.1f} s long); pick a start in [0, {duration:.0f})"
        )
    first, last = int(round(start_s * fs)), min(signal.shape[0], int(round((start_s + seconds) * fs)))
    end_s = last / fs
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    classes = np.full(r_peaks.shape, -1) if classes is None else np.asarray(classes, dtype=np.int64)
    in_view = (r_peaks >= first) & (r_peaks < last)
    shown = signal[first:last]
    low, high = (float(np.nanmin(shown)), float(np.nanmax(shown))) if np.isfinite(shown).any() else (0.0, 1.0)
    span = max(high - low, 1e-9)

    figure = _figure(size, dpi)
    ax = figure.add_subplot()
    _ecg_grid(ax, seconds, span)
    ax.plot(np.arange(first, last) / fs, shown, color="#222222", linewidth=0.8, zorder=2)
    _window_edges(ax, np.asarray(window_edges_s, dtype=np.float64), start_s, end_s)
    poor = poor_beats(quality, r_peaks.size)
    vf = np.empty((0, 2), np.int64) if vf_stretches is None else np.asarray(vf_stretches, np.int64).reshape(-1, 2)
    if poor.any():
        order = np.argsort(r_peaks, kind="stable")  # poor_stretches reads beats in time order
        bands = _padded(poor_stretches(r_peaks[order], np.asarray(quality)[order], fs), r_peaks, fs, vf)
        _bands(ax, bands, fs, first, last, POOR_COLOR, f"stretches of poor signal quality (< {POOR:g})")
    _bands(ax, vf, fs, first, last, VF_COLOR, "stretches of ventricular flutter/fibrillation (no beats cut)",
           hatch="///")

    peaks, peak_classes = r_peaks[in_view], classes[in_view]
    for index in sorted(set(peak_classes.tolist()), key=lambda c: (c < 0, c)):
        chosen = peaks[peak_classes == index]
        name = _class_name(index, class_names)
        unlabelled = "no reference beat matched" if class_source == "reference" else "no class"
        label = f"{name} ({CLASS_TITLES.get(name, unlabelled)}): {chosen.size}"
        ax.scatter(chosen / fs, signal[chosen], s=42, color=_class_color(index, class_names), edgecolors="white",
                   linewidths=0.6, zorder=4, label=label)
    doubtful = poor[in_view]
    if doubtful.any():  # hollow: white over the class's dot, ringed in its colour; a grey ring in the legend
        colours = [_class_color(index, class_names) for index in peak_classes[doubtful]]
        ax.scatter(peaks[doubtful] / fs, signal[peaks[doubtful]], s=56, facecolors="white", edgecolors=colours,
                   linewidths=1.5, zorder=4.5, label="_poor beats")
        ax.scatter([], [], s=56, facecolors="white", edgecolors="#555555", linewidths=1.5,
                   label=f"hollow: beat in poor-quality signal: {int(doubtful.sum())}")
    lane = high + 0.14 * span  # class letters in a row above the trace, clear of it
    if peaks.size <= 60:  # a letter per beat while they stay legible
        for peak, index in zip(peaks, peak_classes):
            ax.text(peak / fs, lane, _class_name(index, class_names)[0] if index >= 0 else "?", ha="center",
                    va="center", fontsize=9, fontweight="bold", color=_class_color(index, class_names))
    if reference is not None:
        reference = np.asarray(reference, dtype=np.int64)[in_view]
        wrong = (reference >= 0) & (peak_classes >= 0) & (reference != peak_classes)
        if wrong.any():
            ax.scatter(peaks[wrong] / fs, signal[peaks[wrong]], s=190, facecolors="none", edgecolors="black",
                       linewidths=1.2, zorder=5, label=f"differs from the reference (ref X): {int(wrong.sum())}")
            for peak, index in zip(peaks[wrong], reference[wrong]) if peaks.size <= 60 else ():
                ax.text(peak / fs, lane - 0.06 * span, f"ref {class_names[index]}", ha="center", va="center",
                        fontsize=7, color=_class_color(index, class_names))
    missed = np.asarray(missed, dtype=np.int64)
    missed_classes = np.full(missed.shape, -1) if missed_classes is None else np.asarray(missed_classes, dtype=np.int64)
    shown = (missed >= first) & (missed < last)
    missed, missed_classes = missed[shown], missed_classes[shown]
    if missed.size:
        ax.scatter(missed / fs, signal[missed], marker="x", s=70, color="black", linewidths=1.6, zorder=5,
                   label=f"missed annotated beat, (its class): {missed.size}")
        if missed.size <= 60:  # its reference class in brackets, in the class's colour
            for sample, index in zip(missed, missed_classes):
                if index >= 0:
                    ax.text(sample / fs, lane, f"({class_names[index]})", ha="center", va="center", fontsize=8,
                            color=_class_color(index, class_names))

    ax.set_xlim(start_s, end_s)
    ax.set_ylim(low - 0.05 * span, high + 0.2 * span)
    ax.set_xlabel("time (s from the record's start)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left", fontsize=11)
    if ax.get_legend_handles_labels()[0]:
        heading = (
            f"cut beats by {class_source} class" if class_source in ("reference", "predicted")
            else f"cut beats ({class_source})"
        )
        figure.legend(loc="outside right upper", fontsize=8, title=heading, title_fontsize=8, frameon=False)
    return figure


def poor_beats(quality, n_beats: int) -> np.ndarray:
    """Which beats are in poor-quality signal, (n_beats,) bool: quality below :data:`ecgseg.quality.POOR`; none when
    quality is None or NaN (not measured)."""
    if quality is None:
        return np.zeros(n_beats, dtype=bool)
    quality = np.asarray(quality, dtype=np.float64)
    if quality.shape != (n_beats,):
        raise ValueError(f"quality has shape {quality.shape} for {n_beats} R-peaks; give one value per beat")
    return quality < POOR  # NaN compares False: not measured is not poor


def _padded(stretches, r_peaks, fs: float, vf, most_s: float = 1.0) -> np.ndarray:
    """Poor stretches ``[first poor beat, last + 1)`` widened half way to the beats either side (at most ``most_s``,
    never into flutter/fibrillation ``vf``, which holds no beats): the time those beats stand for, so one poor beat
    is a band, not a line."""
    peaks = np.sort(r_peaks)
    most = most_s * fs
    before = np.searchsorted(peaks, stretches[:, 0]) - 1
    after = np.searchsorted(peaks, stretches[:, 1])
    left = np.where(before >= 0, (stretches[:, 0] - peaks[np.maximum(before, 0)]) / 2, most)
    right = np.where(after < peaks.size, (peaks[np.minimum(after, peaks.size - 1)] - stretches[:, 1] + 1) / 2, most)
    bands = np.stack([stretches[:, 0] - np.minimum(left, most), stretches[:, 1] - 1 + np.minimum(right, most)], axis=1)
    for start, stop in vf:  # a few stretches a record
        bands[:, 0] = np.where((bands[:, 0] >= start) & (bands[:, 0] < stop), stop, bands[:, 0])
        bands[:, 1] = np.where((bands[:, 1] > start) & (bands[:, 1] <= stop), start, bands[:, 1])
    return bands


def _bands(ax, stretches, fs: float, first: int, last: int, colour: str, label: str, hatch: str | None = None) -> None:
    """Shade the stretches (sample ranges) that reach into ``[first, last)`` behind the trace; one legend entry."""
    shown = stretches[(stretches[:, 1] > first) & (stretches[:, 0] < last)]
    for number, (start, stop) in enumerate(shown):
        ax.axvspan(max(start, first) / fs, min(stop, last) / fs, facecolor=colour, alpha=0.28 if hatch else 0.4,
                   edgecolor=colour if hatch else "none", hatch=hatch, linewidth=0, zorder=1,
                   label=f"{label}: {len(shown)}" if number == 0 else "_nolegend_")


def _ecg_grid(ax, seconds: float, span: float) -> None:
    """ECG paper: lines each 1 s / 0.2 s and 0.5 / 0.1 units while a strip is short enough for them to stay apart."""
    from matplotlib.ticker import MultipleLocator

    if seconds <= 20:
        ax.xaxis.set_major_locator(MultipleLocator(1.0))
        ax.xaxis.set_minor_locator(MultipleLocator(0.2))
        if span <= 8:  # millivolts; other units keep matplotlib's ticks
            ax.yaxis.set_major_locator(MultipleLocator(0.5))
            ax.yaxis.set_minor_locator(MultipleLocator(0.1))
        ax.grid(True, which="minor", color="#f8e0e0", linewidth=0.5, zorder=0)
    ax.grid(True, which="major", color="#eba4a4", linewidth=0.7, zorder=0)


def _window_edges(ax, edges, start_s: float, end_s: float) -> None:
    """Dashed lines at the segmentation windows' edges, each window numbered at its left edge (or the strip's)."""
    if edges.size == 0:
        return
    visible = (edges >= start_s) & (edges <= end_s)
    for edge in edges[visible]:
        ax.axvline(edge, color="#2a9d8f", linestyle="--", linewidth=1.2, zorder=3)
    transform = ax.get_xaxis_transform()
    for k in range(edges.size - 1):
        left, right = max(edges[k], start_s), min(edges[k + 1], end_s)
        if right - left > 0.04 * (end_s - start_s):  # room for the label
            ax.text(left, 0.02, f" window {k}", transform=transform, va="bottom", fontsize=8, color="#2a9d8f")


def missed_reference_beats(record, r_peaks, tolerance_s: float = TOLERANCE_S) -> tuple[np.ndarray, np.ndarray]:
    """The reference beats of a record that no cut beat matched within ``tolerance_s``.

    :func:`ecgseg.labels.missed_beats` of the record's annotations, so their
    number is :func:`ecgseg.labels.label_beats`'s ``n_missed``.

    Returns
    -------
    samples : numpy.ndarray int64
        Their positions (samples at ``record.fs``).
    classes : numpy.ndarray int8
        Their AAMI class indices.

    Examples
    --------
    >>> from ecgseg import read_record, segment_record
    >>> rec = read_record("100", data_dir=DATA)
    >>> samples, classes = missed_reference_beats(rec, segment_record(rec).r_peaks)
    >>> samples.size, np.bincount(classes).tolist()
    (1201, [1183, 17, 1])
    """
    if not record.has_annotations:
        return np.empty(0, np.int64), np.empty(0, np.int8)
    return missed_beats(r_peaks, record.ann_samples, record.ann_symbols, record.fs, tolerance_s)


def record_strip(record, beats, *, start_s: float = 0.0, seconds: float = 10.0, window_s: float = 10.0,
                 predicted=None, tolerance_s: float = TOLERANCE_S, dpi: int = 100):
    """:func:`strip_figure` of a record and the beats cut from it (:func:`ecgseg.segment_record`).

    Beats are coloured by their reference label, or by ``predicted`` class
    indices (n_beats,) when given, with rings where those differ from the
    reference. ``window_s`` must be the one the beats were cut with. The beats'
    ``quality`` and ``vf_stretches`` are drawn as bands (see :func:`strip_figure`),
    and the title counts the poor beats and names the flutter/fibrillation in view
    when there are any.

    Examples
    --------
    >>> from ecgseg import read_record, segment_record
    >>> rec = read_record("100", data_dir=DATA)
    >>> fig = record_strip(rec, segment_record(rec), start_s=60)
    >>> fig.axes[0].get_title(loc="left")
    'record 100 (MLII), 60-70 s: 6 beats cut, 7 annotated beats missed'
    """
    from ..signal import window_length

    missed, missed_classes = missed_reference_beats(record, beats.r_peaks, tolerance_s)
    window = window_length(beats.fs_out, window_s) / beats.fs_out
    edges = np.arange(beats.n_windows + 1) * window
    first, last = start_s * record.fs, (start_s + seconds) * record.fs
    n_cut = int(np.count_nonzero((beats.r_peaks >= first) & (beats.r_peaks < last)))
    n_missed = int(np.count_nonzero((missed >= first) & (missed < last)))
    end_s = min(start_s + seconds, record.signal.shape[0] / record.fs)
    title = f"record {record.name} ({record.channel}), {start_s:g}-{end_s:g} s: {n_cut} beats cut"
    title += f", {n_missed} annotated beats missed" if record.has_annotations else " (no reference annotations)"
    title += _quality_words(beats, first, last, record.fs)
    source = (
        "predicted" if predicted is not None else "reference" if record.has_annotations else "no reference annotations"
    )
    return strip_figure(
        record.signal, record.fs, start_s=start_s, seconds=seconds, r_peaks=beats.r_peaks,
        classes=beats.labels if predicted is None else predicted, reference=None if predicted is None else beats.labels,
        missed=missed, missed_classes=missed_classes, window_edges_s=edges, quality=beats.quality,
        vf_stretches=beats.vf_stretches, class_source=source,
        ylabel=f"{record.channel} ({record.units})", title=title, dpi=dpi,
    )


def _quality_words(beats, first: float, last: float, fs: float) -> str:
    """What the title adds about signal quality in ``[first, last)`` (samples): the poor beats and the
    flutter/fibrillation in view, or nothing when there are none (or quality was not measured)."""
    words = []
    in_view = (beats.r_peaks >= first) & (beats.r_peaks < last)
    n_poor = int(np.count_nonzero(poor_beats(beats.quality, len(beats.r_peaks)) & in_view))
    if n_poor:
        words.append(f"{n_poor} beats in poor-quality signal")
    stretches = np.empty((0, 2)) if beats.vf_stretches is None else np.asarray(beats.vf_stretches).reshape(-1, 2)
    shown = stretches[(stretches[:, 1] > first) & (stretches[:, 0] < last)]
    if shown.size:
        spans = [f"{max(a, first) / fs:.1f}-{min(b, last) / fs:.1f} s" for a, b in shown]
        words.append("ventricular flutter/fibrillation " + ", ".join(spans))
    return "; " + ", ".join(words) if words else ""
