import numpy as np
import pytest

from ecgseg import _kernels
from ecgseg.signal import normalize_windows, resample, validate_signal, window_length

from . import naive


@pytest.mark.parametrize("fs", [100, 250, 360, 500, 1000, 128.5])
def test_resample_gives_the_target_rate(fs):
    x = np.sin(2 * np.pi * 1.0 * np.arange(int(20 * fs)) / fs)  # 1 Hz, well below both Nyquist rates
    y = resample(x, fs, 125)
    assert y.shape[0] == pytest.approx(20 * 125, abs=1)
    t = np.arange(y.shape[0]) / 125
    assert np.abs(y[50:-50] - np.sin(2 * np.pi * t[50:-50])).max() < 0.02


def test_resample_same_rate_is_a_copy():
    x = np.arange(10.0)
    y = resample(x, 125, 125)
    assert np.array_equal(x, y) and y is not x


def test_window_length():
    assert window_length(125, 10) == 1250
    with pytest.raises(ValueError, match="at least 3"):
        window_length(125, 0.01)


def test_normalize_windows_matches_reference_and_properties():
    rng = np.random.default_rng(0)
    x = rng.normal(size=1250 * 3 + 400)  # three full windows and a shorter tail
    x[1250:2500] = 7.0  # one flat window
    xn, mins, maxs = normalize_windows(x, 1250)
    assert np.allclose(xn, naive.normalize_windows(x, 1250))
    assert mins.shape == maxs.shape == (4,)
    assert np.all(xn[1250:2500] == 0.0)
    for w in (0, 2, 3):
        block = xn[w * 1250:(w + 1) * 1250]
        assert block.min() == 0.0 and block.max() == 1.0


def test_kernels_match_naive_references_on_random_data():
    rng = np.random.default_rng(1)
    x = naive.normalize_windows(rng.normal(size=5000), 1250)
    peaks = _kernels.local_maxima_above(x, 1250, 0.6)
    assert np.array_equal(peaks, naive.local_maxima_above(x, 1250, 0.6))
    periods = _kernels.median_rr_per_window(peaks, 1250, 4)
    assert np.allclose(periods, naive.median_rr_per_window(peaks, 1250, 4), equal_nan=True)
    starts = rng.integers(-5, 5000, size=50)
    lows = starts + rng.integers(-20, 20, size=50)
    lengths = rng.integers(0, 250, size=50)
    assert np.array_equal(_kernels.cut_segments(x, starts, lows, lengths, 187), naive.cut_segments(x, starts, lows, lengths, 187))


@pytest.mark.parametrize(
    "signal, fs, message",
    [
        (np.zeros((100, 2)), 360, "must be 1-D"),
        (np.arange(100, dtype=np.int16), 360, "dtype int16"),
        (np.r_[np.ones(5), np.nan, np.zeros(5)], 360, "1 NaN or infinite"),
        (np.full(100, 3.0), 360, "flat"),
        (np.array([], dtype=float), 360, "empty"),
        (np.arange(100.0), 0, "positive sampling rate"),
        (np.arange(100.0), -5, "positive sampling rate"),
    ],
)
def test_validate_signal_rejects_bad_input_with_one_line(signal, fs, message):
    with pytest.raises(ValueError, match=message) as info:
        validate_signal(signal, fs)
    assert "\n" not in str(info.value)
