"""The trained PyTorch checkpoint folder the export and evaluate steps read (not the shipped model folder).

``weights.pt`` (state dict), ``encoder_config.json``, ``tokenizer.json`` (truncation at the fitted length),
``labels.json`` (class order; ``oos`` is a class when train had out-of-scope rows), ``train_meta.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from pipeline_code.intent.train.model import IntentClassifier

WEIGHTS = "weights.pt"
ENCODER_CONFIG = "encoder_config.json"
TOKENIZER = "tokenizer.json"
LABELS = "labels.json"
META = "train_meta.json"


def save_checkpoint(folder: Path, model: IntentClassifier, *, labels: list[str], meta: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), folder / WEIGHTS)
    model.encoder.config.to_json_file(str(folder / ENCODER_CONFIG))
    (folder / LABELS).write_text(json.dumps({"labels": labels}, indent=2) + "\n", encoding="utf-8")
    (folder / META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_checkpoint(folder: Path) -> tuple[IntentClassifier, list[str], dict[str, Any]]:
    """Rebuild the classifier (eval mode) with its labels and training metadata; FileNotFoundError names a gap."""
    from transformers import BertConfig, BertModel

    for name in (WEIGHTS, ENCODER_CONFIG, TOKENIZER, LABELS, META):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"checkpoint {folder} has no {name}")
    labels = list(json.loads((folder / LABELS).read_text(encoding="utf-8"))["labels"])
    meta = json.loads((folder / META).read_text(encoding="utf-8"))
    encoder = BertModel(BertConfig.from_json_file(str(folder / ENCODER_CONFIG)), add_pooling_layer=False)
    settings = meta["settings"]
    model = IntentClassifier(encoder, len(labels), scale=settings["scale"], dropout=settings["dropout"])
    model.load_state_dict(torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True))
    model.eval()
    return model, labels, meta
