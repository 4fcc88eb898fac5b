"""Check a batch against a drift baseline: encode once, then count and decide.

:func:`encode` turns a raw frame into one small integer code per row and column (the row's bin, or missing /
type violation) plus an "unseen value" flag; :func:`evaluate` counts the codes of any subset of rows and applies the
thresholds. The split lets a benchmark encode a data set once and evaluate thousands of resampled batches with the
very code the ``mlops drift`` command runs.

Checks per column, named like Model Monitor's violations: ``baseline_drift_check`` (PSI of the bins above
``psi`` and statistically certain, see :func:`psi_drifts`), ``completeness_check`` (missing rate above the
baseline's by more than ``missing_increase``, and certain, see :func:`missing_drifts`),
``data_type_check`` (share of present values not of the column's type above ``type_violation``),
``categorical_values_check`` (share of present values never seen in the baseline above ``unseen``); and
``prediction_drift_check`` on the predicted probability when the batch is scored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Final

import numpy as np
import pandas as pd

from pipeline_code.common.contracts.schema import Column, Kind
from pipeline_code.common.drift.baseline import (
    CATEGORICAL,
    FORMAT,
    NUMERIC,
    Thresholds,
    parse_integers,
    pattern_violations,
)

MISSING_CODE: Final = -1
INVALID_CODE: Final = -2
SMOOTHING: Final = 0.5  # counts added to every bin (batch and baseline) so an empty bin has a finite log ratio

DRIFT_CHECK: Final = "baseline_drift_check"
COMPLETENESS_CHECK: Final = "completeness_check"
TYPE_CHECK: Final = "data_type_check"
VALUES_CHECK: Final = "categorical_values_check"
PREDICTION_CHECK: Final = "prediction_drift_check"


class BaselineError(ValueError):
    """The baseline document is not one this code reads."""


def psi(expected: Sequence[float], counts: np.ndarray, *, baseline_rows: int) -> float:
    """Population stability index of observed bin ``counts`` against ``expected`` shares, both smoothed:
    ``sum((a - e) * ln(a / e))``; 0 for identical distributions, growing with the shift."""
    observed = np.asarray(counts, dtype=float)
    n = observed.sum()
    if n == 0:
        return 0.0
    k = observed.size
    e = (np.asarray(expected, dtype=float) * baseline_rows + SMOOTHING) / (baseline_rows + SMOOTHING * k)
    a = (observed + SMOOTHING) / (n + SMOOTHING * k)
    return float(np.sum((a - e) * np.log(a / e)))


def chi_square_quantile(probability: float, df: int) -> float:
    """Quantile of the chi-square distribution (Wilson-Hilferty; within about 1 % for df >= 1 at the tails used)."""
    if df <= 0:
        return 0.0
    z = NormalDist().inv_cdf(probability)
    h = 2.0 / (9.0 * df)
    return df * max(0.0, 1.0 - h + z * math.sqrt(h)) ** 3


def psi_drifts(score: float, rows: int, bins: int, *, threshold: float, significance: float, tests: int) -> bool:
    """A PSI is drift when it is above ``threshold`` and ``rows * PSI`` is above the chi-square quantile of
    ``bins - 1`` degrees of freedom at ``1 - significance / tests`` (what sampling noise alone rarely reaches)."""
    if score <= threshold or rows == 0:
        return False
    return rows * score > chi_square_quantile(1.0 - significance / max(tests, 1), bins - 1)


def missing_drifts(
    missing: int,
    rows: int,
    baseline_rate: float,
    baseline_rows: int,
    *,
    increase: float,
    significance: float,
    tests: int,
) -> bool:
    """More values missing than the baseline had: the rate is ``increase`` above it, and the count is above what
    sampling gives (one-sided binomial z-test at ``significance / tests``; a baseline rate of 0 counts as
    ``1 / baseline_rows``)."""
    if rows == 0 or missing / rows - baseline_rate <= increase:
        return False
    p = min(max(baseline_rate, 1.0 / max(baseline_rows, 1)), 1.0 - 1e-9)
    z = (missing - rows * p) / math.sqrt(rows * p * (1 - p))
    return z > NormalDist().inv_cdf(1.0 - significance / max(tests, 1))


@dataclass(frozen=True)
class Encoded:
    """A batch encoded against a baseline: ``codes[row, column]`` is the bin, or MISSING_CODE / INVALID_CODE;
    ``unseen[row, column]`` marks a present value outside the column's baseline domain; ``prediction_bins`` the bin
    of each row's predicted probability (-1: the row was not scored; None: the batch was not scored).
    ``examples`` holds up to 5 unseen or invalid values per column, for the report."""

    codes: np.ndarray
    unseen: np.ndarray
    prediction_bins: np.ndarray | None = None
    examples: Mapping[str, list[str]] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(self.codes.shape[0])

    def take(self, rows: np.ndarray) -> Encoded:
        """The encoded subset (or resample, with repeats) of ``rows``."""
        return Encoded(
            self.codes[rows],
            self.unseen[rows],
            None if self.prediction_bins is None else self.prediction_bins[rows],
            self.examples,
        )


def check_baseline(document: Any, *, where: str) -> dict[str, Any]:
    """The baseline document if it is one this code reads, else a BaselineError naming ``where``."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise BaselineError(f"{where} is not a drift baseline (format {found!r}, expected {FORMAT!r})")
    for key in ("columns", "rows", "thresholds"):
        if key not in document:
            raise BaselineError(f"{where}: drift baseline has no {key!r}")
    return document


