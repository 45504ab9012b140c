"""Scale: chunked reading gives exactly the whole-record beats; many records in processes and on Dask; folder runs resume.

Protocol: "exactly" means every array of the result is equal (``np.array_equal``), not close.
Real records are MIT-BIH (found via $ECGSEG_DATA or ../shared/data, skipped with a reason otherwise);
synthetic records are written with wfdb into a temporary folder.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import ecgseg
from ecgseg.batch import INDEX_NAME, read_index, segment_to_folder
from ecgseg.chunked import segment_chunked, segment_record_chunked, write_record_beats
from ecgseg.cli import cli
from ecgseg.beatfile import beat_arrays, load_beats
from ecgseg.database import segment_record, segment_records
from ecgseg.parallel import RecordFailure, local_cluster, map_records
from ecgseg.records import read_record

REPO = Path(__file__).resolve().parents[1]
BEAT_FIELDS = ("segments", "r_peaks", "windows", "periods_s", "labels", "n_windows", "n_fallback_windows", "n_missed", "fs", "pre_r_s")


def assert_same_beats(chunked, whole):
    for name in BEAT_FIELDS:
        a, b = getattr(chunked, name), getattr(whole, name)
        assert (a is None and b is None) or np.array_equal(a, b), name


@pytest.fixture(scope="module")
def mitdb_dir(data_dir) -> Path:
    return data_dir


def synthetic_ecg(fs: float, seconds: float, seed: int = 0):
    """R waves of uneven height at uneven intervals over noise and wander: many windows have < 2 rule peaks.

    Returns ``(signal, r_samples)``.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    r_samples = (np.cumsum(rng.uniform(0.5, 1.3, int(seconds / 0.5) + 2)) * fs).astype(np.int64)
    r_samples = r_samples[r_samples < n]
    signal = 0.05 * rng.standard_normal(n) + 0.3 * np.sin(2 * np.pi * 0.2 * t)
    offsets = np.arange(-int(0.05 * fs), int(0.05 * fs) + 1)
    wave = np.exp(-((offsets / fs) ** 2) / 2e-4)
    for r, height in zip(r_samples, rng.uniform(0.5, 1.5, r_samples.size)):
        at = r + offsets
        keep = (at >= 0) & (at < n)
        signal[at[keep]] += height * wave[keep]
    return signal, r_samples


def write_wfdb(folder: Path, name: str, fs: float, seconds: float, seed: int = 0) -> Path:
    """A one-lead WFDB record (format 16) with N/V beat annotations, written with wfdb."""
    import wfdb

    signal, r_samples = synthetic_ecg(fs, seconds, seed)
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"], p_signal=signal[:, None], fmt=["16"], write_dir=str(folder))
    symbols = np.where(np.arange(r_samples.size) % 7 == 3, "V", "N").tolist()
    wfdb.wrann(name, "atr", r_samples, symbol=symbols, fs=fs, write_dir=str(folder))
    return folder / name


@pytest.fixture(scope="module")
def synthetic_db(tmp_path_factory) -> Path:
    """A data folder with database ``syn``: three 95.3 s records at 360 Hz (the tail is 5.3 s, under a window)."""
    root = tmp_path_factory.mktemp("data")
    folder = root / "syn"
    folder.mkdir()
    for seed, name in enumerate(("s1", "s2", "s3")):
        write_wfdb(folder, name, 360, 95.3, seed)
    (folder / "RECORDS").write_text("s1\ns2\ns3\n")
    return root


# Chunked equals whole ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fs", [360, 257, 1000, 100])
@pytest.mark.parametrize("chunk_s", [10, 25, 600])
def test_chunked_equals_whole_on_synthetic_signals(fs, chunk_s):
    # 187.3 s: a short last window; 25 s is not a multiple of the 10 s window (rounded down to 20 s).
    signal, _ = synthetic_ecg(fs, 187.3, seed=fs)
    whole = ecgseg.segment(signal, fs)
    assert whole.n_fallback_windows > 0  # the record-median fallback is exercised
    chunked = segment_chunked(lambda a, b: signal[a:b], signal.size, fs, chunk_s=chunk_s)
    assert_same_beats(chunked, whole)


