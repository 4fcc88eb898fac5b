"""Intent quantize step: ONNX fp32 folder in, ONNX int8 folder out; the variant is chosen on validation accuracy."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from pipeline_code.common.context import PROCESSING, StepContext, StepError, run_in_container
from pipeline_code.common.io import read_json, write_json
from pipeline_code.common.params import read_params
from pipeline_code.intent.contract import OOS_LABEL, read_table
from pipeline_code.intent.quantize.int8 import VARIANTS, quantize
from pipeline_code.intent.quantize.params import DEFAULTS
from pipeline_code.intent.runtime import LABELS_FILE, MODEL_FILE, TOKENIZER_FILE, OnnxIntentModel


def closed_set_accuracy(logits: np.ndarray, classes: list[str], truth: list[str]) -> float:
    """Accuracy of the best in-scope class on in-scope rows (no out-of-scope rule)."""
    classes_arr = np.asarray(classes, dtype=object)
    in_scope = classes_arr != OOS_LABEL
    predicted = classes_arr[np.where(in_scope, logits, -np.inf).argmax(axis=1)]
    truth_arr = np.asarray(truth, dtype=object)
    rows = truth_arr != OOS_LABEL
    return float((predicted[rows] == truth_arr[rows]).mean()) if rows.any() else float("nan")


def run(ctx: StepContext) -> dict[str, Any]:
    settings = read_params(ctx, DEFAULTS)
    variants = [v.strip() for v in str(settings["variants"]).split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if not variants or unknown:
        raise StepError(f"{ctx.step_name}: parameter 'variants'={settings['variants']!r}; known: {', '.join(VARIANTS)}")
    fp32_dir = ctx.input_dir("onnx_fp32")
    for name in (MODEL_FILE, TOKENIZER_FILE, LABELS_FILE):
        ctx.require_file("onnx_fp32", name)
    classes = list(read_json(fp32_dir / LABELS_FILE, what=f"{ctx.step_name}: labels")["labels"])
    texts, truth = read_table(ctx.require_file("validated", "valid.csv"))
    if settings["validation_rows"] > 0:
        texts, truth = texts[: settings["validation_rows"]], truth[: settings["validation_rows"]]
    fp32 = OnnxIntentModel(fp32_dir)
    encoded = fp32.encode(texts)
    fp32_logits = fp32.run_ids(encoded).logits
    fp32_accuracy = closed_set_accuracy(fp32_logits, classes, truth)
    out = ctx.output_dir("onnx_int8")
    results: dict[str, dict[str, Any]] = {}
    best: tuple[float, str] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for variant in variants:
            folder = Path(tmp) / variant
            folder.mkdir()
            quantize(fp32_dir / MODEL_FILE, folder / MODEL_FILE, variant)
            shutil.copyfile(fp32_dir / TOKENIZER_FILE, folder / TOKENIZER_FILE)
            logits = OnnxIntentModel(folder).run_ids(encoded).logits
            accuracy = closed_set_accuracy(logits, classes, truth)
            agreement = float((logits.argmax(axis=1) == fp32_logits.argmax(axis=1)).mean()) if len(texts) else 1.0
            results[variant] = {
                "validation_accuracy": accuracy,
                "top1_agreement_with_fp32": agreement,
                "max_abs_logit_diff": float(np.abs(logits - fp32_logits).max()) if len(texts) else 0.0,
                "bytes": (folder / MODEL_FILE).stat().st_size,
            }
            score = -1.0 if np.isnan(accuracy) else accuracy
            if best is None or score > best[0] + 1e-12:
                best = (score, variant)
        assert best is not None
        kept = best[1]
        shutil.copyfile(Path(tmp) / kept / MODEL_FILE, out / MODEL_FILE)
    shutil.copyfile(fp32_dir / TOKENIZER_FILE, out / TOKENIZER_FILE)
    shutil.copyfile(fp32_dir / LABELS_FILE, out / LABELS_FILE)
    report = {"kept": kept, "chosen_on": "validation", "fp32_validation_accuracy": fp32_accuracy, "variants": results}
    write_json(report, ctx.output_dir("quantize_report") / "quantize_report.json")
    return {
        "variant": kept,
        "int8_mib": round(results[kept]["bytes"] / 2**20, 2),
        "validation_accuracy_fp32": round(fp32_accuracy, 4),
        "validation_accuracy_int8": round(results[kept]["validation_accuracy"], 4),
    }


if __name__ == "__main__":
    run_in_container(PROCESSING, "IntentQuantize", run)
