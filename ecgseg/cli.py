"""The ``ecgseg`` command line: parse, call the library, format.

stdout carries data only; summaries and progress go to stderr. Library errors
(ValueError, FileNotFoundError) become one ``Error: ...`` line and exit 1.
Heavy modules are imported inside commands so ``ecgseg --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import sys

import click

from . import __version__

CLASS_NAMES = ("N", "S", "V", "F", "Q")  # ecgseg.labels.AAMI_CLASSES, without importing numpy for --help


@contextlib.contextmanager
def library_errors():
    """Turn the library's errors into one-line click errors at the edge."""
    try:
        yield
    except (ValueError, FileNotFoundError, OSError) as error:
        raise click.ClickException(str(error)) from None


def echo_err(message: str, quiet: bool = False) -> None:
    if not quiet:
        click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecgseg")
def cli():
    """ECG records to labelled fixed-length heartbeats, and their AAMI classes.

    \b
      ecgseg fetch mitdb                       download the MIT-BIH Arrhythmia Database
      ecgseg segment record 100 > beats.npy    one record -> (n_beats, 187) float32 .npy
      ecgseg classify beats.npy                per-beat class and probability
    """


def _apply(options, function):
    for option in reversed(options):
        function = option(function)
    return function


def data_options(function):
    """--db, --data-dir and --channel, shared by commands that read records."""
    return _apply(
        [
            click.option("--db", default="mitdb", show_default=True, help="Database folder inside the data folder."),
            click.option(
                "--data-dir",
                type=click.Path(file_okay=False),
                envvar="ECGSEG_DATA",
                help="Data folder holding one subfolder per database [default: $ECGSEG_DATA, else the per-user cache].",
            ),
            click.option("--channel", default=None, help="Lead name or index [default: MLII if present, else 0]."),
        ],
        function,
    )


def scheme_options(function):
    """The segmentation scheme's constants, with the paper's values as defaults."""
    options = [
        click.option(
            "--peaks",
            default="rule",
            show_default=True,
            help="Where beats are cut: rule (the paper's 0.9 threshold), annotations (reference beats), or hamilton (a Pan-Tompkins/Hamilton detector that finds nearly every beat).",
        ),
        click.option("--fs-out", type=float, default=125.0, show_default=True, help="Rate beats are sampled at (Hz)."),
        click.option("--window-s", type=float, default=10.0, show_default=True, help="Window length (s)."),
        click.option("--threshold", type=float, default=0.9, show_default=True, help="R-peak threshold on the normalized window."),
        click.option("--period-factor", type=float, default=1.2, show_default=True, help="Segment length in heartbeat periods T."),
        click.option("--length", type=int, default=187, show_default=True, help="Samples per beat after padding."),
        click.option("--refractory-s", type=float, default=None, help="Guard, off by default: keep the highest of rule peaks closer than this (s)."),
        click.option(
            "--period",
            type=click.Choice(["rule", "peaks"]),
            default="rule",
            show_default=True,
            help="Take T from the rule's peaks per window, or from the cut positions.",
        ),
        click.option("--tolerance-s", type=float, default=0.15, show_default=True, help="Label a beat from the reference beat within this (s)."),
        click.option("--pre-r-s", type=float, default=0.0, show_default=True, help="Start segments this long before the R-peak (0: the paper's scheme; 0.25 shows the P wave)."),
    ]
    return _apply(options, function)


def _scheme_params(kwargs: dict) -> dict:
    keys = ("fs_out", "window_s", "threshold", "period_factor", "length", "refractory_s", "period", "tolerance_s", "pre_r_s")
    return {key: kwargs.pop(key) for key in keys}


def _summary(name: str, labels, n_missed, n_short: int) -> str:
    import numpy as np

    counts = np.bincount(labels.astype(np.int64) + 1, minlength=len(CLASS_NAMES) + 1)
    per_class = ", ".join(f"{c} {n}" for c, n in zip(CLASS_NAMES, counts[1:]))
    missed = "no annotations" if n_missed is None else f"{n_missed} annotated beats missed"
    return f"{name}: {labels.size} beats ({per_class}, unlabelled {counts[0]}); {missed}; {n_short} beats with T < 0.2 s"


def _write_stdout(data: bytes) -> None:
    stream = sys.stdout.buffer  # not click.get_binary_stream: deprecated in click 8.5
    stream.write(data)
    stream.flush()


