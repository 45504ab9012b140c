"""The classifier's commands: ``ecgseg train``, ``evaluate`` and ``classify`` (torch is imported inside them only)."""

from __future__ import annotations

import sys

import click

from ..aami import INTER_CLASSES, PROTOCOLS, TEST_FRACTION
from ..classify.config import ARCHS, BALANCE, CLASS_NAMES, CONTEXTS, VALIDATION, ModelConfig, TrainConfig
from ._common import _need_matplotlib, _write_stdout, echo_err, library_errors

_TRAIN = TrainConfig()  # the defaults the options show


def _load_labelled(data: str):
    from ..beatfile import load_beats

    arrays = load_beats(data)
    for key in ("labels", "record"):
        if key not in arrays:
            raise ValueError(
                f"{data} has no {key!r} array; "
                f"write it with `ecgseg segment database mitdb --peaks annotations -o {data}`"
            )
    return arrays


@click.command("train")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The model file (.pt) to write.")
@click.option("--protocol", type=click.Choice(PROTOCOLS), default=PROTOCOLS[0], show_default=True,
              help="inter: train on DS1 only (DS2 stays unseen); intra: the seeded random 80% of all beats.")
@click.option("--arch", type=click.Choice(ARCHS), default=ModelConfig().arch, show_default=True,
              help="Network: Kachuee residual CNN, LSTM-FCN, CNN + BiLSTM, or CNN + MLP head.")
@click.option("--context", type=click.Choice(CONTEXTS), default=CONTEXTS[0], show_default=True,
              help="Features joined before the dense layers: rr, the six R-R features of DATA's rr array; beat, the "
              "rhythm over 60 s and the comparison with the record's template (from r_peaks and segments).")
@click.option("--template", is_flag=True,
              help="Also read each beat's record template (median of its regular neighbours) as a second channel.")
@click.option("--recall-floor", type=float, default=_TRAIN.recall_floor,
              help="The logit biases may not push any class's validation recall below this [default: no floor].")
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
              help="Early-stopping split inside the training beats [default: patient for inter, beats for intra].")
@click.option("--test-fraction", type=float, default=TEST_FRACTION, show_default=True,
              help="intra: share of beats held out for testing.")
@click.option("--seed", type=int, default=_TRAIN.seed, show_default=True)
@click.option("--threads", type=int, default=_TRAIN.threads, show_default=True,
              help="Torch intra-op threads (more only on idle cores).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def train_command(data, output, protocol, arch, context, template, recall_floor, balance, undersample_ratio, folds,
                  epochs, patience, batch_size, lr, epoch_beats, no_augment, no_calibrate, validation, test_fraction,
                  seed, threads, quiet):
    """Train the beat classifier on DATA (.npz from `ecgseg segment database --peaks annotations`)."""
    with library_errors():
        from ..classify.model import save_checkpoint
        from ..classify.predict import context_inputs
        from ..classify.train import train
        from ..evaluate import protocol_split

        arrays = _load_labelled(data)
        train_mask, _ = protocol_split(arrays["record"], arrays["labels"], protocol, test_fraction=test_fraction,
                                       seed=seed)
        config = TrainConfig(epochs=epochs, patience=patience, batch_size=batch_size, lr=lr, balance=balance,
                             augment=not no_augment, calibrate=not no_calibrate, epoch_beats=epoch_beats, seed=seed,
                             threads=threads, validation=validation or ("patient" if protocol == "inter" else "beats"),
                             undersample_ratio=undersample_ratio, folds=folds, recall_floor=recall_floor,
                             # intra: paced beats (Q) are in train and test alike, so they count in the selection too
                             score_classes=INTER_CLASSES if protocol == "inter" else CLASS_NAMES)
        x, rr, config.model = context_inputs(arrays, context, ModelConfig(arch=arch), data, template=template)

        def progress(h):
            mark = " *" if h["best"] else ""
            fold = f"fold {h['fold'] + 1}/{folds} " if "fold" in h else ""
            echo_err(f"{fold}epoch {h['epoch']:3d}/{epochs}  loss {h['loss']:.4f}  "
                     f"val macro-F1 {h['val_macro_f1']:.4f}  {h['seconds']:.1f} s{mark}", quiet)

        echo_err(f"training on {int(train_mask.sum())} beats ({protocol}-patient protocol)", quiet)
        result = train(x[train_mask], arrays["labels"][train_mask], arrays["record"][train_mask],
                       config, progress, rr=None if rr is None else rr[train_mask])
        metadata = {**result.metadata, "protocol": protocol, "test_fraction": test_fraction, "data": str(data),
                    "command": "ecgseg " + " ".join(sys.argv[1:])}
        save_checkpoint(output, result.model, metadata=metadata, logit_bias=result.logit_bias)
    bias = " ".join(f"{c} {b:+.2f}" for c, b in zip(CLASS_NAMES, result.logit_bias))
    echo_err(f"best epoch {metadata['best_epoch']}: val macro-F1 {metadata['val_macro_f1']:.4f}, "
             f"{metadata['val_macro_f1_calibrated']:.4f} with logit biases ({bias}) -> {output}", quiet)


def _note(classifier, quiet: bool) -> None:
    """Say why the waveform-only model classifies beats the context model cannot take."""
    if classifier.reason is not None:
        echo_err(f"note: {classifier.reason}", quiet)


def _save_confusion(confusion, path: str, title: str) -> None:
    from ..plot import confusion_figure, save_figure

    save_figure(confusion_figure(confusion, title=title), path)


@click.command("evaluate")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="Model file [default: the shipped DS1 context model for an .npz with rr, "
              "else the waveform-only one].")
