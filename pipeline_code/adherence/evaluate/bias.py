"""Quality per group of the sensitive facets (race, gender, age group): ``bias_report.json``.

Per group: rows, positives, ROC-AUC, positive rate (share flagged at the threshold), recall at the threshold, and
calibration (mean predicted probability minus observed rate, and the expected calibration error). Per facet and
metric, the largest gap between groups with at least ``min_group_rows`` rows; smaller groups are reported but
left out of the gaps (their figures are noise), and say so.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline_code.common import metrics
from pipeline_code.common.adherence_facets import facet_groups

GAP_METRICS = ("roc_auc", "positive_rate", "recall", "calibration_gap")


def group_figures(y: np.ndarray, p: np.ndarray, threshold: float, bins: int) -> dict[str, Any]:
    flagged = p >= threshold
    positives = int(y.sum())
    both = 0 < positives < len(y)
    return {
        "rows": len(y),
        "positives": positives,
        "roc_auc": metrics.rounded(metrics.roc_auc(y, p)) if both else None,
        "positive_rate": metrics.rounded(float(flagged.mean())),
        "recall": metrics.rounded(float(flagged[y == 1].mean())) if positives else None,
        "mean_probability": metrics.rounded(float(p.mean())),
        "observed_rate": metrics.rounded(float(y.mean())),
        "calibration_gap": metrics.rounded(float(p.mean() - y.mean())),
        "ece": metrics.rounded(metrics.expected_calibration_error(y, p, bins)),
    }


def bias_report(
    table: Any, y: np.ndarray, p: np.ndarray, *, threshold: float, min_group_rows: int, bins: int, split: str
) -> dict[str, Any]:
    """The ``bias_report.json`` document of one scored split."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=float)
    facets: dict[str, Any] = {}
    for facet, groups in facet_groups(table).items():
        per_group = {}
        for group in sorted(set(groups)):
            mask = groups == group
            per_group[str(group)] = {**group_figures(y[mask], p[mask], threshold, bins), "measured": None}
        gaps: dict[str, Any] = {}
        for metric in GAP_METRICS:
            values = {
                g: f[metric] for g, f in per_group.items() if f["rows"] >= min_group_rows and f[metric] is not None
            }
            if len(values) >= 2:
                hi, lo = max(values, key=lambda g: values[g]), min(values, key=lambda g: values[g])
                gaps[metric] = {"gap": metrics.rounded(values[hi] - values[lo]), "highest": hi, "lowest": lo}
            else:
                gaps[metric] = None
        for figures in per_group.values():
            figures["measured"] = figures["rows"] >= min_group_rows
        facets[facet] = {"groups": per_group, "largest_gap": gaps}
    return {
        "split": split,
        "threshold": threshold,
        "min_group_rows": min_group_rows,
        "facets": facets,
    }
