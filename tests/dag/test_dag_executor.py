"""Local executor on the toy pipeline: container layout, wiring, isolation, caching, manifest, failure, publish."""

from __future__ import annotations

import io
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from pipeline_code.dag import assemble
from pipeline_code.dag.cache import StepCache
from pipeline_code.dag.hashing import sha256_file
from pipeline_code.dag.local import ExecutorError, LocalExecutor, RunResult, _normalise_metrics
from pipeline_code.dag.manifest import RunStatus, StepStatus
from pipeline_code.dag.progress import ConsoleProgress
from pipeline_code.dag.spec import PipelineDefinition, PublishedArtifact
from tests.dag.toy_steps.pipeline import make_definition

TOY_STEPS = Path(__file__).resolve().parent / "toy_steps"


def run_toy(
    tmp_path: Path,
    raw: Path,
    *,
    run: str = "run",
    overrides: dict[str, dict[str, Any]] | None = None,
    cache: bool = True,
    definition: PipelineDefinition | None = None,
    progress: ConsoleProgress | None = None,
) -> RunResult:
    plan = assemble(definition or make_definition(), overrides)
    executor = LocalExecutor(
        plan,
        run_dir=tmp_path / run,
        external_inputs={"raw_data": raw},
        cache=StepCache(tmp_path / "cache") if cache else None,
        progress=progress,
    )
    return executor.run()


def statuses(result: RunResult) -> dict[str, str]:
    return {record.step: record.status.value for record in result.manifest.steps}


def test_container_layout_and_wiring(tmp_path: Path, raw_csv: Path) -> None:
    result = run_toy(tmp_path, raw_csv)
    assert result.succeeded, result.error
    steps = result.run_dir / "steps"
    ingest = steps / "ToyIngest" / "opt" / "ml"
    assert (ingest / "processing" / "input" / "raw_data" / "data.csv").read_text() == raw_csv.read_text()
    clean = ingest / "processing" / "output" / "clean" / "data.csv"
    # Processing inputs under processing/input/<name>; training channels under input/data/<name>, model under model/.
    split_input = steps / "ToySplit" / "opt" / "ml" / "processing" / "input" / "clean_data" / "data.csv"
    assert split_input.read_bytes() == clean.read_bytes()
    train = steps / "ToyTrain" / "opt" / "ml"
    assert (train / "input" / "data" / "train" / "data.csv").is_file()
    assert (train / "model" / "model.json").is_file()
    evaluate = steps / "ToyEvaluate" / "opt" / "ml" / "processing"
    assert (evaluate / "input" / "model" / "model.json").read_bytes() == (train / "model" / "model.json").read_bytes()
    assert json.loads((evaluate / "output" / "evaluation" / "metrics.json").read_text())["n_test"] == 2


def test_publish_copies_artefacts_to_the_run_dir(tmp_path: Path, raw_csv: Path) -> None:
    result = run_toy(tmp_path, raw_csv)
    metrics = result.run_dir / "metrics.json"
    assert json.loads(metrics.read_text()) == result.manifest.step("ToyEvaluate").metrics
    assert (result.run_dir / "model" / "model.json").is_file()
    published = json.loads(result.manifest_path.read_text())["published"]
    assert published["metrics.json"]["files"][0]["sha256"] == sha256_file(metrics)
    assert published["model"]["files"][0]["path"] == "model.json"


def test_a_step_cannot_corrupt_upstream_artefacts(tmp_path: Path, raw_csv: Path) -> None:
    result = run_toy(tmp_path, raw_csv, overrides={"ToySplit": {"tamper": True}})
    assert result.succeeded, result.error
    clean = result.run_dir / "steps" / "ToyIngest" / "opt" / "ml" / "processing" / "output" / "clean" / "data.csv"
    recorded = result.manifest.step("ToyIngest").outputs["clean"][0]
    assert sha256_file(clean) == recorded.sha256
    assert result.manifest.step("ToyProfile").metrics["rows"] == 8
    assert raw_csv.read_text().count("\n") == 9


