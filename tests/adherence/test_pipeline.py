"""The steps chained on small and awkward data: they finish, reconcile, and say what is undefined."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from pipeline_code.adherence.train.params import DEFAULTS
from pipeline_code.common.contracts import adherence as contract
from tests.adherence.helpers import DATA_FILE, run_pipeline, write_raw


@pytest.mark.parametrize("rows", [40, 150])
def test_the_pipeline_runs_on_tiny_data_with_default_parameters(tmp_path: Path, rows: int) -> None:
    raw = pd.read_csv(DATA_FILE, nrows=rows, **contract.READ_CSV_OPTIONS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no matplotlib / pandas warnings either
        run = run_pipeline(tmp_path, write_raw(raw, tmp_path / "raw.csv"), train_params=dict(DEFAULTS))
    split = run.results["split"]
    assert split["train_rows"] + split["validation_rows"] + split["test_rows"] == rows
    document = json.loads((run.output("evaluate", "evaluation") / "metrics.json").read_text())
    gate = document["quality_gate"]
    if document["test"]["roc_auc"] is None:  # one class in test: undefined, not registrable, no crash
        assert gate["registrable"] is False and "undefined" in gate["reason"]
    predictions = pd.read_csv(run.output("predict", "predictions") / "test_predictions.csv")
    assert len(predictions) == split["test_rows"]
    assert predictions["probability"].between(0, 1).all()


def test_rejected_rows_do_not_reach_the_splits(tmp_path: Path, raw_sample: pd.DataFrame) -> None:
    raw = raw_sample.head(400).copy()
    raw.loc[[3, 50, 51], "discharge_disposition_id"] = "99"
    run = run_pipeline(tmp_path, write_raw(raw, tmp_path / "raw.csv"))
    assert run.results["validate"]["rows_rejected"] == 3
    splits = pd.read_csv(run.output("split", "splits") / "splits.csv")
    assert len(splits) == 397
    assert not set(raw.loc[[3, 50, 51], "encounter_id"].astype(int)) & set(splits["encounter_id"])