def _examples(values: pd.Series, mask: np.ndarray) -> list[str]:
    return sorted({str(v) for v in values[mask].head(200)})[:5] if mask.any() else []


def encode(
    baseline: Mapping[str, Any],
    frame: pd.DataFrame,
    columns: Mapping[str, Column],
    *,
    probabilities: np.ndarray | None = None,
) -> Encoded:
    """Encode ``frame`` (raw columns as text, missing as NaN) against ``baseline``; every baseline column must be
    in the frame (a KeyError naming the absent ones otherwise)."""
    entries = baseline["columns"]
    absent = [e["name"] for e in entries if e["name"] not in frame.columns]
    if absent:
        raise KeyError(f"the data lacks column(s) {absent} of the baseline")
    n = len(frame)
    codes = np.empty((n, len(entries)), dtype=np.int16)
    unseen = np.zeros((n, len(entries)), dtype=bool)
    examples: dict[str, list[str]] = {}
    for j, entry in enumerate(entries):
        name = entry["name"]
        col = columns[name]
        values = frame[name]
        missing = values.isna().to_numpy()
        if entry["kind"] == NUMERIC:
            numbers, bad = parse_integers(values, col)
            bins = np.searchsorted(entry["edges"], np.nan_to_num(numbers), side="left")
        elif entry["kind"] == CATEGORICAL:
            bad = pattern_violations(values, col) if col.kind in (Kind.CODE, Kind.OPEN_CATEGORY) else np.zeros(n, bool)
            text = values.astype(object).where(~missing, None)
            levels = list(entry["levels"])
            bins = pd.Index(levels).get_indexer(text)
            bins[bins < 0] = len(levels)  # the "other" bin
            if entry.get("domain") is not None:
                unseen[:, j] = ~missing & ~bad & ~text.isin(entry["domain"]).to_numpy()
        else:
            raise BaselineError(f"baseline column {name!r} has an unknown kind {entry['kind']!r}")
        column_codes = np.where(missing, MISSING_CODE, np.where(bad, INVALID_CODE, bins))
        codes[:, j] = column_codes
        shown = _examples(values, bad | unseen[:, j])
        if shown:
            examples[name] = shown
    prediction_bins = None
    if probabilities is not None:
        if baseline.get("prediction") is None:
            raise BaselineError("the batch is scored but the baseline has no prediction profile")
        values = np.asarray(probabilities, dtype=float)
        if values.shape != (n,):
            raise ValueError(f"{values.size} probabilities for {n} rows")
        prediction_bins = np.where(
            np.isfinite(values),
            np.searchsorted(baseline["prediction"]["edges"], np.nan_to_num(values), side="left"),
            -1,
        )
    return Encoded(codes, unseen, prediction_bins, examples)


