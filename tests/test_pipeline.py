"""A record to labelled beats: whole and chunked give the same beats and the same file, byte for byte."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.beatfile import beat_arrays, load_beats, save_beats
from ecgseg.cli import cli
from ecgseg.pipeline import segment_record, write_record
from ecgseg.records import read_record

from .synthetic import assert_same_beats


@pytest.mark.parametrize("peaks", ["rule", "annotations"])
def test_chunked_equals_whole_on_a_synthetic_wfdb_record(synthetic_db, peaks):
    path = synthetic_db / "syn" / "s1"
    whole = segment_record(read_record(path), peaks=peaks)
    assert whole.labels is not None and (whole.labels == 2).any()
    assert_same_beats(segment_record(path, peaks=peaks, chunk_s=25), whole)


@pytest.mark.parametrize("record", ["100", "207"])  # 207: many windows fall back to the record's median T
@pytest.mark.parametrize("peaks", ["rule", "annotations"])
def test_chunked_equals_whole_on_real_records(data_dir, record, peaks):
    whole = segment_record(read_record(record, data_dir=data_dir), peaks=peaks)
    for chunk_s in (25, 600):
        assert_same_beats(segment_record(record, data_dir=data_dir, peaks=peaks, chunk_s=chunk_s), whole)
    if record == "207" and peaks == "rule":
        assert whole.n_fallback_windows > 0


def test_streamed_record_file_is_the_whole_records_file_byte_for_byte(data_dir, tmp_path):
    summary = write_record(tmp_path / "207.npz", "207", data_dir=data_dir, chunk_s=60)
    whole = segment_record(read_record("207", data_dir=data_dir))
    expected = beat_arrays(whole, "207")
    written = load_beats(tmp_path / "207.npz")
    assert sorted(written) == sorted(expected)
    for key in expected:
        assert np.array_equal(written[key], expected[key], equal_nan=expected[key].dtype.kind == "f"), key
    assert (summary.record, summary.n_beats, summary.n_missed, summary.n_short) == ("207", len(whole), whole.n_missed, whole.n_short)
    assert np.array_equal(summary.labels, whole.labels) and summary.file == "207.npz"
    save_beats(tmp_path / "whole.npz", expected)
    assert (tmp_path / "207.npz").read_bytes() == (tmp_path / "whole.npz").read_bytes()


def test_a_record_that_fails_leaves_no_file(tmp_path):
    target = tmp_path / "x.npz"
    with pytest.raises(FileNotFoundError, match="not found"):
        write_record(target, tmp_path / "missing")
    assert not list(tmp_path.iterdir())  # nothing half-written
    (tmp_path / "nolen.hea").write_text("nolen 1 360\nnolen.dat 16 200 16 0 0 0 0 MLII\n")  # no sample count
    (tmp_path / "nolen.dat").write_bytes(b"")
    with pytest.raises(ValueError, match="does not give the number of samples, which chunked reading needs"):
        write_record(target, tmp_path / "nolen", chunk_s=60)
    assert not target.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["nolen.dat", "nolen.hea"]


def test_cli_segment_record_in_chunks_writes_the_same_file(data_dir, tmp_path):
    files = []
    for extra in ([], ["--chunk-s", "30"]):
        files.append(tmp_path / f"207{len(extra)}.npz")
        args = ["segment", "record", "207", "--data-dir", str(data_dir), "-o", str(files[-1]), "-q", *extra]
        assert CliRunner().invoke(cli, args).exit_code == 0
    assert files[0].read_bytes() == files[1].read_bytes()


def test_a_record_by_name_path_reader_or_in_memory_gives_the_same_beats(synthetic_db):
    from ecgseg.records import open_record

    path = synthetic_db / "syn" / "s2"
    by_name = segment_record("s2", "syn", data_dir=synthetic_db, peaks="annotations")
    for record in (path, open_record(path), read_record(path)):
        assert_same_beats(segment_record(record, peaks="annotations"), by_name)
    assert by_name.peaks == "annotations" and by_name.n_missed == 0


def test_annotations_are_required_for_annotation_peaks(synthetic_db, tmp_path):
    import shutil

    for suffix in (".hea", ".dat"):
        shutil.copy(synthetic_db / "syn" / f"s1{suffix}", tmp_path / f"s1{suffix}")
    for chunk_s in (None, 30):
        with pytest.raises(ValueError, match=r"^record 's1' has no reference beats to cut at: no s1.atr; find its R-peaks "
                                             r"with peaks='hamilton'$"):
            segment_record(tmp_path / "s1", peaks="annotations", chunk_s=chunk_s)
    beats = segment_record(tmp_path / "s1")
    assert beats.labels is None and beats.n_missed is None


def test_a_record_file_carries_the_cut_the_best_classifier_reads(data_dir, tmp_path):
    """Beats cut at every beat's R-peak (annotations, a detector) are also cut 0.25 s before it, as the context model
    reads them; beats cut 0.25 s before the rule's R-peaks also carry the paper's cut, as the waveform model reads
    them: the same beats, exactly as cutting with that pre_r_s gives them, whole or streamed in chunks."""
    for peaks, pre_r_s, other in (("annotations", 0.0, 0.25), ("rule", 0.25, 0.0)):
        reference = segment_record("100", data_dir=data_dir, peaks=peaks, pre_r_s=other)
        for chunk_s in (None, 600):
            path = tmp_path / f"{peaks}{chunk_s}.npz"
            write_record(path, "100", data_dir=data_dir, peaks=peaks, pre_r_s=pre_r_s, chunk_s=chunk_s)
            arrays = load_beats(path)
            assert float(arrays["pre_r_s"]) == pre_r_s and float(arrays["model_pre_r_s"]) == other
            assert np.array_equal(arrays["model_segments"], reference.segments)
            assert np.array_equal(arrays["r_peaks"], reference.r_peaks)
    # cut as the best model reads them already, or asked not to: no second cut
    assert segment_record("100", data_dir=data_dir).model_segments is None
    assert segment_record("100", data_dir=data_dir, peaks="annotations", model_cut=False).model_segments is None
    write_record(tmp_path / "only.npy", "100", data_dir=data_dir, peaks="annotations")  # a .npy keeps segments only
    assert set(load_beats(tmp_path / "only.npy")) == {"segments"}
