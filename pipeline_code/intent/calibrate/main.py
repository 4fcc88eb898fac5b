"""Intent calibrate step: int8 ONNX folder + validated data in, the shipped model folder out.

The out-of-scope rule is calibrated on the int8 model itself (the one that ships), on validation rows only: each
rule of ``rules`` gets its best threshold, the best rule is kept (see :mod:`pipeline_code.intent.oos`). The model
folder is then sealed: ``metadata.json`` lists the sha256 of every file.
"""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np

from pipeline_code.common.context import PROCESSING, StepContext, StepError, run_in_container
from pipeline_code.common.io import read_json, write_json
from pipeline_code.common.params import read_params
from pipeline_code.intent.calibrate.params import DEFAULTS
from pipeline_code.intent.contract import OOS_LABEL, read_table
from pipeline_code.intent.oos import RULES, choose_rule, rule_document
from pipeline_code.intent.runtime import (
    CENTROIDS_FILE,
    LABELS_FILE,
    MODEL_FILE,
    RULE_FILE,
    TOKENIZER_FILE,
    OnnxIntentModel,
    write_metadata,
)
from pipeline_code.intent.train.fit import class_centroids, per_class_subset


def run(ctx: StepContext) -> dict[str, Any]:
    settings = read_params(ctx, DEFAULTS)
    rules = [r.strip() for r in str(settings["rules"]).split(",") if r.strip()]
    if not rules or any(r not in RULES for r in rules):
        raise StepError(f"{ctx.step_name}: parameter 'rules'={settings['rules']!r}; known: {', '.join(RULES)}")
    if not 0.0 <= settings["fallback_reject_rate"] < 1.0:
        raise StepError(f"{ctx.step_name}: parameter 'fallback_reject_rate' must be in [0, 1)")
    int8_dir = ctx.input_dir("onnx_int8")
    for name in (MODEL_FILE, TOKENIZER_FILE, LABELS_FILE):
        ctx.require_file("onnx_int8", name)
    classes = list(read_json(int8_dir / LABELS_FILE, what=f"{ctx.step_name}: labels")["labels"])
    model = OnnxIntentModel(int8_dir)
    in_scope = [i for i, c in enumerate(classes) if c != OOS_LABEL]

    centroids = None
    if "centroid" in rules:
        train_texts, train_labels = read_table(ctx.require_file("validated", "train.csv"))
        index = {c: i for i, c in enumerate(classes)}
        y = np.asarray([index[t] for t in train_labels], dtype=np.int64)
        rows = per_class_subset(y, settings["centroid_rows_per_class"], np.random.default_rng(settings["seed"]))
        embeddings = model.run_texts([train_texts[i] for i in rows]).embeddings
        centroids = class_centroids(embeddings, y[rows], len(classes))[in_scope]

    texts, truth = read_table(ctx.require_file("validated", "valid.csv"))
    raw = model.run_texts(texts)
    kept, candidates = choose_rule(
        raw.logits,
        raw.embeddings,
        truth,
        classes,
        oos_label=OOS_LABEL,
        centroids=centroids,
        fallback_reject_rate=settings["fallback_reject_rate"],
        max_accuracy_loss=settings["max_accuracy_loss"],
        rules=rules,
    )
    out = ctx.output_dir("edge_model")
    for name in (MODEL_FILE, TOKENIZER_FILE, LABELS_FILE):
        shutil.copyfile(int8_dir / name, out / name)
    write_json(
        rule_document(
            kept, candidates, oos_class=OOS_LABEL in classes, max_accuracy_loss=settings["max_accuracy_loss"]
        ),
        out / RULE_FILE,
    )
    if kept.rule == "centroid" and centroids is not None:
        np.save(out / CENTROIDS_FILE, centroids.astype(np.float32), allow_pickle=False)
    write_metadata(
        out,
        {
            "model": "intent",
            "base_model": "sentence-transformers/all-MiniLM-L6-v2",
            "quantization": "onnxruntime dynamic int8",
            "classes": len(classes),
            "validation_rows": len(texts),
        },
    )
    return {
        "rule": kept.rule,
        "threshold": round(kept.threshold, 5),
        "valid_in_scope_accuracy": round(kept.in_scope_accuracy, 4),
        "valid_oos_recall": None if np.isnan(kept.oos_recall) else round(kept.oos_recall, 4),
    }


if __name__ == "__main__":
    run_in_container(PROCESSING, "IntentCalibrate", run)
