"""The drift check: identical data never drifts, the score grows with the shift, each check fires on its shift,
and ``mlops drift`` exits 0 / 1 / 2 with clear messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from typer.testing import CliRunner

from pipeline_code.adherence import drift as adapter
from pipeline_code.adherence.baseline.main import monitored_columns
from pipeline_code.cli import create_app
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.drift.baseline import Thresholds, build_drift_baseline
from pipeline_code.common.drift.check import (
    COMPLETENESS_CHECK,
    DRIFT_CHECK,
    TYPE_CHECK,
    VALUES_CHECK,
    chi_square_quantile,
    drift_score,
    encode,
    evaluate,
    psi,
)
from tests.adherence.helpers import PipelineRun, write_raw

THRESHOLDS = Thresholds()
CONTRACT = {"name": contract.CONTRACT_NAME, "version": contract.CONTRACT_VERSION}
_SETTINGS = hsettings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _baseline(frame: pd.DataFrame) -> dict:
    return build_drift_baseline(frame, monitored_columns(), contract=CONTRACT, thresholds=THRESHOLDS)


def _check(baseline: dict, frame: pd.DataFrame, thresholds: Thresholds = THRESHOLDS) -> dict:
    return evaluate(baseline, encode(baseline, frame, adapter.COLUMNS), thresholds)


@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(20, 600))
@_SETTINGS
def test_identical_data_never_drifts(raw_sample: pd.DataFrame, seed: int, rows: int) -> None:
    frame = raw_sample.sample(n=rows, random_state=seed).reset_index(drop=True)
    report = _check(_baseline(frame), frame)
    assert not report["drift"], report["violations"]
    assert drift_score(report) == pytest.approx(0.0, abs=1e-12)


@given(seed=st.integers(0, 2**32 - 1), steps=st.lists(st.integers(0, 400), min_size=2, max_size=5))
@_SETTINGS
def test_the_drift_score_grows_with_the_size_of_the_shift(raw_sample: pd.DataFrame, seed: int, steps) -> None:
    frame = raw_sample.sample(n=1500, random_state=seed).reset_index(drop=True)
    baseline = _baseline(frame)
    steady = np.flatnonzero((frame["insulin"] == "Steady").to_numpy())
    scores = []
    for k in sorted(steps):
        shifted = frame.copy()
        shifted.loc[steady[: min(k, steady.size)], "insulin"] = contract.MEDICATION_NOT_TAKEN
        scores.append(drift_score(_check(baseline, shifted)))
    assert scores == sorted(scores)
    assert scores[0] >= 0


def test_psi_is_zero_for_equal_shares_and_positive_otherwise() -> None:
    assert psi([0.5, 0.5], np.array([50, 50]), baseline_rows=100) == pytest.approx(0.0)
    assert psi([0.5, 0.5], np.array([90, 10]), baseline_rows=100) > 0.3


def test_the_chi_square_quantile_is_close_to_the_exact_one() -> None:
    from scipy.stats import chi2

    for df in (1, 3, 10, 40):
        for p in (0.99, 0.9999):
            exact = chi2.ppf(p, df)
            assert exact * 0.99 <= chi_square_quantile(p, df) <= exact * 1.08  # on the conservative side


@pytest.fixture(scope="module")
def held_out(raw_sample: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """A baseline of 2,000 rows drawn from the sample and the other 1,000 as an unshifted batch (drawn at random:
    the file is in time order, and its first rows code admissions differently from later ones)."""
    shuffled = raw_sample.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return _baseline(shuffled.iloc[:2000].reset_index(drop=True)), shuffled.iloc[2000:].reset_index(drop=True)


def _failed(report: dict) -> set[tuple[str, str]]:
    return {(v["feature_name"], v["constraint_check_type"]) for v in report["violations"]}


def test_each_check_fires_on_its_own_shift(held_out) -> None:
    baseline, batch = held_out
    assert not _check(baseline, batch)["drift"]
    dropped = batch.assign(insulin="No")
    assert ("insulin", DRIFT_CHECK) in _failed(_check(baseline, dropped))
    holes = batch.copy()
    holes.loc[::5, "num_medications"] = np.nan
    assert ("num_medications", COMPLETENESS_CHECK) in _failed(_check(baseline, holes))
    typed = batch.copy()
    typed.loc[::20, "num_lab_procedures"] = "many"
    report = _check(baseline, typed)
    assert ("num_lab_procedures", TYPE_CHECK) in _failed(report)
    assert next(f for f in report["features"] if f["name"] == "num_lab_procedures")["examples"] == ["many"]
    unseen = batch.copy()
    unseen.loc[::10, "medical_specialty"] = "Telehealth"
    assert ("medical_specialty", VALUES_CHECK) in _failed(_check(baseline, unseen))
    closed = batch.copy()
    closed.loc[::10, "payer_code"] = "ZZ"  # not a level of the contract: never seen either
    assert ("payer_code", VALUES_CHECK) in _failed(_check(baseline, closed))


def test_thresholds_reject_unknown_names_and_bad_values() -> None:
    with pytest.raises(ValueError, match="unknown drift threshold"):
        Thresholds.from_mapping({"psy": 0.1}, where="config")
    with pytest.raises(ValueError, match="psi"):
        Thresholds.from_mapping({"psi": "-0.1"}, where="config")
    with pytest.raises(ValueError, match="significance"):
        Thresholds(significance=1.5)


# --- the command -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(pipeline: PipelineRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run directory as `mlops run adherence` publishes it: baseline/ and model/."""
    root = tmp_path_factory.mktemp("drift-run")
    shutil.copytree(pipeline.output("baseline", "baseline"), root / "baseline")
    shutil.copytree(pipeline.contexts["train"].model_dir, root / "model")
    return root


