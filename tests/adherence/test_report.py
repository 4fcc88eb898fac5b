"""`mlops run adherence` writes report.html: every section, inline plots, lineage, and a page that renders in a
real browser (headless Chromium) without console messages."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline_code.adherence.specs import DEFINITION
from pipeline_code.cli import create_app
from tests import browser
from tests.adherence.helpers import FAST_TRAIN, ROOT, write_raw

SECTIONS = [
    "Pipeline graph",
    "Steps",
    "Data",
    "Model quality",
    "Quality by group",
    "Monitoring baseline",
    "Risk factors",
    "Per-brand prediction (example)",
    "Lineage",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, raw_sample: pd.DataFrame) -> Path:
    """One real `mlops run adherence` on 600 sample rows, three of them breaking the contract."""
    work = tmp_path_factory.mktemp("report")
    raw = raw_sample.head(600).copy()
    raw.loc[[3, 50, 51], "discharge_disposition_id"] = "99"
    data = write_raw(raw, work / "encounters.csv")
    config = work / "fast.yaml"
    config.write_text(yaml.safe_dump({"AdherenceTrain": FAST_TRAIN}), encoding="utf-8")
    out = work / "run"
    result = CliRunner().invoke(
        create_app(project_root=ROOT),
        ["run", "adherence", "--data", str(data), "--out", str(out), "--config", str(config), "--no-cache"],
    )
    assert result.exit_code == 0, result.output
    assert f"report:    {out / 'report.html'}" in result.output.replace("\n", "")
    return out


def test_the_report_has_every_section_and_inlines_its_plots(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in page
    assert page.count('src="data:image/png;base64,') == 3  # ROC, PR, calibration
    assert "<script" not in page and "<link" not in page and 'src="http' not in page
    assert "PASSED" in page or "FAILED" in page  # the quality-gate verdict


def test_the_report_shows_the_rejects_and_the_lineage(run_dir: Path) -> None:
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    report = json.loads((run_dir / "validation_report.json").read_text())
    assert report["rows_rejected"] == 3
    assert "discharge_disposition_id" in page  # rejects by column and their reasons
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["external_inputs"]["raw_data"]["files"][0]["sha256"] in page
    assert all(step["code_sha256"] in page for step in manifest["steps"])


def test_the_report_renders_in_a_browser(run_dir: Path, tmp_path: Path) -> None:
    binary, why = browser.chromium()
    if binary is None:
        pytest.skip(f"headless Chromium unavailable: {why}")
    found = browser.probe(binary, run_dir / "report.html", tmp_path)
    assert found.sections == SECTIONS
    assert found.images == 3 and found.broken == []
    assert found.nodes == 1 + len(DEFINITION.specs) and found.graph is not None and min(found.graph) > 50
    assert found.console_messages == []
    shot = tmp_path / "report.png"
    browser.screenshot(binary, run_dir / "report.html", shot)
    from PIL import Image

    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    assert image.size == (1300, 2400) and len(colours) > 200  # rendered content, not a blank page


def test_the_browser_probe_sees_a_broken_page(tmp_path: Path) -> None:
    """The probe's negative control: a missing image and a console message are reported."""
    binary, why = browser.chromium()
    if binary is None:
        pytest.skip(f"headless Chromium unavailable: {why}")
    page = tmp_path / "broken.html"
    # fmt: off
    page.write_text(
        '<html><body><img src="missing.png" alt="gone"><script>console.error("boom")</script></body></html>'
    )
    # fmt: on
    found = browser.probe(binary, page, tmp_path)
    assert found.broken == ["gone"] and any("boom" in m for m in found.console_messages)
