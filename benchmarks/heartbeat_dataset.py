"""Beats cut at the annotated positions of all 48 records, next to the widely used "heartbeat" dataset.

    python benchmarks/heartbeat_dataset.py

The same as `ecgseg segment database mitdb --peaks annotations -o mitdb.npz`,
with class shares printed beside the heartbeat dataset's (Kachuee et al. 2018,
109,446 beats).
"""

from __future__ import annotations

import numpy as np
from _common import data_dir

from ecgseg.batch import segment_records
from ecgseg.labels import AAMI_CLASSES
from ecgseg.records import list_records

HEARTBEAT_DATASET = {"total": 109_446, "N": 0.828, "S": 0.025, "V": 0.066, "F": 0.007, "Q": 0.073}


def main():
    folder = data_dir()
    run = segment_records(list_records("mitdb", folder), data_dir=folder, peaks="annotations")
    labels = run.arrays["labels"]
    counts = np.bincount(labels[labels >= 0], minlength=5)
    print(f"{'':8s} {'ecgseg':>10s} {'share':>7s} {'heartbeat':>10s}")
    print(f"{'beats':8s} {labels.size:10d} {'':7s} {HEARTBEAT_DATASET['total']:10d}")
    for name, count in zip(AAMI_CLASSES, counts):
        print(f"{name:8s} {count:10d} {count / labels.size:7.3f} {HEARTBEAT_DATASET[name]:10.3f}")
    print(f"unlabelled {np.count_nonzero(labels < 0)}, annotated beats missed {run.n_missed}, "
          f"beats with T < 0.2 s {run.n_short}, failed records {len(run.failures)}")


if __name__ == "__main__":
    main()
