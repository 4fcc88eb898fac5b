"""``mlops runs list`` / ``mlops runs compare``: local experiment tracking read from run manifests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline_code.cli.runs import UNKNOWN, RunReadError, read_run
from tests.cli.cli_helpers import flat, invoke


@pytest.fixture
def two_runs(project: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two toy runs under runs/: the second with another parameter and other data."""
    first = invoke(project, "run", "toy", "--out", str(project / "runs" / "toy-a"), "--no-cache")
    assert first.exit_code == 0, first.output
    config = tmp_path / "params.yaml"
    config.write_text("ToyIngest:\n  scale: 2.0\n", encoding="utf-8")
    data = tmp_path / "other.csv"
    data.write_text("x,y\n1,2\n2,4\n3,6.5\n4,8\n5,10.2\n6,12\n7,13.9\n8,16\n", encoding="utf-8")
    second = invoke(project, "run", "toy", "--out", str(project / "runs" / "toy-b"), "--no-cache",
                    "--config", str(config), "--data", str(data))  # fmt: skip
    assert second.exit_code == 0, second.output
    return project / "runs" / "toy-a", project / "runs" / "toy-b"


def test_list_shows_every_run_with_hashes(project: Path, two_runs) -> None:
    result = invoke(project, "runs", "list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [r["run"] for r in listed["runs"]] == ["toy-a", "toy-b"]
    a, b = listed["runs"]
    assert a["status"] == b["status"] == "succeeded"
    assert a["code_hash"] == b["code_hash"] != UNKNOWN  # same code
    assert a["data_hash"] != b["data_hash"]  # other data
    assert a["parameters"]["ToyIngest.scale"] == 1.0 and b["parameters"]["ToyIngest.scale"] == 2.0
    table = invoke(project, "runs", "list", "--metric", "ToyEvaluate.rmse")
    assert table.exit_code == 0 and "toy-a" in table.output and "rmse" in flat(table.output)


def test_compare_shows_changed_parameters_metric_deltas_and_hashes(project: Path, two_runs) -> None:
    result = invoke(project, "runs", "compare", "toy-a", "toy-b", "--json")
    assert result.exit_code == 0, result.output
    comparison = json.loads(result.stdout)
    changed = [r["name"] for r in comparison["parameters"] if r["changed"]]
    assert changed == ["ToyIngest.scale"]
    assert comparison["same_code"] is True and comparison["same_data"] is False
    numeric = [r for r in comparison["metrics"] if r["delta"] is not None]
    assert numeric and all(r["delta"] == pytest.approx(r["b"] - r["a"]) for r in numeric)
    text = invoke(project, "runs", "compare", "toy-a", str(two_runs[1]))
    assert text.exit_code == 0
    assert "ToyIngest.scale" in text.output and "data: DIFFERENT" in text.output and "code: same" in text.output


def test_latest_names_the_newest_run(project: Path) -> None:
    assert invoke(project, "run", "toy", "--no-cache").exit_code == 0
    assert invoke(project, "run", "toy", "--no-cache").exit_code == 0
    result = invoke(project, "runs", "compare", "latest", "latest", "--json")
    assert result.exit_code == 0, result.output
    assert not any(r["changed"] for r in json.loads(result.stdout)["metrics"])


def test_unknown_run_is_a_usage_error_naming_it(project: Path, two_runs) -> None:
    result = invoke(project, "runs", "compare", "toy-a", "no-such-run")
    assert result.exit_code == 2 and "no-such-run" in flat(result.output)


def test_a_broken_manifest_is_reported_not_dropped(project: Path, two_runs) -> None:
    broken = project / "runs" / "toy-c"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json", encoding="utf-8")
    result = invoke(project, "runs", "list", "--json")
    assert result.exit_code == 0
    listed = json.loads(result.stdout)
    assert len(listed["runs"]) == 2 and "toy-c" in listed["skipped"][0]
    compare = invoke(project, "runs", "compare", "toy-a", "toy-c")
    assert compare.exit_code == 2 and "unreadable manifest" in flat(compare.output)
    with pytest.raises(RunReadError, match="not a run directory"):
        read_run(project)


def test_no_runs_yet(project: Path) -> None:
    result = invoke(project, "runs", "list")
    assert result.exit_code == 0 and "No runs" in result.output
    assert invoke(project, "runs", "list", "--runs-dir", str(project / "nope")).exit_code == 2
