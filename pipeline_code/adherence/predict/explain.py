"""Per-encounter predictions: probability, confidence, top risk factors and per-brand (medication) predictions.

Definitions (also in docs/adherence-model.md):

- ``probability``: the model's probability of readmission within 30 days, in [0, 1].
- ``predicted_readmission``: ``probability >= threshold`` (the operating threshold stored with the model).
- ``confidence``: how far the probability is from the threshold, scaled to [0, 1] by the room on that side:
  ``(p - t) / (1 - t)`` above the threshold, ``(t - p) / t`` below. 0 means "on the threshold, a coin flip between
  the two decisions"; 1 means the probability is at 0 or 1.
- ``risk_factors``: the ``top`` features with the largest TreeSHAP contributions (log-odds, LightGBM
  ``pred_contrib``) for this encounter, largest first, with readable names and values; positive contributions push
  the risk up.
- ``brands``: one entry per medication the patient takes (status Steady, Up or Down; none for "No"): the model's
  probability with the status as observed, the probability with that one medication counterfactually discontinued
  (status set to "No" and the medication counts recomputed; every other input unchanged, ``change`` and
  ``diabetesMed`` included), and ``delta = probability - probability_if_discontinued``. A positive delta means the
  model associates this medication's status with a higher risk for this encounter. It is the model's association,
  not a causal effect of the drug.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline_code.common.adherence_features import (
    BRAND_COUNTS,
    FEATURES_BY_NAME,
    MED_FEATURES,
    NOT_TAKEN_CODE,
    brand_counts,
)
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.model_bundle import ModelBundle


def confidence(probability: np.ndarray, threshold: float) -> np.ndarray:
    """Distance of each probability from the threshold, scaled to [0, 1] by the room on its side (see module doc)."""
    p = np.asarray(probability, dtype=np.float64)
    above = p >= threshold
    room = np.where(above, 1.0 - threshold, threshold)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(room > 0, np.abs(p - threshold) / room, 1.0)
    return np.clip(scaled, 0.0, 1.0)


def counterfactual_discontinued(table: pd.DataFrame, medication: str) -> pd.DataFrame:
    """The rows of ``table`` where ``medication`` is taken, with it set to "No" and the counts recomputed."""
    feature = MED_FEATURES[medication]
    taken = table[feature] != NOT_TAKEN_CODE
    edited = table.loc[taken].copy()
    edited[feature] = NOT_TAKEN_CODE
    edited[list(BRAND_COUNTS)] = brand_counts(edited)
    return edited


def brand_predictions(bundle: ModelBundle, table: pd.DataFrame, probability: np.ndarray) -> list[list[dict[str, Any]]]:
    """Per row of ``table``, the per-brand entries (see module doc), in the contract's medication order."""
    entries: list[list[dict[str, Any]]] = [[] for _ in range(len(table))]
    position = pd.Series(np.arange(len(table)), index=table.index)
    for medication in contract.MEDICATIONS:
        edited = counterfactual_discontinued(table, medication)
        if edited.empty:
            continue
        p_off = bundle.predict_proba(edited)
        statuses = table.loc[edited.index, MED_FEATURES[medication]].to_numpy()
        for row, status, p_cf in zip(position[edited.index].to_numpy(), statuses, p_off, strict=True):
            p_obs = float(probability[row])
            entries[row].append(
                {
                    "medication": medication,
                    "status": contract.MEDICATION_STATUSES[int(status)],
                    "probability": p_obs,
                    "probability_if_discontinued": float(p_cf),
                    "delta": p_obs - float(p_cf),
                }
            )
    return entries


def top_factors(bundle: ModelBundle, table: pd.DataFrame, contributions: np.ndarray, top: int) -> list[list[dict]]:
    """Per row, the ``top`` features with the largest contributions, largest first, readable."""
    values = contributions[:, :-1]  # the last column is the bias (the average log-odds)
    k = min(top, values.shape[1])
    if k <= 0 or not len(values):
        return [[] for _ in range(len(values))]
    best = np.argsort(-values, axis=1, kind="stable")[:, :k]
    raw = table[list(bundle.features)].to_numpy()
    features = [FEATURES_BY_NAME.get(name) for name in bundle.features]
    out = []
    for row, columns in enumerate(best):
        factors = []
        for column in columns:
            feature = features[column]
            value = raw[row, column]
            factors.append(
                {
                    "feature": bundle.features[column],
                    "label": feature.label if feature else bundle.features[column],
                    "value": feature.describe(value) if feature else str(value),
                    "contribution": float(values[row, column]),
                }
            )
        out.append(factors)
    return out


@dataclass(frozen=True)
class Predictions:
    """Predictions of a feature table: the flat table and the per-encounter records."""

    table: pd.DataFrame
    records: list[dict[str, Any]]

    def write_jsonl(self, path: Path) -> Path:
        """One JSON object per line (strict JSON), in row order."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for line in self.lines():
                handle.write(line)
        return path

    def lines(self) -> Iterator[str]:
        for record in self.records:
            yield json.dumps(record, allow_nan=False) + "\n"


def predict_table(bundle: ModelBundle, table: pd.DataFrame, *, top: int = 5) -> Predictions:
    """Probability, decision, confidence, risk factors and per-brand predictions for each row of a feature table."""
    matrix = bundle.matrix(table)
    probability = bundle.predict_proba(matrix)
    conf = confidence(probability, bundle.threshold)
    decision = probability >= bundle.threshold
    factors = top_factors(bundle, table, bundle.contributions(matrix), top)
    brands = brand_predictions(bundle, table, probability)
    has_label = contract.LABEL_COLUMN in table.columns
    flat = pd.DataFrame(
        {
            contract.ENCOUNTER_ID: table[contract.ENCOUNTER_ID].to_numpy(),
            contract.PATIENT_ID: table[contract.PATIENT_ID].to_numpy(),
            **({contract.LABEL_COLUMN: table[contract.LABEL_COLUMN].to_numpy()} if has_label else {}),
            "probability": probability,
            "predicted_readmission": decision.astype(np.int8),
            "confidence": conf,
        }
    )
    ids = table[[contract.ENCOUNTER_ID, contract.PATIENT_ID]].to_numpy()
    labels = table[contract.LABEL_COLUMN].to_numpy() if has_label else None
    records = []
    for row in range(len(table)):
        record: dict[str, Any] = {contract.ENCOUNTER_ID: int(ids[row, 0]), contract.PATIENT_ID: int(ids[row, 1])}
        if labels is not None:
            record[contract.LABEL_COLUMN] = int(labels[row])
        record.update(
            {
                "probability": float(probability[row]),
                "threshold": bundle.threshold,
                "predicted_readmission": bool(decision[row]),
                "confidence": float(conf[row]),
                "risk_factors": factors[row],
                "brands": brands[row],
            }
        )
        records.append(record)
    return Predictions(flat, records)
