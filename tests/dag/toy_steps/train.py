"""Training step: the 'model' is the least-squares slope through the origin, plus a bias parameter."""

from __future__ import annotations

import json

from pipeline_code.common.context import StepContext

from ._io import read_rows


def run(ctx: StepContext) -> dict[str, float]:
    if ctx.param("fail", bool, False):
        raise ValueError("toy training was told to fail")
    rows = read_rows(ctx.input_dir("train"))
    denominator = sum(r["x"] ** 2 for r in rows) or 1.0
    slope = sum(r["x"] * r["y"] for r in rows) / denominator
    model = {"slope": slope, "bias": ctx.param("bias", float, 0.0)}
    (ctx.model_dir / "model.json").write_text(json.dumps(model), encoding="utf-8")
    return {"slope": slope, "n_train": len(rows)}
