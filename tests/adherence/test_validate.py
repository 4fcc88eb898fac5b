"""Validate step: every row accepted or rejected with a reason; file problems are clear errors."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline_code.adherence.validate.main import REJECTS_FILE, REPORT_FILE, VALIDATED_FILE, run
from pipeline_code.common.context import StepError
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.contracts.validation import REJECT_REASON, ContractError
from tests.adherence.helpers import make_ctx, put_file, write_raw


def _reasons(raw: pd.DataFrame) -> list[str]:
    return contract.validate(raw, source="test.csv").rejected[REJECT_REASON].tolist()


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("age", "[100-110)", "age: unknown level ('[100-110)')"),
        ("admission_type_id", "99", "admission_type_id: unknown level ('99')"),
        ("insulin", "Sometimes", "insulin: unknown level ('Sometimes')"),
        ("num_lab_procedures", "abc", "num_lab_procedures: not an integer ('abc')"),
        ("num_medications", "2.5", "num_medications: not an integer ('2.5')"),
        ("time_in_hospital", "20", "time_in_hospital: 20 outside [1, 14]"),
        ("number_inpatient", "-1", "number_inpatient: -1 outside [0, 1000]"),
        ("readmitted", "maybe", "readmitted: unknown level ('maybe')"),
        ("diag_1", "XYZ", "diag_1: malformed code ('XYZ')"),
        ("medical_specialty", "Not a specialty!", "medical_specialty: malformed value ('Not a specialty!')"),
        ("encounter_id", None, "encounter_id: missing value"),
        ("patient_nbr", None, "patient_nbr: missing value"),
        ("gender", None, "gender: missing value"),
    ],
)
def test_a_broken_value_rejects_its_row_with_a_reason_naming_column_and_value(
    raw: pd.DataFrame, column: str, value: str | None, expected: str
) -> None:
    raw = raw.head(20).copy()
    raw.loc[3, column] = value
    result = contract.validate(raw, source="test.csv")
    assert result.rejected[REJECT_REASON].tolist() == [expected]
    assert result.rejected["encounter_id"].tolist() == [raw.loc[3, "encounter_id"]]
    assert result.rows_accepted == 19


def test_a_repeated_encounter_id_keeps_the_first_and_rejects_the_repeat(raw: pd.DataFrame) -> None:
    raw = raw.head(10).copy()
    raw.loc[7, "encounter_id"] = raw.loc[2, "encounter_id"]
    result = contract.validate(raw, source="t")
    assert result.rejected[REJECT_REASON].tolist() == [
        f"encounter_id: duplicate of an earlier row ({raw.loc[2, 'encounter_id']})"
    ]
    assert raw.loc[2, "encounter_id"] in result.accepted["encounter_id"].astype(str).tolist()


def test_several_problems_in_one_row_are_all_named_in_contract_order(raw: pd.DataFrame) -> None:
    raw = raw.head(5).copy()
    raw.loc[0, "readmitted"] = "x"
    raw.loc[0, "age"] = "old"
    assert _reasons(raw) == ["age: unknown level ('old'); readmitted: unknown level ('x')"]


@pytest.mark.parametrize("column", contract.NULLABLE_COLUMNS)
def test_allowed_missing_values_are_not_rejections(raw: pd.DataFrame, column: str) -> None:
    raw = raw.head(10).copy()
    raw[column] = None
    result = contract.validate(raw, source="t")
    assert result.rows_rejected == 0
    assert result.missing_by_column[column] == 10


def test_missing_required_columns_raise_naming_columns_and_file(raw: pd.DataFrame) -> None:
    with pytest.raises(ContractError, match=r"data\.csv: missing required column\(s\) 'gender', 'insulin'"):
        contract.validate(raw.drop(columns=["gender", "insulin"]), source="data.csv")


def test_the_target_may_be_absent_only_when_not_required(raw: pd.DataFrame) -> None:
    without = raw.drop(columns=["readmitted"])
    assert contract.validate(without, source="t", require_target=False).rows_accepted == len(raw)
    with pytest.raises(ContractError, match="'readmitted'"):
        contract.validate(without, source="t")


CORRUPTIONS = st.sampled_from(
    [
        ("age", "ancient"),
        ("num_procedures", "many"),
        ("time_in_hospital", "0"),
        ("encounter_id", None),
        ("diag_2", "250..1"),
        ("readmitted", "<31"),
        ("metformin", "no"),
        ("race", None),  # allowed missing: not a rejection
        ("weight", None),
    ]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, 59), CORRUPTIONS), max_size=25), dup=st.lists(st.integers(0, 59)))
def test_rows_always_reconcile(raw_sample: pd.DataFrame, edits: list, dup: list[int]) -> None:
    raw = raw_sample.head(60).copy()
    for row, (column, value) in edits:
        raw.loc[row, column] = value
    for row in dup:
        raw.loc[row, "encounter_id"] = raw_sample.loc[0, "encounter_id"]
    result = contract.validate(raw, source="t")
    assert result.rows_in == result.rows_accepted + result.rows_rejected == 60
    assert result.rejected[REJECT_REASON].str.len().gt(0).all()
    assert result.accepted["encounter_id"].is_unique
    # every rejected row has a reason naming a contract column
    assert result.rejected[REJECT_REASON].str.match(r"^[A-Za-z_0-9]+: ").all()


# --- the step ---------------------------------------------------------------------------------------------------


def test_run_writes_validated_rejects_and_a_reconciled_report(tmp_path: Path, raw: pd.DataFrame) -> None:
    raw = raw.head(200).copy()
    raw.loc[5, "age"] = "old"
    raw.loc[9, "num_medications"] = "lots"
    raw["extra"] = "x"
    ctx = make_ctx(tmp_path, "AdherenceValidate")
    write_raw(raw, ctx.input_dir("raw_data") / "encounters.csv")
    metrics = run(ctx)
    assert metrics["rows_in"] == 200 and metrics["rows_accepted"] == 198 and metrics["rows_rejected"] == 2
    report = json.loads((ctx.output_dir("validation_report") / REPORT_FILE).read_text())
    assert report["rows_in"] == report["rows_accepted"] + report["rows_rejected"]
    assert report["reconciled"] is True
    assert report["rejects_by_column"] == {"age": 1, "num_medications": 1}
    assert report["extra_columns"] == ["extra"]
    rejects = pd.read_csv(ctx.output_dir("validation_report") / REJECTS_FILE, dtype=str, keep_default_na=False)
    assert list(rejects.columns) == [*raw.columns, REJECT_REASON]
    assert rejects[REJECT_REASON].tolist() == ["age: unknown level ('old')", "num_medications: not an integer ('lots')"]
    assert "?" in set(rejects["weight"])  # missing written back the way the input wrote it
    validated = pd.read_csv(ctx.output_dir("validated") / VALIDATED_FILE, **contract.validated_read_options())
    assert list(validated.columns) == list(contract.COLUMN_NAMES) and len(validated) == 198


def test_run_reads_a_gzipped_file_in_a_nested_folder(tmp_path: Path, raw: pd.DataFrame) -> None:
    ctx = make_ctx(tmp_path, "AdherenceValidate")
    target = ctx.input_dir("raw_data") / "nested" / "part.csv.gz"
    target.parent.mkdir(parents=True)
    with gzip.open(target, "wt", encoding="utf-8") as handle:
        raw.head(50).to_csv(handle, index=False, na_rep="?")
    assert run(ctx)["rows_accepted"] == 50


def test_too_many_rejects_fail_the_step_after_writing_the_rejects(tmp_path: Path, raw: pd.DataFrame) -> None:
    raw = raw.head(10).copy()
    raw.loc[:5, "gender"] = "x"
    ctx = make_ctx(tmp_path, "AdherenceValidate", max_reject_fraction=0.5)
    write_raw(raw, ctx.input_dir("raw_data") / "d.csv")
    with pytest.raises(StepError, match=r"6 of 10 rows .* break the contract, more than max_reject_fraction=50.0%"):
        run(ctx)
    assert len(pd.read_csv(ctx.output_dir("validation_report") / REJECTS_FILE)) == 6


def test_all_rows_rejected_is_an_error(tmp_path: Path, raw: pd.DataFrame) -> None:
    raw = raw.head(4).copy()
    raw["age"] = "x"
    ctx = make_ctx(tmp_path, "AdherenceValidate", max_reject_fraction=1.0)
    write_raw(raw, ctx.input_dir("raw_data") / "d.csv")
    with pytest.raises(StepError, match=r"all 4 rows .* break the contract \(e.g. age: unknown level"):
        run(ctx)


def test_missing_input_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StepError, match=r"AdherenceValidate: input 'raw_data': .*raw_data does not exist"):
        run(make_ctx(tmp_path, "AdherenceValidate"))


def test_input_folder_without_csv_is_an_error(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "AdherenceValidate")
    ctx.input_dir("raw_data").mkdir(parents=True)
    (ctx.input_dir("raw_data") / "notes.txt").write_text("hi")
    with pytest.raises(StepError, match=r"no \.csv or \.csv\.gz file in .*raw_data"):
        run(ctx)


def test_several_csv_files_are_an_error_naming_them(tmp_path: Path, sample_file: Path) -> None:
    ctx = make_ctx(tmp_path, "AdherenceValidate")
    put_file(ctx, "raw_data", sample_file)
    shutil.copy(sample_file, ctx.input_dir("raw_data") / "second.csv")
    with pytest.raises(StepError, match=r"expected one .* found 2: sample\.csv, second\.csv"):
        run(ctx)


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "AdherenceValidate")
    ctx.input_dir("raw_data").mkdir(parents=True)
    (ctx.input_dir("raw_data") / "d.csv").write_text("")
    with pytest.raises(StepError, match=r"d\.csv is empty"):
        run(ctx)


def test_a_header_without_rows_is_an_error(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "AdherenceValidate")
    ctx.input_dir("raw_data").mkdir(parents=True)
    (ctx.input_dir("raw_data") / "d.csv").write_text(",".join(contract.COLUMN_NAMES) + "\n")
    with pytest.raises(StepError, match="has a header but no rows"):
        run(ctx)


def test_a_file_missing_a_column_names_it_and_the_file(tmp_path: Path, raw: pd.DataFrame) -> None:
    ctx = make_ctx(tmp_path, "AdherenceValidate")
    write_raw(raw.head(5).drop(columns=["A1Cresult"]), ctx.input_dir("raw_data") / "d.csv")
    with pytest.raises(ContractError, match=r"d\.csv: missing required column\(s\) 'A1Cresult'"):
        run(ctx)


def test_a_corrupt_gzip_is_an_error(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "AdherenceValidate")
    ctx.input_dir("raw_data").mkdir(parents=True)
    (ctx.input_dir("raw_data") / "d.csv.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(StepError, match=r"cannot read .*d\.csv\.gz"):
        run(ctx)
