"""Many records: in processes and on Dask, gathered or one file per record with an index; failures keep the rest."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.batch import INDEX_NAME, read_index, segment_records
from ecgseg.beatfile import beat_arrays, load_beats
from ecgseg.cli import cli
from ecgseg.parallel import RecordFailure, local_cluster
from ecgseg.pipeline import segment_record
from ecgseg.records import read_record


def test_a_failing_record_does_not_lose_the_others(synthetic_db, tmp_path):
    (synthetic_db / "syn" / "broken.hea").write_text("broken 1 360 1000\nbroken.dat 16 200 16 0 0 0 0 MLII\n")
    names = ["s1", "broken", "s2", "nope"]
    run = segment_records(names, "syn", data_dir=synthetic_db, jobs=2)
    assert [f.record for f in run.failures] == ["broken", "nope"] and [s.record for s in run.done] == ["s1", "s2"]
    assert "signal file" in run.failures[0].reason and "missing" in run.failures[0].reason
    assert "not found" in run.failures[1].reason
    alone = segment_records(["s1", "s2"], "syn", data_dir=synthetic_db, jobs=1)
    for key in alone.arrays:
        assert np.array_equal(run.arrays[key], alone.arrays[key], equal_nan=run.arrays[key].dtype.kind == "f"), key
    assert run.n_beats == len(run.arrays["segments"]) == sum(s.n_beats for s in alone.done)
    (synthetic_db / "syn" / "broken.hea").unlink()


def test_folder_run_writes_an_index_and_a_rerun_skips_finished_records(synthetic_db, tmp_path):
    out = tmp_path / "beats"
    moved = synthetic_db / "syn" / "s3.hea"
    hidden = moved.with_suffix(".away")
    moved.rename(hidden)  # s3 fails in the first run
    try:
        first = segment_records(["s1", "s2", "s3"], "syn", output_dir=out, data_dir=synthetic_db, jobs=2, chunk_s=30)
    finally:
        hidden.rename(moved)
    assert [summary.record for summary in first.done] == ["s1", "s2"] and [f.record for f in first.failures] == ["s3"]
    index = read_index(out)
    assert {r: row["status"] for r, row in index.items()} == {"s1": "ok", "s2": "ok", "s3": "failed"}
    mtime = (out / "s1.npz").stat().st_mtime_ns

    second = segment_records(["s1", "s2", "s3"], "syn", output_dir=out, data_dir=synthetic_db, jobs=1)
    assert second.skipped == ["s1", "s2"] and [summary.record for summary in second.done] == ["s3"]
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
    third = segment_records(["s1", "s2", "s3"], "syn", output_dir=out, data_dir=synthetic_db, scheduler="tcp://127.0.0.1:9", progress=seen.append)
    assert third.skipped == seen == ["s1", "s2", "s3"] and not third.done and not third.failures


def test_a_line_cut_short_by_a_crash_is_ignored_and_its_record_redone(synthetic_db, tmp_path):
    out = tmp_path / "beats"
    segment_records(["s1", "s2"], "syn", output_dir=out, data_dir=synthetic_db, jobs=1)
    lines = (out / INDEX_NAME).read_text().splitlines()
    (out / INDEX_NAME).write_text("\n".join(lines[:2] + [lines[2][:5]]))  # s2's line cut mid-way
    rerun = segment_records(["s1", "s2"], "syn", output_dir=out, data_dir=synthetic_db, jobs=1)
    assert rerun.skipped == ["s1"] and [summary.record for summary in rerun.done] == ["s2"]


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


@pytest.fixture(scope="module")
def dask_scheduler():
    """One local Dask cluster for the module: 2 single-threaded worker processes on 127.0.0.1."""
    pytest.importorskip("distributed", reason="Dask distributed is the optional extra ecgseg[dask]")
    with local_cluster(2) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        yield cluster.scheduler_address


def test_dask_cluster_matches_the_single_process_result(data_dir, dask_scheduler):
    names = ["100", "nope", "207", "232", "101"]
    on_dask = segment_records(names, data_dir=data_dir, scheduler=dask_scheduler, peaks="annotations")
    alone = segment_records(names, data_dir=data_dir, jobs=1, peaks="annotations")
    assert on_dask.failures == alone.failures == [RecordFailure("nope", alone.failures[0].reason)]
    assert sorted(on_dask.arrays) == sorted(alone.arrays) and (on_dask.n_missed, on_dask.n_short) == (alone.n_missed, alone.n_short)
    for key in alone.arrays:
        assert np.array_equal(on_dask.arrays[key], alone.arrays[key], equal_nan=alone.arrays[key].dtype.kind == "f"), key
    assert np.unique(on_dask.arrays["record"]).tolist() == ["100", "101", "207", "232"]
    from distributed import Client

    with Client(dask_scheduler) as client:  # a connected client works as well as an address, and stays open
        with_client = segment_records(names[:1], data_dir=data_dir, scheduler=client, peaks="annotations")
        assert client.status == "running"
    assert np.array_equal(with_client.arrays["segments"], alone.arrays["segments"][: with_client.n_beats])


def test_dask_folder_run_with_chunks_matches_the_whole_records(synthetic_db, dask_scheduler, tmp_path):
    run = segment_records(["s1", "s2", "s3"], "syn", output_dir=tmp_path, data_dir=synthetic_db, scheduler=dask_scheduler, chunk_s=20)
    assert [summary.record for summary in run.done] == ["s1", "s2", "s3"] and not run.failures
    for name in ("s1", "s2", "s3"):
        expected = beat_arrays(segment_record(read_record(name, "syn", data_dir=synthetic_db)), name)
        written = load_beats(tmp_path / f"{name}.npz")
        for key in expected:
            assert np.array_equal(written[key], expected[key], equal_nan=expected[key].dtype.kind == "f"), (name, key)


def test_cli_on_the_dask_scheduler_gathers_one_file(synthetic_db, dask_scheduler, tmp_path):
    out = tmp_path / "all.npz"
    result = CliRunner().invoke(
        cli, ["segment", "database", "syn", "--data-dir", str(synthetic_db), "--scheduler", dask_scheduler, "-o", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    alone = segment_records(["s1", "s2", "s3"], "syn", data_dir=synthetic_db, jobs=1).arrays
    written = load_beats(out)
    for key in alone:
        assert np.array_equal(written[key], alone[key], equal_nan=alone[key].dtype.kind == "f"), key


def test_an_unreachable_scheduler_is_one_clear_error(synthetic_db, tmp_path):
    result = CliRunner().invoke(
        cli, ["segment", "database", "syn", "--data-dir", str(synthetic_db), "--scheduler", "tcp://127.0.0.1:9", "-o", str(tmp_path / "a.npz")]
    )
    assert result.exit_code == 1
    assert "Error: cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    assert not (tmp_path / "a.npz").exists()
