"""Start-up: ``ecgseg segment record 100 > beats.npy`` against ``python -c pass`` and the import floor, in one run.

    ECGSEG_DATA=../shared/data python benchmarks/bench_startup.py [--repeats 15]

Every command runs in a fresh interpreter; the commands take turns (round-robin), so a change of load on the
machine hits them alike. Figures are the median and the minimum wall time; ratios are against peers timed in
this same run, in wall time and in CPU time (user + system: on a busy machine the better guide to the idle
wall time, which it equals for a one-thread command whose files are cached):

- ``python -c pass``: the interpreter alone;
- the import floor: importing what the command truly needs (numpy, numba, wfdb with pandas, click), and that
  plus one call of a cached numba kernel (numba builds its compiler context on the first call of any cached
  function: a cost of using numba at all, with or without our code), with numba's BLAS check answered as the
  command line answers it (ecgseg/_numba_blas.py) and as numba does by itself (importing scipy.linalg);
- the command as it ran when it imported ``scipy.signal`` for ``resample_poly`` (``import scipy.signal`` first),
  to show what the numba resampling kernel saves.

The numba cache is warm for the timed runs (one untimed run first). The first run on a fresh install, when numba
compiles every kernel, is timed apart with an empty ``NUMBA_CACHE_DIR``. The load average is printed before and
after: the target (0.8 s) is for an idle machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import data_dir

PY = sys.executable
KERNEL_CALL = "import numpy as np; from ecgseg import _kernels; _kernels.window_min_max(np.ones(4), 2)"
# What the command line does first (ecgseg/_numba_blas.py): numba's BLAS check without importing scipy.linalg.
PRELOAD = "from ecgseg._numba_blas import preload_cython_blas; preload_cython_blas(); "


def run(argv, env, stdout=subprocess.DEVNULL) -> tuple[float, float]:
    """Wall time and CPU time (user + system, the child's) of one run of ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=stdout, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        sys.exit(f"{' '.join(argv)} failed: {done.stderr.decode().strip().splitlines()[-1:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def segment_argv() -> list[str]:
    script = Path(PY).with_name("ecgseg")  # the console script a user runs
    prefix = [str(script)] if script.is_file() else [PY, "-m", "ecgseg"]
    return [*prefix, "segment", "record", "100"]


def imported_modules(env) -> set[str]:
    """Every module the command imports (python -X importtime)."""
    done = subprocess.run([PY, "-X", "importtime", "-m", "ecgseg", "segment", "record", "100"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    env = dict(os.environ, ECGSEG_DATA=str(data_dir()))
    segment = segment_argv()
    out = Path(tempfile.mkdtemp()) / "beats.npy"
    commands = {
        "python -c pass": [PY, "-c", "pass"],
        "import numpy, numba, wfdb, click": [PY, "-c", "import numpy, numba, wfdb, click"],
        "  + numba's first cached call": [PY, "-c", PRELOAD + "import numpy, numba, wfdb, click; " + KERNEL_CALL],
        "  + the same, numba's BLAS check as is": [PY, "-c", "import numpy, numba, wfdb, click; " + KERNEL_CALL],
        "ecgseg segment record 100 > beats.npy": segment,
        "  the same, importing scipy.signal too": [
            PY, "-c", "import sys, scipy.signal; from ecgseg.cli import main; sys.argv[0] = 'ecgseg'; main()",
            *segment[-3:],
        ],
    }
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} (1 min)")
    for argv in commands.values():  # warm the file cache and numba's cache
        run(argv, env, stdout=out.open("wb"))

    walls = {name: [] for name in commands}
    cpus = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, argv in commands.items():
            with out.open("wb") as stdout:
                seconds, cpu = run(argv, env, stdout=stdout)
            walls[name].append(seconds)
            cpus[name].append(cpu)
    load_after = os.getloadavg()[0]

    median = {name: statistics.median(values) for name, values in walls.items()}
    cpu = {name: statistics.median(values) for name, values in cpus.items()}
    base, floor = "python -c pass", "  + numba's first cached call"
    print(f"\n{'command':42s} {'wall s':>7s} {'min s':>6s} {'cpu s':>6s} {'x pass':>7s} {'x floor':>8s} {'cpu x floor':>12s}")
    for name in commands:
        print(f"{name:42s} {median[name]:7.3f} {min(walls[name]):6.3f} {cpu[name]:6.3f} {median[name] / median[base]:7.1f} "
              f"{median[name] / median[floor]:8.2f} {cpu[name] / cpu[floor]:12.2f}")
    command = "ecgseg segment record 100 > beats.npy"
    print(f"\nwall: median of {args.repeats}; cpu: the child's user + system time (what the wall time is on an idle "
          f"machine: one thread, files cached).\nsegment record 100: {median[command]:.3f} s wall, {cpu[command]:.3f} s cpu, "
          f"{cpu[command] - cpu[floor]:+.3f} s cpu above the import floor; target <= 0.8 s wall on an idle machine "
          f"(load average {load_after:.2f} after the runs)")

    modules = imported_modules(env)
    heavy = ["torch", "scipy.linalg", "scipy.signal", "scipy.stats", "matplotlib", "pooch", "requests", "dask"]
    print("imported by segment record: " + ", ".join(f"{m} {'yes' if m in modules else 'no'}" for m in heavy))

    cache = tempfile.mkdtemp()
    cold_env = dict(env, NUMBA_CACHE_DIR=cache)
    cold, cold_cpu = run(segment, cold_env, stdout=out.open("wb"))
    warm, warm_cpu = run(segment, cold_env, stdout=out.open("wb"))
    print(f"first run with an empty numba cache (compiles every kernel it calls): {cold:.2f} s wall, {cold_cpu:.2f} s cpu; "
          f"the next: {warm:.2f} s wall, {warm_cpu:.2f} s cpu")
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
