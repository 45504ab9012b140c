import shutil

import numpy as np
import pytest

from ecgseg.records import list_records, read_record, record_path, resolve_data_dir


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGSEG_DATA", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir() == tmp_path / "env"
    monkeypatch.delenv("ECGSEG_DATA")
    assert resolve_data_dir().name == "ecgseg"  # the per-user cache folder


def test_record_by_name_and_by_path(tmp_path):
    assert record_path("100", data_dir=tmp_path) == tmp_path / "mitdb" / "100"
    assert record_path("100", db="svdb", data_dir=tmp_path) == tmp_path / "svdb" / "100"
    assert record_path(str(tmp_path / "x" / "100.hea")) == tmp_path / "x" / "100"


def test_read_record_100(record_100):
    assert record_100.channel == "MLII" and record_100.fs == 360.0 and record_100.units == "mV"
    assert record_100.signal.shape == (650000,) and record_100.signal.dtype == np.float64
    assert record_100.ann_samples.size == record_100.ann_symbols.size == 2274


def test_channel_choice(data_dir):
    # 114 has V5 first and MLII second: MLII is taken by default.
    assert read_record("114", data_dir=data_dir, sampto=3600).channel == "MLII"
    assert read_record("114", data_dir=data_dir, channel=0, sampto=3600).channel == "V5"
    assert read_record("114", data_dir=data_dir, channel="V5", sampto=3600).channel == "V5"
    # 102 has no MLII: the first lead.
    assert read_record("102", data_dir=data_dir, sampto=3600).channel == "V5"
    with pytest.raises(ValueError, match="has no channel 'V9'; its channels are V5, MLII"):
        read_record("114", data_dir=data_dir, channel="V9")
    with pytest.raises(ValueError, match=r"has no channel 7; its channels are V5, MLII \(or 0..1\)"):
        read_record("114", data_dir=data_dir, channel=7)


def test_partial_read_shifts_annotations(data_dir):
    part = read_record("100", data_dir=data_dir, sampfrom=3600, sampto=7200)
    assert part.signal.shape == (3600,)
    assert np.all((part.ann_samples >= 0) & (part.ann_samples < 3600))


def test_list_records(data_dir, tmp_path):
    assert len(list_records("mitdb", data_dir)) == 48
    with pytest.raises(FileNotFoundError, match=r"; fetch it with ecgseg\.fetch\.fetch\('nodb'\) or pass data_dir= "
                                                r"\(or set \$ECGSEG_DATA\) for a folder that holds it$"):
        list_records("nodb", tmp_path)  # in Python, the hint names Python's function and keyword
    from ecgseg.terms import command_line

    with command_line(), pytest.raises(FileNotFoundError, match=r"; fetch it with `ecgseg fetch nodb` or point "
                                                               r"--data-dir / \$ECGSEG_DATA at a folder that holds it$"):
        list_records("nodb", tmp_path)


@pytest.fixture
def copy_of_100(data_dir, tmp_path):
    folder = tmp_path / "mitdb"
    folder.mkdir()
    for suffix in (".hea", ".dat", ".atr"):
        shutil.copy(data_dir / "mitdb" / f"100{suffix}", folder)
    return folder


def test_missing_record(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"record '999' not found: no .*999.hea; fetch it with "
                                                r"ecgseg\.fetch\.fetch\('mitdb', records=\['999'\]\) or pass data_dir="):
        read_record("999", data_dir=tmp_path)


def test_missing_signal_file(copy_of_100):
    (copy_of_100 / "100.dat").unlink()
    with pytest.raises(FileNotFoundError, match="signal file .*100.dat is missing"):
        read_record("100", data_dir=copy_of_100.parent)


def test_corrupt_header(copy_of_100):
    (copy_of_100 / "100.hea").write_text("100 two 360 650000\nthis is not a header\n")
    with pytest.raises(ValueError, match="cannot read header .*100.hea"):
        read_record("100", data_dir=copy_of_100.parent)


def test_truncated_signal_file(copy_of_100):
    with open(copy_of_100 / "100.dat", "r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(ValueError, match="cannot read signal of record"):
        read_record("100", data_dir=copy_of_100.parent)


def test_record_without_annotations(copy_of_100):
    (copy_of_100 / "100.atr").unlink()
    record = read_record("100", data_dir=copy_of_100.parent, sampto=36000)
    assert not record.has_annotations
    from ecgseg.pipeline import segment_record

    with pytest.raises(ValueError, match=r"has no reference beats to cut at: no 100.atr; find its R-peaks with peaks='hamilton'"):
        segment_record(record, peaks="annotations")
    beats = segment_record(record)
    assert beats.labels is None and len(beats) > 0


def test_open_record_reads_rate_length_and_any_range(data_dir):
    from ecgseg.records import open_record, read_record

    reader = open_record("100", data_dir=data_dir)
    whole = read_record("100", data_dir=data_dir)
    assert (reader.name, reader.fs, reader.n_samples, reader.channel, reader.units) == ("100", 360.0, 650000, "MLII", "mV")
    assert reader.signal.shape == (650000,) and len(reader.signal) == 650000
    assert np.array_equal(reader.signal[1000:1360], whole.signal[1000:1360])
    assert np.array_equal(np.asarray(reader.signal), whole.signal)
    assert np.array_equal(reader.ann_samples, whole.ann_samples) and reader.has_annotations
    part = reader.read_record(3600, 7200)
    assert part.n_samples == 3600 and part.ann_samples.min() >= 0 and part.ann_samples.max() < 3600
    with pytest.raises(TypeError, match=r"contiguous ranges only: signal\[start:stop\]"):
        reader.signal[::2]
