"""The SageMaker renderer: one step per plan step plus gate, fail and register, in dependency order; every edge a
property reference its producer has; everything encrypted; parameters, caching, retries; deterministic; offline."""

from __future__ import annotations

import dataclasses
import json
import socket

import pytest

from pipeline_code.adherence.specs import DEFINITION, QUALITY_GATE
from pipeline_code.dag import assemble
from pipeline_code.dag.sagemaker import (
    CODE_INPUT,
    FAIL_STEP,
    GATE_STEP,
    REPORT_PROPERTY_FILE,
    THRESHOLD_PARAMETER,
    JobResources,
    RenderError,
    SageMakerRenderer,
    render_definition,
    walk_steps,
)
from pipeline_code.dag.spec import TRAINING_MODEL_PATH
from tests.dag.sagemaker_helpers import STEP_REF, TARGET, TOKEN, gets, join_with, json_gets
from tests.dag.toy_steps.pipeline import make_definition

PLAN = assemble(DEFINITION)


@pytest.fixture(scope="module")
def definition() -> dict:
    return render_definition(PLAN, TARGET)


def _steps(definition: dict) -> dict[str, dict]:
    return {step["Name"]: step for step in walk_steps(definition)}


def test_one_step_per_plan_step_plus_gate_fail_and_register_in_dependency_order(definition) -> None:
    names = [step["Name"] for step in walk_steps(definition)]
    assert names == [*PLAN.order, GATE_STEP, "Adherence-RegisterModel", FAIL_STEP]
    assert len(names) == len(PLAN.steps) + 3 == 11
    assert definition["Version"] == "2020-12-01"
    seen: set[str] = set()
    for step in walk_steps(definition):
        for path in gets(step):
            match = STEP_REF.match(path)
            if match:
                assert match["step"] in seen, f"{step['Name']} refers to {match['step']}, which comes later"
        seen.add(step["Name"])
    kinds = {s["Name"]: s["Type"] for s in walk_steps(definition)}
    assert kinds["AdherenceTrain"] == "Training" and kinds["AdherenceValidate"] == "Processing"
    assert kinds[GATE_STEP] == "Condition" and kinds[FAIL_STEP] == "Fail"
    assert kinds["Adherence-RegisterModel"] == "RegisterModel"


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
    # every plan edge, plus the gate's report and the registration's model and metrics
    plan_edges = sum(1 for s in PLAN.steps for b in s.inputs.values() if hasattr(b, "step_type"))
    assert edges >= plan_edges + 2


