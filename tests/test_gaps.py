"""Gaps of NaN samples (issue 13 fault 7): found the same however the signal is read, refused naming the choices,
filled linearly, or cut around (each valid stretch segmented on its own, no beat across a gap); whole and in chunks
the same beats. Signals and WFDB records (invalid samples, the NaN tail a header skew gives) are built here."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb
from click.testing import CliRunner

import ecgseg
from ecgseg.cli import cli
from ecgseg.gaps import Filled, find_gaps, valid_stretches

from .synthetic import assert_same_beats, spike_train

FS = 360


def _with_gaps(seconds=120, gaps_s=((30.3, 41.0), (70.05, 70.3), (95.0, 101.2), (107.0, 108.05))):
    signal, r_peaks = spike_train(FS, seconds)
    signal = signal + 0.05 * np.sin(2 * np.pi * 0.3 * np.arange(signal.size) / FS)  # a wander, so a fill is not flat
    gaps = np.rint(np.array(gaps_s) * FS).astype(np.int64)
    for a, b in gaps:
        signal[a:b] = np.nan
    signal[gaps[1, 0] + 20] = np.inf  # inside a gap: still one gap
    return signal, r_peaks, gaps


def test_gaps_are_found_the_same_read_in_any_blocks():
    signal, _, gaps = _with_gaps()
    for block in (1, 7, 1000, 3600, 1 << 20):
        assert np.array_equal(find_gaps(signal, block=block), gaps)
    bad = ~np.isfinite(signal)
    inside = np.zeros(signal.size, dtype=bool)
    for a, b in find_gaps(signal):
        inside[a:b] = True
    assert np.array_equal(inside, bad)
    bounds = [0, *gaps.ravel().tolist(), signal.size]
    assert valid_stretches(gaps, signal.size).tolist() == [bounds[i:i + 2] for i in range(0, len(bounds), 2)]
    edges = np.array([np.nan, np.nan, 1.0, 2.0, np.nan])
    assert find_gaps(edges).tolist() == [[0, 2], [4, 5]]


def test_a_fill_is_linear_between_the_valid_neighbours_and_the_same_in_any_slice():
    signal, _, gaps = _with_gaps()
    filled = Filled(signal, gaps)
    whole = filled[0:signal.size]
    expected = np.interp(np.arange(signal.size), np.flatnonzero(np.isfinite(signal)), signal[np.isfinite(signal)])
    assert np.allclose(whole, expected, rtol=0, atol=1e-12) and np.isfinite(whole).all()
    rng = np.random.default_rng(0)
    for a, b in rng.integers(0, signal.size, (50, 2)):
        a, b = min(a, b), max(a, b)
        assert np.array_equal(filled[a:b], whole[a:b])
    ends = Filled(np.array([np.nan, np.nan, 1.0, 3.0, np.nan]), np.array([[0, 2], [4, 5]]))
    assert ends[0:5].tolist() == [1.0, 1.0, 1.0, 3.0, 3.0]


def test_by_default_gaps_are_refused_naming_the_choices_whole_and_in_chunks():
    signal, _, _ = _with_gaps()
    n_bad = int(np.count_nonzero(~np.isfinite(signal)))
    message = (f"signal has {n_bad} NaN or infinite samples (of {signal.size}): 4 gaps of NaN (18.2 s in all; the "
               "first at 30.3-41.0 s); cut around them with gaps='split' or fill them with gaps='interpolate'")
    for chunk_s in (None, 20):
        with pytest.raises(ValueError) as error:
            ecgseg.segment(signal, FS, chunk_s=chunk_s)
        assert str(error.value) == message
    with pytest.raises(ValueError, match="gaps must be 'error', 'interpolate' or 'split', got 'skip'"):
        ecgseg.segment(signal, FS, gaps="skip")


@pytest.mark.parametrize("peaks", ["rule", "given"])
def test_split_segments_each_valid_stretch_on_its_own(peaks):
    signal, r_peaks, gaps = _with_gaps()
    given = r_peaks if peaks == "given" else "rule"
    cut = ecgseg.segment(signal, FS, peaks=given, gaps="split")
    stretches = valid_stretches(gaps, signal.size)
    long = [(a, b) for a, b in stretches if b - a >= 10 * FS]
    assert len(long) == len(stretches) - 1
    alone = [ecgseg.segment(signal[a:b], FS, peaks=given if peaks == "rule" else r_peaks[(r_peaks >= a) & (r_peaks < b)] - a)
             for a, b in long]
    assert np.array_equal(cut.r_peaks, np.concatenate([s.r_peaks + a for s, (a, _) in zip(alone, long)]))
    # each beat as its stretch alone gives it; only a window without a T of its own takes the median of the record's
    # windows rather than of its stretch's
    same_t = cut.periods_s == np.concatenate([s.periods_s for s in alone])
    assert np.array_equal(cut.segments[same_t], np.concatenate([s.segments for s in alone])[same_t])
    assert (~same_t).sum() <= sum(s.n_fallback_windows for s in alone) * 13 and cut.n_fallback_windows > 0
    # no beat crosses a gap: each lies in a stretch, and is cut from that stretch alone (above)
    which = np.searchsorted([b for _, b in long], cut.r_peaks, side="right")
    assert all(long[w][0] <= r < long[w][1] for w, r in zip(which, cut.r_peaks))
    lost = r_peaks.size - sum(int(np.count_nonzero((r_peaks >= a) & (r_peaks < b))) for a, b in long)
    note = ("4 gaps of NaN (18.2 s in all; the first at 30.3-41.0 s): segmented around them (5 valid stretches, "
            "each on its own); 1 shorter than one 10 s window gave no beats (5.8 s)")
    assert cut.notes == ((note + f"; {lost} of the given R-peaks lie outside them and were not cut",) if peaks == "given"
                         else (note,))
    assert_same_beats(ecgseg.segment(signal, FS, peaks=given, gaps="split", chunk_s=20), cut)


def test_interpolate_fills_the_gaps_and_cuts_no_beat_inside_them():
    signal, r_peaks, gaps = _with_gaps()
    cut = ecgseg.segment(signal, FS, gaps="interpolate")
    filled = np.interp(np.arange(signal.size), np.flatnonzero(np.isfinite(signal)), signal[np.isfinite(signal)])
    plain = ecgseg.segment(filled, FS)  # the same fill, and beats wherever the rule finds them
    in_gap = np.any([(plain.r_peaks >= a) & (plain.r_peaks < b) for a, b in gaps], axis=0)
    assert in_gap.any()  # a straight line scaled alone in its window gives spurious peaks: none is cut
    assert np.array_equal(cut.r_peaks, plain.r_peaks[~in_gap])
    same_t = cut.periods_s == plain.periods_s[~in_gap]  # T from the rule's peaks outside the gaps only
    assert same_t.mean() > 0.9 and np.array_equal(cut.segments[same_t], plain.segments[~in_gap][same_t])
    assert cut.notes == ("4 gaps of NaN (18.2 s in all; the first at 30.3-41.0 s) filled by linear interpolation "
                         "(no beat cut inside)",)
    assert_same_beats(ecgseg.segment(signal, FS, gaps="interpolate", chunk_s=20), cut)
    at_reference = ecgseg.segment(signal, FS, peaks=r_peaks, gaps="interpolate")
    in_gaps = int(sum(np.count_nonzero((r_peaks >= a) & (r_peaks < b)) for a, b in gaps))
    assert len(at_reference) == r_peaks.size - in_gaps
    assert at_reference.notes[0].endswith(f"; {in_gaps} of the given R-peaks lie in them and were not cut")


def _record(folder, name, signal, skew=0):
    """A two-lead record; NaN is stored as the invalid sample. ``skew``: samples of skew on the first lead's line."""
    signal = np.where(np.isfinite(signal), signal, np.nan)  # WFDB stores one invalid value
    wfdb.wrsamp(name, fs=FS, units=["mV", "mV"], sig_name=["MLII", "V5"], p_signal=np.stack([signal, signal], 1),
                fmt=["16", "16"], adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(folder))
    if skew:
        header = (folder / f"{name}.hea").read_text().splitlines()
        header[1] = header[1].replace(f"{name}.dat 16 ", f"{name}.dat 16:{skew} ")
        (folder / f"{name}.hea").write_text("\n".join(header) + "\n")
    return folder / name


