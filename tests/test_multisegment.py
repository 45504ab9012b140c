"""Multi-segment WFDB records (issue 13 fault 2): a master header naming segment records, fixed or variable layout
(a layout header, gap segments ``~``, segments without some signals, MIMIC-style names). They are read as one signal,
whole and in chunks, and give exactly the beats of the same samples written as one record; what cannot be read as
one lead is refused with one line. Records are built here with wfdb from the real MIT-BIH record 100."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb
from click.testing import CliRunner

from ecgseg.cli import cli
from ecgseg.pipeline import segment_record
from ecgseg.records import open_record

from .synthetic import assert_same_beats

GAIN, BASELINE = 200.0, 0


@pytest.fixture(scope="module")
def digital_100(data_dir):
    """The first 6 minutes of record 100 (MLII, V5) as digital values, and its annotations there."""
    record = wfdb.rdrecord(str(data_dir / "mitdb" / "100"), sampto=6 * 60 * 360, physical=False)
    ann = wfdb.rdann(str(data_dir / "mitdb" / "100"), "atr", sampto=6 * 60 * 360)
    return record.d_signal.astype(np.int64) - 1024, np.asarray(ann.sample), list(ann.symbol)


def _wrsamp(folder, name, digital, names):
    wfdb.wrsamp(name, fs=360, units=["mV"] * len(names), sig_name=list(names), d_signal=digital.astype(np.int16),
                fmt=["16"] * len(names), adc_gain=[GAIN] * len(names), baseline=[BASELINE] * len(names),
                write_dir=str(folder))


def _master(folder, name, n_sig, segments, total):
    lines = [f"{name}/{len(segments)} {n_sig} 360 {total}"] + [f"{seg} {length}" for seg, length in segments]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")


@pytest.fixture
def fixed(tmp_path, digital_100):
    """m: three segments of both leads (boundaries at 100.3 s and 200.7 s); one: the same samples as one record."""
    digital, ann_samples, ann_symbols = digital_100
    cuts = [0, 36108, 72252, digital.shape[0]]
    segments = []
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        _wrsamp(tmp_path, f"m_{i + 1}", digital[a:b], ("MLII", "V5"))
        segments.append((f"m_{i + 1}", b - a))
    _master(tmp_path, "m", 2, segments, digital.shape[0])
    _wrsamp(tmp_path, "one", digital, ("MLII", "V5"))
    for name in ("m", "one"):
        wfdb.wrann(name, "atr", ann_samples, symbol=ann_symbols, fs=360, write_dir=str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("peaks", ["rule", "annotations", "hamilton"])
def test_a_fixed_layout_gives_the_beats_of_the_same_samples_in_one_record(fixed, peaks):
    reader = open_record(fixed / "m")
    assert (reader.fs, reader.n_samples, reader.channel, reader.notes) == (360.0, 6 * 60 * 360, "MLII", ())
    one = segment_record(fixed / "one", peaks=peaks)
    assert len(one) > 200 and one.labels is not None and one.n_missed is not None
    assert_same_beats(segment_record(fixed / "m", peaks=peaks), one)
    if peaks != "hamilton":  # hamilton runs on whole signals only
        for chunk_s in (25, 100):  # chunks that straddle the segments' boundaries
            assert_same_beats(segment_record(fixed / "m", peaks=peaks, chunk_s=chunk_s), one)
    v5 = segment_record(fixed / "m", peaks=peaks, channel="V5")
    assert v5.lead == "V5" and v5.channel == 1
    assert_same_beats(v5, segment_record(fixed / "one", peaks=peaks, channel="V5"))


def test_the_command_line_reads_it_whole_and_in_chunks_into_the_same_file(fixed):
    runner = CliRunner()
    outputs = []
    for extra in ([], ["--chunk-s", "60"]):
        out = fixed / f"out{len(outputs)}.npz"
        result = runner.invoke(cli, ["segment", "record", str(fixed / "m"), "--peaks", "annotations", "-o", str(out), *extra])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"{fixed / 'm'} (lead MLII): ") and " reference beats (100.0%); " in result.output
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.fixture
def variable(tmp_path, digital_100):
    """MIMIC-style: a layout header (MLII, V5), a segment with both leads, a gap (~), a segment with MLII only."""
    digital, _, _ = digital_100
    name = "3000003"
    _wrsamp(tmp_path, f"{name}_0001", digital[:36000], ("MLII", "V5"))
    _wrsamp(tmp_path, f"{name}_0002", digital[72000:108000, :1], ("MLII",))
    (tmp_path / f"{name}_layout.hea").write_text(
        f"{name}_layout 2 360 0\n~ 16 200/mV 16 0 0 0 0 MLII\n~ 16 200/mV 16 0 0 0 0 V5\n")
    _master(tmp_path, name, 2, [(f"{name}_layout", 0), (f"{name}_0001", 36000), ("~", 36000), (f"{name}_0002", 36000)],
            108000)
    expected = np.full((108000, 2), np.nan)
    expected[:36000] = digital[:36000] / GAIN
    expected[72000:, 0] = digital[72000:108000, 0] / GAIN
    return tmp_path / name, expected


def test_a_variable_layout_reads_its_gaps_and_missing_leads_as_nan_and_says_so(variable):
    path, expected = variable
    for channel, lead, note in ((None, "MLII", "1 gap segment (~) of its 3 segments: MLII is NaN for 100.0 s there"),
                                ("V5", "V5", "1 gap segment (~) and 1 segment without V5 of its 3 segments: V5 is NaN "
                                             "for 200.0 s there")):
        reader = open_record(path, channel=channel)
        assert (reader.name, reader.channel, reader.n_samples) == ("3000003", lead, 108000)
        assert reader.notes == (f"multi-segment record: {note}",)
        index = reader.channel_index
        assert np.array_equal(np.asarray(reader.signal), expected[:, index], equal_nan=True)
        assert np.array_equal(reader.signal[30000:80000], expected[30000:80000, index], equal_nan=True)
    result = CliRunner().invoke(cli, ["segment", "record", str(path), "-o", str(path.parent / "x.npz")])
    assert result.exit_code == 1 and not (path.parent / "x.npz").exists()
    assert result.output.startswith("Error: signal has 36000 NaN")


def _refused(path, message):
    result = CliRunner().invoke(cli, ["segment", "record", str(path), "-o", str(path.parent / "x.npz")])
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
    assert not (path.parent / "x.npz").exists()


def test_what_cannot_be_read_as_one_lead_is_refused_in_one_line(fixed, digital_100):
    digital, _, _ = digital_100
    # a fixed layout whose segments have different signals, and no layout header to say which is which
    _wrsamp(fixed, "d_1", digital[:3600], ("MLII", "V5"))
    _wrsamp(fixed, "d_2", digital[3600:7200, ::-1], ("V5", "MLII"))
    _master(fixed, "d", 2, [("d_1", 3600), ("d_2", 3600)], 7200)
    _refused(fixed / "d", "record 'd' cannot be read as one signal: its segments have different signals "
                          "(d_1: MLII, V5; d_2: V5, MLII) and it has no layout header (a first segment of length 0) "
                          "saying which is which")
    # a segment at another rate
    wfdb.wrsamp("r_2", fs=250, units=["mV"], sig_name=["MLII"], d_signal=digital[:2500, :1].astype(np.int16),
                fmt=["16"], adc_gain=[GAIN], baseline=[BASELINE], write_dir=str(fixed))
    _wrsamp(fixed, "r_1", digital[:3600, :1], ("MLII",))
    _master(fixed, "r", 1, [("r_1", 3600), ("r_2", 3600)], 7200)
    _refused(fixed / "r", "record 'r' cannot be read as one signal: its segment r_2 is at 250 Hz, the record at 360 Hz")
    # a lead in other units in one segment than in the layout
    wfdb.wrsamp("u_1", fs=360, units=["uV"], sig_name=["MLII"], d_signal=digital[:3600, :1].astype(np.int16),
                fmt=["16"], adc_gain=[GAIN], baseline=[BASELINE], write_dir=str(fixed))
    (fixed / "u_layout.hea").write_text("u_layout 1 360 0\n~ 16 200/mV 16 0 0 0 0 MLII\n")
    _master(fixed, "u", 1, [("u_layout", 0), ("u_1", 3600)], 3600)
    _refused(fixed / "u", "record 'u' cannot be read as one signal: MLII is in uV in segment u_1 but in mV in its layout")
    # a segment that is not there, and a segment's signal file that is not there
    (fixed / "m_2.hea").rename(fixed / "m_2.hea.away")
    _refused(fixed / "m", f"record 'm' is a multi-segment record whose segment m_2 is missing: no {fixed}/m_2.hea")
    (fixed / "m_2.hea.away").rename(fixed / "m_2.hea")
    (fixed / "m_3.dat").unlink()
    _refused(fixed / "m", f"record 'm' has a header but its signal file {fixed}/m_3.dat is missing")


def test_a_missing_segment_of_a_record_in_a_database_names_the_fetch(fixed):
    data = fixed / "DATA"
    (data / "multi").mkdir(parents=True)
    for p in fixed.glob("m*"):
        (data / "multi" / p.name).symlink_to(p)
    (data / "multi" / "m_3.hea").unlink()
    result = CliRunner().invoke(cli, ["segment", "record", "m", "--db", "multi", "--data-dir", str(data), "-o",
                                      str(fixed / "x.npz")])
    assert (result.exit_code, result.output) == (1, (
        f"Error: record 'm' is a multi-segment record whose segment m_3 is missing: no {data}/multi/m_3.hea; "
        "fetch it with `ecgseg fetch multi --records m` or set --data-dir / $ECGSEG_DATA\n"))
