"""The `mlops` CLI on a toy catalog: run, predict, explain, list, and clear errors with the right exit codes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from pipeline_code.cli import DEFAULT_CATALOG, app, find_project_root
from tests.cli.cli_helpers import BROKEN, TOY, flat, invoke


def test_run_writes_a_run_dir_with_manifest_and_published_artefacts(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(project, "run", "toy", "--out", str(out))
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    assert manifest["external_inputs"]["raw_data"]["source"] == str(project / "data" / "toy.csv")
    assert (out / "metrics.json").is_file() and (out / "model" / "model.json").is_file()
    assert "ToyEvaluate" in result.output and "manifest:" in result.output
    assert manifest["cache"] == {"enabled": True, "dir": str(project / ".mlops-cache")}


def test_default_out_is_under_runs_with_a_latest_pointer(project: Path) -> None:
    first = invoke(project, "run", "toy")
    assert first.exit_code == 0, first.output
    second = invoke(project, "run", "toy")
    assert second.exit_code == 0, second.output
    runs = sorted(p for p in (project / "runs").iterdir() if p.name.startswith("toy-"))
    assert len(runs) == 2
    latest = project / "runs" / "latest"
    assert latest.is_symlink() and latest.resolve() == runs[-1].resolve()
    assert (latest / "manifest.json").is_file()
    second_manifest = json.loads((runs[-1] / "manifest.json").read_text())
    assert {s["status"] for s in second_manifest["steps"]} == {"cached"}


def test_data_option_accepts_a_gzipped_csv(project: Path, tmp_path: Path) -> None:
    data = tmp_path / "rows.csv.gz"
    data.write_bytes(gzip.compress((project / "data" / "toy.csv").read_bytes()))
    result = invoke(project, "run", "toy", "--data", str(data), "--out", str(tmp_path / "o"), "--no-cache")
    # The toy ingest reads *.csv only, so a gzip file is accepted by the CLI and then rejected by the step.
    assert result.exit_code == 1
    assert "failed at step ToyIngest: StepError" in flat(result.output)
    assert "Traceback" not in result.output


def test_bad_data_paths_are_usage_errors_naming_the_path(project: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    result = invoke(project, "run", "toy", "--data", str(missing))
    assert result.exit_code == 2
    assert f"{missing} does not exist" in flat(result.output)

    wrong = tmp_path / "rows.parquet"
    wrong.write_text("x")
    result = invoke(project, "run", "toy", "--data", str(wrong))
    assert result.exit_code == 2 and "is not a .csv or .csv.gz file" in flat(result.output)

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = invoke(project, "run", "toy", "--data", str(empty))
    assert result.exit_code == 2 and f"{empty} is empty" in flat(result.output)

    fake = tmp_path / "fake.csv.gz"
    fake.write_text("x,y\n")
    result = invoke(project, "run", "toy", "--data", str(fake))
    assert result.exit_code == 2 and "not gzip-compressed" in flat(result.output)

    folder = tmp_path / "empty-folder"
    folder.mkdir()
    result = invoke(project, "run", "toy", "--data", str(folder))
    assert result.exit_code == 2 and "holds no files" in flat(result.output)
    assert "Traceback" not in result.output


def test_config_file_sets_parameters(project: Path, tmp_path: Path) -> None:
    config = tmp_path / "toy.yaml"
    config.write_text("ToyTrain:\n  bias: 0.5\n")
    out = tmp_path / "out"
    result = invoke(project, "run", "toy", "--config", str(config), "--out", str(out), "--no-cache")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    train = next(s for s in manifest["steps"] if s["step"] == "ToyTrain")
    assert train["parameters"]["bias"] == 0.5
    assert manifest["cache"]["enabled"] is False


def test_default_config_is_read_from_config_pipelines(project: Path, tmp_path: Path) -> None:
    (project / "config" / "pipelines").mkdir(parents=True)
    (project / "config" / "pipelines" / "toy.yaml").write_text("ToyIngest: {scale: 2.0}\n")
    out = tmp_path / "out"
    assert invoke(project, "run", "toy", "--out", str(out)).exit_code == 0
    ingest = json.loads((out / "manifest.json").read_text())["steps"][0]
    assert ingest["parameters"] == {"scale": 2.0}


def test_bad_config_files_are_usage_errors(project: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = invoke(project, "run", "toy", "--config", str(missing))
    assert result.exit_code == 2 and f"{missing} does not exist" in flat(result.output)

    broken = tmp_path / "broken.yaml"
    broken.write_text("ToyTrain: [unclosed\n")
    result = invoke(project, "run", "toy", "--config", str(broken))
    assert result.exit_code == 2 and f"{broken} is not valid YAML" in flat(result.output)

    shape = tmp_path / "shape.yaml"
    shape.write_text("- a\n- b\n")
    result = invoke(project, "run", "toy", "--config", str(shape))
    assert result.exit_code == 2 and "must map step types" in flat(result.output)

    unknown_step = tmp_path / "step.yaml"
    unknown_step.write_text("ToyTrian:\n  bias: 1\n")
    result = invoke(project, "run", "toy", "--config", str(unknown_step))
    assert result.exit_code == 2
    assert "unknown step 'ToyTrian'" in flat(result.output) and "did you mean 'ToyTrain'" in flat(result.output)

    unknown_param = tmp_path / "param.yaml"
    unknown_param.write_text("ToyTrain:\n  learning_rate: 1\n")
    result = invoke(project, "run", "toy", "--config", str(unknown_param))
    assert result.exit_code == 2 and "has no parameter 'learning_rate'" in flat(result.output)
    assert "Traceback" not in result.output


def test_failing_step_exits_1_with_one_paragraph(project: Path, tmp_path: Path) -> None:
    config = tmp_path / "fail.yaml"
    config.write_text("ToyTrain: {fail: true}\n")
    out = tmp_path / "out"
    result = invoke(project, "run", "toy", "--config", str(config), "--out", str(out))
    assert result.exit_code == 1
    text = flat(result.output)
    assert "Error: Pipeline 'toy' failed at step ToyTrain: ValueError: toy training was told to fail." in text
    assert str(out.resolve() / "steps" / "ToyTrain" / "error.log") in text
    assert "Traceback" not in result.output
    assert json.loads((out / "manifest.json").read_text())["status"] == "failed"


def test_unknown_pipeline_is_a_usage_error(project: Path) -> None:
    result = invoke(project, "run", "nope")
    assert result.exit_code == 2
    assert "unknown pipeline 'nope' (known: toy)" in flat(result.output)


def test_unloadable_definition_exits_1(project: Path) -> None:
    result = invoke(project, "run", "broken", entries=(TOY, BROKEN))
    assert result.exit_code == 1
    assert "cannot load pipeline 'broken'" in flat(result.output) and "ModuleNotFoundError" in result.output


def test_out_and_cache_options_are_checked(project: Path, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    result = invoke(project, "run", "toy", "--out", str(busy))
    assert result.exit_code == 2 and "already exists and is not an empty folder" in flat(result.output)
    result = invoke(project, "run", "toy", "--no-cache", "--cache-dir", str(tmp_path / "c"))
    assert result.exit_code == 2 and "--cache-dir has no effect together with --no-cache" in flat(result.output)
    a_file = tmp_path / "cachefile"
    a_file.write_text("x")
    result = invoke(project, "run", "toy", "--cache-dir", str(a_file))
    assert result.exit_code == 2 and "is not a folder" in flat(result.output)


def test_custom_cache_dir_is_used(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "my-cache"
    result = invoke(project, "run", "toy", "--cache-dir", str(cache), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert any(cache.iterdir())
    assert not (project / ".mlops-cache").exists()


def test_predict_uses_the_batch_predictor(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke(project, "run", "toy", "--out", str(out)).exit_code == 0
    predictions = tmp_path / "pred" / "p.jsonl"
    result = invoke(
        project,
        "predict",
        "toy",
        "--model",
        str(out / "model"),
        "--input",
        str(project / "data" / "toy.csv"),
        "--output",
        str(predictions),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == 8
    lines = predictions.read_text().splitlines()
    assert len(lines) == 8 and "prediction" in json.loads(lines[0])


def test_predict_checks_its_paths(project: Path, tmp_path: Path) -> None:
    data = str(project / "data" / "toy.csv")
    result = invoke(project, "predict", "toy", "--model", str(tmp_path / "no-model"), "--input", data, "--output", "o")
    assert result.exit_code == 2 and f"{tmp_path / 'no-model'} does not exist" in flat(result.output)

    model = tmp_path / "model"
    model.mkdir()
    result = invoke(project, "predict", "toy", "--model", str(model), "--input", data, "--output", "o")
    assert result.exit_code == 2 and "is empty" in flat(result.output)

    (model / "model.json").write_text('{"slope": 2, "bias": 0}')
    result = invoke(
        project, "predict", "toy", "--model", str(model), "--input", str(tmp_path / "x.csv"), "--output", "o"
    )
    assert result.exit_code == 2 and "x.csv does not exist" in flat(result.output)

    result = invoke(project, "predict", "toy", "--model", str(model), "--input", data, "--output", str(tmp_path))
    assert result.exit_code == 2 and "is a folder" in flat(result.output)


def test_predict_failure_exits_1(project: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text("not json")
    data = str(project / "data" / "toy.csv")
    out = str(tmp_path / "p.jsonl")
    result = invoke(project, "predict", "toy", "--model", str(model), "--input", data, "--output", out)
    assert result.exit_code == 1
    assert "prediction with" in flat(result.output) and "JSONDecodeError" in result.output
    assert "Traceback" not in result.output


def test_explain_shows_matches_and_scores(project: Path) -> None:
    result = invoke(project, "explain", "toy")
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    for fragment in ("ToySplit.test", "external:raw_data", "0.90", "runner-up", "semantic"):
        assert fragment in text
    assert "order: ToyIngest -> ToyProfile -> ToySplit -> ToyTrain -> ToyEvaluate" in text


def test_explain_json(project: Path) -> None:
    result = invoke(project, "explain", "toy", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["order"][-1] == "ToyEvaluate" and payload["error"] is None
    match = next(m for m in payload["matches"] if m["step"] == "ToyTrain")
    assert match["binding"] == {"kind": "step_output", "step": "ToySplit", "output": "train"}
    assert match["chosen"]["total"] == 0.9


def test_list_shows_pipelines_and_steps(project: Path) -> None:
    result = invoke(project, "list", entries=(TOY, BROKEN))
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "ToyIngest -> ToyProfile -> ToySplit -> ToyTrain -> ToyEvaluate" in text
    assert "broken" in text and "unavailable" in text


def test_default_app_and_catalog() -> None:
    assert "adherence" in DEFAULT_CATALOG.names
    assert DEFAULT_CATALOG.get("adherence").definition == "pipeline_code.adherence.specs:DEFINITION"
    assert (find_project_root() / DEFAULT_CATALOG.get("adherence").default_data).is_file()
    assert app.info.name == "mlops"


def test_every_run_writes_a_self_contained_report(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(project, "run", "toy", "--out", str(out))
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"report:    {out / 'report.html'}" in flat(result.output) or "report.html" in result.output
    for section in ("Pipeline graph", "Steps", "Lineage"):
        assert f"<h2>{section}</h2>" in page
    assert page.count('<g class="node">') == 1 + 5  # the external input and the five toy steps
    assert "<script" not in page and "<link" not in page and 'src="http' not in page
    manifest = json.loads((out / "manifest.json").read_text())
    for step in manifest["steps"]:
        assert step["code_sha256"] and step["code_sha256"] in page  # lineage names the code of every step
    assert manifest["external_inputs"]["raw_data"]["files"][0]["sha256"] in page


def test_a_failed_run_still_writes_its_report_with_the_failure(project: Path, tmp_path: Path) -> None:
    data = tmp_path / "rows.csv.gz"
    data.write_bytes(gzip.compress((project / "data" / "toy.csv").read_bytes()))
    out = tmp_path / "o"
    result = invoke(project, "run", "toy", "--data", str(data), "--out", str(out), "--no-cache")
    assert result.exit_code == 1
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Pipeline toy: failed" in page and "failed at step ToyIngest" in page
    assert "skipped" in page
