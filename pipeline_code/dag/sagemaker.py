"""The SageMaker back end: a PipelinePlan rendered as a SageMaker Pipelines definition (schema 2020-12-01).

Rendered by hand as plain dicts, so the CDK app needs neither the SageMaker Python SDK (~300 MB) nor any AWS call at
synth. Every AWS name (role, bucket, key, image, code location) arrives as a string that may be a CDK token: it is
placed in the definition as is and never parsed, and the stack embeds the result with ``Stack.to_json_string``.
``tests/dag/test_sagemaker_sdk_parity.py`` renders the same plan with the SDK and compares it step by step.

What a plan becomes:

- each planned step a ``Processing`` or ``Training`` step (by ``JobType``) that runs the step image with the
  container entry point (:mod:`pipeline_code.dag.container`) on the code archive, which arrives as one more input;
- each edge a ``{"Get": "Steps.<producer>.<property path>"}`` taken from the producer's ``OutputSpec``; each external
  input a pipeline parameter (an S3 prefix), or, where the target splits it into files (``input_files``), one
  parameter per file, each object delivered to its own folder of that input (``<input>/<folder>/<object>``);
- the plan's quality gate a ``Condition`` step on the report (a property file read with ``Std:JsonGet``) against a
  threshold parameter, with a ``RegisterModel`` step (``PendingManualApproval``, the report as model metrics) when it
  passes and a ``Fail`` step naming the metric when it does not.

Every output, volume and model is encrypted with the stage key, traffic between instances too, and a job runs
network-isolated unless its spec says it calls a service (``network_access``). Output is deterministic: same plan
and target, same dict, same JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline_code.dag.assembler import BuiltInput, PipelinePlan, PlannedStep
from pipeline_code.dag.resolver import ExternalInputRef, StepOutputRef
from pipeline_code.dag.spec import TRAINING_MODEL_PATH, JobType, QualityGate

SCHEMA_VERSION = "2020-12-01"
CODE_INPUT = "code"
"""Name of the extra input (processing) / channel (training) that carries the code archive."""
CONTAINER_ENTRYPOINT = ("python3", "/opt/mlops/bootstrap.py")
"""The step image's bootstrap (docker/steps/bootstrap.py): unpacks the code input, then runs the container module."""
CONTAINER_MODULE = "pipeline_code.dag.container"
GATE_STEP = "QualityGate"
FAIL_STEP = "QualityGateFailed"
REGISTER_SUFFIX = "-RegisterModel"  # the SDK's RegisterModel step collection names its step so
THRESHOLD_PARAMETER = "QualityGateThreshold"
REPORT_PROPERTY_FILE = "QualityReport"
PROCESSING_ROOT = "/opt/ml/processing"
# Retried by SageMaker itself: throttling and service faults of the step, capacity and limits of the job.
STEP_RETRY_ERRORS = ("Step.SERVICE_FAULT", "Step.THROTTLING")
JOB_RETRY_ERRORS = ("SageMaker.CAPACITY_ERROR", "SageMaker.RESOURCE_LIMIT", "SageMaker.JOB_INTERNAL_ERROR")
_NAME = re.compile(r"^[A-Za-z0-9](-*[A-Za-z0-9_])*$")


class RenderError(ValueError):
    """The plan or the target cannot be rendered; the message names the step, input or setting."""


@dataclass(frozen=True)
class JobResources:
    """Instances of one job: type and count (both become pipeline parameters), volume size and time limit."""

    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_s: int = 3600

    def __post_init__(self) -> None:
        if not self.instance_type.startswith("ml."):
            raise RenderError(f"instance type {self.instance_type!r} must be a SageMaker type such as 'ml.m5.large'")
        if not 1 <= self.instance_count <= 100:
            raise RenderError(f"instance count must be 1-100, not {self.instance_count}")
        if not 1 <= self.volume_size_gb <= 16384:
            raise RenderError(f"volume size must be 1-16384 GB, not {self.volume_size_gb}")
        if not 60 <= self.max_runtime_s <= 432000:
            raise RenderError(f"max runtime must be 60-432000 s, not {self.max_runtime_s}")


