"""Signal quality in the figures and the report: bands behind the strip for poor signal and ventricular
flutter/fibrillation, hollow dots for poor beats, their counts in the strip's caption and in the report's facts.

Two real cases: MIT-BIH 207 from 1500 s to 1680 s (its ventricular flutter, which the VF filter marks in part, see
test_fibrillation.py) and the first 120 s of MIT-BIH 100 with the Noise Stress Test Database's muscle artefact
(``ma``) added from 40 to 80 s at 0 dB SNR (scaled as nst does: QRS peak-to-peak against noise RMS)."""

from __future__ import annotations

import dataclasses
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.cli import cli

pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install 'ecgseg[plot]')")
from matplotlib.colors import to_rgb  # noqa: E402

FS = 360


@pytest.fixture(scope="module")
def flutter_207(data_dir):
    """MIT-BIH 207, 1500-1680 s (samples from 0 at 1500 s), cut at hamilton's R-peaks."""
    from ecgseg.pipeline import segment_record
    from ecgseg.records import read_record

    record = read_record("207", data_dir=data_dir, sampfrom=1500 * FS, sampto=1680 * FS)
    return record, segment_record(record, peaks="hamilton")


@pytest.fixture(scope="module")
def noisy_100(data_dir):
    """MIT-BIH 100, 0-120 s, with nstdb ``ma`` noise from 40 to 80 s at 0 dB SNR, cut at hamilton's R-peaks."""
    import wfdb

    from ecgseg.pipeline import segment_record
    from ecgseg.records import read_record

    noise_path = data_dir / "nstdb-noise" / "ma"
    if not noise_path.with_suffix(".hea").is_file():
        pytest.skip(f"nstdb noise record not found: {noise_path}.hea")
    record = read_record("100", data_dir=data_dir, sampto=120 * FS)
    noise = wfdb.rdrecord(str(noise_path), physical=False, sampto=120 * FS).d_signal[:, 0].astype(float)
    half = int(0.05 * FS)
    beats = record.ann_samples[(record.ann_samples > half) & (record.ann_samples < 40 * FS)]
    qrs = np.median([np.ptp(record.signal[b - half: b + half + 1]) for b in beats])
    noise = (noise - noise.mean()) / noise.std()  # RMS 1
    signal = record.signal.copy()
    signal[40 * FS:80 * FS] += np.sqrt(2) / 4 * qrs * noise[40 * FS:80 * FS]  # 0 dB: 10 ** (-0 / 20) = 1
    noisy = dataclasses.replace(record, signal=signal)
    return noisy, segment_record(noisy, peaks="hamilton")


def band_patches(ax, colour):
    """The bands (axvspan rectangles) of one face colour."""
    return [p for p in ax.patches if np.allclose(p.get_facecolor()[:3], to_rgb(colour))]


def legend_texts(figure):
    return [t.get_text() for legend in figure.legends for t in legend.get_texts()]


def hollow_offsets(ax):
    return [c.get_offsets()[:, 0] for c in ax.collections if c.get_label() == "_poor beats"]


def test_flutter_and_poor_stretches_are_bands_and_poor_beats_hollow(flutter_207):
    from ecgseg.plot import record_strip
    from ecgseg.plot import POOR_COLOR, VF_COLOR
    from ecgseg.quality import POOR

    record, beats = flutter_207
    assert beats.vf_stretches.tolist() == [[41 * FS, 46 * FS], [59 * FS, 85 * FS], [107 * FS, 140 * FS]]
    figure = record_strip(record, beats, start_s=35, seconds=20)
    ax = figure.axes[0]
    (vf,) = band_patches(ax, VF_COLOR)  # one flutter stretch in view, hatched
    assert vf.get_hatch() == "///" and np.allclose(vf.get_x(), 41.0) and np.allclose(vf.get_x() + vf.get_width(), 46.0)
    poor = band_patches(ax, POOR_COLOR)
    assert len(poor) == 2  # before and after the flutter, never over it
    assert all(p.get_x() + p.get_width() <= 41.0 or p.get_x() >= 46.0 for p in poor)
    in_view = (beats.r_peaks >= 35 * FS) & (beats.r_peaks < 55 * FS)
    doubtful = in_view & (beats.quality < POOR)
    (hollow,) = hollow_offsets(ax)
    assert np.allclose(hollow, beats.r_peaks[doubtful] / FS) and doubtful.sum() == 33
    assert legend_texts(figure)[:2] == ["stretches of poor signal quality (< 0.7): 2",
                                        "stretches of ventricular flutter/fibrillation (no beats cut): 1"]
    assert "hollow: beat in poor-quality signal: 33" in legend_texts(figure)
    assert in_view.sum() == 34
    assert ax.get_title(loc="left") == ("record 207 (MLII), 35-55 s: 34 beats cut, 0 annotated beats missed; 33 beats "
                                        "in poor-quality signal, ventricular flutter/fibrillation 41.0-46.0 s")


