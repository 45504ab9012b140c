"""``ecgseg segment``: cut one record or a whole database into labelled beats, and report the run."""

from __future__ import annotations

import contextlib
import sys

import click

from ..scheme import RECOMMENDED_PEAKS
from ..terms import command_line, setting
from ._common import CLASS_NAMES, _scheme_params, annotator_option, check_output, _write_stdout, data_options, echo_err, library_errors, scheme_options
from .fetch import _run_fetch


def _summary(head: str, labels, found, peaks: str, notes=()) -> str:
    """The one summary line of a segmentation run: ``head`` (what was read, from :func:`_record_head` or the
    database's), the beats per class, the share of the reference beats they were cut at and the cuts at no
    reference beat (or, without annotations, beats per minute against the recommended detector), the short beats
    and the beats too close to the previous one (whatever their T), the beats in poor-quality signal, and every
    note on what is doubtful.

    ``found`` is a :class:`~ecgseg.pipeline.RecordSummary` or a :class:`~ecgseg.batch.RecordsRun`.
    """
    import numpy as np

    with command_line():
        better = f"{setting('peaks', RECOMMENDED_PEAKS)} finds nearly all"
        detector = setting("peaks", RECOMMENDED_PEAKS)
    counts = np.bincount(labels.astype(np.int64) + 1, minlength=len(CLASS_NAMES) + 1)
    per_class = ", ".join(f"{c} {n}" for c, n in zip(CLASS_NAMES, counts[1:]))
    if found.n_reference is not None:
        n_found = found.n_reference - found.n_missed
        share = f"{100 * n_found / found.n_reference:.1f}%" if found.n_reference else "-"
        hint = f"; {better}" if peaks == "rule" and found.n_missed else ""
        coverage = f"found {n_found} of {found.n_reference} reference beats ({share}{hint})"
        if found.n_unmatched:  # cuts off every beat: +P, which the share found does not show
            coverage += f"; {found.n_unmatched} cut{'s' * (found.n_unmatched != 1)} at no reference beat"
    else:
        minutes = max(found.duration_s, 1e-9) / 60
        coverage = f"no reference annotations: {labels.size / minutes:.1f} beats/min"
        if found.n_detected is not None:
            coverage += f", {detector} finds {found.n_detected / minutes:.1f}/min"
    quality = ""
    if found.n_poor is not None:  # measured for every cut but the rule's (its fast path)
        from ..quality import POOR

        quality = f"; {found.n_poor} beats in poor-quality signal (quality < {POOR:g})"
    return (f"{head}: {labels.size} beats ({per_class}, unlabelled {counts[0]}); {coverage}; "
            f"{found.n_short} beats with T < 0.2 s, {found.n_close} within 0.2 s of the previous beat{quality}"
            + "".join(f"; {note}" for note in notes))


def _record_head(summary, given: str) -> str:
    """``100 (mitdb, lead MLII)``; a record given by path is named as given, with no database."""
    if summary.database:
        return f"{summary.record} ({summary.database}, lead {summary.lead})"
    return f"{given} (lead {summary.lead})"


def _database_head(database: str, done, output: str) -> str:
    """``mitdb (48 records, lead MLII; V5 in 102, 104) -> out.npz``: the leads used, the usual one first."""
    from collections import Counter

    leads = Counter(summary.lead for summary in done).most_common()
    lead = f"lead {leads[0][0]}" if leads else "no lead"
    for other, _ in leads[1:]:
        lead += f"; {other} in " + ", ".join(s.record for s in done if s.lead == other)
    return f"{database} ({len(done)} records, {lead}) -> {output}"


def _grouped_notes(done) -> list[str]:
    """Each note of a many-records run once, with the records it is about: ``no MLII lead, ... (102, 104)``."""
    records: dict[str, list[str]] = {}
    for summary in done:
        for note in summary.notes:
            records.setdefault(note, []).append(summary.record)
    return [f"{note} ({', '.join(names)})" for note, names in records.items()]


def _refuse_terminal(output) -> None:
    if output is None and sys.stdout.isatty():
        raise click.ClickException(
            "refusing to write binary .npy to a terminal; redirect it (> beats.npy) or pass -o FILE"
        )


