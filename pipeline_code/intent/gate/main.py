"""Intent quality gate: the evaluation's figures against thresholds; ``quality_gate.json`` says pass or fail and why.

A failed gate fails the step (and the run) unless ``fail_run`` is false, so an unfit model never looks registrable.
"""

from __future__ import annotations

from typing import Any

from pipeline_code.common.context import PROCESSING, StepContext, StepError, run_in_container
from pipeline_code.common.io import read_json, write_json
from pipeline_code.common.params import read_params
from pipeline_code.intent.gate.params import DEFAULTS


def verdict(metrics: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    test = metrics["test"]
    checks = [
        ("accuracy", test["accuracy"], ">=", settings["min_accuracy"]),
        (
            "quantization_drop_points",
            metrics["quantization_accuracy_drop_points"],
            "<=",
            settings["max_quantization_drop_points"],
        ),
        ("model_mib", metrics["model_bytes"] / 2**20, "<=", settings["max_model_mib"]),
    ]
    if "oos_recall" in test:
        checks.append(("oos_recall", test["oos_recall"], ">=", settings["min_oos_recall"]))
    results = []
    for name, value, op, limit in checks:
        ok = value is not None and (value >= limit if op == ">=" else value <= limit)
        results.append({"check": name, "value": value, "rule": f"{op} {limit}", "passed": bool(ok)})
    # ``values`` by name: what SageMaker's condition step reads (``Std:JsonGet`` takes a path, not a list search).
    return {
        "passed": all(r["passed"] for r in results),
        "checks": results,
        "values": {r["check"]: r["value"] for r in results},
    }


def run(ctx: StepContext) -> dict[str, Any]:
    settings = read_params(ctx, DEFAULTS)
    metrics = read_json(ctx.require_file("evaluation", "metrics.json"), what=f"{ctx.step_name}: metrics.json")
    result = verdict(metrics, settings)
    write_json(result, ctx.output_dir("quality_gate") / "quality_gate.json")
    failed = [f"{c['check']}={c['value']:.4g} (needs {c['rule']})" for c in result["checks"] if not c["passed"]]
    if failed and settings["fail_run"]:
        raise StepError(f"{ctx.step_name}: quality gate failed: {'; '.join(failed)}")
    return {"passed": result["passed"], "failed_checks": len(failed)}


if __name__ == "__main__":
    run_in_container(PROCESSING, "IntentGate", run)
