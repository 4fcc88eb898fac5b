"""The sensitive facets of the adherence model (race, gender, age group), decoded from its feature table.

The evaluate step reports the model's quality per group of each facet (``bias_report.json``); the baseline step
names the same facets in Model Monitor's bias analysis configuration, so the local report and the endpoint's bias
schedule watch the same groups.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from pipeline_code.common.adherence_features import FEATURES_BY_NAME
from pipeline_code.common.contracts import adherence as contract

FACETS: Final = ("race", "gender", "age_group")
AGE_GROUPS: Final = {
    "under 40": contract.AGE_BANDS[:4],
    "40-59": contract.AGE_BANDS[4:6],
    "60-79": contract.AGE_BANDS[6:8],
    "80+": contract.AGE_BANDS[8:],
}
"""Age bands grouped so that every group has enough encounters to measure (the youngest bands are small)."""
OLDER_PATIENTS: Final = AGE_GROUPS["80+"]
UNKNOWN: Final = "Unknown"


def _decode(codes: pd.Series, levels: tuple[str, ...]) -> np.ndarray:
    index = pd.to_numeric(codes, errors="coerce").to_numpy()
    out = np.full(len(index), UNKNOWN, dtype=object)
    valid = np.isfinite(index) & (index >= 0) & (index < len(levels))
    out[valid] = np.asarray(levels, dtype=object)[index[valid].astype(int)]
    return out


def facet_groups(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per facet, the group of each row of a feature table (race and gender levels, age group, or Unknown)."""
    bands = _decode(table["age"], contract.AGE_BANDS)
    band_to_group = {band: group for group, members in AGE_GROUPS.items() for band in members}
    return {
        "race": _decode(table["race"], FEATURES_BY_NAME["race"].levels),
        "gender": _decode(table["gender"], FEATURES_BY_NAME["gender"].levels),
        "age_group": np.array([band_to_group.get(b, UNKNOWN) for b in bands], dtype=object),
    }