class _BeatFileHelp(click.Command):
    """A command whose help ends with the keys of an .npz beat file, read from the schema (``beatfile.KEYS``) when
    the help is shown: numpy is imported for ``--help`` of this command only."""

    def format_epilog(self, ctx, formatter):
        super().format_epilog(ctx, formatter)
        from ..beatfile import describe_keys

        with formatter.section("Keys of an .npz beat file (-o FILE.npz)"):
            formatter.write_dl([tuple(line.split("  ", 1)) for line in describe_keys()])


@click.group("segment")
def segment():
    """Cut records into labelled fixed-length beats (Kachuee et al. 2018)."""


@segment.command("record", cls=_BeatFileHelp)
@click.argument("record")
@data_options
@scheme_options
@click.option("-o", "--output", type=click.Path(),
              help="Write .npy (segments), .npz (all keys) or .csv here instead of stdout. A .csv has the heartbeat "
              "dataset's layout: no header, one beat per row, its 187 values then its AAMI class index as a float "
              "(0-4 = N S V F Q, -1 for none).")
@click.option("--labels", "labels_path", type=click.Path(),
              help="Also write the labels (int8 .npy) here.")
@click.option("--chunk-s", type=float, default=None,
              help="Read the record in chunks of about this many seconds: bounded memory, the same beats.")
@click.option("-q", "--quiet", is_flag=True, help="No summary on stderr.")
@click.option("--fetch", "fetch_first", is_flag=True,
              help="First fetch the record from PhysioNet if it is missing or fails its checksum "
              "(as `ecgseg fetch DB --records RECORD`).")
def segment_record_command(record, db, data_dir, channel, annotator, peaks, output, labels_path, chunk_s, quiet, fetch_first,
                           **kwargs):
    """Segment one RECORD (a name such as 100, or a path) into beats.

    Writes a (n_beats, 187) float32 .npy to stdout, or to -o FILE (.npy, .npz
    with the keys listed below, or .csv: each beat's 187 values then its
    class). Labels: AAMI class index 0-4 (N S V F Q) of the reference beat
    within 150 ms, -1 for none.
    """
    _refuse_terminal(output)
    params = _scheme_params(kwargs)
    check_output("-o", output)
    check_output("--labels", labels_path)
    with library_errors():
        from ..atomic import all_or_none, write_atomic
        from ..beatfile import save_npy_bytes
        from ..pipeline import RecordSummary, segment_record, write_record
        from ..records import is_path, open_record

        if fetch_first:
            if is_path(record):
                raise click.ClickException(f"--fetch takes a record as its database lists it (100, "
                                           f"patient001/s0010_re), not a path ({record})")
            _run_fetch(db, [record], data_dir, None, 3, quiet)
        source = open_record(record, db, data_dir=data_dir, channel=channel, annotator=annotator)
        where = dict(peaks=peaks, chunk_s=chunk_s, **params)
        with all_or_none():  # -o and --labels appear together, or neither
            if output is None:
                beats = segment_record(source, **where)
                segments = save_npy_bytes(beats.segments)
                summary = RecordSummary.of(beats, source.name)
            else:  # streamed from a temporary file when read in chunks: never all segments in memory
                summary = write_record(output, source, **where)
            if labels_path is not None:
                write_atomic(labels_path, save_npy_bytes(summary.labels))
        if output is None:
            _write_stdout(segments)
    echo_err(_summary(_record_head(summary, record), summary.labels, summary, peaks, summary.notes), quiet)


@segment.command("database", cls=_BeatFileHelp)
@click.argument("database", default="mitdb")
@click.option("-o", "--output", type=click.Path(),
              help="One .npz with every record's beats (keys as for `segment record`), or a .csv in the heartbeat "
              "dataset's layout (187 values, then the AAMI class index; no record column).")
@click.option("--output-dir", type=click.Path(),
              help="Or: one DIR/<record>.npz per record plus DIR/index.tsv; a rerun skips finished records.")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="ECGSEG_DATA",
              help="Data folder [default: $ECGSEG_DATA, else the per-user cache].")
@click.option("--channel", default=None, help="Lead name or index [default: MLII if present, else 0].")
@annotator_option
@click.option("--records", "only", default=None, help="Comma-separated subset of records [default: all in RECORDS].")
@click.option("-j", "--jobs", type=int, default=None, help="Worker processes [default: all cores].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Run on a local Dask cluster of N worker processes (needs ecgseg[dask]).")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="Run on this Dask scheduler; its workers need ecgseg and the data folder.")
@click.option("--chunk-s", type=float, default=None,
              help="Read records in chunks of about this many seconds: bounded memory, the same beats.")
