"""Feature engineering of the adherence model, shared by the features step (training data) and the predict step.

:func:`build_features` turns contract-validated encounters into a numeric table: the id columns, the binary label
(when the target is present) and the model features of :data:`FEATURES`, in that order. It is stateless: every
category and its integer code come from the data contract or from fixed groupings here, never from the data, so the
same encounter gets the same features in any file, split or batch, and a level missing from a split is harmless.

Categorical features are integer codes (LightGBM ``categorical_feature``); :attr:`Feature.levels` maps a code back to
its text for explanations. Medication ("brand") columns become ``med_<drug>`` codes 0=No, 1=Steady, 2=Up, 3=Down;
:func:`brand_counts` derives the medication counts from those codes, so a counterfactual that edits one medication
recomputes its counts with the very same code (see the predict step).

History features use only *earlier* encounters of the same patient present in the same table (lower
``encounter_id`` is taken as earlier): never later encounters and never any label. Besides counts they include the
encounter-id distance to the previous encounter (and between the two before), a proxy of the time since the last
admission: the data has no dates, and ids are taken to grow with time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from pipeline_code.common.context import StepError
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.io import find_single_file, read_csv

FEATURE_SET_VERSION: Final = "2"
MISSING: Final = "Missing"
OTHER: Final = "Other"


@dataclass(frozen=True)
class Feature:
    """One model feature: column name, readable label, for categorical or banded features the code -> text map, and
    what a missing value means."""

    name: str
    label: str
    categorical: bool = False
    levels: tuple[str, ...] = ()
    group: str = ""
    missing: str = MISSING

    def describe(self, value: Any) -> str:
        """The feature's value as a person reads it: the level for a code, the number otherwise."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return self.missing
        if self.levels:
            index = int(value)
            return self.levels[index] if 0 <= index < len(self.levels) else str(value)
        number = float(value)
        return str(int(number)) if number.is_integer() else f"{number:.3g}"


# --- groupings ----------------------------------------------------------------------------------------------------

# Codes of IDs_mapping.csv grouped by what they say about the care path; unlisted codes (none today) fall in "Unknown".
ADMISSION_TYPE_GROUPS: Final = {
    "Emergency": ("1", "2", "7"),
    "Elective": ("3",),
    "Newborn": ("4",),
    "Unknown": ("5", "6", "8"),
}
DISCHARGE_GROUPS: Final = {
    "Home": ("1",),
    "Home with care": ("6", "8"),
    "Acute care transfer": ("2", "9", "10", "23", "27", "29"),
    "Post-acute facility": ("3", "4", "5", "15", "22", "24", "28", "30"),
    "Outpatient follow-up": ("12", "16", "17"),
    "Left against advice": ("7",),
    "Hospice": ("13", "14"),
    "Expired": ("11", "19", "20", "21"),
    "Unknown": ("18", "25", "26"),
}
ADMISSION_SOURCE_GROUPS: Final = {
    "Referral": ("1", "2", "3"),
    "Emergency room": ("7",),
    "Transfer": ("4", "5", "6", "10", "18", "19", "22", "25", "26"),
    "Court/law": ("8",),
    "Birth": ("11", "12", "13", "14", "23", "24"),
    "Unknown": ("9", "15", "17", "20", "21"),
}

