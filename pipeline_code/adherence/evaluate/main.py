"""Evaluate step: the model and the validation / test feature sets in; metrics, plots and the quality gate out.

Output ``evaluation/``: ``metrics.json`` (``{"threshold", "threshold_source", "recall_target", "best_iteration",
"validation": {...}, "test": {...}, "quality_gate": {...}}``; each split has ``rows, positives, prevalence, roc_auc,
pr_auc, brier, ece, mean_probability, threshold, tp, fp, fn, tn, precision, recall, f1, flagged_rate, calibration``),
``quality_gate.json`` (the verdict alone), ``roc_curve.png``, ``pr_curve.png``, ``calibration.png``, and
``bias_report.json`` (quality per race, gender and age group of the test split, largest gaps; see :mod:`.bias`).
The gate never fails the step: an unregistrable model is a result, recorded as ``registrable: false``.
"""

from __future__ import annotations

from typing import Any

from pipeline_code.adherence.evaluate.bias import bias_report
from pipeline_code.adherence.evaluate.params import DEFAULTS
from pipeline_code.adherence.evaluate.plots import plot_calibration, plot_pr, plot_roc
from pipeline_code.adherence.evaluate.report import build_metrics, score
from pipeline_code.common import metrics
from pipeline_code.common.adherence_features import read_feature_table
from pipeline_code.common.context import PROCESSING, StepContext, StepError, run_in_container
from pipeline_code.common.io import write_json
from pipeline_code.common.model_bundle import load_bundle
from pipeline_code.common.params import read_params

METRICS_FILE = "metrics.json"
GATE_FILE = "quality_gate.json"
BIAS_FILE = "bias_report.json"
PLOT_FILES = {"roc": "roc_curve.png", "pr": "pr_curve.png", "calibration": "calibration.png"}


def run(ctx: StepContext) -> dict[str, Any]:
    """Score validation and test at the model's threshold, write metrics, gate verdict and plots."""
    params = read_params(ctx, DEFAULTS)
    bundle = load_bundle(ctx.input_dir("model"), what=f"{ctx.step_name}: input 'model'")
    scored = {}
    tables = {}
    for name in ("validation", "test"):
        table = read_feature_table(ctx.input_dir(name), what=f"{ctx.step_name}: input {name!r}")
        if table.empty:
            raise StepError(f"{ctx.step_name}: input {name!r} has no rows")
        tables[name] = table
        scored[name] = score(bundle, table)
    document = build_metrics(
        bundle, scored, min_roc_auc=params["min_roc_auc"], calibration_bins=params["calibration_bins"]
    )
    out = ctx.output_dir("evaluation")
    write_json(document, out / METRICS_FILE)
    write_json(document["quality_gate"], out / GATE_FILE)
    bias = bias_report(
        tables["test"],
        *scored["test"],
        threshold=bundle.threshold,
        min_group_rows=params["min_group_rows"],
        bins=params["calibration_bins"],
        split="test",
    )
    write_json(bias, out / BIAS_FILE)
    plot_roc(scored, bundle.threshold, out / PLOT_FILES["roc"])
    plot_pr(scored, bundle.threshold, out / PLOT_FILES["pr"])
    plot_calibration(scored, params["calibration_bins"], out / PLOT_FILES["calibration"])
    result: dict[str, Any] = {"threshold": metrics.rounded(bundle.threshold)}
    for split in ("validation", "test"):
        for key in ("roc_auc", "pr_auc", "precision", "recall", "f1", "ece", "brier"):
            result[f"{split}_{key}"] = metrics.rounded(document[split][key])
    result["registrable"] = document["quality_gate"]["registrable"]
    for facet, found in bias["facets"].items():
        gap = found["largest_gap"]["recall"]
        result[f"{facet}_recall_gap"] = gap["gap"] if gap else None
    return result


if __name__ == "__main__":
    run_in_container(PROCESSING, "AdherenceEvaluate", run)
