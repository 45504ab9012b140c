"""Figures (Agg PNGs of the expected size with real content), the plot/report commands, and the HTML report in a browser."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from ecgseg.cli import cli
from ecgseg.labels import AAMI_CLASSES

from .conftest import REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
N_RGB = (0x1F, 0x77, 0xB4)  # CLASS_COLORS["N"]


@pytest.fixture(scope="module")
def mpl():
    return pytest.importorskip("matplotlib", reason="matplotlib is not installed (pip install 'ecgseg[plot]')")


@pytest.fixture(scope="module")
def beats_100(record_100):
    from ecgseg.pipeline import segment_record

    return segment_record(record_100)  # the paper's rule peaks: many missed beats, a few unlabelled ones


def pixels(png: bytes) -> np.ndarray:
    """The RGB pixels of a PNG, after checking it is one."""
    from PIL import Image

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("RGB"))


def assert_real_image(png: bytes, width: int, height: int, min_colours: int = 40) -> np.ndarray:
    """A PNG of exactly width x height pixels, neither blank nor filled, with many distinct colours."""
    rgb = pixels(png)
    assert rgb.shape == (height, width, 3)
    inked = (rgb < 245).any(axis=2).mean()
    assert 0.02 < inked < 0.9, f"{inked:.3f} of the pixels are not white"
    colours = distinct(rgb)
    assert colours >= min_colours, f"only {colours} distinct colours"
    return rgb


def distinct(rgb: np.ndarray) -> int:
    """Distinct colours of an RGB image (packed into one integer each: np.unique over rows is slow)."""
    packed = rgb.reshape(-1, 3).astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.int32)
    return np.unique(packed).size


def near(rgb: np.ndarray, colour, tolerance: int = 30) -> int:
    """Pixels within ``tolerance`` (per channel) of a colour."""
    return int(np.count_nonzero((np.abs(rgb.astype(int) - np.array(colour)) <= tolerance).all(axis=-1)))


# --- the figures ---


def test_record_strip_marks_cut_and_missed_beats_and_window_edges(mpl, record_100, beats_100):
    from ecgseg.plot import figure_bytes, missed_reference_beats, record_strip

    missed, missed_classes = missed_reference_beats(record_100, beats_100.r_peaks)
    assert missed.size == beats_100.n_missed == 1201  # the same matching as label_beats
    start, seconds = 1165.0, 10.0
    figure = record_strip(record_100, beats_100, start_s=start, seconds=seconds)
    ax = figure.axes[0]
    in_view = (beats_100.r_peaks >= start * 360) & (beats_100.r_peaks < (start + seconds) * 360)
    offsets = {c.get_label().split(" ")[0]: c.get_offsets()[:, 0] for c in ax.collections}
    for index, name in enumerate(AAMI_CLASSES):
        expected = beats_100.r_peaks[in_view & (beats_100.labels == index)] / 360
        assert np.allclose(offsets.get(name, []), expected)
    assert offsets["N"].size and offsets["S"].size  # this stretch holds both
    crosses = [c for c in ax.collections if c.get_label().startswith("missed annotated beat")]
    assert np.allclose(crosses[0].get_offsets()[:, 0], missed[(missed >= start * 360) & (missed < (start + seconds) * 360)] / 360)
    edges = sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--")
    assert edges == [1170.0]  # 10 s windows from the record's start
    assert ax.get_ylabel() == "MLII (mV)" and ax.get_xlim() == (start, start + seconds)
    rgb = assert_real_image(figure_bytes(figure), 1500, 400)
    assert near(rgb, N_RGB) > 50 and near(rgb, (0xFF, 0x7F, 0x0E)) > 20  # N and S dots drawn


def test_predicted_strip_rings_disagreements(mpl, record_100, beats_100):
    from ecgseg.plot import record_strip

    predicted = np.where(beats_100.labels == 0, 1, 0)  # every labelled N called S and back
    figure = record_strip(record_100, beats_100, start_s=0, predicted=predicted)
    ax = figure.axes[0]
    rings = [c for c in ax.collections if c.get_label().startswith("differs from the reference")]
    in_view = (beats_100.r_peaks < 10 * 360) & (beats_100.labels >= 0)
    assert len(rings) == 1 and rings[0].get_offsets().shape[0] == in_view.sum() > 0
    assert figure.legends[0].get_title().get_text() == "cut beats by predicted class"


def test_strip_refuses_a_start_outside_the_record():
    from ecgseg.plot import strip_figure

    with pytest.raises(ValueError, match=r"start 30 s is outside the record \(20.0 s long\); pick a start in \[0, 20\)"):
        strip_figure(np.zeros(20 * 360), 360, start_s=30)


def test_beats_figure_panels_counts_and_sample(mpl, beats_100):
    from ecgseg.plot import beats_figure, figure_bytes

    figure = beats_figure(beats_100.segments, beats_100.labels, max_per_class=50)
    counts = np.bincount(beats_100.labels + 1, minlength=6)
    titles = [ax.get_title() for ax in figure.axes]
    assert titles[0] == f"N: {counts[1]} beats, 50 drawn" and titles[1] == f"S: {counts[2]} beats"
    assert titles[2:5] == ["V: 0 beats", "F: 0 beats", "Q: 0 beats"]
    assert titles[5] == f"unlabelled (no reference beat): {counts[0]} beat"
    lines = figure.axes[0].collections[0].get_segments()
    assert len(lines) == 50 and all(np.isin(line[:, 1], beats_100.segments).all() for line in lines[:3])
    mean = figure.axes[0].lines[0].get_ydata()
    assert np.isfinite(mean[:100]).all()  # most beats have signal there (the mean's own test: below)
    assert_real_image(figure_bytes(figure), 1500, 700)


def test_overlays_draw_each_beat_over_its_signal_only(mpl, beats_100):
    """No zero padding drawn as signal: each line spans its beat's [first, stop), the mean is over the beats with
    signal at each time and stops where fewer than a quarter of them reach."""
    from ecgseg.plot import beats_figure

    normal = beats_100.labels == 0
    figure = beats_figure(beats_100.segments, beats_100.labels, spans=beats_100.spans, max_per_class=5000)
    lines = figure.axes[0].collections[0].get_segments()
    spans = beats_100.spans[normal]
    assert sorted(len(line) for line in lines) == sorted((spans[:, 1] - spans[:, 0])[spans[:, 1] > spans[:, 0]])
    # no line runs into the padding: a drawn 0 is its window's minimum, at most one per beat (a beat stays in its window)
    assert sum(int(np.count_nonzero(line[:, 1] == 0)) for line in lines) <= len(lines)
    mean = figure.axes[0].lines[0].get_ydata()
    segments, columns = beats_100.segments[normal], np.arange(beats_100.segments.shape[1])
    inside = (columns >= spans[:, :1]) & (columns < spans[:, 1:])
    reach = inside.sum(axis=0) >= 0.25 * normal.sum()
    assert np.array_equal(np.isfinite(mean), reach)
    assert np.allclose(mean[reach], (segments * inside).sum(axis=0)[reach] / inside.sum(axis=0)[reach])
    # without spans (a plain .npy): up to each beat's last non-zero sample
    plain = beats_figure(beats_100.segments, beats_100.labels, max_per_class=5000).axes[0].collections[0]
    assert max(len(line) for line in plain.get_segments()) <= 187
    assert all(line[-1, 1] != 0 for line in plain.get_segments())


def test_beats_figure_without_labels_draws_all_beats_in_one_panel(mpl):
    from ecgseg.plot import beats_figure, figure_bytes

    figure = beats_figure(np.random.default_rng(1).random((30, 187)), pre_r_s=0.25)
    assert [ax.get_title() for ax in figure.axes] == ["all beats (no labels): 30 beats"]
    assert figure.axes[0].get_xlim()[0] == pytest.approx(-0.248, abs=1e-3)  # 31 samples at 125 Hz before the R-peak
    assert_real_image(figure_bytes(figure), 800, 450)


def test_confusion_figure_counts_and_row_shares(mpl):
    from ecgseg.plot import confusion_figure, figure_bytes

    confusion = np.array([[90, 10, 0, 0, 0], [3, 1, 0, 0, 0], [0, 0, 5, 0, 0], [0] * 5, [1, 0, 0, 0, 0]])
    figure = confusion_figure(confusion, title="t")
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts[:2] == ["90\n90%", "10\n10%"] and texts[5:7] == ["3\n75%", "1\n25%"] and texts[15] == "-"
    shades = figure.axes[0].images[0].get_array()
    assert np.allclose(shades.sum(axis=1), [1, 1, 1, 0, 1])
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()][:2] == ["N (100)", "S (4)"]
    assert_real_image(figure_bytes(figure), 640, 540)
    with pytest.raises(ValueError, match=r"confusion matrix has shape \(2, 2\), expected \(5, 5\)"):
        confusion_figure([[1, 0], [0, 1]])


def test_probability_figure_counts_every_beat(mpl):
    from ecgseg.plot import figure_bytes, probability_figure

    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.full(5, 0.3), 400)
    labels = rng.integers(-1, 5, 400)
    figure = probability_figure(probabilities, labels)
    for index, ax in enumerate(figure.axes[:5]):
        assert ax.get_title() == f"P({AAMI_CLASSES[index]}) per beat"
        heights = sum(patch.get_height() for patch in ax.patches)  # stacked: the top layer's heights are cumulative
        assert heights > 0
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert legend == [f"reference {AAMI_CLASSES[index]}: {(labels == index).sum()}", f"other beats: {(labels != index).sum()}"]
    right = (probabilities.argmax(axis=1) == labels).sum()
    assert [t.get_text() for t in figure.axes[5].get_legend().get_texts()][0] == f"predicted = reference: {right}"
    assert_real_image(figure_bytes(figure), 1500, 640)
    with pytest.raises(ValueError, match=r"probabilities must be a non-empty \(n_beats, 5\) array"):
        probability_figure(np.ones((3, 4)))


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_save_figure_writes_the_format_of_the_suffix_atomically(mpl, tmp_path, suffix, magic):
    from ecgseg.plot import confusion_figure, save_figure

    target = tmp_path / f"c{suffix}"
    save_figure(confusion_figure(np.eye(5, dtype=int)), target)
    assert target.read_bytes().startswith(magic) and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_save_figure_refuses_an_unknown_format(mpl, tmp_path):
    from ecgseg.plot import confusion_figure, save_figure

    with pytest.raises(ValueError, match=r"cannot tell the image format of .*c.jpg: name it .png, .svg or .pdf"):
        save_figure(confusion_figure(np.eye(5, dtype=int)), tmp_path / "c.jpg")
    assert list(tmp_path.iterdir()) == []


# --- the commands ---


def test_cli_plot_record(mpl, data_dir, tmp_path):
    out = tmp_path / "strip.png"
    result = CliRunner().invoke(cli, ["plot", "record", "100", "--data-dir", str(data_dir), "--start", "1165", "--predict", "-o", str(out)])
    assert result.exit_code == 0, result.output
    # classified: cut at every beat's R-peak by default, and said so, with the model line
    assert result.stderr.splitlines() == [
        f"{out}: record 100 (MLII), 1165-1175 s: 13 beats cut, 0 annotated beats missed; beats cut at hamilton R-peaks, "
        "which find nearly every beat (the default here; --peaks rule for the paper's)",
        "model: context_ds1.pt, the shipped context (rhythm + template, pre-R) model, the best for 100: its R-peaks come from the "
        "hamilton detector and it holds beats cut 0.25 s before them"]
    rule = CliRunner().invoke(cli, ["plot", "record", "100", "--data-dir", str(data_dir), "--start", "1165", "-o",
                                    str(out)])
    assert rule.stderr.strip() == (f"{out}: record 100 (MLII), 1165-1175 s: 9 beats cut, 4 annotated beats missed; "
                                   "beats cut at the paper's rule's R-peaks (the default here; --peaks hamilton finds "
                                   "every beat)")
    assert_real_image(out.read_bytes(), 1500, 400)
    small = tmp_path / "small.png"
    result = CliRunner().invoke(cli, ["plot", "record", "100", "--data-dir", str(data_dir), "--dpi", "50", "-q", "-o", str(small)])
    assert result.exit_code == 0 and result.output == ""
    assert_real_image(small.read_bytes(), 750, 200)


def test_cli_plot_record_bad_start_writes_nothing(mpl, data_dir, tmp_path):
    out = tmp_path / "strip.png"
    result = CliRunner().invoke(cli, ["plot", "record", "100", "--data-dir", str(data_dir), "--start", "5000", "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: start 5000 s is outside the record (1805.6 s long); pick a start in [0, 1806)"
    assert list(tmp_path.iterdir()) == []


def test_cli_plot_beats(mpl, beats_100, tmp_path):
    from ecgseg.beatfile import beat_arrays, save_beats

    npz, npy, out = tmp_path / "b.npz", tmp_path / "b.npy", tmp_path / "beats.png"
    save_beats(npz, beat_arrays(beats_100, "100"))
    np.save(npy, beats_100.segments)
    runner = CliRunner()
    result = runner.invoke(cli, ["plot", "beats", str(npz), "-o", str(out), "--max-per-class", "100"])
    assert result.exit_code == 0, result.output
    counts = np.bincount(beats_100.labels + 1, minlength=6)
    assert f"{len(beats_100)} beats; N: {counts[1]} beats, 100 drawn; S: {counts[2]} beats; V: 0 beats" in result.stderr
    assert_real_image(out.read_bytes(), 1500, 700)
    predicted = runner.invoke(cli, ["plot", "beats", str(npy), "--predict", "-o", str(out)])
    assert predicted.exit_code == 0 and "; N: " in predicted.stderr and "class means" in predicted.stderr
    unlabelled = runner.invoke(cli, ["plot", "beats", str(npy), "-o", str(out)])
    assert unlabelled.exit_code == 0
    assert unlabelled.stderr.splitlines() == [
        f"{npy} holds no labels: all beats in one panel (pass --predict to group them by the classifier's class)",
        f"{out}: {len(beats_100)} beats; all beats (no labels): {len(beats_100)} beats, 200 drawn"]
    assert_real_image(out.read_bytes(), 800, 450)
    piped = subprocess.run([sys.executable, "-m", "ecgseg", "plot", "beats", "-", "-o", str(out), "-q"], cwd=REPO,
                           input=npz.read_bytes(), capture_output=True)
    assert (piped.returncode, piped.stderr) == (0, b"")
    assert_real_image(out.read_bytes(), 1500, 700)


def test_cli_evaluate_plots_the_confusion_matrix(mpl, beats_100, tmp_path):
    from ecgseg.beatfile import beat_arrays, save_beats

    data, out = tmp_path / "b.npz", tmp_path / "confusion.png"
    save_beats(data, beat_arrays(beats_100, "100"))
    args = ["evaluate", str(data), "--protocol", "intra", "--json"]
    plain = CliRunner().invoke(cli, args)
    plotted = CliRunner().invoke(cli, args + ["--plot", str(out)])
    assert plotted.exit_code == 0, plotted.output
    assert plotted.stdout == plain.stdout  # the plot adds a file, nothing on stdout
    assert_real_image(out.read_bytes(), 640, 540)


ARGS = {
    "plot record": ["plot", "record", "100", "-o", "{out}.png"],
    "plot beats": ["plot", "beats", "missing.npz", "-o", "{out}.png"],
    "evaluate --plot": ["evaluate", "missing.npz", "--plot", "{out}.png"],
    "report record": ["report", "record", "100", "-o", "{out}.html"],
}


@pytest.mark.parametrize("command", list(ARGS))
def test_without_matplotlib_commands_say_how_to_install_it(tmp_path, command):
    out = str(tmp_path / "out")
    argv = [a.format(out=out) for a in ARGS[command]]
    # None in sys.modules makes `import matplotlib` raise ImportError, as on a machine without it
    code = f"import sys; sys.modules['matplotlib'] = None; from ecgseg.cli import cli; cli({argv!r}, prog_name='ecgseg')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: plots need matplotlib, which is not installed; install it with: pip install 'ecgseg[plot]'"
    assert list(tmp_path.iterdir()) == []


# --- the HTML report ---


@pytest.fixture(scope="module")
def report_html(mpl, data_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    result = CliRunner().invoke(cli, ["report", "record", "100", "--data-dir", str(data_dir), "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(rf"model: context_ds1.pt, .*\n{path}: record 100, 2272 beats, 0\.\d MB; beats cut at hamilton "
                        r"R-peaks, which find nearly every beat \(the default here; --peaks rule for the paper's\)",
                        result.stderr.strip())
    return path


def test_report_is_self_contained_with_its_figures_inlined(report_html):
    page = report_html.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"<script|<link|<iframe|@import|url\(|(src|href)=\"(?!data:)", page)  # nothing fetched at view time
    images = re.findall(r'<img alt="([^"]+)" width="(\d+)" height="(\d+)" src="data:image/png;base64,([^"]+)">', page)
    assert [alt for alt, *_ in images] == [
        "strip coloured by reference class", "strip coloured by predicted class", "confusion matrix", "beat overlays",
        "class probability histograms",
    ]
    for _, width, height, data in images:
        assert_real_image(base64.b64decode(data), int(width), int(height))
    for text in ("Strip from 878 s", "reference beats found</td><td>2272 of 2273 (100.0%)",
                 "<td>record</td><td>100 in database mitdb (", "<td>N</td><td class=\"n\">2238</td>",
                 "Model card", "Figures on unseen patients", "macro-F1 (N,S,V,F)",
                 "Record 100 is in DS2, the test records of the inter-patient protocol"):
        assert text in page


def test_the_report_renders_the_card_of_the_model_it_used_as_html(report_html):
    """The card's Markdown tables become HTML tables; only the section of the model shown is there (its claims, not
    the other model's); no Markdown table rows, scratch paths or notes to colleagues."""
    from html.parser import HTMLParser

    page = report_html.read_text()
    card = page[page.index('<div class="card">'):]

    class Tables(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.cells, self.cell = [], None, None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.cells = []
            elif tag in ("td", "th") and self.cells is not None:
                self.cell = ""

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell is not None:
                self.cells.append(self.cell.strip())
                self.cell = None
            elif tag == "tr" and self.cells is not None:
                self.rows.append(self.cells)
                self.cells = None

    parser = Tables()
    parser.feed(card)
    assert parser.rows[0][0] == "file" and "reads" in parser.rows[0]
    assert [row[0] for row in parser.rows[1:4]] == ["weights/context_ds1.pt", "weights/kachuee_ds1.pt",
                                                     "weights/intra_context.pt"]
    assert "|---" not in page and not re.search(r"\n\|.*\|\n", card)
    assert "The context model (<code>context_ds1.pt</code>)" in card and "Limits" in card  # the model shown
    assert "The waveform-only model (<code>kachuee_ds1.pt</code>)" not in card  # not the other models
    assert "Development history" not in card and "How the models were chosen" not in card
    assert not re.search(r"/tmp/|/work/|/home/| of mine|helpers", card)


def screenshot(html_path, png_path, tmp_path) -> np.ndarray:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png_path}", "--window-size=1200,3000",
               f"file://{html_path}"]
    subprocess.run(command, capture_output=True, timeout=120, check=True)
    return pixels(png_path.read_bytes())


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_report_renders_its_images_in_headless_chromium(report_html, tmp_path):
    shot = screenshot(report_html, tmp_path / "page.png", tmp_path)
    assert shot.shape == (3000, 1200, 3)
    # the same page with every image's data broken: what the browser shows when images fail to render
    broken = tmp_path / "broken.html"
    broken.write_text(re.sub(r"base64,[^\"]+", "base64,AAAA", report_html.read_text()))
    without = screenshot(broken, tmp_path / "broken.png", tmp_path)
    colours = [distinct(s) for s in (shot, without)]
    drawn = [near(s, N_RGB, 12) for s in (shot, without)]  # the N class colour is only in the figures
    assert drawn[0] > 1000 and drawn[1] == 0, drawn
    assert colours[0] > 5 * colours[1], colours
    # the images' boxes: bands of rows where the two pages differ (the layout is the same, width and height are given)
    differs = (shot != without).any(axis=2).any(axis=1)
    edges = np.flatnonzero(np.diff(np.r_[0, differs.astype(int), 0]))
    bands = [(top, bottom) for top, bottom in zip(edges[::2], edges[1::2]) if bottom - top > 150]
    assert len(bands) >= 4, bands  # two strips, the confusion matrix and the beat overlays fit in the first 3000 rows
    for top, bottom in bands:
        region = shot[top:bottom]
        assert distinct(region) > 200 and (region < 245).any(axis=2).mean() > 0.02


