"""Classifier speed: batch inference over all MIT-BIH beats, against a plain in-process torch forward, in one run.

    /work/venv/bin/python benchmarks/bench_classify.py [--data /tmp/mitdb_ann.npz] [--repeats 3]

The peer is the obvious way to run this network: torch.set_num_threads(2), the
model in eval mode, ``model(x)`` over batches of 1024 under ``torch.no_grad``.
``predict_proba`` is what ``ecgseg classify`` calls. End-to-end figures are
whole processes (python start, imports, reading, inference, writing the table),
on one record and on all beats. The machine may be shared: compare the ratios,
not the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ecgseg.classify import load_checkpoint, predict_proba  # noqa: E402


def best_of(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def plain_forward(model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    torch.set_num_threads(2)
    with torch.no_grad():
        t = torch.from_numpy(x)
        return torch.cat([model(t[i : i + batch_size]) for i in range(0, len(t), batch_size)]).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/tmp/mitdb_ann.npz", help="all beats: ecgseg segment database mitdb --peaks annotations -o FILE")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    segments = np.load(args.data, allow_pickle=False)["segments"]
    n = len(segments)
    model, checkpoint = load_checkpoint()
    plain_forward(model, segments[:2048])  # warm up both paths (allocator, oneDNN primitives)
    predict_proba(model, segments[:2048], threads=2)

    peer = best_of(lambda: plain_forward(model, segments), args.repeats)
    ours = best_of(lambda: predict_proba(model, segments, logit_bias=checkpoint["logit_bias"], threads=2), args.repeats)
    same = np.array_equal(plain_forward(model, segments[:4096]).argmax(1), predict_proba(model, segments[:4096]).argmax(1))
    print(f"beats: {n}, torch {torch.__version__}, 2 threads")
    print(f"plain torch forward (batch 1024, no_grad):   {n / peer:9.0f} beats/s  ({peer:.2f} s)")
    print(f"predict_proba (batch 4096, inference_mode):   {n / ours:9.0f} beats/s  ({ours:.2f} s)  "
          f"{peer / ours:.2f}x the plain forward; same classes on 4096 beats: {same}")

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        all_beats = Path(tmp) / "all.npy"
        np.save(all_beats, segments)
        one = Path(tmp) / "100.npy"
        np.save(one, segments[np.load(args.data)["record"] == "100"])
        for label, path in (("one record (100)", one), ("all beats", all_beats)):
            command = [sys.executable, "-m", "ecgseg", "classify", str(path), "-q"]
            elapsed = best_of(lambda: subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True), args.repeats)
            n_path = len(np.load(path, mmap_mode="r"))
            print(f"ecgseg classify end to end, {label}: {elapsed:.2f} s wall for {n_path} beats "
                  f"({n_path / elapsed:.0f} beats/s; {elapsed / (n_path / (n / peer)):.2f}x the plain forward's time for them)")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], env=env, check=True)
        print(f"(python + import torch alone: {time.perf_counter() - started:.2f} s)")


if __name__ == "__main__":
    main()