def spikes(fs: float, seconds: float, times_s, heights, seed: int = 0):
    """Narrow Gaussian spikes (sigma 20 ms) at ``times_s`` over a little noise."""
    n = int(seconds * fs)
    t = np.arange(n) / fs
    signal = 0.01 * np.random.default_rng(seed).standard_normal(n)
    for at, height in zip(times_s, heights):
        near = np.abs(t - at) < 0.1
        signal[near] += height * np.exp(-0.5 * ((t[near] - at) / 0.02) ** 2)
    return signal


@pytest.mark.parametrize("chunk_s", [10, 20, 600])
def test_chunked_equals_whole_with_the_refractory_guard_across_chunk_edges(chunk_s):
    # Every window: a reference spike mid-window, two close candidates at 3 s, and a close pair straddling
    # its end edge, the later one higher (a kept peak replaced across the edge) or lower (dropped), alternately.
    n_windows = 18
    times, heights = [], []
    for w in range(n_windows):
        start = 10.0 * w
        times += [start + 5.0, start + 3.0, start + 3.1]
        heights += [2.3, 2.15, 2.25]
        if w < n_windows - 1:
            times += [start + 9.92, start + 10.06]
            heights += [2.2, 2.5] if w % 2 == 0 else [2.5, 2.2]
    signal = spikes(360, 10.0 * n_windows + 4.3, times, heights)
    whole = ecgseg.segment(signal, 360, refractory_s=0.2)
    plain = ecgseg.segment(signal, 360)
    dropped = np.setdiff1d(plain.r_peaks, whole.r_peaks)
    replaced_across = [p for p in dropped if np.any((whole.r_peaks > p) & (whole.r_peaks - p < 0.2 * 360) & (whole.r_peaks // 3600 > p // 3600))]
    assert len(replaced_across) >= 8  # kept peaks replaced by higher ones in the next window
    chunked = segment_chunked(lambda a, b: signal[a:b], signal.size, 360, refractory_s=0.2, chunk_s=chunk_s)
    assert_same_beats(chunked, whole)


@pytest.mark.parametrize("chunk_s", [10, 25])
def test_chunked_equals_whole_with_pre_r_context(chunk_s):
    signal, _ = synthetic_ecg(360, 95.3, seed=5)
    whole = ecgseg.segment(signal, 360, pre_r_s=0.25)
    assert whole.n_fallback_windows > 0 and whole.pre_r_s == 0.25
    chunked = segment_chunked(lambda a, b: signal[a:b], signal.size, 360, pre_r_s=0.25, chunk_s=chunk_s)
    assert_same_beats(chunked, whole)


def test_chunked_equals_whole_with_given_peaks_and_period_from_them():
    signal, r_samples = synthetic_ecg(360, 95.3, seed=3)
    for period in ("rule", "peaks"):
        whole = ecgseg.segment(signal, 360, peaks=r_samples, period=period)
        chunked = segment_chunked(lambda a, b: signal[a:b], signal.size, 360, peaks=r_samples, period=period, chunk_s=30)
        assert_same_beats(chunked, whole)


@pytest.mark.parametrize("peaks", ["rule", "annotations"])
def test_chunked_equals_whole_on_a_synthetic_wfdb_record(synthetic_db, peaks):
    path = synthetic_db / "syn" / "s1"
    whole = segment_record(read_record(path), peaks=peaks)
    assert whole.labels is not None and (whole.labels == 2).any()
    assert_same_beats(segment_record_chunked(path, peaks=peaks, chunk_s=25), whole)


@pytest.mark.parametrize("record", ["100", "207"])  # 207: many windows fall back to the record's median T
@pytest.mark.parametrize("peaks", ["rule", "annotations"])
def test_chunked_equals_whole_on_real_records(mitdb_dir, record, peaks):
    whole = segment_record(read_record(record, data_dir=mitdb_dir), peaks=peaks)
    for chunk_s in (25, 600):
        assert_same_beats(segment_record_chunked(record, data_dir=mitdb_dir, peaks=peaks, chunk_s=chunk_s), whole)
    if record == "207" and peaks == "rule":
        assert whole.n_fallback_windows > 0


def test_streamed_record_file_equals_the_whole_record_arrays(mitdb_dir, tmp_path):
    summary = write_record_beats(tmp_path / "207.npz", "207", data_dir=mitdb_dir, chunk_s=60)
    whole = segment_record(read_record("207", data_dir=mitdb_dir))
    expected = beat_arrays(whole, "207")
    written = load_beats(tmp_path / "207.npz")
    assert sorted(written) == sorted(expected)
    for key in expected:
        assert np.array_equal(written[key], expected[key]), key
    assert summary == {"record": "207", "n_beats": len(whole), "n_missed": whole.n_missed, "n_short": whole.n_short}


def test_chunked_refuses_what_is_not_window_local_and_reports_bad_input(tmp_path):
    signal, _ = synthetic_ecg(360, 60, seed=1)
    read = lambda a, b: signal[a:b]  # noqa: E731
    with pytest.raises(ValueError, match="refractory_s=11 is longer than a 10 s window"):
        segment_chunked(read, signal.size, 360, refractory_s=11)
    with pytest.raises(ValueError, match="cannot run in chunks"):
        segment_chunked(read, signal.size, 360, peaks="pantompkins")
    with pytest.raises(ValueError, match="at least one 10 s window"):
        segment_chunked(read, 3000, 360)
    holed = signal.copy()
    holed[15_000] = np.nan
    with pytest.raises(ValueError, match=r"1 NaN or infinite samples in \d+\.\.\d+"):
        segment_chunked(lambda a, b: holed[a:b], holed.size, 360, chunk_s=20)
    with pytest.raises(ValueError, match="is flat"):
        segment_chunked(lambda a, b: np.ones(b - a), 36_000, 360)
    target = tmp_path / "x.npz"
    with pytest.raises(FileNotFoundError, match="not found"):
        write_record_beats(target, tmp_path / "missing")
    assert not target.exists() and not list(tmp_path.iterdir())  # nothing half-written
    (tmp_path / "nolen.hea").write_text("nolen 1 360\nnolen.dat 16 200 16 0 0 0 0 MLII\n")  # no sample count
    (tmp_path / "nolen.dat").write_bytes(b"")
    with pytest.raises(ValueError, match="does not give the number of samples"):
        write_record_beats(target, tmp_path / "nolen")
    assert not target.exists()


# Many records -------------------------------------------------------------------------------------------------------


def test_a_failing_record_does_not_lose_the_others(synthetic_db, tmp_path):
    (synthetic_db / "syn" / "broken.hea").write_text("broken 1 360 1000\nbroken.dat 16 200 16 0 0 0 0 MLII\n")
    names = ["s1", "broken", "s2", "nope"]
    arrays, failures, _ = segment_records(names, "syn", data_dir=synthetic_db, jobs=2)
    assert [f.record for f in failures] == ["broken", "nope"]
    assert "signal file" in failures[0].reason and "missing" in failures[0].reason
    assert "not found" in failures[1].reason
    alone, _, _ = segment_records(["s1", "s2"], "syn", data_dir=synthetic_db, jobs=1)
    for key in alone:
        assert np.array_equal(arrays[key], alone[key]), key
    (synthetic_db / "syn" / "broken.hea").unlink()


def test_map_records_turns_library_errors_into_failures_and_lets_bugs_through():
    def check(name):
        if name == "bad":
            raise ValueError("bad input")
        if name == "bug":
            raise ZeroDivisionError
        return name.upper()

    assert dict(map_records(check, ["a", "bad"], jobs=1)) == {"a": "A", "bad": RecordFailure("bad", "bad input")}
    with pytest.raises(ZeroDivisionError):
        dict(map_records(check, ["bug"], jobs=1))
    with pytest.raises(ValueError, match="not both"):
        dict(map_records(check, ["a"], scheduler="tcp://127.0.0.1:1", workers=2))
    with pytest.raises(ValueError, match="give jobs or scheduler/workers"):
        dict(map_records(check, ["a"], jobs=2, workers=2))


def test_folder_run_writes_an_index_and_a_rerun_skips_finished_records(synthetic_db, tmp_path):
    out = tmp_path / "beats"
    moved = synthetic_db / "syn" / "s3.hea"
    hidden = moved.with_suffix(".away")
    moved.rename(hidden)  # s3 fails in the first run
    try:
        first = segment_to_folder(["s1", "s2", "s3"], out, "syn", data_dir=synthetic_db, jobs=2, chunk_s=30)
    finally:
        hidden.rename(moved)
    assert [row["record"] for row in first.written] == ["s1", "s2"] and [f.record for f in first.failures] == ["s3"]
    index = read_index(out)
    assert {r: row["status"] for r, row in index.items()} == {"s1": "ok", "s2": "ok", "s3": "failed"}
    mtime = (out / "s1.npz").stat().st_mtime_ns

    second = segment_to_folder(["s1", "s2", "s3"], out, "syn", data_dir=synthetic_db, jobs=1)
    assert second.skipped == ["s1", "s2"] and [row["record"] for row in second.written] == ["s3"]
    assert (out / "s1.npz").stat().st_mtime_ns == mtime
    index = read_index(out)
    assert {r: row["status"] for r, row in index.items()} == {"s1": "ok", "s2": "ok", "s3": "ok"}
    assert index["s3"]["n_beats"] == str(len(load_beats(out / "s3.npz")["segments"]))
    assert (out / INDEX_NAME).read_text().count("\n") == 4  # rewritten with one line per record
    for name in ("s1", "s2", "s3"):
        whole = segment_record(read_record(synthetic_db / "syn" / name))
        assert np.array_equal(load_beats(out / f"{name}.npz")["segments"], whole.segments)

    # All finished: nothing runs, so not even an unreachable scheduler is contacted; progress counts them all.
    seen = []
    third = segment_to_folder(["s1", "s2", "s3"], out, "syn", data_dir=synthetic_db, scheduler="tcp://127.0.0.1:9", progress=seen.append)
    assert third.skipped == seen == ["s1", "s2", "s3"] and not third.written and not third.failures


def test_a_line_cut_short_by_a_crash_is_ignored_and_its_record_redone(synthetic_db, tmp_path):
    out = tmp_path / "beats"
    segment_to_folder(["s1", "s2"], out, "syn", data_dir=synthetic_db, jobs=1)
    lines = (out / INDEX_NAME).read_text().splitlines()
    (out / INDEX_NAME).write_text("\n".join(lines[:2] + [lines[2][:5]]))  # s2's line cut mid-way
    rerun = segment_to_folder(["s1", "s2"], out, "syn", data_dir=synthetic_db, jobs=1)
    assert rerun.skipped == ["s1"] and [row["record"] for row in rerun.written] == ["s2"]


def test_cli_folder_run_reports_failures_and_resumes(synthetic_db, tmp_path):
    out = tmp_path / "beats"
    args = ["segment", "database", "syn", "--data-dir", str(synthetic_db), "--records", "s1,zz", "--output-dir", str(out), "-j", "1"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 1
    assert "Error: record zz: record 'zz' not found" in first.output
    assert "1 records" in first.output and "1 failed" in first.output
    again = CliRunner().invoke(cli, args[:6] + ["s1"] + args[7:])
    assert again.exit_code == 0 and "0 records (0 beats)" in again.output and "1 skipped" in again.output


def test_cli_needs_exactly_one_output(synthetic_db, tmp_path):
    both = CliRunner().invoke(cli, ["segment", "database", "syn", "-o", str(tmp_path / "a.npz"), "--output-dir", str(tmp_path)])
    neither = CliRunner().invoke(cli, ["segment", "database", "syn"])
    for result in (both, neither):
        assert result.exit_code == 1
        assert "Error: give exactly one of -o FILE.npz (all beats in one file) or --output-dir DIR" in result.output


# Dask ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_scheduler():
    """One local Dask cluster for the module: 2 single-threaded worker processes on 127.0.0.1."""
    pytest.importorskip("distributed", reason="Dask distributed is the optional extra ecgseg[dask]")
    with local_cluster(2) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield cluster.scheduler_address


def test_dask_cluster_matches_the_single_process_result(mitdb_dir, dask_scheduler):
    names = ["100", "nope", "207", "232", "101"]
    on_dask, dask_failures, dask_totals = segment_records(names, data_dir=mitdb_dir, scheduler=dask_scheduler, peaks="annotations")
    alone, failures, totals = segment_records(names, data_dir=mitdb_dir, jobs=1, peaks="annotations")
    assert dask_failures == failures == [RecordFailure("nope", failures[0].reason)]
    assert sorted(on_dask) == sorted(alone) and dask_totals == totals
    for key in alone:
        assert np.array_equal(on_dask[key], alone[key]), key
    assert np.unique(on_dask["record"]).tolist() == ["100", "101", "207", "232"]


def test_dask_folder_run_with_chunks_matches_the_whole_records(synthetic_db, dask_scheduler, tmp_path):
    run = segment_to_folder(["s1", "s2", "s3"], tmp_path, "syn", data_dir=synthetic_db, scheduler=dask_scheduler, chunk_s=20)
    assert [row["record"] for row in run.written] == ["s1", "s2", "s3"] and not run.failures
    for name in ("s1", "s2", "s3"):
        expected = beat_arrays(segment_record(read_record(synthetic_db / "syn" / name)), name)
        written = load_beats(tmp_path / f"{name}.npz")
        for key in expected:
            assert np.array_equal(written[key], expected[key]), (name, key)


def test_cli_on_the_dask_scheduler_gathers_one_file(synthetic_db, dask_scheduler, tmp_path):
    out = tmp_path / "all.npz"
    result = CliRunner().invoke(
        cli, ["segment", "database", "syn", "--data-dir", str(synthetic_db), "--scheduler", dask_scheduler, "-o", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    alone, _, _ = segment_records(["s1", "s2", "s3"], "syn", data_dir=synthetic_db, jobs=1)
    written = load_beats(out)
    for key in alone:
        assert np.array_equal(written[key], alone[key]), key


def test_an_unreachable_scheduler_is_one_clear_error(synthetic_db, tmp_path):
    result = CliRunner().invoke(
        cli, ["segment", "database", "syn", "--data-dir", str(synthetic_db), "--scheduler", "tcp://127.0.0.1:9", "-o", str(tmp_path / "a.npz")]
    )
    assert result.exit_code == 1
    assert "Error: cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert not (tmp_path / "a.npz").exists()


def test_cli_segment_record_in_chunks_writes_the_same_file(mitdb_dir, tmp_path):
    files = []
    for extra in ([], ["--chunk-s", "30"]):
        files.append(tmp_path / f"207{len(extra)}.npz")
        args = ["segment", "record", "207", "--data-dir", str(mitdb_dir), "-o", str(files[-1]), "-q", *extra]
        assert CliRunner().invoke(cli, args).exit_code == 0
    assert files[0].read_bytes() == files[1].read_bytes()


def test_dask_wfdb_and_scipy_are_imported_only_when_used():
    code = "import sys, ecgseg.batch, ecgseg.chunked, ecgseg.parallel; print(sorted({'distributed', 'dask', 'wfdb', 'scipy.signal'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