@pytest.fixture(scope="module")
def unannotated(data_dir, tmp_path_factory):
    """Record 100 without its .atr: a record with no reference annotations."""
    folder = tmp_path_factory.mktemp("unannotated")
    for suffix in (".hea", ".dat"):
        shutil.copy(data_dir / "mitdb" / f"100{suffix}", folder / f"100{suffix}")
    return folder / "100"


def test_cli_plot_record_without_annotations(mpl, unannotated, beats_100, tmp_path):
    out = tmp_path / "strip.png"
    result = CliRunner().invoke(cli, ["plot", "record", str(unannotated), "-o", str(out)])
    assert result.exit_code == 0, result.output
    n_cut = np.count_nonzero(beats_100.r_peaks < 10 * 360)  # the same signal cuts the same beats
    assert result.stderr.strip() == (f"{out}: record 100 (MLII), 0-10 s: {n_cut} beats cut (no reference annotations); "
                                     "beats cut at the paper's rule's R-peaks (the default here; --peaks hamilton "
                                     "finds every beat)")
    rgb = assert_real_image(out.read_bytes(), 1500, 400)
    assert near(rgb, (0x7F, 0x7F, 0x7F), 8) > 30 and near(rgb, N_RGB) == 0  # grey dots: no classes


def test_report_without_annotations_shows_predicted_classes(mpl, unannotated):
    from ecgseg.classify import classify_beats
    from ecgseg.pipeline import segment_record
    from ecgseg.records import read_record
    from ecgseg.report import model_facts, record_report

    record = read_record(unannotated)
    beats = segment_record(record)
    probabilities, classifier = classify_beats(beats, name="100")
    page = record_report(record, beats, probabilities, start_s=0, model_facts=model_facts(classifier))
    assert "none: no 100.atr (classes below are predicted only)" in page and "confusion matrix" not in page
    assert f"<td>record</td><td>100, read from {unannotated} (given by path, no database)</td>" in page  # not "(mitdb)"
    assert re.findall(r'<img alt="([^"]+)"', page) == ["strip coloured by predicted class", "beat overlays", "class probability histograms"]
    counts = np.bincount(probabilities.argmax(axis=1), minlength=5)
    assert f'<tr><td>N</td><td class="n">{counts[0]}</td></tr>' in page
    with pytest.raises(ValueError, match=r"probabilities have shape \(3, 5\) for 1073 beats"):
        record_report(record, beats, probabilities[:3])


