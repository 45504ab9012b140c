"""Evaluation protocols: which beats train and which are scored, so that what is scored was not trained on.

- ``inter`` (de Chazal et al. 2004), MIT-BIH only: train on DS1, score DS2; the paced records are out.
- ``patient``: whole patients held out, any database: a seeded draw of ``test_fraction`` of the patients in which
  each class keeps near that share of its beats (:func:`split_validation`). A patient is a record, or for records
  in per-patient subfolders (PTB: ``patient001/s0010_re``) the subfolder (:func:`patient_of`), so the several
  records of one patient are never on both sides.
- ``intra``: a seeded random split of the beats, ``test_fraction`` scored: what the heartbeat dataset and most of
  the seeds report (Kachuee's 95.9% MI accuracy among them). Optimistic: the same patients are on both sides.
- ``all``: every labelled beat trains (scored on another file, e.g. ``mitbih_test.csv``), or is scored.

:func:`scored_beats` chooses the beats ``ecgseg evaluate`` scores from what a model records of its training
(protocol, the records it trained on, a digest of its training beats), so a beat seen in training is never
scored as unseen without a note saying so.

numpy only: no torch here.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .aami import AAMI_CLASSES, INTER_CLASSES, PROTOCOLS, TEST_FRACTION
from .terms import say, setting

__all__ = ["DS1", "DS2", "PACED", "patient_of", "split_validation", "patient_folds", "protocol_split", "beats_digest",
           "scored_beats"]

#: de Chazal et al. (2004) inter-patient split of MIT-BIH: train on DS1, test on DS2 (paced records excluded).
DS1 = ("101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230").split()
DS2 = ("100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234").split()
PACED = ("102", "104", "107", "217")


def patient_of(records) -> np.ndarray:
    """The patient of each record: its subfolder for records in per-patient folders, else the record itself.

    PTB names records ``patientNNN/sNNNNxxx`` and holds several records of most patients; MIT-BIH names one record
    per patient (records 201 and 202 are of one patient; de Chazal's DS1/DS2 split them all the same).

    Examples
    --------
    >>> patient_of(["patient001/s0010_re", "patient001/s0014lre", "100"]).tolist()
    ['patient001', 'patient001', '100']
    """
    records = np.asarray(records).astype(str)
    folder, slash, _ = np.char.rpartition(records, "/").T
    return np.where(slash == "/", folder, records)


def _class_counts(records, labels, scored=None):
    """Record names, beats per record and class (n_records, n_classes), and the classes a split is scored on: those
    of ``scored`` (class indices; default N, S, V, F of the AAMI labels: Q is a handful of beats outside the paced
    records) where present."""
    names, index = np.unique(records, return_inverse=True)
    labels = np.asarray(labels)
    counts = np.zeros((names.size, max(len(AAMI_CLASSES), int(labels.max(initial=0)) + 1)))
    np.add.at(counts, (index, labels), 1)
    scored = [AAMI_CLASSES.index(c) for c in INTER_CLASSES] if scored is None else list(scored)
    present = (counts.sum(axis=0) > 0) & np.isin(np.arange(counts.shape[1]), scored)
    return names, counts, present


def _split_score(share: np.ndarray) -> float:
    """A drawn split's score: ``share`` is each class's share of its beats in each part over the fair share; the
    worst class of the worst part counts, too few and too many alike (1 when every part has its fair share)."""
    return np.min(np.minimum(share, 1 / np.maximum(share, 1e-9)))


def split_validation(records, labels, val_fraction: float = 0.2, seed: int = 0, n_draws: int = 500,
                     scored=None) -> np.ndarray:
    """Choose whole records for validation so that each class is represented near ``val_fraction`` of its beats.

    Returns the sorted record names. Random draws of ``round(val_fraction * n_records)`` records (seeded) are
    scored by their worst class: r = (share of the class's beats drawn) / ``val_fraction``, counted as min(r, 1/r),
    so too few and too many both count against; the best draw wins. Classes ``scored`` (indices) only: by default
    N, S, V, F of the AAMI labels (Q is paced beats).

    Examples
    --------
    >>> recs = np.repeat(np.array(["a", "b", "c", "d", "e"]), 4); labs = np.tile([0, 0, 1, 2], 5)
    >>> len(split_validation(recs, labs, 0.4))
    2
    """
    names, counts, present = _class_counts(np.asarray(records).astype(str), labels, scored)
    if names.size < 2:
        raise ValueError("a patient-wise validation split needs beats of at least 2 records; use validation='beats'")
    n_val = int(np.clip(round(val_fraction * names.size), 1, names.size - 1))
    totals = counts.sum(axis=0)
    rng = np.random.default_rng(seed)
    best, best_score = None, -np.inf
    for _ in range(n_draws):
        chosen = rng.choice(names.size, n_val, replace=False)
        score = _split_score(counts[chosen].sum(axis=0)[present] / totals[present] / val_fraction)
        if score > best_score:
            best, best_score = chosen, score
    return sorted(names[best].tolist())


def patient_folds(records, labels, k: int = 4, seed: int = 0, n_draws: int = 300, scored=None) -> list[list[str]]:
    """Split the records into ``k`` patient-wise folds in which each class has near 1/k of its beats.

    Seeded random assignments (equal numbers of records per fold) are scored as in :func:`split_validation` by the
    worst class over all folds; the best draw wins. Returns ``k`` sorted lists of record names.

    Examples
    --------
    >>> recs = np.repeat(np.array(list("abcdef")), 4); labs = np.tile([0, 0, 1, 2], 6)
    >>> folds = patient_folds(recs, labs, 3)
    >>> sorted(sum(folds, [])) == list("abcdef"), [len(f) for f in folds]
    (True, [2, 2, 2])
    """
    names, counts, present = _class_counts(np.asarray(records).astype(str), labels, scored)
    if not 2 <= k <= names.size:
        raise ValueError(f"{k} patient-wise folds need at least {k} records, and k >= 2; the beats hold {names.size}")
    totals = counts.sum(axis=0)
    rng = np.random.default_rng(seed)
    best, best_score = None, -np.inf
    for _ in range(n_draws):
        fold_of = rng.permutation(names.size) % k
        score = _split_score(np.stack([counts[fold_of == f].sum(axis=0)[present] for f in range(k)]) / totals[present] * k)
        if score > best_score:
            best, best_score = fold_of, score
    return [sorted(names[best == f].tolist()) for f in range(k)]


def protocol_split(records, labels, protocol: str = "inter", *, test_fraction: float = TEST_FRACTION, seed: int = 0,
                   scored=None, name: str = "the beat file"):
    """Train and test beat masks of a protocol, over labelled beats only.

    Parameters
    ----------
    records : array (n_beats,) str, or None
        The record of each beat; None for beats without one (a heartbeat CSV): ``intra`` and ``all`` only.
    labels : array (n_beats,) int
        Class indices; -1 (unlabelled) is on neither side.
    protocol : {"inter", "patient", "intra", "all"}
        See the module. ``all``: both masks are every labelled beat.
    test_fraction : float
        ``patient``: the share of patients held out; ``intra``: of beats.
    seed : int
        The draw of ``patient`` and ``intra``.
    scored : sequence of int, optional
        ``patient``: the classes whose beats the draw balances (default: N, S, V, F of the AAMI labels).
    name : str
        The beats' name in messages.

    Returns
    -------
    train, test : numpy.ndarray of bool, shape (n_beats,)

    Raises
    ------
    ValueError
        Unknown protocol, no DS1/DS2 records for ``inter``, no records or fewer than two patients for ``patient``.

    Examples
    --------
    >>> records = np.array(["101", "100", "102", "100"]); labels = np.array([0, 2, 4, -1])
    >>> train, test = protocol_split(records, labels, "inter")
    >>> train.tolist(), test.tolist()
    ([True, False, False, False], [False, True, False, False])
    >>> train, test = protocol_split(["p1/a", "p1/b", "p2/a", "p3/a"], [0, 0, 1, 1], "patient", test_fraction=0.3)
    >>> train.tolist(), test.tolist()
    ([True, True, True, False], [False, False, False, True])
    """
    labelled = np.asarray(labels) >= 0
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if protocol == "intra":
        rng = np.random.default_rng(seed)
        test = labelled & (rng.random(labelled.size) < test_fraction)
        return labelled & ~test, test
    if protocol == "all":
        return labelled.copy(), labelled.copy()
    if records is None:
        raise ValueError(f"the {protocol} protocol needs the record of each beat, and {name} has none (a CSV); "
                         f"use {setting('protocol', 'intra')} (beat-level) or {setting('protocol', 'all')}")
    records = np.asarray(records).astype(str)
    if protocol == "inter":
        train = labelled & np.isin(records, DS1)
        test = labelled & np.isin(records, DS2)
        if not train.any() or not test.any():
            raise ValueError(f"the inter-patient protocol needs MIT-BIH DS1 and DS2 records, and {name} "
                             f"{_holds(records, labelled)}; segment the whole database ("
                             + say("`ecgseg segment database mitdb --peaks annotations`",
                                   "`ecgseg.segment_records(names, peaks='annotations')`")
                             + f"), or use {setting('protocol', 'patient')}")
        return train, test
    patients = patient_of(records)
    if np.unique(patients[labelled]).size < 2:
        raise ValueError(f"the patient protocol holds whole patients out, and {name} {_holds(records, labelled)}; "
                         f"give beats of at least 2 patients, or use {setting('protocol', 'intra')} (beat-level)")
    held = split_validation(patients[labelled], np.asarray(labels)[labelled], test_fraction, seed, scored=scored)
    test = labelled & np.isin(patients, held)
    return labelled & ~test, test


def _holds(records, labelled) -> str:
    names = np.unique(np.asarray(records)[labelled])
    if names.size == 0:
        return "has no labelled beats"
    return f"holds labelled beats of {names.size} record{'s' if names.size != 1 else ''} ({_shown(names)})"


def _shown(records, most: int = 5) -> str:
    """Up to ``most`` record names, then "..."."""
    names = np.unique(np.asarray(records).astype(str))
    return ", ".join(names[:most].tolist()) + (", ..." if names.size > most else "")


def beats_digest(segments) -> str:
    """SHA-256 of the beats' float32 bytes: tells whether a file is the one a model was trained on."""
    return hashlib.sha256(np.ascontiguousarray(segments, dtype=np.float32).tobytes()).hexdigest()


def scored_beats(records, labels, protocol: str, trained: dict, *, test_fraction: float | None = None,
                 seed: int | None = None, digest: str | None = None, name: str = "the beat file"):
    """The beats to score a model on, by a protocol, from what the model records of its training; and notes.

    Parameters
    ----------
    records : array (n_beats,) str, or None
        The record of each beat (None: a CSV).
    labels : array (n_beats,) int
        Class indices in the model's classes, -1 for beats outside them.
    protocol : {"inter", "patient", "intra", "all"}
        ``inter``: DS2 beats. ``patient``: beats of patients the model never trained on (its ``train_records``;
        DS1 for a model trained by the inter protocol). ``intra``: the model's own held-out beats when this is the
        file it trained on (same ``digest``), else a seeded beat split. ``all``: every labelled beat.
    trained : dict
        The model's training metadata (``protocol``, ``train_records``, ``train_config.seed``, ``test_fraction``,
        ``data_sha256``).
    test_fraction, seed : optional
        ``intra``: override the model's split.
    digest : str, optional
        :func:`beats_digest` of the file's beats.

    Returns
    -------
    mask : numpy.ndarray of bool
        The beats to score.
    notes : list of str
        What a reader must know: training beats scored, records left out.

    Raises
    ------
    ValueError
        Nothing left to score, or a protocol the file cannot follow; the message names the way on.
    """
    labelled = np.asarray(labels) >= 0
    notes: list[str] = []
    same_file = digest is not None and digest == trained.get("data_sha256")
    if protocol == "intra":
        seed = trained.get("train_config", {}).get("seed", 0) if seed is None else seed
        test_fraction = trained.get("test_fraction", TEST_FRACTION) if test_fraction is None else test_fraction
        _, test = protocol_split(records, labels, "intra", test_fraction=test_fraction, seed=seed, name=name)
        if trained.get("protocol") == "intra" and trained.get("data_sha256") is None:
            notes.append("the model does not record the beats it was trained on: if it was trained on this file "
                         "with this split, these are its held-out beats; either way the same patients were on both "
                         "sides (optimistic)")
        elif trained.get("protocol") == "intra" and not same_file:
            notes.append(f"{name} is not the file the model was trained on: its beat-level test split is not the "
                         "model's, and these patients' other beats may have been trained on (optimistic)")
        elif trained.get("protocol") not in (None, "intra"):
            notes.append(f"the model was trained by the {trained['protocol']} protocol; a beat-level split of "
                         f"{name} may score beats it trained on")
        return test, notes
    seen = _seen_patients(trained)
    if protocol == "inter":
        if records is None:
            raise ValueError(f"the inter-patient protocol scores MIT-BIH DS2 records and {name} has no record of "
                             f"each beat (a CSV); use {setting('protocol', 'all')}")
        test = labelled & np.isin(np.asarray(records).astype(str), DS2)
        if not test.any():
            raise ValueError(f"the inter-patient protocol scores MIT-BIH DS2 records, and {name} "
                             f"{_holds(records, labelled)}; {setting('protocol', 'patient')} scores the patients the "
                             f"model did not train on, {setting('protocol', 'all')} every beat")
    elif protocol == "patient":
        if records is None:
            raise ValueError(f"{name} has no record of each beat (a CSV), so the patients the model trained on "
                             f"cannot be left out; use {setting('protocol', 'all')}")
        if seen is None:
            raise ValueError(f"the model does not record which patients it trained on; use {setting('protocol', 'all')}"
                             " (optimistic if it trained on these beats) or retrain it with "
                             + say("`ecgseg train`", "`ecgseg.classify.train`"))
        patients = patient_of(records)
        test = labelled & ~np.isin(patients, seen)
        if not test.any():
            raise ValueError(f"the model trained on every patient in {name} ({_shown(np.asarray(records)[labelled])}); "
                             f"{setting('protocol', 'all')} scores them anyway (optimistic)")
    elif protocol == "all":
        test = labelled.copy()
    else:
        raise ValueError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    left_out = labelled & ~test
    if left_out.any() and records is not None:
        out = np.unique(np.asarray(records)[left_out])
        notes.append(f"{out.size} record{'s' if out.size != 1 else ''} not scored ({_shown(out, 8)}): "
                     f"{_why_out(protocol)}")
    if protocol == "all":
        overlap = np.zeros(0, dtype=str)
        if seen is not None and records is not None:
            overlap = np.unique(np.asarray(records)[test & np.isin(patient_of(records), seen)])
        if overlap.size:
            notes.append(f"the model trained on the patients of {overlap.size} of these records "
                         f"({_shown(overlap, 8)}): their scores are optimistic")
        elif same_file:
            notes.append(f"{name} is the file the model was trained on: its training beats are scored (optimistic)")
    return test, notes


def _why_out(protocol: str) -> str:
    return {"inter": "not in DS2", "patient": "the model trained on their patients"}.get(protocol, "")


def _seen_patients(trained: dict) -> list[str] | None:
    """The patients a model trained on (including those it validated on), or None when it does not say."""
    if trained.get("train_records") is not None:
        return sorted(set(patient_of(trained["train_records"]).tolist()))
    if trained.get("protocol", "inter") == "inter":
        return list(DS1)  # the shipped models and older checkpoints: trained on DS1 only
    return None
