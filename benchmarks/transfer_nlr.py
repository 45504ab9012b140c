"""Transfer experiment that runs here: the shipped arrhythmia model started on a task it was not trained for.

The task: normal (N), left (L) and right (R) bundle branch block beats of MIT-BIH (their annotation symbols; all
three are AAMI class N, so the shipped model was taught to call them the same). PTB's myocardial infarction, the
seed's task, is not reachable from these machines; this has the same shape: a new beat-level task on few patients.

Protocol (fixed before any figure was printed):
- Beats cut at the reference annotations (``ecgseg segment database mitdb --peaks annotations``), lead MLII.
- Patients: L in 109 111 207 214, R in 118 124 212 231 232 (207: mostly L), N in every other record with 500 or
  more N beats (not paced). Per seed, the test patients are drawn from DS2 only, so the shipped model (trained on
  DS1) never saw a test beat: one L patient (111 or 214), one R patient (212, 231 or 232) and three N patients;
  all their N, L and R beats are scored. The training patients are drawn from the rest: 1, 3 or all patients per
  class (L has three left, so 3 = all for L), at most 300 beats per patient and class.
- Each row starts either from scratch (random weights) or from the shipped waveform-only model
  (``weights/kachuee_ds1.pt``, copied once at the start and its SHA-256 printed, so a model shipped while the
  script runs cannot change the rows) with its first K of 8 stages frozen (1 first convolution, 2-6 the residual blocks,
  7-8 the dense layers; K = 0 fine-tunes everything; the output layer is always new).
- Training (the same for every row): Kachuee network, 12 epochs of 2,048 class-balanced beats (sampler), batch 64,
  Adam lr 1e-3, augmentation on, the epoch kept by macro-F1 on a random 20% of the training beats (inside the
  training patients), no logit calibration. 1 torch thread.
- Seeds 0, 1, 2: each draws its own test and training patients and initialises its own output layer; the table
  gives the mean and the spread (sample standard deviation) over the seeds. Macro-F1 over N, L, R is the figure
  that matters (N dominates the test beats).
- Two extra rows, labelled optimistic: the beat-level split the seeds use (a random 80/20 of the same patients'
  beats), from scratch and from the shipped model with K = 0.

    python benchmarks/transfer_nlr.py                       # builds the beat file, then the table (hours on 2 busy cores)
    python benchmarks/transfer_nlr.py --data mitdb_ann.npz  # a beat file from `ecgseg segment database mitdb --peaks annotations`
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import data_dir

from ecgseg.beatfile import load_beats
from ecgseg.classify.config import DEFAULT_WEIGHTS, ModelConfig, TrainConfig
from ecgseg.classify.predict import predict_proba
from ecgseg.classify.train import train
from ecgseg.evaluate import class_report
from ecgseg.protocols import DS1, DS2, PACED
from ecgseg.tasks import task_labels

CLASSES = ("N", "L", "R")
L_PATIENTS = ("109", "111", "207", "214")
R_PATIENTS = ("118", "124", "212", "231", "232")
PER_PATIENT = 300  # training beats per patient and class at most
TEST_N = 3
SIZES = (1, 3, None)  # patients per class; None: all
FREEZE = tuple(range(9))  # 0 (train all) .. 8 (only the new output layer)


def beat_file(path):
    if path:
        return load_beats(path)
    from ecgseg.batch import segment_records
    from ecgseg.records import list_records

    folder = data_dir()
    started = time.perf_counter()
    run = segment_records(list_records("mitdb", folder), data_dir=folder, peaks="annotations", jobs=1)
    print(f"segmented mitdb at the annotations in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return run.arrays


def patients(records, task):
    """The N-only patients: records with 500 or more N beats, not paced, not L or R patients."""
    n_counts = {r: int(np.count_nonzero((records == r) & (task.labels == 0))) for r in np.unique(records)}
    return sorted(str(r) for r, n in n_counts.items() if n >= 500 and r not in PACED + L_PATIENTS + R_PATIENTS)


def draw(seed, n_patients):
    """Test patients (DS2 only) and, per size, training patients from the rest: seeded."""
    rng = np.random.default_rng(seed)
    test = [rng.choice([p for p in L_PATIENTS if p in DS2]), rng.choice([p for p in R_PATIENTS if p in DS2])]
    test = [str(p) for p in test + list(rng.choice([p for p in n_patients if p in DS2], TEST_N, replace=False))]
    pools = [[p for p in pool if p not in test] for pool in (n_patients, L_PATIENTS, R_PATIENTS)]
    order = [[str(p) for p in rng.permutation(pool)] for pool in pools]
    training = {size: sorted(set(sum((o[: size or len(o)] for o in order), []))) for size in SIZES}
    return sorted(test), training


def capped(records, labels, chosen, rng):
    """Training beats of the chosen patients: at most PER_PATIENT per patient and class."""
    keep = np.zeros(labels.size, bool)
    for record in chosen:
        for c in range(len(CLASSES)):
            members = np.flatnonzero((records == record) & (labels == c))
            keep[rng.choice(members, min(PER_PATIENT, members.size), replace=False) if members.size else []] = True
    return keep


def run(x, labels, train_mask, test_mask, seed, freeze, start):
    config = TrainConfig(epochs=12, epoch_beats=2048, batch_size=64, lr=1e-3, balance="sampler", validation="beats",
                         calibrate=False, patience=12, seed=seed, init=None if freeze is None else str(start),
                         freeze=freeze or 0, model=ModelConfig(n_classes=3, class_names=CLASSES))
    started = time.perf_counter()
    result = train(x[train_mask], labels[train_mask], config=config)
    seconds = time.perf_counter() - started
    predicted = predict_proba(result.model, x[test_mask]).argmax(axis=1)
    report = class_report(labels[test_mask], predicted, class_names=CLASSES)
    return report.accuracy, report.macro_f1(), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="beat file cut at the annotations (default: segment mitdb now)")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()

    start = Path(tempfile.mkdtemp()) / "start.pt"
    shutil.copy(DEFAULT_WEIGHTS, start)
    print(f"starting model: {DEFAULT_WEIGHTS.name}, sha256 {hashlib.sha256(start.read_bytes()).hexdigest()[:16]}")
    arrays = beat_file(args.data)
    task = task_labels(arrays, "symbol", CLASSES)
    records = np.asarray(arrays["record"]).astype(str)
    x = np.ascontiguousarray(arrays["segments"], dtype=np.float32)
    n_patients = patients(records, task)
    print(f"task: {dict(zip(CLASSES, task.counts().tolist()))} beats; N patients: {' '.join(n_patients)}")
    rows = {}
    for seed in range(args.seeds):
        test, training = draw(seed, n_patients)
        test_mask = np.isin(records, test) & (task.labels >= 0)
        seen = sorted(set(test) & set(DS1))
        print(f"seed {seed}: test patients {' '.join(test)} ({test_mask.sum()} beats: "
              f"{np.bincount(task.labels[test_mask], minlength=3).tolist()}); shipped model's training records "
              f"among them: {' '.join(seen) or 'none'}", flush=True)
        for size in SIZES:
            rng = np.random.default_rng(1000 + seed)
            train_mask = capped(records, task.labels, training[size], rng)
            print(f"  {size or 'all'} per class: {' '.join(training[size])} ({train_mask.sum()} beats)", flush=True)
            for freeze in (None,) + FREEZE:
                rows.setdefault(("patient", size, freeze), []).append(run(x, task.labels, train_mask, test_mask,
                                                                          seed, freeze, start))
                print(f"    {_start(freeze):<22} acc {rows[('patient', size, freeze)][-1][0]:.3f}  macro-F1 "
                      f"{rows[('patient', size, freeze)][-1][1]:.3f}  {rows[('patient', size, freeze)][-1][2]:.0f} s",
                      flush=True)
        # the seeds' beat-level split over the same patients: optimistic
        everyone = sorted(set(test) | set(training[None]))
        rng = np.random.default_rng(2000 + seed)
        pool = capped(records, task.labels, everyone, rng)
        is_test = pool & (rng.random(pool.size) < 0.2)
        for freeze in (None, 0):
            rows.setdefault(("beats", None, freeze), []).append(run(x, task.labels, pool & ~is_test, is_test, seed,
                                                                    freeze, start))

    print("\n| split | patients per class | start | accuracy | macro-F1 | training s |")
    print("|---|---|---|---|---|---|")
    for (split, size, freeze), values in rows.items():
        values = np.array(values)
        mean, sd = values.mean(axis=0), values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(3)
        label = "patient-wise" if split == "patient" else "beat-level (optimistic)"
        print(f"| {label} | {size or 'all'} | {_start(freeze)} | {mean[0]:.3f} ± {sd[0]:.3f} | "
              f"{mean[1]:.3f} ± {sd[1]:.3f} | {mean[2]:.0f} |")


def _start(freeze):
    return "scratch" if freeze is None else f"shipped, K={freeze} frozen"


if __name__ == "__main__":
    main()
