"""Scale: records per second on 1 and 2 local workers and a 2-worker local Dask cluster; peak memory of long records.

    nice python benchmarks/bench_scale.py [--repeats 2] [--hours 1,6,24] [--skip-whole-24h]

1. Throughput: the 48 MIT-BIH records (30 min each at 360 Hz, MLII), all beats gathered in this
   process, as ``ecgseg.batch.segment_records`` does for ``ecgseg segment database -o``: in this process
   (``jobs=1``), in a pool of 2 processes (``jobs=2``, the pool's start-up included), and on a
   local Dask cluster of 2 single-threaded worker processes on 127.0.0.1 (cluster start-up timed
   apart). Best of ``--repeats``; ratios against ``jobs=1`` timed in this run.
2. Peak memory (peak RSS, ``VmHWM``, of a fresh subprocess per run; Linux): synthetic one-lead WFDB records of
   1 h, 6 h and 24 h at 360 Hz written with ``wfdb.wrsamp`` to a temporary folder, and the 48
   MIT-BIH records concatenated into one 24 h record (with their annotations). Each is segmented
   chunked and streamed to a ``.npz`` (``write_record``, 10 min chunks) and, as the peer,
   whole (``read_record`` + ``segment_record`` + ``save_beats``); a 24 h record at 250 Hz (Icentia11k's
   rate) is timed chunked. The floor is a process that
   imports the same modules and segments one minute. The concatenated record's two outputs are
   compared array for array.
3. A projection of core-hours for Icentia11k's size from the measured rates per CPU second.

The machine is shared: wall times may be inflated by other work; the ratios are within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Peak RSS is the new process image's VmHWM: ru_maxrss would carry over the (large) RSS of the
# benchmark process that forked it, since Linux keeps maxrss across execve.
CHILD = r"""
import json, sys, time
mode, path, out = sys.argv[1:4]
from ecgseg.beatfile import beat_arrays, save_beats
from ecgseg.pipeline import segment_record, write_record
from ecgseg.records import read_record
import scipy.signal, wfdb
start, cpu_start = time.perf_counter(), time.process_time()
if mode == "floor":
    rec = read_record(path, sampto=60 * 360)
    n_beats = len(segment_record(rec))
elif mode == "chunked":
    n_beats = write_record(out, path, chunk_s=600).n_beats
else:
    rec = read_record(path)
    beats = segment_record(rec)
    save_beats(out, beat_arrays(beats, rec.name))
    n_beats = len(beats)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
peak_mb = int(status["VmHWM"].split()[0]) / 1024
print(json.dumps({"peak_mb": peak_mb, "seconds": seconds, "cpu": cpu, "n_beats": n_beats}))
"""


def data_dir() -> Path:
    folder = Path(os.environ.get("ECGSEG_DATA") or REPO.parent / "shared" / "data")
    if not (folder / "mitdb" / "RECORDS").is_file():
        sys.exit(f"MIT-BIH not found in {folder}: set ECGSEG_DATA to a folder holding mitdb/")
    return folder


def synthetic_record(folder: Path, name: str, hours: float, fs: float = 360.0, seed: int = 0) -> Path:
    """A one-lead ECG-like WFDB record (format 16): R waves of uneven height and rate over noise and wander."""
    import wfdb

    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * fs)
    r_samples = (np.cumsum(rng.uniform(0.6, 1.1, int(hours * 3600 / 0.6) + 2)) * fs).astype(np.int64)
    r_samples = r_samples[r_samples < n - fs]
    signal = 0.05 * rng.standard_normal(n).astype(np.float32)
    signal += 0.3 * np.sin(2 * np.pi * 0.2 / fs * np.arange(n, dtype=np.float32))
    offsets = np.arange(-int(0.05 * fs), int(0.05 * fs) + 1)
    wave = np.exp(-((offsets / fs) ** 2) / 2e-4).astype(np.float32)
    heights = rng.uniform(0.6, 1.4, r_samples.size).astype(np.float32)
    np.add.at(signal, (r_samples[:, None] + offsets).ravel(), (heights[:, None] * wave).ravel())
    digital = np.clip(np.rint(signal * 200), -32767, 32767).astype(np.int16)[:, None]
    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"], d_signal=digital, fmt=["16"], adc_gain=[200.0], baseline=[0], write_dir=str(folder))
    return folder / name


def concatenated_mitdb(folder: Path, name: str = "mitdb48") -> Path:
    """The 48 MIT-BIH records' MLII (else channel 0) one after another, with their annotations, as one record."""
    import wfdb
    from ecgseg.records import list_records, read_record

    records = [read_record(r, data_dir=data_dir()) for r in list_records("mitdb", data_dir())]
    digital = np.concatenate([np.rint(r.signal * 200).astype(np.int16) for r in records])[:, None]
    offsets = np.cumsum([0] + [r.signal.size for r in records[:-1]])
    samples = np.concatenate([r.ann_samples + o for r, o in zip(records, offsets)])
    symbols = np.concatenate([r.ann_symbols for r in records]).tolist()
    wfdb.wrsamp(name, fs=360, units=["mV"], sig_name=["MLII"], d_signal=digital, fmt=["16"], adc_gain=[200.0], baseline=[0], write_dir=str(folder))
    wfdb.wrann(name, "atr", samples, symbol=symbols, fs=360, write_dir=str(folder))
    return folder / name


