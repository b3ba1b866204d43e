"""auto.report: one self-contained HTML file with its sections, embedded images and no request outside the file; and,
where Chromium is installed, the page as a browser renders it."""

import base64
import html.parser
import json
import re
import shutil
import struct
import subprocess

import pytest

from keras_defaults import DataError, report
from keras_defaults.errors import ConfigTypeError

EXPECTED_SECTIONS = ["Summary", "Metrics", "Plots", "Feature importance", "Columns", "Configuration"]


class Page(html.parser.HTMLParser):
    """What a check of the report needs: headings, section ids, images, every src/href, the text."""

    def __init__(self, text):
        super().__init__()
        self.headings, self.images, self.links, self.sections, self.scripts = [], [], [], [], 0
        self.text, self._heading = [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("h2", "h3"):
            self._heading = (tag, [])
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "img":
            self.images.append(attrs)
        if tag == "script":
            self.scripts += 1
        self.links += [value for name, value in attrs.items() if name in ("src", "href", "srcset", "action")]

    def handle_endtag(self, tag):
        if self._heading and tag == self._heading[0]:
            self.headings.append((tag, "".join(self._heading[1]).strip()))
            self._heading = None

    def handle_data(self, data):
        self.text.append(data)
        if self._heading:
            self._heading[1].append(data)


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def held_out():
    from conftest import mixed_frame

    return mixed_frame().drop(columns=["price", "label"])


@pytest.fixture(scope="module")
def binary_report(fitted_binary, tmp_path_factory):
    auto, data = fitted_binary
    path = auto.report(tmp_path_factory.mktemp("report") / "report.html", data.drop(columns=["price", "label"]),
                       n_repeats=2, seed=0)
    return auto, path, Page(path.read_text(encoding="utf-8"))


def test_the_report_has_every_section_in_order(binary_report):
    auto, path, page = binary_report
    assert path.suffix == ".html" and path.is_file()
    assert [text for tag, text in page.headings if tag == "h2"] == EXPECTED_SECTIONS
    assert page.sections == list(report.SECTIONS)
    text = " ".join(" ".join(page.text).split())
    assert "Predicts binary (boolean, 2 classes) from" in text
    assert "rows evaluated" in text and "roc_auc" in text  # the primary metric's card
    for metric, value in auto.evaluate(held_out()).items():
        assert metric in text and report._number(value) in text
    for column in auto.inputs_:
        assert column in text  # the explain table
    assert "restore_best_weights: true" in text  # the merged configuration, as YAML


def test_the_images_are_embedded_pngs_and_nothing_is_requested(binary_report):
    _, path, page = binary_report
    captions = [image["alt"] for image in page.images]
    assert captions == ["Training curves", "Confusion matrix: binary", "Calibration: binary", "ROC curve: binary",
                        "Precision-recall: binary", "Feature importance: binary"]
    for image in page.images:
        assert image["src"].startswith("data:image/png;base64,")
        width, height = _png_size(base64.b64decode(image["src"].split(",", 1)[1]))
        assert width > 200 and height > 200
    # Links only inside the page (the contents), images only inline: the file opens offline and reports nothing.
    assert all(link.startswith(("#", "data:")) for link in page.links), page.links
    assert page.scripts == 0
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", path.read_text(encoding="utf-8"))
    assert "@import" not in path.read_text(encoding="utf-8") and "url(" not in path.read_text(encoding="utf-8")


def test_the_importance_table_is_the_automater_s(binary_report):
    auto, path, page = binary_report
    table = auto.feature_importance(held_out(), n_repeats=2, seed=0)
    text = " ".join(page.text)
    assert f"Metric: {table.attrs['metric']}." in text
    rendered = [cell.strip() for cell in page.text if cell.strip() in table.index]
    assert rendered[:len(table)] == list(table.index)  # the table's rows, highest importance first


def test_values_are_escaped(fitted_binary, tmp_path):
    auto, data = fitted_binary
    text = report.build(auto, data.drop(columns=["price", "label"]), importance=False,
                        title="<script>alert(1)</script>")
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_a_report_of_several_targets_has_a_part_per_target(fitted_multi, tmp_path):
    auto, data = fitted_multi
    page = Page(report.build(auto, data.drop(columns=["binary"]), importance=False))
    assert ("h3", "label") in page.headings and ("h3", "price") in page.headings
    captions = [image["alt"] for image in page.images]
    assert captions == ["Training curves", "Confusion matrix: label", "Calibration: label",
                        "Actual against predicted: price", "Residuals against predicted: price"]
    assert "Left out (importance=False)." in " ".join(page.text)


def test_a_plot_that_cannot_be_drawn_is_a_note(fitted_binary):
    auto, data = fitted_binary
    one_class = data[data["binary"] == 1].drop(columns=["price", "label"])
    page = Page(report.build(auto, one_class, importance=False))
    text = " ".join(page.text)
    assert "ROC curve: A ROC curve needs rows of both classes" in text
    assert "Confusion matrix: binary" in [image["alt"] for image in page.images]


def test_without_matplotlib_the_report_says_what_to_install(fitted_binary, without_matplotlib):
    auto, data = fitted_binary
    page = Page(report.build(auto, data.drop(columns=["price", "label"]), importance=False))
    assert page.images == []
    assert "The plots need matplotlib: pip install 'keras_defaults[plots]'" in " ".join(page.text)
    assert [text for tag, text in page.headings if tag == "h2"] == EXPECTED_SECTIONS


def test_bad_arguments_say_what_was_expected(fitted_binary, tmp_path):
    auto, data = fitted_binary
    with pytest.raises(DataError, match=r"must end in \.html.*Did you mean '.*report\.html'"):
        auto.report(tmp_path / "report.pdf", data)
    with pytest.raises(DataError, match=r"lacks target column\(s\) \['binary'\]"):
        auto.report(tmp_path / "report.html", data.drop(columns=["binary"]), importance=False)
    assert not (tmp_path / "report.html").exists()
    # The rows first and the path second was a raw TypeError from deep in the writer.
    with pytest.raises(ConfigTypeError, match=r"report\(path, data\) takes the HTML file's path first.*"
                                              r"Received: path of type DataFrame"):
        auto.report(data, tmp_path / "report.html")


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Chromium is not installed: scripts/render_report.sh installs Debian's package")
def test_chromium_renders_the_report(binary_report, tmp_path):
    """The page as a browser draws it: a PNG of the window's size, with more than a blank page's colours."""
    _, path, _ = binary_report
    shot = tmp_path / "report.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1200,3000", path.resolve().as_uri()],
                   check=True, capture_output=True, timeout=180)
    data = shot.read_bytes()
    assert _png_size(data) == (1200, 3000)
    from matplotlib.image import imread

    pixels = imread(shot)
    assert (pixels[..., :3] < 0.5).mean() > 0.002  # text and plots, not a white page
    assert len({tuple(p) for p in pixels[::7, ::7, :3].reshape(-1, 3).round(2)}) > 50


