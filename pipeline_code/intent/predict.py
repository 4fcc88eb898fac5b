"""Batch prediction of the intent model: a CSV with a ``text`` column in, one JSON line per row out.

onnxruntime + tokenizers + numpy only (through :mod:`pipeline_code.intent.runtime`): no torch, no pandas.
Rows whose text cannot be scored (not UTF-8, empty) are written with an ``error`` instead of a prediction, so
rows in = rows out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline_code.intent.contract import TEXT, ContractError, read_rows
from pipeline_code.intent.runtime import IntentPredictor


def predict_file(model_dir: Path, input_path: Path, output_path: Path, *, batch_size: int = 64) -> dict[str, Any]:
    predictor = IntentPredictor(model_dir)
    try:
        header, rows = read_rows(input_path, required=(TEXT,))
    except ContractError as exc:
        raise ValueError(str(exc)) from exc
    at = header.index(TEXT)
    texts: list[str] = []
    errors: dict[int, str] = {}
    for position, (line, fields) in enumerate(rows):
        text = fields[at] if len(fields) > at else ""
        if any("\udc80" <= ch <= "\udcff" for ch in text):
            errors[position] = f"line {line}: text is not valid UTF-8"
        elif not text.strip():
            errors[position] = f"line {line}: text is empty"
        texts.append(text)
    scored_positions = [i for i in range(len(texts)) if i not in errors]
    predictions = predictor.predict([texts[i] for i in scored_positions], batch_size=batch_size)
    by_position = dict(zip(scored_positions, predictions, strict=True))
    out_of_scope = 0
    output_path.parent.mkdir(parents=True, exist_ok=True)
    with output_path.open("w", encoding="utf-8") as handle:
        for position in range(len(texts)):
            record: dict[str, Any]
            if position in errors:
                safe = texts[position].encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                record = {"text": safe, "error": errors[position]}
            else:
                record = by_position[position]
                out_of_scope += int(record["out_of_scope"])
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return {
        "rows_in": len(texts),
        "rows_scored": len(predictions),
        "rows_with_error": len(errors),
        "out_of_scope": out_of_scope,
        "output": str(output_path),
    }