# ICD-9-CM chapters by the numeric range of the 3-digit category; diabetes (250.xx) is split out of "Endocrine".
ICD9_CHAPTERS: Final = (
    (1, 139, "Infectious"),
    (140, 239, "Neoplasms"),
    (240, 279, "Endocrine/metabolic"),
    (280, 289, "Blood"),
    (290, 319, "Mental"),
    (320, 389, "Nervous/sense organs"),
    (390, 459, "Circulatory"),
    (460, 519, "Respiratory"),
    (520, 579, "Digestive"),
    (580, 629, "Genitourinary"),
    (630, 679, "Pregnancy"),
    (680, 709, "Skin"),
    (710, 739, "Musculoskeletal"),
    (740, 759, "Congenital"),
    (760, 779, "Perinatal"),
    (780, 799, "Symptoms/ill-defined"),
    (800, 999, "Injury/poisoning"),
)
DIABETES_CHAPTER: Final = "Diabetes"
SUPPLEMENTARY_CHAPTER: Final = "Supplementary (V)"
EXTERNAL_CHAPTER: Final = "External cause (E)"
DIAGNOSIS_CHAPTERS: Final = (
    MISSING,
    *(name for _, _, name in ICD9_CHAPTERS),
    DIABETES_CHAPTER,
    SUPPLEMENTARY_CHAPTER,
    EXTERNAL_CHAPTER,
    OTHER,
)
# 4th digit of 250.x: the complication the diabetes diagnosis records.
DIABETES_COMPLICATIONS: Final = (
    "No diabetes diagnosis",
    "Without complication",
    "Ketoacidosis",
    "Hyperosmolarity",
    "Other coma",
    "Renal",
    "Ophthalmic",
    "Neurological",
    "Peripheral circulatory",
    "Other specified",
    "Unspecified",
)
# Offsets that keep V and E codes apart from the numeric codes on the "diagnosis code" axis the trees split on.
V_CODE_OFFSET: Final = 1000.0
E_CODE_OFFSET: Final = 2000.0

DIAGNOSES: Final = ("diag_1", "diag_2", "diag_3")
UTILISATION: Final = (
    ("time_in_hospital", "days in hospital"),
    ("num_lab_procedures", "lab procedures"),
    ("num_procedures", "procedures"),
    ("num_medications", "medications administered"),
    ("number_outpatient", "outpatient visits in prior year"),
    ("number_emergency", "emergency visits in prior year"),
    ("number_inpatient", "inpatient visits in prior year"),
    ("number_diagnoses", "diagnoses recorded"),
)
MED_PREFIX: Final = "med_"
MED_CODES: Final = {status: code for code, status in enumerate(contract.MEDICATION_STATUSES)}
NOT_TAKEN_CODE: Final = MED_CODES[contract.MEDICATION_NOT_TAKEN]


def med_feature(medication: str) -> str:
    """Feature name of a medication column (``glyburide-metformin`` -> ``med_glyburide_metformin``)."""
    return MED_PREFIX + medication.replace("-", "_")


MED_FEATURES: Final = {medication: med_feature(medication) for medication in contract.MEDICATIONS}
BRAND_COUNTS: Final = ("n_meds_taken", "n_meds_steady", "n_meds_up", "n_meds_down", "n_meds_changed")


def _levels(column: str, *extra: str) -> tuple[str, ...]:
    return (*contract.column(column).levels, *extra)


def _coded_levels(column: str) -> tuple[str, ...]:
    """Readable levels of an id-coded column: '3: Discharged/transferred to SNF'."""
    col = contract.column(column)
    labels = col.label_map
    return tuple(f"{code}: {labels.get(code, '?')}" for code in col.levels)


