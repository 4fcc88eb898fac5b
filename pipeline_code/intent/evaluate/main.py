"""Intent evaluate step: the shipped int8 model and its fp32 ONNX twin side by side on the test split.

Inputs: ``edge_model`` (shipped folder), ``onnx_fp32`` (same classifier before quantization, same rule applied),
``model`` (PyTorch checkpoint, for the latency reference and the training time), ``validated`` (test.csv).
Output ``evaluation``: ``metrics.json``, ``confusion_top.csv``, ``reliability.png``, ``test_predictions.jsonl``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from pipeline_code.common.context import PROCESSING, StepContext, StepError, run_in_container
from pipeline_code.common.io import read_json, write_json
from pipeline_code.common.params import read_params
from pipeline_code.intent.contract import OOS_LABEL, read_table
from pipeline_code.intent.evaluate.latency import pytorch_single, time_calls
from pipeline_code.intent.evaluate.params import DEFAULTS
from pipeline_code.intent.evaluate.plots import plot_reliability
from pipeline_code.intent.evaluate.scoring import confusion_top, intent_metrics, reliability
from pipeline_code.intent.runtime import MODEL_FILE, IntentModelError, IntentPredictor, OnnxIntentModel


def _labels(predictor: IntentPredictor, raw: Any) -> tuple[list[str], list[str], np.ndarray]:
    probabilities, predicted, out_of_scope = predictor.decide(raw)
    closed = [predictor.classes[k] for k in predicted]
    final = [OOS_LABEL if o else c for c, o in zip(closed, out_of_scope, strict=True)]
    confidence = probabilities[np.arange(len(predicted)), predicted]
    return final, closed, confidence


def run(ctx: StepContext) -> dict[str, Any]:
    settings = read_params(ctx, DEFAULTS)
    threads = [int(t) for t in str(settings["latency_threads"]).split(",") if t.strip()]
    model_dir = ctx.input_dir("edge_model")
    try:
        predictor = IntentPredictor(model_dir)
    except IntentModelError as exc:
        raise StepError(f"{ctx.step_name}: input 'edge_model': {exc}") from exc
    fp32 = OnnxIntentModel(ctx.input_dir("onnx_fp32"))
    texts, truth = read_table(ctx.require_file("validated", "test.csv"))
    if not texts:
        raise StepError(f"{ctx.step_name}: test.csv has no rows")
    encoded = predictor.model.encode(texts)

    results: dict[str, dict[str, Any]] = {}
    curves: dict[str, dict[str, Any]] = {}
    int8_final: list[str] = []
    for name, runner in (("int8", predictor.model), ("fp32", fp32)):
        final, closed, confidence = _labels(predictor, runner.run_ids(encoded))
        results[name] = intent_metrics(truth, final, closed)
        rows = np.asarray(truth, dtype=object) != OOS_LABEL
        correct = np.asarray(closed, dtype=object)[rows] == np.asarray(truth, dtype=object)[rows]
        curves[name] = reliability(confidence[rows], correct, settings["reliability_bins"])
        results[name]["ece"] = curves[name]["ece"]
        if name == "int8":
            int8_final = final

    from pipeline_code.intent.train.checkpoint import load_checkpoint

    torch_model, _, train_meta = load_checkpoint(ctx.input_dir("model"))
    sample = texts[: settings["latency_utterances"]]
    latency: dict[str, Any] = {}
    for count in threads:
        single = IntentPredictor(model_dir, threads=count, verify=False)
        twin = OnnxIntentModel(ctx.input_dir("onnx_fp32"), threads=count)
        # int8 / fp32 / PyTorch: tokenise + one forward pass (the same work); int8_predictor: the whole edge path
        # (checks, softmax, out-of-scope rule, top-3 records).
        warmup = settings["latency_warmup"]
        latency[f"threads_{count}"] = {
            "int8": time_calls(single.model.run_texts_one, sample, warmup=warmup),
            "int8_predictor": time_calls(single.predict_one, sample, warmup=warmup),
            "fp32": time_calls(twin.run_texts_one, sample, warmup=warmup),
        }
        if settings["pytorch_baseline"]:
            import torch

            previous = torch.get_num_threads()
            torch.set_num_threads(count)
            latency[f"threads_{count}"]["pytorch_fp32"] = time_calls(
                pytorch_single(torch_model, predictor.model.tokenizer), sample, warmup=settings["latency_warmup"]
            )
            torch.set_num_threads(previous)
    first = latency[f"threads_{threads[0]}"]
    metrics: dict[str, Any] = {
        "test": {**results["int8"]},
        "test_fp32": results["fp32"],
        "quantization_accuracy_drop_points": 100.0 * (results["fp32"]["accuracy"] - results["int8"]["accuracy"]),
        "model_bytes": (model_dir / MODEL_FILE).stat().st_size,
        "model_folder_bytes": sum(p.stat().st_size for p in model_dir.iterdir() if p.is_file()),
        "fp32_bytes": (ctx.input_dir("onnx_fp32") / MODEL_FILE).stat().st_size,
        "latency_ms": {
            "threads": threads[0],
            "int8": {"p50": first["int8"]["p50"], "p95": first["int8"]["p95"]},
            "fp32": {"p50": first["fp32"]["p50"], "p95": first["fp32"]["p95"]},
            "by_threads": latency,
        },
        "train_seconds": train_meta.get("train_seconds"),
        "oos_rule": read_json(model_dir / "oos_rule.json", what=f"{ctx.step_name}: oos_rule.json"),
    }
    if "pytorch_fp32" in first:
        metrics["latency_ms"]["pytorch_fp32"] = {k: first["pytorch_fp32"][k] for k in ("p50", "p95")}
    for value in latency.values():
        if "pytorch_fp32" in value:
            value["int8_over_pytorch_p50"] = value["int8"]["p50"] / value["pytorch_fp32"]["p50"]
    out = ctx.output_dir("evaluation")
    write_json(metrics, out / "metrics.json")
    _write_confusion(confusion_top(truth, int8_final, settings["confusion_pairs"]), out / "confusion_top.csv")
    plot_reliability(curves, out / "reliability.png")
    with (out / "test_predictions.jsonl").open("w", encoding="utf-8") as handle:
        for text, label, predicted in zip(texts, truth, int8_final, strict=True):
            handle.write(json.dumps({"text": text, "label": label, "predicted": predicted}) + "\n")
    summary = {
        "accuracy": round(results["int8"]["accuracy"], 4),
        "macro_f1": round(results["int8"]["macro_f1"], 4),
        "quant_drop_pts": round(metrics["quantization_accuracy_drop_points"], 3),
        "int8_p50_ms": round(first["int8"]["p50"], 3),
        "model_mib": round(metrics["model_bytes"] / 2**20, 2),
    }
    if "oos_recall" in results["int8"]:
        summary["oos_recall"] = round(results["int8"]["oos_recall"], 4)
    return summary


def _write_confusion(rows: list[tuple[str, str, int]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["label", "predicted", "count"])
        writer.writerows(rows)


if __name__ == "__main__":
    run_in_container(PROCESSING, "IntentEvaluate", run)
