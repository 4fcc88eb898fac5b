"""Split step: patient-grouped, stratified, deterministic."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_code.adherence.split.assign import SPLITS, assign_patients, check_fractions, split_table
from pipeline_code.adherence.split.main import run
from pipeline_code.common.context import StepError
from tests.adherence.helpers import PipelineRun, make_ctx


@st.composite
def grouped_tables(draw) -> pd.DataFrame:
    sizes = draw(st.lists(st.integers(1, 6), min_size=1, max_size=60))
    patients = np.repeat(np.arange(len(sizes)) * 7 + 3, sizes)
    labels = draw(st.lists(st.integers(0, 1), min_size=len(patients), max_size=len(patients)))
    return pd.DataFrame({"encounter_id": np.arange(len(patients)), "patient_nbr": patients, "label": labels})


@settings(max_examples=60, deadline=None)
@given(table=grouped_tables(), seed=st.integers(0, 2**31))
def test_no_patient_is_in_two_splits_and_every_row_is_assigned(table: pd.DataFrame, seed: int) -> None:
    split = split_table(table, seed=seed)
    assert split.isin(SPLITS).all()
    assert (split.groupby(table["patient_nbr"]).nunique() == 1).all()


@settings(max_examples=30, deadline=None)
@given(table=grouped_tables(), seed=st.integers(0, 1000))
def test_the_split_is_deterministic_and_ignores_row_order(table: pd.DataFrame, seed: int) -> None:
    first = split_table(table, seed=seed)
    shuffled = table.sample(frac=1.0, random_state=1)
    again = split_table(shuffled, seed=seed)
    pd.testing.assert_series_equal(first, again.loc[first.index])


def test_fractions_and_stratification_on_the_sample(pipeline: PipelineRun) -> None:
    splits = pd.read_csv(pipeline.output("split", "splits") / "splits.csv")
    assert list(splits.columns) == ["encounter_id", "patient_nbr", "split"]
    patients = splits.groupby("split")["patient_nbr"].nunique()
    share = patients / patients.sum()
    assert share["train"] == pytest.approx(0.70, abs=0.01)
    assert share["validation"] == pytest.approx(0.15, abs=0.01)
    assert share["test"] == pytest.approx(0.15, abs=0.01)
    rates = [pipeline.results["split"][f"{name}_positive_rate"] for name in SPLITS]
    assert max(rates) - min(rates) < 0.04  # stratified by "patient has a positive"
    assert splits["patient_nbr"].map(splits.groupby("patient_nbr")["split"].nunique()).eq(1).all()


def test_positive_patients_are_spread_by_stratum() -> None:
    patients = pd.Series(np.arange(200))
    labels = pd.Series(np.r_[np.ones(40), np.zeros(160)])
    assignment = assign_patients(patients, labels, seed=3)
    positives = assignment[labels.astype(bool).to_numpy()]
    assert positives.value_counts().to_dict() == {"train": 28, "validation": 6, "test": 6}


def test_tiny_data_puts_what_there_is_in_train() -> None:
    assignment = assign_patients(pd.Series([5]), pd.Series([1]))
    assert assignment.tolist() == ["train"]


@pytest.mark.parametrize(
    ("fractions", "message"),
    [((0.7, 0.2, 0.2), "sum to 1"), ((0.0, 0.5, 0.5), "train fraction"), ((0.5, -0.1, 0.6), "non-negative")],
)
def test_bad_fractions_are_refused(fractions: tuple[float, float, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_fractions(fractions)


def test_run_with_bad_fractions_names_the_step(tmp_path: Path, pipeline: PipelineRun) -> None:
    ctx = make_ctx(tmp_path, "AdherenceSplit", train_fraction="0.9")
    ctx.input_dir("features").mkdir(parents=True)
    source = pipeline.output("features", "features") / "features.csv"
    (ctx.input_dir("features") / "features.csv").write_bytes(source.read_bytes())
    with pytest.raises(StepError, match="AdherenceSplit: split fractions must sum to 1"):
        run(ctx)


def test_run_refuses_a_table_that_is_not_features(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "AdherenceSplit")
    ctx.input_dir("features").mkdir(parents=True)
    pd.DataFrame({"encounter_id": [1], "patient_nbr": [2]}).to_csv(ctx.input_dir("features") / "f.csv", index=False)
    with pytest.raises(StepError, match=r"f\.csv is not an adherence feature table; missing column\(s\) label"):
        run(ctx)


def test_run_writes_the_three_feature_sets(pipeline: PipelineRun) -> None:
    total = 0
    for name in SPLITS:
        table = pd.read_csv(pipeline.output("split", name) / f"{name}.csv")
        total += len(table)
        assert pipeline.results["split"][f"{name}_rows"] == len(table)
    assert total == pipeline.results["features"]["rows"]
