"""Classifier speed: batch inference over all MIT-BIH beats, against a plain in-process torch forward, in one run.

    python benchmarks/bench_classify.py [--data /tmp/mitdb_ann.npz] [--repeats 3] [--model M.pt] [--context-data H.npz]

The peer is the obvious way to run this network: torch.set_num_threads(2), the
model in eval mode, ``model(x)`` over batches of 1024 under ``torch.no_grad``.
``predict_proba`` is what ``ecgseg classify`` calls. End-to-end figures are
whole processes (python start, imports, reading, inference, writing the table),
on one record and on all beats. The machine may be shared: compare the ratios,
not the absolute figures. ``--model`` (default: the shipped model a plain ``.npy`` gets) may read the cut context
(:func:`ecgseg.context.cut_context`): it is computed once, timed apart, and fed to every forward alike; the
end-to-end figures include it (``classify`` computes it from the segments). ``--context-data``: every MIT-BIH beat
cut at the hamilton R-peaks (``ecgseg segment database mitdb --peaks hamilton -o H.npz``); the shipped context model
is timed as ``classify`` runs it (its beat context from the file's R-peaks, then the forward) against a plain forward
of the same inputs made beforehand.
"""

from __future__ import annotations

import argparse
import copy
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
from ecgseg.classify.predict import classify_beats, load_classifier  # noqa: E402
from ecgseg.classify.config import choose_model  # noqa: E402
from ecgseg.context import model_inputs  # noqa: E402
from ecgseg.classify.model import ResidualBlock  # noqa: E402


class TextbookBlock(ResidualBlock):
    """The block in the paper's order, ReLU then pool (ecgseg pools first: the same result on 2x fewer samples)."""

    def forward(self, x):
        return self.pool(torch.relu(x + self.conv2(torch.relu(self.conv1(x)))))


def textbook(model):
    model = copy.deepcopy(model)
    for block in model.blocks:
        block.__class__ = TextbookBlock
    return model


def best_of(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def plain_forward(model, x: np.ndarray, extra=None, batch_size: int = 1024) -> np.ndarray:
    torch.set_num_threads(2)
    with torch.no_grad():
        t = torch.from_numpy(x)
        e = None if extra is None else torch.from_numpy(extra)
        return torch.cat([model(t[i : i + batch_size], None if e is None else e[i : i + batch_size])
                          for i in range(0, len(t), batch_size)]).numpy()


def context_model(path: str, repeats: int) -> None:
    """The shipped context model as `ecgseg classify` runs it on an .npz cut at the hamilton R-peaks: classify_beats
    (the beat context computed from the file, then the forward) against a plain forward of inputs made beforehand."""
    arrays = dict(np.load(path, allow_pickle=False))
    n = len(arrays["segments"])
    classifier = load_classifier(arrays, name=Path(path).name)
    x, extra = classifier.inputs(arrays, Path(path).name)
    plain_forward(classifier.net, x[:2048], extra[:2048])  # warm up
    peer = min(best_of(lambda: plain_forward(classifier.net, x, extra), 1) for _ in range(repeats))
    ours = min(best_of(lambda: classify_beats(arrays, threads=2), 1) for _ in range(repeats))
    print(f"context model {classifier.path.name} on {n} beats: plain forward of its inputs {n / peer:9.0f} beats/s "
          f"({peer:.2f} s); classify_beats, its features included {n / ours:9.0f} beats/s ({ours:.2f} s): "
          f"{ours / peer:.2f}x the plain forward's time")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/tmp/mitdb_ann.npz", help="all beats: ecgseg segment database mitdb --peaks annotations -o FILE")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default=None, help="a model file [default: the shipped model a plain .npy gets]")
    parser.add_argument("--context-data", help="all beats cut at hamilton R-peaks (ecgseg segment database mitdb "
                        "--peaks hamilton -o FILE): times the shipped context model as classify runs it, first")
    args = parser.parse_args()
    if args.context_data:
        context_model(args.context_data, args.repeats)

    segments = np.load(args.data, allow_pickle=False)["segments"]
    n = len(segments)
    model_path = Path(args.model) if args.model else choose_model({"segments": segments[:2]})[0]
    model, checkpoint = load_checkpoint(model_path)
    print(f"model: {model_path.name} (context {model.config.context if model.config.n_extra else 'none'})")
    extra = None
    if model.config.n_extra:
        started = time.perf_counter()
        _, extra = model_inputs({"segments": segments}, model.config)
        print(f"its context from the segments alone (model_inputs, once): {time.perf_counter() - started:.2f} s "
              f"for {n} beats")
    plain_forward(model, segments[:2048], None if extra is None else extra[:2048])  # warm up both paths
    predict_proba(model, segments[:2048], None if extra is None else extra[:2048], threads=2)

    paper = textbook(model)
    runs = {"paper": lambda: plain_forward(paper, segments, extra), "peer": lambda: plain_forward(model, segments, extra),
            "ours": lambda: predict_proba(model, segments, extra, logit_bias=checkpoint["logit_bias"], threads=2)}
    # interleaved repeats, best of each: the machine is shared, so load shifts between runs
    times = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            times[name].append(best_of(run, 1))
    paper_time, peer, ours = (min(times[name]) for name in ("paper", "peer", "ours"))
    head = None if extra is None else extra[:4096]
    same = np.array_equal(plain_forward(paper, segments[:4096], head).argmax(1),
                          predict_proba(model, segments[:4096], head).argmax(1))
    print(f"beats: {n}, torch {torch.__version__}, 2 threads")
    print(f"plain forward, paper's block order (batch 1024, no_grad): {n / paper_time:9.0f} beats/s  ({paper_time:.2f} s)")
    print(f"plain forward, ecgseg's network (batch 1024, no_grad):    {n / peer:9.0f} beats/s  ({peer:.2f} s)")
    print(f"predict_proba (batch 1024, inference_mode):              {n / ours:9.0f} beats/s  ({ours:.2f} s)  "
          f"{peer / ours:.2f}x the plain forward, {paper_time / ours:.2f}x the paper-order one; same classes on 4096 beats: {same}")

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        all_beats = Path(tmp) / "all.npy"
        np.save(all_beats, segments)
        one = Path(tmp) / "100.npy"
        np.save(one, segments[np.load(args.data)["record"] == "100"])
        for label, path in (("one record (100)", one), ("all beats", all_beats)):
            command = [sys.executable, "-m", "ecgseg", "classify", str(path), "--model", str(model_path), "-q"]
            elapsed = best_of(lambda: subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True), args.repeats)
            n_path = len(np.load(path, mmap_mode="r"))
            print(f"ecgseg classify end to end, {label}: {elapsed:.2f} s wall for {n_path} beats "
                  f"({n_path / elapsed:.0f} beats/s; {elapsed / (n_path / (n / peer)):.2f}x the plain forward's time for them)")
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], env=env, check=True)
        print(f"(python + import torch alone: {time.perf_counter() - started:.2f} s)")


if __name__ == "__main__":
    main()