def measure(mode: str, record: Path, out: Path) -> dict:
    result = subprocess.run(
        ["nice", sys.executable, "-c", CHILD, mode, str(record), str(out)], cwd=REPO, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"{mode} {record} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _cpu_seconds(workers_client=None) -> float:
    """CPU seconds used so far by this process, its reaped children (pool workers) and the Dask workers."""
    import resource

    total = time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total += children.ru_utime + children.ru_stime
    if workers_client is not None:
        total += sum(workers_client.run(time.process_time).values())
    return total


def _warm_up(folder) -> int:
    from ecgseg.batch import segment_records

    return len(segment_records(["100"], data_dir=folder, jobs=1).arrays["segments"])


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def _parallel_ceiling(n: int = 3_000_000, tasks: int = 8) -> float:
    """What 2 processes gain over 1 on this machine now: a pure-Python CPU loop, wall-time ratio."""
    from concurrent.futures import ProcessPoolExecutor

    start = time.perf_counter()
    [_burn(n) for _ in range(tasks)]
    one = time.perf_counter() - start
    start = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_burn, [n] * tasks))
    return one / (time.perf_counter() - start)


def throughput(repeats: int) -> float:
    """Print records/s for jobs=1, jobs=2 and a 2-worker Dask cluster; return jobs=1 samples per CPU second."""
    from ecgseg.batch import segment_records
    from ecgseg.parallel import local_cluster
    from ecgseg.records import list_records

    folder = data_dir()
    names = list_records("mitdb", folder)
    segment_records(names[:1], data_dir=folder, jobs=1)  # numba cache load, imports

    def timed(workers_client=None, **where):
        """Best wall time, mean CPU seconds of all processes per run, and the arrays."""
        best, arrays = float("inf"), None
        cpu = _cpu_seconds(workers_client)
        for _ in range(repeats):
            start = time.perf_counter()
            run = segment_records(names, data_dir=folder, **where)
            arrays = run.arrays
            best = min(best, time.perf_counter() - start)
            assert not run.failures, run.failures
        return best, (_cpu_seconds(workers_client) - cpu) / repeats, arrays

    runs = {"in this process (jobs=1)": timed(jobs=1), "2 local processes (jobs=2)": timed(jobs=2)}
    start = time.perf_counter()
    with local_cluster(2) as cluster:
        from distributed import Client

        with Client(cluster.scheduler_address) as observer:
            observer.run(_warm_up, folder)  # spawned workers import and load the numba cache once, as this process did
            started = time.perf_counter() - start
            runs["Dask LocalCluster, 2 workers"] = timed(observer, scheduler=cluster.scheduler_address)
    ceiling = _parallel_ceiling()
    (one, cpu_one, reference), *_ = runs.values()
    same = all(np.array_equal(r[2][k], reference[k]) for r in runs.values() for k in reference)
    n_beats = len(reference["segments"])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n1. Throughput, 48 MIT-BIH records ({n_beats} beats, rule peaks), best of {repeats}; identical outputs: {same}")
    print(f"   machine: {os.cpu_count()} cores, load average {load} (1, 5, 15 min) after the runs; a pure-Python CPU")
    print(f"   loop runs {ceiling:.2f}x as fast on 2 processes as on 1 right now (the ceiling for the ratios below)")
    print(f"{'run':<34}{'seconds':>9}{'records/s':>11}{'beats/s':>10}{'vs jobs=1':>11}{'CPU s, all processes':>22}")
    for label, (seconds, cpu, _) in runs.items():
        print(f"{label:<34}{seconds:>9.2f}{48 / seconds:>11.1f}{n_beats / seconds:>10.0f}{one / seconds:>10.2f}x{cpu:>22.2f}")
    print(f"(Dask cluster start-up and worker warm-up, not included above: {started:.2f} s; jobs=1: {cpu_one / 48 * 1000:.0f} CPU ms per record)")
    return 48 * 650_000 / cpu_one


