"""An independent branch off the clean table: summary statistics."""

from __future__ import annotations

import json

from pipeline_code.common.context import StepContext

from ._io import read_rows


def run(ctx: StepContext) -> dict[str, float]:
    rows = read_rows(ctx.input_dir("clean"))
    profile = {"rows": len(rows), "mean_x": sum(r["x"] for r in rows) / max(len(rows), 1)}
    (ctx.output_dir("profile") / "profile.json").write_text(json.dumps(profile), encoding="utf-8")
    return profile
