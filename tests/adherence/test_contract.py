"""The data contract: complete, consistent with the shipped files, and usable as plain data."""

from __future__ import annotations

import csv
import gzip
import json

import pandas as pd
import pytest

from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.contracts.schema import Column, Kind, Role
from tests.adherence.helpers import DATA_DIR, DATA_FILE


def test_contract_lists_the_50_columns_of_the_file_in_order() -> None:
    with gzip.open(DATA_FILE, "rt", encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert tuple(header) == contract.COLUMN_NAMES
    assert len(contract.COLUMNS) == 50


def test_the_23_medication_columns_have_the_status_levels() -> None:
    medications = contract.columns_with_role(Role.MEDICATION)
    assert tuple(c.name for c in medications) == contract.MEDICATIONS
    assert len(medications) == 23
    assert all(c.levels == ("No", "Steady", "Up", "Down") for c in medications)


def _id_tables() -> dict[str, dict[str, str]]:
    """The three stacked tables of IDs_mapping.csv, separated by blank ',' lines."""
    tables: dict[str, dict[str, str]] = {}
    current = None
    with (DATA_DIR / "IDs_mapping.csv").open(encoding="utf-8") as handle:
        for row in csv.reader(handle):
            if not row or not row[0].strip():
                current = None
            elif current is None:
                current = row[0]
                tables[current] = {}
            else:
                tables[current][row[0].strip()] = row[1].strip()
    return tables


@pytest.mark.parametrize("name", ["admission_type_id", "discharge_disposition_id", "admission_source_id"])
def test_coded_columns_match_ids_mapping(name: str) -> None:
    assert contract.column(name).label_map == _id_tables()[name]


def test_target_rule_is_readmission_within_30_days() -> None:
    values = pd.Series(["<30", ">30", "NO"])
    assert contract.label_from_target(values).tolist() == [1, 0, 0]
    assert contract.is_positive("<30") and not contract.is_positive(">30")


def test_nullable_columns_are_the_documented_ones() -> None:
    expected = {"race", "weight", "payer_code", "medical_specialty", "diag_1", "diag_2", "diag_3"}
    assert set(contract.NULLABLE_COLUMNS) == expected


def test_describe_is_json_and_complete() -> None:
    described = json.loads(json.dumps(contract.describe()))
    assert [c["name"] for c in described["columns"]] == list(contract.COLUMN_NAMES)
    assert described["target"]["positive"] == "<30"


def test_unknown_column_lookup_names_it() -> None:
    with pytest.raises(KeyError, match="no column 'nope'"):
        contract.column("nope")


def test_a_category_column_without_levels_is_refused() -> None:
    with pytest.raises(ValueError, match="declares no levels"):
        Column("x", Role.FEATURE, Kind.CATEGORY, "x")


def test_the_shipped_sample_meets_the_contract(raw_sample: pd.DataFrame) -> None:
    result = contract.validate(raw_sample, source="sample")
    assert result.rows_rejected == 0
    assert result.rows_accepted == len(raw_sample)
    assert result.accepted["encounter_id"].dtype == "int64"
