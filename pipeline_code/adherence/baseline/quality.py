"""Model-quality baseline in Model Monitor's format, from the validation predictions of the trained model.

``statistics.json`` holds ``binary_classification_metrics`` (confusion matrix and each metric as
``{"value", "standard_deviation"}``); ``constraints.json`` holds ``binary_classification_constraints``: a metric
that falls below its validation value less ``tolerance`` is a violation (``LessThanThreshold``).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from pipeline_code.common import metrics

CONSTRAINED: Final = ("auc", "recall", "precision", "f1")


def _fbeta(precision: float, recall: float, beta: float) -> float:
    denominator = beta * beta * precision + recall
    return (1 + beta * beta) * precision * recall / denominator if denominator else 0.0


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    """Model Monitor's binary classification metrics at ``threshold``."""
    y = np.asarray(y).astype(int)
    flagged = (np.asarray(p) >= threshold).astype(int)
    tp = int(np.sum((flagged == 1) & (y == 1)))
    fp = int(np.sum((flagged == 1) & (y == 0)))
    fn = int(np.sum((flagged == 0) & (y == 1)))
    tn = int(np.sum((flagged == 0) & (y == 0)))
    n = tp + fp + fn + tn
    recall = tp / (tp + fn) if tp + fn else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    values = {
        "recall": recall,
        "precision": precision,
        "accuracy": (tp + tn) / n if n else 0.0,
        "true_positive_rate": recall,
        "true_negative_rate": tn / (tn + fp) if tn + fp else 0.0,
        "false_positive_rate": fp / (fp + tn) if fp + tn else 0.0,
        "false_negative_rate": fn / (fn + tp) if fn + tp else 0.0,
        "auc": metrics.roc_auc(y, p),
        "f0_5": _fbeta(precision, recall, 0.5),
        "f1": _fbeta(precision, recall, 1.0),
        "f2": _fbeta(precision, recall, 2.0),
    }
    out: dict[str, Any] = {
        "confusion_matrix": {"0": {"0": float(tn), "1": float(fp)}, "1": {"0": float(fn), "1": float(tp)}}
    }
    for name, value in values.items():
        out[name] = {"value": float(value), "standard_deviation": 0.0}
    return out


def quality_statistics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    return {
        "version": 0.0,
        "dataset": {"item_count": len(y)},
        "binary_classification_metrics": binary_metrics(y, p, threshold),
    }


def quality_constraints(statistics: dict[str, Any], tolerance: float) -> dict[str, Any]:
    found = statistics["binary_classification_metrics"]
    return {
        "version": 0.0,
        "binary_classification_constraints": {
            name: {
                "threshold": max(0.0, round(found[name]["value"] - tolerance, 6)),
                "comparison_operator": "LessThanThreshold",
            }
            for name in CONSTRAINED
        },
    }
