"""``ecgseg evaluate``: score a model on any labelled beat file, per record and in total, by a protocol."""

from __future__ import annotations

import click

from ..aami import PROTOCOLS
from ._common import PROGRESS_BEATS, _need_matplotlib, echo_err, library_errors, progress_bar

#: What each protocol scores, as the report's first line says it.
SCORED = {
    "inter": "inter-patient protocol: MIT-BIH DS2 records",
    "patient": "patient-wise: patients the model did not train on",
    "intra": "intra-patient protocol: a random beat split (optimistic: the same patients on both sides)",
    "all": "every labelled beat",
}


def default_protocol(metadata: dict, records) -> str:
    """The protocol the model was trained by; a model trained on DS1 scores a file without DS2 records patient-wise."""
    import numpy as np

    from ..protocols import DS2

    protocol = metadata.get("protocol", "inter")
    if protocol == "inter" and (records is None or not np.isin(records, DS2).any()):
        return "patient" if records is not None else "all"
    return protocol


@click.command("evaluate")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="Model file, or a shipped model's name [default: the best shipped model for DATA: the context "
              "model for an .npz cut at a detector's or the annotations' R-peaks, else the waveform-only one; the "
              "choice is said on stderr].")
@click.option("--protocol", type=click.Choice(PROTOCOLS), default=None,
              help="Which beats are scored: inter, DS2; patient, patients the model did not train on; intra, the "
              "model's random 20% of beats (optimistic); all, every labelled beat [default: the protocol the model "
              "was trained by; patient for a model trained on DS1 and a file without DS2 records].")
@click.option("--labels", "key", default=None, metavar="KEY",
              help="The key that holds the true classes [default: the one the model was trained on, else labels, "
              "else a CSV's class column].")
@click.option("--test-fraction", type=float, default=None, help="intra: test share [default: the model's, else 0.2].")
@click.option("--seed", type=int, default=None,
              help="intra: the split seed [default: the model's training seed, else 0].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the tables.")
@click.option("--no-calibration", is_flag=True, help="Ignore the model's logit biases (plain argmax).")
@click.option("--plot", "plot_path", type=click.Path(), default=None,
              help="Also draw the confusion matrix (counts, row-normalised shades) to this image "
              "(.png/.svg/.pdf; needs ecgseg[plot]).")
def evaluate_command(data, model, protocol, key, test_fraction, seed, as_json, no_calibration, plot_path):
    """Score a model on the labelled beats of DATA (.npz, .npy with no labels is refused, or a heartbeat CSV).

    Per-class Se, +P, F1, the confusion matrix, accuracy and macro-F1 in total, and per record; for a two-class
    task also Sp and AUC. A CSV's classes are indices into the model's classes.
    """
    import json

    if plot_path is not None:
        _need_matplotlib(plot_path, "--plot")
    with library_errors():
        import numpy as np

        from ..beatfile import load_beats
        from ..classify.predict import load_classifier
        from ..evaluate import class_report, format_records, record_reports
        from ..protocols import beats_digest, scored_beats
        from ..tasks import require_labelled, task_labels

        arrays = load_beats(data)
        classifier = load_classifier(arrays, model, name=data)
        metadata = classifier.metadata
        names = classifier.class_names
        trained_key = metadata.get("task", {}).get("labels")
        key = key or (trained_key if trained_key in arrays else None)
        task = task_labels(arrays, key, names, name=data, classes_of=f"of model {classifier.path.name}")
        require_labelled(task, arrays, data)
        records = np.asarray(arrays["record"]).astype(str) if "record" in arrays else None
        protocol = protocol or default_protocol(metadata, records)
        test, notes = scored_beats(records, task.labels, protocol, metadata, test_fraction=test_fraction, seed=seed,
                                   digest=beats_digest(arrays["segments"]), name=data)
        if task.left_out:
            notes.append(f"beats of classes the model does not have are not scored{_left_out(task)}")
        unlabelled = int(np.count_nonzero(task.labels < 0)) - sum(task.left_out.values())
        if unlabelled:  # what the scores cannot see: a cut off every beat (+P) shows only here
            notes.append(f"{unlabelled} of the {task.labels.size} beats in {data} are unlabelled (cut at no reference "
                         "beat, or of no class) and left out of the scores")
        x, extra = classifier.inputs(arrays, data)  # over every beat: a beat's context depends on its neighbours
        scored = x[test]
        with progress_bar(len(scored), "classifying", at_least=PROGRESS_BEATS) as progress:
            probabilities = classifier.predict_proba(scored, None if extra is None else extra[test],
                                                     calibrated=not no_calibration, name=f"beats in {data}",
                                                     progress=progress)
        for note in ([classifier.reason] if classifier.reason else []) + notes:
            echo_err(f"note: {note}")
        true, predicted = task.labels[test], probabilities.argmax(axis=1)
        report = class_report(true, predicted, class_names=names, probabilities=probabilities)
        rows = [] if records is None else record_reports(records[test], true, predicted, names, probabilities)
        model_name = model or f"shipped {classifier.path.name} (DS1)"
        if plot_path is not None:
            _save_confusion(report, plot_path, f"{protocol} protocol, model {model_name}")
    if as_json:
        click.echo(json.dumps(report.to_dict(protocol=protocol, scored=SCORED[protocol], model=str(model_name),
                                             labels=task.key, notes=notes,
                                             records={name: r.to_dict() for name, r in rows})))
        return
    click.echo(f"{SCORED[protocol]}; model {model_name}; {len(true)} beats"
               + (f" of {len(rows)} record{'s' if len(rows) != 1 else ''}" if rows else ""))
    if len(rows) > 1:
        click.echo(format_records(rows))
        click.echo("total:")
    click.echo(report.format_table())


def _left_out(task) -> str:
    if not task.left_out:
        return ""
    return " (" + ", ".join(f"{n} {name}" for name, n in sorted(task.left_out.items(), key=lambda kv: -kv[1])[:6]) + ")"


def _save_confusion(report, path: str, title: str) -> None:
    from ..aami import INTER_CLASSES
    from ..plot import confusion_figure, save_figure

    nsvf = f", (N,S,V,F) {report.macro_f1(INTER_CLASSES):.3f}" if report.is_aami else ""
    save_figure(confusion_figure(report.confusion, report.class_names,
                                 title=f"{title}\naccuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1():.3f}{nsvf}"),
                path)
