"""Baseline step: what the trained model's monitoring compares with, from the data it was trained on.

Inputs: ``validated`` (raw encounters that met the contract), ``splits`` (``splits.csv``: split of each
encounter), ``model`` and ``validation`` (feature set). Output ``baseline/``:

- ``data_quality/statistics.json`` and ``data_quality/constraints.json``: Model Monitor's data-quality baseline of
  the training split's raw feature columns (those the endpoint receives), types and domains from the data contract;
- ``model_quality/statistics.json`` and ``model_quality/constraints.json``: Model Monitor's model-quality baseline
  from the validation predictions at the model's threshold;
- ``bias/analysis_config.json``: the bias monitor's analysis configuration (label, facets, threshold);
- ``drift_baseline.json``: the local drift baseline (bins, shares, missing rates, domains, the predicted
  probability's bins on validation, the thresholds) that ``mlops drift`` reads.
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

from pipeline_code.adherence.baseline.params import DEFAULTS
from pipeline_code.adherence.baseline.quality import quality_constraints, quality_statistics
from pipeline_code.common import metrics
from pipeline_code.common.adherence_facets import OLDER_PATIENTS
from pipeline_code.common.adherence_features import read_feature_table
from pipeline_code.common.context import PROCESSING, StepContext, StepError, run_in_container
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.contracts.schema import Role
from pipeline_code.common.drift.baseline import (
    Thresholds,
    build_drift_baseline,
    model_monitor_constraints,
    model_monitor_statistics,
    monitored,
)
from pipeline_code.common.io import find_single_file, read_csv, write_json
from pipeline_code.common.model_bundle import load_bundle
from pipeline_code.common.params import read_params

DRIFT_FILE: Final = "drift_baseline.json"
DATA_QUALITY: Final = "data_quality"
MODEL_QUALITY: Final = "model_quality"
BIAS: Final = "bias"
STATISTICS: Final = "statistics.json"
CONSTRAINTS: Final = "constraints.json"
ANALYSIS_CONFIG: Final = "analysis_config.json"
MONITORED_ROLES: Final = (Role.FEATURE, Role.MEDICATION)
TRAIN_SPLIT: Final = "train"


def monitored_columns() -> tuple[Any, ...]:
    """The contract columns that drift is measured on: every feature and medication (not ids, not the target)."""
    return monitored(contract.COLUMNS, MONITORED_ROLES)


def thresholds_from(params: dict[str, Any]) -> Thresholds:
    return Thresholds(
        psi=params["psi_threshold"],
        prediction_psi=params["prediction_psi_threshold"],
        missing_increase=params["missing_increase_threshold"],
        type_violation=params["type_violation_threshold"],
        unseen=params["unseen_threshold"],
        significance=params["significance"],
    )


def training_rows(ctx: StepContext) -> pd.DataFrame:
    """The raw rows of the training split (validated encounters joined with the split assignment)."""
    what = f"{ctx.step_name}: input"
    validated = read_csv(
        find_single_file(ctx.input_dir("validated"), what=f"{what} 'validated'"),
        what=f"{what} 'validated'",
        **contract.READ_CSV_OPTIONS,
    )
    splits = read_csv(ctx.require_file("splits", "splits.csv"), what=f"{what} 'splits'", dtype=str)
    for frame, name, needed in ((validated, "validated", contract.ENCOUNTER_ID), (splits, "splits", "split")):
        if needed not in frame.columns:
            raise StepError(f"{what} {name!r} has no column {needed!r}")
    train_ids = set(splits.loc[splits["split"] == TRAIN_SPLIT, contract.ENCOUNTER_ID])
    rows = validated[validated[contract.ENCOUNTER_ID].isin(train_ids)].reset_index(drop=True)
    if rows.empty:
        raise StepError(f"{ctx.step_name}: no validated encounter is in the {TRAIN_SPLIT!r} split")
    return rows


def analysis_config(threshold: float) -> dict[str, Any]:
    """Clarify's analysis configuration of the bias monitor: the label, the facets and the model's threshold."""
    return {
        "dataset_type": "text/csv",
        "label": "label",
        "label_values_or_threshold": [1],
        "facet": [
            {"name_or_index": "race", "value_or_threshold": ["AfricanAmerican", "Hispanic", "Asian", "Other"]},
            {"name_or_index": "gender", "value_or_threshold": ["Female"]},
            {"name_or_index": "age", "value_or_threshold": list(OLDER_PATIENTS)},
        ],
        "probability_threshold": threshold,
        "methods": {"post_training_bias": {"methods": "all"}},
        "predictor": {"probability": "probability"},
    }


def run(ctx: StepContext) -> dict[str, Any]:
    """Write the data-quality, model-quality, bias and local drift baselines."""
    params = read_params(ctx, DEFAULTS)
    try:
        thresholds = thresholds_from(params)
    except ValueError as exc:
        raise StepError(f"{ctx.step_name}: {exc}") from exc
    rows = training_rows(ctx)
    bundle = load_bundle(ctx.input_dir("model"), what=f"{ctx.step_name}: input 'model'")
    validation = read_feature_table(ctx.input_dir("validation"), what=f"{ctx.step_name}: input 'validation'")
    if validation.empty:
        raise StepError(f"{ctx.step_name}: input 'validation' has no rows")
    y = validation[contract.LABEL_COLUMN].to_numpy()
    p = bundle.predict_proba(validation)
    columns = monitored_columns()
    out = ctx.output_dir("baseline")
    write_json(model_monitor_statistics(rows, columns), out / DATA_QUALITY / STATISTICS)
    write_json(
        model_monitor_constraints(
            rows, columns, thresholds=thresholds, distance_threshold=params["model_monitor_distance_threshold"]
        ),
        out / DATA_QUALITY / CONSTRAINTS,
    )
    statistics = quality_statistics(y, p, bundle.threshold)
    write_json(statistics, out / MODEL_QUALITY / STATISTICS)
    write_json(quality_constraints(statistics, params["quality_tolerance"]), out / MODEL_QUALITY / CONSTRAINTS)
    write_json(analysis_config(bundle.threshold), out / BIAS / ANALYSIS_CONFIG)
    drift = build_drift_baseline(
        rows,
        columns,
        contract={"name": contract.CONTRACT_NAME, "version": contract.CONTRACT_VERSION},
        thresholds=thresholds,
        bins=params["bins"],
        min_level_share=params["min_level_share"],
        probabilities=p,
    )
    write_json(drift, out / DRIFT_FILE)
    return {
        "train_rows": len(rows),
        "monitored_columns": len(columns),
        "validation_rows": len(validation),
        "validation_auc": metrics.rounded(statistics["binary_classification_metrics"]["auc"]["value"]),
    }


if __name__ == "__main__":
    run_in_container(PROCESSING, "AdherenceBaseline", run)
