"""``ecgseg train``: a beat classifier from a labelled beat file, from scratch or from a trained model (transfer)."""

from __future__ import annotations

import sys

import click

from ..aami import INTER_CLASSES, PROTOCOLS, TEST_FRACTION
from ..classify.config import ARCHS, BALANCE, CLASS_NAMES, CONTEXTS, VALIDATION, ModelConfig, TrainConfig
from ._common import check_output, echo_err, library_errors

_TRAIN = TrainConfig()  # the defaults the options show


def split_names(text: str | None) -> tuple[str, ...] | None:
    """``--classes "Healthy control,Myocardial infarction"`` -> the names, stripped; None when not given."""
    if text is None:
        return None
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise click.BadParameter(f"{text!r} has an empty class name; separate names with commas", param_hint="--classes")
    return names


def default_protocol(records, key: str) -> str:
    """inter for the MIT-BIH database's AAMI labels, patient for other files with records, all for a CSV."""
    import numpy as np

    from ..protocols import DS1, DS2

    if records is None:
        return "all"
    names = set(np.unique(records).tolist())
    if key == "labels" and names & set(DS1) and names & set(DS2):
        return "inter"
    return "patient"


def _given(name: str) -> bool:
    return click.get_current_context().get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def _network(init, freeze, arch, context, template):
    """The network's arch, context and template flag: as given, or those of the starting model (--init)."""
    if init is None and freeze is None:
        return None, arch, context, template
    from ..classify.model import load_checkpoint
    from ..classify.transfer import resolve_init

    init = "shipped" if init is None else init
    for option, given in (("--arch", _given("arch")), ("--context", _given("context")), ("--template", _given("template"))):
        if given:
            raise click.UsageError(f"{option} comes from the starting model (--init {init}); leave it out")
    start, _ = load_checkpoint(resolve_init(init))
    context = start.config.context if start.config.n_extra else "none"
    return init, start.config.arch, context, start.config.in_channels == 2


@click.command("train")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(), required=True, help="The model file (.pt) to write.")
@click.option("--labels", "key", default=None, metavar="KEY",
              help="The beat file's key that holds the classes: labels (AAMI, the default), diagnosis (a record's "
              "diagnosis, PTB), or a CSV's class column.")
@click.option("--classes", default=None, metavar="A,B,...",
              help="The task's classes in output order (beats of other classes are left out) [default: N,S,V,F,Q for "
              "labels; the names present, sorted, for a text key]. A CSV names no classes: this names its 0, 1, ...")
@click.option("--protocol", type=click.Choice(PROTOCOLS), default=None,
              help="Beats held out for testing: inter, DS2 (MIT-BIH); patient, whole patients (--test-fraction of "
              "them); intra, random beats (optimistic: same patients on both sides); all, none [default: inter for "
              "the MIT-BIH database, patient for other files with records, all for a CSV].")
@click.option("--init", default=None, metavar="MODEL",
              help="Start from this trained model (a .pt, or 'shipped': the shipped arrhythmia model), its output layer "
              "replaced for the task's classes (transfer learning).")
@click.option("--freeze", type=click.IntRange(min=0), default=None,
              help="With --init: keep the first K layers of the starting model as they are (kachuee: 1 first conv, 2-6 "
              "residual blocks, 7-8 dense layers); 0 trains all [default: 0; given alone, --init shipped].")
@click.option("--arch", type=click.Choice(ARCHS), default=ModelConfig().arch, show_default=True,
              help="Network: Kachuee residual CNN, LSTM-FCN, CNN + BiLSTM, or CNN + MLP head.")
@click.option("--context", type=click.Choice(CONTEXTS), default=CONTEXTS[0], show_default=True,
              help="Features joined before the dense layers: rr, the six R-R features of DATA's rr array; beat, the "
              "rhythm over 60 s and the comparison with the record's template (from r_peaks and segments); cut, the "
              "same read from the segments alone (cut at the R-peak, as a plain .npy has them).")
@click.option("--template", is_flag=True,
              help="Also read each beat's record template (median of its regular neighbours) as a second channel.")
@click.option("--recall-floor", type=float, default=_TRAIN.recall_floor,
              help="The logit biases may not push any class's validation recall below this [default: no floor].")
@click.option("--normal-recall", type=float, default=_TRAIN.normal_recall,
              help="Then lower the other classes' biases until N's validation recall reaches this [default: off].")
@click.option("--min-recall", type=float, default=_TRAIN.min_recall,
              help="Raise each class's logit bias until its validation recall reaches this [default: off].")