def _drift(*args: str):
    return CliRunner(env={"COLUMNS": "400", "NO_COLOR": "1"}).invoke(create_app(), ["drift", *args])


def test_the_command_exits_0_without_drift_and_1_with_it(run_dir: Path, raw_sample, tmp_path: Path) -> None:
    batch = raw_sample.sample(n=1500, random_state=1)  # the pipeline's splits are random too
    calm = write_raw(batch, tmp_path / "calm.csv")
    result = _drift("--baseline", str(run_dir), "--data", str(calm), "--report", str(tmp_path / "calm.json"))
    assert result.exit_code == 0, result.output
    assert "no drift" in result.output and "prediction: PSI" in result.output
    report = json.loads((tmp_path / "calm.json").read_text())
    assert report["drift"] is False and report["prediction"]["rows_scored"] > 0
    shifted = write_raw(batch.assign(insulin="No"), tmp_path / "shifted.csv")
    result = _drift(
        "--baseline", str(run_dir / "baseline"), "--data", str(shifted), "--report", str(tmp_path / "s.json")
    )
    assert result.exit_code == 1, result.output
    assert "DRIFT" in result.output and "insulin" in result.output
    report = json.loads((tmp_path / "s.json").read_text())
    assert {"feature_name": "insulin", "constraint_check_type": DRIFT_CHECK} in [
        {k: v[k] for k in ("feature_name", "constraint_check_type")} for v in report["violations"]
    ]


def test_a_threshold_override_changes_the_verdict(run_dir: Path, raw_sample, tmp_path: Path) -> None:
    shifted = write_raw(raw_sample.sample(n=1500, random_state=1).assign(insulin="No"), tmp_path / "shifted.csv")
    result = _drift("--baseline", str(run_dir), "--data", str(shifted), "--no-score", "--threshold", "psi=9")
    assert result.exit_code == 0, result.output


BAD_FILES = {
    "empty": (b"", "is empty"),
    "header only": (b"encounter_id,patient_nbr\n", "no rows"),
    "not csv": (bytes(range(256)) * 4, "--data"),
    "gzip garbage": (b"\x1f\x8b\x08\x00garbage", "--data"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_csvs_exit_2_with_a_clear_message(run_dir: Path, tmp_path: Path, case: str) -> None:
    content, expected = BAD_FILES[case]
    path = tmp_path / ("bad.csv.gz" if "gzip" in case else "bad.csv")
    path.write_bytes(content)
    result = _drift("--baseline", str(run_dir), "--data", str(path))
    assert result.exit_code == 2, result.output
    assert expected in result.output and "Traceback" not in result.output


@given(dropped=st.sets(st.sampled_from([c.name for c in monitored_columns()]), min_size=1, max_size=6))
@hsettings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_csv_without_some_contract_columns_exits_2_naming_one(run_dir: Path, raw_sample, tmp_path, dropped) -> None:
    path = write_raw(raw_sample.iloc[:50].drop(columns=sorted(dropped)), tmp_path / "partial.csv")
    result = _drift("--baseline", str(run_dir), "--data", str(path), "--no-score")
    assert result.exit_code == 2, result.output
    assert "lacks column(s)" in result.output
    assert any(name in result.output for name in dropped)


def test_a_folder_without_a_baseline_exits_2(tmp_path: Path, raw_sample) -> None:
    data = write_raw(raw_sample.iloc[:10], tmp_path / "rows.csv")
    result = _drift("--baseline", str(tmp_path), "--data", str(data))
    assert result.exit_code == 2 and "drift_baseline.json" in result.output
    result = _drift("--baseline", str(tmp_path / "nowhere"), "--data", str(data))
    assert result.exit_code == 2 and "does not exist" in result.output


@given(content=st.binary(max_size=300), gz=st.booleans())
@hsettings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_bytes_that_are_not_the_raw_format_exit_2_with_one_message(run_dir: Path, tmp_path, content, gz) -> None:
    path = tmp_path / ("junk.csv.gz" if gz else "junk.csv")
    path.write_bytes(content)
    result = _drift("--baseline", str(run_dir), "--data", str(path), "--no-score")
    assert result.exit_code == 2, result.output
    assert "--data" in result.output and "Traceback" not in result.output
