"""Figures of records, beats and classifier results: arrays in, a matplotlib ``Figure`` out.

matplotlib is an optional extra (``pip install 'ecgseg[plot]'``), imported only
inside these functions. Figures are built on ``matplotlib.figure.Figure`` and
saved with the Agg canvas, never through pyplot: no GUI backend, no global
figure registry to leak, safe in a server or a worker process. Every figure has
a fixed size in inches, so a PNG is ``size * dpi`` pixels.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from .labels import AAMI_CLASSES, match_peaks

__all__ = [
    "CLASS_COLORS", "INSTALL_HINT", "MissingMatplotlib", "require_matplotlib", "figure_bytes", "save_figure",
    "strip_figure", "record_strip", "missed_reference_beats", "beats_figure", "confusion_figure", "probability_figure",
]

#: One colour per AAMI class, the same in every figure; beats without a class are grey.
CLASS_COLORS = {"N": "#1f77b4", "S": "#ff7f0e", "V": "#d62728", "F": "#9467bd", "Q": "#8c564b"}
UNLABELLED_COLOR = "#7f7f7f"
CLASS_TITLES = {"N": "normal", "S": "supraventricular ectopic", "V": "ventricular ectopic", "F": "fusion", "Q": "paced / unclassifiable"}
INSTALL_HINT = "pip install 'ecgseg[plot]'"
FORMATS = ("png", "svg", "pdf")


class MissingMatplotlib(ImportError):
    """matplotlib is not installed; the message says how to install it."""


def require_matplotlib():
    """Import matplotlib, or raise :class:`MissingMatplotlib` naming the extra to install."""
    try:
        import matplotlib
    except ImportError:
        raise MissingMatplotlib(f"plots need matplotlib, which is not installed; install it with: {INSTALL_HINT}") from None
    return matplotlib


def _figure(size: tuple[float, float], dpi: int):
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=dpi, layout="constrained")


def figure_format(path: str | os.PathLike) -> str:
    """The image format named by a path's suffix: png, svg or pdf.

    Raises
    ------
    ValueError
        Any other suffix.

    Examples
    --------
    >>> figure_format("strip.SVG")
    'svg'
    """
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the image format of {path}: name it .png, .svg or .pdf")
    return fmt


def figure_bytes(figure, fmt: str = "png") -> bytes:
    """The figure rendered to ``fmt`` (png, svg or pdf) at its own dpi."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=figure.dpi)
    return buffer.getvalue()


def save_figure(figure, path: str | os.PathLike) -> None:
    """Render the figure in the format of ``path``'s suffix (png, svg, pdf) and write it atomically.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "confusion.png")
    >>> save_figure(confusion_figure(np.eye(5, dtype=int)), path)
    >>> open(path, "rb").read(4)
    b'\\x89PNG'
    """
    from .beatfile import write_atomic

    write_atomic(path, figure_bytes(figure, figure_format(path)))


def _beats(n: int) -> str:
    return f"{n} beat" if n == 1 else f"{n} beats"


def _class_name(index: int, class_names=AAMI_CLASSES) -> str:
    return class_names[index] if index >= 0 else "unlabelled"


def _class_color(index: int, class_names=AAMI_CLASSES) -> str:
    return CLASS_COLORS.get(class_names[index], UNLABELLED_COLOR) if index >= 0 else UNLABELLED_COLOR


# --- the ECG strip ---


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
        raise ValueError(f"start {start_s:g} s is outside the record ({duration:.1f} s long); pick a start in [0, {duration:.0f})")
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

    peaks, peak_classes = r_peaks[in_view], classes[in_view]
    for index in sorted(set(peak_classes.tolist()), key=lambda c: (c < 0, c)):
        chosen = peaks[peak_classes == index]
        name = _class_name(index, class_names)
        unlabelled = "no reference beat matched" if class_source == "reference" else "no class"
        label = f"{name} ({CLASS_TITLES.get(name, unlabelled)}): {chosen.size}"
        ax.scatter(chosen / fs, signal[chosen], s=42, color=_class_color(index, class_names), edgecolors="white",
                   linewidths=0.6, zorder=4, label=label)
    lane = high + 0.14 * span  # class letters in a row above the trace, clear of it
    if peaks.size <= 60:  # a letter per beat while they stay legible
        for peak, index in zip(peaks, peak_classes):
            ax.text(peak / fs, lane, _class_name(index, class_names)[0] if index >= 0 else "?", ha="center", va="center",
                    fontsize=9, fontweight="bold", color=_class_color(index, class_names))
    if reference is not None:
        reference = np.asarray(reference, dtype=np.int64)[in_view]
        wrong = (reference >= 0) & (peak_classes >= 0) & (reference != peak_classes)
        if wrong.any():
            ax.scatter(peaks[wrong] / fs, signal[peaks[wrong]], s=190, facecolors="none", edgecolors="black",
                       linewidths=1.2, zorder=5, label=f"differs from the reference (ref X): {int(wrong.sum())}")
            for peak, index in zip(peaks[wrong], reference[wrong]) if peaks.size <= 60 else ():
                ax.text(peak / fs, lane - 0.06 * span, f"ref {class_names[index]}", ha="center", va="center", fontsize=7,
                        color=_class_color(index, class_names))
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
        heading = f"cut beats by {class_source} class" if class_source in ("reference", "predicted") else f"cut beats ({class_source})"
        figure.legend(loc="outside right upper", fontsize=8, title=heading, title_fontsize=8, frameon=False)
    return figure


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