@dataclass(frozen=True)
class InputFile:
    """One object of an external input, given as its own pipeline parameter (e.g. ``TrainCsvUri``).

    The job finds it in ``<input dir>/<folder>/`` under its own object name: SageMaker downloads every object whose
    key starts with the URI into that folder. ``default_uri`` is the parameter's default.
    """

    folder: str
    parameter: str
    default_uri: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.folder):
            raise RenderError(f"input file folder {self.folder!r} must be lower_snake_case")
        if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", self.parameter):
            raise RenderError(f"input file parameter {self.parameter!r} must be PascalCase")


@dataclass(frozen=True)
class RetrySettings:
    """SageMaker retries of a step: ``max_attempts`` per error family, exponential back-off from ``interval_s``."""

    interval_s: int = 10
    backoff_rate: float = 2.0
    max_attempts: int = 5


@dataclass(frozen=True)
class SageMakerTarget:
    """Where and how a plan runs on SageMaker; every string may be a CDK token.

    - ``artifacts_bucket`` / ``artifacts_prefix``: run data goes to ``s3://bucket/prefix/<execution id>/<step>/<out>``.
    - ``code_uri``: the S3 object of the code archive (a zip of the ``pipeline_code`` package).
    - ``input_data_uri``: default of the pipeline parameter of every external input (``<Name>Uri``).
    - ``input_files``: external input -> its files, each a parameter of its own instead of ``<Name>Uri``.
    - ``resources``: per-step overrides of ``processing`` / ``training`` defaults.
    - ``subnet_ids`` / ``security_group_ids``: run the jobs in a VPC (both or neither).
    """

    pipeline_name: str
    role_arn: str
    artifacts_bucket: str
    artifacts_prefix: str
    kms_key_arn: str
    image_uri: str
    code_uri: str
    input_data_uri: str
    model_package_group: str
    experiment_name: str
    region: str = ""
    processing: JobResources = JobResources()
    training: JobResources = JobResources()
    resources: Mapping[str, JobResources] = field(default_factory=dict)
    input_files: Mapping[str, tuple[InputFile, ...]] = field(default_factory=dict)
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    cache_expire_after: str = "P30D"
    retry: RetrySettings = RetrySettings()
    inference_instance_types: tuple[str, ...] = ("ml.m5.large",)
    transform_instance_types: tuple[str, ...] = ("ml.m5.large",)

    def __post_init__(self) -> None:
        if bool(self.subnet_ids) != bool(self.security_group_ids):
            raise RenderError("VPC settings need both subnet_ids and security_group_ids, or neither")
        if not re.fullmatch(r"P(\d+[DWMY]|T\d+[HMS])", self.cache_expire_after):
            raise RenderError(f"cache_expire_after {self.cache_expire_after!r} is not an ISO 8601 duration like P30D")

    def job(self, step: PlannedStep) -> JobResources:
        default = self.training if step.job_type is JobType.TRAINING else self.processing
        return self.resources.get(step.step_type, default)


def _get(path: str) -> dict[str, str]:
    return {"Get": path}


def _join(on: str, *values: Any) -> dict[str, Any]:
    return {"Std:Join": {"On": on, "Values": list(values)}}


def parameter_name(step_type: str, what: str) -> str:
    """Pipeline parameter of a step setting, e.g. ``AdherenceTrainInstanceType``."""
    return f"{step_type}{what}"


def external_parameter(name: str) -> str:
    """Pipeline parameter of an external input: ``raw_data`` -> ``RawDataUri``."""
    return "".join(part.capitalize() for part in name.split("_")) + "Uri"


