"""Model swap: a good model swaps in; a corrupt or incomplete one is refused and the old one keeps answering."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline_code.edge.handler import Handler
from pipeline_code.edge.metrics import Metrics
from pipeline_code.edge.model import ModelSlot, folder_id


def answer(slot: ModelSlot) -> dict:
    return Handler(slot, Metrics()).handle(b'{"text": "play some music"}')


def test_a_good_model_swaps_in(edge_model: Path, model_copy: Path) -> None:
    slot = ModelSlot()
    assert answer(slot)["error"]["code"] == "no_model"
    assert slot.swap(edge_model).swapped
    metadata = json.loads((model_copy / "metadata.json").read_text())
    metadata["version"] = "v2"  # same files, new metadata: a new content id
    (model_copy / "metadata.json").write_text(json.dumps(metadata))
    result = slot.swap(model_copy)
    assert result.swapped, result.reason
    assert slot.current is not None and slot.current.folder == model_copy
    assert answer(slot)["model_sha256"] == folder_id(model_copy) != folder_id(edge_model)


def test_a_corrupt_model_is_refused_and_the_old_one_keeps_answering(edge_model: Path, model_copy: Path) -> None:
    slot = ModelSlot()
    assert slot.swap(edge_model).swapped
    onnx = model_copy / "model.onnx"
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    result = slot.swap(model_copy)
    assert not result.swapped
    assert "model.onnx does not match its sha256" in result.reason and "still serving" in result.reason
    assert slot.current is not None and slot.current.folder == edge_model
    assert answer(slot)["model_sha256"] == folder_id(edge_model)
    assert slot.describe()["swap_failures"] == 1 and "sha256" in slot.describe()["last_swap_failure"]


def test_a_missing_file_or_folder_is_refused(edge_model: Path, model_copy: Path, tmp_path: Path) -> None:
    slot = ModelSlot()
    assert slot.swap(edge_model).swapped
    (model_copy / "tokenizer.json").unlink()
    assert "tokenizer.json is missing" in slot.swap(model_copy).reason
    assert "does not exist" in slot.swap(tmp_path / "nowhere").reason
    assert "intent" in answer(slot)


def test_reload_checks_content_once_per_change(edge_model: Path, model_copy: Path) -> None:
    slot = ModelSlot()
    assert slot.swap(model_copy).swapped
    assert slot.reload_if_changed(model_copy) is None  # unchanged
    (model_copy / "labels.json").write_text('{"labels": []}')
    metadata = json.loads((model_copy / "metadata.json").read_text())
    metadata["version"] = "broken"
    (model_copy / "metadata.json").write_text(json.dumps(metadata))
    refused = slot.reload_if_changed(model_copy)
    assert refused is not None and not refused.swapped
    assert slot.reload_if_changed(model_copy) is None  # the same refused content is not retried every tick
    shutil.rmtree(model_copy)
    shutil.copytree(edge_model, model_copy)
    assert slot.reload_if_changed(model_copy) is None  # the content served all along is back: nothing to do
    metadata = json.loads((model_copy / "metadata.json").read_text())
    metadata["version"] = "v3"
    (model_copy / "metadata.json").write_text(json.dumps(metadata))
    fixed = slot.reload_if_changed(model_copy)
    assert fixed is not None and fixed.swapped
    assert "intent" in answer(slot)
