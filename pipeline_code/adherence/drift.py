"""What the drift check needs to know of the adherence model: its contract columns, how its raw CSV is read, and
how a batch is scored (contract-valid rows through the features and the model; the others are not scored)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from pipeline_code.common.adherence_features import build_features
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.contracts.schema import Column
from pipeline_code.common.model_bundle import load_bundle

CONTRACT_NAME: Final = contract.CONTRACT_NAME
COLUMNS: Final[dict[str, Column]] = {col.name: col for col in contract.COLUMNS}
READ_CSV_OPTIONS: Final = contract.READ_CSV_OPTIONS


def score(model_dir: Path, frame: pd.DataFrame) -> np.ndarray:
    """Predicted probability of each row of a raw frame; NaN where the row breaks the contract (not scorable)."""
    bundle = load_bundle(Path(model_dir), what="drift: model")
    result = contract.validate(frame, source="drift batch", require_target=False)
    probabilities = np.full(len(frame), np.nan)
    if result.rows_accepted:
        accepted = result.accepted
        # validation keeps the first row of each encounter id: find each accepted row's position by its id
        ids = pd.to_numeric(frame[contract.ENCOUNTER_ID], errors="coerce").reset_index(drop=True)
        first = ids.notna() & ~ids.duplicated(keep="first")
        position = pd.Series(np.flatnonzero(first.to_numpy()), index=ids[first].astype("int64").to_numpy())
        rows = position.reindex(accepted[contract.ENCOUNTER_ID].to_numpy()).to_numpy()
        probabilities[rows] = bundle.predict_proba(build_features(accepted))
    return probabilities
