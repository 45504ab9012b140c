"""A PhysioNet-like file server on 127.0.0.1 for the fetch tests (http.server in a thread; no mocks).

``Server(root)`` serves ``root/files/`` at ``server.url`` (``http://127.0.0.1:PORT/files/``), with
mitdb 1.0.0 as symlinks into the shared (read-only) copy. :meth:`Server.publish` serves another
database built by a test, with its ``SHA256SUMS.txt`` computed from the files. The fixtures
``server`` and ``unreachable`` are imported by the test modules that use them.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

from .conftest import REPO, find_data_dir

# Absolute: the server folder holds symlinks to these files, and $ECGSEG_DATA may be relative (CI sets ../shared/data).
SHARED = find_data_dir() or (REPO.parent / "shared" / "data").resolve()
MITDB = SHARED / "mitdb"
HAVE_MITDB = (MITDB / "SHA256SUMS.txt").is_file()


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, logging each request; files listed in server.drop are cut off halfway."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.log.append(self.path)
        name = self.path.rsplit("/", 1)[-1]
        if name in self.server.drop:
            data = Path(self.translate_path(self.path)).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True  # the client is left waiting for the other half
            return
        super().do_GET()

    def do_HEAD(self):
        self.server.log.append("HEAD " + self.path)
        super().do_HEAD()


class Server:
    """A PhysioNet-like file server: ``url`` is the base (``http://127.0.0.1:PORT/files/``)."""

    def __init__(self, root: Path):
        self.root = root / "files"
        self.folder = self.root / "mitdb" / "1.0.0"
        self.folder.mkdir(parents=True)
        for source in MITDB.iterdir():
            (self.folder / source.name).symlink_to(source)
        handler = functools.partial(_Handler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.log, self.httpd.drop = [], set()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def publish(self, db: str, version: str, files: dict[str, Path | bytes], *, sums: bool = True,
                extra_sums: dict[str, bytes] = {}) -> Path:  # noqa: B006 (read only)
        """Serve another database: ``{relative path: file to link, or bytes}``; returns its folder.

        ``sums``: write a SHA256SUMS.txt listing every file (a test may list names no file has
        with ``extra_sums``: ``{name: the bytes whose digest to list}``), else serve none.
        """
        folder = self.root / db / version
        lines = []
        for rel, source in files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source) if isinstance(source, bytes) else target.symlink_to(source)
            lines.append(f"{hashlib.sha256(target.read_bytes()).hexdigest()}  {rel}")
        lines += [f"{hashlib.sha256(data).hexdigest()}  {rel}" for rel, data in extra_sums.items()]
        if sums:
            (folder / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")
        return folder

    def replace(self, name: str, data: bytes | None) -> None:
        """Serve other bytes for ``name`` of mitdb (None: remove it from the server)."""
        (self.folder / name).unlink()
        if data is not None:
            (self.folder / name).write_bytes(data)

    def gets(self) -> list[str]:
        """The file names asked for with GET, in order."""
        return [path.rsplit("/", 1)[-1] for path in self.httpd.log if not path.startswith("HEAD ")]

    def paths(self) -> list[str]:
        """Every request line logged (GET paths, and ``HEAD <path>``)."""
        return list(self.httpd.log)


def mitdb_record(record: str, folder: str = "") -> dict[str, Path]:
    """The files of a MIT-BIH record, to serve under ``folder`` (its header names ``<record>.dat`` beside it)."""
    prefix = f"{folder}/" if folder else ""
    return {f"{prefix}{record}.{ext}": MITDB / f"{record}.{ext}" for ext in ("hea", "dat", "atr")}


def publish_ptbdb(server: Server) -> dict[str, Path]:
    """Serve ptbdb 1.0.0 as PhysioNet lays it out (RECORDS lists patient001/s0010_re); skip where the record is absent."""
    import pytest

    source = SHARED / "ptbdb" / "patient001"
    if not (source / "s0010_re.hea").is_file():
        pytest.skip(f"PTB record not found in {source}")
    files = {f"patient001/{p.name}": p for p in source.iterdir()}
    server.publish("ptbdb", "1.0.0", {"RECORDS": b"patient001/s0010_re\n", **files})
    return files


def serving(tmp_path: Path) -> Iterator[Server]:
    """A server for one test (the test module's ``server`` fixture yields from this), shut down after it."""
    served = Server(tmp_path / "server")
    yield served
    served.httpd.shutdown()
    served.httpd.server_close()


def unreachable_url() -> str:
    """A base URL on a local port nobody listens on (connection refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/files/"
