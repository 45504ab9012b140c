"""Gaps in a signal: stretches of NaN (or infinite) samples, found, filled or cut around, the same whole or in chunks.

A WFDB record stores an invalid sample as NaN in physical units; a multi-segment record's gap segments and segments
without the lead read as NaN; a header whose signals are skewed leaves a NaN tail. The segmentation cannot cut across
them (a window's min-max scaling would be NaN), so :func:`ecgseg.segment` takes ``gaps=``:

- ``"error"`` (default): refuse, naming the gaps and the other two choices;
- ``"interpolate"``: fill each gap linearly between the valid samples on either side (a gap at an end takes the
  nearest valid value): the record keeps its length and every position, and the beats near a gap are said;
- ``"split"``: segment each valid stretch on its own, so no window, period T or beat crosses a gap; stretches shorter
  than one window give no beats (said).

:func:`find_gaps` reads a signal that slices (a record on disk, a memmap) a block at a time, so a long record is never
in memory whole; :class:`Filled` and :class:`Stretch` are views that read the same way. The values they give do not
depend on how the signal is read, so the beats are the same whole or in chunks.
"""

from __future__ import annotations

import numpy as np

from .terms import setting

__all__ = ["GAPS", "find_gaps", "describe_gaps", "gap_error", "Filled", "Stretch", "valid_stretches"]

#: What ``gaps=`` / ``--gaps`` takes.
GAPS = ("error", "interpolate", "split")

#: Samples read at a time when looking for gaps in a signal that slices.
BLOCK = 1 << 20


def find_gaps(signal, n_samples: int | None = None, *, block: int = BLOCK) -> np.ndarray:
    """The stretches of non-finite samples of a 1-D signal, as ``[start, stop)`` sample ranges.

    Parameters
    ----------
    signal : array_like or sliceable, shape (n_samples,)
        Read ``block`` samples at a time (``signal[a:b]``).
    n_samples : int, optional
        Its length (default ``len(signal)``).

    Returns
    -------
    numpy.ndarray, shape (n_gaps, 2) int64
        Sorted, disjoint, each at least one sample long.

    Examples
    --------
    >>> x = np.array([1.0, np.nan, np.nan, 2.0, 3.0, np.inf])
    >>> find_gaps(x).tolist()
    [[1, 3], [5, 6]]
    >>> find_gaps(x, block=2).tolist()  # read two samples at a time: the same gaps
    [[1, 3], [5, 6]]
    """
    n_samples = len(signal) if n_samples is None else int(n_samples)
    runs = []
    for a in range(0, n_samples, block):
        bad = ~np.isfinite(np.asarray(signal[a:min(n_samples, a + block)], dtype=np.float64))
        if not bad.any():
            continue
        edges = np.diff(bad.astype(np.int8), prepend=0, append=0)
        starts, stops = np.flatnonzero(edges == 1) + a, np.flatnonzero(edges == -1) + a
        runs.append(np.stack([starts, stops], axis=1))
    if not runs:
        return np.empty((0, 2), dtype=np.int64)
    found = np.concatenate(runs).astype(np.int64)
    joined = np.flatnonzero(found[1:, 0] != found[:-1, 1]) + 1  # a gap across a block boundary is one gap
    return np.stack([found[np.r_[0, joined], 0], found[np.r_[joined - 1, len(found) - 1], 1]], axis=1)


def describe_gaps(gaps: np.ndarray, fs: float) -> str:
    """How many gaps, how long, where the first is (in samples when they are too short for tenths of a second).

    Examples
    --------
    >>> describe_gaps(np.array([[3600, 7200], [9000, 9360]]), 360.0)
    '2 gaps of NaN (11.0 s in all; the first at 10.0-20.0 s)'
    >>> describe_gaps(np.array([[15000, 15001]]), 360.0)
    '1 gap of NaN (1 sample at 41.67 s, sample 15000)'
    """
    n_bad = int((gaps[:, 1] - gaps[:, 0]).sum())
    how_long = f"{n_bad / fs:.1f} s" if n_bad >= 0.1 * fs else f"{n_bad} sample{'s' * (n_bad != 1)}"
    a, b = int(gaps[0, 0]), int(gaps[0, 1])
    where = f"{a / fs:.1f}-{b / fs:.1f} s" if b - a >= 0.1 * fs else f"{a / fs:.2f} s, sample {a}"
    if len(gaps) == 1:
        return f"1 gap of NaN ({how_long} at {where})"
    return f"{len(gaps)} gaps of NaN ({how_long} in all; the first at {where})"


