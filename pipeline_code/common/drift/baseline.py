"""Baselines from the training data: the local drift baseline and Model Monitor's statistics / constraints.

The drift baseline (``drift_baseline.json``) keeps what the local check needs: per monitored column its kind,
the bins (quantile edges for integers, the levels holding at least ``min_level_share`` of the rows for categories,
the rest pooled in one "other" bin, and always a last bin for missing values, so that a mostly-missing column's
few present values weigh what they are worth), the expected share of each bin, the missing rate and the domain of
values seen; for the model's predicted probability the same quantile bins. Model Monitor's files describe the same
data in its own format (https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-statistics.html,
``-constraints.html``), so that a schedule on the endpoint compares captured requests with the training split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from pipeline_code.common.contracts.schema import Column, Kind, compiled_pattern

FORMAT: Final = "mlops-drift-baseline/1"
NUMERIC: Final = "numeric"
CATEGORICAL: Final = "categorical"
OTHER_BIN: Final = "__other__"
KLL_BUCKETS: Final = 10
KLL_SKETCH_SIZE: Final = 2048


@dataclass(frozen=True)
class Thresholds:
    """When a batch has drifted; each check compares one rate or score of a column with one of these.

    ``psi``: population stability index of a column's bins; ``prediction_psi``: the same for the predicted
    probability; ``missing_increase``: missing rate above the baseline's, in absolute points; ``type_violation``:
    share of present values that are not of the column's type (not an integer in range, not matching the pattern);
    ``unseen``: share of present values of a category column outside the levels seen in the baseline;
    ``significance``: a PSI above its threshold counts only if it is also statistically certain: ``n * PSI`` (about
    chi-square with bins - 1 degrees of freedom when nothing changed) above its quantile at ``1 - significance / m``
    for the ``m`` distributions checked, so that a small batch's sampling noise in a column of many bins
    (diagnosis codes) is not reported as drift.
    """

    psi: float = 0.1
    prediction_psi: float = 0.1
    missing_increase: float = 0.05
    type_violation: float = 0.01
    unseen: float = 0.01
    significance: float = 0.01

    def __post_init__(self) -> None:
        for name, value in self.as_dict().items():
            if not (isinstance(value, int | float) and 0 < float(value) < 10):
                raise ValueError(f"drift threshold {name}={value!r}: a number above 0 (and below 10)")
        if self.significance >= 1:
            raise ValueError(f"drift threshold significance={self.significance!r}: a probability below 1")

    def as_dict(self) -> dict[str, float]:
        return {
            "psi": self.psi,
            "prediction_psi": self.prediction_psi,
            "missing_increase": self.missing_increase,
            "type_violation": self.type_violation,
            "unseen": self.unseen,
            "significance": self.significance,
        }

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, where: str) -> Thresholds:
        unknown = sorted(set(values) - set(cls().as_dict()))
        if unknown:
            raise ValueError(f"{where}: unknown drift threshold(s) {unknown}; known: {sorted(cls().as_dict())}")
        try:
            return cls(**{k: float(v) for k, v in values.items()})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from None


def monitored(columns: Sequence[Column], roles: Sequence[str]) -> tuple[Column, ...]:
    """The contract columns a drift check watches (by role, e.g. features and medications; never ids or target)."""
    return tuple(col for col in columns if col.role in roles)


def parse_integers(values: pd.Series, col: Column) -> tuple[np.ndarray, np.ndarray]:
    """(numbers, invalid) of a text column: ``invalid`` marks present values that are not an integer in range."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    present = values.notna().to_numpy()
    bad = present & ~np.isfinite(numbers)
    with np.errstate(invalid="ignore"):
        bad |= present & np.isfinite(numbers) & (numbers != np.round(numbers))
        if col.min_value is not None:
            bad |= present & (numbers < col.min_value)
        if col.max_value is not None:
            bad |= present & (numbers > col.max_value)
    return numbers, bad


