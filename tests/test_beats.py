import numpy as np
import pytest

from ecgseg import segment
from ecgseg.beats import SHORT_PERIOD_S, window_periods
from ecgseg.signal import resample

from . import naive
from .synthetic import spike_train


@pytest.mark.parametrize("fs", [125, 250, 360, 500, 1000])
def test_segment_is_exact_on_a_synthetic_train(fs):
    signal, truth = spike_train(fs, 40)  # R every 0.8 s from 0.2 s: 125 Hz samples 25 + 100 k
    beats = segment(signal, fs)

    assert np.array_equal(beats.r_peaks, truth)
    assert beats.segments.shape == (truth.size, 187) and beats.segments.dtype == np.float32
    assert np.allclose(beats.periods_s, 0.8)
    assert beats.n_windows == 4 and beats.n_fallback_windows == 0 and beats.n_short == 0

    # Contents: the window-scaled 125 Hz signal from the R-peak for 1.2 T = 120 samples, cut at the window end.
    x = naive.normalize_windows(resample(signal, fs, 125), 1250)
    positions = np.rint(truth * 125 / fs).astype(int)
    for row, p in zip(beats.segments, positions):
        n = min(120, (p // 1250 + 1) * 1250 - p)
        assert np.allclose(row[:n], x[p:p + n], atol=1e-6)
        assert np.all(row[n:] == 0.0)
    assert np.all(beats.segments[:, 0] > 0.9)  # every beat starts on its R-peak


def test_segment_at_given_peaks_keeps_them_and_takes_t_from_the_rule():
    signal, truth = spike_train(360, 30)
    given = truth[::2] + 3  # e.g. annotation positions a few samples off the maximum
    beats = segment(signal, 360, peaks=given)
    assert np.array_equal(beats.r_peaks, given)
    assert np.allclose(beats.periods_s, 0.8)  # from the rule's peaks, not the sparse given ones
    beats = segment(signal, 360, peaks=given, period="peaks")
    assert np.allclose(beats.periods_s, 1.6)


def test_window_without_two_peaks_takes_the_record_median():
    periods, n_fallback = window_periods(np.array([25, 125, 2425, 2600, 2700]), 1250, 3)
    assert n_fallback == 1 and periods.tolist() == [100.0, 100.0, 100.0]

    signal, truth = spike_train(125, 40)
    signal[1260:2400] = 0.0  # window 1 (samples 1250..2499) keeps one R wave, at 2425
    beats = segment(signal, 125)
    assert beats.n_fallback_windows == 1
    assert 2425 in beats.r_peaks and np.allclose(beats.periods_s, 0.8)


def test_double_peaks_collapse_t_and_the_guard_fixes_it():
    fs = 125
    signal, truth = spike_train(fs, 30, width_s=0.004)
    signal[truth + 2] = signal[truth] * 0.97  # a second maximum on each QRS, 16 ms later
    signal[truth + 1] = signal[truth] * 0.5
    faithful = segment(signal, fs)
    assert faithful.n_short == len(faithful) and np.all(faithful.periods_s < SHORT_PERIOD_S)
    guarded = segment(signal, fs, refractory_s=0.2)
    assert guarded.n_short == 0 and np.allclose(guarded.periods_s, 0.8)
    assert np.array_equal(guarded.r_peaks, truth)


def test_every_constant_is_a_parameter():
    signal, _ = spike_train(360, 40)
    beats = segment(signal, 360, fs_out=250, window_s=5, threshold=0.8, period_factor=1.0, length=300)
    assert beats.segments.shape[1] == 300 and beats.fs_out == 250
    assert np.all(beats.segments[:, 200:] == 0)  # T = 0.8 s = 200 samples at 250 Hz, factor 1.0
    assert np.count_nonzero(beats.segments[0]) == 200


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"peaks": "nope"}, "unknown peaks 'nope'"),
        ({"peaks": np.array([1.5, 2.5])}, "integer sample indices"),
        ({"peaks": np.array([[1, 2]])}, "integer sample indices"),
        ({"peaks": np.array([5, 10**9])}, "must lie in"),
        ({"period": "median"}, "period must be"),
    ],
)
def test_segment_rejects_bad_arguments(kwargs, message):
    signal, _ = spike_train(360, 20)
    with pytest.raises(ValueError, match=message):
        segment(signal, 360, **kwargs)


def test_segment_rejects_a_signal_shorter_than_one_window():
    signal, _ = spike_train(360, 9.5)
    with pytest.raises(ValueError, match="needs at least one 10 s window"):
        segment(signal, 360)


def test_segment_without_any_t_is_a_clear_error():
    signal = np.zeros(3600)
    signal[1000] = 1.0  # one beat: no R-R interval anywhere
    with pytest.raises(ValueError, match="heartbeat period T"):
        segment(signal, 360)


def test_segment_real_record_rule(record_100):
    """Record 100 (MLII, 360 Hz), the paper's rule, labels from the reference beats within 150 ms."""
    from ecgseg.pipeline import segment_record
    from ecgseg.labels import aami_classes

    beats = segment_record(record_100)
    n_reference = int(np.count_nonzero(aami_classes(record_100.ann_symbols) >= 0))
    assert beats.segments.min() >= 0.0 and beats.segments.max() <= 1.0
    assert np.all(np.diff(beats.r_peaks) > 0)
    matched = int(np.count_nonzero(beats.labels >= 0))
    assert matched + beats.n_missed == n_reference
    assert 0.4 < matched / n_reference < 1.0  # the rule misses beats below 0.9 of the window maximum


def test_segment_real_record_annotations_match_all_reference_beats(record_100):
    from ecgseg.pipeline import segment_record

    beats = segment_record(record_100, peaks="annotations")
    assert beats.n_missed == 0 and np.all(beats.labels >= 0)
    assert np.bincount(beats.labels, minlength=5).tolist() == [2239, 33, 1, 0, 0]  # mitdb 100: 2239 N, 33 A, 1 V


@pytest.mark.parametrize("fs", [125, 360])
def test_pre_r_context_starts_before_the_r_peak_inside_the_window(fs):
    signal, truth = spike_train(fs, 40)
    plain = segment(signal, fs)
    beats = segment(signal, fs, pre_r_s=0.3)
    pre = 38  # 0.3 s at 125 Hz
    assert beats.pre_r_s == 0.3 and np.array_equal(beats.r_peaks, plain.r_peaks)
    x = naive.normalize_windows(resample(signal, fs, 125), 1250)
    positions = np.rint(truth * 125 / fs).astype(int)
    n_clipped = 0
    for row, plain_row, p in zip(beats.segments, plain.segments, positions):
        assert row[pre] > 0.9  # the R-peak, pre samples in
        n = min(120, (p // 1250 + 1) * 1250 - p)
        assert np.array_equal(row[pre:pre + n], plain_row[:n])  # then the paper's segment
        first = max(p - pre, p // 1250 * 1250)  # nothing from the previous window: it is scaled differently
        assert np.allclose(row[first - (p - pre):pre], x[first:p], atol=1e-6)
        assert np.all(row[:first - (p - pre)] == 0.0)
        n_clipped += first > p - pre
    assert n_clipped >= 2  # beats 25 samples into a window: their first 13 samples stay zero
    with pytest.raises(ValueError, match="pre_r_s must be >= 0"):
        segment(signal, fs, pre_r_s=-1)