def missed_reference_beats(record, r_peaks, tolerance_s: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    """The reference beats of a record that no cut beat matched within ``tolerance_s``.

    The same one-to-one matching as :func:`ecgseg.labels.label_beats`, so their
    number is its ``n_missed``.

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
    from .labels import aami_classes

    if not record.has_annotations:
        return np.empty(0, np.int64), np.empty(0, np.int8)
    classes = aami_classes(record.ann_symbols)
    is_beat = classes >= 0
    samples, classes = record.ann_samples[is_beat], classes[is_beat]
    matched = match_peaks(r_peaks, samples, int(round(tolerance_s * record.fs)))
    missed = np.ones(samples.size, dtype=bool)
    missed[matched[matched >= 0]] = False
    return samples[missed], classes[missed]


def record_strip(record, beats, *, start_s: float = 0.0, seconds: float = 10.0, window_s: float = 10.0,
                 predicted=None, tolerance_s: float = 0.15, dpi: int = 100):
    """:func:`strip_figure` of a record and the beats cut from it (:func:`ecgseg.segment_record`).

    Beats are coloured by their reference label, or by ``predicted`` class
    indices (n_beats,) when given, with rings where those differ from the
    reference. ``window_s`` must be the one the beats were cut with.

    Examples
    --------
    >>> from ecgseg import read_record, segment_record
    >>> rec = read_record("100", data_dir=DATA)
    >>> fig = record_strip(rec, segment_record(rec), start_s=60)
    >>> fig.axes[0].get_title(loc="left")
    'record 100 (MLII), 60-70 s: 6 beats cut, 7 annotated beats missed'
    """
    from .signal import window_length

    missed, missed_classes = missed_reference_beats(record, beats.r_peaks, tolerance_s)
    window = window_length(beats.fs_out, window_s) / beats.fs_out
    edges = np.arange(beats.n_windows + 1) * window
    first, last = start_s * record.fs, (start_s + seconds) * record.fs
    n_cut = int(np.count_nonzero((beats.r_peaks >= first) & (beats.r_peaks < last)))
    n_missed = int(np.count_nonzero((missed >= first) & (missed < last)))
    end_s = min(start_s + seconds, record.signal.shape[0] / record.fs)
    title = f"record {record.name} ({record.channel}), {start_s:g}-{end_s:g} s: {n_cut} beats cut"
    title += f", {n_missed} annotated beats missed" if record.has_annotations else " (no reference annotations)"
    source = "predicted" if predicted is not None else "reference" if record.has_annotations else "no reference annotations"
    return strip_figure(
        record.signal, record.fs, start_s=start_s, seconds=seconds, r_peaks=beats.r_peaks,
        classes=beats.labels if predicted is None else predicted, reference=None if predicted is None else beats.labels,
        missed=missed, missed_classes=missed_classes, window_edges_s=edges, class_source=source, ylabel=f"{record.channel} ({record.units})", title=title, dpi=dpi,
    )


# --- beats, confusion, probabilities ---


def _panel_groups(labels, class_names):
    """The panels of a per-class figure: every class, then the unlabelled beats if any (else the class means)."""
    groups = list(range(len(class_names)))
    return groups + ([-1] if labels is None or (labels < 0).any() else [None])


def beats_figure(
    segments,
    labels=None,
    *,
    fs: float = 125.0,
    pre_r_s: float = 0.0,
    max_per_class: int = 200,
    seed: int = 0,
    class_source: str = "reference",
    class_names=AAMI_CLASSES,
    size: tuple[float, float] = (15.0, 7.0),
    dpi: int = 100,
):
    """The beats of each class overlaid (a seeded sample of at most ``max_per_class``) with the class mean.

    One panel per class, titled with its count, in a 2 x 3 grid; the sixth panel
    holds the beats without a class (label -1) when there are any, else all the
    class means together.

    Parameters
    ----------
    segments : array_like, shape (n_beats, length) float
        Beats as cut by :func:`ecgseg.segment` (window-scaled, zero-padded).
    labels : array_like of int, shape (n_beats,), optional
        Class index per beat (-1: none). Without labels every beat is unlabelled.
    fs : float
        Rate of the segments (125 Hz in the paper's scheme), for the time axis.
    pre_r_s : float
        How long before the R-peak the segments start.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fig = beats_figure(rng.random((50, 187)), rng.integers(0, 3, 50))
    >>> [ax.get_title() for ax in fig.axes][:3]
    ['N: 23 beats', 'S: 15 beats', 'V: 12 beats']
    """
    from matplotlib.collections import LineCollection

    segments = np.asarray(segments, dtype=np.float32)
    if segments.ndim != 2 or segments.shape[0] == 0:
        raise ValueError(f"beats must be a non-empty (n_beats, length) array, got shape {segments.shape}")
    labels = None if labels is None else np.asarray(labels, dtype=np.int64)
    if labels is not None and labels.shape != (segments.shape[0],):
        raise ValueError(f"{labels.size} labels for {segments.shape[0]} beats; give one label per beat")
    grouping = np.full(segments.shape[0], -1) if labels is None else labels
    time = (np.arange(segments.shape[1]) - int(round(pre_r_s * fs))) / fs
    rng = np.random.default_rng(seed)

    figure = _figure(size, dpi)
    groups = _panel_groups(labels, class_names)
    axes = figure.subplots(-(-len(groups) // 3), 3, sharex=True, sharey=True).ravel()
    for ax in axes[len(groups) :]:
        ax.set_axis_off()
    means = {}
    for ax, group in zip(axes, groups):
        if group is None:
            for index, mean in means.items():
                ax.plot(time, mean, color=_class_color(index, class_names), linewidth=2, label=class_names[index])
            ax.set_title("class means")
            if means:
                ax.legend(fontsize=8, frameon=False)
            continue
        rows = np.flatnonzero(grouping == group)
        name = _class_name(group, class_names)
        if group == -1:
            name = "all beats (no labels)" if labels is None else "unlabelled (no reference beat)" if class_source == "reference" else "unlabelled"
        drawn = rng.choice(rows, size=max_per_class, replace=False) if rows.size > max_per_class else rows
        title = f"{name}: {_beats(rows.size)}" + (f", {drawn.size} drawn" if drawn.size < rows.size else "")
        ax.set_title(title)
        if rows.size == 0:
            ax.text(0.5, 0.5, "no beats", transform=ax.transAxes, ha="center", va="center", color="#999999")
            continue
        color = _class_color(group, class_names)
        lines = np.stack([np.broadcast_to(time, (drawn.size, time.size)), segments[drawn]], axis=-1)
        ax.add_collection(LineCollection(lines, colors=color, linewidths=0.5, alpha=min(0.5, 12 / drawn.size + 0.05)))
        mean = segments[rows].mean(axis=0)
        ax.plot(time, mean, color="black", linewidth=1.8, label="mean")
        if group >= 0:
            means[group] = mean
    for ax in axes[-3:]:
        ax.set_xlabel("time from the R-peak (s)")
    for ax in axes[::3]:
        ax.set_ylabel("amplitude (window-scaled)")
    axes[0].set_xlim(time[0], time[-1])
    axes[0].set_ylim(-0.05, 1.05)
    figure.suptitle(f"beats by {class_source} class (thin: individual beats, black: class mean)", fontsize=11)
    return figure


def confusion_figure(confusion, class_names=AAMI_CLASSES, *, title: str = "", size: tuple[float, float] = (6.4, 5.4), dpi: int = 100):
    """A confusion matrix: counts in the cells, shades by the share of each true class (row-normalised).

    Parameters
    ----------
    confusion : array_like of int, shape (n_classes, n_classes)
        Rows: true class, columns: predicted (as :func:`ecgseg.evaluate.class_report`).

    Examples
    --------
    >>> fig = confusion_figure([[50, 2, 0, 0, 0], [5, 3, 0, 0, 0], [1, 0, 9, 0, 0], [0] * 5, [0] * 5])
    >>> fig.axes[0].texts[0].get_text()
    '50\\n96%'
    """
    confusion = np.asarray(confusion, dtype=np.int64)
    n = len(class_names)
    if confusion.shape != (n, n):
        raise ValueError(f"confusion matrix has shape {confusion.shape}, expected ({n}, {n}) for classes {', '.join(class_names)}")
    support = confusion.sum(axis=1)
    shares = confusion / np.maximum(support, 1)[:, None]

    figure = _figure(size, dpi)
    ax = figure.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            text = f"{confusion[i, j]}\n{100 * shares[i, j]:.0f}%" if support[i] else "-"
            ax.text(j, i, text, ha="center", va="center", fontsize=9, color="white" if shares[i, j] > 0.55 else "black")
    ax.set_xticks(range(n), class_names)
    ax.set_yticks(range(n), [f"{name} ({count})" for name, count in zip(class_names, support)])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (beats)")
    ax.set_title(title, fontsize=10)
    figure.colorbar(image, ax=ax, label="share of the true class's beats", shrink=0.85)
    return figure


def probability_figure(probabilities, labels=None, *, bins: int = 20, class_names=AAMI_CLASSES,
                       size: tuple[float, float] = (15.0, 6.4), dpi: int = 100):
    """How the classifier's per-beat class probabilities are distributed.

    One histogram per class of P(class) over all beats (log counts), split into
    the beats whose reference label is that class and the others, and a sixth
    panel with the top probability (the confidence) of right and wrong calls.
    Without ``labels`` beats are split by their predicted class instead.

    Parameters
    ----------
    probabilities : array_like, shape (n_beats, n_classes) float
        Rows sum to 1 (from :func:`ecgseg.classify.predict_proba`).
    labels : array_like of int, shape (n_beats,), optional
        Reference class per beat (-1: none; such beats count as "other").

    Examples
    --------
    >>> import numpy as np
    >>> p = np.random.default_rng(0).dirichlet(np.ones(5), 100)
    >>> probability_figure(p).axes[2].get_title()
    'P(V) per beat'
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    n = len(class_names)
    if probabilities.ndim != 2 or probabilities.shape[1] != n or probabilities.shape[0] == 0:
        raise ValueError(f"probabilities must be a non-empty (n_beats, {n}) array, got shape {probabilities.shape}")
    predicted = probabilities.argmax(axis=1)
    source = "reference" if labels is not None else "predicted"
    truth = predicted if labels is None else np.asarray(labels, dtype=np.int64)
    edges = np.linspace(0, 1, bins + 1)

    figure = _figure(size, dpi)
    axes = figure.subplots(-(-(n + 1) // 3), 3, sharex=True).ravel()
    for index, ax in enumerate(axes[:n]):
        mine = truth == index
        parts = [probabilities[mine, index], probabilities[~mine, index]]
        name = class_names[index]
        ax.hist(parts, bins=edges, stacked=True, color=[_class_color(index, class_names), "#bbbbbb"],
                label=[f"{source} {name}: {int(mine.sum())}", f"other beats: {int((~mine).sum())}"])
        ax.set_title(f"P({name}) per beat")
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.7)  # one beat in a bin stays visible
        ax.legend(fontsize=8, frameon=False)
    for ax in axes[n + 1 :]:
        ax.set_axis_off()
    ax = axes[n]
    confidence = probabilities.max(axis=1)
    if labels is None:
        ax.hist(confidence, bins=edges, color="#444444", label=f"all beats: {confidence.size}")
    else:
        right = predicted == truth
        ax.hist([confidence[right], confidence[~right]], bins=edges, stacked=True, color=["#2a9d8f", "#e76f51"],
                label=[f"predicted = reference: {int(right.sum())}", f"predicted != reference: {int((~right).sum())}"])
    ax.set_title("top probability (confidence) per beat")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.7)
    ax.legend(fontsize=8, frameon=False)
    for ax in axes[-3:]:
        ax.set_xlabel("probability")
    for ax in axes[::3]:
        ax.set_ylabel("beats (log scale)")
    axes[0].set_xlim(0, 1)
    figure.suptitle(f"class probabilities of {probabilities.shape[0]} beats (colour: {source} class)", fontsize=11)
    return figure
