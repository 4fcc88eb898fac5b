"""``Session(stage=...)``: the resolved platform config plus helpers for the common operations, defaults applied.

    session = Session(stage="dev")
    run = session.start_pipeline("adherence", {"InputDataUri": "s3://mlops-dev-raw-.../diabetic_data.csv.gz"})
    session.pipeline_execution(run.arn)["PipelineExecutionStatus"]

Every helper calls boto3 with the role, KMS key, buckets, network and job sizes of the resolved config (runtime
arguments > ``MLOPS_*`` environment > admin config > built-in defaults); every call that changes something leaves an
audit line; AWS errors arrive as :mod:`mlops_sdk.errors` exceptions that say what to do. The SageMaker Python SDK is
optional: :meth:`Session.sagemaker_session` imports it only when asked.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from mlops_sdk.audit import AuditTrail
from mlops_sdk.config import PlatformConfig
from mlops_sdk.errors import (
    ConfigError,
    EndpointNotReadyError,
    InvalidRequestError,
    MlopsSdkError,
    SageMakerSdkMissingError,
    credentials_error,
    map_client_error,
)
from mlops_sdk.export import default_config_path, sagemaker_defaults
from mlops_sdk.resolve import Resolved, resolve
from mlops_sdk.store import read_config

AUDIT_DIR = Path("~/.local/state/mlops/audit")
PROCESSING_ROOT = "/opt/ml/processing"
FEATURE_NAME = re.compile(r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$")


@dataclass(frozen=True)
class PipelineExecution:
    pipeline_name: str
    arn: str


@dataclass(frozen=True)
class FeatureColumn:
    """A feature of a feature group: its name and whether it holds whole numbers, decimals or text."""

    name: str
    type: str  # "Integral" | "Fractional" | "String"


class Session:
    """The resolved config of one stage (``self.config``, with provenance in ``self.resolved``) and helpers.

    ``config_path``: default ``$MLOPS_CONFIG_FILE``, else ``$MLOPS_CONFIG_DIR/<stage>.yaml``, else
    ``~/.config/mlops/<stage>.yaml`` (plain or encrypted). ``overrides``: runtime values by dotted path
    (``{"training.instance_type": "ml.c5.2xlarge"}``). ``environ`` defaults to ``os.environ``.
    """

    def __init__(
        self,
        stage: str,
        *,
        config_path: Path | str | None = None,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
        boto_session: Any = None,
        key_file: Path | None = None,
        audit_path: Path | None = None,
    ) -> None:
        self.stage = stage
        self._environ = dict(os.environ if environ is None else environ)
        self._boto = boto_session
        path = self._config_path(stage, config_path)
        admin = read_config(path, environ=self._environ, key_file=key_file, kms_factory=self._kms_for_region)
        if admin.get("stage") != stage:
            raise ConfigError(f"{path}: describes stage {admin.get('stage')!r}, not {stage!r}")
        self.config_path = path
        self._admin = admin
        self._overrides = dict(overrides or {})
        self.resolved: Resolved = self._resolve({})
        self.config: PlatformConfig = self.resolved.config
        if self._boto is None:
            self._boto = boto3.session.Session(region_name=self.config.region)
        self._clients: dict[str, Any] = {}
        self._caller_arn: str | None = None
        self._live_endpoints: set[str] = set()
        log_group = self.config.audit.log_group
        self.audit = AuditTrail(
            audit_path or Path(self.config.audit.local_path or AUDIT_DIR / f"{self.config.resource_prefix}.jsonl"),
            stage=stage,
            caller=self.caller_arn,
            logs_client=self.client("logs") if log_group else None,
            log_group=log_group,
        )

    # --- config -----------------------------------------------------------------------------------------------
    def _config_path(self, stage: str, given: Path | str | None) -> Path:
        if given is not None:
            return Path(given).expanduser()
        return default_config_path(stage, environ=self._environ)

    def _resolve(self, call: Mapping[str, Any]) -> Resolved:
        return resolve(
            runtime={**self._overrides, **{k: v for k, v in call.items() if v is not None}},
            environ=self._environ,
            admin=self._admin,
            admin_source=str(self.config_path),
        )

    def explain(self) -> list[tuple[str, Any, str]]:
        """(parameter, value, where it came from) for every parameter."""
        return [(path, value, f"{o.layer} ({o.detail})") for path, value, o in self.resolved.explain()]

    # --- AWS plumbing -------------------------------------------------------------------------------------------
    def _kms_for_region(self, region: str) -> Any:
        session = self._boto or boto3.session.Session()
        return session.client("kms", region_name=region or None)

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` in the stage's region (cached)."""
        if service not in self._clients:
            self._clients[service] = self._boto.client(service, region_name=self.config.region)
        return self._clients[service]

    def caller_arn(self) -> str:
        """The ARN of whoever this session acts as (STS ``GetCallerIdentity``, asked once)."""
        if self._caller_arn is None:
            try:
                self._caller_arn = str(self.client("sts").get_caller_identity()["Arn"])
            except (ClientError, BotoCoreError) as exc:
                return f"unknown (sts:GetCallerIdentity failed: {exc})"
        return self._caller_arn

    def _call(self, operation: str, resource: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except ClientError as exc:
            raise map_client_error(exc, operation=operation, resource=resource) from exc
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise credentials_error(exc, operation=operation) from exc

    def _change(
        self, operation: str, resource: str, fn: Callable[..., Any], arn_field: str, **kwargs: Any
    ) -> dict[str, Any]:
        """Call an API that changes something and write the audit line, success or failure."""
        try:
            response = self._call(operation, resource, fn, **kwargs)
        except MlopsSdkError as error:
            self.audit.record(operation, kwargs, error=error)
            raise
        arn = response.get(arn_field)
        self.audit.record(operation, kwargs, result_arn=str(arn) if arn else None)
        return dict(response)

    def _job_name(self, kind: str, given: str | None) -> str:
        if given:
            return given
        return f"{self.config.resource_prefix}-{kind}-{datetime.now(UTC):%Y%m%d-%H%M%S-%f}"[:63]

    # --- pipelines ----------------------------------------------------------------------------------------------
    def start_pipeline(
        self,
        name: str,
        parameters: Mapping[str, str | int | float | bool] | None = None,
        *,
        display_name: str | None = None,
        description: str | None = None,
    ) -> PipelineExecution:
        """Start platform pipeline ``name`` (``adherence`` -> the exported name, else ``<prefix>-adherence``) with
        ``parameters``; a parameter the pipeline does not declare is refused before anything starts."""
        pipeline = self.config.pipeline_name(name)
        sagemaker = self.client("sagemaker")
        declared = self._declared_parameters(pipeline)
        given = dict(parameters or {})
        unknown = sorted(set(given) - set(declared)) if declared is not None else []
        if unknown:
            raise InvalidRequestError(
                f"pipeline {pipeline} has no parameter(s) {', '.join(unknown)}; it declares: "
                f"{', '.join(sorted(declared or [])) or 'none'}",
                operation="sagemaker:StartPipelineExecution",
            )
        request: dict[str, Any] = {
            "PipelineName": pipeline,
            "PipelineParameters": [{"Name": k, "Value": _parameter_text(v)} for k, v in sorted(given.items())],
        }
        if display_name:
            request["PipelineExecutionDisplayName"] = display_name
        if description:
            request["PipelineExecutionDescription"] = description
        response = self._change(
            "sagemaker:StartPipelineExecution",
            pipeline,
            sagemaker.start_pipeline_execution,
            "PipelineExecutionArn",
            **request,
        )
        return PipelineExecution(pipeline_name=pipeline, arn=str(response["PipelineExecutionArn"]))

    def pipeline_parameters(self, name: str) -> dict[str, Any]:
        """The parameters platform pipeline ``name`` declares, with their defaults (None when it has none)."""
        pipeline = self.config.pipeline_name(name)
        response = self._call(
            "sagemaker:DescribePipeline", pipeline, self.client("sagemaker").describe_pipeline, PipelineName=pipeline
        )
        try:
            definition = json.loads(response.get("PipelineDefinition") or "{}")
            return {str(p["Name"]): p.get("DefaultValue") for p in definition.get("Parameters", [])}
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError):
            raise InvalidRequestError(
                f"pipeline {pipeline}: its definition is not JSON with Parameters", operation="DescribePipeline"
            ) from None

    def _declared_parameters(self, pipeline: str) -> list[str] | None:
        """Parameter names of a pipeline's definition (None when the definition cannot be read as JSON)."""
        response = self._call(
            "sagemaker:DescribePipeline", pipeline, self.client("sagemaker").describe_pipeline, PipelineName=pipeline
        )
        try:
            definition = json.loads(response.get("PipelineDefinition") or "{}")
            return [str(p["Name"]) for p in definition.get("Parameters", [])]
        except (json.JSONDecodeError, TypeError, KeyError, AttributeError):
            return None

    def pipeline_execution(self, arn: str) -> dict[str, Any]:
        """``DescribePipelineExecution`` of ``arn`` (status, times, failure reason)."""
        sagemaker = self.client("sagemaker")
        return dict(
            self._call(
                "sagemaker:DescribePipelineExecution",
                arn,
                sagemaker.describe_pipeline_execution,
                PipelineExecutionArn=arn,
            )
        )

    # --- feature store ------------------------------------------------------------------------------------------
    def create_feature_group(
        self,
        name: str,
        columns: Sequence[Any],
        *,
        record_identifier: str,
        event_time_feature: str = "event_time",
        online: bool | None = None,
        description: str | None = None,
    ) -> str:
        """Create feature group ``name`` (``<prefix>-<name>`` unless exported) from a data contract's columns
        (``pipeline_code`` ``Column`` objects or :class:`FeatureColumn`); integer columns become ``Integral``, the
        rest ``String``; ``event_time_feature`` is added as a ``String`` (ISO 8601) feature if absent. Offline
        store in the features bucket under the platform key; online store only if ``online`` (or the config) says
        so. Returns the feature group ARN."""
        resolved = self._resolve({"feature_store.online_store_enabled": online}).config
        features = [_feature(column) for column in columns]
        names = [f.name for f in features]
        if event_time_feature not in names:
            features.append(FeatureColumn(event_time_feature, "String"))
        problems = [f.name for f in features if not FEATURE_NAME.match(f.name)]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if problems or duplicates or record_identifier not in names:
            reasons = []
            if problems:
                reasons.append(f"invalid feature name(s) {', '.join(problems)} (letters, digits, - and _, ≤ 64)")
            if duplicates:
                reasons.append(f"duplicate column(s) {', '.join(duplicates)}")
            if record_identifier not in names:
                reasons.append(f"record identifier {record_identifier!r} is not a column of the contract")
            raise InvalidRequestError(
                f"feature group {name}: " + "; ".join(reasons), operation="sagemaker:CreateFeatureGroup"
            )
        group = resolved.feature_group_name(name)
        key = resolved.kms.key_arn
        request: dict[str, Any] = {
            "FeatureGroupName": group,
            "RecordIdentifierFeatureName": record_identifier,
            "EventTimeFeatureName": event_time_feature,
            "FeatureDefinitions": [{"FeatureName": f.name, "FeatureType": f.type} for f in features],
            "OfflineStoreConfig": {
                "S3StorageConfig": {"S3Uri": resolved.offline_store_uri, "KmsKeyId": key},
                "DisableGlueTableCreation": False,
            },
            "RoleArn": resolved.iam.execution_role_arn,
            "Tags": self._tags(),
        }
        if resolved.feature_store.online_store_enabled:
            request["OnlineStoreConfig"] = {"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": key}}
        if description:
            request["Description"] = description
        response = self._change(
            "sagemaker:CreateFeatureGroup",
            group,
            self.client("sagemaker").create_feature_group,
            "FeatureGroupArn",
            **request,
        )
        return str(response["FeatureGroupArn"])

    # --- jobs ---------------------------------------------------------------------------------------------------
    def submit_processing_job(
        self,
        *,
        image_uri: str,
        inputs: Mapping[str, str] | None = None,
        outputs: Mapping[str, str | None] | None = None,
        entrypoint: Sequence[str] | None = None,
        arguments: Sequence[str] | None = None,
        environment: Mapping[str, str] | None = None,
        job_name: str | None = None,
        instance_type: str | None = None,
        instance_count: int | None = None,
        volume_size_gb: int | None = None,
        max_runtime_seconds: int | None = None,
    ) -> str:
        """Start a processing job; inputs (name -> S3 URI) appear at ``/opt/ml/processing/input/<name>``, outputs
        are uploaded from ``/opt/ml/processing/output/<name>`` to the given URI or
        ``s3://<artifacts bucket>/processing/<job>/<name>``, encrypted with the platform key. Returns the job ARN."""
        config = self._resolve(
            {
                "processing.instance_type": instance_type,
                "processing.instance_count": instance_count,
                "processing.volume_size_gb": volume_size_gb,
                "processing.max_runtime_seconds": max_runtime_seconds,
            }
        ).config
        name = self._job_name("processing", job_name)
        key = config.kms.key_arn
        default_out = f"s3://{config.s3.artifacts_bucket}/{config.s3.processing_prefix}/{name}"
        app: dict[str, Any] = {"ImageUri": image_uri}
        if entrypoint:
            app["ContainerEntrypoint"] = list(entrypoint)
        if arguments:
            app["ContainerArguments"] = list(arguments)
        request: dict[str, Any] = {
            "ProcessingJobName": name,
            "AppSpecification": app,
            "ProcessingInputs": [
                {
                    "InputName": input_name,
                    "S3Input": {
                        "S3Uri": uri,
                        "LocalPath": f"{PROCESSING_ROOT}/input/{input_name}",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                    },
                }
                for input_name, uri in sorted((inputs or {}).items())
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": output_name,
                        "S3Output": {
                            "S3Uri": uri or f"{default_out}/{output_name}",
                            "LocalPath": f"{PROCESSING_ROOT}/output/{output_name}",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                    for output_name, uri in sorted((outputs or {}).items())
                ],
                "KmsKeyId": key,
            },
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceCount": config.processing.instance_count,
                    "InstanceType": config.processing.instance_type,
                    "VolumeSizeInGB": config.processing.volume_size_gb,
                    "VolumeKmsKeyId": key,
                }
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": config.processing.max_runtime_seconds},
            "RoleArn": config.iam.execution_role_arn,
            "NetworkConfig": self._network(config),
            "Tags": self._tags(),
        }
        if environment:
            request["Environment"] = dict(environment)
        response = self._change(
            "sagemaker:CreateProcessingJob",
            name,
            self.client("sagemaker").create_processing_job,
            "ProcessingJobArn",
            **request,
        )
        return str(response["ProcessingJobArn"])

    def submit_training_job(
        self,
        *,
        image_uri: str,
        inputs: Mapping[str, str],
        hyperparameters: Mapping[str, str | int | float | bool] | None = None,
        output_uri: str | None = None,
        environment: Mapping[str, str] | None = None,
        job_name: str | None = None,
        instance_type: str | None = None,
        instance_count: int | None = None,
        volume_size_gb: int | None = None,
        max_runtime_seconds: int | None = None,
    ) -> str:
        """Start a training job; ``inputs`` maps channel names to S3 URIs; the model goes to ``output_uri`` or
        ``s3://<models bucket>/training/``, encrypted with the platform key. Returns the job ARN."""
        config = self._resolve(
            {
                "training.instance_type": instance_type,
                "training.instance_count": instance_count,
                "training.volume_size_gb": volume_size_gb,
                "training.max_runtime_seconds": max_runtime_seconds,
            }
        ).config
        if not inputs:
            raise InvalidRequestError("a training job needs at least one input channel", operation="CreateTrainingJob")
        name = self._job_name("training", job_name)
        key = config.kms.key_arn
        net = config.network
        request: dict[str, Any] = {
            "TrainingJobName": name,
            "AlgorithmSpecification": {"TrainingImage": image_uri, "TrainingInputMode": "File"},
            "RoleArn": config.iam.execution_role_arn,
            "InputDataConfig": [
                {
                    "ChannelName": channel,
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": uri,
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                }
                for channel, uri in sorted(inputs.items())
            ],
            "OutputDataConfig": {
                "S3OutputPath": output_uri or f"s3://{config.s3.models_bucket}/{config.s3.training_prefix}/",
                "KmsKeyId": key,
            },
            "ResourceConfig": {
                "InstanceType": config.training.instance_type,
                "InstanceCount": config.training.instance_count,
                "VolumeSizeInGB": config.training.volume_size_gb,
                "VolumeKmsKeyId": key,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": config.training.max_runtime_seconds},
            "EnableNetworkIsolation": net.enable_network_isolation,
            "EnableInterContainerTrafficEncryption": net.inter_container_traffic_encryption,
            "Tags": self._tags(),
        }
        if hyperparameters:
            request["HyperParameters"] = {k: _parameter_text(v) for k, v in sorted(hyperparameters.items())}
        if net.vpc_config:
            request["VpcConfig"] = net.vpc_config
        if environment:
            request["Environment"] = dict(environment)
        response = self._change(
            "sagemaker:CreateTrainingJob",
            name,
            self.client("sagemaker").create_training_job,
            "TrainingJobArn",
            **request,
        )
        return str(response["TrainingJobArn"])

    # --- endpoints ----------------------------------------------------------------------------------------------
    def live_endpoint(self, name: str) -> dict[str, Any]:
        """``DescribeEndpoint`` of the model's endpoint (exported name, else ``<prefix>-<name>``); raises
        EndpointNotReadyError unless it is ``InService``."""
        endpoint = self.config.endpoint_name(name)
        response = dict(
            self._call(
                "sagemaker:DescribeEndpoint",
                endpoint,
                self.client("sagemaker").describe_endpoint,
                EndpointName=endpoint,
            )
        )
        status = response.get("EndpointStatus")
        if status != "InService":
            reason = f" ({response['FailureReason']})" if response.get("FailureReason") else ""
            raise EndpointNotReadyError(
                f"endpoint {endpoint} is {status}{reason}, not InService. What to do: wait for Creating/Updating to "
                "finish (aws sagemaker wait endpoint-in-service), or ask the ML engineers to redeploy a failed one",
                operation="sagemaker:DescribeEndpoint",
                code=str(status),
            )
        self._live_endpoints.add(endpoint)
        return response

    def invoke_endpoint(
        self,
        name: str,
        payload: bytes | str | Mapping[str, Any] | Sequence[Any],
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Any:
        """Call the live endpoint of ``name`` with ``payload`` (mappings and lists are sent as JSON); returns the
        parsed JSON answer, or the raw bytes for other content types."""
        endpoint = self.config.endpoint_name(name)
        if endpoint not in self._live_endpoints:
            self.live_endpoint(name)
        if isinstance(payload, bytes):
            body = payload
        elif isinstance(payload, str):
            body = payload.encode("utf-8")
        else:
            body = json.dumps(payload).encode("utf-8")
        response = self._call(
            "sagemaker-runtime:InvokeEndpoint",
            endpoint,
            self.client("sagemaker-runtime").invoke_endpoint,
            EndpointName=endpoint,
            Body=body,
            ContentType=content_type,
            Accept=accept,
        )
        raw = response["Body"].read()
        if "json" in str(response.get("ContentType", accept)):
            try:
                return json.loads(raw)
            except json.JSONDecodeError:
                return raw
        return raw

    # --- the SageMaker Python SDK, for anything not wrapped ---------------------------------------------------
    def sagemaker_session(self) -> Any:
        """A SageMaker Python SDK session on this boto3 session, configured with the same defaults (the
        "intelligent defaults" document of this config) and the artifacts bucket as default bucket."""
        try:
            import sagemaker
        except ImportError:
            raise SageMakerSdkMissingError(
                "the SageMaker Python SDK is not installed: pip install sagemaker (the platform SDK works without it; "
                "only Session.sagemaker_session() needs it)"
            ) from None
        session_class: Any = getattr(sagemaker, "Session", None)
        if session_class is None:  # v3 moved it
            from sagemaker.core.helper.session_helper import Session as v3_session

            session_class = v3_session
        return session_class(
            boto_session=self._boto,
            sagemaker_config=sagemaker_defaults(self.config),
            default_bucket=self.config.s3.artifacts_bucket,
            default_bucket_prefix=self.config.s3.sagemaker_sdk_prefix,
        )

    # --- helpers ------------------------------------------------------------------------------------------------
    def _tags(self) -> list[dict[str, str]]:
        return [{"Key": "stage", "Value": self.stage}, {"Key": "platform-prefix", "Value": self.config.resource_prefix}]

    @staticmethod
    def _network(config: PlatformConfig) -> dict[str, Any]:
        net = config.network
        network: dict[str, Any] = {
            "EnableInterContainerTrafficEncryption": net.inter_container_traffic_encryption,
            "EnableNetworkIsolation": net.enable_network_isolation,
        }
        if net.vpc_config:
            network["VpcConfig"] = net.vpc_config
        return network


def _parameter_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _feature(column: Any) -> FeatureColumn:
    if isinstance(column, FeatureColumn):
        return column
    kind = getattr(getattr(column, "kind", None), "value", getattr(column, "kind", None))
    name = getattr(column, "name", None)
    if not isinstance(name, str) or kind is None:
        raise InvalidRequestError(
            f"{column!r} is not a contract column (needs .name and .kind)", operation="sagemaker:CreateFeatureGroup"
        )
    return FeatureColumn(name, "Integral" if kind == "integer" else "Fractional" if kind == "float" else "String")