def evaluate(baseline: Mapping[str, Any], encoded: Encoded, thresholds: Thresholds) -> dict[str, Any]:
    """The drift report of an encoded batch: per column the figures and the checks that failed, the violations
    in Model Monitor's shape (``feature_name``, ``constraint_check_type``, ``description``), and ``drift``."""
    n = encoded.rows
    base_rows = int(baseline["rows"])
    tests = len(baseline["columns"]) + (encoded.prediction_bins is not None)
    features = []
    violations: list[dict[str, str]] = []
    for j, entry in enumerate(baseline["columns"]):
        codes = encoded.codes[:, j]
        missing = int(np.count_nonzero(codes == MISSING_CODE))
        invalid = int(np.count_nonzero(codes == INVALID_CODE))
        present = n - missing
        good = codes[codes >= 0]
        counts = np.bincount(good, minlength=len(entry["expected"]) - 1)
        counts = np.append(counts, missing)  # the last bin: missing values
        score = psi(entry["expected"], counts, baseline_rows=base_rows)
        missing_rate = missing / n if n else 0.0
        invalid_rate = invalid / present if present else 0.0
        unseen_rate = float(np.count_nonzero(encoded.unseen[:, j])) / present if present else 0.0
        row = {
            "name": entry["name"],
            "kind": entry["kind"],
            "psi": score,
            "missing_rate": missing_rate,
            "baseline_missing_rate": entry["missing_rate"],
            "type_violation_rate": invalid_rate,
            "unseen_rate": unseen_rate,
            "examples": list(encoded.examples.get(entry["name"], [])),
        }
        failed = []
        if psi_drifts(
            score, n, len(counts), threshold=thresholds.psi, significance=thresholds.significance, tests=tests
        ):
            failed.append((DRIFT_CHECK, f"PSI {score:.3f} > {thresholds.psi}"))
        if missing_drifts(
            missing,
            n,
            entry["missing_rate"],
            base_rows,
            increase=thresholds.missing_increase,
            significance=thresholds.significance,
            tests=tests,
        ):
            failed.append(
                (
                    COMPLETENESS_CHECK,
                    f"missing {missing_rate:.1%} vs {entry['missing_rate']:.1%} in the baseline "
                    f"(+{thresholds.missing_increase:.0%} allowed)",
                )
            )
        if invalid_rate > thresholds.type_violation:
            failed.append((TYPE_CHECK, f"{invalid_rate:.1%} of values are not {entry['contract_kind']} values"))
        if unseen_rate > thresholds.unseen:
            failed.append((VALUES_CHECK, f"{unseen_rate:.1%} of values never seen in the baseline"))
        row["checks_failed"] = [check for check, _ in failed]
        features.append(row)
        violations.extend(
            {"feature_name": entry["name"], "constraint_check_type": check, "description": text}
            for check, text in failed
        )
    prediction = None
    if encoded.prediction_bins is not None:
        profile = baseline["prediction"]
        scored = encoded.prediction_bins[encoded.prediction_bins >= 0]
        counts = np.bincount(scored, minlength=len(profile["expected"]))
        score = psi(profile["expected"], counts, baseline_rows=int(profile["rows"]))
        drifted = psi_drifts(
            score,
            int(scored.size),
            len(counts),
            threshold=thresholds.prediction_psi,
            significance=thresholds.significance,
            tests=tests,
        )
        prediction = {"psi": score, "rows_scored": int(scored.size), "drift": drifted}
        if prediction["drift"]:
            violations.append(
                {
                    "feature_name": "prediction",
                    "constraint_check_type": PREDICTION_CHECK,
                    "description": f"PSI of the predicted probability {score:.3f} > {thresholds.prediction_psi}",
                }
            )
    return {
        "rows": n,
        "drift": bool(violations),
        "thresholds": thresholds.as_dict(),
        "features": features,
        "prediction": prediction,
        "violations": violations,
    }


def drift_score(report: Mapping[str, Any]) -> float:
    """One number for a report: the largest column PSI (what grows with the size of a distribution shift)."""
    return max((f["psi"] for f in report["features"]), default=0.0)
