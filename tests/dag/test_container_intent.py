"""The intent pipeline's container contract without Docker: its jobs run through the container entry point in a
temporary /opt/ml-style tree, with the arguments the SageMaker renderer wrote and the inputs delivered where the
rendered definition says (the train / valid / test CSVs each in their own folder, under the S3 object's own name;
a training job's model as model.tar.gz).

Always run (seconds): validate (the CSV parameters' folders, a validation file identical to train, two files for one
split) and the gate (the threshold parameter reaches it; the condition step's path is in its verdict). The heavy
steps in between (train, export, quantize, calibrate, evaluate: torch and MiniLM load in each) run through the entry
point only with ``MLOPS_CONTAINER_CHAIN=1``: the whole chain took 29 s on the 2-core development machine, too slow
for a unit test; their ``run(ctx)`` is the one the quick local run in ``tests/intent`` drives on every test run.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from pipeline_code.dag import assemble
from pipeline_code.dag import container as entry
from pipeline_code.dag.sagemaker import THRESHOLD_PARAMETER, render_definition, walk_steps
from pipeline_code.intent.specs import DEFINITION, GATE, TRAIN, VALIDATE
from tests.dag.sagemaker_helpers import INTENT_TARGET, join_with
from tests.intent.helpers import QUICK, tiny_dataset

PLAN = assemble(DEFINITION, QUICK)
SUBSTITUTES = {f"Parameters.{THRESHOLD_PARAMETER}": "0.0"}


def _root(base: Path, step: str) -> Path:
    return base / step / "opt" / "ml"


def _local(base: Path, step: str, container_path: str) -> Path:
    return _root(base, step) / container_path.removeprefix("/opt/ml/")


def _source(base: Path, uri: Any, files: dict[str, Path]) -> tuple[Path, bool]:
    """Where the data behind an input's S3 URI lies in the tree, and whether it is a training job's model."""
    path = uri["Get"]
    if path.startswith("Parameters."):
        return files[path.removeprefix("Parameters.")], False
    step, _, prop = path.removeprefix("Steps.").partition(".")
    if prop == "ModelArtifacts.S3ModelArtifacts":
        return _root(base, step) / "model", True
    name = prop.removeprefix("ProcessingOutputConfig.Outputs['").removesuffix("'].S3Output.S3Uri")
    return _root(base, step) / "processing" / "output" / name, False


def _deliver(base: Path, step: dict[str, Any], files: dict[str, Path]) -> None:
    """What SageMaker does before a job starts: download each input where the definition says."""
    args = step["Arguments"]
    if step["Type"] == "Processing":
        targets = [
            (i["S3Input"]["S3Uri"], _local(base, step["Name"], i["S3Input"]["LocalPath"]))
            for i in args["ProcessingInputs"]
            if i["InputName"] != "code"
        ]
    else:
        targets = [
            (c["DataSource"]["S3DataSource"]["S3Uri"], _root(base, step["Name"]) / "input" / "data" / c["ChannelName"])
            for c in args["InputDataConfig"]
            if c["ChannelName"] != "code"
        ]
        config = _root(base, step["Name"]) / "input" / "config"
        config.mkdir(parents=True)
        (config / "hyperparameters.json").write_text(json.dumps(args["HyperParameters"]))
    for uri, target in targets:
        source, is_model = _source(base, uri, files)
        target.mkdir(parents=True, exist_ok=True)
        if is_model:
            with tarfile.open(target / entry.MODEL_ARCHIVE, "w:gz") as tar:
                for path in sorted(source.iterdir()):
                    tar.add(path, arcname=path.name)
        elif source.is_file():  # one S3 object: it keeps its own name
            shutil.copy2(source, target / source.name)
        else:
            shutil.copytree(source, target, dirs_exist_ok=True)


def _run(base: Path, step: dict[str, Any]) -> int:
    spec = step["Arguments"].get("AppSpecification") or step["Arguments"]["AlgorithmSpecification"]
    args = [join_with(a, SUBSTITUTES) for a in spec["ContainerArguments"]]
    assert args[0] == "pipeline_code.dag.container"
    return entry.main([*args[1:], "--root", str(_root(base, step["Name"]))])


def _objects(folder: Path, *, valid_is_train: bool = False) -> dict[str, Path]:
    """The data set as S3 objects with names of their own (not train.csv), one per CSV parameter."""
    data = tiny_dataset(folder / "data")
    objects = {
        "TrainCsvUri": data / "train.csv",
        "ValidCsvUri": data / ("train.csv" if valid_is_train else "valid.csv"),
        "TestCsvUri": data / "test.csv",
    }
    named = {}
    for parameter, path in objects.items():
        target = folder / "s3" / parameter / f"clinc-like-{path.stem}-2026.csv"
        target.parent.mkdir(parents=True)
        shutil.copy2(path, target)
        named[parameter] = target
    return named


@pytest.fixture(scope="module")
def jobs() -> list[dict[str, Any]]:
    definition = render_definition(PLAN, INTENT_TARGET)
    found = [s for s in walk_steps(definition) if s["Type"] in ("Processing", "Training")]
    assert [s["Name"] for s in found] == list(PLAN.order)
    return found


CHAIN = pytest.mark.skipif(
    os.environ.get("MLOPS_CONTAINER_CHAIN") != "1", reason="the whole chain takes ~30 s: set MLOPS_CONTAINER_CHAIN=1"
)


@pytest.fixture(scope="module")
def container_run(tmp_path_factory, jobs) -> Path:
    base = tmp_path_factory.mktemp("intent-containers")
    files = _objects(base)
    for step in jobs:
        _deliver(base, step, files)
        code = _run(base, step)
        failure = _root(base, step["Name"]) / "output" / "failure"
        assert code == 0, failure.read_text() if failure.exists() else step["Name"]
    return base


def _rows(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def test_validate_reads_each_csv_from_its_own_folder(tmp_path: Path, jobs) -> None:
    _deliver(tmp_path, jobs[0], _objects(tmp_path))
    assert _run(tmp_path, jobs[0]) == 0
    out = _root(tmp_path, VALIDATE) / "processing" / "output"
    report = json.loads((out / "validation_report" / "validation_report.json").read_text())
    assert report["validation_source"] == "valid file"
    assert {f["file"] for f in report["files"].values()} == {
        "clinc-like-train-2026.csv",
        "clinc-like-valid-2026.csv",
        "clinc-like-test-2026.csv",
    }
    assert report["rows"] == {"train": 18, "valid": 5, "test": 5}
    assert _rows(out / "validated" / "test.csv") == 5


def test_the_gate_gets_the_threshold_parameter_and_writes_the_conditions_path(tmp_path: Path, jobs) -> None:
    (gate,) = [s for s in jobs if s["Name"] == GATE]
    metrics = {"test": {"accuracy": 0.91, "oos_recall": 0.7}, "quantization_accuracy_drop_points": 0.1}
    evaluation = _root(tmp_path, "IntentEvaluate") / "processing" / "output" / "evaluation"
    evaluation.mkdir(parents=True)
    (evaluation / "metrics.json").write_text(json.dumps({**metrics, "model_bytes": 21 * 2**20}))
    _deliver(tmp_path, gate, {})
    assert _run(tmp_path, gate) == 0
    verdict = json.loads(
        (_root(tmp_path, GATE) / "processing" / "output" / "quality_gate" / "quality_gate.json").read_text()
    )
    assert verdict["values"]["accuracy"] == 0.91
    assert {"check": "accuracy", "value": 0.91, "rule": ">= 0.0", "passed": True} in verdict["checks"]


@CHAIN
def test_every_intent_step_runs_through_the_container_entry_point(container_run: Path) -> None:
    assert (_root(container_run, TRAIN) / "model" / "weights.pt").is_file()
    model = _root(container_run, "IntentEvaluate") / "processing" / "input" / "model"
    assert not (model / entry.MODEL_ARCHIVE).exists()  # the training job's archive was unpacked in place
    edge = _root(container_run, "IntentCalibrate") / "processing" / "output" / "edge_model"
    assert {"model.onnx", "labels.json", "oos_rule.json", "metadata.json"} <= {p.name for p in edge.iterdir()}
    gate = _root(container_run, GATE) / "processing" / "output" / "quality_gate" / "quality_gate.json"
    verdict = json.loads(gate.read_text())
    # the threshold parameter reached the gate step: 0.0 here, and the condition's path is in its verdict
    assert {"check": "accuracy", "value": verdict["values"]["accuracy"], "rule": ">= 0.0", "passed": True} in verdict[
        "checks"
    ]


def test_a_validation_file_identical_to_train_asks_for_the_held_out_split(tmp_path: Path, jobs) -> None:
    files = _objects(tmp_path, valid_is_train=True)
    validate = jobs[0]
    _deliver(tmp_path, validate, files)
    assert _run(tmp_path, validate) == 0
    out = _root(tmp_path, VALIDATE) / "processing" / "output"
    report = json.loads((out / "validation_report" / "validation_report.json").read_text())
    assert report["validation_source"].endswith("(the validation file given is the train file)")
    assert set(report["files"]) == {"train", "test"}
    assert report["rows"]["train"] + report["rows"]["valid"] == 18


def test_two_csv_files_for_one_split_is_a_clear_error(tmp_path: Path, jobs) -> None:
    files = _objects(tmp_path)
    validate = jobs[0]
    _deliver(tmp_path, validate, files)
    train_folder = _root(tmp_path, VALIDATE) / "processing" / "input" / "raw_data" / "train"
    shutil.copy2(files["TrainCsvUri"], train_folder / "train.csv.gz.csv")  # a prefix that matched two objects
    assert _run(tmp_path, validate) == 1
    failure = (_root(tmp_path, VALIDATE) / "output" / "failure").read_text()
    assert "2 train files" in failure and "keep one" in failure
