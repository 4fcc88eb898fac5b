"""The data contract of the adherence (30-day readmission) model: UCI "Diabetes 130-US hospitals" encounters.

One declarative table (:data:`COLUMNS`) says, for each of the 50 raw columns, its role, its kind, whether a missing
value is allowed and which values are: categorical levels, an integer range, or a code pattern. Validation,
feature engineering, batch prediction (and later Feature Store definitions and Model Monitor baselines) read it from
here, so a change of the data is a change of this file and nowhere else.

Raw files write missing values as ``?``; ``max_glu_serum`` / ``A1Cresult`` use the literal ``None`` for "not
measured", which is a level, not a missing value (see :data:`READ_CSV_OPTIONS`).
"""

from __future__ import annotations

from typing import Any, Final

import pandas as pd

from pipeline_code.common.contracts.schema import Column, Kind, Role
from pipeline_code.common.contracts.validation import ValidationResult, validate_frame

CONTRACT_NAME: Final = "diabetes-130-us-hospitals"
# Bump when a change could reject rows that used to pass or change what a level means; recorded in model metadata.
CONTRACT_VERSION: Final = "1.0.0"

MISSING_TOKEN: Final = "?"
# Every column is read as text so that a malformed value rejects one row instead of failing the whole file; an empty
# field is missing too. Plain object columns: they read faster than pandas' string dtype (0.46 s vs 0.60 s here).
READ_CSV_OPTIONS: Final[dict[str, Any]] = {"na_values": [MISSING_TOKEN, ""], "keep_default_na": False, "dtype": object}


# --- value sets ---------------------------------------------------------------------------------------------------

MEDICATION_STATUSES: Final = ("No", "Steady", "Up", "Down")
"""Status of a drug during the encounter: not prescribed, dose unchanged, dose increased, dose decreased."""
MEDICATION_NOT_TAKEN: Final = "No"

MEDICATIONS: Final = (
    "metformin",
    "repaglinide",
    "nateglinide",
    "chlorpropamide",
    "glimepiride",
    "acetohexamide",
    "glipizide",
    "glyburide",
    "tolbutamide",
    "pioglitazone",
    "rosiglitazone",
    "acarbose",
    "miglitol",
    "troglitazone",
    "tolazamide",
    "examide",
    "citoglipton",
    "insulin",
    "glyburide-metformin",
    "glipizide-metformin",
    "glimepiride-pioglitazone",
    "metformin-rosiglitazone",
    "metformin-pioglitazone",
)
"""The 23 medication ("brand") columns, in file order."""

AGE_BANDS: Final = tuple(f"[{lo}-{lo + 10})" for lo in range(0, 100, 10))
WEIGHT_BANDS: Final = (*(f"[{lo}-{lo + 25})" for lo in range(0, 200, 25)), ">200")

