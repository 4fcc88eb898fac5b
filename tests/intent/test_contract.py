"""The text/label contract: every row accepted or rejected with a reason; the validate step's split and report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_code.common.context import PROCESSING, StepContext, StepError
from pipeline_code.intent.contract import ContractError, check_rows, read_rows
from pipeline_code.intent.validate import main as validate
from pipeline_code.intent.validate.split import stratified_holdout

HEADER = ["text", "label"]


def test_each_kind_of_bad_row_is_rejected_with_its_reason() -> None:
    rows = [
        (2, ["turn on the lights", "lights"]),
        (3, ["   ", "lights"]),
        (4, ["x" * 50, "lights"]),
        (5, ["caf\udce9 au lait", "coffee"]),
        (6, ["make a coffee", ""]),
        (7, ["book a flight", "travel"]),
        (8, ["only one field"]),
        (9, ["what is love", "oos"]),
    ]
    result = check_rows(HEADER, rows, source="valid.csv", max_chars=40, known_labels={"lights", "coffee"})
    reasons = {r.line: r.reason for r in result.rejects}
    assert reasons == {
        3: "text is empty",
        4: "text is longer than 40 characters",
        5: "text is not valid UTF-8",
        6: "label is empty",
        7: "label 'travel' is not a training label",
        8: "row has 1 fields, expected 2",
    }
    assert result.texts == ["turn on the lights", "what is love"]  # oos rows are always in scope of the contract
    assert result.rows_in == len(rows)
    assert result.rejects[2].text == "caf\\xe9 au lait"  # the raw bytes stay visible in rejects.csv


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.text(max_size=30), st.sampled_from(["a", "b", "", "oos", "zzz"]), st.booleans()),
        max_size=40,
    )
)
def test_rows_in_equals_accepted_plus_rejected(rows: list[tuple[str, str, bool]]) -> None:
    numbered = [(i + 2, [text, label] if two else [text]) for i, (text, label, two) in enumerate(rows)]
    result = check_rows(HEADER, numbered, source="x.csv", max_chars=20, known_labels={"a", "b"})
    assert result.rows_in == len(rows) == len(result.texts) + len(result.rejects)
    assert all(r.reason for r in result.rejects)


def test_files_without_the_columns_or_not_csv_are_named(tmp_path: Path) -> None:
    wrong = tmp_path / "train.csv"
    wrong.write_text("utterance,intent\nhello,greet\n", encoding="utf-8")
    with pytest.raises(ContractError, match=r"train\.csv.*lacks column\(s\) text, label"):
        read_rows(wrong)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ContractError, match="empty"):
        read_rows(empty)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from("abcde"), min_size=1, max_size=60), st.integers(0, 5))
def test_holdout_is_stratified_deterministic_and_leaves_every_label_in_train(labels: list[str], seed: int) -> None:
    held = stratified_holdout(labels, 0.1, seed)
    assert held.tolist() == stratified_holdout(labels, 0.1, seed).tolist()
    kept = [y for i, y in enumerate(labels) if i not in set(held.tolist())]
    assert set(kept) == set(labels)
    for label in set(labels):
        if labels.count(label) >= 2:
            assert label in {labels[i] for i in held}


def _validate(tmp_path: Path, files: dict[str, str], **params: object) -> tuple[StepContext, dict]:
    ctx = StepContext(PROCESSING, tmp_path / "ml", parameters=params, step_name="IntentValidate")
    folder = ctx.input_dir("raw_data")
    folder.mkdir(parents=True)
    for name, body in files.items():
        (folder / name).write_bytes(body.encode("utf-8", "surrogateescape"))
    return ctx, validate.run(ctx)


def test_validate_step_holds_out_validation_and_reconciles(tmp_path: Path) -> None:
    train = "text,label\n" + "".join(f"ask {i} about a,a\nask {i} about b,b\n" for i in range(10)) + ",a\n"
    test = "text,label\nask about a,a\nask about c,c\n"
    ctx, summary = _validate(tmp_path, {"train.csv": train, "test.csv": test})
    report = json.loads((ctx.output_dir("validation_report") / "validation_report.json").read_text())
    assert report["validation_source"].startswith("stratified 10% of train")
    assert report["rows"] == {"train": 18, "valid": 2, "test": 1}
    for numbers in report["files"].values():
        assert numbers["rows_in"] == numbers["rows_accepted"] + numbers["rows_rejected"]
    rejects = (ctx.output_dir("validation_report") / "rejects.csv").read_text(encoding="utf-8")
    assert "text is empty" in rejects and "label 'c' is not a training label" in rejects
    assert summary["rows_rejected"] == 2


def test_validate_step_fails_clearly_without_test_file(tmp_path: Path) -> None:
    with pytest.raises(StepError, match=r"no test\.csv"):
        _validate(tmp_path, {"train.csv": "text,label\nhi,a\nho,b\n"})
