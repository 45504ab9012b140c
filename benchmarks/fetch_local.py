"""Time `ecgseg.fetch` of all 48 MIT-BIH records from a local HTTP server, against peers in the same run.

    python benchmarks/fetch_local.py [--repeat 3]

The server (http.server on 127.0.0.1, in a thread) serves $ECGSEG_DATA/mitdb (else ../shared/data/mitdb) in
PhysioNet's layout at /files/mitdb/1.0.0/. Each download goes into a fresh temporary folder. Peers:
- plain urllib: the same 146 files, one after another, written directly, nothing verified (the floor);
- wfdb.dl_database (2 threads, no checksums). It always asks physionet.org/content for the version, so here
  its PhysioNet URLs are pointed at the local server and its version lookup is replaced by "1.0.0".
A local server measures our overhead (hashing, temporary files, requests), not PhysioNet's bandwidth.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecgseg.fetch import fetch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MITDB = (Path(os.environ.get("ECGSEG_DATA") or REPO.parent / "shared" / "data") / "mitdb").resolve()  # symlinked into the served folder


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    (root / "files" / "mitdb").mkdir(parents=True)
    (root / "files" / "mitdb" / "1.0.0").symlink_to(MITDB)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}/files/"


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            function(Path(folder))
            times.append(time.perf_counter() - start)
    return times


def urllib_floor(base: str, files: list[str], folder: Path) -> None:
    for name in files:
        with urllib.request.urlopen(base + "mitdb/1.0.0/" + name) as response:
            (folder / name).write_bytes(response.read())


def wfdb_dl_database(base: str, folder: Path) -> None:
    import wfdb
    import wfdb.io.download as download

    download.PN_CONTENT_URL = base
    download.get_version = lambda db: "1.0.0"
    wfdb.set_db_index_url(base)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # it prints a line per record
        wfdb.dl_database("mitdb", str(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (MITDB / "SHA256SUMS.txt").is_file():
        sys.exit(f"no MIT-BIH files in {MITDB}")
    with tempfile.TemporaryDirectory() as root:
        httpd, base = serve(Path(root))
        result = fetch("mitdb", data_dir=Path(root) / "warm", base_url=base)
        files = list(result.files)
        size = sum((Path(root) / "warm" / "mitdb" / name).stat().st_size for name in files)
        print(f"mitdb: {len(files)} files, {size / 1e6:.1f} MB, from {base}; best and median of {args.repeat} runs")

        rows = {
            "ecgseg.fetch, empty folder": timed(lambda folder: fetch("mitdb", data_dir=folder, base_url=base), args.repeat),
            "ecgseg.fetch, all on disk (verify only)": [
                fetch("mitdb", data_dir=Path(root) / "warm", base_url=base).seconds for _ in range(args.repeat)
            ],
            "urllib, one by one, unverified (floor)": timed(lambda folder: urllib_floor(base, files, folder), args.repeat),
            "wfdb.dl_database, 2 threads, unverified": timed(lambda folder: wfdb_dl_database(base, folder), args.repeat),
        }
        httpd.shutdown()
    reference = min(rows["ecgseg.fetch, empty folder"])
    for name, times in rows.items():
        best = min(times)
        print(f"{name:<42} best {best:6.2f} s  median {statistics.median(times):6.2f} s  "
              f"{size / 1e6 / best:6.1f} MB/s  x{best / reference:5.2f} of ecgseg.fetch")


if __name__ == "__main__":
    main()