def pattern_violations(values: pd.Series, col: Column) -> np.ndarray:
    """Present values of a CODE / OPEN_CATEGORY column that do not match its pattern."""
    present = values.notna().to_numpy()
    if not col.pattern:
        return np.zeros(len(values), dtype=bool)
    matches = values.astype("string").str.match(compiled_pattern(col.pattern)).fillna(False).to_numpy(dtype=bool)
    return present & ~matches


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [float(c) / total if total else 0.0 for c in counts]


def numeric_edges(values: np.ndarray, bins: int) -> list[float]:
    """Interior edges of right-closed quantile bins ``(e[i-1], e[i]]``; ties (counts with many zeros) merge bins."""
    if values.size == 0:
        return []
    quantiles = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    edges = np.unique(quantiles)
    if edges.size and edges[-1] >= values.max():  # the last edge must leave the top bin non-empty
        edges = edges[:-1]
    return [float(e) for e in edges]


def profile_column(values: pd.Series, col: Column, *, bins: int, min_level_share: float) -> dict[str, Any]:
    """One column's entry of the drift baseline."""
    rows = len(values)
    missing = values.isna().to_numpy()
    entry: dict[str, Any] = {
        "name": col.name,
        "contract_kind": col.kind.value,
        "rows": rows,
        "missing_rate": float(missing.mean()) if rows else 0.0,
    }
    if col.kind is Kind.INTEGER:
        numbers, bad = parse_integers(values, col)
        good = numbers[~missing & ~bad]
        edges = numeric_edges(good, bins)
        counts = np.bincount(np.searchsorted(edges, good, side="left"), minlength=len(edges) + 1)
        counts = np.append(counts, int(missing.sum()))
        entry.update(kind=NUMERIC, edges=edges, expected=_shares(counts), min=col.min_value, max=col.max_value)
        return entry
    present = values[~missing]
    if col.kind in (Kind.CODE, Kind.OPEN_CATEGORY):
        present = present[~pattern_violations(present, col)]
    counts = present.astype(str).value_counts()
    total = int(counts.sum())
    kept = sorted(level for level, count in counts.items() if total and count / total >= min_level_share)
    other = total - sum(counts[level] for level in kept)
    kept_counts = np.array([*(counts[level] for level in kept), other, int(missing.sum())])
    entry.update(
        kind=CATEGORICAL,
        levels=kept,
        expected=_shares(kept_counts),
        # the values seen: an unseen value is a violation for closed and open categories; codes (ICD-9: hundreds,
        # many rare) are checked by pattern only
        domain=sorted(counts.index) if col.kind is not Kind.CODE else None,
        pattern=col.pattern or None,
    )
    return entry


def prediction_profile(probabilities: np.ndarray, *, bins: int) -> dict[str, Any]:
    values = np.asarray(probabilities, dtype=float)
    edges = numeric_edges(values, bins)
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    return {"rows": int(values.size), "edges": edges, "expected": _shares(counts), "mean": float(values.mean())}


def build_drift_baseline(
    frame: pd.DataFrame,
    columns: Sequence[Column],
    *,
    contract: Mapping[str, str],
    thresholds: Thresholds,
    bins: int = 10,
    min_level_share: float = 0.005,
    probabilities: np.ndarray | None = None,
) -> dict[str, Any]:
    """The drift baseline of ``frame`` (raw contract columns as text, missing as NaN) over ``columns``."""
    if frame.empty:
        raise ValueError("cannot build a drift baseline from no rows")
    absent = [col.name for col in columns if col.name not in frame.columns]
    if absent:
        raise ValueError(f"baseline data lacks contract column(s) {absent}")
    return {
        "format": FORMAT,
        "contract": dict(contract),
        "rows": len(frame),
        "bins": bins,
        "min_level_share": min_level_share,
        "thresholds": thresholds.as_dict(),
        "columns": [
            profile_column(frame[col.name], col, bins=bins, min_level_share=min_level_share) for col in columns
        ],
        "prediction": prediction_profile(probabilities, bins=bins) if probabilities is not None else None,
    }