def test_inputs_bind_to_their_producers_and_the_code(definition) -> None:
    steps = _steps(definition)
    train = steps["AdherenceTrain"]["Arguments"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in train["InputDataConfig"]}
    assert channels == {
        "train": {"Get": "Steps.AdherenceSplit.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
        "validation": {"Get": "Steps.AdherenceSplit.ProcessingOutputConfig.Outputs['validation'].S3Output.S3Uri"},
        CODE_INPUT: TARGET.code_uri,
    }
    validate = steps["AdherenceValidate"]["Arguments"]["ProcessingInputs"]
    assert validate[0]["S3Input"]["S3Uri"] == {"Get": "Parameters.RawDataUri"}
    evaluate = steps["AdherenceEvaluate"]["Arguments"]
    model = next(i for i in evaluate["ProcessingInputs"] if i["InputName"] == "model")
    assert model["S3Input"]["S3Uri"] == {"Get": "Steps.AdherenceTrain.ModelArtifacts.S3ModelArtifacts"}
    args = evaluate["AppSpecification"]["ContainerArguments"]
    assert args[args.index("--extract") + 1] == "model"  # model.tar.gz is unpacked before the step runs


def test_every_output_volume_and_model_is_encrypted_with_the_stage_key(definition) -> None:
    key = TARGET.kms_key_arn
    for step in walk_steps(definition):
        args = step["Arguments"]
        if step["Type"] == "Processing":
            assert args["ProcessingOutputConfig"]["KmsKeyId"] == key
            assert args["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == key
            assert args["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True
            for output in args["ProcessingOutputConfig"]["Outputs"]:
                assert output["S3Output"]["S3Uri"]["Std:Join"]["Values"][0].startswith(f"s3://{TOKEN % 2}/")
        elif step["Type"] == "Training":
            assert args["OutputDataConfig"]["KmsKeyId"] == key
            assert args["ResourceConfig"]["VolumeKmsKeyId"] == key
            assert args["EnableInterContainerTrafficEncryption"] is True


def test_only_the_step_that_calls_a_service_has_network_access(definition) -> None:
    for step in walk_steps(definition):
        args = step["Arguments"]
        if step["Type"] == "Processing":
            isolated = args["NetworkConfig"]["EnableNetworkIsolation"]
        elif step["Type"] == "Training":
            isolated = args["EnableNetworkIsolation"]
        else:
            continue
        assert isolated is (step["Name"] != "AdherenceIngest"), step["Name"]


def test_vpc_settings_reach_every_job() -> None:
    target = dataclasses.replace(TARGET, subnet_ids=("subnet-1", "subnet-2"), security_group_ids=("sg-1",))
    vpc = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1", "subnet-2"]}
    for step in walk_steps(render_definition(PLAN, target)):
        if step["Type"] == "Processing":
            assert step["Arguments"]["NetworkConfig"]["VpcConfig"] == vpc
        elif step["Type"] == "Training":
            assert step["Arguments"]["VpcConfig"] == vpc
    with pytest.raises(RenderError, match="both"):
        dataclasses.replace(TARGET, subnet_ids=("subnet-1",))


def test_parameters_input_data_instances_per_step_and_the_gate_threshold(definition) -> None:
    params = {p["Name"]: p for p in definition["Parameters"]}
    assert params["RawDataUri"] == {"Name": "RawDataUri", "Type": "String", "DefaultValue": TARGET.input_data_uri}
    for step in PLAN.order:
        assert params[f"{step}InstanceType"]["DefaultValue"] == "ml.m5.large"
        assert params[f"{step}InstanceCount"] == {"Name": f"{step}InstanceCount", "Type": "Integer", "DefaultValue": 1}
    assert params[THRESHOLD_PARAMETER] == {"Name": THRESHOLD_PARAMETER, "Type": "Float", "DefaultValue": 0.68}
    assert len(params) == 1 + 2 * len(PLAN.steps) + 1
    used = {path.removeprefix("Parameters.") for path in gets(definition["Steps"]) if path.startswith("Parameters.")}
    assert used == set(params)  # no parameter is declared and never used


def test_per_step_resources_override_the_defaults() -> None:
    target = dataclasses.replace(TARGET, resources={"AdherenceTrain": JobResources("ml.c5.2xlarge", 1, 50, 7200)})
    definition = render_definition(PLAN, target)
    params = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert params["AdherenceTrainInstanceType"] == "ml.c5.2xlarge"
    train = _steps(definition)["AdherenceTrain"]["Arguments"]
    assert train["ResourceConfig"]["VolumeSizeInGB"] == 50
    assert train["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    with pytest.raises(RenderError, match="AdherenceTrian"):
        SageMakerRenderer(PLAN, dataclasses.replace(TARGET, resources={"AdherenceTrian": JobResources()}))
    with pytest.raises(RenderError, match=r"ml\.m5\.large"):
        JobResources("m5.large")


def test_caching_and_retries_on_every_job(definition) -> None:
    for step in walk_steps(definition):
        if step["Type"] in ("Processing", "Training"):
            assert step["CacheConfig"] == {"Enabled": True, "ExpireAfter": "P30D"}
            families = [e for policy in step["RetryPolicies"] for e in policy["ExceptionType"]]
            assert {"Step.THROTTLING", "SageMaker.CAPACITY_ERROR"} <= set(families)


def test_the_gate_reads_the_report_and_fails_with_the_metric_in_its_message(definition) -> None:
    steps = _steps(definition)
    files = steps[QUALITY_GATE.report_step]["PropertyFiles"]
    assert files == [{"PropertyFileName": REPORT_PROPERTY_FILE, "OutputName": "evaluation", "FilePath": "metrics.json"}]
    condition = steps[GATE_STEP]["Arguments"]["Conditions"][0]
    assert condition["Type"] == "GreaterThanOrEqualTo"
    assert condition["RightValue"] == {"Get": f"Parameters.{THRESHOLD_PARAMETER}"}
    assert condition["LeftValue"]["Std:JsonGet"]["Path"] == "test.roc_auc"
    message = steps[FAIL_STEP]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert "test.roc_auc" in message[0] and list(json_gets(message))
    register = steps["Adherence-RegisterModel"]["Arguments"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["ModelPackageGroupName"] == TARGET.model_package_group
    metrics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert metrics["S3Uri"]["Std:Join"]["Values"][-1] == "metrics.json"
    container = register["InferenceSpecification"]["Containers"][0]
    assert container["ModelDataUrl"] == {"Get": "Steps.AdherenceTrain.ModelArtifacts.S3ModelArtifacts"}


def test_the_registered_package_carries_the_baseline_steps_drift_check_baselines(definition) -> None:
    register = _steps(definition)["Adherence-RegisterModel"]["Arguments"]
    baseline_root = {"Get": "Steps.AdherenceBaseline.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"}

    def where(source: dict) -> list:
        assert source["ContentType"] == "application/json"
        values = source["S3Uri"]["Std:Join"]["Values"]
        assert values[0] == baseline_root
        return values[1:]

    drift = register["DriftCheckBaselines"]
    assert where(drift["ModelDataQuality"]["Statistics"]) == ["data_quality", "statistics.json"]
    assert where(drift["ModelDataQuality"]["Constraints"]) == ["data_quality", "constraints.json"]
    assert where(drift["ModelQuality"]["Statistics"]) == ["model_quality", "statistics.json"]
    assert where(drift["ModelQuality"]["Constraints"]) == ["model_quality", "constraints.json"]
    assert where(drift["Bias"]["ConfigFile"]) == ["bias/analysis_config.json"]
    assert register["ModelMetrics"]["ModelDataQuality"] == drift["ModelDataQuality"]
    assert where(register["ModelMetrics"]["ModelQuality"]["Constraints"]) == ["model_quality", "constraints.json"]


def test_container_parameters_parse_back_to_the_plan_with_runtime_values_spliced_in(definition) -> None:
    substitutes = {
        f"Parameters.{THRESHOLD_PARAMETER}": "0.71",
        "Execution.StartDateTime": "2026-01-02T03:04:05Z",
    }
    for step in walk_steps(definition):
        if step["Type"] not in ("Processing", "Training"):
            continue
        spec = step["Arguments"].get("AppSpecification") or step["Arguments"]["AlgorithmSpecification"]
        args = spec["ContainerArguments"]
        parsed = json.loads(join_with(args[args.index("--parameters") + 1], substitutes))
        expected = dict(PLAN.step(step["Name"]).parameters)
        if step["Name"] == "AdherenceEvaluate":
            expected["min_roc_auc"] = 0.71
        if step["Name"] == "AdherenceIngest":
            expected["event_time"] = "2026-01-02T03:04:05Z"
        assert parsed == expected, step["Name"]
        assert args[args.index("--entry-point") + 1] == PLAN.step(step["Name"]).entry_point


def test_experiments_record_each_execution_as_a_trial(definition) -> None:
    assert definition["PipelineExperimentConfig"] == {
        "ExperimentName": TARGET.experiment_name,
        "TrialName": {"Get": "Execution.PipelineExecutionId"},
    }


def test_rendering_is_deterministic_and_keeps_tokens_verbatim() -> None:
    first = SageMakerRenderer(PLAN, TARGET).to_json()
    assert first == SageMakerRenderer(assemble(DEFINITION), TARGET).to_json()
    for index in range(1, 8):
        assert TOKEN % index in first


def test_rendering_makes_no_network_call(monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError("the renderer opened a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert render_definition(assemble(DEFINITION), TARGET)["Steps"]


def test_any_plan_renders_the_toy_pipeline_has_no_gate() -> None:
    plan = assemble(make_definition())
    definition = render_definition(plan, TARGET)
    assert [s["Name"] for s in walk_steps(definition)] == list(plan.order)
    assert not any(p["Name"] == THRESHOLD_PARAMETER for p in definition["Parameters"])
