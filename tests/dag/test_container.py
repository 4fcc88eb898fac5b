"""The container contract without Docker: every adherence step runs through the container entry point in a temporary
/opt/ml-style tree, with the arguments the SageMaker renderer wrote, each consuming the real outputs of its producers
(a training job's model arrives as model.tar.gz, as SageMaker hands it over). The image's bootstrap unpacks a code
archive shaped like the CDK asset and runs the code from it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from pipeline_code.adherence.specs import DEFINITION
from pipeline_code.common.context import StepContext
from pipeline_code.common.contracts import adherence as contract
from pipeline_code.dag import assemble
from pipeline_code.dag import container as entry
from pipeline_code.dag.resolver import ExternalInputRef, StepOutputRef
from pipeline_code.dag.sagemaker import CODE_INPUT, THRESHOLD_PARAMETER, render_definition, walk_steps
from pipeline_code.dag.spec import JobType
from tests.adherence.helpers import DATA_FILE, FAST_TRAIN, ROOT, write_raw
from tests.dag.sagemaker_helpers import TARGET, join_with

PLAN = assemble(DEFINITION)
SUBSTITUTES = {f"Parameters.{THRESHOLD_PARAMETER}": "0.5", "Execution.StartDateTime": "2026-01-02T03:04:05Z"}
BOOTSTRAP = ROOT / "docker" / "steps" / "bootstrap.py"


def _ctx(root: Path, step: str) -> StepContext:
    return StepContext(job_type=PLAN.step(step).job_type.value, root=root / step / "opt" / "ml", step_name=step)


def _arguments(step: dict) -> list[str]:
    spec = step["Arguments"].get("AppSpecification") or step["Arguments"]["AlgorithmSpecification"]
    args = [join_with(a, SUBSTITUTES) for a in spec["ContainerArguments"]]
    if step["Type"] == "Training":  # fast settings: the contract is under test, not the model
        at = args.index("--parameters") + 1
        args[at] = json.dumps({**json.loads(args[at]), **FAST_TRAIN})
    return args


def _deliver(root: Path, step: str, raw: Path, hyperparameters: dict[str, str] | None = None) -> None:
    """What SageMaker does before a job starts: download each input (a model as model.tar.gz) and hyperparameters."""
    ctx = _ctx(root, step)
    code_channel = ("input/data" if PLAN.step(step).job_type is JobType.TRAINING else "processing/input") + "/code"
    _code_archive(ctx.root / code_channel / "0123abcd.zip")  # the step code asset, as its own channel
    if hyperparameters is not None:  # strings, as SageMaker writes them
        config = ctx.root / "input" / "config"
        config.mkdir(parents=True)
        (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    for name, binding in PLAN.step(step).inputs.items():
        target = ctx.input_dir(name)
        target.mkdir(parents=True)
        if isinstance(binding, ExternalInputRef):
            shutil.copy2(raw, target / raw.name)
            continue
        assert isinstance(binding, StepOutputRef)
        producer = _ctx(root, binding.step_type)
        if PLAN.step(binding.step_type).job_type is JobType.TRAINING:
            with tarfile.open(target / entry.MODEL_ARCHIVE, "w:gz") as tar:
                for path in sorted(producer.model_dir.iterdir()):
                    tar.add(path, arcname=path.name)
        else:
            shutil.copytree(producer.output_dir(binding.output), target, dirs_exist_ok=True)


@pytest.fixture(scope="module")
def raw_file(tmp_path_factory) -> Path:
    sample = pd.read_csv(DATA_FILE, nrows=3000, **contract.READ_CSV_OPTIONS)
    return write_raw(sample, tmp_path_factory.mktemp("raw") / "encounters.csv")


@pytest.fixture(scope="module")
def container_run(tmp_path_factory, raw_file: Path) -> Path:
    root = tmp_path_factory.mktemp("containers")
    definition = render_definition(PLAN, TARGET)
    jobs = [s for s in walk_steps(definition) if s["Type"] in ("Processing", "Training")]
    assert [s["Name"] for s in jobs] == list(PLAN.order)
    for step in jobs:
        _deliver(root, step["Name"], raw_file, step["Arguments"].get("HyperParameters"))
        args = _arguments(step)
        assert args[0] == "pipeline_code.dag.container"
        code = entry.main([*args[1:], "--root", str(root / step["Name"] / "opt" / "ml")])
        failure = root / step["Name"] / "opt" / "ml" / "output" / "failure"
        assert code == 0, failure.read_text() if failure.exists() else step["Name"]
    return root


def test_every_step_runs_through_the_container_entry_point(container_run: Path) -> None:
    evaluation = _ctx(container_run, "AdherenceEvaluate").output_dir("evaluation")
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert metrics["quality_gate"]["min_value"] == 0.5  # the pipeline parameter reached the step
    assert 0.5 < metrics["test"]["roc_auc"] < 1
    report = json.loads((_ctx(container_run, "AdherenceIngest").output_dir("ingestion_report") /
                         "ingestion_report.json").read_text())  # fmt: skip
    assert report["reconciles"] and report["event_time"] == "2026-01-02T03:04:05Z"
    assert (_ctx(container_run, "AdherenceTrain").model_dir / "model.txt").is_file()
    predictions = _ctx(container_run, "AdherencePredict").output_dir("predictions")
    assert (predictions / "test_predictions.csv").is_file()


def test_model_inputs_are_unpacked_in_place(container_run: Path) -> None:
    model_input = _ctx(container_run, "AdherenceEvaluate").input_dir("model")
    assert (model_input / "model.txt").is_file() and not (model_input / entry.MODEL_ARCHIVE).exists()


def test_a_failing_step_writes_the_failure_reason_and_exits_1(tmp_path: Path) -> None:
    root = tmp_path / "opt" / "ml"
    code = entry.main(["--step", "AdherenceValidate", "--entry-point", "pipeline_code.adherence.validate.main",
                       "--job-type", "processing", "--root", str(root)])  # fmt: skip
    assert code == 1
    assert "AdherenceValidate" in (root / "output" / "failure").read_text()


def test_a_missing_model_archive_names_the_input(tmp_path: Path) -> None:
    root = tmp_path / "opt" / "ml"
    (root / "processing" / "input" / "model").mkdir(parents=True)
    code = entry.main(["--step", "AdherenceEvaluate", "--entry-point", "pipeline_code.adherence.evaluate.main",
                       "--job-type", "processing", "--extract", "model", "--root", str(root)])  # fmt: skip
    assert code == 1
    assert "input 'model' should hold model.tar.gz" in (root / "output" / "failure").read_text()


@pytest.mark.parametrize("parameters", ["{not json", "[1, 2]"])
def test_bad_parameters_are_a_usage_error(tmp_path: Path, parameters: str, capsys) -> None:
    code = entry.main(["--step", "S", "--entry-point", "x", "--job-type", "processing", "--parameters", parameters,
                       "--root", str(tmp_path)])  # fmt: skip
    assert code == 2 and "--parameters" in capsys.readouterr().err


def _code_archive(path: Path) -> Path:
    """A zip of the package's contents, as the CDK asset of the pipeline_code folder is, plus a probe module."""
    path.parent.mkdir(parents=True, exist_ok=True)
    package = ROOT / "pipeline_code"
    with zipfile.ZipFile(path, "w") as bundle:
        for file in sorted(package.rglob("*.py")):
            bundle.write(file, file.relative_to(package).as_posix())
        bundle.writestr("_probe.py", "import pathlib, pipeline_code\nprint(pathlib.Path(pipeline_code.__file__))\n")
    return path