def gap_error(gaps: np.ndarray, fs: float, n_samples: int) -> ValueError:
    """The refusal of ``gaps="error"``: what the gaps are, and the two ways on, in the caller's terms."""
    n_bad = int((gaps[:, 1] - gaps[:, 0]).sum())
    them = "it" if len(gaps) == 1 else "them"
    return ValueError(f"signal has {n_bad} NaN or infinite samples (of {n_samples}): {describe_gaps(gaps, fs)}; "
                      f"cut around {them} with {setting('gaps', 'split')} or fill {them} with "
                      f"{setting('gaps', 'interpolate')}")


def valid_stretches(gaps: np.ndarray, n_samples: int) -> np.ndarray:
    """The ``[start, stop)`` ranges between the gaps (non-empty).

    Examples
    --------
    >>> valid_stretches(np.array([[1, 3], [5, 6]]), 6).tolist()
    [[0, 1], [3, 5]]
    """
    starts = np.r_[0, gaps[:, 1]]
    stops = np.r_[gaps[:, 0], n_samples]
    keep = stops > starts
    return np.stack([starts[keep], stops[keep]], axis=1).astype(np.int64)


class _View:
    """A 1-D float64 signal that reads what it is sliced for (``view[a:b]``), as :func:`ecgseg.segment` takes one."""

    dtype = np.dtype(np.float64)

    def __init__(self, n_samples: int):
        self.shape = (int(n_samples),)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("reads contiguous ranges only: signal[start:stop]")
        start, stop, _ = index.indices(self.shape[0])
        return self.read(start, max(start, stop))

    def __array__(self, dtype=None, copy=None):
        return self.read(0, self.shape[0]) if dtype is None else self.read(0, self.shape[0]).astype(dtype)


class Filled(_View):
    """``signal`` with each gap filled linearly between the valid samples on either side (an end gap: the nearest).

    Examples
    --------
    >>> x = np.array([0.0, np.nan, np.nan, 3.0, np.nan])
    >>> filled = Filled(x, find_gaps(x))
    >>> filled[0:5].tolist(), filled[2:4].tolist()
    ([0.0, 1.0, 2.0, 3.0, 3.0], [2.0, 3.0])
    """

    def __init__(self, signal, gaps: np.ndarray, n_samples: int | None = None):
        super().__init__(len(signal) if n_samples is None else n_samples)
        if len(gaps) and (gaps[0, 0] == 0 and gaps[0, 1] == self.shape[0]):
            raise ValueError(f"signal has no valid sample: all {self.shape[0]} are NaN or infinite")
        self.signal, self.gaps = signal, gaps
        n = self.shape[0]
        # the valid sample before and after each gap (positions and values), read once
        self.left = np.where(gaps[:, 0] > 0, gaps[:, 0] - 1, gaps[:, 1]) if len(gaps) else gaps[:, 0]
        self.right = np.where(gaps[:, 1] < n, gaps[:, 1], gaps[:, 0] - 1) if len(gaps) else gaps[:, 1]
        value = (lambda i: float(np.asarray(signal[int(i):int(i) + 1], dtype=np.float64)[0]))
        self.left_value = np.array([value(i) for i in self.left])
        self.right_value = np.array([value(i) for i in self.right])

    def read(self, a: int, b: int) -> np.ndarray:
        x = np.array(self.signal[a:b], dtype=np.float64)
        first, last = np.searchsorted(self.gaps[:, 1], a, side="right"), np.searchsorted(self.gaps[:, 0], b)
        for g in range(first, last):  # the gaps overlapping [a, b): a handful, not a loop over samples
            g0, g1 = max(self.gaps[g, 0], a), min(self.gaps[g, 1], b)
            at = np.arange(g0, g1)
            span = self.right[g] - self.left[g]
            share = (at - self.left[g]) / span if span > 0 else np.zeros(at.size)
            x[g0 - a:g1 - a] = self.left_value[g] + share * (self.right_value[g] - self.left_value[g])
        return x


class Stretch(_View):
    """Samples ``[start, stop)`` of ``signal`` as a signal of its own.

    Examples
    --------
    >>> Stretch(np.arange(10.0), 3, 7)[1:3].tolist()
    [4.0, 5.0]
    """

    def __init__(self, signal, start: int, stop: int):
        super().__init__(stop - start)
        self.signal, self.start = signal, int(start)

    def read(self, a: int, b: int) -> np.ndarray:
        return np.asarray(self.signal[self.start + a:self.start + b], dtype=np.float64)
