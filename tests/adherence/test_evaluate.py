"""Evaluate step: metrics on validation and test, plots, and the quality gate both ways."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_code.adherence.evaluate.main import GATE_FILE, METRICS_FILE, PLOT_FILES, run
from pipeline_code.adherence.evaluate.report import quality_gate
from pipeline_code.common import metrics
from pipeline_code.common.context import StepContext, StepError
from pipeline_code.common.model_bundle import MODEL_FILE
from tests.adherence.helpers import PipelineRun, feed, make_ctx


def test_metrics_json_has_the_published_shape(pipeline: PipelineRun) -> None:
    document = json.loads((pipeline.output("evaluate", "evaluation") / METRICS_FILE).read_text())
    for split in ("validation", "test"):
        for key in ("roc_auc", "pr_auc", "precision", "recall", "f1", "ece", "brier", "threshold", "rows"):
            assert key in document[split], (split, key)
        assert 0.0 <= document[split]["roc_auc"] <= 1.0
    assert document["threshold"] == document["test"]["threshold"] == document["validation"]["threshold"]
    assert document["quality_gate"]["metric"] == "test.roc_auc"
    assert document["validation"]["recall"] >= document["recall_target"]
    assert json.loads((pipeline.output("evaluate", "evaluation") / GATE_FILE).read_text()) == document["quality_gate"]


def test_plots_are_png_files(pipeline: PipelineRun) -> None:
    for name in PLOT_FILES.values():
        data = (pipeline.output("evaluate", "evaluation") / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, name


def test_the_gate_passes_at_or_above_the_threshold_and_fails_below() -> None:
    assert quality_gate(0.70, 0.68)["registrable"] is True
    assert quality_gate(0.68, 0.68)["passed"] is True
    failed = quality_gate(0.65, 0.68)
    assert failed["registrable"] is False and failed["reason"] == "test ROC-AUC 0.6500 < 0.68"
    undefined = quality_gate(float("nan"), 0.68)
    assert undefined["registrable"] is False and undefined["value"] is None


def _evaluate_ctx(tmp_path: Path, pipeline: PipelineRun, **params) -> StepContext:
    ctx = make_ctx(tmp_path, "AdherenceEvaluate", **params)
    shutil.copytree(pipeline.contexts["train"].model_dir, ctx.input_dir("model"))
    for name in ("validation", "test"):
        feed(pipeline.contexts["split"], name, ctx, name)
    return ctx


@pytest.mark.parametrize(("min_roc_auc", "registrable"), [(0.0, True), (0.999, False)])
def test_the_step_records_the_verdict_both_ways(
    tmp_path: Path, pipeline: PipelineRun, min_roc_auc: float, registrable: bool
) -> None:
    ctx = _evaluate_ctx(tmp_path, pipeline, min_roc_auc=min_roc_auc)
    result = run(ctx)
    assert result["registrable"] is registrable
    verdict = json.loads((ctx.output_dir("evaluation") / GATE_FILE).read_text())
    assert verdict["registrable"] is registrable and verdict["min_value"] == min_roc_auc
    assert verdict["value"] == pytest.approx(result["test_roc_auc"], abs=1e-6)


def test_a_broken_model_file_is_named(tmp_path: Path, pipeline: PipelineRun) -> None:
    ctx = _evaluate_ctx(tmp_path, pipeline)
    (ctx.input_dir("model") / MODEL_FILE).write_text("this is not a model")
    with pytest.raises(StepError, match=r"input 'model': .*model\.txt is not a readable LightGBM model"):
        run(ctx)


def test_a_missing_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(StepError, match=r"AdherenceEvaluate: input 'model': model folder .* does not exist"):
        run(make_ctx(tmp_path, "AdherenceEvaluate"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(0.0, 1.0)), min_size=1, max_size=80))
def test_calibration_metrics_are_bounded_and_consistent(pairs: list) -> None:
    y = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    ece = metrics.expected_calibration_error(y, p)
    assert 0.0 <= ece <= 1.0
    assert metrics.brier(y, p) == pytest.approx(float(np.mean((p - y) ** 2)))
    table = metrics.calibration_table(y, p)
    assert sum(row["count"] for row in table) == len(y)
    manual = sum(row["count"] * abs(row["mean_predicted"] - row["observed_rate"]) for row in table) / len(y)
    assert ece == pytest.approx(manual, abs=1e-9)


def test_perfect_calibration_has_zero_ece() -> None:
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    p = np.array([0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75])
    assert metrics.expected_calibration_error(y, p) == pytest.approx(0.0)


def test_metrics_of_one_class_are_undefined_not_errors() -> None:
    assert np.isnan(metrics.roc_auc([0, 0], [0.1, 0.2]))
    assert np.isnan(metrics.pr_auc([1, 1], [0.1, 0.2]))
    assert metrics.rounded(float("nan")) is None
