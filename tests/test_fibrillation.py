"""Ventricular flutter/fibrillation stretches (ecgseg.fibrillation): the VF filter leakage, its windows, real records."""

from __future__ import annotations

import numpy as np
import pytest

from ecgseg.fibrillation import inside, vf_leakage, vf_stretches, vf_stretches_chunks

from .synthetic import fibrillation, spike_train


@pytest.mark.parametrize("fs", [100, 250, 360, 1000])
def test_leakage_separates_fibrillation_from_beats_and_noise(fs):
    vf = vf_leakage(fibrillation(fs, 20), fs)[1]
    beats = vf_leakage(spike_train(fs, 20)[0], fs)[1]
    noise = vf_leakage(np.random.default_rng(0).standard_normal(20 * fs), fs)[1]
    assert vf.max() < 0.406 < 0.55 < beats.min()
    assert 0.55 < noise.min() and noise.max() < 0.85  # broadband noise does not cancel either


def test_windows_end_on_the_hop_grid_and_skip_gaps():
    fs = 250
    x = fibrillation(fs, 30)
    x[10 * fs + 7] = np.nan
    ends, leak = vf_leakage(x, fs)
    assert ends.dtype == np.int64 and np.all(ends % fs == 0)
    assert not np.any((ends > 10 * fs + 7) & (ends - 4 * fs <= 10 * fs + 7))  # windows holding the NaN
    assert ends[0] == 4 * fs and ends[-1] == 30 * fs
    assert np.isnan(vf_leakage(np.zeros(10 * fs), fs)[1]).all()  # a flat line: no value, so never VF
    assert vf_stretches(np.zeros(10 * fs), fs).shape == (0, 2)


def test_stretch_of_fibrillation_between_beats():
    fs = 360
    x, _ = spike_train(fs, 90)
    x[30 * fs:60 * fs] = fibrillation(fs, 30, seed=3)
    found = vf_stretches(x, fs)
    assert found.shape == (1, 2)
    start, stop = found[0]
    assert 28 * fs <= start <= 30 * fs and 60 * fs <= stop <= 62 * fs  # up to 2 s beyond either edge


def test_chunked_equals_whole():
    fs = 250
    x, _ = spike_train(fs, 120)
    x[20 * fs:50 * fs] = fibrillation(fs, 30, seed=1)
    x[70 * fs:71 * fs] = np.nan
    x[80 * fs:110 * fs] = fibrillation(fs, 30, seed=2)
    whole = vf_stretches(x, fs)
    cuts = np.sort(np.random.default_rng(0).choice(np.arange(1, x.size), size=25, replace=False))
    np.testing.assert_array_equal(vf_stretches_chunks(np.split(x, cuts), fs), whole)
    assert whole.shape == (2, 2)


def test_inside():
    stretches = np.array([[10, 20], [30, 40]])
    assert inside([0, 10, 19, 20, 35, 40, 99], stretches).tolist() == [False, True, True, False, True, False, False]
    assert inside([1, 2], np.empty((0, 2), dtype=np.int64)).tolist() == [False, False]


def test_bad_input_raises():
    with pytest.raises(ValueError, match="must be 1-D"):
        vf_stretches(np.zeros((10, 2)), 360)
    with pytest.raises(ValueError, match="at least 50 Hz"):
        vf_stretches(np.zeros(100), 20)
    with pytest.raises(ValueError, match="unknown VF detector parameters"):
        vf_stretches(np.zeros(100), 360, windows_s=4)
    with pytest.raises(ValueError, match=r"margin_s must lie in \[0, window_s / 2\)"):
        vf_stretches(np.zeros(100), 360, margin_s=2.0)


# Real records -----------------------------------------------------------------------------------------------


def _episodes(rec):
    out, start = [], None
    for sample, symbol in zip(rec.ann_samples, rec.ann_symbols):
        if symbol == "[":
            start = sample
        elif symbol == "]" and start is not None:
            out.append((start, sample))
            start = None
    return out


def test_flutter_of_record_207_is_marked_and_ventricular_tachycardia_is_not(data_dir):
    """MIT-BIH 207 (DS1) holds 143 s of ventricular flutter ('[' to ']'); 203, 205 and 223 (DS1) hold runs of
    ventricular tachycardia, organised beats that must stay beats. Measured: 67% of the flutter marked, 3 s
    marked outside it, nothing in 203, 205, 223."""
    from ecgseg.records import read_record

    rec = read_record("207", data_dir=data_dir)
    truth = np.zeros(rec.signal.size, dtype=bool)
    for start, stop in _episodes(rec):
        truth[start:stop] = True
    marked = np.zeros_like(truth)
    for start, stop in vf_stretches(rec.signal, rec.fs):
        marked[start:stop] = True
    assert (marked & truth).sum() / truth.sum() > 0.6
    assert (marked & ~truth).sum() < 10 * rec.fs
    for name in ("203", "205", "223"):
        other = read_record(name, data_dir=data_dir)
        assert vf_stretches(other.signal, other.fs).shape == (0, 2), name
