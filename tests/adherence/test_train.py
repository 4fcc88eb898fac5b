"""Train step: deterministic LightGBM, a self-contained model folder, the operating threshold chosen on validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_code.adherence.train.fit import choose_threshold, fit_model
from pipeline_code.adherence.train.main import run
from pipeline_code.adherence.train.params import DEFAULTS
from pipeline_code.common import metrics
from pipeline_code.common.context import TRAINING, StepContext, StepError
from pipeline_code.common.model_bundle import META_FILE, MODEL_FILE, load_bundle
from pipeline_code.common.params import read_params
from tests.adherence.helpers import FAST_TRAIN, PipelineRun, feed, make_ctx


def _tables(pipeline: PipelineRun) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_csv(pipeline.output("split", "train") / "train.csv"),
        pd.read_csv(pipeline.output("split", "validation") / "validation.csv"),
    )


def test_training_is_deterministic_for_a_seed(pipeline: PipelineRun) -> None:
    train, validation = _tables(pipeline)
    settings_ = {**DEFAULTS, **FAST_TRAIN, "num_threads": 2}
    first = fit_model(train, validation, settings_)
    second = fit_model(train, validation, settings_)
    assert first.booster.model_to_string() == second.booster.model_to_string()
    assert first.threshold == second.threshold
    np.testing.assert_array_equal(first.validation_probability, second.validation_probability)


def test_another_seed_gives_another_model(pipeline: PipelineRun) -> None:
    train, validation = _tables(pipeline)
    base = {**DEFAULTS, **FAST_TRAIN}
    first = fit_model(train, validation, base).booster.model_to_string()
    other = fit_model(train, validation, {**base, "seed": 7}).booster.model_to_string()
    assert first != other


def test_the_model_folder_is_self_contained(pipeline: PipelineRun, tmp_path: Path) -> None:
    copy = shutil.copytree(pipeline.contexts["train"].model_dir, tmp_path / "elsewhere")
    bundle = load_bundle(copy)
    assert {p.name for p in copy.iterdir()} == {MODEL_FILE, META_FILE, "feature_schema.json"}
    assert 0.0 < bundle.threshold < 1.0
    assert bundle.meta["recall_target"] == DEFAULTS["recall_target"]
    assert bundle.meta["contract"]["name"] == "diabetes-130-us-hospitals"
    assert set(bundle.categorical) <= set(bundle.features)
    assert pipeline.results["train"]["best_iteration"] == bundle.booster.current_iteration()


def test_the_threshold_reaches_the_recall_target_on_validation(pipeline: PipelineRun) -> None:
    bundle = load_bundle(pipeline.contexts["train"].model_dir)
    _, validation = _tables(pipeline)
    p = bundle.predict_proba(validation)
    point = metrics.at_threshold(validation["label"], p, bundle.threshold)
    assert point["recall"] >= bundle.meta["recall_target"]


@settings(max_examples=80, deadline=None)
@given(
    scores=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 20)), min_size=1, max_size=60),
    target=st.floats(0.05, 1.0),
)
def test_threshold_for_recall_is_the_highest_that_reaches_the_target(scores: list, target: float) -> None:
    y = np.array([s[0] for s in scores])
    p = np.array([s[1] / 20 for s in scores])
    threshold = metrics.threshold_for_recall(y, p, target)
    if y.sum() == 0:
        assert np.isnan(threshold)
        return
    assert metrics.at_threshold(y, p, threshold)["recall"] >= target - 1e-9
    higher = p[p > threshold]
    if higher.size:
        assert metrics.at_threshold(y, p, higher.min())["recall"] < target


def test_without_validation_positives_the_threshold_falls_back_to_prevalence() -> None:
    threshold, source = choose_threshold([0, 0, 0], [0.1, 0.2, 0.3], 0.6, fallback=0.11)
    assert threshold == 0.11 and "no positive" in source


def test_parameters_arrive_as_strings_from_sagemaker(tmp_path: Path) -> None:
    ctx = StepContext(TRAINING, tmp_path, {"learning_rate": "0.1", "num_leaves": "15", "seed": "7.0"})
    values = read_params(ctx, DEFAULTS)
    assert values["learning_rate"] == 0.1 and values["num_leaves"] == 15 and values["seed"] == 7


@pytest.mark.parametrize(("name", "value"), [("num_leaves", "many"), ("seed", "4.5")])
def test_a_bad_parameter_is_named(tmp_path: Path, name: str, value: str) -> None:
    ctx = StepContext(TRAINING, tmp_path, {name: value}, step_name="AdherenceTrain")
    with pytest.raises(StepError, match=f"AdherenceTrain: parameter '{name}'='{value}' is not a valid"):
        read_params(ctx, DEFAULTS)


def _train_ctx(tmp_path: Path, pipeline: PipelineRun, **params) -> StepContext:
    ctx = make_ctx(tmp_path, "AdherenceTrain", job_type=TRAINING, **{**FAST_TRAIN, **params})
    for name in ("train", "validation"):
        feed(pipeline.contexts["split"], name, ctx, name)
    return ctx


def test_a_missing_channel_is_named(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "AdherenceTrain", job_type=TRAINING)
    with pytest.raises(StepError, match=r"AdherenceTrain: channel 'train': .*input/data/train does not exist"):
        run(ctx)


def test_a_one_class_training_set_is_refused(tmp_path: Path, pipeline: PipelineRun) -> None:
    ctx = _train_ctx(tmp_path, pipeline)
    path = ctx.input_dir("train") / "train.csv"
    table = pd.read_csv(path)
    table.assign(label=0).to_csv(path, index=False)
    with pytest.raises(StepError, match="channel 'train' has one class only"):
        run(ctx)


def test_an_empty_channel_is_refused(tmp_path: Path, pipeline: PipelineRun) -> None:
    ctx = _train_ctx(tmp_path, pipeline)
    path = ctx.input_dir("validation") / "validation.csv"
    pd.read_csv(path).head(0).to_csv(path, index=False)
    with pytest.raises(StepError, match="channel 'validation' has no rows"):
        run(ctx)


def test_a_recall_target_outside_0_1_is_refused(tmp_path: Path, pipeline: PipelineRun) -> None:
    with pytest.raises(StepError, match=r"'recall_target'=1\.5 is not in"):
        run(_train_ctx(tmp_path, pipeline, recall_target=1.5))
