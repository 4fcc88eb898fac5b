"""Split the clean table: every fourth row is test data. ``tamper`` overwrites its own input (must not leak up)."""

from __future__ import annotations

from pipeline_code.common.context import StepContext

from ._io import read_rows, write_rows


def run(ctx: StepContext) -> dict[str, int]:
    source = ctx.require_file("clean_data", "data.csv")
    rows = read_rows(source.parent)
    if ctx.param("tamper", bool, False):
        with source.open("w", encoding="utf-8") as handle:
            handle.write("x,y\n")
    train = [r for i, r in enumerate(rows) if i % 4]
    test = [r for i, r in enumerate(rows) if not i % 4]
    write_rows(ctx.output_dir("train") / "data.csv", train)
    write_rows(ctx.output_dir("test") / "data.csv", test)
    return {"train_rows": len(train), "test_rows": len(test)}
