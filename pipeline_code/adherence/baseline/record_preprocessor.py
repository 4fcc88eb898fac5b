"""Model Monitor record preprocessor of the adherence endpoint (data quality): requests as rows of the baseline.

The endpoint takes a CSV body with a header and any number of rows (``pipeline_code.dag.serve``); Model Monitor's
analyzer reads one record per line without a header. This script, run by the analyzer for each captured request,
returns one dict per row with exactly the baseline's columns (the data contract's features and medications, by
name), the contract's missing token as a missing value. It runs inside the Model Monitor container: standard
library only, and the column list is written out here (a test checks it against the contract).
"""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

MISSING = ("?", "")
COLUMNS = (
    "race",
    "gender",
    "age",
    "weight",
    "admission_type_id",
    "discharge_disposition_id",
    "admission_source_id",
    "time_in_hospital",
    "payer_code",
    "medical_specialty",
    "num_lab_procedures",
    "num_procedures",
    "num_medications",
    "number_outpatient",
    "number_emergency",
    "number_inpatient",
    "diag_1",
    "diag_2",
    "diag_3",
    "number_diagnoses",
    "max_glu_serum",
    "A1Cresult",
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
    "change",
    "diabetesMed",
)


# Integral in the baseline: sent as numbers, so that only a value that is not an integer breaks the type check
INTEGER_COLUMNS = frozenset(
    (
        "time_in_hospital",
        "num_lab_procedures",
        "num_procedures",
        "num_medications",
        "number_outpatient",
        "number_emergency",
        "number_inpatient",
        "number_diagnoses",
    )
)


def _value(name: str, raw: str | None) -> Any:
    if raw is None or raw.strip() in MISSING:
        return None
    if name in INTEGER_COLUMNS:
        try:
            return int(raw)
        except ValueError:
            return raw  # left as text: Model Monitor's data-type check reports it
    return raw


def rows_of(text: str) -> list[dict[str, Any]]:
    """The CSV body's rows as dicts of the baseline's columns (missing values as None, integers as int)."""
    reader = csv.DictReader(io.StringIO(text))
    return [{name: _value(name, row.get(name)) for name in COLUMNS} for row in reader]


def preprocess_handler(inference_record: Any, logger: Any = None) -> list[dict[str, Any]]:
    """Model Monitor's entry point: the captured request's rows (an empty list for a body that is not CSV)."""
    endpoint_input = inference_record.endpoint_input
    data = endpoint_input.data
    if str(getattr(endpoint_input, "encoding", "")).upper() == "BASE64":
        data = base64.b64decode(data).decode("utf-8")
    content_type = str(getattr(endpoint_input, "observed_content_type", "text/csv") or "text/csv")
    if "csv" not in content_type.lower():
        if logger is not None:
            logger.warning("skipped a request of content type %s", content_type)
        return []
    return rows_of(data)
