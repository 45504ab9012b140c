"""``ecgseg fetch``: download a PhysioNet database, with its progress bar on stderr."""

from __future__ import annotations

import sys

import click

from ..terms import command_line
from ._common import echo_err, kept_when_interrupted, library_errors


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
                length=max(progress.files_total, 1), label=self.label, file=sys.stderr, show_pos=True, show_eta=False,
                width=24, item_show_func=lambda text: text,
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
    """Fetch with a progress bar and the summary on stderr; the library's messages name options, not keywords."""
    from ..fetch import fetch

    kept_when_interrupted("the files fetched before it are kept, each whole and checked; run the same command again "
                          "to fetch the rest")
    bar = None if quiet else _FetchBar(f"fetching {db}")
    try:
        with command_line():
            result = fetch(db, records, data_dir=data_dir, base_url=base_url, progress=bar, retries=retries)
    finally:
        if bar is not None:
            bar.close()
    echo_err(result.summary(), quiet)
    return result


def _show_list(data_dir) -> None:
    """``fetch --list``: the data folder and where it came from, the known databases, then other folders there."""
    import os

    from ..fetch import list_databases
    from ..records import resolve_data_dir

    source = click.get_current_context().get_parameter_source("data_dir")
    origin = {click.core.ParameterSource.COMMANDLINE: "--data-dir",
              click.core.ParameterSource.ENVIRONMENT: "$ECGSEG_DATA"}.get(source, "the per-user cache; --data-dir or $ECGSEG_DATA sets another")
    root = resolve_data_dir(data_dir)
    exists = "" if root.is_dir() else ", does not exist yet"
    click.echo(f"data folder: {os.path.abspath(root)} (from {origin}{exists})")
    statuses = list_databases(data_dir)
    known = [s for s in statuses if s.version is not None]
    others = [s for s in statuses if s.version is None]
    for status in known:
        click.echo(_status_line(status))
    if others:
        click.echo("other database folders here, not known to fetch (give SLUG/VERSION to fetch one):")
        for status in others:
            click.echo(_status_line(status))


def _status_line(status) -> str:
    if status.records_total is None:
        on_disk = "not on disk"
    else:
        on_disk = f"{status.records_on_disk}/{status.records_total} records on disk"
        if status.lists_missing:
            on_disk += f" ({status.lists_missing} nested RECORDS missing)"
    return f"{status.name:<10} {status.version or '':<7} {on_disk:<24} {status.title}".rstrip()


@click.command("fetch")
@click.argument("database", default="mitdb")
@click.option("--records", "only", default=None,
              help="Comma-separated records or folders to fetch, as RECORDS lists them: 100, patient001/s0010_re, "
              "records100/00000/ (every record below it) [default: all].")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="ECGSEG_DATA",
              help="Data folder; files go to DATA/DATABASE/ [default: $ECGSEG_DATA, else the per-user cache].")
@click.option("--base-url", envvar="ECGSEG_PHYSIONET_URL",
              help="Server root; a database is read from BASE/DATABASE/VERSION/ "
              "[default: $ECGSEG_PHYSIONET_URL, else https://physionet.org/files/].")
@click.option("--retries", type=click.IntRange(0, 10), default=3, show_default=True,
              help="Extra attempts after a network error (waits 1 s, 2 s, ...).")
@click.option("--list", "show_list", is_flag=True, help="List the known databases and what is on disk, and exit.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
def fetch_command(database, only, data_dir, base_url, retries, show_list, quiet):
    """Download a PhysioNet DATABASE (default mitdb), verified, into the data folder.

    DATABASE is a known slug (see --list) or SLUG/VERSION for any other PhysioNet
    database. Records in subfolders and nested RECORDS lists (PTB-XL) keep PhysioNet's
    layout under DATA/DATABASE/. Each file is checked against the server's
    SHA256SUMS.txt and renamed into place only when complete; a second run downloads
    nothing, an interrupted one resumes. Offline, files already on disk are checked
    against the local copy of SHA256SUMS.txt. A name from the server that would lead
    outside the data folder stops the fetch; records the server does not have are
    named, the others fetched, and the exit status is 1.
    """
    with library_errors():
        if show_list:
            _show_list(data_dir)
            return
        records = [name.strip() for name in only.split(",") if name.strip()] if only else None
        _run_fetch(database, records, data_dir, base_url, retries, quiet)
