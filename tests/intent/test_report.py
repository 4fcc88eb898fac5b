"""The intent run's report.html: generic sections plus the model's own (data, quality gate with int8 against fp32,
the out-of-scope rules compared on validation, latency, reliability plot, confused pairs), rendered in a browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline_code.dag.catalog import load_object
from pipeline_code.dag.report import write_report
from pipeline_code.intent.specs import DEFINITION
from tests import browser
from tests.intent.helpers import PipelineRun

SECTIONS = ["Pipeline graph", "Steps", "Data", "Model quality", "Most confused intents", "Lineage"]


@pytest.fixture(scope="module")
def page(quick_run: PipelineRun) -> Path:
    result = quick_run.result
    return write_report(
        quick_run.executor.plan, result.manifest, result.run_dir, load_object(DEFINITION.report_sections)
    )


def test_the_report_has_the_intent_sections(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in text
    assert text.count('src="data:image/png;base64,') == 1  # the reliability plot
    assert "Rules on validation" in text and "Int8 against fp32 on the test set" in text
    assert "PASSED" in text or "FAILED" in text
    assert "<script" not in text and 'src="http' not in text


def test_the_intent_report_renders_in_a_browser(page: Path, tmp_path: Path) -> None:
    binary, why = browser.chromium()
    if binary is None:
        pytest.skip(f"headless Chromium unavailable: {why}")
    found = browser.probe(binary, page, tmp_path)
    assert found.sections == SECTIONS
    assert found.images == 1 and found.broken == [] and found.console_messages == []
    assert found.nodes == 1 + len(DEFINITION.specs)