def test_noise_makes_a_poor_band_and_clean_signal_none(noisy_100):
    from ecgseg.plot import figure_bytes, record_strip
    from ecgseg.plot import POOR_COLOR, VF_COLOR
    from ecgseg.quality import POOR, poor_stretches

    record, beats = noisy_100
    poor = beats.quality < POOR
    assert poor.sum() > 20 and not poor[beats.r_peaks < 30 * FS].any() and not poor[beats.r_peaks > 95 * FS].any()
    figure = record_strip(record, beats, start_s=35, seconds=20)
    ax = figure.axes[0]
    bands = [(p.get_x(), p.get_x() + p.get_width()) for p in band_patches(ax, POOR_COLOR)]
    stretches = poor_stretches(beats.r_peaks, beats.quality, FS)
    assert len(bands) == ((stretches[:, 1] > 35 * FS) & (stretches[:, 0] < 55 * FS)).sum() >= 1
    shown = beats.r_peaks[poor & (beats.r_peaks >= 35 * FS) & (beats.r_peaks < 55 * FS)] / FS
    assert all(any(a < t < b for a, b in bands) for t in shown)  # every poor beat in view is on a band
    assert band_patches(ax, VF_COLOR) == []
    n_poor = int((poor & (beats.r_peaks >= 35 * FS) & (beats.r_peaks < 55 * FS)).sum())
    assert ax.get_title(loc="left").endswith(f"annotated beats missed; {n_poor} beats in poor-quality signal")
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(figure_bytes(figure))).convert("RGB"))
    band_rgb = 0.4 * np.array(to_rgb(POOR_COLOR)) * 255 + 0.6 * 255  # the band's colour over white
    assert (np.abs(rgb.astype(int) - band_rgb).max(axis=-1) <= 6).mean() > 0.2  # a fifth of the image
    clean = record_strip(record, beats, start_s=0, seconds=10)
    assert len(clean.axes[0].patches) == 0 and hollow_offsets(clean.axes[0]) == []
    assert clean.axes[0].get_title(loc="left") == "record 100 (MLII), 0-10 s: 13 beats cut, 0 annotated beats missed"


def test_quality_not_measured_draws_nothing(record_100, beats_100):
    from ecgseg.plot import record_strip, strip_figure

    assert beats_100.quality is None  # the rule's cut
    figure = record_strip(record_100, beats_100, start_s=0)
    assert len(figure.axes[0].patches) == 0 and not any("quality" in t for t in legend_texts(figure))
    peaks = np.array([100, 500, 900])
    nan = strip_figure(np.zeros(4 * FS), FS, r_peaks=peaks, quality=np.full(3, np.nan), vf_stretches=np.empty((0, 2)))
    assert len(nan.axes[0].patches) == 0 and hollow_offsets(nan.axes[0]) == []
    with pytest.raises(ValueError, match=r"quality has shape \(2,\) for 3 R-peaks; give one value per beat"):
        strip_figure(np.zeros(4 * FS), FS, r_peaks=peaks, quality=[0.1, 0.2])


