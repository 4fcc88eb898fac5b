"""Turn validated encounters into the feature table (the transform itself lives in ``common.adherence_features``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from pipeline_code.common.adherence_features import FEATURE_NAMES, build_features
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.contracts.validation import check_columns


def features_from_validated(validated: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """Feature table of validated encounters; a ContractError naming the file if a contract column is missing."""
    check_columns(validated, contract.required_columns(with_target=True), source=source)
    return build_features(validated)


def feature_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Facts about the feature table worth recording with the run (and a baseline for drift checks later)."""
    features = table[list(FEATURE_NAMES)]
    constant = [name for name in FEATURE_NAMES if features[name].nunique(dropna=False) <= 1]
    return {
        "rows": len(table),
        "features": len(FEATURE_NAMES),
        "constant_features": constant,
        "missing_by_feature": {k: int(v) for k, v in features.isna().sum().items() if v},
        "positive_rate": float(table[contract.LABEL_COLUMN].mean()) if len(table) else 0.0,
        "with_prior_encounters": int((table["prior_encounters"] > 0).sum()),
    }
