"""What the report says and shows about signal quality: its facts' rows, where a strip shows poor signal or
ventricular flutter/fibrillation, and what the strips' bands mean.

Quality is :attr:`ecgseg.beats.Beats.quality` (bSQI per beat, :mod:`ecgseg.quality`; None or NaN: not measured)
and :attr:`ecgseg.beats.Beats.vf_stretches`; poor is below :data:`ecgseg.quality.POOR`.
"""

from __future__ import annotations

import numpy as np

from .quality import POOR, poor_stretches

__all__ = ["quality_facts", "quality_note", "quality_window"]


def quality_facts(beats) -> list[tuple[str, str]]:
    """The rows the report's facts add on signal quality: how many beats are poor and where (s), where the
    ventricular flutter/fibrillation is, or that quality was not measured.

    Parameters
    ----------
    beats : ecgseg.beats.Beats
        Cut from a record (:func:`ecgseg.segment_record`).

    Returns
    -------
    list of (str, str)
        ``("signal quality", ...)``, and ``("ventricular flutter/fibrillation", ...)`` when it was looked for.

    Examples
    --------
    >>> from ecgseg.beats import Beats
    >>> beats = Beats(np.zeros((3, 187)), np.array([360, 3600, 7200]), np.zeros(3, int), np.ones(3), 360.0, 125.0,
    ...               3, 0, peaks="hamilton", quality=np.array([0.9, 0.2, 0.9], np.float32),
    ...               vf_stretches=np.array([[9000, 12600]]))
    >>> for name, text in quality_facts(beats): print(f"{name}: {text}")
    signal quality: 1 of 3 beats poor (quality < 0.7: agreement of two QRS detectors in the 10 s around each beat,
    bSQI), in 1 stretch: 10.0 s
    ventricular flutter/fibrillation: 1 stretch, 10.0 s in all, no beats counted there: 25.0-35.0 s
    """
    if not _measured(beats):
        where = "the paper's rule R-peaks" if beats.peaks == "rule" else f"R-peaks from {beats.peaks}"
        return [("signal quality", f"not measured for {where} (beats cut at a detector's R-peaks have it)")]
    poor = _poor_stretches(beats)
    text = (f"{beats.n_poor} of {len(beats)} beats poor (quality < {POOR:g}: agreement of two QRS detectors in the "
            f"10 s around each beat, bSQI)")
    if len(poor):
        text += f", in {_stretches(len(poor))}: {_seconds(poor, beats.fs)}"
    rows = [("signal quality", text)]
    if beats.vf_stretches is not None:
        vf = _vf(beats)
        total = float((vf[:, 1] - vf[:, 0]).sum()) / beats.fs
        rows.append(("ventricular flutter/fibrillation",
                     f"{_stretches(len(vf))}, {total:.1f} s in all, no beats counted there: {_seconds(vf, beats.fs)}"
                     if len(vf) else "none found"))
    return rows


def quality_window(beats, start_s: float, seconds: float) -> tuple[float, str] | None:
    """Where a strip shows what signal quality has to show, when the strip at ``start_s`` does not show any of it.

    The first stretch of ventricular flutter/fibrillation if the beats have one, else the stretch with the most
    poor beats (:func:`ecgseg.quality.poor_stretches`), from a fifth of ``seconds`` before it.

    Returns
    -------
    (float, str) or None
        The strip's start (s) and what it shows, in words; None when there is nothing to show (quality not
        measured, or no poor beat and no flutter/fibrillation) or the strip at ``start_s`` shows part of it.

    Examples
    --------
    >>> from ecgseg.beats import Beats
    >>> beats = Beats(np.zeros((3, 187)), np.array([360, 3600, 7200]), np.zeros(3, int), np.ones(3), 360.0, 125.0,
    ...               3, 0, quality=np.array([0.9, 0.2, 0.9], np.float32), vf_stretches=np.zeros((0, 2), int))
    >>> quality_window(beats, 0, 5)
    (9.0, 'poor signal quality')
    >>> quality_window(beats, 8, 5) is None
    True
    """
    vf, poor = _vf(beats), _poor_stretches(beats)
    first, last = start_s * beats.fs, (start_s + seconds) * beats.fs
    if _in_view(vf, first, last) or _in_view(poor, first, last):
        return None
    if len(vf):
        start, what = vf[0, 0], "ventricular flutter/fibrillation"
    elif len(poor):
        bad = beats.r_peaks[beats.quality < POOR]
        counts = [np.count_nonzero((bad >= a) & (bad < b)) for a, b in poor]  # a few stretches
        start, what = poor[int(np.argmax(counts)), 0], "poor signal quality"
    else:
        return None
    return max(0.0, round(float(start / beats.fs - 0.2 * seconds), 1)), what


def quality_note(beats, start_s: float, seconds: float) -> str:
    """What the bands and hollow dots of a strip from ``start_s`` mean, in a sentence or two of plain text ("" when
    it has none), or that quality was not measured.

    Examples
    --------
    >>> from ecgseg.beats import Beats
    >>> beats = Beats(np.zeros((1, 187)), np.array([360]), np.zeros(1, int), np.ones(1), 360.0, 125.0, 1, 0)
    >>> quality_note(beats, 0, 10)
    "Signal quality not measured for the rule's cut: no bands."
    """
    if not _measured(beats):
        return "Signal quality not measured for the rule's cut: no bands." if beats.peaks == "rule" else (
            "Signal quality not measured: no bands.")
    first, last = start_s * beats.fs, (start_s + seconds) * beats.fs
    words = []
    if _in_view(_poor_stretches(beats), first, last):
        words.append(f"Yellow bands: poor signal quality (beat quality < {POOR:g}); their beats are hollow, their "
                     "classes doubtful.")
    if _in_view(_vf(beats), first, last):
        words.append("Hatched indigo bands: ventricular flutter/fibrillation, where no beats are cut.")
    return " ".join(words)


def _measured(beats) -> bool:
    return beats.quality is not None and bool(np.isfinite(beats.quality).any())


def _poor_stretches(beats) -> np.ndarray:
    """:func:`ecgseg.quality.poor_stretches` of the beats ((0, 2) when quality was not measured)."""
    if not _measured(beats):
        return np.empty((0, 2), np.int64)
    return poor_stretches(beats.r_peaks, beats.quality, beats.fs)  # NaN compares False: not poor


def _vf(beats) -> np.ndarray:
    """The beats' flutter/fibrillation stretches, (n, 2) samples ((0, 2) when not looked for)."""
    return np.empty((0, 2), np.int64) if beats.vf_stretches is None else np.asarray(beats.vf_stretches).reshape(-1, 2)


def _in_view(stretches, first: float, last: float) -> bool:
    return bool(((stretches[:, 1] > first) & (stretches[:, 0] < last)).any())


def _stretches(n: int) -> str:
    return f"{n} stretch{'' if n == 1 else 'es'}"


def _seconds(stretches, fs: float, most: int = 8) -> str:
    """Sample ranges as seconds ("40.3-42.7 s, ..."), the first ``most`` of them and how many more."""
    spans = [(f"{start / fs:.1f}", f"{stop / fs:.1f}") for start, stop in stretches[:most]]
    spans = ", ".join(f"{a} s" if a == b else f"{a}-{b} s" for a, b in spans)  # a lone poor beat: one time
    return spans + (f" and {len(stretches) - most} more" if len(stretches) > most else "")