def _refuse_terminal(output) -> None:
    if output is None and sys.stdout.isatty():
        raise click.ClickException("refusing to write binary .npy to a terminal; redirect it (> beats.npy) or pass -o FILE")


@cli.group()
def segment():
    """Cut records into labelled fixed-length beats (Kachuee et al. 2018)."""


@segment.command("record")
@click.argument("record")
@data_options
@scheme_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write .npy (segments) or .npz (all keys) here instead of stdout.")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False), help="Also write the labels (int8 .npy) here.")
@click.option("--chunk-s", type=float, default=None, help="Read the record in chunks of about this many seconds: bounded memory, the same beats.")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
@click.option("--fetch", "fetch_first", is_flag=True, help="First fetch the record from PhysioNet if it is missing or fails its checksum (as `ecgseg fetch DB --records RECORD`).")
def segment_record_command(record, db, data_dir, channel, peaks, output, labels_path, chunk_s, quiet, fetch_first, **kwargs):
    """Segment one RECORD (a name such as 100, or a path) into beats.

    Writes a (n_beats, 187) float32 .npy to stdout, or to -o FILE (.npy, or .npz
    with segments, labels, r_peaks, record, fs). Labels: AAMI class index
    0-4 (N S V F Q) of the reference beat within 150 ms, -1 for none.
    """
    _refuse_terminal(output)
    params = _scheme_params(kwargs)
    with library_errors():
        from .beatfile import save_beats, save_npy_bytes, write_atomic
        from .database import beats_to_arrays, read_and_segment, record_path_name

        if fetch_first:
            if "/" in record or record.endswith(".hea"):
                raise click.ClickException(f"--fetch takes a record name such as 100, not a path ({record})")
            _run_fetch(db, [record], data_dir, None, 3, quiet)
        beats = read_and_segment(record, db, data_dir=data_dir, channel=channel, peaks=peaks, chunk_s=chunk_s, **params)
        name = record_path_name(record)
        arrays = beats_to_arrays(beats, name)
        if output is None:
            _write_stdout(save_npy_bytes(arrays["segments"]))
        else:
            save_beats(output, arrays)
        if labels_path is not None:
            write_atomic(labels_path, save_npy_bytes(arrays["labels"]))
    echo_err(_summary(name, arrays["labels"], beats.n_missed, beats.n_short), quiet)


@segment.command("database")
@click.argument("database", default="mitdb")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="One .npz with every record's beats (keys as for `segment record`).")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Or: one DIR/<record>.npz per record plus DIR/index.tsv; a rerun skips finished records.")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="ECGSEG_DATA", help="Data folder [default: $ECGSEG_DATA, else the per-user cache].")
@click.option("--channel", default=None, help="Lead name or index [default: MLII if present, else 0].")
@click.option("--records", "only", default=None, help="Comma-separated subset of records [default: all in RECORDS].")
@click.option("-j", "--jobs", type=int, default=None, help="Worker processes [default: all cores].")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Run on a local Dask cluster of N worker processes (needs ecgseg[dask]).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT", help="Run on this Dask scheduler; its workers need ecgseg and the data folder.")
@click.option("--chunk-s", type=float, default=None, help="Read records in chunks of about this many seconds: bounded memory, the same beats.")
@click.option("--no-resume", is_flag=True, help="With --output-dir: redo records an earlier run finished.")
@scheme_options
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
def segment_database_command(database, output, output_dir, data_dir, channel, only, jobs, workers, scheduler, chunk_s, no_resume, peaks, quiet, **kwargs):
    """Segment every record of DATABASE (default mitdb) into one .npz (-o) or a folder (--output-dir).

    Records run in parallel processes, or as tasks on Dask with --workers or
    --scheduler. A record that fails is reported and the others are still
    written; the exit status is then 1.
    """
    params = _scheme_params(kwargs)
    if (output is None) == (output_dir is None):
        raise click.ClickException("give exactly one of -o FILE.npz (all beats in one file) or --output-dir DIR (one file per record)")
    if output is not None and not output.endswith(".npz"):
        raise click.ClickException(f"{output}: a database is written as .npz (segments with labels and records)")
    with library_errors():
        from .records import list_records

        names = only.split(",") if only else list_records(database, data_dir)
        where = dict(data_dir=data_dir, channel=channel, peaks=peaks, jobs=jobs, scheduler=scheduler, workers=workers, chunk_s=chunk_s)
        with click.progressbar(length=len(names), label=f"segmenting {database}", file=sys.stderr) if not quiet else contextlib.nullcontext() as bar:
            progress = (lambda name: bar.update(1)) if bar is not None else None
            if output_dir is not None:
                from .batch import segment_to_folder

                run = segment_to_folder(names, output_dir, database, resume=not no_resume, progress=progress, **where, **params)
            else:
                from .beatfile import save_beats
                from .database import segment_records

                arrays, failures, totals = segment_records(names, database, progress=progress, **where, **params)
                if arrays is not None:
                    save_beats(output, arrays)
    if output_dir is not None:
        _report_folder_run(database, output_dir, run, quiet)
        return
    for failure in failures:
        click.echo(f"Error: record {failure.record}: {failure.reason}", err=True)
    if arrays is None:
        raise click.ClickException(f"no record of {database} could be segmented; nothing written")
    n_records = len(names) - len(failures)
    echo_err(_summary(f"{database} ({n_records} records) -> {output}", arrays["labels"], totals["n_missed"], totals["n_short"]), quiet)
    if failures:
        sys.exit(1)


