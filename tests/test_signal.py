from fractions import Fraction

import numpy as np
import pytest

import ecgseg
from ecgseg import _kernels
from ecgseg.peaks import rescale_indices
from ecgseg.signal import (
    MAX_RATE_ERROR,
    normalize_windows,
    output_rate,
    resample,
    resample_part,
    resample_ratio,
    resample_span,
    resampled_length,
    validate_signal,
    window_length,
)

from . import naive
from .synthetic import spike_train

#: Rates people record at: the BioSemi/EEG family, audio, odd decimal and fractional ones, 1 MHz, a float header rate.
RATES = [1024, 2048, 4096, 44100, 133.33, 204.8, 1e6, 360.0000001, 360, 250, 128]


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
    assert np.array_equal(periods, naive.median_rr_per_window(peaks, 1250, 4), equal_nan=True)
    for n in (2, 3, 8, 9, 300):  # even and odd counts: np.median's value exactly
        some = np.sort(rng.choice(1250, n, replace=False)).astype(np.int64)
        assert _kernels.median_rr_per_window(some, 1250, 1)[0] == np.median(np.diff(some))
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


# Resampling at any rate, exactly ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fs, up, down",
    [(360, 25, 72), (1024, 125, 1024), (2048, 125, 2048), (4096, 125, 4096), (44100, 5, 1764), (133.33, 12500, 13333),
     (204.8, 625, 1024), (1e6, 1, 8000), (100, 5, 4), (125, 1, 1)],
)
def test_resample_ratio_is_the_exact_ratio_of_decimal_rates(fs, up, down):
    assert resample_ratio(fs, 125) == (up, down)
    assert resample_ratio(125, fs) == (down, up)
    assert output_rate(fs, 125) == 125.0


@pytest.mark.parametrize("fs", [360.0000001, 999.999, 2.0**20, 257.123456789, np.float32(133.33)])
def test_a_bounded_ratio_gives_an_output_rate_that_every_mapping_uses(fs):
    up, down = resample_ratio(fs, 125)
    exact = Fraction(125) / Fraction(repr(float(fs)))
    assert Fraction(up, down) != exact and max(up, down) <= 2**17
    rate = output_rate(fs, 125)
    assert rate == pytest.approx(float(fs) * up / down, rel=1e-15)
    assert abs(rate / 125 - 1) <= MAX_RATE_ERROR
    # The same fraction from the output rate it gives, and its inverse the other way round.
    assert resample_ratio(fs, rate) == (up, down)
    assert resample_ratio(rate, fs) == resample_ratio(125, fs) == (down, up)


def test_resample_ratio_for_a_float_header_rate_is_the_nearest_small_fraction():
    assert resample_ratio(360.0000001, 125) == (25, 72)
    assert output_rate(360.0000001, 125) == pytest.approx(125.0000000347, abs=1e-10)


@pytest.mark.parametrize("fs, fs_out", [(1e9, 125), (360, 1e-9)])
def test_rates_no_practical_filter_can_join_are_refused_with_one_line(fs, fs_out):
    with pytest.raises(ValueError, match="resample the signal to a lower rate first") as info:
        resample_ratio(fs, fs_out)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("fs_out", [0, -125, np.nan, "125"])
def test_a_bad_output_rate_is_refused(fs_out):
    with pytest.raises(ValueError, match="fs_out must be a positive sampling rate"):
        resample_ratio(360, fs_out)


def random_walk(n, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.standard_normal(n)) * 0.05 + np.sin(np.arange(n) * 0.01)


@pytest.mark.parametrize("fs", RATES)
def test_resample_matches_scipy_resample_poly(fs):
    from scipy.signal import resample_poly

    x = random_walk(int(min(12 * fs, 400_000)), seed=int(fs) % 1000)
    up, down = resample_ratio(fs, 125)
    ours, theirs = resample(x, fs, 125), resample_poly(x, up, down)
    assert ours.shape == theirs.shape == (resampled_length(x.size, fs, 125),)
    assert np.max(np.abs(ours - theirs)) <= 1e-9


@pytest.mark.parametrize("record", ["100", "208"])
def test_resample_matches_scipy_on_real_records(data_dir, record):
    from scipy.signal import resample_poly

    from ecgseg.records import read_record

    signal = read_record(record, data_dir=data_dir).signal
    for fs_out in (125, 250, 100):  # down, down by a half-integer ratio, and 360 -> 100 (5/18)
        up, down = resample_ratio(360, fs_out)
        assert np.max(np.abs(resample(signal, 360, fs_out) - resample_poly(signal, up, down))) <= 1e-9


