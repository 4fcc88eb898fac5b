"""Predict step and batch prediction: probabilities, confidence, risk factors, per-brand predictions, errors."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from pipeline_code.adherence.predict.explain import confidence, counterfactual_discontinued, predict_table
from pipeline_code.adherence.predict.main import CSV_FILE, JSONL_FILE, predict_file
from pipeline_code.common import adherence_features as af
from pipeline_code.common.context import StepError
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.model_bundle import META_FILE, MODEL_FILE, ModelBundle, load_bundle
from tests.adherence.helpers import PipelineRun, encounter_frames, write_raw


@pytest.fixture(scope="module")
def bundle(model_dir: Path) -> ModelBundle:
    return load_bundle(model_dir)


@pytest.fixture(scope="module")
def sample_features(validated_sample: pd.DataFrame) -> pd.DataFrame:
    return af.build_features(validated_sample.head(300))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frame=encounter_frames(max_rows=8, label=False))
def test_probabilities_and_confidence_are_in_0_1(bundle: ModelBundle, frame: pd.DataFrame) -> None:
    result = contract.validate(frame, source="synthetic", require_target=False)
    assert result.rows_rejected == 0
    predictions = predict_table(bundle, af.build_features(result.accepted))
    assert predictions.table["probability"].between(0.0, 1.0).all()
    assert predictions.table["confidence"].between(0.0, 1.0).all()
    for record in predictions.records:
        assert 0.0 <= record["probability"] <= 1.0
        for brand in record["brands"]:
            assert 0.0 <= brand["probability_if_discontinued"] <= 1.0


def test_confidence_is_zero_at_the_threshold_and_one_at_the_ends() -> None:
    values = confidence(np.array([0.2, 0.0, 1.0, 0.6, 0.1]), 0.2)
    np.testing.assert_allclose(values, [0.0, 1.0, 1.0, 0.5, 0.5])


def test_brands_cover_exactly_the_medications_taken(bundle: ModelBundle, sample_features: pd.DataFrame) -> None:
    predictions = predict_table(bundle, sample_features)
    for row, record in zip(sample_features.itertuples(index=False), predictions.records, strict=True):
        taken = {m for m, f in af.MED_FEATURES.items() if getattr(row, f) != af.NOT_TAKEN_CODE}
        assert {b["medication"] for b in record["brands"]} == taken
        for brand in record["brands"]:
            assert brand["status"] in ("Steady", "Up", "Down")
            assert brand["delta"] == brand["probability"] - brand["probability_if_discontinued"]
            assert brand["probability"] == record["probability"]
    assert any(not r["brands"] for r in predictions.records)  # patients on no diabetes drug have no entries


def test_the_counterfactual_is_the_same_encounter_with_the_drug_discontinued(
    bundle: ModelBundle, validated_sample: pd.DataFrame
) -> None:
    frame = validated_sample.head(40).copy()
    frame = frame[frame["insulin"] != "No"].head(5)
    assert len(frame)
    predictions = predict_table(bundle, af.build_features(frame))
    # Build the counterfactual from the raw side: insulin "No", everything else as recorded.
    discontinued = frame.assign(insulin="No")
    expected = bundle.predict_proba(af.build_features(discontinued))
    got = [next(b for b in r["brands"] if b["medication"] == "insulin") for r in predictions.records]
    np.testing.assert_allclose([b["probability_if_discontinued"] for b in got], expected, rtol=0, atol=1e-12)
    table = af.build_features(frame)
    edited = counterfactual_discontinued(table, "insulin")
    assert (edited["n_meds_taken"] == table["n_meds_taken"] - 1).all()


def test_risk_factors_are_the_top_contributions(bundle: ModelBundle, sample_features: pd.DataFrame) -> None:
    predictions = predict_table(bundle, sample_features, top=5)
    contributions = bundle.contributions(sample_features)
    # SHAP contributions plus the bias add up to the log-odds of the prediction.
    p = predictions.table["probability"].to_numpy()
    np.testing.assert_allclose(contributions.sum(axis=1), np.log(p / (1 - p)), atol=1e-6)
    for row, record in enumerate(predictions.records[:50]):
        factors = record["risk_factors"]
        assert len(factors) == 5
        values = [f["contribution"] for f in factors]
        assert values == sorted(values, reverse=True)
        assert values[0] == pytest.approx(contributions[row, :-1].max())
        assert all(f["feature"] in af.FEATURE_NAMES and f["label"] and f["value"] for f in factors)


def test_the_step_writes_csv_and_jsonl(pipeline: PipelineRun) -> None:
    out = pipeline.output("predict", "predictions")
    table = pd.read_csv(out / CSV_FILE)
    assert list(table.columns[:4]) == ["encounter_id", "patient_nbr", "label", "probability"]
    test = pd.read_csv(pipeline.output("split", "test") / "test.csv")
    assert table["encounter_id"].tolist() == test["encounter_id"].tolist()
    lines = (out / JSONL_FILE).read_text().splitlines()
    assert len(lines) == len(table)
    first = json.loads(lines[0])
    assert set(first) >= {"encounter_id", "probability", "confidence", "risk_factors", "brands", "threshold"}


# --- batch prediction -------------------------------------------------------------------------------------------


def test_predict_file_reports_rejects_and_works_without_label(
    tmp_path: Path, model_dir: Path, raw_sample: pd.DataFrame
) -> None:
    raw = raw_sample.head(30).drop(columns=["readmitted"]).copy()
    raw.loc[4, "age"] = "[200-210)"
    source = write_raw(raw, tmp_path / "in" / "batch.csv")
    result = predict_file(model_dir, source, tmp_path / "out" / "predictions.jsonl")
    assert (result["rows_in"], result["rows_predicted"], result["rows_rejected"]) == (30, 29, 1)
    records = [json.loads(x) for x in Path(result["output"]).read_text().splitlines()]
    assert len(records) == 29 and "label" not in records[0]
    rejects = pd.read_csv(result["rejects"])
    assert rejects["reject_reason"].tolist() == ["age: unknown level ('[200-210)')"]
    assert str(raw.loc[4, "encounter_id"]) == str(rejects.loc[0, "encounter_id"])


def test_predict_file_accepts_a_folder_and_a_model_archive(tmp_path: Path, model_dir: Path, sample_file: Path) -> None:
    archive_dir = tmp_path / "artefact"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / "model.tar.gz", "w:gz") as tar:
        for path in model_dir.iterdir():
            tar.add(path, arcname=path.name)
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(sample_file, folder / "all.csv")
    result = predict_file(archive_dir, folder, tmp_path / "p.jsonl")
    assert result["rows_predicted"] == result["rows_in"] and result["rejects"] is None


def test_predict_file_with_a_missing_model_dir(tmp_path: Path, sample_file: Path) -> None:
    with pytest.raises(StepError, match=r"predict_file: model: model folder .*nowhere does not exist"):
        predict_file(tmp_path / "nowhere", sample_file, tmp_path / "p.jsonl")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / MODEL_FILE).write_text("garbage"), r"model\.txt is not a readable LightGBM model"),
        (lambda d: (d / MODEL_FILE).unlink(), r"model file .*model\.txt does not exist"),
        (lambda d: (d / META_FILE).write_text("{not json"), r"model_meta\.json is not valid JSON"),
        (lambda d: (d / META_FILE).unlink(), r"model metadata: file .*model_meta\.json does not exist"),
        (
            lambda d: (d / META_FILE).write_text(
                json.dumps({**json.loads((d / META_FILE).read_text()), "features": ["a", "b"]})
            ),
            "mixes files of different models",
        ),
    ],
)
def test_predict_file_with_a_broken_model(tmp_path: Path, model_dir: Path, sample_file: Path, damage, message) -> None:
    broken = shutil.copytree(model_dir, tmp_path / "model")
    damage(broken)
    with pytest.raises(StepError, match=message):
        predict_file(broken, sample_file, tmp_path / "p.jsonl")


def test_predict_file_with_a_missing_input(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(StepError, match=r"predict_file: input: .*absent\.csv does not exist"):
        predict_file(model_dir, tmp_path / "absent.csv", tmp_path / "p.jsonl")


def test_predict_file_with_a_missing_column(tmp_path: Path, model_dir: Path, raw_sample: pd.DataFrame) -> None:
    source = write_raw(raw_sample.head(5).drop(columns=["insulin"]), tmp_path / "b.csv")
    with pytest.raises(StepError, match=r"b\.csv: missing required column\(s\) 'insulin'"):
        predict_file(model_dir, source, tmp_path / "p.jsonl")