@click.option("--no-resume", is_flag=True, help="With --output-dir: redo records an earlier run finished.")
@scheme_options
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
def segment_database_command(database, output, output_dir, data_dir, channel, annotator, only, jobs, workers, scheduler, chunk_s,
                             no_resume, peaks, quiet, **kwargs):
    """Segment every record of DATABASE (default mitdb) into one .npz or .csv (-o) or a folder (--output-dir).

    Records run in parallel processes, or as tasks on Dask with --workers or
    --scheduler. A record that fails is reported and the others are still
    written; the exit status is then 1.
    """
    params = _scheme_params(kwargs)
    if (output is None) == (output_dir is None):
        raise click.ClickException(
            "give exactly one of -o FILE.npz (all beats in one file) or --output-dir DIR (one file per record)"
        )
    if output is not None and not output.endswith((".npz", ".csv")):
        raise click.ClickException(f"{output}: a database is written as .npz (segments with labels and records) "
                                   "or .csv (the heartbeat dataset's layout)")
    check_output("-o", output)
    check_output("--output-dir", output_dir, folder=True)
    if workers is not None and scheduler is not None:
        raise click.ClickException("give --scheduler or --workers, not both (a scheduler has its own workers)")
    if jobs is not None and (workers is not None or scheduler is not None):
        raise click.ClickException("-j/--jobs sets local processes; on Dask the workers run the records: "
                                   "give -j or --scheduler/--workers")
    with library_errors(), _interrupted(output, output_dir):
        from ..batch import segment_records
        from ..records import list_records

        names = only.split(",") if only else list_records(database, data_dir)
        bar_or_none = (click.progressbar(length=len(names), label=f"segmenting {database}", file=sys.stderr)
                       if not quiet else contextlib.nullcontext())
        with _dask(workers) as cluster, bar_or_none as bar:
            progress = (lambda name: bar.update(1)) if bar is not None else None
            run = segment_records(names, database, output_dir=output_dir, data_dir=data_dir, channel=channel,
                                  annotator=annotator, peaks=peaks, chunk_s=chunk_s, jobs=jobs, resume=not no_resume, progress=progress,
                                  scheduler=cluster.scheduler_address if cluster is not None else scheduler, **params)
            if output is not None and run.arrays is not None:
                from ..beatfile import save_beats

                save_beats(output, run.arrays)
    if output_dir is not None:
        _report_folder_run(database, output_dir, run, quiet)
        return
    for failure in run.failures:
        click.echo(f"Error: record {failure.record}: {failure.reason}", err=True)
    if run.arrays is None:
        raise click.ClickException(f"no record of {database} could be segmented; nothing written")
    notes = _grouped_notes(run.done)
    echo_err(_summary(_database_head(database, run.done, output), run.arrays["labels"], run, peaks, notes), quiet)
    if run.failures:
        sys.exit(1)


@contextlib.contextmanager
def _interrupted(output, output_dir):
    """Ctrl-C: say what was kept (the workers are stopped by then, the folder tidied) and exit with 130."""
    from ..batch import Interrupted

    try:
        yield
    except Interrupted as stop:
        stop.tidy()  # once more: the cluster's workers are stopped by now
        run = stop.run
        click.echo(f"\nInterrupted: {len(run.done)} records written to {output_dir} in this run, and listed in "
                   f"{output_dir}/index.tsv with those done before; run the same command again to go on", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo(f"\nInterrupted: nothing written to {output}" if output else "\nInterrupted", err=True)
        sys.exit(130)


@contextlib.contextmanager
def _dask(workers):
    """A local Dask cluster of ``workers`` processes for the run, or nothing; on Ctrl-C its workers are killed first,
    so it closes at once."""
    if workers is None:
        yield None
        return
    from ..parallel import halt, local_cluster

    with local_cluster(workers) as cluster:
        try:
            yield cluster
        except KeyboardInterrupt:
            halt(cluster)
            raise


def _report_folder_run(database, output_dir, run, quiet):
    for failure in run.failures:
        click.echo(f"Error: record {failure.record}: {failure.reason}", err=True)
    skipped = f", {len(run.skipped)} skipped (finished earlier)" if run.skipped else ""
    echo_err(
        f"{database}: {len(run.done)} records ({run.n_beats} beats) written to {output_dir}{skipped}, "
        f"{len(run.failures)} failed; index: {output_dir}/index.tsv",
        quiet,
    )
    if run.failures:
        sys.exit(1)
