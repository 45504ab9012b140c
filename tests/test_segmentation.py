"""The scheme over a whole signal or in chunks: the same beats, array for array; one check of what is given.

Protocol: "exactly" means every array of the result is equal (``np.array_equal``), not close.
"""

from __future__ import annotations

import numpy as np
import pytest

import ecgseg

from ecgseg.terms import command_line

from .synthetic import assert_same_beats, spikes, synthetic_ecg


@pytest.mark.parametrize("fs", [360, 257, 1000, 100])
@pytest.mark.parametrize("chunk_s", [10, 25, 600])
def test_chunked_equals_whole_on_synthetic_signals(fs, chunk_s):
    # 187.3 s: a short last window; 25 s is not a multiple of the 10 s window (rounded down to 20 s).
    signal, _ = synthetic_ecg(fs, 187.3, seed=fs)
    whole = ecgseg.segment(signal, fs)
    assert whole.n_fallback_windows > 0  # the record-median fallback is exercised
    chunked = ecgseg.segment(signal, fs, chunk_s=chunk_s)
    assert_same_beats(chunked, whole)


@pytest.mark.parametrize("chunk_s", [10, 20, 600])
def test_chunked_equals_whole_with_the_refractory_guard_across_chunk_edges(chunk_s):
    # Every window: a reference spike mid-window, two close candidates at 3 s, and a close pair straddling
    # its end edge, the later one higher (a kept peak replaced across the edge) or lower (dropped), alternately.
    n_windows = 18
    times, heights = [], []
    for w in range(n_windows):
        start = 10.0 * w
        times += [start + 5.0, start + 3.0, start + 3.1]
        heights += [2.3, 2.15, 2.25]
        if w < n_windows - 1:
            times += [start + 9.92, start + 10.06]
            heights += [2.2, 2.5] if w % 2 == 0 else [2.5, 2.2]
    signal = spikes(360, 10.0 * n_windows + 4.3, times, heights)
    whole = ecgseg.segment(signal, 360, refractory_s=0.2)
    plain = ecgseg.segment(signal, 360)
    dropped = np.setdiff1d(plain.r_peaks, whole.r_peaks)
    replaced_across = [p for p in dropped if np.any((whole.r_peaks > p) & (whole.r_peaks - p < 0.2 * 360) & (whole.r_peaks // 3600 > p // 3600))]
    assert len(replaced_across) >= 8  # kept peaks replaced by higher ones in the next window
    chunked = ecgseg.segment(signal, 360, refractory_s=0.2, chunk_s=chunk_s)
    assert_same_beats(chunked, whole)


@pytest.mark.parametrize("chunk_s", [10, 25])
def test_chunked_equals_whole_with_pre_r_context(chunk_s):
    signal, _ = synthetic_ecg(360, 95.3, seed=5)
    whole = ecgseg.segment(signal, 360, pre_r_s=0.25)
    assert whole.n_fallback_windows > 0 and whole.pre_r_s == 0.25
    chunked = ecgseg.segment(signal, 360, pre_r_s=0.25, chunk_s=chunk_s)
    assert_same_beats(chunked, whole)


def test_chunked_equals_whole_with_given_peaks_and_period_from_them():
    signal, r_samples = synthetic_ecg(360, 95.3, seed=3)
    for period in ("rule", "peaks"):
        whole = ecgseg.segment(signal, 360, peaks=r_samples, period=period)
        chunked = ecgseg.segment(signal, 360, peaks=r_samples, period=period, chunk_s=30)
        assert_same_beats(chunked, whole)


def test_chunked_refuses_what_is_not_window_local_and_reports_bad_input(monkeypatch):
    from ecgseg.peaks import DETECTORS

    signal, _ = synthetic_ecg(360, 60, seed=1)
    with pytest.raises(ValueError, match="refractory_s=11 is longer than a 10 s window"):
        ecgseg.segment(signal, 360, refractory_s=11, chunk_s=600)
    monkeypatch.setitem(DETECTORS, "whole_only", lambda x, fs: np.arange(100, x.size, 300))  # no streaming form
    with pytest.raises(ValueError, match="peaks='whole_only' cannot run in chunks"):
        ecgseg.segment(signal, 360, peaks="whole_only", chunk_s=600)
    with pytest.raises(ValueError, match="unknown peaks 'pantompkins'"):
        ecgseg.segment(signal, 360, peaks="pantompkins", chunk_s=600)
    with pytest.raises(ValueError, match="at least one 10 s window"):
        ecgseg.segment(signal[:3000], 360, chunk_s=600)
    holed = signal.copy()
    holed[15_000] = np.nan
    with pytest.raises(ValueError, match=r"^signal has 1 NaN or infinite samples \(of 21600\): 1 gap of NaN \(1 sample at "
                       r"41\.67 s, sample 15000\); cut around it with gaps='split' or fill it with gaps='interpolate'$"):
        ecgseg.segment(holed, 360, chunk_s=20)
    for chunk_s in (None, 600):  # the value as a number, not numpy's repr of it
        with pytest.raises(ValueError, match=r"^signal is flat \(every sample is 1\); there are no beats to find$"):
            ecgseg.segment(np.ones(36_000), 360, chunk_s=chunk_s)


@pytest.mark.parametrize("bad, message", [
    (np.array([100.0, 900.0]), r"peaks must be a 1-D array of integer sample indices, got float64 \(2,\)"),
    (np.array([[100, 900]]), r"peaks must be a 1-D array of integer sample indices, got int64 \(1, 2\)"),
    (np.array([-1, 900]), r"peaks must lie in \[0, 21600\), got -1\.\.900"),
])
def test_given_peaks_are_checked_once_the_same_way_whole_and_in_chunks(bad, message):
    """The one intended change of the structure work: chunked used to truncate float peaks silently."""
    signal, _ = synthetic_ecg(360, 60, seed=2)
    for chunk_s in (None, 20):
        with pytest.raises(ValueError, match=message):
            ecgseg.segment(signal, 360, peaks=bad, chunk_s=chunk_s)


def test_the_schemes_keywords_are_checked_before_any_work_whole_and_in_chunks():
    signal, _ = synthetic_ecg(360, 60, seed=2)
    for chunk_s in (None, 20):
        with pytest.raises(ValueError, match="period must be 'rule' or 'peaks', got 'beats'"):
            ecgseg.segment(signal, 360, period="beats", chunk_s=chunk_s)
        with pytest.raises(ValueError, match="pre_r_s must be >= 0 seconds, got -0.1"):
            ecgseg.segment(signal, 360, pre_r_s=-0.1, chunk_s=chunk_s)
        with pytest.raises(ValueError, match="signal has dtype int64, expected float in physical units"):
            ecgseg.segment(np.zeros(36_000, np.int64), 360, chunk_s=chunk_s)
    with pytest.raises(ValueError, match="chunk_s must be a positive number of seconds, got 0"):
        ecgseg.segment(signal, 360, chunk_s=0)


def test_a_signal_on_disk_is_read_a_chunk_at_a_time(tmp_path):
    signal, _ = synthetic_ecg(360, 95.3, seed=4)
    np.save(tmp_path / "x.npy", signal)
    on_disk = np.load(tmp_path / "x.npy", mmap_mode="r")  # a numpy.memmap: slices are read on demand
    reads = []

    class Logged:  # any 1-D object that slices will do; this one notes what is read
        shape, dtype = on_disk.shape, on_disk.dtype

        def __getitem__(self, index):
            reads.append((index.start, index.stop))
            return on_disk[index]

    assert_same_beats(ecgseg.segment(Logged(), 360, chunk_s=20), ecgseg.segment(signal, 360))
    # 20 s regions, each with its margin, then the polarity check's four 10 s pieces (40 s at least)
    assert len(reads) == 9 and max(b - a for a, b in reads) < 0.3 * signal.size
    assert [b - a for a, b in reads[5:]] == [3600] * 4


def test_segments_can_stay_in_a_spool_on_disk():
    from ecgseg.segmentation import Spool

    signal, _ = synthetic_ecg(360, 95.3, seed=5)
    whole = ecgseg.segment(signal, 360)
    with Spool() as spool:
        spooled = ecgseg.segment(signal, 360, chunk_s=20, spool=spool)
        assert spooled.segments is spool and spool.shape == whole.segments.shape
        assert np.array_equal(np.concatenate(list(spool.blocks(7))), whole.segments)
        assert np.array_equal(spool.load(), whole.segments)


# The detector's findings carried through: chunks, polarity, quality, flutter ------------------------------------


@pytest.mark.parametrize("chunk_s", [10, 25, 600])
def test_hamilton_in_chunks_gives_the_whole_signals_beats(chunk_s):
    signal, _ = synthetic_ecg(360, 95, seed=3)
    whole = ecgseg.segment(signal, 360, peaks="hamilton")
    assert whole.quality is not None and whole.quality.dtype == np.float32
    assert_same_beats(ecgseg.segment(signal, 360, peaks="hamilton", chunk_s=chunk_s), whole)


def test_an_inverted_lead_gives_the_upright_leads_beats():
    signal, truth = synthetic_ecg(360, 60, seed=4)
    upright = ecgseg.segment(signal, 360, peaks="hamilton")
    inverted = ecgseg.segment(-signal, 360, peaks="hamilton")
    assert inverted.inverted and not upright.inverted
    for name in ("segments", "r_peaks", "periods_s", "quality"):
        assert np.array_equal(getattr(inverted, name), getattr(upright, name)), name
    assert inverted.notes == ("lead inverted (QRS pointing down): cut from the upright signal",)
    kept = ecgseg.segment(-signal, 360, peaks="hamilton", polarity="keep")
    assert np.array_equal(kept.r_peaks, upright.r_peaks) and np.median(kept.segments[:, 0]) < 0.5  # upside down
    assert "segments upside down" in kept.notes[0]
    # a cut at given positions keeps the record's polarity, and says so
    given = ecgseg.segment(-signal, 360, peaks=upright.r_peaks)
    assert given.inverted and "keep the record's polarity" in given.notes[0]
    assert np.array_equal(given.segments, ecgseg.segment(-signal, 360, peaks=upright.r_peaks, polarity="keep").segments)
    with pytest.raises(ValueError, match="polarity must be 'auto' or 'keep', got 'up'"):
        ecgseg.segment(signal, 360, peaks="hamilton", polarity="up")


def test_every_cut_measures_the_leads_polarity_and_the_rules_says_where_its_beats_sit():
    """The rule cuts at maxima: on an inverted lead its beats sit off the QRS. It measures the polarity from pieces
    of the lead (whole or read in chunks), says so in the notes, and ``inverted`` is the measured polarity for
    every cut, also at given positions without a quality scan."""
    signal, truth = synthetic_ecg(360, 300, seed=4)
    upright, inverted = ecgseg.segment(signal, 360), ecgseg.segment(-signal, 360)
    assert not upright.inverted and upright.notes == ()
    assert inverted.inverted and inverted.notes == (
        "lead looks inverted (QRS pointing down): the paper's rule cuts at maxima, so its beats sit off the QRS; "
        "peaks='hamilton' cuts it upright",)
    with command_line():
        assert ecgseg.segment(-signal, 360, chunk_s=30).notes[0].endswith("; --peaks hamilton cuts it upright")
    given = ecgseg.segment(-signal, 360, peaks=truth, quality=False)
    assert given.quality is None and given.inverted and "keep the record's polarity" in given.notes[0]
    assert not ecgseg.segment(signal, 360, peaks=truth, quality=False).inverted


def test_quality_is_measured_for_every_cut_but_the_rules():
    signal, _ = synthetic_ecg(360, 60, seed=5)
    assert ecgseg.segment(signal, 360).quality is None  # the paper's fast path
    ruled = ecgseg.segment(signal, 360, quality=True)
    assert ruled.quality.shape == (len(ruled),)
    hamilton = ecgseg.segment(signal, 360, peaks="hamilton")
    given = ecgseg.segment(signal, 360, peaks=hamilton.r_peaks)
    assert np.array_equal(given.quality, hamilton.quality) and given.quality.min() >= 0.7
    assert ecgseg.segment(signal, 360, peaks="hamilton", quality=False).quality is None


def test_fibrillation_is_marked_and_holds_no_detected_beats():
    from .synthetic import fibrillation

    fs = 360
    signal, _ = synthetic_ecg(fs, 90, seed=6)
    signal[30 * fs:60 * fs] = fibrillation(fs, 30)
    beats = ecgseg.segment(signal, fs, peaks="hamilton")
    assert beats.vf_stretches.shape == (1, 2)
    start, stop = beats.vf_stretches[0]
    assert not np.any((beats.r_peaks >= start) & (beats.r_peaks < stop))
    assert any(note.startswith("ventricular flutter/fibrillation in 1 stretch (") and note.endswith("no beats cut there")
               for note in beats.notes)
    # cut at the rule's peaks (with quality), the fibrillation's "beats" stay but score 0
    ruled = ecgseg.segment(signal, fs, quality=True)
    inside = (ruled.r_peaks >= start) & (ruled.r_peaks < stop)
    assert inside.any() and np.all(ruled.quality[inside] == 0.0)
    assert_same_beats(ecgseg.segment(signal, fs, peaks="hamilton", chunk_s=20), beats)


def test_beats_too_close_to_the_previous_one_are_counted_whatever_their_period():
    signal, _ = synthetic_ecg(360, 60, seed=7)
    beats = ecgseg.segment(signal, 360, peaks="hamilton")
    doubled = ecgseg.segment(signal, 360, peaks=np.sort(np.concatenate([beats.r_peaks, beats.r_peaks[:5] + 30])))
    assert beats.n_close == 0 and doubled.n_close == 5  # 83 ms apart: one QRS taken twice
@pytest.mark.parametrize("pre_r_s", [0.0, 0.25])
def test_spans_mark_the_signal_in_each_segment_and_only_padding_outside(pre_r_s):
    """Outside [first, stop) a segment is zero padding; inside it is the signal (whole and chunked alike)."""
    signal, r_samples = synthetic_ecg(360, 95.3, seed=5)
    for peaks in ("rule", r_samples):
        whole = ecgseg.segment(signal, 360, peaks=peaks, pre_r_s=pre_r_s)
        chunked = ecgseg.segment(signal, 360, peaks=peaks, pre_r_s=pre_r_s, chunk_s=30)
        assert np.array_equal(whole.spans, chunked.spans)
        columns = np.arange(whole.segments.shape[1])
        inside = (columns >= whole.spans[:, :1]) & (columns < whole.spans[:, 1:])
        assert (whole.segments[~inside] == 0).all()
        # inside, a sample is exactly 0 only where the window's minimum is: rare
        assert np.count_nonzero(whole.segments[inside] == 0) <= len(whole)
        lengths = whole.spans[:, 1] - whole.spans[:, 0]
        assert (lengths > 0).all() and (lengths < whole.segments.shape[1]).any()
        if pre_r_s:  # some beats start within 0.25 s of their window: padded at the front
            assert (whole.spans[:, 0] > 0).any()
