"""The spread of a recipe over seeds: its final training repeated with other seeds, scored on DS2.

    python benchmarks/classifier_seeds.py --data ann_pre.npz --runs DIR --candidate R3 --calibration floor-n97 \\
        --seeds 1,2,3,4 --out DIR/seeds

The recipe is what ``classifier_candidates.py`` ran for the candidate with seed 0: its network, inputs and
training options, the epoch count its DS1 folds chose and the logit biases its calibration tuned on the
out-of-fold logits. Each seed trains the final model on all DS1 beats again (the same call as the candidate's
final training, so seed 0 gives the candidate's weights bit for bit) and is written as a model file with those
biases; ``classifier_ds2.py --model`` then scores each. The fold selection itself was run for seed 0 only.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from classifier_candidates import inputs  # noqa: E402

from ecgseg.beatfile import load_beats  # noqa: E402
from ecgseg.classify import ModelConfig, TrainConfig, load_checkpoint, save_checkpoint  # noqa: E402
from ecgseg.classify.train import _fit  # noqa: E402
from ecgseg.context import file_context  # noqa: E402
from ecgseg.evaluate import protocol_split  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--runs", required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--calibration", required=True)
    parser.add_argument("--seeds", default="1,2,3,4")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [json.loads(line) for line in open(Path(args.runs) / "rows.jsonl")]
    row = [r for r in rows if r["candidate"] == args.candidate and r["seed"] == 0 and r["calibration"] == args.calibration][-1]
    spec, epochs, bias = row["spec"], row["best_epoch"], np.array(row["bias"], np.float32)
    arrays = load_beats(args.data)
    context, templates = file_context(arrays, args.data)
    x, extra = inputs(arrays, context, templates, spec)
    train_mask, _ = protocol_split(arrays["record"], arrays["labels"], "inter")
    labels = arrays["labels"].astype(np.int64)
    everything = (x[train_mask], None if extra is None else extra[train_mask], labels[train_mask])
    empty = tuple(None if a is None else a[:0] for a in everything)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    for seed in [int(s) for s in args.seeds.split(",")]:
        model = ModelConfig(arch=spec["arch"], channels=spec["width"], input_length=x.shape[-1],
                            pre_r_s=float(arrays["pre_r_s"]), in_channels=spec["channels"],
                            n_extra=0 if extra is None else extra.shape[1],
                            context="beat" if spec["inputs"] == "context" else "rr")
        config = TrainConfig(epochs=spec["epochs"], patience=spec["epochs"], batch_size=spec["batch"], lr=spec["lr"],
                             balance=spec["balance"], undersample_ratio=spec["ratio"], validation="folds", folds=4,
                             seed=seed, calibrate=False, model=model)
        net, history, _ = _fit(config, everything, empty, None, epochs=epochs, select=False)
        path = Path(args.out) / f"{args.candidate}_{args.calibration}_s{seed}.pt"
        save_checkpoint(path, net, metadata={"spec": spec, "seed": seed, "epochs": epochs, "calibration": args.calibration,
                                             "protocol": "inter"}, logit_bias=bias)
        if seed == 0:
            reference, _ = load_checkpoint(Path(args.runs) / f"{args.candidate}_s0.pt")
            same = all(torch.equal(a, b) for a, b in zip(reference.state_dict().values(), net.state_dict().values()))
            print(f"seed 0 reproduces the candidate's final model bit for bit: {same}", flush=True)
        print(f"{path}: seed {seed}, {epochs} epochs, {sum(h['seconds'] for h in history):.0f} s", flush=True)


if __name__ == "__main__":
    main()
