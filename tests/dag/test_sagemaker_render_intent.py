"""The intent pipeline rendered by the same renderer: one step per plan step plus gate, fail and register; every edge
a property reference its producer has; everything encrypted; the intent image on every job; the training instance
type a parameter; the train / valid / test CSVs one parameter each (the renderer's generic ``input_files``)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pipeline_code.dag import assemble
from pipeline_code.dag.sagemaker import (
    CODE_INPUT,
    FAIL_STEP,
    GATE_STEP,
    REPORT_PROPERTY_FILE,
    THRESHOLD_PARAMETER,
    InputFile,
    RenderError,
    render_definition,
    walk_steps,
)
from pipeline_code.dag.spec import TRAINING_MODEL_PATH
from pipeline_code.intent.gate.main import verdict
from pipeline_code.intent.gate.params import DEFAULTS as GATE_DEFAULTS
from pipeline_code.intent.specs import DEFINITION, QUALITY_GATE, TRAIN, VALIDATE
from tests.dag.sagemaker_helpers import (
    INTENT_FILES,
    INTENT_IMAGE,
    INTENT_TARGET,
    STEP_REF,
    TARGET,
    TOKEN,
    gets,
    join_with,
)
from tests.dag.toy_steps.pipeline import make_definition

PLAN = assemble(DEFINITION)
IMAGE = INTENT_IMAGE
FILES = INTENT_FILES


@pytest.fixture(scope="module")
def definition() -> dict:
    return render_definition(PLAN, INTENT_TARGET)


def _steps(definition: dict) -> dict[str, dict]:
    return {step["Name"]: step for step in walk_steps(definition)}


def test_one_step_per_plan_step_plus_gate_register_and_fail(definition) -> None:
    names = [step["Name"] for step in walk_steps(definition)]
    assert names == [*PLAN.order, GATE_STEP, "Intent-RegisterModel", FAIL_STEP]
    assert len(PLAN.steps) == 7
    kinds = {s["Name"]: s["Type"] for s in walk_steps(definition)}
    assert kinds[TRAIN] == "Training"
    assert [n for n, k in kinds.items() if k == "Processing"] == [n for n in PLAN.order if n != TRAIN]
    seen: set[str] = set()
    for step in walk_steps(definition):
        for path in gets(step):
            match = STEP_REF.match(path)
            if match:
                assert match["step"] in seen, f"{step['Name']} refers to {match['step']}, which comes later"
        seen.add(step["Name"])


def test_every_edge_is_a_property_reference_that_exists_on_its_producer(definition) -> None:
    steps = _steps(definition)
    edges = 0
    for step in walk_steps(definition):
        for path in gets(step):
            match = STEP_REF.match(path)
            if not match:
                continue
            edges += 1
            producer = steps[match["step"]]
            prop = match["path"]
            if producer["Type"] == "Training":
                assert "properties." + prop == TRAINING_MODEL_PATH
            elif prop.startswith("PropertyFiles."):
                assert prop.removeprefix("PropertyFiles.") in {f["PropertyFileName"] for f in producer["PropertyFiles"]}
            else:
                outputs = {o["OutputName"] for o in producer["Arguments"]["ProcessingOutputConfig"]["Outputs"]}
                name = prop.removeprefix("ProcessingOutputConfig.Outputs['").removesuffix("'].S3Output.S3Uri")
                assert name in outputs, (step["Name"], path)
    plan_edges = sum(1 for s in PLAN.steps for b in s.inputs.values() if hasattr(b, "step_type"))
    assert edges >= plan_edges + 2  # plus the gate's report, the registered model and its metrics


def test_every_output_volume_and_model_is_encrypted_and_every_job_runs_the_intent_image(definition) -> None:
    key = INTENT_TARGET.kms_key_arn
    jobs = 0
    for step in walk_steps(definition):
        args = step["Arguments"]
        if step["Type"] == "Processing":
            jobs += 1
            assert args["AppSpecification"]["ImageUri"] == IMAGE
            assert args["ProcessingOutputConfig"]["KmsKeyId"] == key
            assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
            assert args["NetworkConfig"] == {
                "EnableNetworkIsolation": True,
                "EnableInterContainerTrafficEncryption": True,
            }
        elif step["Type"] == "Training":
            jobs += 1
            assert args["AlgorithmSpecification"]["TrainingImage"] == IMAGE
            assert args["OutputDataConfig"]["KmsKeyId"] == key
            assert args["ResourceConfig"]["VolumeKmsKeyId"] == key
            assert args["EnableNetworkIsolation"] is True and args["EnableInterContainerTrafficEncryption"] is True
        elif step["Type"] == "RegisterModel":
            (container,) = args["InferenceSpecification"]["Containers"]
            assert container["Image"] == IMAGE
    assert jobs == len(PLAN.steps)
    assert TARGET.image_uri not in json.dumps(definition)  # nothing left of the adherence step image


def test_the_training_job_takes_the_configured_instance_type_as_a_parameter(definition) -> None:
    params = {p["Name"]: p for p in definition["Parameters"]}
    assert params["IntentTrainInstanceType"] == {
        "Name": "IntentTrainInstanceType",
        "Type": "String",
        "DefaultValue": "ml.g5.xlarge",
    }
    assert params["IntentValidateInstanceType"]["DefaultValue"] == INTENT_TARGET.processing.instance_type
    resources = _steps(definition)[TRAIN]["Arguments"]["ResourceConfig"]
    assert resources["InstanceType"] == {"Get": "Parameters.IntentTrainInstanceType"}


def test_train_valid_and_test_csv_are_one_parameter_each_delivered_to_their_own_folder(definition) -> None:
    params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert "RawDataUri" not in params
    for split in ("train", "valid", "test"):
        assert params[f"{split.capitalize()}CsvUri"] == f"s3://{TOKEN % 7}/intent/{split}.csv"
    inputs = _steps(definition)[VALIDATE]["Arguments"]["ProcessingInputs"]
    by_name = {i["InputName"]: i["S3Input"] for i in inputs}
    assert set(by_name) == {"raw_data-train", "raw_data-valid", "raw_data-test", CODE_INPUT}
    for split in ("train", "valid", "test"):
        s3 = by_name[f"raw_data-{split}"]
        assert s3["S3Uri"] == {"Get": f"Parameters.{split.capitalize()}CsvUri"}
        assert s3["LocalPath"] == f"/opt/ml/processing/input/raw_data/{split}"


def test_the_gate_reads_the_gate_steps_verdict_and_registers_the_shipped_model(definition) -> None:
    steps = _steps(definition)
    gate = steps[GATE_STEP]["Arguments"]["Conditions"][0]
    assert gate["LeftValue"]["Std:JsonGet"] == {
        "PropertyFile": {"Get": f"Steps.{QUALITY_GATE.report_step}.PropertyFiles.{REPORT_PROPERTY_FILE}"},
        "Path": "values.accuracy",
    }
    assert gate["RightValue"] == {"Get": f"Parameters.{THRESHOLD_PARAMETER}"}
    params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert params[THRESHOLD_PARAMETER] == GATE_DEFAULTS["min_accuracy"]
    register = steps["Intent-RegisterModel"]["Arguments"]
    assert register["ModelPackageGroupName"] == "mlops-dev-intent"
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    (container,) = register["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == {
        "Get": "Steps.IntentCalibrate.ProcessingOutputConfig.Outputs['edge_model'].S3Output.S3Uri"
    }
    # The gate step receives the same threshold parameter the condition compares against.
    args = steps[QUALITY_GATE.report_step]["Arguments"]["AppSpecification"]["ContainerArguments"]
    text = join_with(args[-1], {f"Parameters.{THRESHOLD_PARAMETER}": "0.93"})
    assert json.loads(text)["min_accuracy"] == 0.93


def test_the_condition_path_exists_in_what_the_gate_step_writes() -> None:
    metrics = {"test": {"accuracy": 0.95, "oos_recall": 0.7}, "quantization_accuracy_drop_points": 0.2}
    result = verdict({**metrics, "model_bytes": 21 * 2**20}, dict(GATE_DEFAULTS))
    node: object = result
    for part in QUALITY_GATE.metric.split("."):
        assert isinstance(node, dict)
        node = node[part]
    assert node == 0.95


def test_input_files_must_name_an_external_input_and_reach_processing_jobs_only() -> None:
    with pytest.raises(RenderError, match="unknown external input"):
        render_definition(PLAN, dataclasses.replace(INTENT_TARGET, input_files={"nope": FILES}))
    clash = (InputFile("train", "IntentTrainInstanceType", "s3://b/t.csv"),)
    with pytest.raises(RenderError, match="clash"):
        render_definition(PLAN, dataclasses.replace(INTENT_TARGET, input_files={"raw_data": clash}))
    toy = assemble(make_definition())
    (external,) = toy.external_inputs
    consumers = [s for s in toy.steps if any(getattr(b, "name", None) == external for b in s.inputs.values())]
    assert consumers  # the toy pipeline's source step is a processing job: file inputs render there
    render_definition(toy, dataclasses.replace(TARGET, input_files={external: FILES[:1]}))
    with pytest.raises(RenderError, match="lower_snake_case"):
        InputFile("Train", "TrainCsvUri", "s3://b/t.csv")


def test_rendering_the_intent_plan_is_deterministic() -> None:
    first = json.dumps(render_definition(PLAN, INTENT_TARGET), sort_keys=True)
    assert first == json.dumps(render_definition(assemble(DEFINITION), INTENT_TARGET), sort_keys=True)