def test_matplotlib_and_torch_load_only_when_a_figure_or_prediction_is_made():
    code = ("import sys, ecgseg.cli, ecgseg.plot, ecgseg.report; ecgseg.cli.cli(['plot', '--help'], standalone_mode=False); "
            "print(sorted(m for m in ('matplotlib', 'torch', 'wfdb') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("command", list(ARGS))
def test_commands_refuse_an_output_folder_that_does_not_exist_before_any_work(mpl, tmp_path, command):
    out = str(tmp_path / "nowhere" / "out")
    result = CliRunner().invoke(cli, [a.format(out=out) for a in ARGS[command]])
    assert result.exit_code == 1
    option = "--plot" if command == "evaluate --plot" else "-o"
    assert re.fullmatch(rf"Error: cannot write {out}\.(png|html) \({option}\): the folder {tmp_path}/nowhere does not "
                        "exist; create it first",
                        result.stderr.strip())


def test_cli_plot_beats_takes_the_rate_from_the_beat_file(mpl, data_dir, tmp_path):
    npz = tmp_path / "b250.npz"
    cut = CliRunner().invoke(cli, ["segment", "record", "100", "--data-dir", str(data_dir), "--fs-out", "250",
                                   "--length", "374", "-o", str(npz), "-q"])
    assert cut.exit_code == 0, cut.output
    assert float(np.load(npz)["fs_out"]) == 250.0
    images = {}
    for name, extra in {"file": [], "given 250": ["--fs-out", "250"], "given 125": ["--fs-out", "125"]}.items():
        out = tmp_path / f"{name}.png"
        result = CliRunner().invoke(cli, ["plot", "beats", str(npz), "-o", str(out), "--max-per-class", "20", *extra])
        assert result.exit_code == 0, result.output
        images[name] = out.read_bytes()
    assert images["file"] == images["given 250"] and images["file"] != images["given 125"]  # 1.5 s, not 3 s, of time axis
