"""Write a candidate of ``classifier_candidates.py`` as a shipped model file: its final model and chosen calibration.

    python benchmarks/ship_candidate.py --runs DIR --candidate R3 --seed 0 --calibration floor-n97 -o MODEL.pt

The candidate's final model (trained on all DS1 beats for the epoch count its folds chose) gets the logit biases
that calibration tuned on its out-of-fold logits, the name of its context (``beat`` when it reads the rhythm and
template features) and metadata: the recipe, the folds, the OOF scores, and the ``ecgseg train`` command that runs
the same training (``--check-cli DATA`` trains both ways on a few DS1 records and compares the weights).
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

from ecgseg.classify import load_checkpoint, save_checkpoint  # noqa: E402


def cli_command(spec: dict, seed: int, calibration: str, data: str = "ann_pre.npz", output: str = "MODEL.pt") -> str:
    context = {"context": "beat", "rhythm": None, "rr": "rr", "none": "none", "cut": "cut"}[spec["inputs"]]
    if context is None:
        raise SystemExit("the 'rhythm' candidates read 12 of the 15 beat-context features; no `ecgseg train` flag gives that")
    parts = [f"ecgseg train {data} -o {output} --context {context}"]
    if spec["channels"] == 2:
        parts.append("--template")
    parts.append(f"--arch {spec['arch']} --balance {spec['balance']}")
    if spec["balance"] == "undersample":
        parts.append(f"--undersample-ratio {spec['ratio']:g}")
    parts.append(f"--validation folds --folds 4 --epochs {spec['epochs']} --patience {spec['epochs']} "
                 f"--batch-size {spec['batch']} --lr {spec['lr']:g} --seed {seed}")
    if spec["width"] != 32:
        raise SystemExit("wider networks have no `ecgseg train` flag")
    parts.append({"none": "--no-calibrate", "free": "", "floor": "--recall-floor 0.5",
                  "floor-n97": "--recall-floor 0.5 --normal-recall 0.97",
                  "min-recall-0.3": "--recall-floor 0.5 --min-recall 0.3",
                  "min-recall-0.3-n90": "--recall-floor 0.5 --min-recall 0.3 --normal-recall 0.9",
                  "min-recall-0.3-n95": "--recall-floor 0.5 --min-recall 0.3 --normal-recall 0.95"}[calibration])
    return " ".join(p for p in parts if p)


def check_cli(data: str, spec: dict, seed: int, calibration: str) -> None:
    """Train a short version of the recipe both ways (candidate script, ``ecgseg train``) on a few records; compare."""
    import tempfile

    from click.testing import CliRunner

    from classifier_candidates import inputs  # noqa: E402

    from ecgseg.beatfile import load_beats, save_beats
    from ecgseg.classify import ModelConfig, TrainConfig, train
    from ecgseg.cli import cli
    from ecgseg.context import file_context
    from ecgseg.evaluate import protocol_split

    arrays = load_beats(data)
    keep = np.isin(arrays["record"], ["106", "118", "119", "209", "223", "230", "100", "232"])
    small = {k: (v[keep] if np.ndim(v) and len(v) == len(keep) else v) for k, v in arrays.items()}
    short = {**spec, "epochs": 2}
    context, templates = file_context(small)
    x, extra = inputs(small, context, templates, short)
    train_mask, _ = protocol_split(small["record"], small["labels"], "inter")
    labels = small["labels"].astype(np.int64)
    model = ModelConfig(arch=short["arch"], channels=short["width"], input_length=x.shape[-1],
                        pre_r_s=float(small["pre_r_s"]), in_channels=short["channels"])
    config = TrainConfig(epochs=2, patience=2, batch_size=short["batch"], lr=short["lr"], balance=short["balance"],
                         undersample_ratio=short["ratio"], validation="folds", folds=4, seed=seed, calibrate=False,
                         model=model)
    direct = train(x[train_mask], labels[train_mask], small["record"][train_mask], config,
                   rr=None if extra is None else extra[train_mask])
    with tempfile.TemporaryDirectory() as tmp:
        save_beats(f"{tmp}/small.npz", small)
        command = cli_command(short, seed, calibration, f"{tmp}/small.npz", f"{tmp}/m.pt").split()[1:] + ["-q"]
        result = CliRunner().invoke(cli, command)
        if result.exit_code != 0:
            raise SystemExit(result.output)
        via_cli, checkpoint = load_checkpoint(f"{tmp}/m.pt")
    same = all(torch.equal(a, b) for a, b in zip(direct.model.state_dict().values(), via_cli.state_dict().values()))
    print(f"check: 2-epoch recipe on 6 DS1 records, the candidate script's train() and `{' '.join(command[:3])} ...` "
          f"give {'identical' if same else 'DIFFERENT'} weights")
    if not same:
        raise SystemExit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibration", required=True)
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--data-name", default="ann_pre.npz", help="the beat file's name in the recorded command")
    parser.add_argument("--rows", default="rows.jsonl", help="the candidate script's --json file, in --runs")
    parser.add_argument("--check-cli", metavar="DATA", default=None,
                        help="first check on DATA that `ecgseg train` trains this recipe as the candidate script did")
    args = parser.parse_args()
    runs = Path(args.runs)
    rows = [json.loads(line) for line in open(runs / args.rows)]
    row = [r for r in rows if r["candidate"] == args.candidate and r["seed"] == args.seed
           and r["calibration"] == args.calibration][-1]
    if args.check_cli:
        check_cli(args.check_cli, row["spec"], args.seed, args.calibration)
    model, checkpoint = load_checkpoint(runs / f"{args.candidate}_s{args.seed}.pt")
    if row["spec"]["inputs"] in ("context", "cut"):  # runs of round 1 stored context "rr" for the beat context
        model.config = replace(model.config, context={"context": "beat", "cut": "cut"}[row["spec"]["inputs"]])
    metadata = {**checkpoint["metadata"], "protocol": "inter", "calibration": args.calibration,
                "oof_scores": row["oof"], "candidate": args.candidate,
                "command": cli_command(row["spec"], args.seed, args.calibration, args.data_name, Path(args.output).name)}
    save_checkpoint(args.output, model, metadata=metadata, logit_bias=np.array(row["bias"], dtype=np.float32))
    size = Path(args.output).stat().st_size
    loaded = torch.load(args.output, weights_only=True)
    print(f"{args.output}: {size:,} bytes, inputs {loaded['inputs']}, biases {row['bias']}\n  {metadata['command']}")


if __name__ == "__main__":
    main()
