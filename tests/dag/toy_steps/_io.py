"""CSV helpers shared by the toy steps (a module of the same package, as a real step folder would have)."""

from __future__ import annotations

import csv
from pathlib import Path


def read_rows(folder: Path) -> list[dict[str, float]]:
    rows: list[dict[str, float]] = []
    for path in sorted(folder.rglob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            rows.extend({k: float(v) for k, v in row.items()} for row in csv.DictReader(handle))
    return rows


def write_rows(path: Path, rows: list[dict[str, float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["x", "y"])
        writer.writeheader()
        writer.writerows(rows)
