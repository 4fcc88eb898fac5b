"""Specs render-ready; training is deterministic for a fixed seed; shipped data sets convert to text,label CSVs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from pipeline_code.dag.assembler import PipelineAssembler
from pipeline_code.dag.spec import TRAINING_MODEL_PATH, JobType
from pipeline_code.intent.datasets import materialize
from pipeline_code.intent.specs import DEFINITION, TRAIN_SPEC
from pipeline_code.intent.train.fit import FitSettings, encode, fit, load_tokenizer
from pipeline_code.intent.train.model import base_model_path
from tests.intent.helpers import INTENTS

ROOT = Path(__file__).resolve().parents[2]


def test_plan_assembles_with_a_training_job() -> None:
    plan = PipelineAssembler(DEFINITION).assemble({})
    assert plan.order[0] == "IntentValidate" and plan.order[-1] == "IntentGate"
    assert TRAIN_SPEC.job_type is JobType.TRAINING
    assert TRAIN_SPEC.output("model").property_path == TRAINING_MODEL_PATH


def test_fit_is_deterministic_for_a_fixed_seed() -> None:
    texts = [t for ts in INTENTS.values() for t in ts]
    labels = np.asarray([k for k, ts in enumerate(INTENTS.values()) for _ in ts])
    tokenizer = load_tokenizer(base_model_path() / "tokenizer.json", 16)
    ids = encode(tokenizer, texts)
    settings = FitSettings(max_steps=2, batch_size=8, init_rows_per_class=2, max_length=16)
    runs = [fit(base_path=base_model_path(), train_ids=ids, train_labels=labels, num_labels=4, settings=settings)]
    runs.append(fit(base_path=base_model_path(), train_ids=ids, train_labels=labels, num_labels=4, settings=settings))
    first, second = (r.model.state_dict() for r in runs)
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_shipped_data_sets_convert_with_their_oos_splits(tmp_path: Path) -> None:
    clinc = materialize("clinc150", ROOT / "data", tmp_path / "clinc")
    counts = {}
    for split, path in clinc.items():
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        counts[split] = (len(rows), sum(r["label"] == "oos" for r in rows))
    assert counts == {"train": (15100, 100), "valid": (3100, 100), "test": (5500, 1000)}
    banking = materialize("banking77", ROOT / "data", tmp_path / "banking")
    assert set(banking) == {"train", "test"}


def test_fit_reports_each_full_epoch_and_resumes_training_mode() -> None:
    """on_epoch_end runs after every whole epoch (none for a partial last one); fit switches back to train mode."""
    texts = [t for ts in INTENTS.values() for t in ts]
    labels = np.asarray([k for k, ts in enumerate(INTENTS.values()) for _ in ts])
    tokenizer = load_tokenizer(base_model_path() / "tokenizer.json", 16)
    steps_per_epoch = -(-len(texts) // 8)
    settings = FitSettings(epochs=2.5, batch_size=8, init_rows_per_class=2, max_length=16)
    seen: list[tuple[int, bool]] = []

    def on_epoch_end(epoch: int, model: torch.nn.Module) -> None:
        seen.append((epoch, model.training))
        model.eval()  # what a validation pass does

    result = fit(
        base_path=base_model_path(),
        train_ids=encode(tokenizer, texts),
        train_labels=labels,
        num_labels=4,
        settings=settings,
        on_epoch_end=on_epoch_end,
    )
    assert seen == [(1, True), (2, True)]
    assert result.info["steps"] == -(-5 * steps_per_epoch // 2)


def test_cpu_threads_uses_the_process_affinity_unless_a_count_is_given() -> None:
    import os

    from pipeline_code.intent.train.fit import cpu_threads

    assert cpu_threads(3) == 3
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere the CPU count
    assert cpu_threads(0) == (len(affinity(0)) if affinity is not None else os.cpu_count())


def test_fitted_tokenizer_keeps_a_given_length_and_fits_one_otherwise() -> None:
    from pipeline_code.intent.train.fit import fitted_tokenizer

    path = base_model_path() / "tokenizer.json"
    texts = [t for ts in INTENTS.values() for t in ts]
    tokenizer, length = fitted_tokenizer(path, ["word " * 200], 24)
    assert length == 24 and len(tokenizer.encode("word " * 200).ids) == 24
    _, fitted = fitted_tokenizer(path, texts)
    assert fitted == 16  # short utterances: the floor of fit_max_length
    _, long_fit = fitted_tokenizer(path, ["word " * 500])
    assert long_fit == 128  # the cap
