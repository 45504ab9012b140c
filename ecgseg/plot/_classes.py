"""Figures by class: the beats of each class overlaid, the confusion matrix, the class probabilities."""

from __future__ import annotations

import numpy as np

from ..aami import AAMI_CLASSES
from ._common import _beats, _class_color, _class_name, _figure


def _panel_groups(labels, class_names):
    """The panels of a per-class figure: one of all beats without labels; else every class, then the unlabelled
    beats if any (else the class means)."""
    if labels is None:
        return [-1]
    groups = list(range(len(class_names)))
    return groups + ([-1] if (labels < 0).any() else [None])


def padding_spans(segments) -> np.ndarray:
    """The columns ``[first, stop)`` of each segment that hold signal, for beats without their ``spans``: up to the
    last non-zero sample (what follows is taken as zero padding; a beat ending exactly on its window's minimum, 0,
    loses that one sample).

    Examples
    --------
    >>> padding_spans(np.array([[0.2, 0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]])).tolist()
    [[0, 3], [0, 0]]
    """
    segments = np.asarray(segments)
    nonzero = segments != 0
    stop = np.where(nonzero.any(axis=1), segments.shape[1] - np.argmax(nonzero[:, ::-1], axis=1), 0)
    return np.stack([np.zeros_like(stop), stop], axis=1).astype(np.int64)


def _mean_over_signal(segments, spans, share: float = 0.25):
    """The mean of the beats at each column over those with signal there; NaN (not drawn) where fewer than
    ``share`` of them reach."""
    columns = np.arange(segments.shape[1])
    inside = (columns >= spans[:, :1]) & (columns < spans[:, 1:])
    count = inside.sum(axis=0)
    total = np.where(inside, segments, 0.0).sum(axis=0)
    return np.where(count >= max(1, share * segments.shape[0]), total / np.maximum(count, 1), np.nan)


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
    spans=None,
    size: tuple[float, float] | None = None,
    dpi: int = 100,
):
    """The beats of each class overlaid (a seeded sample of at most ``max_per_class``) with the class mean, each beat
    drawn only where it holds signal (never its zero padding).

    One panel per class, titled with its count, in a 2 x 3 grid; the sixth panel
    holds the beats without a class (label -1) when there are any, else all the
    class means together. Without labels, one panel of all the beats.

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
    spans : array_like of int, shape (n_beats, 2), optional
        The columns ``[first, stop)`` of each segment that hold signal (``Beats.spans``, ``spans`` of a beat file);
        without them, each beat up to its last non-zero sample (:func:`padding_spans`). The class mean at a column
        is over the beats with signal there, drawn where at least a quarter of them reach.
    size : (float, float), optional
        Inches; by default 15 x 7 for the class grid, 8 x 4.5 for one panel.

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
    spans = padding_spans(segments) if spans is None else np.asarray(spans, dtype=np.int64)
    if spans.shape != (segments.shape[0], 2):
        raise ValueError(f"spans have shape {spans.shape}; give ({segments.shape[0]}, 2), one [first, stop) per beat")
    time = (np.arange(segments.shape[1]) - int(round(pre_r_s * fs))) / fs
    rng = np.random.default_rng(seed)

    groups = _panel_groups(labels, class_names)
    figure = _figure(size or ((15.0, 7.0) if len(groups) > 1 else (8.0, 4.5)), dpi)
    columns = 3 if len(groups) > 1 else 1
    axes = np.atleast_1d(figure.subplots(-(-len(groups) // columns), columns, sharex=True, sharey=True)).ravel()
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
            name = (
                "all beats (no labels)" if labels is None
                else "unlabelled (no reference beat)" if class_source == "reference"
                else "unlabelled"
            )
        drawn = rng.choice(rows, size=max_per_class, replace=False) if rows.size > max_per_class else rows
        title = f"{name}: {_beats(rows.size)}" + (f", {drawn.size} drawn" if drawn.size < rows.size else "")
        ax.set_title(title)
        if rows.size == 0:
            ax.text(0.5, 0.5, "no beats", transform=ax.transAxes, ha="center", va="center", color="#999999")
            continue
        color = _class_color(group, class_names)
        lines = [np.column_stack([time[a:b], segments[i, a:b]]) for i, (a, b) in zip(drawn, spans[drawn]) if b > a]
        ax.add_collection(LineCollection(lines, colors=color, linewidths=0.5, alpha=min(0.5, 12 / drawn.size + 0.05)))
        mean = _mean_over_signal(segments[rows], spans[rows])
        ax.plot(time, mean, color="black", linewidth=1.8, label="mean")
        if group >= 0:
            means[group] = mean
    for ax in axes[-columns:]:
        ax.set_xlabel("time from the R-peak (s)")
    for ax in axes[::columns]:
        ax.set_ylabel("amplitude (window-scaled)")
    axes[0].set_xlim(time[0], time[-1])
    axes[0].set_ylim(-0.05, 1.05)
    figure.suptitle(f"beats by {class_source} class (thin: individual beats over their signal, no padding; black: "
                    "class mean)" if labels is not None else "beats (thin: individual beats over their signal, no "
                    "padding; black: their mean)", fontsize=11)
    return figure


def confusion_figure(confusion, class_names=AAMI_CLASSES, *, title: str = "", size: tuple[float, float] = (6.4, 5.4),
                     dpi: int = 100):
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
        raise ValueError(
            f"confusion matrix has shape {confusion.shape}, expected ({n}, {n}) for classes {', '.join(class_names)}"
        )
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
