"""Feature engineering: ICD-9 grouping, brand features, history from earlier encounters only, the step itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline_code.adherence.features.main import FEATURES_FILE, SCHEMA_FILE, run
from pipeline_code.common import adherence_features as af
from pipeline_code.common.context import StepError
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.contracts.validation import ContractError
from tests.adherence.helpers import encounter_frames, make_ctx


@pytest.mark.parametrize(
    ("code", "chapter"),
    [
        ("8", "Infectious"),
        ("139", "Infectious"),
        ("162.9", "Neoplasms"),
        ("250", "Diabetes"),
        ("250.83", "Diabetes"),
        ("276", "Endocrine/metabolic"),
        ("428", "Circulatory"),
        ("785", "Symptoms/ill-defined"),
        ("486", "Respiratory"),
        ("996.81", "Injury/poisoning"),
        ("V57", "Supplementary (V)"),
        ("V45.81", "Supplementary (V)"),
        ("E909", "External cause (E)"),
        (None, "Missing"),
    ],
)
def test_icd9_chapters(code: str | None, chapter: str) -> None:
    assert af.icd9_chapter(code) == chapter


@given(st.integers(1, 999), st.integers(0, 99))
def test_every_numeric_icd9_code_has_a_real_chapter(category: int, decimals: int) -> None:
    chapter = af.icd9_chapter(f"{category}.{decimals}")
    assert chapter not in (af.MISSING, af.OTHER)
    assert (chapter == af.DIABETES_CHAPTER) == (category == 250)


def _frame(rows: list[dict], validated: pd.DataFrame) -> pd.DataFrame:
    """Validated-looking rows: the first sample row with the given edits."""
    base = validated.iloc[[0] * len(rows)].reset_index(drop=True).copy()
    for i, edits in enumerate(rows):
        for key, value in edits.items():
            base.loc[i, key] = value
    base["encounter_id"] = np.arange(1, len(rows) + 1) * 10
    base["patient_nbr"] = np.arange(1, len(rows) + 1)
    return base


def test_diabetes_details_come_from_the_first_250_code(validated_sample: pd.DataFrame) -> None:
    frame = _frame(
        [
            {"diag_1": "428", "diag_2": "250.13", "diag_3": "250.02"},
            {"diag_1": "250", "diag_2": "401", "diag_3": None},
            {"diag_1": "428", "diag_2": "401", "diag_3": "V57"},
        ],
        validated_sample,
    )
    table = af.build_features(frame)
    assert table["n_diabetes_diagnoses"].tolist() == [2, 1, 0]
    levels = af.DIABETES_COMPLICATIONS
    assert [levels[i] for i in table["diabetes_complication"]] == ["Ketoacidosis", "Without complication", levels[0]]
    assert table["diabetes_type1"].tolist() == [1, 0, 0]
    assert table["diabetes_uncontrolled"].tolist() == [1, 0, 0]
    assert table["diag_3_chapter"].tolist()[1] == af.DIAGNOSIS_CHAPTERS.index(af.MISSING)
    assert table["diag_3_code"].tolist()[2] == pytest.approx(1057.0)


def test_brand_features_and_counts(validated_sample: pd.DataFrame) -> None:
    no_meds = {m: "No" for m in contract.MEDICATIONS}
    frame = _frame(
        [
            {**no_meds, "insulin": "Up", "metformin": "Steady", "glipizide": "Down"},
            no_meds,
            {**no_meds, "glyburide-metformin": "Steady"},
        ],
        validated_sample,
    )
    table = af.build_features(frame)
    assert table["med_insulin"].tolist() == [2, 0, 0]
    assert table["med_glyburide_metformin"].tolist() == [0, 0, 1]
    assert table["n_meds_taken"].tolist() == [3, 0, 1]
    assert table["n_meds_steady"].tolist() == [1, 0, 1]
    assert table["n_meds_up"].tolist() == [1, 0, 0]
    assert table["n_meds_down"].tolist() == [1, 0, 0]
    assert table["n_meds_changed"].tolist() == [2, 0, 0]


def test_ids_and_label_are_kept_but_never_features(validated_sample: pd.DataFrame) -> None:
    table = af.build_features(validated_sample)
    assert list(table.columns[:3]) == ["encounter_id", "patient_nbr", "label"]
    assert not {"encounter_id", "patient_nbr", "label", "readmitted"} & set(af.FEATURE_NAMES)
    assert table["label"].sum() == (validated_sample["readmitted"] == "<30").sum()
    assert len(table) == len(validated_sample)


def test_categorical_codes_stay_inside_their_levels(validated_sample: pd.DataFrame) -> None:
    table = af.build_features(validated_sample)
    for name in af.CATEGORICAL_FEATURES:
        levels = af.FEATURES_BY_NAME[name].levels
        assert table[name].between(0, len(levels) - 1).all(), name


def test_an_unknown_level_is_refused_by_the_transform(validated_sample: pd.DataFrame) -> None:
    frame = validated_sample.head(3).copy()
    frame.loc[1, "gender"] = "Robot"
    with pytest.raises(ValueError, match=r"column 'gender' has values outside the contract: \['Robot'\]"):
        af.build_features(frame)


def test_rare_specialties_fold_into_other(validated_sample: pd.DataFrame) -> None:
    frame = validated_sample.head(2).copy()
    frame.loc[0, "medical_specialty"] = "Speech"
    frame.loc[1, "medical_specialty"] = np.nan
    codes = af.build_features(frame)["medical_specialty"].tolist()
    levels = af.FEATURES_BY_NAME["medical_specialty"].levels
    assert [levels[c] for c in codes] == ["Other", "Missing"]


def test_history_counts_only_earlier_encounters() -> None:
    encounter = pd.Series([30, 10, 20, 40, 5])
    patient = pd.Series([1, 1, 1, 2, 1])
    inpatient = pd.Series([0, 4, 1, 9, 2])
    history = af.history_features(encounter, patient, inpatient)
    # patient 1 in time order: 5 (2 visits), 10 (4), 20 (1), 30 (0)
    assert history["prior_encounters"].tolist() == [3, 1, 2, 0, 0]
    assert history["prior_inpatient_max"].tolist() == [4, 2, 4, 0, 0]
    # id distance to the previous encounter (30 - 20, 10 - 5, 20 - 10), and that encounter's own distance
    np.testing.assert_array_equal(history["prev_gap"], [10, 5, 10, np.nan, np.nan])
    np.testing.assert_array_equal(history["prev_prev_gap"], [10, np.nan, 5, np.nan, np.nan])


def test_history_gaps_of_a_patient_follow_id_order_not_row_order() -> None:
    encounter = pd.Series([1_000_000, 400, 1_000_100, 100], index=[7, 3, 9, 1])
    patient = pd.Series([5, 5, 5, 5], index=encounter.index)
    history = af.history_features(encounter, patient, pd.Series([0, 0, 0, 0], index=encounter.index))
    assert history.index.tolist() == [7, 3, 9, 1]
    np.testing.assert_array_equal(history["prev_gap"], [999_600, 300, 100, np.nan])
    np.testing.assert_array_equal(history["prev_prev_gap"], [300, np.nan, 999_600, np.nan])


@settings(max_examples=20, deadline=None)
@given(frame=encounter_frames(min_rows=2, max_rows=10), cut=st.integers(1, 9), seed=st.integers(0, 1000))
def test_features_never_depend_on_later_encounters_or_row_order(frame: pd.DataFrame, cut: int, seed: int) -> None:
    accepted = contract.validate(frame, source="synthetic").accepted
    full = af.build_features(accepted).set_index("encounter_id")
    # Only the encounters up to the cut (the earliest ids), shuffled: their features must not change.
    earlier = accepted[accepted["encounter_id"] < accepted["encounter_id"].min() + cut]
    shuffled = earlier.sample(frac=1.0, random_state=seed)
    part = af.build_features(shuffled).set_index("encounter_id")
    pd.testing.assert_frame_equal(part.sort_index(), full.loc[part.index].sort_index(), check_dtype=False)


@settings(max_examples=12, deadline=None)
@given(
    frame=encounter_frames(min_rows=2, max_rows=10),
    later=encounter_frames(min_rows=1, max_rows=6),
    cut=st.integers(1, 9),
    targets=st.lists(st.sampled_from(contract.READMITTED_LEVELS), min_size=16, max_size=16),
)
def test_features_of_an_encounter_ignore_later_rows_and_every_label(
    frame: pd.DataFrame, later: pd.DataFrame, cut: int, targets: list[str]
) -> None:
    """No leakage: encounter k's features stay the same when the rows of later encounters (of the same or other
    patients) are replaced by different ones and every label, k's own included, is redrawn."""
    accepted = contract.validate(frame, source="synthetic").accepted
    full = af.build_features(accepted).set_index("encounter_id").drop(columns=contract.LABEL_COLUMN)
    first = accepted["encounter_id"].min()
    kept = accepted[accepted["encounter_id"] < first + cut]
    replacement = contract.validate(later, source="synthetic").accepted
    replacement["encounter_id"] += 100  # after every encounter of ``frame``; patients 1-4 as there
    edited = pd.concat([kept, replacement], ignore_index=True)
    edited[contract.TARGET_COLUMN] = targets[: len(edited)]
    part = af.build_features(edited).set_index("encounter_id").drop(columns=contract.LABEL_COLUMN)
    pd.testing.assert_frame_equal(part.loc[kept["encounter_id"]], full.loc[kept["encounter_id"]], check_dtype=False)


