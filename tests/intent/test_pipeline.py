"""The intent pipeline end to end on a tiny data set: export parity, int8 vs fp32, model folder, metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipeline_code.common.context import PROCESSING, StepContext
from pipeline_code.intent.calibrate import main as calibrate
from pipeline_code.intent.runtime import IntentPredictor, OnnxIntentModel, file_sha256, pad
from pipeline_code.intent.specs import CALIBRATE, EXPORT, QUANTIZE, TRAIN, VALIDATE
from pipeline_code.intent.train.checkpoint import load_checkpoint
from tests.intent.helpers import INTENTS, PipelineRun

SAMPLE = ["what is my balance today", "play a song", "set a timer", "is it going to snow", "how tall is a giraffe"]


def test_onnx_fp32_matches_pytorch(quick_run: PipelineRun) -> None:
    model, _, _ = load_checkpoint(quick_run.output(TRAIN, "model"))
    onnx_model = OnnxIntentModel(quick_run.output(EXPORT, "onnx_fp32"))
    encoded = onnx_model.encode(SAMPLE)
    ids, mask = pad(encoded)
    with torch.no_grad():
        reference, reference_emb = model(torch.from_numpy(ids), torch.from_numpy(mask))
    exported = onnx_model.run_ids(encoded)
    np.testing.assert_allclose(exported.logits, reference.numpy(), atol=1e-3)
    np.testing.assert_allclose(exported.embeddings, reference_emb.numpy(), atol=1e-4)


def test_int8_stays_close_to_fp32(quick_run: PipelineRun) -> None:
    fp32 = OnnxIntentModel(quick_run.output(EXPORT, "onnx_fp32")).run_texts(SAMPLE)
    int8 = OnnxIntentModel(quick_run.output(QUANTIZE, "onnx_int8")).run_texts(SAMPLE)
    # Logits are cosine x scale (20): an error of 1 logit is 0.05 of cosine similarity.
    assert float(np.abs(int8.logits - fp32.logits).max()) < 1.5
    assert float(np.abs(int8.embeddings - fp32.embeddings).max()) < 0.1


def test_model_folder_is_self_contained_and_sealed(model_dir: Path) -> None:
    names = {p.name for p in model_dir.iterdir()}
    assert {"model.onnx", "tokenizer.json", "labels.json", "oos_rule.json", "metadata.json"} <= names
    metadata = json.loads((model_dir / "metadata.json").read_text())
    assert set(metadata["files"]) == names - {"metadata.json"}
    for name, digest in metadata["files"].items():
        assert file_sha256(model_dir / name) == digest
    rule = json.loads((model_dir / "oos_rule.json").read_text())
    assert rule["chosen_on"] == "validation" and rule["rule"] in rule["validation"]


def test_run_publishes_metrics_with_every_figure(quick_run: PipelineRun) -> None:
    run_dir = quick_run.result.run_dir
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("accuracy", "oos_recall", "oos_precision", "macro_f1"):
        assert 0.0 <= metrics["test"][key] <= 1.0
    assert metrics["model_bytes"] == (run_dir / "model" / "model.onnx").stat().st_size
    for back_end in ("int8", "fp32", "pytorch_fp32"):
        assert metrics["latency_ms"][back_end]["p50"] > 0
    assert metrics["train_seconds"] > 0
    assert (run_dir / "confusion_top.csv").read_text().startswith("label,predicted,count")
    assert (run_dir / "reliability.png").stat().st_size > 0
    assert json.loads((run_dir / "quality_gate.json").read_text())["checks"]


def test_threshold_is_chosen_without_the_test_split(quick_run: PipelineRun, tmp_path: Path) -> None:
    """The calibrate step re-run with test.csv removed from its inputs gives the same rule and threshold."""
    ctx = StepContext(PROCESSING, tmp_path / "ml", step_name=CALIBRATE)
    for name, source in (
        ("onnx_int8", quick_run.output(QUANTIZE, "onnx_int8")),
        ("validated", quick_run.output(VALIDATE, "validated")),
    ):
        target = ctx.input_dir(name)
        target.mkdir(parents=True)
        for path in source.iterdir():
            if path.name != "test.csv":
                (target / path.name).write_bytes(path.read_bytes())
    calibrate.run(ctx)
    again = json.loads((ctx.output_dir("edge_model") / "oos_rule.json").read_text())
    shipped = json.loads((quick_run.result.run_dir / "model" / "oos_rule.json").read_text())
    assert (again["rule"], again["threshold"]) == (shipped["rule"], shipped["threshold"])


def test_predictor_answers_known_intents_with_the_schema(model_dir: Path) -> None:
    predictor = IntentPredictor(model_dir)
    records = predictor.predict(["what is my balance", "play some music"])
    for record in records:
        assert set(record) == {"text", "intent", "predicted_intent", "confidence", "out_of_scope", "top3"}
        assert record["predicted_intent"] in INTENTS
        assert len(record["top3"]) == 3


@pytest.mark.parametrize("damage", ["missing_folder", "no_metadata", "altered_model", "bad_labels", "no_tokenizer"])
def test_broken_model_folder_gives_a_clear_error(model_dir: Path, tmp_path: Path, damage: str) -> None:
    from pipeline_code.intent.runtime import IntentModelError

    broken = tmp_path / "model"
    if damage != "missing_folder":
        broken.mkdir()
        for path in model_dir.iterdir():
            (broken / path.name).write_bytes(path.read_bytes())
    expected = {
        "missing_folder": "does not exist",
        "no_metadata": "metadata.json is missing",
        "altered_model": "model.onnx does not match its sha256",
        "bad_labels": "labels.json does not match its sha256",
        "no_tokenizer": "tokenizer.json is missing",
    }[damage]
    if damage == "no_metadata":
        (broken / "metadata.json").unlink()
    elif damage == "altered_model":
        with (broken / "model.onnx").open("r+b") as handle:
            handle.seek(1000)
            handle.write(b"\x00\x01\x02\x03")
    elif damage == "bad_labels":
        (broken / "labels.json").write_text("{not json", encoding="utf-8")
    elif damage == "no_tokenizer":
        (broken / "tokenizer.json").unlink()
    with pytest.raises(IntentModelError, match=expected):
        IntentPredictor(broken)