def _report_folder_run(database, output_dir, run, quiet):
    for failure in run.failures:
        click.echo(f"Error: record {failure.record}: {failure.reason}", err=True)
    n_beats = sum(row["n_beats"] for row in run.written)
    skipped = f", {len(run.skipped)} skipped (finished earlier)" if run.skipped else ""
    echo_err(
        f"{database}: {len(run.written)} records ({n_beats} beats) written to {output_dir}{skipped}, "
        f"{len(run.failures)} failed; index: {output_dir}/index.tsv",
        quiet,
    )
    if run.failures:
        sys.exit(1)


# --- ecgseg fetch ------------------------------------------------------------------------------------------------


class _FetchBar:
    """A progress callback for ecgseg.fetch: files, bytes, rate and ETA on stderr (a click progress bar)."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.start = None

    def __call__(self, progress) -> None:
        import time

        if self.bar is None:
            self.start = time.perf_counter()
            self.bar = click.progressbar(
                length=max(progress.files_total, 1), label=self.label, file=sys.stderr, show_pos=True, show_eta=False, width=24,
                item_show_func=lambda text: text,
            )
            self.bar.__enter__()
        self.bar.length = max(progress.files_total, 1)  # grows as headers name their signal files
        self.bar.finished = self.bar.pos >= self.bar.length
        text = progress.file
        if progress.bytes_downloaded:  # nothing to say about bytes while only checking files on disk
            rate = progress.bytes_downloaded / max(time.perf_counter() - self.start, 1e-9)
            text = f"{progress.bytes_downloaded / 1e6:.1f} MB at {rate / 1e6:.1f} MB/s  {text}"
            if progress.bytes_remaining is not None:  # by bytes: files differ too much in size for click's ETA
                eta = int(progress.bytes_remaining / rate)
                text = f"ETA {eta // 60}:{eta % 60:02d}  {text}"
        self.bar.update(progress.files_done - self.bar.pos, text)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _run_fetch(db: str, records, data_dir, base_url, retries: int, quiet: bool):
    from .fetch import fetch

    bar = None if quiet else _FetchBar(f"fetching {db}")
    try:
        result = fetch(db, records, data_dir=data_dir, base_url=base_url, progress=bar, retries=retries)
    finally:
        if bar is not None:
            bar.close()
    echo_err(result.summary(), quiet)
    return result


@cli.command("fetch")
@click.argument("database", default="mitdb")
@click.option("--records", "only", default=None, help="Comma-separated records to fetch [default: all in RECORDS].")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="ECGSEG_DATA", help="Data folder; files go to DATA/DATABASE/ [default: $ECGSEG_DATA, else the per-user cache].")
@click.option("--base-url", envvar="ECGSEG_PHYSIONET_URL", help="Server root; a database is read from BASE/DATABASE/VERSION/ [default: $ECGSEG_PHYSIONET_URL, else https://physionet.org/files/].")
@click.option("--retries", type=click.IntRange(0, 10), default=3, show_default=True, help="Extra attempts after a network error (waits 1 s, 2 s, ...).")
@click.option("--list", "show_list", is_flag=True, help="List the known databases and what is on disk, and exit.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
def fetch_command(database, only, data_dir, base_url, retries, show_list, quiet):
    """Download a PhysioNet DATABASE (default mitdb), verified, into the data folder.

    DATABASE is a known slug (see --list) or SLUG/VERSION for any other PhysioNet
    database. Each file is checked against the server's SHA256SUMS.txt and renamed
    into place only when complete; a second run downloads nothing, an interrupted
    one resumes. Offline, files already on disk are checked against the local copy
    of SHA256SUMS.txt.
    """
    with library_errors():
        if show_list:
            from .fetch import list_databases

            for status in list_databases(data_dir):
                on_disk = "not on disk" if status.records_total is None else f"{status.records_on_disk}/{status.records_total} records on disk"
                click.echo(f"{status.name:<10} {status.version or '?':<7} {on_disk:<24} {status.title}")
            return
        records = [name.strip() for name in only.split(",") if name.strip()] if only else None
        _run_fetch(database, records, data_dir, base_url, retries, quiet)


# --- the classifier: train, evaluate, classify (torch is imported inside the commands only) ---


def _load_labelled(data: str):
    from .beatfile import load_beats

    arrays = load_beats(data)
    for key in ("labels", "record"):
        if key not in arrays:
            raise ValueError(f"{data} has no {key!r} array; write it with `ecgseg segment database mitdb --peaks annotations -o {data}`")
    return arrays


@cli.command("train")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The model file (.pt) to write.")
@click.option("--protocol", type=click.Choice(["inter", "intra"]), default="inter", show_default=True,
              help="inter: train on DS1 only (DS2 stays unseen); intra: the seeded random 80% of all beats.")
@click.option("--arch", type=click.Choice(["kachuee", "lstm-fcn", "cnn-bilstm", "cnn-mlp"]), default="kachuee", show_default=True,
              help="Network: Kachuee residual CNN, LSTM-FCN, CNN + BiLSTM, or CNN + MLP head.")
@click.option("--context", type=click.Choice(["none", "rr"]), default="none", show_default=True,
              help="rr: also feed the R-R features (the rr array of DATA) before the dense layers.")
@click.option("--balance", type=click.Choice(["weighted", "sampler", "sqrt-sampler", "undersample", "none"]), default="weighted",
              show_default=True, help="Class imbalance: weighted loss, class-balanced batches, weighted random sampling "
              "(~1/sqrt(class share)), N undersampled each epoch, or none.")
@click.option("--undersample-ratio", type=float, default=2.0, show_default=True, help="undersample: N beats per other beat.")
@click.option("--folds", type=click.IntRange(min=2), default=4, show_default=True,
              help="--validation folds: patient-wise folds; epochs and logit biases chosen on out-of-fold predictions.")
@click.option("--epochs", type=int, default=20, show_default=True, help="At most this many epochs (early stopping may end sooner).")
@click.option("--patience", type=int, default=5, show_default=True, help="Stop after this many epochs without a better validation macro-F1.")
@click.option("--batch-size", type=int, default=128, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Adam learning rate (cosine decay).")
@click.option("--epoch-beats", type=int, default=None, help="Beats drawn per epoch [default: all training beats once].")
@click.option("--no-augment", is_flag=True, help="Train on the beats as they are (no scale/offset/stretch/noise).")
@click.option("--no-calibrate", is_flag=True, help="Do not tune per-class logit biases on the validation beats.")
@click.option("--validation", type=click.Choice(["patient", "folds", "beats"]), default=None,
              help="Early-stopping split inside the training beats [default: patient for inter, beats for intra].")
@click.option("--test-fraction", type=float, default=0.2, show_default=True, help="intra: share of beats held out for testing.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=int, default=1, show_default=True, help="Torch intra-op threads (more only on idle cores).")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def train_command(data, output, protocol, arch, context, balance, undersample_ratio, folds, epochs, patience, batch_size,
                  lr, epoch_beats, no_augment, no_calibrate, validation, test_fraction, seed, threads, quiet):
    """Train the beat classifier on DATA (.npz from `ecgseg segment database --peaks annotations`)."""
    with library_errors():
        from .classify import ModelConfig, TrainConfig, save_checkpoint, train
        from .classify.routing import context_inputs
        from .evaluate import protocol_split

        arrays = _load_labelled(data)
        train_mask, _ = protocol_split(arrays["record"], arrays["labels"], protocol, test_fraction=test_fraction, seed=seed)
        config = TrainConfig(epochs=epochs, patience=patience, batch_size=batch_size, lr=lr, balance=balance,
                             augment=not no_augment, calibrate=not no_calibrate, epoch_beats=epoch_beats, seed=seed,
                             threads=threads, validation=validation or ("patient" if protocol == "inter" else "beats"),
                             undersample_ratio=undersample_ratio, folds=folds)
        rr, config.model = context_inputs(arrays, context, ModelConfig(arch=arch), data)

        def progress(h):
            mark = " *" if h["best"] else ""
            fold = f"fold {h['fold'] + 1}/{folds} " if "fold" in h else ""
            echo_err(f"{fold}epoch {h['epoch']:3d}/{epochs}  loss {h['loss']:.4f}  val macro-F1 {h['val_macro_f1']:.4f}  {h['seconds']:.1f} s{mark}", quiet)

        echo_err(f"training on {int(train_mask.sum())} beats ({protocol}-patient protocol)", quiet)
        result = train(arrays["segments"][train_mask], arrays["labels"][train_mask], arrays["record"][train_mask], config,
                       progress, rr=None if rr is None else rr[train_mask])
        metadata = {**result.metadata, "protocol": protocol, "test_fraction": test_fraction, "data": str(data),
                    "command": "ecgseg " + " ".join(sys.argv[1:])}
        save_checkpoint(output, result.model, metadata=metadata, logit_bias=result.logit_bias)
    bias = " ".join(f"{c} {b:+.2f}" for c, b in zip(CLASS_NAMES, result.logit_bias))
    echo_err(f"best epoch {metadata['best_epoch']}: val macro-F1 {metadata['val_macro_f1']:.4f}, "
             f"{metadata['val_macro_f1_calibrated']:.4f} with logit biases ({bias}) -> {output}", quiet)


@cli.command("evaluate")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--model", type=click.Path(dir_okay=False), default=None, help="Model file [default: the shipped DS1 context model for an .npz with rr, else the waveform-only one].")
@click.option("--protocol", type=click.Choice(["inter", "intra"]), default="inter", show_default=True,
              help="inter: score on DS2; intra: on the seeded random 20% of all beats.")
@click.option("--test-fraction", type=float, default=None, help="intra: test share [default: the model's, else 0.2].")
@click.option("--seed", type=int, default=None, help="intra: the split seed [default: the model's training seed, else 0].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of the table.")
@click.option("--no-calibration", is_flag=True, help="Ignore the model's logit biases (plain argmax).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Also draw the confusion matrix (counts, row-normalised shades) to this image (.png/.svg/.pdf; needs ecgseg[plot]).")
def evaluate_command(data, model, protocol, test_fraction, seed, as_json, no_calibration, plot_path):
    """Score a model on the test beats of a protocol: per-class Se, +P, F1, confusion, accuracy, macro-F1."""
    import json

    if plot_path is not None:
        _need_matplotlib(plot_path)
    with library_errors():
        from .classify.routing import choose_model, predict_beats
        from .evaluate import class_report, protocol_split

        arrays = _load_labelled(data)
        net, checkpoint, rr, note = choose_model(arrays, model, data)
        echo_err(note, note is None)
        shipped = "context_ds1.pt" if rr is not None else "kachuee_ds1.pt"
        metadata = checkpoint.get("metadata", {})
        # the intra test beats are those the model's own split held out
        seed = metadata.get("train_config", {}).get("seed", 0) if seed is None else seed
        test_fraction = metadata.get("test_fraction", 0.2) if test_fraction is None else test_fraction
        _, test = protocol_split(arrays["record"], arrays["labels"], protocol, test_fraction=test_fraction, seed=seed)
        trained = metadata.get("protocol")
        if trained and trained != protocol:
            echo_err(f"note: this model was trained with the {trained} protocol; {protocol} test beats may have been trained on")
        if no_calibration:
            checkpoint = {**checkpoint, "logit_bias": None}
        probabilities = predict_beats(net, checkpoint, arrays["segments"][test], None if rr is None else rr[test], name=data)
        report = class_report(arrays["labels"][test], probabilities.argmax(axis=1))
        if plot_path is not None:
            _save_confusion(report.confusion, plot_path, f"{protocol}-patient protocol, model {model or 'shipped (DS1)'}\n"
                            f"accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1():.3f}, (N,S,V,F) {report.macro_f1(CLASS_NAMES[:4]):.3f}")
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
    lines = np.char.add(np.char.add(np.char.add(index.astype(str), sep), np.char.add(names, sep)), np.char.mod("%.4f", best))
    return (f"beat{sep}class{sep}probability\n" + "\n".join(lines.tolist()) + "\n").encode()


@cli.command("classify")
@click.argument("beats")
@click.option("--model", type=click.Path(dir_okay=False), default=None, help="Model file [default: the shipped DS1 context model for an .npz with rr, else the waveform-only one].")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "npy"]), default="table", show_default=True,
              help="table: tab-separated beat, class, probability; npy: the (n, 5) float32 probabilities.")
@click.option("--batch-size", type=int, default=1024, show_default=True, help="Beats per forward pass (1024: activations stay in L3 cache).")
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

        from .beatfile import load_beats, save_npy_bytes
        from .classify.routing import choose_model, predict_beats

        # bytes, not the stream: a pipe has .seek but cannot seek, and np.load needs to
        source = sys.stdin.buffer.read() if beats == "-" else beats
        arrays = load_beats(source)
        name = "<stdin>" if beats == "-" else beats
        net, checkpoint, rr, note = choose_model(arrays, model, name)  # the context model when the file has rr
        echo_err(note, quiet or note is None)
        probabilities = predict_beats(net, checkpoint, arrays["segments"], rr, batch_size=batch_size, threads=threads, name=name)
        _write_stdout(save_npy_bytes(probabilities) if fmt == "npy" else _format_classes(probabilities, fmt))
    counts = np.bincount(probabilities.argmax(axis=1), minlength=len(CLASS_NAMES))
    total = max(len(probabilities), 1)
    echo_err(f"{name}: {len(probabilities)} beats: " + ", ".join(f"{c} {n} ({100 * n / total:.1f}%)" for c, n in zip(CLASS_NAMES, counts)), quiet)


# --- plots and the HTML report (matplotlib, and torch for --predict, imported inside the commands only) ---


def _need_matplotlib(output: str | None = None) -> None:
    """Fail before any work when matplotlib is missing (saying how to install it) or ``output``'s folder does not exist."""
    import os

    from .plot import MissingMatplotlib, require_matplotlib

    try:
        require_matplotlib()
    except MissingMatplotlib as error:
        raise click.ClickException(str(error)) from None
    folder = os.path.dirname(output or "") or "."
    if not os.path.isdir(folder):
        raise click.ClickException(f"cannot write {output}: the folder {folder} does not exist; create it first")