# IDs_mapping.csv of the UCI archive; a test checks these against the shipped file.
ADMISSION_TYPES: Final = (
    ("1", "Emergency"),
    ("2", "Urgent"),
    ("3", "Elective"),
    ("4", "Newborn"),
    ("5", "Not Available"),
    ("6", "NULL"),
    ("7", "Trauma Center"),
    ("8", "Not Mapped"),
)
DISCHARGE_DISPOSITIONS: Final = (
    ("1", "Discharged to home"),
    ("2", "Discharged/transferred to another short term hospital"),
    ("3", "Discharged/transferred to SNF"),
    ("4", "Discharged/transferred to ICF"),
    ("5", "Discharged/transferred to another type of inpatient care institution"),
    ("6", "Discharged/transferred to home with home health service"),
    ("7", "Left AMA"),
    ("8", "Discharged/transferred to home under care of Home IV provider"),
    ("9", "Admitted as an inpatient to this hospital"),
    ("10", "Neonate discharged to another hospital for neonatal aftercare"),
    ("11", "Expired"),
    ("12", "Still patient or expected to return for outpatient services"),
    ("13", "Hospice / home"),
    ("14", "Hospice / medical facility"),
    ("15", "Discharged/transferred within this institution to Medicare approved swing bed"),
    ("16", "Discharged/transferred/referred another institution for outpatient services"),
    ("17", "Discharged/transferred/referred to this institution for outpatient services"),
    ("18", "NULL"),
    ("19", "Expired at home. Medicaid only, hospice."),
    ("20", "Expired in a medical facility. Medicaid only, hospice."),
    ("21", "Expired, place unknown. Medicaid only, hospice."),
    ("22", "Discharged/transferred to another rehab fac including rehab units of a hospital ."),
    ("23", "Discharged/transferred to a long term care hospital."),
    ("24", "Discharged/transferred to a nursing facility certified under Medicaid but not certified under Medicare."),
    ("25", "Not Mapped"),
    ("26", "Unknown/Invalid"),
    ("27", "Discharged/transferred to a federal health care facility."),
    (
        "28",
        "Discharged/transferred/referred to a psychiatric hospital of psychiatric distinct part unit of a hospital",
    ),
    ("29", "Discharged/transferred to a Critical Access Hospital (CAH)."),
    ("30", "Discharged/transferred to another Type of Health Care Institution not Defined Elsewhere"),
)
ADMISSION_SOURCES: Final = (
    ("1", "Physician Referral"),
    ("2", "Clinic Referral"),
    ("3", "HMO Referral"),
    ("4", "Transfer from a hospital"),
    ("5", "Transfer from a Skilled Nursing Facility (SNF)"),
    ("6", "Transfer from another health care facility"),
    ("7", "Emergency Room"),
    ("8", "Court/Law Enforcement"),
    ("9", "Not Available"),
    ("10", "Transfer from critial access hospital"),
    ("11", "Normal Delivery"),
    ("12", "Premature Delivery"),
    ("13", "Sick Baby"),
    ("14", "Extramural Birth"),
    ("15", "Not Available"),
    ("17", "NULL"),
    ("18", "Transfer From Another Home Health Agency"),
    ("19", "Readmission to Same Home Health Agency"),
    ("20", "Not Mapped"),
    ("21", "Unknown/Invalid"),
    ("22", "Transfer from hospital inpt/same fac reslt in a sep claim"),
    ("23", "Born inside this hospital"),
    ("24", "Born outside this hospital"),
    ("25", "Transfer from Ambulatory Surgery Center"),
    ("26", "Transfer from Hospice"),
)

PAYER_CODES: Final = (
    "MC",
    "MD",
    "HM",
    "UN",
    "BC",
    "SP",
    "CP",
    "SI",
    "DM",
    "CM",
    "CH",
    "PO",
    "WC",
    "OT",
    "OG",
    "MP",
    "FR",
)

# Specialties common enough to learn from; others are valid values that the features step folds into "Other".
COMMON_SPECIALTIES: Final = (
    "InternalMedicine",
    "Emergency/Trauma",
    "Family/GeneralPractice",
    "Cardiology",
    "Surgery-General",
    "Nephrology",
    "Orthopedics",
    "Orthopedics-Reconstructive",
    "Radiologist",
    "Pulmonology",
    "Psychiatry",
    "Urology",
    "ObstetricsandGynecology",
    "Surgery-Cardiovascular/Thoracic",
    "Gastroenterology",
    "Surgery-Vascular",
    "Surgery-Neuro",
    "PhysicalMedicineandRehabilitation",
    "Oncology",
    "Pediatrics",
    "Hematology/Oncology",
    "Neurology",
    "Pediatrics-Endocrinology",
    "Otolaryngology",
    "Endocrinology",
)

# ICD-9-CM as the file writes it: leading zeros dropped ("8" for 008), V codes (supplementary) and E codes (external).
ICD9_PATTERN: Final = r"^(?:\d{1,3}(?:\.\d{1,2})?|[Vv]\d{2}(?:\.\d{1,2})?|[Ee]\d{3}(?:\.\d)?)$"
SPECIALTY_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9&/\-]{0,63}$"

