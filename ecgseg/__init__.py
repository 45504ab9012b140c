"""ecgseg: raw ECG records to labelled fixed-length heartbeats, and their classification.

The public names below load on first use (PEP 562), so ``import ecgseg`` and
``ecgseg --help`` stay fast; the segmentation library never imports torch, and
record reading imports wfdb only when called. The classifier is
:mod:`ecgseg.classify`.

Examples
--------
>>> import numpy as np, ecgseg
>>> fs = 360; t = np.arange(20 * fs) / fs
>>> beats = ecgseg.segment(np.exp(-((t % 0.75) - 0.1) ** 2 / 2e-4), fs=fs)
>>> beats.segments.shape[1]
187
"""

from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "segment": "segmentation",
    "Beats": "beats",
    "detect_r_peaks": "peaks",
    "DETECTORS": "peaks",
    "AAMI_CLASSES": "labels",
    "SYMBOL_TO_CLASS": "labels",
    "label_beats": "labels",
    "read_record": "records",
    "Record": "records",
    "segment_record": "pipeline",
    "segment_records": "batch",
    "classify_beats": "classify.predict",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