def test_records_with_invalid_samples_and_a_skew_tail_from_the_command_line(tmp_path):
    signal, _, _ = _with_gaps()
    path = _record(tmp_path, "gappy", signal)
    out = tmp_path / "g.npz"
    runner = CliRunner()
    result = runner.invoke(cli, ["segment", "record", str(path), "-o", str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert result.output.endswith("; cut around them with --gaps split or fill them with --gaps interpolate\n")
    written = []
    for extra in ([], ["--chunk-s", "30"]):
        result = runner.invoke(cli, ["segment", "record", str(path), "--gaps", "split", "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
        assert "; 4 gaps of NaN (18.2 s in all; the first at 30.3-41.0 s): segmented around them" in result.output
        written.append(out.read_bytes())
    assert written[0] == written[1]
    assert "segmented around them" in str(np.load(out)["notes"])
    smooth, _ = spike_train(FS, 60)
    skewed = _record(tmp_path, "skewed", smooth, skew=90)  # wfdb reads the last 90 samples of MLII as NaN
    result = runner.invoke(cli, ["segment", "record", str(skewed), "-o", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: signal has 90 NaN or infinite samples (of 21600): 1 gap of NaN (0.2 s at "
                                    "59.8-60.0 s); ")
    for gaps in ("split", "interpolate"):
        result = runner.invoke(cli, ["segment", "record", str(skewed), "--gaps", gaps, "-o", str(out)])
        assert result.exit_code == 0, result.output


def test_segment_database_in_processes_names_the_option_and_splits(tmp_path):
    signal, _, _ = _with_gaps()
    folder = tmp_path / "gapdb"
    folder.mkdir()
    _record(folder, "gappy", signal)
    _record(folder, "clean", spike_train(FS, 60)[0])
    (folder / "RECORDS").write_text("gappy\nclean\n")
    out = tmp_path / "all.npz"
    base = ["segment", "database", "gapdb", "--data-dir", str(tmp_path), "-j", "2", "-o", str(out)]
    result = CliRunner().invoke(cli, [*base, "-q"])
    assert result.exit_code == 1  # the message comes from a worker process, in command-line terms all the same
    assert result.output.startswith("Error: record gappy: signal has ")
    assert result.output.splitlines()[0].endswith("; cut around them with --gaps split or fill them with --gaps interpolate")
    result = CliRunner().invoke(cli, [*base, "--gaps", "split"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].endswith(
        "; 4 gaps of NaN (18.2 s in all; the first at 30.3-41.0 s): segmented around them (5 valid stretches, each on "
        "its own); 1 shorter than one 10 s window gave no beats (5.8 s) (gappy)")
    assert set(np.load(out)["record"].tolist()) == {"gappy", "clean"}


def test_gaps_of_other_shapes():
    signal, r_peaks = spike_train(FS, 60)
    for gaps in ("split", "interpolate", "error"):
        with pytest.raises(ValueError, match=r"^signal has no valid sample: all 21600 are NaN or infinite$"
                           if gaps != "error" else r"^signal has 21600 NaN or infinite samples \(of 21600\): 1 gap"):
            ecgseg.segment(np.full(signal.size, np.nan), FS, gaps=gaps)
    short = signal.copy()
    short[5 * FS:6 * FS] = np.nan  # no stretch a window long
    short[15 * FS:] = np.nan
    with pytest.raises(ValueError, match=r"^the longest valid stretch between its gaps is 9\.00 s long \(3240 samples"):
        ecgseg.segment(short, FS, gaps="split")
    edges = signal.copy()
    edges[:100], edges[-3:], edges[3000] = np.nan, np.inf, -np.inf  # a leading gap, a tail, one sample
    for gaps in ("split", "interpolate"):
        whole = ecgseg.segment(edges, FS, gaps=gaps, peaks=r_peaks)
        assert_same_beats(ecgseg.segment(edges, FS, gaps=gaps, peaks=r_peaks, chunk_s=20), whole)
        first = 3001 if gaps == "split" else 100  # split: 100..3000 is 8.1 s, shorter than a window: no beats
        kept = (r_peaks >= first) & (r_peaks != 3000) & (r_peaks < signal.size - 3)
        assert np.array_equal(whole.r_peaks, r_peaks[kept])
