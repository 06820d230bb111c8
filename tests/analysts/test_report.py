import re
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline import report
from pipeline.cli import app
from pipeline.warehouse import open_warehouse

runner = CliRunner()
CHROMIUM = Path("/usr/bin/chromium")
CHARTS = ["followers", "reciprocity", "churn_rate", "retention", "question_curves"]
WINDOW = (1280, 2400)


def _chromium(tmp_path: Path, page: Path, *mode: str) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `make chromium` installs Debian's package.")
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            # Lets the page's scripts run to completion before the DOM or the pixels are taken.
            "--virtual-time-budget=20000",
            *mode,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


class RenderedPage(HTMLParser):
    """Per account: each chart's count of drawn plotly SVGs, and the headline figures."""

    def __init__(self):
        super().__init__()
        self.charts: dict[str, dict[str, int]] = {}
        self.metrics: dict[str, dict[str, str]] = {}
        self._account = self._chart = self._metric = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if tag == "section" and "account" in classes:
            self._account = attrs["data-account"]
            self.charts[self._account], self.metrics[self._account] = {}, {}
        elif tag == "figure" and "chart" in classes:
            self._chart = attrs["data-chart"]
            self.charts[self._account][self._chart] = 0
        elif tag == "svg" and "main-svg" in classes and self._chart:
            self.charts[self._account][self._chart] += 1
        elif tag == "dd" and "data-metric" in attrs:
            self._metric = attrs["data-metric"]
            self.metrics[self._account][self._metric] = ""

    def handle_endtag(self, tag):
        if tag == "figure":
            self._chart = None
        elif tag == "dd":
            self._metric = None

    def handle_data(self, data):
        if self._metric:
            self.metrics[self._account][self._metric] += data


@pytest.fixture(scope="module")
def page(demo, tmp_path_factory) -> Path:
    return report.write_report(demo.settings, tmp_path_factory.mktemp("report") / "report.html")


def test_report_renders_in_headless_chromium(demo, page, tmp_path):
    screenshot = tmp_path / "report.png"
    _chromium(tmp_path, page, f"--screenshot={screenshot}")
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == WINDOW

    dom = _chromium(tmp_path, page, "--dump-dom").stdout
    rendered = RenderedPage()
    rendered.feed(dom)
    handles = ["acme_brand", "growth_hacker", "maya_writes"]
    assert list(rendered.charts) == handles
    for handle in handles:
        # Every chart was drawn: plotly replaced each placeholder by its SVG layers.
        assert list(rendered.charts[handle]) == CHARTS
        assert all(count >= 1 for count in rendered.charts[handle].values()), handle

    with open_warehouse(demo.settings, read_only=True) as con:
        latest = dict(
            con.execute(
                "SELECT handle, arg_max(followers, snapshot_date) FROM mart.reciprocity_daily "
                "JOIN meta.accounts USING (account_id) GROUP BY handle"
            ).fetchall()
        )
        (last_rate,) = con.execute(
            "SELECT arg_max(response_rate, posted_at) FROM mart.question_response "
            "JOIN meta.accounts USING (account_id) WHERE handle = 'maya_writes'"
        ).fetchall()[0]
    for handle in handles:
        assert int(rendered.metrics[handle]["followers"].replace(",", "")) == latest[handle]
    assert rendered.metrics["maya_writes"]["last_question_response_rate"] == f"{last_rate:.2%}"


def test_report_is_self_contained(page):
    text = page.read_text()
    assert re.findall(r"<(?:script|link|img|iframe)[^>]*(?:src|href)=", text) == []
    assert "Plotly.newPlot" in text and len(text) > 3_000_000  # plotly.js itself is inline


def test_report_command_for_one_account(demo_env, tmp_path):
    out = tmp_path / "maya.html"
    result = runner.invoke(app, ["report", "--account", "maya_writes", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert str(out) in "".join(result.output.split())
    assert re.findall(r'data-account="(\w+)"', out.read_text()) == ["maya_writes"]

    result = runner.invoke(app, ["report", "--account", "nobody", "--out", str(out)])
    assert result.exit_code == 2
    assert "No published data for nobody. Published: acme_brand, growth_hacker, maya_writes." in (
        " ".join(result.output.split())
    )


def test_demo_ends_by_writing_the_report(demo):
    report_path = demo.settings.data_dir / "report.html"
    # Rich wraps long paths: compare without whitespace.
    assert "".join(demo.output.split()).endswith(f"Report:{report_path.resolve()}")
    assert 'data-account="maya_writes"' in report_path.read_text()
    assert (demo.settings.data_dir / "published" / "followback.duckdb").exists()