def test_resample_kernel_matches_the_naive_definition():
    from scipy.signal import firwin

    x = random_walk(300, seed=3)
    for up, down in [(25, 72), (5, 4), (3, 1), (1, 3)]:
        h = firwin(2 * 10 * max(up, down) + 1, 1 / max(up, down), window=("kaiser", 5.0)) * up
        fs = 125 * down / up
        assert np.allclose(resample(x, fs, 125), naive.polyphase_resample(x, up, down, h), rtol=0, atol=1e-12)


def test_bessel_i0_kernel_matches_scipy():
    from scipy.special import i0

    x = np.linspace(-8, 8, 10001)
    assert np.max(np.abs(_kernels.bessel_i0(x) / i0(x) - 1)) < 1e-15


@pytest.mark.parametrize("fs", [1024, 44100, 133.33, 360.0000001])
def test_a_part_of_the_signal_resamples_to_the_wholes_samples(fs):
    x = random_walk(int(30 * fs), seed=7)
    whole = resample(x, fs, 125)
    for out_start, out_stop in [(0, 700), (1000, 2500), (2500, whole.size), (whole.size - 3, whole.size)]:
        lo, hi = resample_span(out_start, out_stop, x.size, fs, 125)
        part = resample_part(x[lo:hi], fs, 125, start=lo, n_samples=x.size, out_start=out_start, out_stop=out_stop)
        assert np.array_equal(part, whole[out_start:out_stop])
    with pytest.raises(ValueError, match="need input samples"):
        resample_part(x[lo + 1 : hi], fs, 125, start=lo + 1, n_samples=x.size, out_start=out_start, out_stop=out_stop)


@pytest.mark.parametrize("fs", [128, 360, 1024, 133.33])
def test_a_part_is_read_within_its_span_only(fs):
    # The part sits in a buffer of NaNs: a read past its end would turn outputs into NaN.
    x = random_walk(int(30 * fs), seed=8)
    whole = resample(x, fs, 125)
    lo, hi = resample_span(1000, 2000, x.size, fs, 125)
    buffer = np.full(hi - lo + 2000, np.nan)
    buffer[1000 : 1000 + hi - lo] = x[lo:hi]
    part = resample_part(buffer[1000 : 1000 + hi - lo], fs, 125, start=lo, n_samples=x.size, out_start=1000, out_stop=2000)
    assert np.array_equal(part, whole[1000:2000])


def nearest_half_even(value: Fraction) -> int:
    low = value.numerator // value.denominator
    rest = value - low
    return low + (rest > Fraction(1, 2) or (rest == Fraction(1, 2) and low % 2 == 1))


@pytest.mark.parametrize("fs", RATES)
def test_positions_map_exactly_after_24_hours(fs):
    up, down = resample_ratio(fs, 125)
    day = round(24 * 3600 * float(fs))
    indices = day + np.array([-1_000_003, -1, 0, 1, 7, 36, 1000, 12345])
    ours = rescale_indices(indices, fs, 125)
    assert ours.tolist() == [nearest_half_even(Fraction(int(i) * up, down)) for i in indices]
    back = rescale_indices(ours, 125, fs)
    assert back.tolist() == [nearest_half_even(Fraction(int(m) * down, up)) for m in ours]
    assert np.array_equal(back, rescale_indices(ours, output_rate(fs, 125), fs))  # the recorded output rate maps the same
    assert np.all(np.abs(back - indices) <= down / up / 2 + 0.5)  # within half an output sample


@pytest.mark.parametrize("fs", [1024, 2048, 4096, 44100, 133.33, 204.8, 1e6, 360.0000001])
def test_output_sample_m_lies_at_input_position_m_down_over_up_after_24_hours(fs):
    # A ramp x[k] = k - p0 read only around 24 h: the filter (unit gain, symmetric) returns the input
    # position of each output sample, which must be the position rescale_indices maps it to.
    up, down = resample_ratio(fs, 125)
    p0 = round(24 * 3600 * float(fs))
    n_samples = p0 + int(60 * fs)
    m = rescale_indices(p0, fs, 125) + np.arange(-50, 50)
    lo, hi = resample_span(int(m[0]), int(m[-1]) + 1, n_samples, fs, 125)
    ramp = np.arange(lo, hi, dtype=np.float64) - p0
    y = resample_part(ramp, fs, 125, start=lo, n_samples=n_samples, out_start=int(m[0]), out_stop=int(m[-1]) + 1)
    where = y + p0  # the input position each output sample came from
    assert np.max(np.abs(where - m * down / up)) < 0.02  # a fiftieth of an input sample
    assert np.max(np.abs(rescale_indices(m, 125, fs) - where)) <= 0.52


