"""Beat quality (ecgseg.quality): the length-transform detector, bSQI, quality per beat, poor stretches."""

from __future__ import annotations

import numpy as np
import pytest

from ecgseg.detector import detect
from ecgseg.quality import POOR, beat_quality, bsqi, length_transform_peaks, poor_stretches, quality_chunks

from .synthetic import fast_rhythm, fibrillation, spike_train


def test_bsqi_counts_matched_beats_in_the_window():
    beats = np.array([100, 300, 500, 700])
    assert bsqi(beats, beats, fs=100).tolist() == [1.0] * 4
    assert bsqi(beats, beats + 50, fs=100).tolist() == [0.0] * 4  # 0.5 s apart: outside 150 ms
    # One extra and one missing beat in a window holding everything: 3 matched of 4 + 4 - 3.
    assert bsqi(beats, [110, 290, 505, 600], fs=100, window_s=20).tolist() == pytest.approx([0.6] * 4)
    # The window follows each beat: far apart disagreements do not reach it.
    far = bsqi([100, 5000], [100, 4000], fs=100, window_s=10)
    assert far.tolist() == [1.0, 0.0]
    unsorted = bsqi([500, 100, 300], [100, 300, 500], fs=100)
    assert unsorted.dtype == np.float32 and unsorted.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("fs", [125, 360, 1000])
def test_length_transform_finds_every_beat_near_its_onset(fs):
    x, truth = spike_train(fs, 60)
    found = length_transform_peaks(x, fs)
    assert found.dtype == np.int64 and found.size == truth.size
    assert np.all(found <= truth) and np.all(truth - found <= 0.05 * fs)


@pytest.mark.parametrize("hr_bpm", [240, 300])
@pytest.mark.parametrize("fs", [125, 360])
def test_fast_rhythms_are_good_quality(hr_bpm, fs):
    """The second detector's eye-closing follows the rhythm too, or every other beat would disagree."""
    x, truth = fast_rhythm(fs, 30, hr_bpm)
    quality = beat_quality(x, fs, detect(x, fs).r_peaks)
    assert quality.min() >= POOR


def test_noise_and_fibrillation_make_beats_poor():
    fs = 360
    x, truth = spike_train(fs, 120)
    x[40 * fs:60 * fs] += np.random.default_rng(1).normal(0, 0.4, 20 * fs)  # 20 s buried in noise
    x[80 * fs:100 * fs] = fibrillation(fs, 20)
    found = detect(x, fs, keep_vf=True)
    quality = beat_quality(x, fs, found.r_peaks, stretches=found.vf_stretches)
    peaks = found.r_peaks
    clean = (peaks < 35 * fs) | ((peaks > 65 * fs) & (peaks < 75 * fs)) | (peaks > 105 * fs)
    assert quality[clean].min() >= POOR
    assert np.median(quality[(peaks > 45 * fs) & (peaks < 55 * fs)]) < POOR
    assert np.all(quality[(peaks > 82 * fs) & (peaks < 98 * fs)] == 0.0)  # inside the VF stretch
    stretches = poor_stretches(peaks, quality, fs)
    assert stretches.shape[1] == 2 and np.any((stretches[:, 0] < 90 * fs) & (stretches[:, 1] > 90 * fs))


def test_poor_stretches_join_close_poor_beats():
    peaks = [100, 200, 300, 900, 1000]
    assert poor_stretches(peaks, [0.9, 0.2, 0.3, 0.1, 0.95], fs=100, join_s=2).tolist() == [[200, 301], [900, 901]]
    assert poor_stretches(peaks, [0.9, 0.2, 0.3, 0.1, 0.95], fs=100, join_s=10).tolist() == [[200, 901]]
    assert poor_stretches(peaks, [1.0] * 5, fs=100).shape == (0, 2)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="must be 1-D"):
        length_transform_peaks(np.zeros((10, 2)), 360)
    with pytest.raises(ValueError, match="at least 50 Hz"):
        beat_quality(np.zeros(100), 20, [10])
    with pytest.raises(ValueError, match="unknown length-transform parameters"):
        length_transform_peaks(np.zeros(100), 360, eye_s=0.2)


def test_flat_gappy_and_short_signals():
    assert length_transform_peaks(np.zeros(5000), 360).size == 0
    assert length_transform_peaks(np.full(5000, np.nan), 360).size == 0
    assert length_transform_peaks(np.zeros(3), 360).size == 0
    x, _ = spike_train(360, 30)
    x[3000:4000] = np.nan
    found = length_transform_peaks(x, 360)
    assert not np.any((found > 3000) & (found < 4000))
    assert beat_quality(x, 360, np.empty(0, dtype=np.int64)).shape == (0,)


# Real records -----------------------------------------------------------------------------------------------


def test_length_transform_on_real_records_and_chunked_equals_whole(data_dir):
    """Protocol: MIT-BIH 101, 106, 119 (DS1), MLII, 150 ms, summed. Floor for the second detector: Se >= 99.5 %,
    +P >= 98 % (measured 99.83 / 99.86); quality of clean beats good (measured: none below POOR)."""
    from ecgseg.evaluate import DetectionScores, detection_scores
    from ecgseg.labels import aami_classes
    from ecgseg.records import read_record

    total = DetectionScores(0, 0, 0)
    poor = n = 0
    for name in ("101", "106", "119"):
        rec = read_record(name, data_dir=data_dir)
        reference = rec.ann_samples[aami_classes(rec.ann_symbols) >= 0]
        total = total + detection_scores(length_transform_peaks(rec.signal, rec.fs), reference, rec.fs, 0.15)
        peaks = detect(rec.signal, rec.fs).r_peaks
        quality = beat_quality(rec.signal, rec.fs, peaks)
        poor += np.count_nonzero(quality < POOR)
        n += peaks.size
    assert total.se >= 0.995 and total.ppv >= 0.98, total
    assert poor / n < 0.02

    cuts = np.sort(np.random.default_rng(0).choice(np.arange(1, rec.signal.size), size=30, replace=False))
    cuts = np.concatenate([[1, 2, 500], cuts])  # chunks shorter than the 8 s learning span first
    np.testing.assert_array_equal(quality_chunks(np.split(rec.signal, cuts), rec.fs, peaks), quality)
