"""Fit the LightGBM readmission classifier and pick its operating threshold on validation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pipeline_code.common.openmp  # noqa: F401  (must precede lightgbm: passive OpenMP waiting)

# isort: split
import lightgbm as lgb
import numpy as np
import pandas as pd

from pipeline_code.common import metrics
from pipeline_code.common.adherence_features import CATEGORICAL_FEATURES, FEATURE_NAMES
from pipeline_code.common.contracts import adherence as contract

# Hyperparameters passed straight to LightGBM (the rest of the step parameters steer the loop or the threshold).
BOOSTER_PARAMS = (
    "learning_rate",
    "num_leaves",
    "max_depth",
    "min_data_in_leaf",
    "feature_fraction",
    "bagging_fraction",
    "bagging_freq",
    "lambda_l1",
    "lambda_l2",
    "cat_smooth",
    "cat_l2",
    "min_data_per_group",
    "num_threads",
    "seed",
)


@dataclass(frozen=True)
class FitResult:
    """A trained booster (at its best iteration), its operating threshold and what to record about it."""

    booster: lgb.Booster
    threshold: float
    threshold_source: str
    validation_probability: np.ndarray
    info: dict[str, Any]


def lightgbm_params(settings: Mapping[str, Any]) -> dict[str, Any]:
    """LightGBM parameters from step settings, with what makes runs repeatable and quiet fixed here.

    ``deterministic`` + ``force_row_wise`` + a fixed thread count give bit-identical models for a seed.
    """
    params = {name: settings[name] for name in BOOSTER_PARAMS if name in settings}
    return {
        "objective": "binary",
        "metric": "binary_logloss",  # defined even when a small validation split has one class only
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
        "feature_pre_filter": False,  # keep constant-in-train features so every table has the same columns
        **params,
    }


def _dataset(table: pd.DataFrame, reference: lgb.Dataset | None = None) -> lgb.Dataset:
    return lgb.Dataset(
        table[list(FEATURE_NAMES)].to_numpy(dtype=np.float64),
        label=table[contract.LABEL_COLUMN].to_numpy(),
        feature_name=list(FEATURE_NAMES),
        categorical_feature=list(CATEGORICAL_FEATURES),
        reference=reference,
        free_raw_data=True,
    )


def train_booster(train: pd.DataFrame, validation: pd.DataFrame, settings: Mapping[str, Any]) -> lgb.Booster:
    """Boost up to ``num_boost_round`` trees, stopping when validation log-loss has not improved for
    ``early_stopping_rounds``; the booster remembers its best iteration."""
    train_set = _dataset(train)
    validation_set = _dataset(validation, reference=train_set)
    return lgb.train(
        lightgbm_params(settings),
        train_set,
        num_boost_round=int(settings["num_boost_round"]),
        valid_sets=[validation_set],
        valid_names=["validation"],
        callbacks=[lgb.early_stopping(int(settings["early_stopping_rounds"]), verbose=False)],
    )


def choose_threshold(
    y_validation: Any, p_validation: Any, recall_target: float, *, fallback: float
) -> tuple[float, str]:
    """The operating threshold: the highest reaching ``recall_target`` on validation.

    A validation split with no positive (tiny data) cannot say; then ``fallback`` (the training prevalence, the
    threshold of a calibrated model that flags "riskier than average") is used and the source says so.
    """
    threshold = metrics.threshold_for_recall(y_validation, p_validation, recall_target)
    if math.isnan(threshold):
        return fallback, "train prevalence (validation has no positive)"
    return threshold, f"highest validation threshold with recall >= {recall_target}"


def fit_model(train: pd.DataFrame, validation: pd.DataFrame, settings: Mapping[str, Any]) -> FitResult:
    """Train, score validation with the best iteration, choose the threshold, and gather the facts to record."""
    booster = train_booster(train, validation, settings)
    validation_matrix = validation[list(FEATURE_NAMES)].to_numpy(dtype=np.float64)
    best = booster.best_iteration or booster.current_iteration()
    p_validation = np.asarray(booster.predict(validation_matrix, num_iteration=best), dtype=np.float64)
    y_validation = validation[contract.LABEL_COLUMN].to_numpy()
    y_train = train[contract.LABEL_COLUMN].to_numpy()
    prevalence = float(y_train.mean())
    threshold, source = choose_threshold(
        y_validation, p_validation, float(settings["recall_target"]), fallback=prevalence
    )
    info = {
        "best_iteration": int(best),
        "train_rows": len(train),
        "train_positives": int(y_train.sum()),
        "train_prevalence": prevalence,
        "validation_rows": len(validation),
        "validation_positives": int(y_validation.sum()),
        "validation_roc_auc": metrics.roc_auc(y_validation, p_validation),
        "validation_pr_auc": metrics.pr_auc(y_validation, p_validation),
        "validation_logloss": float(booster.best_score["validation"]["binary_logloss"]),
    }
    return FitResult(booster, threshold, source, p_validation, info)


def feature_importance(booster: lgb.Booster, top: int = 20) -> list[dict[str, Any]]:
    """The ``top`` features by total gain, for the model card."""
    gains = booster.feature_importance(importance_type="gain")
    order = np.argsort(-gains)[:top]
    names = booster.feature_name()
    return [{"feature": names[i], "gain": float(gains[i])} for i in order if gains[i] > 0]