def test_the_bootstrap_runs_the_code_from_the_archive(tmp_path: Path, raw_file: Path) -> None:
    root = tmp_path / "opt" / "ml"
    _code_archive(root / "processing" / "input" / CODE_INPUT / "0123abcd.zip")
    env = {**os.environ, "MLOPS_CONTAINER_ROOT": str(root)}
    probe = subprocess.run([sys.executable, str(BOOTSTRAP), "pipeline_code._probe"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
    loaded_from = Path(probe.stdout.strip())
    assert ROOT not in loaded_from.parents, "the package came from the checkout, not from the archive"
    validate = next(s for s in walk_steps(render_definition(PLAN, TARGET)) if s["Name"] == "AdherenceValidate")
    (root / "processing" / "input" / "raw_data").mkdir(parents=True)
    shutil.copy2(raw_file, root / "processing" / "input" / "raw_data" / raw_file.name)
    run = subprocess.run([sys.executable, str(BOOTSTRAP), *_arguments(validate)], cwd=tmp_path, env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (root / "processing" / "output" / "validated" / "validated.csv").is_file()
    assert json.loads(run.stdout.strip().splitlines()[-1])["step"] == "AdherenceValidate"


def test_the_bootstrap_refuses_a_missing_archive(tmp_path: Path) -> None:
    env = {**os.environ, "MLOPS_CONTAINER_ROOT": str(tmp_path)}
    run = subprocess.run([sys.executable, str(BOOTSTRAP), "pipeline_code.dag.container"], env=env,
                         capture_output=True, text=True)  # fmt: skip
    assert run.returncode != 0 and "exactly one code .zip" in run.stderr


def test_the_registered_training_job_leaves_its_code_and_predictor_in_the_model(container_run: Path) -> None:
    """What a network-isolated inference container needs is in model.tar.gz: the code and which predictor to run."""
    model = _ctx(container_run, "AdherenceTrain").model_dir
    assert [p.name for p in (model / "code").iterdir()] == ["0123abcd.zip"]
    assert json.loads((model / "serving.json").read_text()) == {
        "batch_predict": DEFINITION.batch_predict,
        "pipeline": "adherence",
    }
    assert entry.serving_predictor("pipeline_code.adherence.validate.main", "AdherenceValidate") is None
    assert entry.serving_predictor("pipeline_code.nothing.here.main", "X") is None
