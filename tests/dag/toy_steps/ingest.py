"""SOURCE step: read the raw CSV files, scale x, write one clean table."""

from __future__ import annotations

from pipeline_code.common.context import StepContext, StepError

from ._io import read_rows, write_rows


def run(ctx: StepContext) -> dict[str, float]:
    rows = read_rows(ctx.input_dir("raw_data"))
    if not rows:
        raise StepError(f"{ctx.step_name}: input 'raw_data' holds no CSV rows")
    scale = ctx.param("scale", float, 1.0)
    write_rows(ctx.output_dir("clean") / "data.csv", [{"x": r["x"] * scale, "y": r["y"]} for r in rows])
    return {"rows": len(rows)}
