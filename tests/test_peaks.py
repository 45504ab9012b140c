import numpy as np
import pytest

from ecgseg.peaks import detect_r_peaks, local_maxima, rule_peaks

from .synthetic import spike_train


def test_local_maxima_properties():
    rng = np.random.default_rng(2)
    x = rng.normal(size=2000)
    peaks = local_maxima(x)
    # Defining property: rising into the peak and not rising after it; and every such index is found.
    assert np.all(x[peaks] > x[peaks - 1]) and np.all(x[peaks] >= x[peaks + 1])
    d = np.diff(x)
    expected = np.flatnonzero((d[:-1] > 0) & (d[1:] <= 0)) + 1
    assert np.array_equal(peaks, expected)


def test_local_maxima_plateau_counts_once_and_threshold_applies():
    x = [0.0, 1.0, 1.0, 1.0, 0.0, 0.5, 0.0]
    assert local_maxima(x).tolist() == [1, 5]
    assert local_maxima(x, threshold=0.9).tolist() == [1]


def test_rule_finds_the_r_waves_of_a_clean_train_at_125_hz():
    x, truth = spike_train(125, 30)
    from ecgseg.signal import normalize_windows

    xn, _, _ = normalize_windows(x, 1250)
    peaks = rule_peaks(xn, 1250)
    # No peak on a window's first or last sample: the derivative is taken inside windows.
    edge = (truth % 1250 == 0) | (truth % 1250 == 1249)
    assert np.array_equal(peaks, truth[~edge])


def test_refractory_guard_keeps_the_highest_of_a_double_peak():
    x = np.zeros(1250)
    x[[100, 103, 400, 700]] = [1.0, 0.95, 1.0, 1.0]  # two maxima on one "QRS" at 100 and 103
    assert rule_peaks(x, 1250).tolist() == [100, 103, 400, 700]
    assert rule_peaks(x, 1250, refractory=25).tolist() == [100, 400, 700]


@pytest.mark.parametrize("fs", [250, 360, 500, 1000])
def test_rule_detector_at_input_rates(fs):
    x, truth = spike_train(fs, 40)
    found = detect_r_peaks(x, fs)
    # Positions come back at the input rate; a 125 Hz sample is fs/125 input samples wide.
    assert found.dtype == np.int64 and found.size == truth.size
    assert np.abs(found - truth).max() <= fs / 125


def test_unknown_method_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown R-peak method 'nope'"):
        detect_r_peaks(np.sin(np.arange(5000.0)), 360, method="nope")