@click.option("--balance", type=click.Choice(BALANCE), default=_TRAIN.balance, show_default=True,
              help="Class imbalance: weighted loss, class-balanced batches, weighted random sampling "
              "(~1/sqrt(class share)), N undersampled each epoch, or none.")
@click.option("--undersample-ratio", type=float, default=_TRAIN.undersample_ratio, show_default=True,
              help="undersample: N beats per other beat.")
@click.option("--folds", type=click.IntRange(min=2), default=_TRAIN.folds, show_default=True,
              help="--validation folds: patient-wise folds; epochs and logit biases chosen on out-of-fold predictions.")
@click.option("--epochs", type=int, default=_TRAIN.epochs, show_default=True,
              help="At most this many epochs (early stopping may end sooner).")
@click.option("--patience", type=int, default=_TRAIN.patience, show_default=True,
              help="Stop after this many epochs without a better validation macro-F1.")
@click.option("--batch-size", type=int, default=_TRAIN.batch_size, show_default=True)
@click.option("--lr", type=float, default=_TRAIN.lr, show_default=True, help="Adam learning rate (cosine decay).")
@click.option("--epoch-beats", type=int, default=_TRAIN.epoch_beats,
              help="Beats drawn per epoch [default: all training beats once].")
@click.option("--no-augment", is_flag=True, help="Train on the beats as they are (no scale/offset/stretch/noise).")
@click.option("--no-calibrate", is_flag=True, help="Do not tune per-class logit biases on the validation beats.")
@click.option("--validation", type=click.Choice(VALIDATION), default=None,
              help="Early-stopping split inside the training beats [default: patient when DATA has records and the "
              "protocol is not intra, else beats].")
@click.option("--test-fraction", type=float, default=TEST_FRACTION, show_default=True,
              help="patient: share of patients held out for testing; intra: of beats.")