# --- Model Monitor format -------------------------------------------------------------------------------------


def _kll(values: np.ndarray) -> dict[str, Any]:
    lo, hi = float(values.min()), float(values.max())
    edges = np.linspace(lo, hi, KLL_BUCKETS + 1)
    counts, _ = np.histogram(values, bins=edges)
    sketch = np.quantile(values, np.linspace(0, 1, min(KLL_SKETCH_SIZE, values.size)))
    return {
        "buckets": [
            {"lower_bound": float(edges[i]), "upper_bound": float(edges[i + 1]), "count": float(counts[i])}
            for i in range(KLL_BUCKETS)
        ],
        "sketch": {"parameters": {"c": 0.64, "k": float(KLL_SKETCH_SIZE)}, "data": [[float(v) for v in sketch]]},
    }


def model_monitor_statistics(frame: pd.DataFrame, columns: Sequence[Column]) -> dict[str, Any]:
    """``statistics.json`` of a data-quality baseline: item count, per feature its type and distribution."""
    features = []
    for col in columns:
        values = frame[col.name]
        missing = int(values.isna().sum())
        common = {"num_present": int(len(values) - missing), "num_missing": missing}
        if col.kind is Kind.INTEGER:
            numbers, bad = parse_integers(values, col)
            good = numbers[values.notna().to_numpy() & ~bad]
            stats: dict[str, Any] = {"common": common}
            if good.size:
                stats.update(
                    mean=float(good.mean()),
                    sum=float(good.sum()),
                    std_dev=float(good.std()),
                    min=float(good.min()),
                    max=float(good.max()),
                    distribution={"kll": _kll(good)},
                )
            features.append({"name": col.name, "inferred_type": "Integral", "numerical_statistics": stats})
        else:
            counts = values.dropna().astype(str).value_counts()
            features.append(
                {
                    "name": col.name,
                    "inferred_type": "String",
                    "string_statistics": {
                        "common": common,
                        "distinct_count": float(len(counts)),
                        "distribution": {
                            "categorical": {
                                "buckets": [{"value": v, "count": float(c)} for v, c in sorted(counts.items())]
                            }
                        },
                    },
                }
            )
    return {"version": 0.0, "dataset": {"item_count": len(frame)}, "features": features}


def model_monitor_constraints(
    frame: pd.DataFrame, columns: Sequence[Column], *, thresholds: Thresholds, distance_threshold: float = 0.1
) -> dict[str, Any]:
    """``constraints.json`` of a data-quality baseline, from the contract: types, completeness, the domains of
    closed categories (the contract's levels), non-negativity of counts, and drift comparison on.

    Model Monitor measures drift as a distance between distributions (0..1), not as PSI: ``distance_threshold``
    is that distance (its default is Model Monitor's own, 0.1)."""
    features = []
    for col in columns:
        completeness = float(frame[col.name].notna().mean())
        entry: dict[str, Any] = {"name": col.name, "completeness": 1.0 if not col.nullable else completeness}
        if col.kind is Kind.INTEGER:
            entry["inferred_type"] = "Integral"
            if col.min_value is not None and col.min_value >= 0:
                entry["num_constraints"] = {"is_non_negative": True}
        else:
            entry["inferred_type"] = "String"
            if col.kind is Kind.CATEGORY:
                entry["string_constraints"] = {"domains": list(col.levels)}
        features.append(entry)
    return {
        "version": 0.0,
        "features": features,
        "monitoring_config": {
            "evaluate_constraints": "Enabled",
            "emit_metrics": "Enabled",
            "datatype_check_threshold": thresholds.type_violation,
            "domain_content_threshold": thresholds.unseen,
            "distribution_constraints": {
                "perform_comparison": "Enabled",
                "comparison_threshold": distance_threshold,
                "comparison_method": "Robust",
                "categorical_comparison_threshold": distance_threshold,
                "categorical_drift_method": "LInfinity",
            },
        },
    }
