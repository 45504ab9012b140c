"""Messages name settings as the caller gives them: ``--peaks hamilton`` on the command line, ``peaks='hamilton'``
in Python (one mechanism, :mod:`ecgseg.terms`), and ``--peaks`` offers exactly the names the library knows."""

import numpy as np
import pytest
from click.testing import CliRunner

import ecgseg
from ecgseg.cli import cli
from ecgseg.terms import command_line, on_command_line, say, setting


def test_setting_and_say_follow_the_caller():
    assert not on_command_line()
    assert (setting("peaks", "rule"), setting("pre_r_s", 0.25), setting("chunk_s")) == ("peaks='rule'", "pre_r_s=0.25",
                                                                                        "chunk_s=")
    assert say("on the command line", "in Python") == "in Python"
    with command_line():
        assert on_command_line()
        assert (setting("peaks", "rule"), setting("pre_r_s", 0.25), setting("chunk_s")) == ("--peaks rule",
                                                                                            "--pre-r-s 0.25",
                                                                                            "--chunk-s")
        assert say("on the command line", "in Python") == "on the command line"
    assert not on_command_line()


def test_fetch_messages_use_the_same_mechanism():
    from ecgseg._http import again, example, term

    assert (term("base_url"), example("x/1.0.0"), again()) == ("base_url=", "fetch('x/1.0.0')", "call fetch again")
    with command_line():
        assert (term("base_url"), example("x/1.0.0"), again()) == ("--base-url", "`ecgseg fetch x/1.0.0`",
                                                                    "run the same command again")


def test_peaks_choices_are_the_registered_detectors_and_annotations():
    from ecgseg.peaks import DETECTORS
    from ecgseg.scheme import DETECTOR_NAMES, PEAKS, RECOMMENDED_PEAKS

    assert set(DETECTOR_NAMES) == set(DETECTORS) and DETECTOR_NAMES[0] == "rule"
    assert set(PEAKS) == set(DETECTORS) | {"annotations"} and RECOMMENDED_PEAKS in DETECTORS
    help_text = CliRunner().invoke(cli, ["segment", "record", "--help"]).output
    assert "--peaks [rule|annotations|hamilton]" in help_text


@pytest.mark.parametrize("command", [["segment", "record", "100"], ["segment", "database"], ["plot", "record", "100"],
                                     ["report", "record", "100"]])
def test_an_unknown_peaks_name_is_refused_with_the_choices(command):
    result = CliRunner().invoke(cli, [*command, "--peaks", "magic", "-o", "x.npz"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: Invalid value for '--peaks': 'magic' is not one of 'rule', 'annotations', 'hamilton'.")


def test_the_same_error_in_python_and_on_the_command_line(data_dir):
    path = data_dir / "ptbdb" / "patient001" / "s0010_re"  # a record without reference annotations
    if not path.with_suffix(".hea").is_file():
        pytest.skip("the PTB record ptbdb/patient001/s0010_re is not in the data folder")
    with pytest.raises(ValueError) as python:
        ecgseg.segment_record(str(path), peaks="annotations")
    assert str(python.value) == ("record 's0010_re' has no reference beats to cut at: no s0010_re.atr; find its "
                                 "R-peaks with peaks='hamilton'")
    result = CliRunner().invoke(cli, ["segment", "record", str(path), "--peaks", "annotations", "-o", "never.npz"])
    assert result.exit_code == 1
    assert result.output == ("Error: record 's0010_re' has no reference beats to cut at: no s0010_re.atr; find its "
                             "R-peaks with --peaks hamilton\n")


def test_library_peaks_errors_say_what_the_library_takes():
    signal = np.exp(-((np.arange(20 * 360) / 360 % 0.8) - 0.1) ** 2 / 2e-4)
    with pytest.raises(ValueError) as error:
        ecgseg.segment(signal, 360, peaks="pantompkins")
    assert str(error.value) == ("unknown peaks 'pantompkins'; give a detector ('rule', 'hamilton') or R-peak sample "
                                "indices (an integer array)")
    with pytest.raises(ValueError) as error:
        ecgseg.segment(signal, 360, peaks="annotations")
    assert str(error.value) == ("peaks='annotations' cuts at a record's reference beats, which a signal does not have: "
                                "use ecgseg.segment_record(name, peaks='annotations'), or pass their sample indices as "
                                "peaks=")