@click.option("--seed", type=int, default=_TRAIN.seed, show_default=True)
@click.option("--threads", type=int, default=_TRAIN.threads, show_default=True,
              help="Torch intra-op threads (more only on idle cores).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def train_command(data, output, key, classes, protocol, init, freeze, arch, context, template, recall_floor, normal_recall, min_recall, balance,
                  undersample_ratio, folds, epochs, patience, batch_size, lr, epoch_beats, no_augment, no_calibrate,
                  validation, test_fraction, seed, threads, quiet):
    """Train a beat classifier on DATA (.npz from `ecgseg segment`, or a heartbeat CSV).

    \b
      ecgseg train mitdb_ann.npz -o model.pt                     AAMI classes, DS1 -> DS2
      ecgseg train mitbih_train.csv -o m.pt                      a heartbeat CSV (beat-level validation)
      ecgseg train ptb.npz -o mi.pt --labels diagnosis --classes "Healthy control,Myocardial infarction" \\
          --init shipped --freeze 6                              transfer: the last layers learn MI
    """
    classes = split_names(classes)
    check_output("-o", output)
    with library_errors():
        import numpy as np

        from ..beatfile import load_beats
        from ..classify.model import save_checkpoint
        from ..classify.predict import context_inputs
        from ..classify.train import train
        from ..classify.transfer import init_summary
        from ..protocols import beats_digest, patient_of, protocol_split
        from ..tasks import require_labelled, task_labels

        arrays = load_beats(data)
        task = task_labels(arrays, key, classes, name=data, classes_of="named by --classes")
        require_labelled(task, arrays, data)
        if not task.named and classes is None:
            echo_err(f"note: {data} names no classes; its classes 0-{len(task.class_names) - 1} are taken as "
                     f"{', '.join(task.class_names)}; name them with --classes", quiet)
        records = np.asarray(arrays["record"]).astype(str) if "record" in arrays else None
        chosen = protocol is None
        protocol = protocol or default_protocol(records, task.key)
        scored = (list(range(len(INTER_CLASSES))) if protocol == "inter" and task.class_names == CLASS_NAMES
                  else list(range(len(task.class_names))))
        try:
            train_mask, test_mask = protocol_split(records, task.labels, protocol, test_fraction=test_fraction,
                                                   seed=seed, scored=scored, name=data)
        except ValueError as error:
            if not chosen:
                raise
            # the user named no protocol: say which one train chose for this file, and why, before what failed
            why = {"patient": "its records are not MIT-BIH's DS1 and DS2", "inter": "it holds MIT-BIH DS1 and DS2 "
                   "records", "all": "it holds no records"}[protocol]
            raise ValueError(f"--protocol {protocol} is the default for {data} ({why}): {error}") from None
        empty = [c for c, n in zip(task.class_names, np.bincount(task.labels[train_mask], minlength=len(task.class_names)))
                 if n == 0 and (task.key != "labels" or classes is not None)]
        if empty:
            raise ValueError(f"no training beat of class {', '.join(empty)} in {data} ({protocol} protocol); "
                             "choose --classes that the training beats have")
        if validation is None:
            validation = "patient" if records is not None and protocol != "intra" else "beats"
        init, arch, context, template = _network(init, freeze, arch, context, template)
        config = TrainConfig(epochs=epochs, patience=patience, batch_size=batch_size, lr=lr, balance=balance,
                             augment=not no_augment, calibrate=not no_calibrate, epoch_beats=epoch_beats, seed=seed,
                             threads=threads, validation=validation, undersample_ratio=undersample_ratio, folds=folds,
                             recall_floor=recall_floor, normal_recall=normal_recall, min_recall=min_recall, init=init, freeze=freeze or 0,
                             # the inter protocol scores N, S, V, F (its Q is a handful of beats); a task, every class
                             score_classes=INTER_CLASSES if scored == [0, 1, 2, 3] else task.class_names)
        x, rr, model = context_inputs(arrays, context, ModelConfig(arch=arch), data, template=template)
        config.model = ModelConfig(**{**vars(model), "n_classes": len(task.class_names),
                                      "class_names": task.class_names})

        def progress(h):
            mark = " *" if h["best"] else ""
            fold = f"fold {h['fold'] + 1}/{folds} " if "fold" in h else ""
            # no validation beats: the final model of --validation folds, trained on all of them for the chosen epochs
            score = (f"val macro-F1 {h['val_macro_f1']:.4f}" if h["val_macro_f1"] == h["val_macro_f1"]
                     else "final model on all training beats")
            echo_err(f"{fold}epoch {h['epoch']:3d}/{epochs}  loss {h['loss']:.4f}  {score}  {h['seconds']:.1f} s{mark}",
                     quiet)

        echo_err(_plan(data, task, train_mask, test_mask, records, protocol, validation, init, freeze), quiet)
        result = train(x[train_mask], task.labels[train_mask], None if records is None else records[train_mask],
                       config, progress, rr=None if rr is None else rr[train_mask])
        train_records = None if records is None else sorted(set(records[train_mask].tolist()))
        metadata = {**result.metadata, "protocol": protocol, "test_fraction": test_fraction, "data": str(data),
                    "data_sha256": beats_digest(arrays["segments"]),
                    "task": {"labels": task.key, "classes": list(task.class_names), "named": task.named},
                    "train_records": train_records,
                    "train_patients": None if records is None else sorted(set(patient_of(train_records).tolist())),
                    "command": "ecgseg " + " ".join(sys.argv[1:])}
        if init is not None:
            metadata["init"] = init_summary(init, config.freeze, config.model)
        save_checkpoint(output, result.model, metadata=metadata, logit_bias=result.logit_bias)
    bias = " ".join(f"{c} {b:+.2f}" for c, b in zip(task.class_names, result.logit_bias))
    echo_err(f"best epoch {metadata['best_epoch']}: val macro-F1 {metadata['val_macro_f1']:.4f}, "
             f"{metadata['val_macro_f1_calibrated']:.4f} with logit biases ({bias}) -> {output}", quiet)


def _plan(data, task, train_mask, test_mask, records, protocol, validation, init, freeze) -> str:
    """What is trained on what, in one paragraph: the task, the split and its honesty, the starting model."""
    import numpy as np

    from ..protocols import patient_of

    counts = np.bincount(task.labels[train_mask], minlength=len(task.class_names))
    per_class = ", ".join(f"{c} {n}" for c, n in zip(task.class_names, counts))
    lines = [f"training on {int(train_mask.sum())} beats of {data} ({per_class}), classes from {task.key!r}"]
    if records is None:
        lines.append(f"{data} has no record or patient of each beat (a CSV): "
                     + ("training on all its beats" if protocol == "all" else f"{protocol} protocol")
                     + f", validation beats drawn at random (beat-level: optimistic, the same patients on both sides)")
    else:
        n_train = np.unique(patient_of(records[train_mask])).size
        n_test = np.unique(patient_of(records[test_mask & ~train_mask])).size
        held = {"inter": f"DS2 held out ({n_test} patients)", "patient": f"{n_test} patients held out for testing",
                "intra": "a random beat split held out (optimistic: the same patients on both sides)",
                "all": "nothing held out"}[protocol]
        lines.append(f"{protocol} protocol: {n_train} training patients, {held}; validation by {validation}")
    if init is not None:
        lines.append(f"starting from {init}, its first {freeze or 0} layers frozen")
    return "\n".join(lines)