def test_feature_schema_describes_every_feature() -> None:
    schema = json.loads(json.dumps(af.feature_schema()))
    assert [f["name"] for f in schema["features"]] == list(af.FEATURE_NAMES)
    assert {f["name"] for f in schema["features"] if f["categorical"]} == set(af.CATEGORICAL_FEATURES)


def test_describe_turns_codes_into_text() -> None:
    assert af.FEATURES_BY_NAME["med_insulin"].describe(2) == "Up"
    assert af.FEATURES_BY_NAME["age"].describe(7.0) == "[70-80)"
    assert af.FEATURES_BY_NAME["weight"].describe(float("nan")) == "Missing"
    assert af.FEATURES_BY_NAME["number_inpatient"].describe(3.0) == "3"
    assert af.FEATURES_BY_NAME["prev_gap"].describe(float("nan")) == "no earlier encounter"
    assert af.FEATURES_BY_NAME["prev_prev_gap"].describe(2066796.0) == "2066796"


# --- the step ---------------------------------------------------------------------------------------------------


def _validated_input(tmp_path: Path, frame: pd.DataFrame):
    ctx = make_ctx(tmp_path, "AdherenceFeatures")
    folder = ctx.input_dir("validated")
    folder.mkdir(parents=True)
    frame.to_csv(folder / "validated.csv", index=False, na_rep="?")
    return ctx


def test_run_writes_features_and_schema(tmp_path: Path, validated_sample: pd.DataFrame) -> None:
    ctx = _validated_input(tmp_path, validated_sample)
    metrics = run(ctx)
    assert metrics["rows"] == len(validated_sample)
    table = pd.read_csv(ctx.output_dir("features") / FEATURES_FILE)
    assert list(table.columns) == ["encounter_id", "patient_nbr", "label", *af.FEATURE_NAMES]
    assert (ctx.output_dir("features") / SCHEMA_FILE).is_file()


def test_run_names_a_missing_column_and_the_file(tmp_path: Path, validated_sample: pd.DataFrame) -> None:
    ctx = _validated_input(tmp_path, validated_sample.drop(columns=["diag_2"]))
    with pytest.raises(ContractError, match=r"validated\.csv: missing required column\(s\) 'diag_2'"):
        run(ctx)


def test_run_refuses_a_wrongly_typed_validated_file(tmp_path: Path, validated_sample: pd.DataFrame) -> None:
    frame = validated_sample.head(5).astype(object)
    frame.loc[2, "num_procedures"] = "seven"
    ctx = _validated_input(tmp_path, frame)
    with pytest.raises(StepError, match=r"cannot read .*validated\.csv"):
        run(ctx)