def test_manifest_records_lineage_with_matching_hashes(tmp_path: Path, raw_csv: Path) -> None:
    result = run_toy(tmp_path, raw_csv, overrides={"ToyTrain": {"bias": 0.25}})
    data = json.loads(result.manifest_path.read_text())
    assert data["schema_version"] == 1
    assert data["pipeline"] == "toy" and data["status"] == "succeeded" and data["error"] is None
    assert data["order"] == ["ToyIngest", "ToyProfile", "ToySplit", "ToyTrain", "ToyEvaluate"]
    assert data["started_at"].endswith("Z") and data["finished_at"].endswith("Z") and data["duration_s"] >= 0
    assert data["external_inputs"]["raw_data"]["files"][0]["sha256"] == sha256_file(raw_csv)
    checked = 0
    for step in data["steps"]:
        assert step["status"] == "succeeded"
        assert step["started_at"] and step["finished_at"] and step["duration_s"] >= 0
        assert len(step["cache_key"]) == 64
        root = result.run_dir / "steps" / step["step"] / "opt" / "ml"
        for name, record in step["inputs"].items():
            folder = root / ("processing/input" if step["job_type"] == "processing" else "input/data") / name
            for file in record["files"]:
                assert sha256_file(folder / file["path"]) == file["sha256"]
                assert (folder / file["path"]).stat().st_size == file["size"]
                checked += 1
        for name, record in step["outputs"].items():
            folder = root / "model" if name == "model" else root / "processing" / "output" / name
            assert record["files"], f"{step['step']}.{name} is empty"
            for file in record["files"]:
                assert sha256_file(folder / file["path"]) == file["sha256"]
                checked += 1
    assert checked >= 12
    train = next(s for s in data["steps"] if s["step"] == "ToyTrain")
    assert train["parameters"] == {"bias": 0.25, "fail": False}
    assert train["inputs"]["train"]["binding"] == {"kind": "step_output", "step": "ToySplit", "output": "train"}
    assert set(train["metrics"]) == {"slope", "n_train"}


def test_second_run_is_served_from_the_cache(tmp_path: Path, raw_csv: Path) -> None:
    first = run_toy(tmp_path, raw_csv, run="first")
    second = run_toy(tmp_path, raw_csv, run="second")
    assert set(statuses(second).values()) == {"cached"}
    assert second.succeeded
    for a, b in zip(first.manifest.steps, second.manifest.steps, strict=True):
        assert a.cache_key == b.cache_key and a.metrics == b.metrics and a.outputs == b.outputs
    model = Path("steps/ToyTrain/opt/ml/model/model.json")
    assert (first.run_dir / model).read_bytes() == (second.run_dir / model).read_bytes()
    assert (second.run_dir / "metrics.json").is_file()


def test_parameter_change_invalidates_the_step_and_its_descendants(tmp_path: Path, raw_csv: Path) -> None:
    run_toy(tmp_path, raw_csv, run="first")
    second = run_toy(tmp_path, raw_csv, run="second", overrides={"ToyTrain": {"bias": 1.0}})
    assert statuses(second) == {
        "ToyIngest": "cached",
        "ToyProfile": "cached",
        "ToySplit": "cached",
        "ToyTrain": "succeeded",
        "ToyEvaluate": "succeeded",  # its input (the model) changed
    }


def test_input_change_invalidates_the_steps_whose_inputs_changed(tmp_path: Path, raw_csv: Path) -> None:
    run_toy(tmp_path, raw_csv, run="first")
    raw_csv.write_text(raw_csv.read_text() + "9,18.2\n")  # a ninth row: it lands in the test split
    second = run_toy(tmp_path, raw_csv, run="second")
    assert statuses(second) == {
        "ToyIngest": "succeeded",
        "ToyProfile": "succeeded",
        "ToySplit": "succeeded",
        "ToyTrain": "cached",  # keys hash input content: the training split came out byte-identical
        "ToyEvaluate": "succeeded",
    }


