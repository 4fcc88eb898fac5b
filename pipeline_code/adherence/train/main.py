"""Train step (a SageMaker training job): channels ``train`` and ``validation`` in, a model folder out.

The model folder (``ctx.model_dir``, uploaded by SageMaker as the model artefact) is self-contained for batch
prediction: ``model.txt`` (LightGBM text format, best iteration only), ``model_meta.json`` (features, categorical
features, operating threshold and how it was chosen, hyperparameters, training facts) and ``feature_schema.json``.
"""

from __future__ import annotations

from typing import Any

from pipeline_code.adherence.train.fit import feature_importance, fit_model, lightgbm_params
from pipeline_code.adherence.train.params import DEFAULTS
from pipeline_code.common import metrics
from pipeline_code.common.adherence_features import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    FEATURE_SET_VERSION,
    feature_schema,
    read_feature_table,
)
from pipeline_code.common.context import TRAINING, StepContext, StepError, run_in_container
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.io import write_json
from pipeline_code.common.model_bundle import save_bundle
from pipeline_code.common.params import read_params

SCHEMA_FILE = "feature_schema.json"


def run(ctx: StepContext) -> dict[str, Any]:
    """Fit the model with early stopping on validation, choose the threshold, write the model folder."""
    settings = read_params(ctx, DEFAULTS)
    if not 0.0 < settings["recall_target"] <= 1.0:
        raise StepError(f"{ctx.step_name}: parameter 'recall_target'={settings['recall_target']} is not in (0, 1]")
    tables = {
        name: read_feature_table(ctx.input_dir(name), what=f"{ctx.step_name}: channel {name!r}")
        for name in ("train", "validation")
    }
    for name, table in tables.items():
        if table.empty:
            raise StepError(f"{ctx.step_name}: channel {name!r} has no rows")
    if tables["train"][contract.LABEL_COLUMN].nunique() < 2:
        raise StepError(f"{ctx.step_name}: channel 'train' has one class only; a classifier cannot be trained")
    result = fit_model(tables["train"], tables["validation"], settings)
    save_bundle(
        ctx.model_dir,
        result.booster,
        features=FEATURE_NAMES,
        categorical=CATEGORICAL_FEATURES,
        threshold=result.threshold,
        meta={
            "model": "adherence",
            "task": "30-day readmission (readmitted == '<30') of a diabetic inpatient encounter",
            "contract": {"name": contract.CONTRACT_NAME, "version": contract.CONTRACT_VERSION},
            "feature_set_version": FEATURE_SET_VERSION,
            "threshold_source": result.threshold_source,
            "recall_target": settings["recall_target"],
            "lightgbm_params": lightgbm_params(settings),
            "num_boost_round": settings["num_boost_round"],
            "early_stopping_rounds": settings["early_stopping_rounds"],
            "training": result.info,
            "top_features_by_gain": feature_importance(result.booster),
        },
    )
    write_json(feature_schema(), ctx.model_dir / SCHEMA_FILE)
    info = result.info
    return {
        "best_iteration": info["best_iteration"],
        "threshold": metrics.rounded(result.threshold),
        "train_rows": info["train_rows"],
        "validation_rows": info["validation_rows"],
        "validation_roc_auc": metrics.rounded(info["validation_roc_auc"]),
        "validation_pr_auc": metrics.rounded(info["validation_pr_auc"]),
    }


if __name__ == "__main__":
    run_in_container(TRAINING, "AdherenceTrain", run)
