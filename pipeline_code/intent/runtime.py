"""The intent predictor of a model folder: onnxruntime + tokenizers + numpy only (no torch, no pandas).

The edge app (``pipeline_code/edge``) and ``mlops predict intent`` use it alike. A model folder holds:

- ``model.onnx``: the int8 classifier, inputs ``input_ids`` / ``attention_mask`` (int64, batch x tokens), outputs
  ``logits`` and ``embedding`` (L2-normalised sentence vector);
- ``tokenizer.json``: the tokenizer with its truncation length;
- ``labels.json``: ``{"labels": [...class order...], "oos_label": "oos"}``;
- ``oos_rule.json``: the out-of-scope rule and its threshold (chosen on validation data), see :mod:`oos`;
- ``centroids.npy``: in-scope class centroids, only where the rule is ``centroid``;
- ``metadata.json``: ``{"format": ..., "files": {name: sha256}, ...}``; every listed file is checked on load.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from pipeline_code.intent.oos import RULES, decide, rule_scores, softmax

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
LABELS_FILE = "labels.json"
RULE_FILE = "oos_rule.json"
CENTROIDS_FILE = "centroids.npy"
METADATA_FILE = "metadata.json"
FORMAT = "intent-model/1"
TOP_K = 3


class IntentModelError(ValueError):
    """The model folder is missing, incomplete, altered or malformed; the message names the folder and the file."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_metadata(folder: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """``metadata.json`` with the sha256 of every other file of ``folder``."""
    files = {p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != METADATA_FILE}
    document = {"format": FORMAT, **extra, "files": files}
    (folder / METADATA_FILE).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return document


def _read_json(folder: Path, name: str) -> Any:
    path = folder / name
    if not path.is_file():
        raise IntentModelError(f"model folder {folder}: {name} is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntentModelError(f"model folder {folder}: {name} is not valid JSON ({exc})") from exc


def pad(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    width = max(1, max(len(r) for r in rows))
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


def create_session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


@dataclass(frozen=True)
class RawOutput:
    logits: np.ndarray
    embeddings: np.ndarray


class OnnxIntentModel:
    """Tokenizer + ONNX session of a folder with ``model.onnx`` and ``tokenizer.json`` (no rule, no checks)."""

    def __init__(self, folder: Path, *, threads: int = 1, model_file: str = MODEL_FILE) -> None:
        self.folder = folder
        try:
            self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed files
            raise IntentModelError(f"model folder {folder}: {TOKENIZER_FILE} cannot be loaded ({exc})") from exc
        self.tokenizer.no_padding()
        try:
            self.session = create_session(folder / model_file, threads)
        except Exception as exc:  # onnxruntime raises its own exception types for broken graphs
            raise IntentModelError(f"model folder {folder}: {model_file} is not a loadable ONNX model ({exc})") from exc

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch([str(t) for t in texts])]

    def run_ids(self, encoded: Sequence[Sequence[int]], *, batch_size: int = 64) -> RawOutput:
        """Logits and embeddings in input order; batches of similar length keep padding small."""
        n = len(encoded)
        logits: np.ndarray | None = None
        embeddings: np.ndarray | None = None
        order = np.argsort([len(r) for r in encoded], kind="stable")
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            ids, mask = pad([encoded[i] for i in idx])
            out_logits, out_emb = self.session.run(["logits", "embedding"], {"input_ids": ids, "attention_mask": mask})
            if logits is None or embeddings is None:
                logits = np.zeros((n, out_logits.shape[1]), dtype=np.float32)
                embeddings = np.zeros((n, out_emb.shape[1]), dtype=np.float32)
            logits[idx] = out_logits
            embeddings[idx] = out_emb
        if logits is None or embeddings is None:
            return RawOutput(np.zeros((0, 0), dtype=np.float32), np.zeros((0, 0), dtype=np.float32))
        return RawOutput(logits, embeddings)

    def run_texts(self, texts: Sequence[str], *, batch_size: int = 64) -> RawOutput:
        return self.run_ids(self.encode(texts), batch_size=batch_size)

    def run_texts_one(self, text: str) -> RawOutput:
        """One utterance: tokenise + one forward pass (what latency is measured on)."""
        ids = np.asarray([self.tokenizer.encode(text).ids], dtype=np.int64)
        logits, embedding = self.session.run(
            ["logits", "embedding"], {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        )
        return RawOutput(logits, embedding)


class IntentPredictor:
    """A verified model folder: intents, confidence, out-of-scope verdict and the top-3 intents of each text."""

    def __init__(self, folder: Path, *, threads: int = 1, verify: bool = True) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise IntentModelError(
                f"model folder {folder} {'is not a folder' if folder.exists() else 'does not exist'}"
            )
        metadata = _read_json(folder, METADATA_FILE)
        if (
            not isinstance(metadata, dict)
            or metadata.get("format") != FORMAT
            or not isinstance(metadata.get("files"), dict)
        ):
            raise IntentModelError(f"model folder {folder}: {METADATA_FILE} is not an {FORMAT} metadata file")
        for name in (MODEL_FILE, TOKENIZER_FILE, LABELS_FILE, RULE_FILE):
            if name not in metadata["files"]:
                raise IntentModelError(f"model folder {folder}: {METADATA_FILE} does not list {name}")
        if verify:
            for name, expected in sorted(metadata["files"].items()):
                path = folder / name
                if not path.is_file():
                    raise IntentModelError(f"model folder {folder}: {name} is missing")
                if file_sha256(path) != expected:
                    raise IntentModelError(
                        f"model folder {folder}: {name} does not match its sha256 in {METADATA_FILE}"
                    )
        self.metadata = metadata
        labels_doc = _read_json(folder, LABELS_FILE)
        rule_doc = _read_json(folder, RULE_FILE)
        try:
            self.classes = [str(c) for c in labels_doc["labels"]]
            self.oos_label = str(labels_doc.get("oos_label", "oos"))
            self.rule = str(rule_doc["rule"])
            self.threshold = float(rule_doc["threshold"])
        except (KeyError, TypeError, ValueError) as exc:
            raise IntentModelError(f"model folder {folder}: labels.json or oos_rule.json is malformed ({exc})") from exc
        if self.rule not in RULES:
            raise IntentModelError(f"model folder {folder}: {RULE_FILE} names unknown rule {self.rule!r}")
        self.in_scope = np.asarray([c != self.oos_label for c in self.classes])
        if self.in_scope.sum() < 1:
            raise IntentModelError(f"model folder {folder}: {LABELS_FILE} lists no in-scope intent")
        self.centroids: np.ndarray | None = None
        if self.rule == "centroid":
            try:
                self.centroids = np.load(folder / CENTROIDS_FILE, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise IntentModelError(f"model folder {folder}: {CENTROIDS_FILE} cannot be read ({exc})") from exc
        self.model = OnnxIntentModel(folder, threads=threads)
        width = int(self.model.session.get_outputs()[0].shape[1] or len(self.classes))
        if width != len(self.classes):
            raise IntentModelError(
                f"model folder {folder}: model.onnx has {width} outputs but labels.json lists {len(self.classes)}"
            )

    def decide(self, raw: RawOutput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Probabilities, in-scope predicted class index, out-of-scope flags."""
        probabilities = softmax(raw.logits.astype(np.float64))
        scoring = np.where(self.in_scope, raw.logits, -np.inf)
        predicted = scoring.argmax(axis=1)
        predicted_oos_class = ~self.in_scope[raw.logits.argmax(axis=1)]
        scores = rule_scores(self.rule, raw.logits, raw.embeddings, in_scope=self.in_scope, centroids=self.centroids)
        return probabilities, predicted, decide(predicted_oos_class, scores, self.threshold)

    def predict_one(self, text: str) -> dict[str, Any]:
        return self.predict([text])[0]

    def predict(self, texts: Sequence[str], *, batch_size: int = 64) -> list[dict[str, Any]]:
        """One record per text: ``intent`` (``oos`` when out of scope), ``confidence``, ``out_of_scope``, ``top3``."""
        if not texts:
            return []
        raw = self.model.run_texts(texts, batch_size=batch_size)
        probabilities, predicted, out_of_scope = self.decide(raw)
        records = []
        for i, text in enumerate(texts):
            p = probabilities[i]
            top = np.argsort(-p, kind="stable")[:TOP_K]
            records.append(
                {
                    "text": text,
                    "intent": self.oos_label if out_of_scope[i] else self.classes[predicted[i]],
                    "predicted_intent": self.classes[predicted[i]],
                    "confidence": float(p[predicted[i]]),
                    "out_of_scope": bool(out_of_scope[i]),
                    "top3": [{"intent": self.classes[k], "probability": float(p[k])} for k in top],
                }
            )
        return records