def test_step_code_change_invalidates_the_cache(tmp_path: Path, raw_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = f"toy_copy_{uuid.uuid4().hex[:8]}"
    shutil.copytree(TOY_STEPS, tmp_path / "code" / package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.syspath_prepend(str(tmp_path / "code"))
    definition = make_definition(package)
    first = run_toy(tmp_path, raw_csv, run="first", definition=definition)
    assert first.succeeded, first.error
    assert set(statuses(run_toy(tmp_path, raw_csv, run="second", definition=definition)).values()) == {"cached"}
    with (tmp_path / "code" / package / "_io.py").open("a") as handle:
        handle.write("\n# a change to the step package's code\n")
    third = run_toy(tmp_path, raw_csv, run="third", definition=definition)
    assert set(statuses(third).values()) == {"succeeded"}


def test_no_cache_runs_every_step(tmp_path: Path, raw_csv: Path) -> None:
    run_toy(tmp_path, raw_csv, run="first")
    second = run_toy(tmp_path, raw_csv, run="second", cache=False)
    assert set(statuses(second).values()) == {"succeeded"}
    assert second.manifest.cache_enabled is False
    assert all(record.cache_key for record in second.manifest.steps)


def test_a_tampered_cache_entry_is_not_served(tmp_path: Path, raw_csv: Path) -> None:
    first = run_toy(tmp_path, raw_csv, run="first")
    key = first.manifest.step("ToyTrain").cache_key
    assert key is not None
    (tmp_path / "cache" / key[:2] / key / "outputs" / "model" / "model.json").write_text("{}")
    second = run_toy(tmp_path, raw_csv, run="second")
    assert statuses(second)["ToyTrain"] == "succeeded"
    assert statuses(second)["ToyEvaluate"] == "cached"  # same model bytes again, so the same key as before


def test_failure_skips_descendants_keeps_artefacts_and_writes_the_manifest(tmp_path: Path, raw_csv: Path) -> None:
    result = run_toy(tmp_path, raw_csv, overrides={"ToyTrain": {"fail": True}})
    assert not result.succeeded
    assert statuses(result) == {
        "ToyIngest": "succeeded",
        "ToyProfile": "succeeded",  # independent branch still runs
        "ToySplit": "succeeded",
        "ToyTrain": "failed",
        "ToyEvaluate": "skipped",
    }
    assert result.manifest.step("ToyEvaluate").reason == "upstream step ToyTrain failed"
    assert result.failure is not None
    assert (result.failure.step, result.failure.exception_type) == ("ToyTrain", "ValueError")
    log = result.run_dir / "steps" / "ToyTrain" / "error.log"
    assert result.failure.error_log == log
    assert "Traceback" in log.read_text() and "toy training was told to fail" in log.read_text()
    assert result.error is not None
    assert "failed at step ToyTrain: ValueError: toy training was told to fail." in result.error
    assert str(log) in result.error
    data = json.loads(result.manifest_path.read_text())
    assert data["status"] == "failed" and data["error"] == result.error
    assert data["published"] == {} and not (result.run_dir / "metrics.json").exists()
    assert (result.run_dir / "steps" / "ToySplit" / "opt/ml/processing/output/train/data.csv").is_file()
    train = next(s for s in data["steps"] if s["step"] == "ToyTrain")
    assert train["error"]["type"] == "ValueError"
    assert result.manifest.status == RunStatus.FAILED


def test_failed_step_is_not_cached_and_reruns(tmp_path: Path, raw_csv: Path) -> None:
    run_toy(tmp_path, raw_csv, run="first", overrides={"ToyTrain": {"fail": True}})
    second = run_toy(tmp_path, raw_csv, run="second")
    assert statuses(second) == {
        "ToyIngest": "cached",
        "ToyProfile": "cached",
        "ToySplit": "cached",
        "ToyTrain": "succeeded",
        "ToyEvaluate": "succeeded",
    }


def test_missing_published_artefact_fails_the_run(tmp_path: Path, raw_csv: Path) -> None:
    definition = make_definition()
    definition = PipelineDefinition(
        name=definition.name,
        specs=definition.specs,
        external_inputs=definition.external_inputs,
        publish={"report.html": PublishedArtifact("ToyEvaluate", "evaluation", "report.html")},
    )
    result = run_toy(tmp_path, raw_csv, definition=definition)
    assert not result.succeeded
    assert result.error is not None and "published artefact 'report.html' is missing" in result.error
    assert result.failure is None


def test_run_dir_must_be_new_or_empty(tmp_path: Path, raw_csv: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "stale.txt").write_text("x")
    with pytest.raises(ExecutorError, match="already exists and is not empty"):
        run_toy(tmp_path, raw_csv)


def test_external_inputs_are_checked_before_anything_runs(tmp_path: Path) -> None:
    plan = assemble(make_definition())
    with pytest.raises(ExecutorError, match="'raw_data' of pipeline 'toy' needs a path"):
        LocalExecutor(plan, run_dir=tmp_path / "a").run()
    with pytest.raises(ExecutorError, match="does not exist"):
        LocalExecutor(plan, run_dir=tmp_path / "b", external_inputs={"raw_data": tmp_path / "nope.csv"}).run()
    with pytest.raises(ExecutorError, match="no external input 'other'"):
        LocalExecutor(plan, run_dir=tmp_path / "c", external_inputs={"other": tmp_path}).run()
    assert not (tmp_path / "a").exists()


def test_folder_external_input_is_copied_whole(tmp_path: Path, raw_csv: Path) -> None:
    folder = tmp_path / "drop"
    (folder / "part").mkdir(parents=True)
    shutil.copy(raw_csv, folder / "a.csv")
    shutil.copy(raw_csv, folder / "part" / "b.csv")
    result = run_toy(tmp_path, folder)
    assert result.manifest.step("ToyIngest").metrics["rows"] == 16
    assert [f.path for f in result.manifest.step("ToyIngest").inputs["raw_data"].files] == ["a.csv", "part/b.csv"]


def test_steps_run_in_their_own_working_directory(tmp_path: Path, raw_csv: Path) -> None:
    before = Path.cwd()
    run_toy(tmp_path, raw_csv)
    assert Path.cwd() == before


def test_plain_progress_when_not_a_terminal(tmp_path: Path, raw_csv: Path) -> None:
    stream = io.StringIO()
    progress = ConsoleProgress(Console(file=stream, width=200))
    assert not progress.live
    run_toy(tmp_path, raw_csv, overrides={"ToyTrain": {"fail": True}}, progress=progress)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("Running pipeline 'toy' (5 steps)")
    assert "[4/5] ToyTrain: failed in" in stream.getvalue()
    assert "[5/5] ToyEvaluate: skipped (upstream step ToyTrain failed)" in lines
    assert "\x1b[" not in stream.getvalue()


def test_live_progress_on_a_terminal(tmp_path: Path, raw_csv: Path) -> None:
    stream = io.StringIO()
    progress = ConsoleProgress(Console(file=stream, force_terminal=True, width=120))
    assert progress.live
    assert run_toy(tmp_path, raw_csv, progress=progress).succeeded
    assert "ToyEvaluate" in stream.getvalue()


def test_metrics_are_normalised_to_json() -> None:
    assert _normalise_metrics("S", {"auc": np.float32(0.5), "n": np.int64(3), "name": "x"}) == {
        "auc": 0.5,
        "n": 3,
        "name": "x",
    }
    assert _normalise_metrics("S", None) == {}
    with pytest.raises(TypeError, match="S: run\\(ctx\\) returned list"):
        _normalise_metrics("S", [1])
    with pytest.raises(TypeError, match="metric 'bad'"):
        _normalise_metrics("S", {"bad": object()})


def test_manifest_status_enum_values() -> None:
    assert StepStatus.CACHED.ok and StepStatus.SUCCEEDED.ok and not StepStatus.SKIPPED.ok