FEATURES: Final[tuple[Feature, ...]] = (
    # demographics
    Feature("race", "race", True, _levels("race", MISSING), "demographics"),
    Feature("gender", "gender", True, _levels("gender"), "demographics"),
    Feature("age", "age band", False, contract.AGE_BANDS, "demographics"),
    Feature("weight", "weight band", False, contract.WEIGHT_BANDS, "demographics"),
    Feature("payer_code", "payer", True, _levels("payer_code", OTHER, MISSING), "demographics"),
    Feature("medical_specialty", "admitting specialty", True, _levels("medical_specialty", OTHER, MISSING), "care"),
    # admission and discharge
    Feature("admission_type", "admission type", True, _coded_levels("admission_type_id"), "care"),
    Feature("admission_type_group", "admission type group", True, tuple(ADMISSION_TYPE_GROUPS), "care"),
    Feature("discharge_disposition", "discharge disposition", True, _coded_levels("discharge_disposition_id"), "care"),
    Feature("discharge_group", "discharge group", True, tuple(DISCHARGE_GROUPS), "care"),
    Feature("admission_source", "admission source", True, _coded_levels("admission_source_id"), "care"),
    Feature("admission_source_group", "admission source group", True, tuple(ADMISSION_SOURCE_GROUPS), "care"),
    # utilisation
    *(Feature(name, label, group="utilisation") for name, label in UTILISATION),
    Feature("total_visits", "all visits in prior year", group="utilisation"),
    # diagnoses
    *(Feature(f"{d}_chapter", f"{d} ICD-9 chapter", True, DIAGNOSIS_CHAPTERS, "diagnoses") for d in DIAGNOSES),
    *(Feature(f"{d}_code", f"{d} ICD-9 code (V +1000, E +2000)", group="diagnoses") for d in DIAGNOSES),
    Feature("n_diabetes_diagnoses", "diagnoses coded as diabetes (250.xx)", group="diagnoses"),
    Feature("diabetes_complication", "diabetes complication (250.x)", True, DIABETES_COMPLICATIONS, "diagnoses"),
    Feature("diabetes_type1", "diabetes coded as type I", group="diagnoses"),
    Feature("diabetes_uncontrolled", "diabetes coded as uncontrolled", group="diagnoses"),
    # tests and treatment
    Feature("max_glu_serum", "glucose serum test", True, _levels("max_glu_serum"), "tests"),
    Feature("A1Cresult", "HbA1c test", True, _levels("A1Cresult"), "tests"),
    Feature("change", "diabetic medication changed", True, _levels("change"), "medications"),
    Feature("diabetesMed", "diabetic medication prescribed", True, _levels("diabetesMed"), "medications"),
    *(
        Feature(MED_FEATURES[m], f"{m} status", True, contract.MEDICATION_STATUSES, "medications")
        for m in contract.MEDICATIONS
    ),
    Feature("n_meds_taken", "diabetes drugs taken", group="medications"),
    Feature("n_meds_steady", "diabetes drugs at steady dose", group="medications"),
    Feature("n_meds_up", "diabetes drugs with dose increased", group="medications"),
    Feature("n_meds_down", "diabetes drugs with dose decreased", group="medications"),
    Feature("n_meds_changed", "diabetes drugs with dose changed", group="medications"),
    # history (earlier encounters of the patient in the same table)
    Feature("prior_encounters", "earlier encounters of the patient", group="history"),
    Feature("prior_inpatient_max", "most inpatient visits reported at an earlier encounter", group="history"),
    Feature(
        "prev_gap",
        "encounter-id distance to the previous encounter (small = recent)",
        group="history",
        missing="no earlier encounter",
    ),
    Feature(
        "prev_prev_gap",
        "encounter-id distance between the two previous encounters",
        group="history",
        missing="fewer than 2 earlier encounters",
    ),
)
FEATURE_NAMES: Final = tuple(f.name for f in FEATURES)
CATEGORICAL_FEATURES: Final = tuple(f.name for f in FEATURES if f.categorical)
FEATURES_BY_NAME: Final = {f.name: f for f in FEATURES}
KEY_COLUMNS: Final = contract.ID_COLUMNS
"""Kept next to the features for joining and grouping; never model inputs (nor is the label)."""


# --- encoders -----------------------------------------------------------------------------------------------------


def _codes(values: pd.Series, levels: Sequence[str], *, missing: str | None = None, other: str | None = None) -> Any:
    """Integer code of each value in ``levels``; missing values get ``missing``'s code, unknown ones ``other``'s.

    An unknown value with no ``other`` level is an error: contract-validated input never has one.
    """
    codes = pd.Index(list(levels)).get_indexer(values).astype(np.int16)
    absent = values.isna().to_numpy()
    if missing is not None:
        codes[absent] = levels.index(missing)
    unknown = (codes < 0) & ~absent
    if unknown.any():
        if other is None:
            bad = sorted({str(v) for v in values[unknown]})[:5]
            raise ValueError(f"column {values.name!r} has values outside the contract: {bad}")
        codes[unknown] = levels.index(other)
    return codes