def _read_beats(record, db, data_dir, channel, peaks, params):
    """The record, and its beats cut and labelled as `ecgseg segment record` cuts them."""
    from .database import segment_record
    from .records import read_record

    rec = read_record(record, db, data_dir=data_dir, channel=channel)
    return rec, segment_record(rec, peaks=peaks, **params)


model_option = click.option("--model", type=click.Path(dir_okay=False), default=None, help="Model file [default: the shipped DS1 weights].")


def image_options(function):
    """-o, --dpi and -q, shared by the plot commands."""
    return _apply(
        [
            click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="Image file to write (.png, .svg or .pdf)."),
            click.option("--dpi", type=click.IntRange(20, 600), default=100, show_default=True, help="Pixels per inch of a PNG."),
            click.option("-q", "--quiet", is_flag=True, help="No summary on stderr."),
        ],
        function,
    )


@cli.group()
def plot():
    """Figures of records, beats and classifier results (needs matplotlib: pip install 'ecgseg[plot]')."""


@plot.command("record")
@click.argument("record")
@data_options
@scheme_options
@click.option("--start", "start_s", type=float, default=0.0, show_default=True, help="Strip start (s from the record's start).")
@click.option("--seconds", type=float, default=10.0, show_default=True, help="Strip length (s).")
@click.option("--predict", is_flag=True, help="Colour beats by the classifier's class (rings where it differs from the reference label).")
@model_option
@image_options
def plot_record_command(record, db, data_dir, channel, peaks, start_s, seconds, predict, model, output, dpi, quiet, **kwargs):
    """Draw a strip of RECORD: the ECG in its units, the 10 s windows' edges, each cut beat's R-peak coloured by class, missed annotated beats.

    Classes are the reference labels (from the record's .atr annotations), or
    the classifier's with --predict. Beats are cut over the whole record with
    the scheme options, exactly as `ecgseg segment record` cuts them.
    """
    params = _scheme_params(kwargs)
    _need_matplotlib(output)
    with library_errors():
        from .database import beats_to_arrays
        from .plot import figure_format, record_strip, save_figure
        from .report import predict_probabilities

        figure_format(output)
        rec, beats = _read_beats(record, db, data_dir, channel, peaks, params)
        predicted = predict_probabilities(beats_to_arrays(beats, rec.name), model)[0].argmax(axis=1) if predict else None
        figure = record_strip(rec, beats, start_s=start_s, seconds=seconds, window_s=params["window_s"], predicted=predicted,
                              tolerance_s=params["tolerance_s"], dpi=dpi)
        save_figure(figure, output)
    echo_err(f"{output}: {figure.axes[0].get_title(loc='left')}", quiet)


