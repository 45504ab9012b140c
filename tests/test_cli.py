import io
import os
import pty
import shutil
import subprocess
import sys

import click
import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.cli import cli

from .conftest import REPO


def run(*args, **kwargs):
    """The real command in a subprocess (stdout as bytes)."""
    return subprocess.run([sys.executable, "-m", "ecgseg", *args], capture_output=True, cwd=REPO, **kwargs)


def all_commands(group=cli, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


@pytest.mark.parametrize("path", [()] + list(all_commands()), ids=lambda p: " ".join(p) or "ecgseg")
def test_every_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output and len(result.output) > 200


def test_segment_record_to_stdout_is_a_valid_npy(data_dir):
    result = run("segment", "record", "100", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    segments = np.load(io.BytesIO(result.stdout), allow_pickle=False)
    assert segments.dtype == np.float32 and segments.ndim == 2 and segments.shape[1] == 187
    summary = result.stderr.decode().strip()
    # the paper's rule (the default) finds under half of record 100's beats: the line says so and names the way out
    assert summary == (f"100 (mitdb, lead MLII): {len(segments)} beats (N 1056, S 16, V 0, F 0, Q 0, unlabelled 1); found 1072 of 2273 "
                       "reference beats (47.2%; --peaks hamilton finds nearly all); 1 cut at no reference beat; "
                       "0 beats with T < 0.2 s, 0 within 0.2 s of "
                       "the previous beat")


def test_segment_record_writes_npz_and_labels(data_dir, tmp_path):
    out, labels = tmp_path / "b.npz", tmp_path / "labels.npy"
    result = CliRunner().invoke(
        cli,
        ["segment", "record", "100", "--data-dir", str(data_dir), "--peaks", "annotations", "-o", str(out), "--labels", str(labels)],
    )
    assert result.exit_code == 0, result.output
    with np.load(out, allow_pickle=False) as npz:
        assert {"segments", "labels", "r_peaks", "record", "fs"} <= set(npz.files)
        assert npz["segments"].shape == (2273, 187) and float(npz["fs"]) == 360.0
        assert set(npz["record"].tolist()) == {"100"}
        assert np.array_equal(np.load(labels), npz["labels"])
    assert result.output.strip() == ("100 (mitdb, lead MLII): 2273 beats (N 2239, S 33, V 1, F 0, Q 0, unlabelled 0); "
                                     "found 2273 of 2273 reference beats (100.0%); 0 beats with T < 0.2 s, 0 within "
                                     "0.2 s of the previous beat; 0 beats in poor-quality signal (quality < 0.7)")


def test_summary_without_annotations_compares_with_the_detector(data_dir):
    """A record without annotations (PTB, by path): beats per minute, against what --peaks hamilton finds."""
    path = str(data_dir / "ptbdb" / "patient001" / "s0010_re")
    if not (data_dir / "ptbdb" / "patient001" / "s0010_re.hea").is_file():
        pytest.skip("the PTB record ptbdb/patient001/s0010_re is not in the data folder")
    head = f"{path} (lead i): "
    note = "; no MLII lead, so i (channel 0) was used"
    for extra, expected in (
        ([], "42 beats (N 0, S 0, V 0, F 0, Q 0, unlabelled 42); no reference annotations: 65.6 beats/min, "
             "--peaks hamilton finds 81.2/min; 0 beats with T < 0.2 s, 0 within 0.2 s of the previous beat"),
        (["--chunk-s", "20"], "42 beats (N 0, S 0, V 0, F 0, Q 0, unlabelled 42); no reference annotations: "
                              "65.6 beats/min, --peaks hamilton finds 81.2/min; 0 beats with T < 0.2 s, 0 within 0.2 s "
                              "of the previous beat"),
        (["--peaks", "hamilton"], "52 beats (N 0, S 0, V 0, F 0, Q 0, unlabelled 52); no reference "
                                  "annotations: 81.2 beats/min; 0 beats with T < 0.2 s, 0 within 0.2 s of the previous "
                                  "beat; 0 beats in poor-quality signal (quality < 0.7)"),
    ):
        result = run("segment", "record", path, *extra)
        assert result.returncode == 0 and result.stderr.decode() == head + expected + note + "\n"


def test_segment_record_refuses_to_write_binary_to_a_terminal(data_dir):
    controller, terminal = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ecgseg", "segment", "record", "100", "--data-dir", str(data_dir)],
            stdout=terminal, stderr=subprocess.PIPE, cwd=REPO,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert result.returncode == 1
    assert result.stderr.decode().strip() == (
        "Error: refusing to write binary .npy to a terminal; redirect it (> beats.npy) or pass -o FILE"
    )


@pytest.fixture
def broken_data(data_dir, tmp_path):
    """A data folder with a record without annotations (100), a corrupt header (101) and a missing .dat (103)."""
    folder = tmp_path / "data" / "mitdb"
    folder.mkdir(parents=True)
    for name in ("100", "101", "103"):
        for suffix in (".hea", ".dat", ".atr"):
            shutil.copy(data_dir / "mitdb" / f"{name}{suffix}", folder)
    (folder / "100.atr").unlink()
    (folder / "101.hea").write_text("garbage\n")
    (folder / "103.dat").unlink()
    return folder.parent


@pytest.mark.parametrize(
    "args, message",
    [
        (["999"], "Error: record '999' not found: no {data}/mitdb/999.hea; fetch it with `ecgseg fetch mitdb --records 999`"),
        (["103"], "Error: record '103' has a header but its signal file {data}/mitdb/103.dat is missing"),
        (["101"], "Error: cannot read header {data}/mitdb/101.hea"),
        (["100", "--peaks", "annotations"],
         "Error: record '100' has no reference beats to cut at: no 100.atr; find its R-peaks with --peaks hamilton"),
        (["100", "--channel", "V9"], "Error: record '100' has no channel 'V9'; its channels are MLII, V5"),
        (["100", "--window-s", "3000"], "Error: signal is 1805.56 s long"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(broken_data, tmp_path, args, message):
    out = tmp_path / "out.npz"
    result = CliRunner().invoke(cli, ["segment", "record", *args, "--data-dir", str(broken_data), "-o", str(out)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message.format(data=broken_data))
    assert not out.exists() and list(tmp_path.glob("*.part")) == []


def test_failure_keeps_an_existing_output_file(broken_data, tmp_path):
    out = tmp_path / "keep.npy"
    out.write_bytes(b"previous result")
    result = CliRunner().invoke(cli, ["segment", "record", "999", "--data-dir", str(broken_data), "-o", str(out)])
    assert result.exit_code == 1 and out.read_bytes() == b"previous result"


def test_unknown_output_format(data_dir, tmp_path):
    result = CliRunner().invoke(cli, ["segment", "record", "100", "--data-dir", str(data_dir), "-o", str(tmp_path / "b.txt")])
    assert result.exit_code == 1 and "name it .npy (segments only), .npz (segments and labels) or .csv" in result.output
    assert not (tmp_path / "b.txt").exists()


def test_segment_database_in_parallel_keeps_the_others_when_one_fails(data_dir, tmp_path):
    out = tmp_path / "db.npz"
    result = run("segment", "database", "mitdb", "--data-dir", str(data_dir), "--records", "100,999,101",
                 "--peaks", "annotations", "-j", "2", "-o", str(out))
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert "Error: record 999: record '999' not found" in stderr
    assert "mitdb (2 records, lead MLII) -> " in stderr
    with np.load(out, allow_pickle=False) as npz:
        assert np.unique(npz["record"]).tolist() == ["100", "101"]
        assert npz["segments"].shape == (2273 + 1865, 187)
        single = CliRunner().invoke(cli, ["segment", "record", "101", "--data-dir", str(data_dir), "--peaks", "annotations",
                                          "-o", str(tmp_path / "101.npz")])
        assert single.exit_code == 0
        with np.load(tmp_path / "101.npz") as one:
            assert np.array_equal(one["segments"], npz["segments"][npz["record"] == "101"])


def test_segment_database_needs_npz(tmp_path):
    result = CliRunner().invoke(cli, ["segment", "database", "mitdb", "-o", str(tmp_path / "x.npy")])
    assert result.exit_code == 1 and "a database is written as .npz" in result.output


def write_record(folder, name, signal, fs=360):
    """A real one-lead WFDB record (format 16) written with wfdb; NaN is stored as the invalid sample."""
    import wfdb

    wfdb.wrsamp(name, fs=fs, units=["mV"], sig_name=["MLII"], p_signal=signal[:, None], fmt=["16"],
                adc_gain=[200.0], baseline=[0], write_dir=str(folder))
    return str(folder / name)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda x: np.where((np.arange(x.size) > 5000) & (np.arange(x.size) < 5100), np.nan, x), "Error: signal has 99 NaN or infinite samples"),
        (lambda x: np.full_like(x, 0.5), "Error: signal is flat"),
        (lambda x: x[:3000], "Error: signal is 8.33 s long (3000 samples at 360.0 Hz); segmentation needs at least one 10 s window"),
    ],
    ids=["nan", "flat", "short"],
)
def test_bad_signals_in_real_wfdb_records(tmp_path, make, message):
    from .synthetic import spike_train

    signal, _ = spike_train(360, 30)
    path = write_record(tmp_path, "bad", make(signal))
    out = tmp_path / "out.npy"
    result = CliRunner().invoke(cli, ["segment", "record", path, "-o", str(out)])
    assert result.exit_code == 1
    assert result.output.strip().startswith(message) and len(result.output.strip().splitlines()) == 1
    assert not out.exists()


def test_output_files_get_the_usual_permissions(data_dir, tmp_path):
    out = tmp_path / "b.npz"
    result = CliRunner().invoke(cli, ["segment", "record", "100", "--data-dir", str(data_dir), "-o", str(out)])
    assert result.exit_code == 0
    from ecgseg.atomic import default_file_mode

    assert out.stat().st_mode & 0o777 == default_file_mode() != 0o600


def test_npz_records_how_the_peaks_were_found(data_dir, tmp_path):
    for peaks in ("rule", "annotations", "hamilton"):
        out = tmp_path / f"{peaks}.npz"
        result = CliRunner().invoke(cli, ["segment", "record", "100", "--data-dir", str(data_dir), "--peaks", peaks, "-q", "-o", str(out)])
        assert result.exit_code == 0, result.output
        with np.load(out, allow_pickle=False) as npz:
            assert npz["peaks"].ndim == 0 and str(npz["peaks"]) == peaks


def test_the_summary_and_the_file_say_which_lead_and_database(data_dir, tmp_path):
    """102 has no MLII: the lead used is named, with a note, in the summary line and in the .npz."""
    out = tmp_path / "102.npz"
    result = run("segment", "record", "102", "--data-dir", str(data_dir), "--peaks", "annotations", "-o", str(out))
    assert result.returncode == 0
    assert result.stderr.decode().strip() == (
        "102 (mitdb, lead V5): 2187 beats (N 99, S 0, V 4, F 0, Q 2084, unlabelled 0); found 2187 of 2187 reference "
        "beats (100.0%); 0 beats with T < 0.2 s, 0 within 0.2 s of the previous beat; 0 beats in poor-quality signal "
        "(quality < 0.7); no MLII lead, so V5 (channel 0) was used")
    with np.load(out) as npz:
        assert (str(npz["lead"]), int(npz["channel"]), str(npz["database"])) == ("V5", 0, "mitdb")
        assert str(npz["notes"]) == "no MLII lead, so V5 (channel 0) was used"
    # a lead asked for is not remarked on; a record given by path is not said to be from a database
    path = str(data_dir / "mitdb" / "100")
    result = run("segment", "record", path, "--channel", "V5", "-o", str(out))
    assert result.returncode == 0
    assert result.stderr.decode().startswith(f"{path} (lead V5): ") and "; no MLII" not in result.stderr.decode()
    with np.load(out) as npz:
        assert (str(npz["lead"]), int(npz["channel"]), str(npz["database"]), str(npz["notes"])) == ("V5", 1, "", "")


def test_a_database_summary_names_the_leads_used(data_dir, tmp_path):
    out = tmp_path / "db.npz"
    result = run("segment", "database", "--data-dir", str(data_dir), "--records", "100,102,104", "-j", "1",
                 "-o", str(out))
    assert result.returncode == 0
    line = result.stderr.decode().strip().splitlines()[-1]
    assert line.startswith(f"mitdb (3 records, lead V5; MLII in 100) -> {out}: ")
    assert line.endswith("; no MLII lead, so V5 (channel 0) was used (102, 104)")
    with np.load(out) as npz:
        by_record = {r: (str(lead), str(db)) for r, lead, db in zip(npz["record"], npz["lead"], np.broadcast_to(npz["database"], npz["record"].shape))}
        assert by_record == {"100": ("MLII", "mitdb"), "102": ("V5", "mitdb"), "104": ("V5", "mitdb")}


def test_an_inverted_lead_cut_by_the_rule_says_so_and_what_its_cuts_miss(data_dir, tmp_path):
    """MIT-BIH 100, 2 minutes, sign-flipped: the rule's default cut sits on the T waves after each downward QRS.
    The summary says the lead looks inverted and how many cuts match no reference beat, the file's `inverted` is
    the measured polarity, and `evaluate` says how many beats it leaves out of its scores."""
    import wfdb

    source = str(data_dir / "mitdb" / "100")
    rec = wfdb.rdrecord(source, channels=[0], sampto=360 * 120)
    ann = wfdb.rdann(source, "atr", sampto=360 * 120)
    wfdb.wrsamp("down", fs=360, units=["mV"], sig_name=["MLII"], p_signal=-rec.p_signal, fmt=["16"],
                write_dir=str(tmp_path))
    wfdb.wrann("down", "atr", ann.sample, symbol=ann.symbol, fs=360, write_dir=str(tmp_path))
    out = tmp_path / "d.npz"
    note = ("lead looks inverted (QRS pointing down): the paper's rule cuts at maxima, so its beats sit off the QRS; "
            "--peaks hamilton cuts it upright")
    result = run("segment", "record", str(tmp_path / "down"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().strip() == (
        f"{tmp_path / 'down'} (lead MLII): 448 beats (N 144, S 1, V 0, F 0, Q 0, unlabelled 303); found 145 of 148 "
        "reference beats (98.0%; --peaks hamilton finds nearly all); 303 cuts at no reference beat; 337 beats with "
        f"T < 0.2 s, 276 within 0.2 s of the previous beat; {note}")
    with np.load(out) as npz:
        assert bool(npz["inverted"]) and str(npz["notes"]) == note
    result = run("evaluate", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines()[-1] == (
        f"note: 303 of the 448 beats in {out} are unlabelled (cut at no reference beat, or of no class) and left out "
        "of the scores")
    assert result.stdout.decode().splitlines()[0].endswith("; 145 beats of 1 record")
    # the upright record: measured upright, nothing said
    result = run("segment", "record", source, "-q", "-o", str(out))
    with np.load(out) as npz:
        assert result.returncode == 0 and not bool(npz["inverted"]) and str(npz["notes"]) == ""


def test_a_record_shorter_than_a_window_says_which_window_fits(tmp_path):
    from .synthetic import spike_train

    signal, _ = spike_train(360, 30)
    path = write_record(tmp_path, "short", signal[:3000])
    out = tmp_path / "out.npz"
    result = CliRunner().invoke(cli, ["segment", "record", path, "-o", str(out)])
    assert (result.exit_code, result.output.splitlines()) == (1, [
        "Error: signal is 8.33 s long (3000 samples at 360.0 Hz); segmentation needs at least one 10 s window; cut it "
        "in windows as long as it, --window-s 8 (each window's period T is the median R-R interval of its beats)"])
    assert not out.exists()
    result = CliRunner().invoke(cli, ["segment", "record", path, "--window-s", "8", "-q", "-o", str(out)])
    assert result.exit_code == 0 and len(np.load(out)["segments"]) >= 8
    tiny = write_record(tmp_path, "tiny", signal[:500])
    result = CliRunner().invoke(cli, ["segment", "record", tiny, "-o", str(out)])
    assert result.output.splitlines()[0].endswith(
        "; at 1.39 s it is too short to hold the two beats a window's period T needs")


def test_a_file_that_is_no_record_is_named_for_what_it_is(data_dir, tmp_path, monkeypatch):
    """A beat file, a record's own .dat, a name its database's RECORDS does not list: each says what it is, and only
    a name that could be fetched gets the fetch advice."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "beats.npz").write_bytes(b"")
    for name in ("100.hea", "100.dat"):
        (tmp_path / name).symlink_to(data_dir / "mitdb" / name)
    cases = {
        "beats.npz": "Error: beats.npz is a beat file, not a WFDB record: give a record (a name such as 100, or the "
                     "path of its .hea); classify, evaluate and plot beats read beat files (.npz, .npy, the heartbeat "
                     ".csv)",
        "./100.dat": "Error: ./100.dat is a file of record '100'; give the record itself: ./100",
        "999": f"Error: record '999' not found: no {data_dir / 'mitdb' / '999.hea'}, and mitdb's RECORDS "
               f"({data_dir / 'mitdb' / 'RECORDS'}) does not list it; check the name",
    }
    for record, line in cases.items():
        result = CliRunner().invoke(cli, ["segment", "record", record, "--data-dir", str(data_dir), "-o", "q.npz"])
        assert (result.exit_code, result.output.splitlines()) == (1, [line]), record
    # a database whose RECORDS is not on disk: the name may be there to fetch
    result = CliRunner().invoke(cli, ["segment", "record", "100", "--data-dir", str(tmp_path), "-o", "q.npz"])
    assert result.output.splitlines() == [
        f"Error: record '100' not found: no {tmp_path / 'mitdb' / '100.hea'}; fetch it with `ecgseg fetch mitdb "
        "--records 100` or set --data-dir / $ECGSEG_DATA"]
