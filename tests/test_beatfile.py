"""The beat-file schema: every key documented and written, the bytes numpy writes, scalars read one way."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

from ecgseg.beatfile import KEYS, beat_arrays, concatenate, load_beats, save_beats, save_npy_bytes, scalar
from ecgseg.segmentation import segment

from .synthetic import spike_train


@pytest.fixture(scope="module")
def beats():
    signal, _ = spike_train(360, 40)
    return segment(signal, 360, peaks="hamilton", pre_r_s=0.25)


def test_every_key_of_the_schema_is_written_with_its_dtype_and_shape(beats):
    from dataclasses import replace

    assert "model_segments" not in beat_arrays(beats, "syn")  # a key that does not apply is not written
    beats = replace(beats, model_segments=beats.segments.copy(), model_pre_r_s=0.0)
    arrays = beat_arrays(beats, "syn")
    assert list(arrays) == [key.name for key in KEYS]
    n = len(beats)
    for key in KEYS:
        value = arrays[key.name]
        assert key.meaning and key.shape
        if key.is_scalar:
            assert np.ndim(value) == 0, key.name
        else:
            assert value.shape[0] == n, key.name
        kind = "U" if key.dtype == "str" else np.dtype(key.dtype).kind
        assert np.asarray(value).dtype.kind == kind, key.name
        if key.dtype != "str":
            assert np.asarray(value).dtype == np.dtype(key.dtype), key.name
    assert arrays["labels"].tolist() == [-1] * n  # no reference annotations: unlabelled
    assert str(arrays["peaks"]) == "hamilton" and float(arrays["pre_r_s"]) == 0.25


def test_npz_and_npy_bytes_are_numpys_also_for_rows_spooled_on_disk(beats, tmp_path):
    arrays = beat_arrays(beats, "syn")
    expected = io.BytesIO()
    np.savez(expected, **arrays)

    class Rows:  # rows on disk, given block by block as the chunked writer gives them
        shape, dtype = arrays["segments"].shape, np.float32

        def blocks(self):
            yield from np.array_split(arrays["segments"], 3)

    for segments in (arrays["segments"], Rows()):
        save_beats(tmp_path / "b.npz", {**arrays, "segments": segments})
        assert (tmp_path / "b.npz").read_bytes() == expected.getvalue()
        save_beats(tmp_path / "b.npy", {"segments": segments})
        assert (tmp_path / "b.npy").read_bytes() == save_npy_bytes(arrays["segments"])
    loaded = load_beats(tmp_path / "b.npz")
    assert all(np.array_equal(loaded[k], arrays[k]) for k in arrays)


def test_an_unknown_suffix_writes_nothing(beats, tmp_path):
    with pytest.raises(ValueError, match=r"cannot tell the format of .*b\.txt: name it \.npy"):
        save_beats(tmp_path / "b.txt", beat_arrays(beats, "syn"))
    assert list(tmp_path.iterdir()) == []


def test_scalars_are_read_one_way_with_defaults_and_refused_when_mixed(beats):
    one = beat_arrays(beats, "a")
    assert scalar(one, "fs") == 360.0 and scalar(one, "peaks") == "hamilton" and scalar(one, "pre_r_s") == 0.25
    bare = {"segments": one["segments"]}  # a .npy: the paper's cut at 125 Hz
    assert scalar(bare, "pre_r_s") == 0.0 and scalar(bare, "fs_out") == 125.0 and scalar(bare, "peaks") == ""
    with pytest.raises(ValueError, match="has no 'fs' array"):
        scalar(bare, "fs")
    other = {**beat_arrays(beats, "b"), "pre_r_s": np.float64(0.0)}
    joined = concatenate([one, other])
    assert joined["pre_r_s"].shape == (2 * len(beats),) and joined["fs"].shape == ()
    assert scalar(joined, "fs") == 360.0
    with pytest.raises(ValueError, match=r"the beats in j\.npz have several pre_r_s values \(0\.0, 0\.25\)"):
        scalar(joined, "pre_r_s", "j.npz")


def test_load_beats_reads_a_real_pipe():
    """A pipe has .seek but cannot seek; load_beats must read it whole first."""
    data = save_npy_bytes(np.arange(187 * 3, dtype=np.float32).reshape(3, 187))
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        assert hasattr(pipe, "seek") and not pipe.seekable()
        assert load_beats(pipe)["segments"].shape == (3, 187)


def test_load_beats_refuses_pickles_and_other_files(tmp_path):
    pickled = tmp_path / "p.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"holds pickled \(object\) arrays, which are never loaded"):
        load_beats(pickled)
    with pytest.raises(ValueError, match=r"^<stdin> is empty, not a .npy/.npz beat file or a heartbeat CSV$"):
        load_beats(b"")
    with pytest.raises(ValueError, match=r"^<stdin> is not a .npy/.npz beat file"):
        load_beats(b"\x00\x01binary\xff")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_beats(tmp_path / "missing.npz")
    np.savez(tmp_path / "x.npz", labels=np.zeros(3))
    with pytest.raises(ValueError, match=r"has no 'segments' array \(it has labels\)"):
        load_beats(tmp_path / "x.npz")


def test_quality_polarity_and_flutter_keys(tmp_path):
    from ecgseg.beatfile import stretches, take

    from .synthetic import fibrillation, spike_train

    fs = 360
    signal, _ = spike_train(fs, 60)
    signal[20 * fs:40 * fs] = fibrillation(fs, 20)
    found = segment(-signal, fs, peaks="hamilton")
    arrays = beat_arrays(found, "syn")
    assert bool(arrays["inverted"]) and arrays["quality"].dtype == np.float32
    assert np.array_equal(stretches(arrays), found.vf_stretches) and found.vf_stretches.shape == (1, 2)
    save_beats(tmp_path / "b.npz", arrays)
    loaded = load_beats(tmp_path / "b.npz")
    assert np.array_equal(stretches(loaded), found.vf_stretches) and scalar(loaded, "inverted") is True
    ruled = beat_arrays(segment(signal, fs), "rule")  # the rule's fast path measures no quality
    assert np.isnan(ruled["quality"]).all() and str(ruled["vf_stretches"]) == "" and not bool(ruled["inverted"])
    joined = concatenate([arrays, ruled])
    with pytest.raises(ValueError, match="vf_stretches"):
        stretches(joined)  # two records' stretches: read one record's file
    kept = take(arrays, arrays["quality"] >= 0.7)
    assert len(kept["segments"]) == len(kept["labels"]) == np.count_nonzero(arrays["quality"] >= 0.7)
    assert kept["fs"] == arrays["fs"] and str(kept["vf_stretches"]) == str(arrays["vf_stretches"])