def _group_codes(values: pd.Series, groups: Mapping[str, tuple[str, ...]]) -> Any:
    lookup = {code: index for index, members in enumerate(groups.values()) for code in members}
    unknown = list(groups).index("Unknown")
    return values.map(lookup).fillna(unknown).astype(np.int16).to_numpy()


def _ordinal(values: pd.Series, levels: Sequence[str]) -> Any:
    """Position of a band in its ordered levels as float, NaN when missing (LightGBM routes NaN on its own)."""
    codes = pd.Index(list(levels)).get_indexer(values).astype(np.float32)
    codes[codes < 0] = np.nan
    return codes


def _diagnosis_parts(codes: pd.Series) -> tuple[Any, Any]:
    """ICD-9 chapter code and the numeric "code axis" value (V + 1000, E + 2000) of each diagnosis."""
    text = codes.astype("string").str.upper()
    first = text.str[:1]
    is_v = (first == "V").fillna(False).to_numpy(dtype=bool)
    is_e = (first == "E").fillna(False).to_numpy(dtype=bool)
    number = pd.to_numeric(text.str.lstrip("VE"), errors="coerce").to_numpy(dtype=np.float64)
    axis = number + np.where(is_v, V_CODE_OFFSET, 0.0) + np.where(is_e, E_CODE_OFFSET, 0.0)
    chapter = np.full(len(codes), DIAGNOSIS_CHAPTERS.index(OTHER), dtype=np.int16)
    numeric = ~is_v & ~is_e & ~np.isnan(number)
    category = np.floor(np.where(numeric, number, -1.0))
    for lo, hi, name in ICD9_CHAPTERS:
        chapter[numeric & (category >= lo) & (category <= hi)] = DIAGNOSIS_CHAPTERS.index(name)
    chapter[numeric & (category == 250)] = DIAGNOSIS_CHAPTERS.index(DIABETES_CHAPTER)
    chapter[is_v] = DIAGNOSIS_CHAPTERS.index(SUPPLEMENTARY_CHAPTER)
    chapter[is_e] = DIAGNOSIS_CHAPTERS.index(EXTERNAL_CHAPTER)
    chapter[codes.isna().to_numpy()] = DIAGNOSIS_CHAPTERS.index(MISSING)
    return chapter, axis


def icd9_chapter(code: str | None) -> str:
    """Chapter name of one ICD-9 code as the file writes it (``"250.83"`` -> ``"Diabetes"``); for docs and tests."""
    chapter, _ = _diagnosis_parts(pd.Series([code], dtype=object))
    return DIAGNOSIS_CHAPTERS[int(chapter[0])]


def _diabetes_details(frame: pd.DataFrame) -> dict[str, Any]:
    """Features of the first 250.xx code among diag_1..3: how many there are, complication (4th digit), type I
    (odd 5th digit) and uncontrolled (5th digit 2 or 3)."""
    found = np.zeros(len(frame), dtype=bool)
    fourth = np.full(len(frame), -1, dtype=np.int16)
    fifth = np.zeros(len(frame), dtype=np.int16)
    count = np.zeros(len(frame), dtype=np.int16)
    for name in DIAGNOSES:
        text = frame[name].astype("string")
        is_diabetes = text.str.fullmatch(r"250(\.\d{1,2})?").fillna(False).to_numpy(dtype=bool)
        count += is_diabetes
        new = is_diabetes & ~found
        if new.any():
            decimals = text[new].str.slice(4).fillna("").str.ljust(2, "0")
            fourth[new] = decimals.str[0].astype(int).to_numpy()
            fifth[new] = decimals.str[1].astype(int).to_numpy()
            found |= new
    return {
        "n_diabetes_diagnoses": count,
        "diabetes_complication": np.where(found, fourth + 1, 0).astype(np.int16),
        "diabetes_type1": (found & (fifth % 2 == 1)).astype(np.int8),
        "diabetes_uncontrolled": (found & (fifth >= 2)).astype(np.int8),
    }


