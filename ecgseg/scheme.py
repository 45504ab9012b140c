"""The segmentation scheme's parameters: the constants of Kachuee, Fazeli & Sarrafzadeh (2018), their defaults and
their checks, in one place (no numpy: the command line builds its options and defaults from :data:`DEFAULTS`).

You pass them as keywords (``ecgseg.segment(x, fs, fs_out=125, ...)``, ``ecgseg segment record --fs-out 125``);
:class:`Scheme` is how every entry point checks them once, the same way, before any work.
"""

from __future__ import annotations

import math
from numbers import Real
from dataclasses import dataclass, fields

from .terms import say

__all__ = ["Scheme", "DEFAULTS", "PARAMETERS", "check_tolerance", "DETECTOR_NAMES", "PEAKS", "RECOMMENDED_PEAKS",
           "CONTEXT_PRE_R_S", "classifier_pre_r_s"]


@dataclass(frozen=True)
class Scheme:
    """The scheme's keywords, checked.

    Attributes
    ----------
    fs_out : float
        Rate the beats are sampled at (Hz): 125.
    window_s : float
        Window length (s): 10; each window is min-max scaled on its own.
    threshold : float
        R-peak candidates are local maxima above this in a scaled window: 0.9.
    period_factor : float
        A beat spans this many heartbeat periods T: 1.2.
    length : int
        Samples per beat after zero-padding or truncation: 187.
    refractory_s : float or None
        Off by default (the paper has none): of rule peaks closer than this, only the highest is kept.
    period : {"rule", "peaks"}
        T per window from the rule's peaks (the paper), or from the positions beats are cut at.
    pre_r_s : float
        Start each segment this long before its R-peak (0: the paper's cut; 0.25 shows the P wave).
    polarity : {"auto", "keep"}
        ``"auto"``: when beats are cut at a detector's R-peaks and it finds the lead inverted (its QRS complexes
        point down; ``hamilton`` tells), cut the upright signal (``-signal``), T and segments alike;
        ``"keep"``: cut the signal as it is. Cuts at reference or given positions keep the record's polarity.
    gaps : {"error", "interpolate", "split"}
        What to do with stretches of NaN samples: refuse (default), fill linearly, or segment each valid stretch
        on its own (:mod:`ecgseg.gaps`).

    Raises
    ------
    ValueError
        One line naming the keyword and what it takes.

    Examples
    --------
    >>> Scheme().length, Scheme(pre_r_s=0.25).pre_r_s
    (187, 0.25)
    >>> Scheme(period="beats")
    Traceback (most recent call last):
    ...
    ValueError: period must be 'rule' or 'peaks', got 'beats'
    """

    fs_out: float = 125.0
    window_s: float = 10.0
    threshold: float = 0.9
    period_factor: float = 1.2
    length: int = 187
    refractory_s: float | None = None
    period: str = "rule"
    pre_r_s: float = 0.0
    polarity: str = "auto"
    gaps: str = "error"

    def __post_init__(self):
        _number(self.fs_out, "fs_out", "a positive rate in Hz", lambda x: x > 0)
        _number(self.window_s, "window_s", "a positive number of seconds", lambda x: x > 0)
        _number(self.threshold, "threshold", "in [0, 1): a share of each window's range (1 or more finds no peak)",
                lambda x: 0 <= x < 1)
        _number(self.period_factor, "period_factor", "a positive number of periods T", lambda x: x > 0)
        if isinstance(self.length, bool) or not isinstance(self.length, int) or self.length < 1:
            raise ValueError(f"{_name('length')} must be a whole number of samples, at least 1, got {self.length!r}")
        if self.refractory_s is not None:
            _number(self.refractory_s, "refractory_s", ">= 0 seconds (or None: off)", lambda x: x >= 0)
        _number(self.pre_r_s, "pre_r_s", ">= 0 seconds", lambda x: x >= 0)
        if self.period not in ("rule", "peaks"):
            raise ValueError(f"{_name('period')} must be 'rule' or 'peaks', got {self.period!r}")
        if self.polarity not in ("auto", "keep"):
            raise ValueError(f"{_name('polarity')} must be 'auto' or 'keep', got {self.polarity!r}")
        if self.gaps not in ("error", "interpolate", "split"):
            raise ValueError(f"{_name('gaps')} must be 'error', 'interpolate' or 'split', got {self.gaps!r}")

    def samples(self, seconds: float, fs_out: float | None = None) -> int:
        """``seconds`` in whole samples at the output rate (``fs_out``, else the one asked for)."""
        return int(round(seconds * (self.fs_out if fs_out is None else fs_out)))


def _name(keyword: str) -> str:
    """A keyword as the caller gives it: ``--window-s`` on the command line, ``window_s`` in Python."""
    return say("--" + keyword.replace("_", "-"), keyword)


def _number(value, keyword: str, what: str, good) -> None:
    """Refuse a value that is not a finite real number for which ``good`` holds (NaN and text included)."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) and good(float(value))
    if not ok:
        raise ValueError(f"{_name(keyword)} must be {what}, got {value!r}")


def check_tolerance(tolerance_s) -> None:
    """Refuse a labelling tolerance (s) that is not a finite number >= 0 (:func:`ecgseg.labels.label_beats`).

    Examples
    --------
    >>> check_tolerance(0.15)
    """
    _number(tolerance_s, "tolerance_s", ">= 0 seconds", lambda x: x >= 0)


#: The paper's values, as the command line shows them.
DEFAULTS = Scheme()
#: The keyword names, in order.
PARAMETERS = tuple(f.name for f in fields(Scheme))

#: The R-peak detectors by name, as :data:`ecgseg.peaks.DETECTORS` registers them (a test checks they agree): the
#: paper's rule first. Known here, without numpy, so ``--peaks`` lists them in ``--help``.
DETECTOR_NAMES = ("rule", "hamilton")
#: Where beats can be cut, by name (``peaks=`` / ``--peaks``): the rule, a record's reference beat annotations, the
#: other detectors. ``segment`` also takes R-peak sample indices.
PEAKS = (DETECTOR_NAMES[0], "annotations", *DETECTOR_NAMES[1:])
#: The detector that finds nearly every beat (Se 99.9% on MIT-BIH): what the commands that analyse a record
#: (``report``, ``plot record``) cut at by default, and what a rule cut's summary is compared with.
RECOMMENDED_PEAKS = "hamilton"
#: Where the segments the shipped context classifier reads start before the R-peak (s): the P wave is in them.
CONTEXT_PRE_R_S = 0.25


def classifier_pre_r_s(peaks: str) -> float:
    """Where the segments start that the best shipped classifier for beats cut at ``peaks`` reads (s before the R).

    Beats whose R-peaks are every beat (a detector's or the annotations) suit the context model, which reads
    R-R intervals and segments cut :data:`CONTEXT_PRE_R_S` before the R-peak; the paper's rule misses about half the
    beats, so its R-R intervals are wrong and its beats go to the waveform-only model, which reads the paper's cut.

    Examples
    --------
    >>> classifier_pre_r_s("hamilton"), classifier_pre_r_s("rule")
    (0.25, 0.0)
    """
    return DEFAULTS.pre_r_s if peaks == "rule" else CONTEXT_PRE_R_S
