import numpy as np
import pytest

from ecgseg.rhythm import RR_FEATURES, rr_features


def test_regular_rhythm_has_unit_ratios():
    r = np.arange(0, 360 * 60, 288)  # 0.8 s
    rr = rr_features(r, 360)
    assert rr.shape == (r.size, len(RR_FEATURES)) and rr.dtype == np.float32
    assert np.allclose(rr[:, :3], 0.8) and np.allclose(rr[:, 3:], 1.0)


def test_premature_beat_and_compensatory_pause():
    r = np.array([0, 360, 720, 1080, 1300, 1800, 2160, 2520])  # beat 4 at 0.61 s, then a 1.39 s pause
    rr = rr_features(r, 360)
    prev, nxt, local, prev_local, next_local, next_prev = rr[4]
    assert prev == pytest.approx(220 / 360) and nxt == pytest.approx(500 / 360)
    assert local == pytest.approx(1.0)  # the intervals before it, not its own
    assert prev_local < 0.87 < 1.2 < next_prev


def test_local_average_is_the_window_before_the_beat():
    r = np.r_[np.arange(0, 3600 * 2, 360), np.arange(7200, 7200 + 3600 * 4, 180)]  # 1 s then 0.5 s rhythm
    rr = rr_features(r, 360, local_s=10.0)
    assert rr[-1, 2] == pytest.approx(0.5)  # >10 s into the fast rhythm: the slow one is forgotten
    first_fast = np.searchsorted(r, 7200) + 1
    assert 0.5 < rr[first_fast, 2] <= 1.0


def test_edges():
    assert rr_features([], 360).shape == (0, 6)
    one = rr_features([100], 360)
    assert one[0, :3].tolist() == [0, 0, 0] and one[0, 3:].tolist() == [1, 1, 1]
    two = rr_features([0, 360], 360)
    assert np.allclose(two[:, :3], 1.0)
    assert np.all(np.isfinite(rr_features([0, 0, 360], 360)))  # duplicate peaks do not divide by zero


def test_npz_from_the_cli_has_rr(data_dir, tmp_path):
    from click.testing import CliRunner

    from ecgseg.cli import cli

    out = tmp_path / "b.npz"
    result = CliRunner().invoke(cli, ["segment", "record", "232", "--data-dir", str(data_dir), "--peaks", "annotations", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with np.load(out) as npz:
        rr, labels = npz["rr"], npz["labels"]
    assert rr.shape == (labels.size, 6) and np.all(np.isfinite(rr))
    # Record 232: its S beats are premature against the local rhythm far more often than its N beats.
    premature = rr[:, 3] < 0.87
    assert premature[labels == 1].mean() > 2 * premature[labels == 0].mean()


# --- rhythm_features: the long-horizon context ---

from ecgseg import _kernels  # noqa: E402
from ecgseg.rhythm import RHYTHM_FEATURES, rhythm_features  # noqa: E402

from . import naive  # noqa: E402


def column(name):
    return RHYTHM_FEATURES.index(name)


def test_windowed_quantile_matches_numpy_reference():
    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(0, 60))
        times = np.sort(rng.uniform(0, 100, n))
        values = rng.normal(size=n).round(1)  # ties, as equal R-R intervals give
        centers = np.sort(rng.uniform(-10, 110, int(rng.integers(1, 40))))
        half, q = rng.uniform(0, 30), rng.uniform()
        expected = naive.windowed_quantile(times, values, centers, half, q)
        assert np.allclose(_kernels.windowed_quantile(times, values, centers, half, q), expected, equal_nan=True)


def sinus(n, rr_s=0.8, fs=360):
    return np.round(np.arange(n) * rr_s * fs).astype(np.int64)


def test_sinus_rhythm_is_regular_and_rate_independent():
    for fs in (250, 360, 1000):
        f = rhythm_features(sinus(120, 0.8, fs), fs)
        assert f.shape == (120, len(RHYTHM_FEATURES)) and f.dtype == np.float32
        assert np.allclose(f[:, :3], 0.8, atol=2 / fs) and np.allclose(f[:, 3:], 1.0, atol=0.01)


def test_premature_beat_with_pause_against_the_dominant_rhythm():
    r = sinus(120)
    r[60] -= 100  # 0.28 s early; the next beat keeps its time: a compensatory pause
    f = rhythm_features(r, 360)
    assert f[60, column("prev_over_median")] == pytest.approx((288 - 100) / 288, abs=0.01)
    assert f[60, column("next_over_prev")] > 2
    assert f[61, column("before_prev_over_median")] < 0.7  # the beat after it sees it one interval back
    assert f[60, column("rr_spread")] == pytest.approx(1.0, abs=0.01)  # one ectopic beat leaves the rhythm regular


def test_atrial_fibrillation_is_irregular_bigeminy_regular_at_lag_two():
    rng = np.random.default_rng(1)
    af = np.cumsum(rng.uniform(0.4, 1.2, 200) * 360).astype(np.int64)
    bigeminy = np.cumsum(np.tile([0.55, 1.05], 100) * 360).astype(np.int64)
    f_af, f_big = rhythm_features(af, 360), rhythm_features(bigeminy, 360)
    spread, lag2 = column("rr_spread"), column("rr_spread_lag2")
    assert np.median(f_af[:, spread]) > 1.2 and np.median(f_af[:, lag2]) > 1.2  # sinus: 1.0
    assert np.median(f_big[:, spread]) > 1.5 and np.median(f_big[:, lag2]) < 1.02


def test_runs_of_ectopic_beats_are_short_against_the_long_rr():
    # a slow rhythm (1.6 s) interrupted by runs of fast beats (0.7 s) that are most of the beats
    pieces = []
    for _ in range(12):
        pieces += [1.6] * 3 + [0.7] * 8
    r = np.cumsum(np.array(pieces) * 360).astype(np.int64)
    f = rhythm_features(r, 360)
    fast = np.r_[False, np.isclose(np.diff(r) / 360, 0.7)]
    assert np.median(f[fast, column("prev_over_median")]) == pytest.approx(1.0, abs=0.05)  # the median is theirs
    assert np.median(f[fast, column("prev_over_long")]) < 0.5  # the long R-R is not


def test_rhythm_features_edges():
    assert rhythm_features([], 360).shape == (0, len(RHYTHM_FEATURES))
    one = rhythm_features([10], 360)
    assert one[0, :3].tolist() == [0, 0, 0] and np.all(one[0, 3:] == 1)
    assert np.all(np.isfinite(rhythm_features([0, 0, 360, 720], 360)))  # duplicates do not divide by zero
    assert np.all(np.isfinite(rhythm_features([0, 360 * 100, 360 * 200], 360)))  # pauses longer than the horizon
    with pytest.raises(ValueError, match="sorted"):
        rhythm_features([360, 0], 360)
