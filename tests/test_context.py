import numpy as np
import pytest

from ecgseg import _kernels
from ecgseg.context import CONTEXT_FEATURES, beat_context, file_context
from ecgseg.morphology import TEMPLATE_FEATURES, beat_templates, record_groups, template_features


def beat(width, length=187, r=31):
    x = np.arange(length)
    return np.exp(-0.5 * ((x - r) / width) ** 2).astype(np.float32)


def test_row_medians_matches_numpy():
    rng = np.random.default_rng(0)
    segments = rng.normal(size=(30, 7)).astype(np.float32)
    members = np.array([3, 1, 4, 1, 5, 9, 2, 6], np.int64)
    offsets = np.array([0, 3, 3, 8], np.int64)
    out = _kernels.row_medians(segments, members, offsets)
    assert np.allclose(out[0], np.median(segments[[3, 1, 4]], axis=0))
    assert np.all(out[1] == 0)
    assert np.allclose(out[2], np.median(segments[[1, 5, 9, 2, 6]], axis=0))


def test_template_is_the_dominant_beat_and_ignores_premature_ones():
    n = 100
    segments = np.tile(beat(2), (n, 1))
    odd = np.arange(n) % 3 == 0  # a third of the beats wide (ventricular-like) and flagged premature
    segments[odd] = beat(8)
    templates = beat_templates(segments, np.arange(n) * 288, 360, regular=~odd)
    assert np.allclose(templates, beat(2), atol=1e-6)
    # without the flags the median is still the majority beat
    assert np.allclose(beat_templates(segments, np.arange(n) * 288, 360), beat(2), atol=1e-6)


def test_templates_never_mix_records():
    segments = np.r_[np.tile(beat(2), (40, 1)), np.tile(beat(6), (40, 1))]
    r = np.r_[np.arange(40), np.arange(40)] * 288  # the same times in both records
    records = np.repeat(["a", "b"], 40)
    templates = beat_templates(segments, r, 360, records=records)
    assert np.allclose(templates[:40], beat(2)) and np.allclose(templates[40:], beat(6))
    assert [g.tolist() for g in record_groups(np.array(["b", "a", "b"]), 3)] == [[0, 2], [1]]


def test_templates_follow_a_slow_change_within_the_half_window():
    n = 400  # 0.8 s beats: 320 s; the shape changes at 160 s
    segments = np.where((np.arange(n) < 200)[:, None], beat(2), beat(4))
    templates = beat_templates(segments, np.arange(n) * 288, 360, half_window_s=30, block_s=10)
    assert np.allclose(templates[:150], beat(2)) and np.allclose(templates[-150:], beat(4))


def test_template_features_defining_properties():
    t = np.tile(beat(2), (4, 1))
    x = np.stack([beat(2), 0.5 * beat(2) + 0.2, beat(6), beat(2)[::-1].copy()])
    f = template_features(x, t, r_index=31)
    assert f.shape == (4, len(TEMPLATE_FEATURES)) and f.dtype == np.float32
    assert f[0].tolist() == pytest.approx([0, 0, 1], abs=1e-6)
    assert f[1, :2] == pytest.approx([0, 0], abs=1e-6) and f[1, 2] == pytest.approx(0.5, abs=1e-3)  # shape kept, half height
    assert f[2, 0] > 0.1  # a wider QRS
    assert np.all(f >= 0)


def test_beat_context_shapes_and_npy_refusal():
    r = np.arange(0, 360 * 60, 288)
    segments = np.tile(beat(2), (r.size, 1))
    features, templates = beat_context(segments, r, 360)
    assert features.shape == (r.size, len(CONTEXT_FEATURES)) and templates.shape == segments.shape
    assert np.all(np.isfinite(features)) and np.all(features >= 0)
    with pytest.raises(ValueError, match="has no r_peaks or fs: the context model needs"):
        file_context({"segments": segments}, "beats.npy")


def test_file_context_on_a_real_record(data_dir, tmp_path):
    from click.testing import CliRunner

    from ecgseg.cli import cli

    out = tmp_path / "b.npz"
    result = CliRunner().invoke(cli, ["segment", "record", "119", "--data-dir", str(data_dir), "--peaks", "annotations",
                                      "--pre-r-s", "0.25", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with np.load(out) as npz:
        arrays = {k: npz[k] for k in npz.files}
    features, _ = file_context(arrays)
    labels = arrays["labels"]
    qrs = features[:, CONTEXT_FEATURES.index("qrs_dissimilarity")]
    # record 119: ventricular bigeminy; its V beats differ from the record's own template far more than its N beats
    assert np.median(qrs[labels == 2]) > 5 * np.median(qrs[labels == 0])
