"""Evaluate the model on the test split; writes evaluation/metrics.json."""

from __future__ import annotations

import json

from pipeline_code.common.context import StepContext

from ._io import read_rows


def run(ctx: StepContext) -> dict[str, float]:
    model = json.loads(ctx.require_file("model", "model.json").read_text(encoding="utf-8"))
    rows = read_rows(ctx.input_dir("test"))
    errors = [abs(model["slope"] * r["x"] + model["bias"] - r["y"]) for r in rows]
    metrics = {"mae": sum(errors) / max(len(errors), 1), "n_test": len(rows)}
    (ctx.output_dir("evaluation") / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    return metrics