@click.option("--protocol", type=click.Choice(PROTOCOLS), default=PROTOCOLS[0], show_default=True,
              help="inter: score on DS2; intra: on the seeded random 20% of all beats.")
@click.option("--test-fraction", type=float, default=None, help="intra: test share [default: the model's, else 0.2].")
@click.option("--seed", type=int, default=None,
              help="intra: the split seed [default: the model's training seed, else 0].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the table.")
@click.option("--no-calibration", is_flag=True, help="Ignore the model's logit biases (plain argmax).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Also draw the confusion matrix (counts, row-normalised shades) to this image "
              "(.png/.svg/.pdf; needs ecgseg[plot]).")
def evaluate_command(data, model, protocol, test_fraction, seed, as_json, no_calibration, plot_path):
    """Score a model on the test beats of a protocol: per-class Se, +P, F1, confusion, accuracy, macro-F1."""
    import json

    if plot_path is not None:
        _need_matplotlib(plot_path)
    with library_errors():
        from ..classify.predict import load_classifier
        from ..evaluate import class_report, protocol_split

        arrays = _load_labelled(data)
        classifier = load_classifier(arrays, model, name=data)
        _note(classifier, False)
        x, extra = classifier.inputs(arrays, data)  # over every beat: a beat's context depends on its neighbours
        shipped = classifier.path.name
        metadata = classifier.metadata
        # the intra test beats are those the model's own split held out
        seed = metadata.get("train_config", {}).get("seed", 0) if seed is None else seed
        test_fraction = metadata.get("test_fraction", TEST_FRACTION) if test_fraction is None else test_fraction
        _, test = protocol_split(arrays["record"], arrays["labels"], protocol, test_fraction=test_fraction, seed=seed)
        trained = metadata.get("protocol")
        if trained and trained != protocol:
            echo_err(f"note: this model was trained with the {trained} protocol; "
                     f"{protocol} test beats may have been trained on")
        probabilities = classifier.predict_proba(x[test], None if extra is None else extra[test],
                                                 calibrated=not no_calibration, name=f"beats in {data}")
        report = class_report(arrays["labels"][test], probabilities.argmax(axis=1))
        if plot_path is not None:
            _save_confusion(report.confusion, plot_path,
                            f"{protocol}-patient protocol, model {model or 'shipped (DS1)'}\n"
                            f"accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1():.3f}, "
                            f"(N,S,V,F) {report.macro_f1(INTER_CLASSES):.3f}")
    if as_json:
        click.echo(json.dumps(report.to_dict(protocol=protocol, model=str(model or f"shipped {shipped}"))))
    else:
        click.echo(f"{protocol}-patient protocol, model {model or f'shipped {shipped} (DS1)'}")
        click.echo(report.format_table())


def _format_classes(probabilities, fmt: str) -> bytes:
    import json

    import numpy as np

    names = np.array(CLASS_NAMES)[probabilities.argmax(axis=1)]
    best = probabilities.max(axis=1)
    index = np.arange(len(names))
    if fmt == "json":
        return (json.dumps([{"beat": int(i), "class": str(c), "probability": round(float(p), 4)}
                            for i, c, p in zip(index, names, best)]) + "\n").encode()
    sep = "\t" if fmt == "table" else ","
    lines = np.char.add(np.char.add(np.char.add(index.astype(str), sep), np.char.add(names, sep)),
                        np.char.mod("%.4f", best))
    return (f"beat{sep}class{sep}probability\n" + "\n".join(lines.tolist()) + "\n").encode()


@click.command("classify")
@click.argument("beats")
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="Model file [default: the shipped DS1 context model for an .npz with rr, "
              "else the waveform-only one].")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "npy"]), default="table", show_default=True,
              help="table: tab-separated beat, class, probability; npy: the (n, 5) float32 probabilities.")
@click.option("--batch-size", type=int, default=1024, show_default=True,
              help="Beats per forward pass (1024: activations stay in L3 cache).")
@click.option("--threads", type=int, default=None, help="Torch intra-op threads [default: torch's, one per core].")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def classify_command(beats, model, fmt, batch_size, threads, quiet):
    """Classify BEATS (.npy or .npz from `ecgseg segment`, or - for stdin) into N, S, V, F, Q.

    Writes one row per beat to stdout and a per-class count to stderr:
    `ecgseg segment record 100 | ecgseg classify -`.
    """
    if fmt == "npy" and sys.stdout.isatty():
        raise click.ClickException("refusing to write binary .npy to a terminal; redirect it (> probabilities.npy)")
    with library_errors():
        import numpy as np

        from ..beatfile import load_beats, save_npy_bytes
        from ..classify.predict import classify_beats

        # bytes, not the stream: a pipe has .seek but cannot seek, and np.load needs to
        source = sys.stdin.buffer.read() if beats == "-" else beats
        arrays = load_beats(source)
        name = "<stdin>" if beats == "-" else beats
        probabilities, classifier = classify_beats(arrays, model, name=name, batch_size=batch_size, threads=threads)
        _note(classifier, quiet)
        _write_stdout(save_npy_bytes(probabilities) if fmt == "npy" else _format_classes(probabilities, fmt))
    counts = np.bincount(probabilities.argmax(axis=1), minlength=len(CLASS_NAMES))
    total = max(len(probabilities), 1)
    echo_err(f"{name}: {len(probabilities)} beats: "
             + ", ".join(f"{c} {n} ({100 * n / total:.1f}%)" for c, n in zip(CLASS_NAMES, counts)), quiet)