@plot.command("beats")
@click.argument("beats", type=click.Path(dir_okay=False))
@click.option("--predict", is_flag=True, help="Group beats by the classifier's class instead of their labels.")
@model_option
@click.option("--max-per-class", type=click.IntRange(min=1), default=200, show_default=True, help="Beats drawn per class (a seeded sample).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@click.option("--fs-out", type=float, default=125.0, show_default=True, help="Rate the beats were cut at (Hz), for the time axis.")
@image_options
def plot_beats_command(beats, predict, model, max_per_class, seed, fs_out, output, dpi, quiet):
    """Overlay the beats of each class in BEATS (.npz or .npy from `ecgseg segment`), with the class mean and counts."""
    _need_matplotlib(output)
    with library_errors():
        import numpy as np

        from .beatfile import load_beats
        from .plot import beats_figure, figure_format, save_figure
        from .report import predict_probabilities

        figure_format(output)
        arrays = load_beats(beats)
        labels = arrays.get("labels")
        if predict:
            labels = predict_probabilities(arrays, model)[0].argmax(axis=1)
        elif labels is None:
            echo_err(f"{beats} holds no labels: every beat is drawn as unlabelled (pass --predict to group them by the classifier's class)", quiet)
        pre_r_s = float(np.ravel(arrays.get("pre_r_s", 0.0))[0])
        figure = beats_figure(arrays["segments"], labels, fs=fs_out, pre_r_s=pre_r_s, max_per_class=max_per_class, seed=seed,
                              class_source="predicted" if predict else "reference", dpi=dpi)
        save_figure(figure, output)
    echo_err(f"{output}: {len(arrays['segments'])} beats; " + "; ".join(ax.get_title() for ax in figure.axes if ax.get_title()), quiet)


def _save_confusion(confusion, path: str, title: str) -> None:
    from .plot import confusion_figure, save_figure

    save_figure(confusion_figure(confusion, title=title), path)


@cli.group()
def report():
    """Self-contained HTML reports (needs matplotlib: pip install 'ecgseg[plot]')."""


@report.command("record")
@click.argument("record")
@data_options
@scheme_options
@click.option("--start", "start_s", type=float, default=None, help="Strip start (s) [default: 2 s before the window with the most beats of a class other than N].")
@click.option("--seconds", type=float, default=10.0, show_default=True, help="Strip length (s).")
@model_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="The HTML file to write.")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
def report_record_command(record, db, data_dir, channel, peaks, start_s, seconds, model, output, quiet, **kwargs):
    """Write one HTML file about RECORD that opens offline: its facts, a strip, class counts, beat overlays, class probabilities, the model card.

    Images are inlined, the CSS is in the file; nothing is fetched when it is viewed.
    """
    params = _scheme_params(kwargs)
    _need_matplotlib(output)
    with library_errors():
        from .beatfile import write_atomic
        from .database import beats_to_arrays
        from .report import MODEL_CARD, predict_probabilities, record_report

        rec, beats = _read_beats(record, db, data_dir, channel, peaks, params)
        probabilities, about = predict_probabilities(beats_to_arrays(beats, rec.name), model)
        card = MODEL_CARD.read_text() if model is None and MODEL_CARD.is_file() else None
        page = record_report(rec, beats, probabilities, start_s=start_s, seconds=seconds, window_s=params["window_s"], db=db,
                             params={"peaks": peaks, **params}, model_facts=about, model_card=card, tolerance_s=params["tolerance_s"])
        write_atomic(output, page.encode("utf-8"))
    echo_err(f"{output}: record {rec.name}, {len(beats)} beats, {len(page) / 1e6:.1f} MB", quiet)


def main():  # pragma: no cover - console script entry point
    cli()
