"""Compare fine-tuning recipes of the intent model on validation rows only: accuracy after every epoch.

    python -m benchmarks.intent_recipe RUN_DIR [--set epochs=5] [--set scale=30] [--set label_smoothing=0.1] ...

Trains on the ``train.csv`` of a finished intent run (``RUN_DIR/steps/IntentValidate/.../validated/``) with the
train step's defaults plus the ``--set`` overrides, and prints the closed-set in-scope accuracy on that run's
``valid.csv`` after every epoch. The test split is never read: this is how the recipe in
``pipeline_code/intent/train/params.py`` was chosen, and how a change to it should be argued. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import ast
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.intent_latency import step_output
from pipeline_code.intent.contract import OOS_LABEL, read_table
from pipeline_code.intent.train.fit import FitSettings, embed_and_score, encode, fit, fitted_tokenizer
from pipeline_code.intent.train.main import class_order
from pipeline_code.intent.train.model import IntentClassifier, base_model_path
from pipeline_code.intent.train.params import DEFAULTS


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs for :class:`FitSettings` fields; values are Python literals (``5``, ``0.1``, ``True``)."""
    known = {f.name for f in fields(FitSettings)}
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or name not in known:
            raise SystemExit(f"--set {pair!r}: expected NAME=VALUE with NAME one of {', '.join(sorted(known))}")
        try:
            out[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            out[name] = text
    return out


def closed_set_accuracy(model: IntentClassifier, ids: list[list[int]], labels: np.ndarray, oos: int | None) -> float:
    """In-scope rows only; the ``oos`` class (when trained) is never the answer (the evaluate step's closed set)."""
    logits, _ = embed_and_score(model, ids)
    if oos is not None:
        logits[:, oos] = -np.inf
    in_scope = labels >= 0
    return float((logits[in_scope].argmax(axis=1) == labels[in_scope]).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a finished `mlops run intent` directory")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    folder = step_output(args.run_dir, "IntentValidate", "validated")
    train_texts, train_labels = read_table(folder / "train.csv")
    valid_texts, valid_labels = read_table(folder / "valid.csv")
    classes = class_order(train_labels)
    index = {c: i for i, c in enumerate(classes)}
    base = base_model_path()
    overrides = parse_overrides(args.overrides)
    requested = int(overrides.get("max_length", DEFAULTS["max_length"]))
    tokenizer, max_length = fitted_tokenizer(base / "tokenizer.json", train_texts, requested)
    settings = FitSettings(**{**DEFAULTS, **overrides, "max_length": max_length})
    valid_ids = encode(tokenizer, valid_texts)
    # A valid row whose label is oos (or unknown to train) is not an in-scope row: -1 keeps it out of the accuracy.
    valid_y = np.asarray([index[y] if y in index and y != OOS_LABEL else -1 for y in valid_labels])
    started = time.perf_counter()
    in_scope = int((valid_y >= 0).sum())
    print(f"{len(train_texts)} train rows, {in_scope} in-scope validation rows; overrides {args.overrides}")

    def report(epoch: int, model: IntentClassifier) -> None:
        accuracy = closed_set_accuracy(model, valid_ids, valid_y, index.get(OOS_LABEL))
        seconds = time.perf_counter() - started
        print(f"epoch {epoch}: validation closed-set accuracy {100 * accuracy:.2f} ({seconds:.0f} s)", flush=True)

    fit(
        base_path=base,
        train_ids=encode(tokenizer, train_texts),
        train_labels=np.asarray([index[y] for y in train_labels], dtype=np.int64),
        num_labels=len(classes),
        settings=settings,
        on_epoch_end=report,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