def memory(hours: list[float], skip_whole_24h: bool) -> dict:
    print("\n2. Peak memory (peak RSS of a fresh process), 360 Hz, chunked = 10 min chunks streamed to .npz; s = after imports")
    print(f"{'record':<34}{'chunked MB':>11}{'s':>7}{'cpu s':>7}{'whole MB':>10}{'s':>7}{'beats':>9}")
    rates = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        floor = None
        for h in hours:
            record = synthetic_record(tmp, f"syn{round(h * 60)}min", h, seed=int(h))
            if floor is None:
                floor = measure("floor", record, tmp / "floor.npz")
                print(f"{'floor (imports, segment 1 min)':<34}{floor['peak_mb']:>11.0f}")
            chunked = measure("chunked", record, tmp / "chunked.npz")
            whole = None if (skip_whole_24h and h >= 24) else measure("whole", record, tmp / "whole.npz")
            print(_row(f"synthetic {h:g} h", chunked, whole))
            record.with_suffix(".dat").unlink()
        # Icentia11k's rate: 250 Hz (resampled by 1/2 instead of 25/72).
        record = synthetic_record(tmp, "syn250hz", 24, fs=250.0, seed=250)
        chunked = measure("chunked", record, tmp / "chunked.npz")
        rates["synthetic 24 h at 250 Hz, chunked"] = 24 * 3600 * 250 / chunked["cpu"]
        print(_row("synthetic 24 h at 250 Hz", chunked, None))
        record.with_suffix(".dat").unlink()
        record = concatenated_mitdb(tmp)
        chunked = measure("chunked", record, tmp / "chunked.npz")
        whole = measure("whole", record, tmp / "whole.npz")
        print(_row("48 MIT-BIH records concatenated", chunked, whole))
        rates["MIT-BIH concatenated, chunked"] = 48 * 650_000 / chunked["cpu"]
        from ecgseg.beatfile import load_beats

        a, b = load_beats(tmp / "chunked.npz"), load_beats(tmp / "whole.npz")
        same = sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)
        print(f"concatenated record, chunked file == whole file, array for array: {same}")
    return rates


def _row(label, chunked, whole):
    whole_cols = f"{whole['peak_mb']:>10.0f}{whole['seconds']:>7.1f}" if whole else f"{'-':>10}{'':>7}"
    return f"{label:<34}{chunked['peak_mb']:>11.0f}{chunked['seconds']:>7.1f}{chunked['cpu']:>7.1f}{whole_cols}{chunked['n_beats']:>9}"


def projection(samples_per_s: float, chunked_rates: dict):
    """Core-hours for Icentia11k's size from a single-core rate."""
    beats, bpm, fs = 2e9, 70.0, 250.0
    hours = beats / bpm / 60
    samples = hours * 3600 * fs
    print("\n3. Projection for Icentia11k's size: 11,000 patients, ~2e9 beats")
    print(f"assumed: {bpm:g} beats/min on average -> {hours:,.0f} h of one-lead ECG at {fs:g} Hz ({hours / 11000:.0f} h per patient),")
    print(f"{samples:.3g} samples; rates are input samples per CPU second (one core), measured above")
    for label, rate in [("MIT-BIH records, jobs=1 (360 Hz)", samples_per_s)] + list(chunked_rates.items()):
        core_hours = samples / rate / 3600
        print(f"  from {label:<36}{rate / 1e6:7.1f} M samples/CPU s -> {core_hours:8.1f} core-hours")
    print("  (from local files; reading remote or compressed files, and writing ~750 bytes per beat")
    print("   cut (up to 1.5 TB of float32 segments for 2e9 beats), are extra)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--hours", default="1,6,24")
    parser.add_argument("--skip-whole-24h", action="store_true", help="do not run the whole-record peer on the 24 h record")
    args = parser.parse_args()
    rate = throughput(args.repeats)
    chunked_rates = memory([float(h) for h in args.hours.split(",")], args.skip_whole_24h)
    projection(rate, chunked_rates)


if __name__ == "__main__":
    main()