def brand_counts(med_codes: pd.DataFrame) -> pd.DataFrame:
    """Medication counts from the ``med_*`` code columns: taken (not No), steady, up, down, changed (up or down).

    The single definition of these counts: the features step and the per-brand counterfactuals both call it.
    """
    codes = med_codes[list(MED_FEATURES.values())].to_numpy()
    steady = (codes == MED_CODES["Steady"]).sum(axis=1)
    up = (codes == MED_CODES["Up"]).sum(axis=1)
    down = (codes == MED_CODES["Down"]).sum(axis=1)
    return pd.DataFrame(
        {
            "n_meds_taken": (codes != NOT_TAKEN_CODE).sum(axis=1),
            "n_meds_steady": steady,
            "n_meds_up": up,
            "n_meds_down": down,
            "n_meds_changed": up + down,
        },
        index=med_codes.index,
    ).astype(np.int16)


def history_features(encounter_id: pd.Series, patient_nbr: pd.Series, inpatient: pd.Series) -> pd.DataFrame:
    """Per encounter, from the same patient's *earlier* encounters in the table (lower encounter_id first):

    - ``prior_encounters``: how many there are;
    - ``prior_inpatient_max``: the most prior-year inpatient visits any of them reported (0 when none);
    - ``prev_gap``: ``encounter_id`` minus the id of the patient's previous encounter (ids grow with time, so a
      small distance means a recent earlier admission), NaN when there is none;
    - ``prev_prev_gap``: the previous encounter's own ``prev_gap`` (was that one a quick return too?), NaN when the
      patient has fewer than two earlier encounters.

    Only ids and ``number_inpatient`` of the encounter itself and of earlier ones are read; never a label.
    """
    ids = encounter_id.to_numpy(dtype=np.int64)
    order = np.lexsort((ids, patient_nbr.to_numpy()))
    patients = patient_nbr.to_numpy()[order]
    visits = inpatient.to_numpy()[order].astype(np.float64)
    ordered = pd.DataFrame({"patient": patients, "visits": visits})
    grouped = ordered.groupby("patient", sort=False)
    prior = grouped.cumcount().to_numpy()
    # cummax includes the current row; shift by one within the patient so only earlier encounters count.
    running = grouped["visits"].cummax().to_numpy()
    earlier = np.where(prior > 0, np.roll(running, 1), 0.0)
    sorted_ids = ids[order].astype(np.float64)
    distance = np.diff(sorted_ids, prepend=np.nan)  # to the row before in (patient, id) order
    gap = np.where((prior > 0) & (distance > 0), distance, np.nan)
    prev_gap = np.where(prior > 1, np.roll(gap, 1), np.nan)
    out = np.empty((len(order), 4), dtype=np.float64)
    out[order] = np.column_stack([prior, earlier, gap, prev_gap])
    return pd.DataFrame(
        {
            "prior_encounters": out[:, 0].astype(np.int32),
            "prior_inpatient_max": out[:, 1].astype(np.int32),
            "prev_gap": out[:, 2],
            "prev_prev_gap": out[:, 3],
        },
        index=encounter_id.index,
    )


