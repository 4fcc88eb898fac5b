"""Score the model on validation and test, and decide the quality gate."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from pipeline_code.common import metrics
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.model_bundle import ModelBundle

GATE_METRIC = "test.roc_auc"


def score(bundle: ModelBundle, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predicted probabilities of a feature table."""
    return table[contract.LABEL_COLUMN].to_numpy(), bundle.predict_proba(table)


def quality_gate(test_roc_auc: float, min_roc_auc: float) -> dict[str, Any]:
    """The registration verdict: registrable only if test ROC-AUC is defined and reaches ``min_roc_auc``."""
    defined = test_roc_auc is not None and math.isfinite(test_roc_auc)
    passed = bool(defined and test_roc_auc >= min_roc_auc)
    if not defined:
        reason = "test ROC-AUC is undefined (the test split has one class only)"
    elif passed:
        reason = f"test ROC-AUC {test_roc_auc:.4f} >= {min_roc_auc}"
    else:
        reason = f"test ROC-AUC {test_roc_auc:.4f} < {min_roc_auc}"
    return {
        "metric": GATE_METRIC,
        "value": test_roc_auc if defined else None,
        "min_value": min_roc_auc,
        "passed": passed,
        "registrable": passed,
        "reason": reason,
    }


def build_metrics(
    bundle: ModelBundle,
    scored: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    min_roc_auc: float,
    calibration_bins: int,
) -> dict[str, Any]:
    """The ``metrics.json`` document: per split (``validation``, ``test``) the summary at the model's operating
    threshold, plus the threshold, how it was chosen, and the quality-gate verdict."""
    document: dict[str, Any] = {
        "model": bundle.meta.get("model", "adherence"),
        "threshold": bundle.threshold,
        "threshold_source": bundle.meta.get("threshold_source", ""),
        "recall_target": bundle.meta.get("recall_target"),
        "best_iteration": bundle.meta.get("training", {}).get("best_iteration"),
    }
    for name, (y, p) in scored.items():
        document[name] = metrics.classification_summary(y, p, bundle.threshold, bins=calibration_bins)
        document[name]["calibration"] = metrics.calibration_table(y, p, calibration_bins)
    document["quality_gate"] = quality_gate(document["test"]["roc_auc"], min_roc_auc)
    return document
