"""Reference annotation files as users bring them (issue 13 fault 4): rhythm-only (the AF database's layout), on their
own clock (``ann.fs``), with symbols and codes outside the AAMI table, garbled. Every input is built here with wfdb (or
byte by byte where wfdb refuses to write it)."""

from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np
import pytest
import wfdb
from click.testing import CliRunner

from ecgseg.annotations import read_annotations
from ecgseg.cli import cli
from ecgseg.labels import label_beats
from ecgseg.pipeline import segment_record
from ecgseg.records import read_record

from .synthetic import spike_train


def _write(folder, name, signal, fs, sig_names=("MLII",)):
    signals = np.stack([signal * (1 - 0.2 * i) for i in range(len(sig_names))], axis=1)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(sig_names), sig_name=list(sig_names), p_signal=signals,
                fmt=["16"] * len(sig_names), write_dir=str(folder))
    return folder / name


def _cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _af_record(folder, fs=250, seconds=60, seed=19):
    """As the MIT-BIH AF Database lays a record out: .atr holds rhythm changes only, .qrs the beats."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.uniform(0.45, 1.1, int(seconds / 0.4)))
    times = times[times < seconds - 0.5]
    t = np.arange(int(seconds * fs)) / fs
    signal = 0.02 * rng.standard_normal(t.size)
    for at in times:
        near = np.abs(t - at) < 0.3
        signal[near] += np.exp(-0.5 * ((t[near] - at) / 0.012) ** 2) + 0.3 * np.exp(-0.5 * ((t[near] - at - 0.2) / 0.04) ** 2)
    path = _write(folder, "af01", signal, fs, ("ECG1", "ECG2"))
    beats = np.rint(times * fs).astype(np.int64)
    wfdb.wrann("af01", "atr", np.array([0, 15 * fs]), symbol=["+", "+"], aux_note=["(N", "(AFIB"], fs=fs,
               write_dir=str(folder))
    wfdb.wrann("af01", "qrs", beats, symbol=["N"] * beats.size, fs=fs, write_dir=str(folder))
    return path, beats


def test_label_beats_without_reference_beats_labels_none_and_misses_none():
    for samples, symbols in (([], []), ([5, 900], ["+", "~"])):
        labels, n_missed = label_beats([10, 500], samples, symbols, fs=360)
        assert labels.tolist() == [-1, -1] and labels.dtype == np.int8 and n_missed == 0


def test_a_rhythm_only_reference_file_gives_no_labels_and_says_why(tmp_path):
    path, beats = _af_record(tmp_path)
    why = (f"af01.atr holds no beat annotations, only 2 others (+ 2); af01.qrs has {beats.size} beat annotations "
           "(give {})")
    for peaks in ("rule", "hamilton"):
        cut = segment_record(path, peaks=peaks)
        assert cut.labels is None and cut.n_missed is None and len(cut) > 0
        assert cut.notes == ("no MLII lead, so ECG1 (channel 0) was used",
                             "labels missing: " + why.format("annotator='qrs'"))
    with pytest.raises(ValueError) as error:
        segment_record(path, peaks="annotations")
    assert str(error.value) == ("record 'af01' has no reference beats to cut at: " + why.format("annotator='qrs'")
                                + "; find its R-peaks with peaks='hamilton'")
    # the command line says the same in its own terms
    out = tmp_path / "b.npz"
    result = _cli("segment", "record", path, "--peaks", "annotations", "-o", out)
    assert result.exit_code == 1 and not out.exists()
    assert result.output == ("Error: record 'af01' has no reference beats to cut at: " + why.format("--annotator qrs")
                             + "; find its R-peaks with --peaks hamilton\n")
    result = _cli("segment", "record", path, "-o", out)
    assert result.exit_code == 0
    assert "; no reference annotations: " in result.output
    assert result.output.endswith("; no MLII lead, so ECG1 (channel 0) was used; labels missing: "
                                  + why.format("--annotator qrs") + "\n")
    assert str(np.load(out)["notes"]).endswith("labels missing: " + why.format("--annotator qrs"))
    # the annotator that holds the beats
    cut = segment_record(path, annotator="qrs", peaks="annotations")
    assert np.array_equal(cut.r_peaks, beats) and (cut.labels == 0).all() and cut.n_missed == 0
    result = _cli("segment", "record", path, "--annotator", "qrs", "--peaks", "hamilton", "-o", out)
    assert result.exit_code == 0 and f"; found {beats.size} of {beats.size} reference beats (100.0%); " in result.output
    result = _cli("segment", "record", path, "--annotator", "ecg", "-o", out)
    assert result.exit_code == 1 and result.output == f"Error: record 'af01' has no annotation file {path}.ecg\n"


@pytest.mark.slow  # the report imports torch and classifies
def test_report_and_plot_of_a_rhythm_only_record(tmp_path):
    pytest.importorskip("matplotlib")
    path, _ = _af_record(tmp_path)
    result = _cli("plot", "record", path, "-o", tmp_path / "strip.png")
    assert result.exit_code == 0, result.output
    assert "(no reference annotations)" in result.output
    result = _cli("report", "record", path, "-o", tmp_path / "r.html", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.html").stat().st_size > 10_000


def _exact(ticks, fs, ann_fs):
    """The record sample of each tick: ticks * fs / ann_fs rounded half to even, in exact fractions."""
    ratio = Fraction(str(fs)) / Fraction(str(ann_fs))
    return np.array([round(Fraction(int(t)) * ratio) for t in ticks], dtype=np.int64)


@pytest.mark.parametrize("fs, ann_fs", [(250, 1000), (360, 1000), (128, 500), (1000, 360), (200, 200)])
def test_an_annotation_file_on_its_own_clock_is_read_on_the_records(tmp_path, fs, ann_fs):
    signal, r_peaks = spike_train(fs, 120)
    path = _write(tmp_path, "clock", signal, fs)
    ticks = np.array([round(Fraction(int(r)) * Fraction(ann_fs) / Fraction(fs)) for r in r_peaks], dtype=np.int64)
    wfdb.wrann("clock", "atr", ticks, symbol=["N"] * ticks.size, fs=ann_fs, write_dir=str(tmp_path))
    assert wfdb.rdann(str(path), "atr").fs == ann_fs  # the file states its own time resolution
    expected = _exact(ticks, fs, ann_fs)
    assert np.abs(expected - r_peaks).max() <= (0 if ann_fs >= fs else 2)
    whole = segment_record(path, peaks="annotations")
    assert np.array_equal(whole.r_peaks, expected) and (whole.labels == 0).all() and whole.n_missed == 0
    chunked = segment_record(path, peaks="annotations", chunk_s=20)
    assert np.array_equal(chunked.r_peaks, expected) and np.array_equal(chunked.segments, whole.segments)
    found = segment_record(path, peaks="hamilton")
    assert found.n_missed == 0 and (found.labels == 0).all()
    part = read_record(path, sampfrom=10 * fs, sampto=50 * fs)
    inside = (expected >= 10 * fs) & (expected < 50 * fs)
    assert np.array_equal(part.ann_samples, expected[inside] - 10 * fs)


def _mit_annotations(path, entries):
    """An annotation file in MIT format, byte by byte: ``(sample, code)`` pairs (codes wfdb refuses to write too)."""
    data, previous = b"", 0
    for sample, code in entries:
        step = sample - previous
        assert 0 <= step < 1024
        data += struct.pack("<H", (code << 10) | step)
        previous = sample
    path.write_bytes(data + b"\x00\x00")


def test_beats_without_an_aami_class_and_codes_wfdb_does_not_know_are_counted_and_said(tmp_path):
    fs = 360
    signal, r_peaks = spike_train(fs, 60)
    path = _write(tmp_path, "odd", signal, fs)
    # N (code 1) for most beats; B (25) and r (41) are WFDB beats without an AAMI class; 45 is no code at all
    codes = np.ones(r_peaks.size, dtype=int)
    codes[5::10], codes[7::20], codes[9::25] = 25, 41, 45
    _mit_annotations(tmp_path / "odd.atr", zip(r_peaks.tolist(), codes.tolist()))
    n_b, n_r, n_45 = (int(np.count_nonzero(codes == c)) for c in (25, 41, 45))
    notes = (f"{n_b + n_r} annotated beats have no AAMI class (B {n_b}, r {n_r}): labelled -1",
             f"{n_45} annotations in odd.atr have label codes wfdb does not know (code 45 {n_45}): not used as beats")
    cut = segment_record(path, peaks="annotations")
    beats = codes != 45
    assert np.array_equal(cut.r_peaks, r_peaks[beats]) and cut.n_missed == 0 and cut.notes == notes
    assert np.array_equal(cut.labels, np.where(codes[beats] == 1, 0, -1))
    # beats cut elsewhere: every reference beat, classed or not, counts as found or missed
    some = segment_record(path, peaks=r_peaks[::2])
    assert some.n_missed == int(np.count_nonzero(beats[1::2]))
    result = _cli("segment", "record", path, "--peaks", "annotations", "-o", tmp_path / "o.npz")
    assert result.exit_code == 0
    assert result.output.startswith(
        f"{path} (lead MLII): {beats.sum()} beats (N {int((codes == 1).sum())}, S 0, V 0, F 0, Q 0, unlabelled "
        f"{n_b + n_r}); found {beats.sum()} of {beats.sum()} reference beats (100.0%); ")
    assert result.output.endswith(f"; {notes[0]}; {notes[1]}\n")


def test_symbols_the_wfdb_standard_does_not_define_are_not_beats_and_are_said(tmp_path):
    fs = 360
    signal, r_peaks = spike_train(fs, 30)
    path = _write(tmp_path, "own", signal, fs)
    symbols = np.where(np.arange(r_peaks.size) % 4 == 0, "Z", "N")
    annotation = wfdb.Annotation("own", "atr", sample=r_peaks, symbol=symbols.tolist(), fs=fs,
                                 custom_labels=[(42, "Z", "a beat of our own")])
    annotation.wrann(write_dir=str(tmp_path))
    annotations = read_annotations(path, fs)
    n_z = int((symbols == "Z").sum())
    assert annotations.problem is None and annotations.notes == (
        f"{n_z} annotations in own.atr have symbols the WFDB standard does not define (Z {n_z}): not used as beats",)
    cut = segment_record(path, peaks="annotations")
    assert np.array_equal(cut.r_peaks, r_peaks[symbols == "N"])


def test_a_garbled_annotation_file_does_not_block_the_rule(tmp_path):
    signal, _ = spike_train(360, 30)
    path = _write(tmp_path, "g", signal, 360)
    (tmp_path / "g.atr").write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 333, dtype=np.uint8)))
    out = tmp_path / "g.npz"
    for peaks in ("rule", "hamilton"):
        result = _cli("segment", "record", path, "--peaks", peaks, "-o", out)
        assert result.exit_code == 0, result.output
        line = result.output.strip()
        assert "; no reference annotations: " in line and "; labels missing: g.atr cannot be read (ValueError: " in line
        assert (np.load(out)["labels"] == -1).all()
    result = _cli("segment", "record", path, "--peaks", "annotations", "-o", out)
    assert result.exit_code == 1
    assert result.output.startswith("Error: record 'g' has no reference beats to cut at: g.atr cannot be read (")
    assert result.output.endswith("); find its R-peaks with --peaks hamilton\n")
