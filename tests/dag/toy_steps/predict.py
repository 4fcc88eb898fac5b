"""Batch prediction over a published model folder, as ``mlops predict`` calls it."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def batch_predict(model_dir: Path, input_path: Path, output_path: Path) -> dict[str, object]:
    model = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    count = 0
    with input_path.open(newline="", encoding="utf-8") as source, output_path.open("w", encoding="utf-8") as sink:
        for row in csv.DictReader(source):
            prediction = model["slope"] * float(row["x"]) + model["bias"]
            sink.write(json.dumps({"x": float(row["x"]), "prediction": prediction}) + "\n")
            count += 1
    return {"rows": count, "output": str(output_path)}
