"""Patient-grouped, stratified train / validation / test assignment.

All encounters of a patient land in one split (otherwise the model is scored on patients it has seen). Patients are
stratified by "has any readmission within 30 days", so each split gets about the same share of positive patients
and, since encounters follow their patient, about the same encounter-level positive rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

SPLITS = ("train", "validation", "test")


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Three non-negative fractions that sum to 1 (within rounding); a ValueError saying which rule broke."""
    if len(fractions) != 3 or any(not math.isfinite(f) or f < 0 for f in fractions):
        raise ValueError(f"split fractions must be three non-negative numbers, not {list(fractions)}")
    if abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"split fractions must sum to 1, not {sum(fractions):.6g} ({list(fractions)})")
    if fractions[0] <= 0:
        raise ValueError("the train fraction must be positive")
    return (float(fractions[0]), float(fractions[1]), float(fractions[2]))


def _stratum_sizes(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """Patients per split in one stratum: validation and test rounded, the rest (the largest share) to train."""
    n_validation = round(n * fractions[1])
    n_test = round(n * fractions[2])
    while n_validation + n_test > n:  # tiny strata: never take more than there is; train keeps what is left
        if n_test >= n_validation and n_test:
            n_test -= 1
        else:
            n_validation -= 1
    return n - n_validation - n_test, n_validation, n_test


def assign_patients(
    patient_nbr: pd.Series, label: pd.Series, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 42
) -> pd.Series:
    """Split name of every patient (index: patient_nbr, sorted), grouped and stratified by any positive label.

    Deterministic for a seed: patients are sorted before the seeded shuffle, so input row order does not matter.
    """
    shares = check_fractions(fractions)
    positive = label.astype(bool).groupby(patient_nbr.to_numpy()).any().sort_index()
    rng = np.random.default_rng(seed)
    assignment = pd.Series("train", index=positive.index, dtype=object, name="split")
    for stratum in (False, True):
        patients = positive.index[positive.to_numpy() == stratum].to_numpy().copy()
        rng.shuffle(patients)
        _, n_validation, n_test = _stratum_sizes(len(patients), shares)
        assignment[patients[:n_validation]] = "validation"
        assignment[patients[n_validation : n_validation + n_test]] = "test"
    return assignment


def split_table(table: pd.DataFrame, fractions: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 42) -> pd.Series:
    """Split name of each row of a feature table (aligned with its index)."""
    per_patient = assign_patients(table["patient_nbr"], table["label"], fractions, seed)
    return table["patient_nbr"].map(per_patient).rename("split")


def split_summary(table: pd.DataFrame, split: pd.Series) -> dict[str, Any]:
    """Rows, patients and positive rate per split, and the check that no patient is in two splits."""
    summary: dict[str, Any] = {}
    for name in SPLITS:
        part = table[split == name]
        summary[name] = {
            "rows": len(part),
            "patients": int(part["patient_nbr"].nunique()),
            "positives": int(part["label"].sum()),
            "positive_rate": float(part["label"].mean()) if len(part) else 0.0,
        }
    splits_per_patient = split.groupby(table["patient_nbr"]).nunique()
    summary["patients_in_several_splits"] = int((splits_per_patient > 1).sum())
    return summary