READMITTED_LEVELS: Final = ("NO", ">30", "<30")
POSITIVE_READMISSION: Final = "<30"


def _integer(name: str, description: str, lo: int, hi: int) -> Column:
    return Column(name, Role.FEATURE, Kind.INTEGER, description, min_value=lo, max_value=hi)


def _category(name: str, description: str, levels: tuple[str, ...], *, nullable: bool = False) -> Column:
    return Column(name, Role.FEATURE, Kind.CATEGORY, description, nullable=nullable, levels=levels)


def _coded(name: str, description: str, table: tuple[tuple[str, str], ...]) -> Column:
    return Column(name, Role.FEATURE, Kind.CATEGORY, description, levels=tuple(code for code, _ in table), labels=table)


def _diagnosis(name: str, which: str) -> Column:
    return Column(
        name, Role.FEATURE, Kind.CODE, f"{which} diagnosis, ICD-9-CM code", nullable=True, pattern=ICD9_PATTERN
    )


# Numeric ranges are the plausible domain of each field, not this file's observed min/max, so that other extracts
# of the same source pass: the source admitted stays of 1 to 14 days, and counts of a year's visits stay below 1,000.
COLUMNS: Final[tuple[Column, ...]] = (
    Column("encounter_id", Role.ID, Kind.INTEGER, "Unique id of the hospital encounter", min_value=1, max_value=10**12),
    Column(
        "patient_nbr",
        Role.ID,
        Kind.INTEGER,
        "Id of the patient; encounters of one patient share it",
        min_value=1,
        max_value=10**12,
    ),
    _category("race", "Race", ("Caucasian", "AfricanAmerican", "Hispanic", "Asian", "Other"), nullable=True),
    _category("gender", "Gender", ("Female", "Male", "Unknown/Invalid")),
    _category("age", "Age band in years", AGE_BANDS),
    _category("weight", "Weight band in pounds (rarely recorded)", WEIGHT_BANDS, nullable=True),
    _coded("admission_type_id", "Admission type", ADMISSION_TYPES),
    _coded("discharge_disposition_id", "Discharge disposition", DISCHARGE_DISPOSITIONS),
    _coded("admission_source_id", "Admission source", ADMISSION_SOURCES),
    _integer("time_in_hospital", "Days between admission and discharge", 1, 14),
    _category("payer_code", "Payer (insurance) code", PAYER_CODES, nullable=True),
    Column(
        "medical_specialty",
        Role.FEATURE,
        Kind.OPEN_CATEGORY,
        "Specialty of the admitting physician",
        nullable=True,
        levels=COMMON_SPECIALTIES,
        pattern=SPECIALTY_PATTERN,
    ),
    _integer("num_lab_procedures", "Lab tests performed during the encounter", 0, 1000),
    _integer("num_procedures", "Procedures (other than lab tests) performed during the encounter", 0, 1000),
    _integer("num_medications", "Distinct generic drugs administered during the encounter", 0, 1000),
    _integer("number_outpatient", "Outpatient visits in the year before the encounter", 0, 1000),
    _integer("number_emergency", "Emergency visits in the year before the encounter", 0, 1000),
    _integer("number_inpatient", "Inpatient visits in the year before the encounter", 0, 1000),
    _diagnosis("diag_1", "Primary"),
    _diagnosis("diag_2", "Secondary"),
    _diagnosis("diag_3", "Additional secondary"),
    _integer("number_diagnoses", "Diagnoses entered into the system", 0, 100),
    _category("max_glu_serum", "Glucose serum test result ('None' = not measured)", ("None", "Norm", ">200", ">300")),
    _category("A1Cresult", "HbA1c test result ('None' = not measured)", ("None", "Norm", ">7", ">8")),
    *(
        Column(med, Role.MEDICATION, Kind.CATEGORY, f"Status of {med} during the encounter", levels=MEDICATION_STATUSES)
        for med in MEDICATIONS
    ),
    _category("change", "Any change of diabetic medication (dose or drug)", ("No", "Ch")),
    _category("diabetesMed", "Any diabetic medication prescribed", ("No", "Yes")),
    Column(
        "readmitted",
        Role.TARGET,
        Kind.CATEGORY,
        "Days to inpatient readmission: <30, >30 or NO",
        levels=READMITTED_LEVELS,
    ),
)