def property_reference(step_type: str, property_path: str) -> dict[str, str]:
    """``properties.X.Y`` of step ``step_type`` as a ``Get`` expression."""
    if not property_path.startswith("properties."):
        raise RenderError(f"step {step_type!r}: property path {property_path!r} does not start with 'properties.'")
    return _get(f"Steps.{step_type}.{property_path.removeprefix('properties.')}")


@dataclass(frozen=True)
class RenderedStep:
    """What the renderer built for one plan step: its definition and, per output, a reference to its S3 location."""

    definition: dict[str, Any]
    outputs: Mapping[str, dict[str, Any]]


class SageMakerRenderer:
    """Renders one plan for one target. ``render()`` returns the definition dict; ``to_json()`` its stable JSON."""

    def __init__(self, plan: PipelinePlan, target: SageMakerTarget) -> None:
        self.plan = plan
        self.target = target
        self._check()

    # -- checks -------------------------------------------------------------------------------------------------

    def _check(self) -> None:
        for step in self.plan.steps:
            if not _NAME.match(step.step_type) or len(step.step_type) > 64:
                raise RenderError(f"step name {step.step_type!r} is not a valid SageMaker step name")
            if CODE_INPUT in step.inputs:
                raise RenderError(f"step {step.step_type!r}: input name {CODE_INPUT!r} is reserved for the code")
        self._check_input_files()
        unknown = sorted(set(self.target.resources) - set(self.plan.order))
        if unknown:
            raise RenderError(
                f"resources name unknown step(s) {', '.join(unknown)} (steps: {', '.join(self.plan.order)})"
            )

    def _check_input_files(self) -> None:
        files = self.target.input_files
        unknown = sorted(set(files) - set(self.plan.external_inputs))
        if unknown:
            raise RenderError(
                f"input_files name unknown external input(s) {', '.join(unknown)} "
                f"(external inputs: {', '.join(self.plan.external_inputs) or 'none'})"
            )
        parameters = [f.parameter for group in files.values() for f in group]
        taken = {external_parameter(name) for name in self.plan.external_inputs} | {THRESHOLD_PARAMETER}
        for step in self.plan.steps:
            taken |= {parameter_name(step.step_type, "InstanceType"), parameter_name(step.step_type, "InstanceCount")}
        clashes = sorted({p for p in parameters if parameters.count(p) > 1 or p in taken})
        if clashes:
            raise RenderError(f"input file parameter(s) {', '.join(clashes)} clash with other pipeline parameters")
        for name, group in files.items():
            if not group:
                raise RenderError(f"input_files[{name!r}] is empty")
            folders = [f.folder for f in group]
            if len(set(folders)) != len(folders):
                raise RenderError(f"input_files[{name!r}]: folders must be unique, got {folders}")
            for step in self.plan.steps:
                bound = any(isinstance(b, ExternalInputRef) and b.name == name for b in step.inputs.values())
                if bound and step.job_type is JobType.TRAINING:
                    raise RenderError(
                        f"step {step.step_type!r}: external input {name!r} is split into files, which only "
                        "processing jobs can receive (a training channel is one S3 prefix)"
                    )

    # -- parameters ---------------------------------------------------------------------------------------------

    def parameters(self) -> list[dict[str, Any]]:
        params: list[dict[str, Any]] = []
        for name in self.plan.external_inputs:
            if name in self.target.input_files:
                params += [
                    {"Name": f.parameter, "Type": "String", "DefaultValue": f.default_uri}
                    for f in self.target.input_files[name]
                ]
            else:
                params.append(
                    {"Name": external_parameter(name), "Type": "String", "DefaultValue": self.target.input_data_uri}
                )
        for step in self.plan.steps:
            job = self.target.job(step)
            params.append(
                {
                    "Name": parameter_name(step.step_type, "InstanceType"),
                    "Type": "String",
                    "DefaultValue": job.instance_type,
                }
            )
            params.append(
                {
                    "Name": parameter_name(step.step_type, "InstanceCount"),
                    "Type": "Integer",
                    "DefaultValue": job.instance_count,
                }
            )
        gate = self.plan.quality_gate
        if gate is not None:
            threshold = self.plan.step(gate.report_step).parameters[gate.threshold_parameter]
            params.append({"Name": THRESHOLD_PARAMETER, "Type": "Float", "DefaultValue": float(threshold)})
        return params

    # -- steps --------------------------------------------------------------------------------------------------

    def _output_uri(self, step_type: str, output: str) -> dict[str, Any]:
        base = f"s3://{self.target.artifacts_bucket}/{self.target.artifacts_prefix}".rstrip("/")
        return _join("/", base, _get("Execution.PipelineExecutionId"), step_type, output)

    def _input_uri(self, built: BuiltInput[RenderedStep]) -> Any:
        binding = built.binding
        if isinstance(binding, ExternalInputRef):
            return _get(f"Parameters.{external_parameter(binding.name)}")
        assert isinstance(binding, StepOutputRef) and built.upstream is not None
        return built.upstream.outputs[binding.output]

    def _parameters_json(self, step: PlannedStep) -> Any:
        """The step's parameters as one JSON argument; execution variables and the gate threshold spliced in.

        A spliced value becomes a ``Std:Join`` piece: quoted for an execution variable (a string), bare for the
        threshold (a number), so the container parses the same JSON types the local executor passes.
        """
        spliced: list[tuple[str, dict[str, str], bool]] = [
            (name, _get(f"Execution.{variable.value}"), True)
            for name, variable in sorted(step.spec.execution_parameters.items())
        ]
        gate = self.plan.quality_gate
        if gate is not None and gate.report_step == step.step_type:
            spliced.append((gate.threshold_parameter, _get(f"Parameters.{THRESHOLD_PARAMETER}"), False))
        document = dict(step.parameters)
        for index, (name, _ref, _quoted) in enumerate(spliced):
            document[name] = f"@@spliced{index}@@"
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        if not spliced:
            return text
        pieces: list[Any] = []
        for index, (_name, ref, quoted) in enumerate(spliced):
            marker = f'"@@spliced{index}@@"'
            before, _, text = text.partition(marker)
            pieces += [before + ('"' if quoted else ""), ref]
            text = ('"' if quoted else "") + text
        pieces.append(text)
        return _join("", *pieces)

    def _container_arguments(self, step: PlannedStep, extract: list[str]) -> list[Any]:
        args: list[Any] = [
            CONTAINER_MODULE,
            "--step",
            step.step_type,
            "--entry-point",
            step.entry_point,
            "--job-type",
            step.job_type.value,
        ]
        for name in extract:
            args += ["--extract", name]
        return [*args, "--parameters", self._parameters_json(step)]

    def _model_inputs(self, step: PlannedStep) -> list[str]:
        """Inputs fed by a training job's model: SageMaker hands them over as model.tar.gz, to unpack first."""
        names = []
        for name, binding in step.inputs.items():
            if isinstance(binding, StepOutputRef):
                producer = self.plan.step(binding.step_type)
                if producer.spec.output(binding.output).property_path == TRAINING_MODEL_PATH:
                    names.append(name)
        return sorted(names)

    def _environment(self) -> dict[str, Any]:
        env: dict[str, Any] = {"PYTHONUNBUFFERED": "1", "MLOPS_BACK_END": "sagemaker"}
        if self.target.region:
            env["AWS_DEFAULT_REGION"] = self.target.region
        return env

    def _common(self, step: PlannedStep) -> dict[str, Any]:
        retry = self.target.retry
        common: dict[str, Any] = {
            "Name": step.step_type,
            "Description": (step.spec.description or step.step_type)[:3072],
            "CacheConfig": {"Enabled": True, "ExpireAfter": self.target.cache_expire_after},
            "RetryPolicies": [
                {
                    "ExceptionType": list(STEP_RETRY_ERRORS),
                    "IntervalSeconds": retry.interval_s,
                    "BackoffRate": retry.backoff_rate,
                    "MaxAttempts": retry.max_attempts,
                },
                {
                    "ExceptionType": list(JOB_RETRY_ERRORS),
                    "IntervalSeconds": retry.interval_s,
                    "BackoffRate": retry.backoff_rate,
                    "MaxAttempts": retry.max_attempts,
                },
            ],
        }
        return common

    def _vpc(self) -> dict[str, Any] | None:
        if not self.target.subnet_ids:
            return None
        return {"SecurityGroupIds": list(self.target.security_group_ids), "Subnets": list(self.target.subnet_ids)}

    def _processing(self, step: PlannedStep, inputs: Mapping[str, BuiltInput[RenderedStep]]) -> RenderedStep:
        job = self.target.job(step)
        outputs = {out.logical_name: self._output_uri(step.step_type, out.logical_name) for out in step.spec.outputs}
        processing_inputs = []
        for name, built in sorted(inputs.items()):
            binding = built.binding
            if isinstance(binding, ExternalInputRef) and binding.name in self.target.input_files:
                processing_inputs += [
                    _processing_input(
                        f"{name}-{f.folder}",
                        _get(f"Parameters.{f.parameter}"),
                        f"{PROCESSING_ROOT}/input/{name}/{f.folder}",
                    )
                    for f in self.target.input_files[binding.name]
                ]
            else:
                processing_inputs.append(
                    _processing_input(name, self._input_uri(built), f"{PROCESSING_ROOT}/input/{name}")
                )
        processing_inputs.append(
            _processing_input(CODE_INPUT, self.target.code_uri, f"{PROCESSING_ROOT}/input/{CODE_INPUT}")
        )
        network: dict[str, Any] = {
            "EnableNetworkIsolation": not step.spec.network_access,
            "EnableInterContainerTrafficEncryption": True,
        }
        if self._vpc():
            network["VpcConfig"] = self._vpc()
        arguments: dict[str, Any] = {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": _get(f"Parameters.{parameter_name(step.step_type, 'InstanceType')}"),
                    "InstanceCount": _get(f"Parameters.{parameter_name(step.step_type, 'InstanceCount')}"),
                    "VolumeSizeInGB": job.volume_size_gb,
                    "VolumeKmsKeyId": self.target.kms_key_arn,
                }
            },
            "AppSpecification": {
                "ImageUri": self.target.image_uri,
                "ContainerEntrypoint": list(CONTAINER_ENTRYPOINT),
                "ContainerArguments": self._container_arguments(step, self._model_inputs(step)),
            },
            "RoleArn": self.target.role_arn,
            "ProcessingInputs": processing_inputs,
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": name,
                        "AppManaged": False,
                        "S3Output": {
                            "S3Uri": uri,
                            "LocalPath": f"{PROCESSING_ROOT}/output/{name}",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                    for name, uri in outputs.items()
                ],
                "KmsKeyId": self.target.kms_key_arn,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": job.max_runtime_s},
            "Environment": self._environment(),
            "NetworkConfig": network,
        }
        definition = {**self._common(step), "Type": "Processing", "Arguments": arguments}
        gate = self.plan.quality_gate
        if gate is not None and gate.report_step == step.step_type:
            definition["PropertyFiles"] = [
                {
                    "PropertyFileName": REPORT_PROPERTY_FILE,
                    "OutputName": gate.report_output,
                    "FilePath": gate.report_file,
                }
            ]
        refs = {out.logical_name: property_reference(step.step_type, out.property_path) for out in step.spec.outputs}
        return RenderedStep(definition, refs)

    def _training(self, step: PlannedStep, inputs: Mapping[str, BuiltInput[RenderedStep]]) -> RenderedStep:
        job = self.target.job(step)
        channels = [_channel(name, self._input_uri(built)) for name, built in sorted(inputs.items())]
        channels.append(_channel(CODE_INPUT, self.target.code_uri, data_type="S3Prefix"))
        arguments: dict[str, Any] = {
            "AlgorithmSpecification": {
                "TrainingImage": self.target.image_uri,
                "TrainingInputMode": "File",
                "ContainerEntrypoint": list(CONTAINER_ENTRYPOINT),
                "ContainerArguments": self._container_arguments(step, self._model_inputs(step)),
            },
            "OutputDataConfig": {
                "S3OutputPath": self._output_uri(step.step_type, "model"),
                "KmsKeyId": self.target.kms_key_arn,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": job.max_runtime_s},
            "ResourceConfig": {
                "InstanceType": _get(f"Parameters.{parameter_name(step.step_type, 'InstanceType')}"),
                "InstanceCount": _get(f"Parameters.{parameter_name(step.step_type, 'InstanceCount')}"),
                "VolumeSizeInGB": job.volume_size_gb,
                "VolumeKmsKeyId": self.target.kms_key_arn,
            },
            "RoleArn": self.target.role_arn,
            "InputDataConfig": channels,
            # Shown in the console and recorded by Experiments; the container reads --parameters (same values).
            "HyperParameters": {name: _hyperparameter(value) for name, value in sorted(step.parameters.items())},
            "Environment": self._environment(),
            "EnableNetworkIsolation": not step.spec.network_access,
            "EnableInterContainerTrafficEncryption": True,
            "ProfilerConfig": {"DisableProfiler": True},  # no system profiling: nothing reads it, it bills storage
        }
        if self._vpc():
            arguments["VpcConfig"] = self._vpc()
        definition = {**self._common(step), "Type": "Training", "Arguments": arguments}
        refs = {out.logical_name: property_reference(step.step_type, out.property_path) for out in step.spec.outputs}
        return RenderedStep(definition, refs)

    def _build(self, step: PlannedStep, inputs: Mapping[str, BuiltInput[RenderedStep]]) -> RenderedStep:
        if step.job_type is JobType.TRAINING:
            return self._training(step, inputs)
        return self._processing(step, inputs)

    # -- quality gate -------------------------------------------------------------------------------------------

    def _gate(self, gate: QualityGate, built: Mapping[str, RenderedStep]) -> dict[str, Any]:
        metric = {
            "Std:JsonGet": {
                "PropertyFile": _get(f"Steps.{gate.report_step}.PropertyFiles.{REPORT_PROPERTY_FILE}"),
                "Path": gate.metric,
            }
        }
        threshold = _get(f"Parameters.{THRESHOLD_PARAMETER}")
        report_uri = _join("/", built[gate.report_step].outputs[gate.report_output], gate.report_file)
        description = f"{self.plan.name} model registered by pipeline {self.target.pipeline_name}"
        model_metrics: dict[str, Any] = {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": report_uri}}
        }
        drift_baselines: dict[str, Any] = {}
        if gate.baselines is not None:
            model_metrics, drift_baselines = self._baselines(gate, built, model_metrics)
        register = {
            "Name": f"{self.plan.name.capitalize()}{REGISTER_SUFFIX}",
            "Type": "RegisterModel",
            "Description": description,
            "Arguments": {
                "ModelPackageGroupName": self.target.model_package_group,
                "ModelPackageDescription": description,
                "ModelMetrics": model_metrics,
                **({"DriftCheckBaselines": drift_baselines} if drift_baselines else {}),
                "InferenceSpecification": {
                    "Containers": [
                        {
                            "Image": self.target.image_uri,
                            "ModelDataUrl": built[gate.model_step].outputs[gate.model_output],
                        }
                    ],
                    "SupportedContentTypes": list(gate.content_types),
                    "SupportedResponseMIMETypes": list(gate.response_types),
                    "SupportedRealtimeInferenceInstanceTypes": list(self.target.inference_instance_types),
                    "SupportedTransformInstanceTypes": list(self.target.transform_instance_types),
                },
                "ModelApprovalStatus": "PendingManualApproval",
            },
        }
        fail = {
            "Name": FAIL_STEP,
            "Type": "Fail",
            "Arguments": {
                "ErrorMessage": _join(
                    " ",
                    f"Quality gate: {gate.metric} =",
                    metric,
                    "is below the threshold",
                    threshold,
                    "; the model was not registered.",
                )
            },
        }
        return {
            "Name": GATE_STEP,
            "Type": "Condition",
            "Description": f"Register the model only if {gate.metric} reaches {THRESHOLD_PARAMETER}",
            "Arguments": {
                "Conditions": [{"Type": "GreaterThanOrEqualTo", "LeftValue": metric, "RightValue": threshold}],
                "IfSteps": [register],
                "ElseSteps": [fail],
            },
        }

    def _baselines(
        self, gate: QualityGate, built: Mapping[str, RenderedStep], model_metrics: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """ModelMetrics and DriftCheckBaselines of the registered package from the baseline step's output: the
        data-quality and model-quality statistics / constraints, and the bias analysis configuration."""
        assert gate.baselines is not None
        spec = gate.baselines
        root = built[spec.step].outputs[spec.output]

        def source(*parts: str) -> dict[str, Any]:
            return {"ContentType": "application/json", "S3Uri": _join("/", root, *parts)}

        metrics = dict(model_metrics)
        drift: dict[str, Any] = {}
        if spec.data_quality:
            pair = {
                "Statistics": source(spec.data_quality, "statistics.json"),
                "Constraints": source(spec.data_quality, "constraints.json"),
            }
            metrics["ModelDataQuality"] = pair
            drift["ModelDataQuality"] = pair
        if spec.model_quality:
            metrics["ModelQuality"] = {
                **metrics.get("ModelQuality", {}),
                "Constraints": source(spec.model_quality, "constraints.json"),
            }
            drift["ModelQuality"] = {
                "Statistics": source(spec.model_quality, "statistics.json"),
                "Constraints": source(spec.model_quality, "constraints.json"),
            }
        if spec.bias_config:
            drift["Bias"] = {"ConfigFile": source(spec.bias_config)}
        return metrics, drift

    # -- whole definition ---------------------------------------------------------------------------------------

    def render(self) -> dict[str, Any]:
        built = self.plan.build(self._build)
        steps = [built[step_type].definition for step_type in self.plan.order]
        if self.plan.quality_gate is not None:
            steps.append(self._gate(self.plan.quality_gate, built))
        return {
            "Version": SCHEMA_VERSION,
            "Metadata": {},
            "Parameters": self.parameters(),
            "PipelineExperimentConfig": {
                "ExperimentName": self.target.experiment_name,
                "TrialName": _get("Execution.PipelineExecutionId"),
            },
            "Steps": steps,
        }

    def to_json(self) -> str:
        return json.dumps(self.render(), sort_keys=True, separators=(",", ":"))


def _processing_input(name: str, uri: Any, local_path: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "AppManaged": False,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local_path,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": "FullyReplicated",
            "S3CompressionType": "None",
        },
    }


def _channel(name: str, uri: Any, *, data_type: str = "S3Prefix") -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": data_type, "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
    }


def _hyperparameter(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def render_definition(plan: PipelinePlan, target: SageMakerTarget) -> dict[str, Any]:
    """Shortcut for ``SageMakerRenderer(plan, target).render()``."""
    return SageMakerRenderer(plan, target).render()


def walk_steps(definition: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every step of a definition, condition branches included, in definition order (depth first)."""
    found: list[dict[str, Any]] = []

    def visit(steps: list[dict[str, Any]]) -> None:
        for step in steps:
            found.append(step)
            if step.get("Type") == "Condition":
                visit(step["Arguments"].get("IfSteps", []))
                visit(step["Arguments"].get("ElseSteps", []))

    visit(list(definition["Steps"]))
    return found
