"""The baseline step's files (Model Monitor's formats, from the contract) and the evaluate step's bias report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline_code.adherence.baseline.main import monitored_columns, thresholds_from
from pipeline_code.adherence.baseline.params import DEFAULTS
from pipeline_code.adherence.evaluate.bias import GAP_METRICS
from pipeline_code.common.adherence_facets import FACETS
from pipeline_code.common.context import StepError
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.common.contracts.schema import Kind
from tests.adherence.helpers import PipelineRun, make_ctx

MODEL_MONITOR_TYPES = {"Integral", "Fractional", "String", "Unknown"}


def _load(folder: Path, *parts: str) -> Any:
    return json.loads(folder.joinpath(*parts).read_text())


@pytest.fixture(scope="module")
def baseline(pipeline: PipelineRun) -> Path:
    return pipeline.output("baseline", "baseline")


def test_data_quality_statistics_have_the_fields_model_monitor_reads(baseline: Path, pipeline: PipelineRun) -> None:
    stats = _load(baseline, "data_quality", "statistics.json")
    assert stats["version"] == 0.0
    train_rows = pipeline.results["split"]["train_rows"]
    assert stats["dataset"]["item_count"] == train_rows == pipeline.results["baseline"]["train_rows"]
    assert [f["name"] for f in stats["features"]] == [c.name for c in monitored_columns()]
    for feature in stats["features"]:
        assert feature["inferred_type"] in MODEL_MONITOR_TYPES
        if feature["inferred_type"] == "Integral":
            numbers = feature["numerical_statistics"]
            common = numbers["common"]
            assert common["num_present"] + common["num_missing"] == train_rows
            assert numbers["min"] <= numbers["mean"] <= numbers["max"]
            buckets = numbers["distribution"]["kll"]["buckets"]
            assert sum(b["count"] for b in buckets) == common["num_present"]
            assert all(b["lower_bound"] <= b["upper_bound"] for b in buckets)
            assert numbers["distribution"]["kll"]["sketch"]["parameters"] == {"c": 0.64, "k": 2048.0}
        else:
            strings = feature["string_statistics"]
            common = strings["common"]
            assert common["num_present"] + common["num_missing"] == train_rows
            buckets = strings["distribution"]["categorical"]["buckets"]
            assert sum(b["count"] for b in buckets) == common["num_present"]
            assert strings["distinct_count"] == len(buckets)


def test_data_quality_constraints_come_from_the_contract(baseline: Path) -> None:
    constraints = _load(baseline, "data_quality", "constraints.json")
    assert constraints["version"] == 0.0
    by_name = {f["name"]: f for f in constraints["features"]}
    assert list(by_name) == [c.name for c in monitored_columns()]
    assert "encounter_id" not in by_name and contract.TARGET_COLUMN not in by_name
    for col in monitored_columns():
        entry = by_name[col.name]
        assert 0.0 <= entry["completeness"] <= 1.0
        assert entry["inferred_type"] == ("Integral" if col.kind is Kind.INTEGER else "String")
        if not col.nullable:
            assert entry["completeness"] == 1.0
        if col.kind is Kind.CATEGORY:
            assert entry["string_constraints"]["domains"] == list(col.levels)
        if col.kind is Kind.INTEGER and (col.min_value or 0) >= 0:
            assert entry["num_constraints"] == {"is_non_negative": True}
    config = constraints["monitoring_config"]
    assert config["evaluate_constraints"] == "Enabled" and config["emit_metrics"] == "Enabled"
    distribution = config["distribution_constraints"]
    assert distribution["perform_comparison"] == "Enabled"
    assert distribution["comparison_method"] in ("Robust", "Simple")
    assert distribution["comparison_threshold"] == DEFAULTS["model_monitor_distance_threshold"]


def test_model_quality_baseline_is_the_validation_split_at_the_threshold(baseline: Path, pipeline) -> None:
    stats = _load(baseline, "model_quality", "statistics.json")
    found = stats["binary_classification_metrics"]
    matrix = found["confusion_matrix"]
    rows = sum(matrix[a][b] for a in "01" for b in "01")
    assert rows == stats["dataset"]["item_count"] == pipeline.results["split"]["validation_rows"]
    metrics = json.loads((pipeline.output("evaluate", "evaluation") / "metrics.json").read_text())["validation"]
    assert found["auc"]["value"] == pytest.approx(metrics["roc_auc"], abs=1e-6)
    assert found["recall"]["value"] == pytest.approx(metrics["recall"], abs=1e-6)
    for name in ("precision", "accuracy", "f0_5", "f1", "f2", "true_positive_rate", "false_positive_rate"):
        assert 0.0 <= found[name]["value"] <= 1.0 and "standard_deviation" in found[name]
    constraints = _load(baseline, "model_quality", "constraints.json")["binary_classification_constraints"]
    for name, rule in constraints.items():
        assert rule["comparison_operator"] == "LessThanThreshold"
        assert rule["threshold"] == pytest.approx(
            max(0.0, found[name]["value"] - DEFAULTS["quality_tolerance"]), abs=1e-6
        )


def test_bias_analysis_config_names_the_facets_and_the_models_threshold(baseline: Path, model_dir: Path) -> None:
    config = _load(baseline, "bias", "analysis_config.json")
    meta = json.loads((model_dir / "model_meta.json").read_text())
    assert config["probability_threshold"] == pytest.approx(meta["threshold"])
    assert [f["name_or_index"] for f in config["facet"]] == ["race", "gender", "age"]
    assert config["label_values_or_threshold"] == [1]
    assert "post_training_bias" in config["methods"]


def test_the_drift_baseline_carries_the_thresholds_of_the_step(baseline: Path) -> None:
    document = _load(baseline, "drift_baseline.json")
    assert document["thresholds"] == thresholds_from(DEFAULTS).as_dict()
    assert document["contract"] == {"name": contract.CONTRACT_NAME, "version": contract.CONTRACT_VERSION}
    for entry in document["columns"]:
        assert sum(entry["expected"]) == pytest.approx(1.0)
    assert sum(document["prediction"]["expected"]) == pytest.approx(1.0)


def test_a_bad_threshold_fails_the_step_naming_it(pipeline: PipelineRun, tmp_path: Path) -> None:
    from pipeline_code.adherence.baseline.main import run

    ctx = make_ctx(tmp_path, "AdherenceBaseline", psi_threshold=-1)
    with pytest.raises(StepError, match="psi=-1"):
        run(ctx)


def test_bias_report_has_every_facet_group_and_the_largest_gaps(pipeline: PipelineRun) -> None:
    report = json.loads((pipeline.output("evaluate", "evaluation") / "bias_report.json").read_text())
    assert set(report["facets"]) == set(FACETS)
    test_rows = pipeline.results["split"]["test_rows"]
    for facet in report["facets"].values():
        groups = facet["groups"]
        assert sum(g["rows"] for g in groups.values()) == test_rows
        for figures in groups.values():
            assert 0.0 <= figures["positive_rate"] <= 1.0
            assert figures["measured"] == (figures["rows"] >= report["min_group_rows"])
        for metric in GAP_METRICS:
            measured = [g[metric] for g in groups.values() if g["measured"] and g[metric] is not None]
            gap = facet["largest_gap"][metric]
            if len(measured) >= 2:
                assert gap["gap"] == pytest.approx(max(measured) - min(measured), abs=1e-5)
            else:
                assert gap is None
    assert set(report["facets"]["gender"]["groups"]) <= {"Female", "Male", "Unknown/Invalid"}


def test_the_record_preprocessor_turns_a_request_into_baseline_rows(raw_sample) -> None:
    import base64
    from types import SimpleNamespace

    from pipeline_code.adherence.baseline import record_preprocessor as pre

    assert tuple(c.name for c in monitored_columns()) == pre.COLUMNS  # written out in the script: kept in step
    body = raw_sample.head(3).drop(columns=["readmitted"]).to_csv(index=False, na_rep="?")

    def record(data: str, encoding: str = "CSV", content_type: str = "text/csv") -> SimpleNamespace:
        return SimpleNamespace(
            endpoint_input=SimpleNamespace(data=data, encoding=encoding, observed_content_type=content_type)
        )

    rows = pre.preprocess_handler(record(body))
    assert len(rows) == 3 and all(list(row) == list(pre.COLUMNS) for row in rows)
    assert rows[0]["age"] == raw_sample.loc[0, "age"]
    assert rows[0]["weight"] is None  # '?' in the file: missing, as in the baseline's statistics
    assert rows[0]["num_lab_procedures"] == int(raw_sample.loc[0, "num_lab_procedures"])  # Integral as a number
    integral = {c.name for c in monitored_columns() if c.kind is Kind.INTEGER}
    assert integral == pre.INTEGER_COLUMNS
    encoded = base64.b64encode(body.encode()).decode()
    assert pre.preprocess_handler(record(encoded, "BASE64")) == rows
    assert pre.preprocess_handler(record("{}", "JSON", "application/json")) == []


def test_the_record_preprocessor_imports_only_the_standard_library() -> None:
    from pathlib import Path

    import pipeline_code.adherence.baseline.record_preprocessor as module

    source = Path(module.__file__).read_text()
    imports = {line.split()[1] for line in source.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "base64", "csv", "io", "typing"}, imports
