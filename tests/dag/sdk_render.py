"""Render a plan with the SageMaker Python SDK 2.257 (run in .venv-sdk by test_sagemaker_sdk_parity.py).

``python sdk_render.py [adherence|intent]`` (default adherence): the intent pipeline adds its own image, a GPU
training type, the CSV files as parameters of their own (``input_files``) and a processing output as the model.

Built from the plan and the target, as a team using the SDK would write it: a Processor / Estimator per step,
ProcessingStep / TrainingStep with caching and retries, a ConditionStep on a JsonGet of the report's property file,
a FailStep and a RegisterModel step collection. Prints ``{"definition": ..., "connect_attempts": [...]}``.

Telemetry is opted out through a SageMaker config file and every socket connection is refused and recorded, so the
test can assert that building the definition reached for the network zero times.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

ATTEMPTS: list[str] = []


def _refuse(*args: Any, **_kwargs: Any) -> Any:
    ATTEMPTS.append(repr(args[1:] if len(args) > 1 else args))
    raise OSError("network disabled in this test")


socket.socket.connect = _refuse  # type: ignore[method-assign]
socket.socket.connect_ex = _refuse  # type: ignore[method-assign]
socket.create_connection = _refuse
socket.getaddrinfo = _refuse

CONFIG = Path(tempfile.mkdtemp()) / "sagemaker-config.yaml"
CONFIG.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
os.environ.update(
    {
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(CONFIG),
        "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": str(CONFIG),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SAGEMAKER_VALIDATE_ROLE": "false",
    }
)
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import boto3  # noqa: E402
from sagemaker.drift_check_baselines import DriftCheckBaselines  # noqa: E402
from sagemaker.estimator import Estimator  # noqa: E402
from sagemaker.inputs import TrainingInput  # noqa: E402
from sagemaker.model import Model  # noqa: E402
from sagemaker.model_metrics import FileSource, MetricsSource, ModelMetrics  # noqa: E402
from sagemaker.network import NetworkConfig  # noqa: E402
from sagemaker.processing import ProcessingInput, ProcessingOutput, Processor  # noqa: E402
from sagemaker.workflow.condition_step import ConditionStep  # noqa: E402
from sagemaker.workflow.conditions import ConditionGreaterThanOrEqualTo  # noqa: E402
from sagemaker.workflow.execution_variables import ExecutionVariables  # noqa: E402
from sagemaker.workflow.fail_step import FailStep  # noqa: E402
from sagemaker.workflow.functions import Join, JsonGet  # noqa: E402
from sagemaker.workflow.model_step import ModelStep  # noqa: E402
from sagemaker.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString  # noqa: E402
from sagemaker.workflow.pipeline import Pipeline  # noqa: E402
from sagemaker.workflow.pipeline_context import PipelineSession  # noqa: E402
from sagemaker.workflow.pipeline_experiment_config import PipelineExperimentConfig  # noqa: E402
from sagemaker.workflow.properties import PropertyFile  # noqa: E402
from sagemaker.workflow.retry import (  # noqa: E402
    SageMakerJobExceptionTypeEnum,
    SageMakerJobStepRetryPolicy,
    StepExceptionTypeEnum,
    StepRetryPolicy,
)
from sagemaker.workflow.step_collections import RegisterModel  # noqa: E402
from sagemaker.workflow.steps import CacheConfig, ProcessingStep, TrainingStep  # noqa: E402

from pipeline_code.adherence.specs import DEFINITION as ADHERENCE  # noqa: E402
from pipeline_code.dag import assemble  # noqa: E402
from pipeline_code.dag.resolver import ExternalInputRef  # noqa: E402
from pipeline_code.dag.sagemaker import (  # noqa: E402
    CODE_INPUT,
    CONTAINER_ENTRYPOINT,
    FAIL_STEP,
    GATE_STEP,
    PROCESSING_ROOT,
    REPORT_PROPERTY_FILE,
    THRESHOLD_PARAMETER,
    SageMakerRenderer,
    external_parameter,
    parameter_name,
)
from pipeline_code.dag.spec import JobType  # noqa: E402
from pipeline_code.intent.specs import DEFINITION as INTENT  # noqa: E402
from tests.dag.sagemaker_helpers import PLAIN_INTENT_TARGET, PLAIN_TARGET  # noqa: E402

WHICH = sys.argv[1] if len(sys.argv) > 1 else "adherence"
PLAN = assemble({"adherence": ADHERENCE, "intent": INTENT}[WHICH])
TARGET = {"adherence": PLAIN_TARGET, "intent": PLAIN_INTENT_TARGET}[WHICH]
OURS = SageMakerRenderer(PLAN, TARGET)  # used only for the container argument strings (opaque to the SDK)
SESSION = PipelineSession(
    boto_session=boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"),
    default_bucket="unused-default-bucket",
)
PARAMS: dict[str, Any] = {}
STEPS: dict[str, Any] = {}
ESTIMATORS: dict[str, Any] = {}
EXECUTION = {
    "PipelineExecutionId": ExecutionVariables.PIPELINE_EXECUTION_ID,
    "StartDateTime": ExecutionVariables.START_DATETIME,
}


def parameter(kind: type, name: str, default: Any) -> Any:
    PARAMS[name] = kind(name=name, default_value=default)
    return PARAMS[name]


def step_property(step: str, path: str) -> Any:
    """``properties.A.B['x'].C`` of an SDK step, walked attribute by attribute."""
    node = STEPS[step].properties
    for part in path.removeprefix("properties.").split("."):
        match = re.fullmatch(r"(\w+)\['([^']+)'\]", part)
        node = getattr(node, match[1])[match[2]] if match else getattr(node, part)
    return node


def sdk(value: Any) -> Any:
    """One of our expressions (string, Get, Std:Join) as the SDK object that renders it."""
    if isinstance(value, str):
        return value
    if "Get" in value:
        kind, _, name = value["Get"].partition(".")
        return PARAMS[name] if kind == "Parameters" else EXECUTION[name]
    join = value["Std:Join"]
    return Join(on=join["On"], values=[sdk(v) for v in join["Values"]])


def output_uri(step: str, output: str) -> Join:
    base = f"s3://{TARGET.artifacts_bucket}/{TARGET.artifacts_prefix}"
    return Join(on="/", values=[base, ExecutionVariables.PIPELINE_EXECUTION_ID, step, output])


def source(binding: Any) -> Any:
    if isinstance(binding, ExternalInputRef):
        return PARAMS[external_parameter(binding.name)]
    producer = PLAN.step(binding.step_type)
    return step_property(binding.step_type, producer.spec.output(binding.output).property_path)


RETRIES = [
    StepRetryPolicy(
        exception_types=[StepExceptionTypeEnum.SERVICE_FAULT, StepExceptionTypeEnum.THROTTLING],
        interval_seconds=10, backoff_rate=2.0, max_attempts=5,
    ),
    SageMakerJobStepRetryPolicy(
        exception_types=[
            SageMakerJobExceptionTypeEnum.CAPACITY_ERROR,
            SageMakerJobExceptionTypeEnum.RESOURCE_LIMIT,
            SageMakerJobExceptionTypeEnum.INTERNAL_ERROR,
        ],
        interval_seconds=10, backoff_rate=2.0, max_attempts=5,
    ),
]  # fmt: skip
CACHE = CacheConfig(enable_caching=True, expire_after="P30D")
ENV = {"PYTHONUNBUFFERED": "1", "MLOPS_BACK_END": "sagemaker", "AWS_DEFAULT_REGION": TARGET.region}


def main() -> None:
    for name in PLAN.external_inputs:
        if name in TARGET.input_files:
            for file in TARGET.input_files[name]:
                parameter(ParameterString, file.parameter, file.default_uri)
        else:
            parameter(ParameterString, external_parameter(name), TARGET.input_data_uri)
    for step in PLAN.steps:
        job = TARGET.job(step)
        parameter(ParameterString, parameter_name(step.step_type, "InstanceType"), job.instance_type)
        parameter(ParameterInteger, parameter_name(step.step_type, "InstanceCount"), job.instance_count)
    gate = PLAN.quality_gate
    assert gate is not None
    threshold = parameter(
        ParameterFloat, THRESHOLD_PARAMETER, float(PLAN.step(gate.report_step).parameters[gate.threshold_parameter])
    )
    report = PropertyFile(name=REPORT_PROPERTY_FILE, output_name=gate.report_output, path=gate.report_file)

    for step in PLAN.steps:
        job = TARGET.job(step)
        args = [sdk(a) for a in OURS._container_arguments(step, OURS._model_inputs(step))]
        instance_type = PARAMS[parameter_name(step.step_type, "InstanceType")]
        instance_count = PARAMS[parameter_name(step.step_type, "InstanceCount")]
        isolated = not step.spec.network_access
        if step.job_type is JobType.TRAINING:
            estimator = Estimator(
                image_uri=TARGET.image_uri, role=TARGET.role_arn, instance_count=instance_count,
                instance_type=instance_type, volume_size=job.volume_size_gb, volume_kms_key=TARGET.kms_key_arn,
                max_run=job.max_runtime_s, output_path=output_uri(step.step_type, "model"),
                output_kms_key=TARGET.kms_key_arn,
                hyperparameters={k: v if isinstance(v, str) else json.dumps(v) for k, v in step.parameters.items()},
                enable_network_isolation=isolated, encrypt_inter_container_traffic=True, environment=ENV,
                container_entry_point=list(CONTAINER_ENTRYPOINT), container_arguments=args,
                debugger_hook_config=False, disable_profiler=True, sagemaker_session=SESSION,
            )  # fmt: skip
            ESTIMATORS[step.step_type] = estimator
            inputs = {name: TrainingInput(s3_data=source(b)) for name, b in sorted(step.inputs.items())}
            inputs[CODE_INPUT] = TrainingInput(s3_data=TARGET.code_uri)
            STEPS[step.step_type] = TrainingStep(
                name=step.step_type, step_args=estimator.fit(inputs), cache_config=CACHE, retry_policies=RETRIES,
                description=step.spec.description,
            )  # fmt: skip
            continue
        processor = Processor(
            role=TARGET.role_arn, image_uri=TARGET.image_uri, instance_count=instance_count,
            instance_type=instance_type, entrypoint=list(CONTAINER_ENTRYPOINT), volume_size_in_gb=job.volume_size_gb,
            volume_kms_key=TARGET.kms_key_arn, output_kms_key=TARGET.kms_key_arn,
            max_runtime_in_seconds=job.max_runtime_s, env=ENV, sagemaker_session=SESSION,
            network_config=NetworkConfig(enable_network_isolation=isolated, encrypt_inter_container_traffic=True),
        )  # fmt: skip
        inputs = []
        for name, b in sorted(step.inputs.items()):
            if isinstance(b, ExternalInputRef) and b.name in TARGET.input_files:
                inputs += [
                    ProcessingInput(source=PARAMS[f.parameter], input_name=f"{name}-{f.folder}",
                                    destination=f"{PROCESSING_ROOT}/input/{name}/{f.folder}")
                    for f in TARGET.input_files[b.name]
                ]  # fmt: skip
            else:
                inputs.append(
                    ProcessingInput(source=source(b), destination=f"{PROCESSING_ROOT}/input/{name}", input_name=name)
                )
        inputs.append(ProcessingInput(source=TARGET.code_uri, destination=f"{PROCESSING_ROOT}/input/{CODE_INPUT}",
                                      input_name=CODE_INPUT))  # fmt: skip
        outputs = [
            ProcessingOutput(
                output_name=o.logical_name,
                source=f"{PROCESSING_ROOT}/output/{o.logical_name}",
                destination=output_uri(step.step_type, o.logical_name),
            )
            for o in step.spec.outputs
        ]
        STEPS[step.step_type] = ProcessingStep(
            name=step.step_type, step_args=processor.run(inputs=inputs, outputs=outputs, arguments=args),
            cache_config=CACHE, retry_policies=RETRIES, description=step.spec.description,
            property_files=[report] if step.step_type == gate.report_step else None,
        )  # fmt: skip

    metric = JsonGet(step_name=gate.report_step, property_file=report, json_path=gate.metric)
    statistics = MetricsSource(
        content_type="application/json",
        s3_uri=Join(on="/", values=[source_of(gate.report_step, gate.report_output), gate.report_file]),
    )
    model_metrics = ModelMetrics(model_statistics=statistics)
    drift_check_baselines = None
    if gate.baselines is not None:
        spec = gate.baselines
        root = source_of(spec.step, spec.output)

        def baseline(*parts: str) -> MetricsSource:
            return MetricsSource(content_type="application/json", s3_uri=Join(on="/", values=[root, *parts]))

        model_metrics = ModelMetrics(
            model_statistics=statistics,
            model_constraints=baseline(spec.model_quality, "constraints.json"),
            model_data_statistics=baseline(spec.data_quality, "statistics.json"),
            model_data_constraints=baseline(spec.data_quality, "constraints.json"),
        )
        drift_check_baselines = DriftCheckBaselines(
            model_statistics=baseline(spec.model_quality, "statistics.json"),
            model_constraints=baseline(spec.model_quality, "constraints.json"),
            model_data_statistics=baseline(spec.data_quality, "statistics.json"),
            model_data_constraints=baseline(spec.data_quality, "constraints.json"),
            bias_config_file=FileSource(
                content_type="application/json", s3_uri=Join(on="/", values=[root, spec.bias_config])
            ),
        )
    description = f"{PLAN.name} model registered by pipeline {TARGET.pipeline_name}"
    model_data = source_of(gate.model_step, gate.model_output)
    if gate.model_step in ESTIMATORS:
        register = RegisterModel(
            name=PLAN.name.capitalize(), content_types=list(gate.content_types),
            response_types=list(gate.response_types), inference_instances=list(TARGET.inference_instance_types),
            transform_instances=list(TARGET.transform_instance_types),
            model_package_group_name=TARGET.model_package_group, approval_status="PendingManualApproval",
            estimator=ESTIMATORS[gate.model_step], image_uri=TARGET.image_uri, model_data=model_data,
            model_metrics=model_metrics, drift_check_baselines=drift_check_baselines, description=description,
        )  # fmt: skip
    else:  # the model is a processing job's output: no estimator, so a Model registered through a ModelStep
        model = Model(
            image_uri=TARGET.image_uri, model_data=model_data, role=TARGET.role_arn, sagemaker_session=SESSION
        )
        register = ModelStep(
            name=PLAN.name.capitalize(),
            description=description,
            step_args=model.register(
                content_types=list(gate.content_types), response_types=list(gate.response_types),
                inference_instances=list(TARGET.inference_instance_types),
                transform_instances=list(TARGET.transform_instance_types),
                model_package_group_name=TARGET.model_package_group, approval_status="PendingManualApproval",
                model_metrics=model_metrics, description=description,
            ),
        )  # fmt: skip
    fail = FailStep(
        name=FAIL_STEP,
        error_message=Join(on=" ", values=[f"Quality gate: {gate.metric} =", metric, "is below the threshold",
                                           threshold, "; the model was not registered."]),
    )  # fmt: skip
    condition = ConditionStep(
        name=GATE_STEP,
        conditions=[ConditionGreaterThanOrEqualTo(left=metric, right=threshold)],
        if_steps=[register],
        else_steps=[fail],
        description=f"Register the model only if {gate.metric} reaches {THRESHOLD_PARAMETER}",
    )
    pipeline = Pipeline(
        name=TARGET.pipeline_name,
        parameters=list(PARAMS.values()),
        steps=[*(STEPS[s] for s in PLAN.order), condition],
        pipeline_experiment_config=PipelineExperimentConfig(
            TARGET.experiment_name, ExecutionVariables.PIPELINE_EXECUTION_ID
        ),
        sagemaker_session=SESSION,
    )
    definition = json.loads(pipeline.definition())
    print(json.dumps({"definition": definition, "connect_attempts": ATTEMPTS}))


def source_of(step: str, output: str) -> Any:
    return step_property(step, PLAN.step(step).spec.output(output).property_path)


if __name__ == "__main__":
    main()