def build_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Ids, label (if the target column is present) and all of :data:`FEATURES` for contract-validated encounters.

    ``frame`` holds the contract columns as :func:`validate_frame` returns them (ids as integers, categories as
    text, missing as NaN). The result has one row per input row, in the same order.
    """
    frame = frame.reset_index(drop=True)
    out: dict[str, Any] = {name: frame[name].to_numpy(dtype=np.int64) for name in KEY_COLUMNS}
    if contract.TARGET_COLUMN in frame.columns:
        out[contract.LABEL_COLUMN] = contract.label_from_target(frame[contract.TARGET_COLUMN]).to_numpy()

    out["race"] = _codes(frame["race"], FEATURES_BY_NAME["race"].levels, missing=MISSING)
    out["gender"] = _codes(frame["gender"], FEATURES_BY_NAME["gender"].levels)
    out["age"] = _ordinal(frame["age"], contract.AGE_BANDS)
    out["weight"] = _ordinal(frame["weight"], contract.WEIGHT_BANDS)
    out["payer_code"] = _codes(frame["payer_code"], FEATURES_BY_NAME["payer_code"].levels, missing=MISSING, other=OTHER)
    out["medical_specialty"] = _codes(
        frame["medical_specialty"], FEATURES_BY_NAME["medical_specialty"].levels, missing=MISSING, other=OTHER
    )
    for feature, group_feature, column, groups in (
        ("admission_type", "admission_type_group", "admission_type_id", ADMISSION_TYPE_GROUPS),
        ("discharge_disposition", "discharge_group", "discharge_disposition_id", DISCHARGE_GROUPS),
        ("admission_source", "admission_source_group", "admission_source_id", ADMISSION_SOURCE_GROUPS),
    ):
        ids = frame[column].astype(str)
        out[feature] = _codes(ids, contract.column(column).levels)
        out[group_feature] = _group_codes(ids, groups)

    for name, _ in UTILISATION:
        out[name] = frame[name].to_numpy(dtype=np.int32)
    out["total_visits"] = out["number_outpatient"] + out["number_emergency"] + out["number_inpatient"]

    for name in DIAGNOSES:
        out[f"{name}_chapter"], out[f"{name}_code"] = _diagnosis_parts(frame[name])
    out.update(_diabetes_details(frame))

    for name in ("max_glu_serum", "A1Cresult", "change", "diabetesMed"):
        out[name] = _codes(frame[name], FEATURES_BY_NAME[name].levels)
    for medication, feature in MED_FEATURES.items():
        out[feature] = _codes(frame[medication], contract.MEDICATION_STATUSES)
    table = pd.DataFrame(out)
    table[list(BRAND_COUNTS)] = brand_counts(table)
    history = history_features(frame[contract.ENCOUNTER_ID], frame[contract.PATIENT_ID], frame["number_inpatient"])
    table[list(history.columns)] = history
    head = [*KEY_COLUMNS, *([contract.LABEL_COLUMN] if contract.LABEL_COLUMN in table.columns else [])]
    return table[[*head, *FEATURE_NAMES]]


def feature_schema() -> dict[str, Any]:
    """The feature set as plain data: names, labels, categorical levels (written next to the features and model)."""
    return {
        "version": FEATURE_SET_VERSION,
        "contract_version": contract.CONTRACT_VERSION,
        "key_columns": list(KEY_COLUMNS),
        "label": contract.LABEL_COLUMN,
        "features": [
            {
                "name": f.name,
                "label": f.label,
                "categorical": f.categorical,
                "group": f.group,
                "levels": list(f.levels),
                "missing": f.missing,
            }
            for f in FEATURES
        ],
    }


def read_feature_table(location: Path, *, what: str, require_label: bool = True) -> pd.DataFrame:
    """Read the one feature CSV at ``location`` (file or folder) and check it has ids, label and every feature."""
    path = find_single_file(location, what=what)
    table = read_csv(path, what=what)
    needed = [*KEY_COLUMNS, *([contract.LABEL_COLUMN] if require_label else []), *FEATURE_NAMES]
    missing = [name for name in needed if name not in table.columns]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise StepError(f"{what}: {path} is not an adherence feature table; missing column(s) {shown}")
    return table