class Facts(HTMLParser):
    """The report's first table (its facts) as name -> text."""

    def __init__(self):
        super().__init__()
        self.rows, self.cells, self.cell, self.done = {}, [], None, False

    def handle_starttag(self, tag, attrs):
        if tag == "td" and not self.done:
            self.cell = ""

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.cells.append(self.cell)
            self.cell = None
        elif tag == "tr" and not self.done and len(self.cells) == 2:
            self.rows[self.cells[0]] = self.cells[1]
            self.cells = []
        elif tag == "table":
            self.done = True


def report(record, beats):
    from ecgseg.report import record_report

    probabilities = np.eye(5)[np.maximum(beats.labels, 0)]  # the classes the report colours by, given
    page = record_report(record, beats, probabilities, db="mitdb")
    parser = Facts()
    parser.feed(page)
    return page, parser.rows


@pytest.mark.slow
def test_report_of_flutter_says_where_it_is_and_shows_it(flutter_207):
    record, beats = flutter_207
    page, facts = report(record, beats)
    assert facts["ventricular flutter/fibrillation"] == ("3 stretches, 64.0 s in all, no beats counted there: "
                                                         "41.0-46.0 s, 59.0-85.0 s, 107.0-140.0 s")
    assert facts["signal quality"].startswith(f"{beats.n_poor} of {len(beats)} beats poor (quality < 0.7: ")
    assert re.search(r", in \d stretches: 37\.\d-40\.\d s, ", facts["signal quality"])
    # the first strip is at the busiest window of V beats; a second shows the flutter's onset from 39 s
    assert re.findall(r'<img alt="([^"]+)"', page)[:3] == [
        "strip coloured by reference class", "strip coloured by predicted class",
        "strip at ventricular flutter/fibrillation"]
    assert "<h2>Strip from 39 s: ventricular flutter/fibrillation</h2>" in page
    assert "Hatched indigo bands: ventricular flutter/fibrillation, where no beats are cut." in page


@pytest.mark.slow
def test_report_of_noise_counts_poor_beats_and_shows_their_stretch(noisy_100):
    record, beats = noisy_100
    page, facts = report(record, beats)
    assert facts["ventricular flutter/fibrillation"] == "none found"
    assert re.fullmatch(rf"{beats.n_poor} of {len(beats)} beats poor \(quality < 0\.7: agreement of two QRS detectors "
                        r"in the 10 s around each beat, bSQI\), in \d stretch(es)?: (\d+\.\d-\d+\.\d s(, )?)+",
                        facts["signal quality"]), facts["signal quality"]
    assert "<h2>Strip from " in page and "s: poor signal quality</h2>" in page
    assert "Yellow bands: poor signal quality (beat quality &lt; 0.7); their beats are hollow" in page


def test_report_of_the_rule_cut_says_quality_was_not_measured(record_100, beats_100):
    record = dataclasses.replace(record_100, signal=record_100.signal[:60 * FS])
    from ecgseg.pipeline import segment_record

    beats = segment_record(record)
    page, facts = report(record, beats)
    assert facts["signal quality"] == ("not measured for the paper's rule R-peaks (beats cut at a detector's R-peaks "
                                       "have it)")
    assert "ventricular flutter/fibrillation" not in facts
    assert page.count("Signal quality not measured for the rule's cut: no bands.") == 1


def test_cli_plot_record_caption_counts_poor_beats_and_flutter(flutter_207, tmp_path):
    """A record given by path (207's 1500-1680 s written as WFDB, no annotations): the caption line on stderr."""
    import wfdb

    record, beats = flutter_207
    wfdb.wrsamp("207", fs=FS, units=["mV"], sig_name=["MLII"], p_signal=record.signal[:, None], fmt=["16"],
                adc_gain=[200.0], baseline=[0], write_dir=str(tmp_path))
    out = tmp_path / "strip.png"
    result = CliRunner().invoke(cli, ["plot", "record", str(tmp_path / "207"), "--peaks", "hamilton", "--start", "35",
                                      "--seconds", "20", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == (f"{out}: record 207 (MLII), 35-55 s: 34 beats cut (no reference annotations); "
                                     "33 beats in poor-quality signal, ventricular flutter/fibrillation 41.0-46.0 s; "
                                     "beats cut at --peaks hamilton")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