@pytest.mark.parametrize("fs", [1024, 2048, 44100])
def test_beats_cut_at_high_rates_start_on_their_r_peaks(fs):
    signal, r = spike_train(fs, 40 if fs < 10_000 else 21, width_s=0.02)
    given = ecgseg.segment(signal, fs, peaks=r)
    assert np.array_equal(given.r_peaks, r)
    assert np.all(given.segments[:, 0] > 0.99)  # each segment starts on its R wave's top
    rule = ecgseg.segment(signal, fs)
    nearest = r[np.argmin(np.abs(rule.r_peaks[:, None] - r[None, :]), axis=1)]
    up, down = resample_ratio(fs, 125)
    assert np.all(np.abs(rule.r_peaks - nearest) <= down / up / 2 + 1)  # found at 125 Hz: within half its sample
    assert given.fs_out == rule.fs_out == 125.0


@pytest.mark.parametrize("fs", [1024, 2048, 44100, 133.33, 360.0000001])
@pytest.mark.parametrize("peaks", ["rule", "given"])
def test_chunked_equals_whole_at_any_rate(fs, peaks):
    signal, r = spike_train(fs, 47.3 if fs < 10_000 else 31.3, width_s=0.02)
    signal = signal + 0.02 * np.sin(np.arange(signal.size) * (2 * np.pi * 0.3 / fs))
    kwargs = {} if peaks == "rule" else {"peaks": r}
    whole = ecgseg.segment(signal, fs, **kwargs)
    chunked = ecgseg.segment(signal, fs, chunk_s=10, **kwargs)
    assert len(whole) > 30
    for name in ("segments", "r_peaks", "windows", "periods_s", "n_windows", "n_fallback_windows", "fs", "fs_out"):
        assert np.array_equal(getattr(chunked, name), getattr(whole, name)), name
    assert whole.fs_out == output_rate(fs, 125)


def test_a_bounded_ratio_is_recorded_as_the_beats_output_rate():
    fs = 360.0000001
    signal, _ = spike_train(fs, 30)
    beats = ecgseg.segment(signal, fs)
    assert beats.fs_out == output_rate(fs, 125) != 125.0
    assert np.allclose(beats.periods_s, 0.8, atol=1 / 125)


@pytest.mark.slow
def test_a_24_hour_record_at_1024_hz_keeps_its_beats_on_their_r_peaks(tmp_path):
    # 88 million samples, read chunk by chunk from a formula (nothing held): R waves every 0.8 s.
    fs, n = 1024, 24 * 3600 * 1024

    class Formula:  # a 1-D signal that computes the samples it is sliced for
        shape, dtype = (n,), np.float64

        def __getitem__(self, index):
            t = np.arange(index.start, index.stop) / fs
            d = t - (0.5 + 0.8 * np.round((t - 0.5) / 0.8))
            return np.exp(-0.5 * (d / 0.02) ** 2) + 0.3 * np.exp(-0.5 * ((d - 0.3) / 0.08) ** 2)

    r = np.rint((0.5 + 0.8 * np.arange(108_000)) * fs).astype(np.int64)
    last_hour = r > n - 3600 * fs
    given = ecgseg.segment(Formula(), fs, peaks=r, chunk_s=600)
    assert np.array_equal(given.r_peaks, r)
    assert given.segments[last_hour, 0].min() > 0.999  # still cut from the top of the R wave
    rule = ecgseg.segment(Formula(), fs, chunk_s=600)
    assert len(rule) == r.size
    # Each R wave's top falls half way between two 125 Hz samples: found on one of them, 4.096 samples off, all day.
    assert np.abs(rule.r_peaks - r).max() <= 5


def test_rescale_indices_takes_whole_numbers_only():
    assert rescale_indices(np.array([720.0, 36.0]), 360, 125).tolist() == [250, 12]
    with pytest.raises(ValueError, match="indices must be whole sample numbers, got float64 values such as 1.5"):
        rescale_indices([1.5, 2.0], 360, 125)


def test_segmenting_a_record_imports_neither_scipy_signal_nor_torch(data_dir, tmp_path):
    # Start-up: scipy.signal (with scipy.stats) took most of a second to import; resampling no longer needs it.
    import subprocess
    import sys

    code = (
        "import sys; from ecgseg.cli import cli; "
        f"cli(['segment', 'record', '100', '--data-dir', {str(data_dir)!r}, '-o', {str(tmp_path / 'b.npy')!r}, '-q'], "
        "standalone_mode=False); "
        "print(sorted({'scipy.signal', 'scipy.stats', 'torch', 'matplotlib'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert np.load(tmp_path / "b.npy").shape == (1073, 187)
