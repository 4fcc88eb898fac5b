"""Binary-classification metrics shared by training (operating threshold) and evaluation (report, quality gate).

Each function is defined for degenerate input too (one class only, empty): it returns NaN rather than raising,
because a small or odd data set must still produce a report that says why a number is missing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def _arrays(y_true: Any, y_prob: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.int8).ravel()
    p = np.asarray(y_prob, dtype=np.float64).ravel()
    if y.shape != p.shape:
        raise ValueError(f"labels and probabilities differ in length: {y.shape[0]} vs {p.shape[0]}")
    return y, p


def _both_classes(y: np.ndarray) -> bool:
    return bool(y.size) and 0 < int(y.sum()) < y.size


def roc_auc(y_true: Any, y_prob: Any) -> float:
    """Area under the ROC curve; NaN unless both classes are present."""
    y, p = _arrays(y_true, y_prob)
    return float(roc_auc_score(y, p)) if _both_classes(y) else math.nan


def pr_auc(y_true: Any, y_prob: Any) -> float:
    """Area under the precision-recall curve as average precision (step-wise, no optimistic interpolation)."""
    y, p = _arrays(y_true, y_prob)
    return float(average_precision_score(y, p)) if _both_classes(y) else math.nan


def brier(y_true: Any, y_prob: Any) -> float:
    """Mean squared error of the probabilities."""
    y, p = _arrays(y_true, y_prob)
    return float(np.mean((p - y) ** 2)) if y.size else math.nan


def expected_calibration_error(y_true: Any, y_prob: Any, bins: int = 10) -> float:
    """ECE over ``bins`` equal-width probability bins: sum of |mean predicted - observed rate| weighted by bin size."""
    y, p = _arrays(y_true, y_prob)
    if not y.size:
        return math.nan
    index = np.minimum((p * bins).astype(int), bins - 1)
    # |sum p - sum y| per bin over N equals the size-weighted |mean p - rate| of the definition.
    sum_p = np.bincount(index, weights=p, minlength=bins)
    sum_y = np.bincount(index, weights=y, minlength=bins)
    return float(np.abs(sum_p - sum_y).sum() / y.size)


def calibration_table(y_true: Any, y_prob: Any, bins: int = 10) -> list[dict[str, float]]:
    """Per non-empty bin: its range, size, mean predicted probability and observed positive rate (for plots)."""
    y, p = _arrays(y_true, y_prob)
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            rows.append(
                {
                    "lower": b / bins,
                    "upper": (b + 1) / bins,
                    "count": int(mask.sum()),
                    "mean_predicted": float(p[mask].mean()),
                    "observed_rate": float(y[mask].mean()),
                }
            )
    return rows


def threshold_for_recall(y_true: Any, y_prob: Any, target_recall: float) -> float:
    """The highest threshold t whose rule "positive when p >= t" reaches ``target_recall``.

    Highest, because among thresholds that catch enough readmissions it flags the fewest patients (best precision).
    NaN when there is no positive to recall.
    """
    if not 0.0 < target_recall <= 1.0:
        raise ValueError(f"target recall must be in (0, 1], not {target_recall}")
    y, p = _arrays(y_true, y_prob)
    positives = int(y.sum())
    if positives == 0:
        return math.nan
    order = np.argsort(-p, kind="stable")
    recall = np.cumsum(y[order]) / positives
    first = int(np.searchsorted(recall, target_recall - 1e-12))
    return float(p[order][first])


def at_threshold(y_true: Any, y_prob: Any, threshold: float) -> dict[str, float]:
    """Confusion counts and precision / recall / F1 / flagged share of the rule "positive when p >= threshold"."""
    y, p = _arrays(y_true, y_prob)
    flagged = p >= threshold
    tp = int((flagged & (y == 1)).sum())
    fp = int((flagged & (y == 0)).sum())
    fn = int((~flagged & (y == 1)).sum())
    tn = int((~flagged & (y == 0)).sum())
    precision = tp / (tp + fp) if tp + fp else math.nan
    recall = tp / (tp + fn) if tp + fn else math.nan
    f1 = 2 * precision * recall / (precision + recall) if tp else (0.0 if tp + fp and tp + fn else math.nan)
    return {
        "threshold": float(threshold),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "flagged_rate": float(flagged.mean()) if y.size else math.nan,
    }


def classification_summary(y_true: Any, y_prob: Any, threshold: float, *, bins: int = 10) -> dict[str, Any]:
    """Everything the evaluation reports for one split, as plain JSON-ready data."""
    y, p = _arrays(y_true, y_prob)
    return {
        "rows": int(y.size),
        "positives": int(y.sum()),
        "prevalence": float(y.mean()) if y.size else math.nan,
        "roc_auc": roc_auc(y, p),
        "pr_auc": pr_auc(y, p),
        "brier": brier(y, p),
        "ece": expected_calibration_error(y, p, bins),
        "mean_probability": float(p.mean()) if y.size else math.nan,
        **at_threshold(y, p, threshold),
    }


def rounded(value: float, digits: int = 6) -> float | None:
    """A metric for a run manifest: rounded, and None instead of NaN (strict JSON has no NaN)."""
    return None if value is None or not math.isfinite(value) else round(float(value), digits)
