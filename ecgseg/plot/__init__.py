"""Figures of records, beats and classifier results: arrays in, a matplotlib ``Figure`` out.

matplotlib is an optional extra (``pip install 'ecgseg[plot]'``), imported only
inside these functions. Figures are built on ``matplotlib.figure.Figure`` and
saved with the Agg canvas, never through pyplot: no GUI backend, no global
figure registry to leak, safe in a server or a worker process. Every figure has
a fixed size in inches, so a PNG is ``size * dpi`` pixels.

Import everything from here. The code is in three private modules: ``_strip``
(a record's ECG strip), ``_classes`` (beats, confusion matrix and probabilities,
by class) and ``_common`` (what they share: class colours, the matplotlib import,
image formats, rendering and saving).
"""

from ._classes import beats_figure, confusion_figure, probability_figure
from ._common import (
    CLASS_COLORS,
    INSTALL_HINT,
    MissingMatplotlib,
    figure_bytes,
    require_matplotlib,
    save_figure,
)
from ._common import CLASS_TITLES as CLASS_TITLES
from ._common import FORMATS as FORMATS
from ._common import UNLABELLED_COLOR as UNLABELLED_COLOR
from ._common import figure_format as figure_format
from ._strip import POOR_COLOR, VF_COLOR, missed_reference_beats, record_strip, strip_figure

# CLASS_TITLES, FORMATS, UNLABELLED_COLOR and figure_format are importable from here but not in __all__, as before
# the split; ``X as X`` marks them as re-exported.
__all__ = [
    "CLASS_COLORS", "POOR_COLOR", "VF_COLOR", "INSTALL_HINT", "MissingMatplotlib", "require_matplotlib", "figure_bytes", "save_figure",
    "strip_figure", "record_strip", "missed_reference_beats", "beats_figure", "confusion_figure", "probability_figure",
]