COLUMN_NAMES: Final = tuple(col.name for col in COLUMNS)
ENCOUNTER_ID: Final = "encounter_id"
PATIENT_ID: Final = "patient_nbr"
ID_COLUMNS: Final = (ENCOUNTER_ID, PATIENT_ID)
TARGET_COLUMN: Final = "readmitted"
LABEL_COLUMN: Final = "label"
"""Name of the binary label derived by :func:`label_from_target` in every table after validation."""
NULLABLE_COLUMNS: Final = tuple(col.name for col in COLUMNS if col.nullable)
_BY_NAME: Final = {col.name: col for col in COLUMNS}


def column(name: str) -> Column:
    """The contract entry of ``name``; KeyError naming the column if the contract has none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"the {CONTRACT_NAME} contract has no column {name!r}") from None


def columns_with_role(*roles: Role) -> tuple[Column, ...]:
    """Contract columns with any of ``roles``, in file order."""
    return tuple(col for col in COLUMNS if col.role in roles)


def required_columns(*, with_target: bool = True) -> tuple[str, ...]:
    """Column names a file must have: all 50, or all but the target for prediction input."""
    return tuple(col.name for col in COLUMNS if with_target or col.role is not Role.TARGET)


def validated_read_options() -> dict[str, Any]:
    """``read_csv`` options for a file the validate step wrote: integer columns typed, the rest text.

    A value that does not parse then fails the read, which is right: such a file was not written by validation.
    """
    dtypes = {col.name: ("int64" if col.kind is Kind.INTEGER else object) for col in COLUMNS}
    return {**READ_CSV_OPTIONS, "dtype": dtypes}


def validate(raw: pd.DataFrame, *, source: str, require_target: bool = True) -> ValidationResult:
    """Split raw encounters (read with :data:`READ_CSV_OPTIONS`) into accepted and rejected rows by this contract.

    ``encounter_id`` must be unique: a repeat is rejected, the first occurrence stays. Without ``require_target``
    the ``readmitted`` column may be absent (batch prediction input); when present it is checked all the same.
    """
    return validate_frame(
        raw,
        COLUMNS,
        source=source,
        unique=(ENCOUNTER_ID,),
        optional=() if require_target else (TARGET_COLUMN,),
    )


def is_positive(readmitted: str) -> bool:
    """The target rule: an encounter is positive when the patient was readmitted within 30 days."""
    return readmitted == POSITIVE_READMISSION


def label_from_target(readmitted: Any) -> Any:
    """Vectorised target rule on a pandas Series of ``readmitted`` values: 1 for ``<30``, else 0."""
    return (readmitted == POSITIVE_READMISSION).astype("int8")


def describe() -> dict[str, Any]:
    """The contract as plain JSON-serialisable data (for reports, Feature Store definitions, monitoring baselines)."""
    return {
        "name": CONTRACT_NAME,
        "version": CONTRACT_VERSION,
        "missing_token": MISSING_TOKEN,
        "target": {"column": TARGET_COLUMN, "positive": POSITIVE_READMISSION, "label": LABEL_COLUMN},
        "columns": [
            {
                "name": col.name,
                "role": col.role.value,
                "kind": col.kind.value,
                "nullable": col.nullable,
                "description": col.description,
                **({"levels": list(col.levels)} if col.levels else {}),
                **({"min": col.min_value, "max": col.max_value} if col.kind is Kind.INTEGER else {}),
                **({"pattern": col.pattern} if col.pattern else {}),
            }
            for col in COLUMNS
        ],
    }