# A page that loads the report in a frame and writes, as text the browser's DOM dump carries, where the browser laid
# out each section heading and how each embedded image decoded: what the screenshot shows, read as numbers.
_LAYOUT_PROBE = """<!doctype html><html><body>
<iframe id="report" src="report.html" style="width:1200px;height:3000px"></iframe>
<script>
document.getElementById("report").addEventListener("load", function () {
  var page = this.contentDocument;
  var sections = Array.prototype.map.call(page.querySelectorAll("h2"), function (h) {
    var box = h.getBoundingClientRect(); return {text: h.textContent, top: box.top, height: box.height}; });
  var images = Array.prototype.map.call(page.images, function (image) {
    return {decoded: image.naturalWidth, shown: image.getBoundingClientRect().width}; });
  var out = document.createElement("pre"); out.id = "layout";
  out.textContent = JSON.stringify({sections: sections, images: images});
  document.body.appendChild(out);
});
</script></body></html>"""


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Chromium is not installed: scripts/render_report.sh installs Debian's package")
def test_chromium_lays_out_every_section_in_order_and_decodes_every_image(binary_report):
    _, path, _ = binary_report
    probe = path.parent / "layout_probe.html"
    probe.write_text(_LAYOUT_PROBE, encoding="utf-8")
    dump = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                           "--virtual-time-budget=10000", "--dump-dom", probe.resolve().as_uri()],
                          check=True, capture_output=True, text=True, timeout=180).stdout
    found = re.search(r'<pre id="layout">(.*?)</pre>', dump, re.S)
    assert found, dump[-2000:]
    layout = json.loads(html.unescape(found[1]))
    assert [section["text"] for section in layout["sections"]] == EXPECTED_SECTIONS
    tops = [section["top"] for section in layout["sections"]]
    assert tops == sorted(tops) and all(section["height"] > 0 for section in layout["sections"])
    images = layout["images"]
    assert len(images) == path.read_text(encoding="utf-8").count('<img src="data:image/png;base64,') >= 5
    assert all(image["decoded"] > 100 and image["shown"] > 100 for image in images), images
