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
