"""``mlops config export``: the platform config of a deployed stage, from its stacks' outputs.

Two read-only sources, one result: the JSON file ``cdk deploy --outputs-file`` writes (``{stack: {OutputKey: value}}``)
or CloudFormation's exports of the stage (``ListExports``, names ``<prefix>:<OutputKey>``). Alongside the config, the
SageMaker Python SDK's own defaults file ("intelligent defaults", ``SchemaVersion: '1.0'``) so that plain SDK users
get the same role, key, bucket and network settings.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mlops_sdk.config import PlatformConfig, stage_names
from mlops_sdk.errors import ConfigError, OutputsError
from mlops_sdk.outputs import EXPORT_SEPARATOR, LIST_OUTPUTS, OUTPUTS, OutputSpec, spec_for

CONFIG_DIR = Path("~/.config/mlops")


CONFIG_FILE_ENV = "MLOPS_CONFIG_FILE"
CONFIG_DIR_ENV = "MLOPS_CONFIG_DIR"


def default_config_path(stage: str, *, environ: Mapping[str, str] | None = None) -> Path:
    """Where a stage's config lives unless a path is given: ``$MLOPS_CONFIG_FILE``, else
    ``$MLOPS_CONFIG_DIR/<stage>.yaml``, else ``~/.config/mlops/<stage>.yaml`` (a user's sandbox: ``sandbox.yaml``)."""
    env = environ or {}
    if env.get(CONFIG_FILE_ENV):
        return Path(env[CONFIG_FILE_ENV]).expanduser()
    folder = Path(env[CONFIG_DIR_ENV]) if env.get(CONFIG_DIR_ENV) else CONFIG_DIR
    return folder.expanduser() / f"{stage}.yaml"


def sagemaker_defaults_path(config_path: Path) -> Path:
    """Where the SageMaker SDK defaults of a config go: beside it, ``<stage>.sagemaker.yaml``."""
    return config_path.with_name(config_path.name.removesuffix(".enc").removesuffix(".yaml") + ".sagemaker.yaml")


def outputs_from_file(path: Path, *, stage: str, project: str = "mlops", owner: str | None = None) -> dict[str, str]:
    """The outputs of the stage's stacks in a ``cdk deploy --outputs-file`` file (stacks ``<Stage>-<Stack>``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OutputsError(f"{path}: no such outputs file (write it with cdk deploy --outputs-file {path})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputsError(f"{path}: cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise OutputsError(f"{path}: not JSON ({exc.msg}, line {exc.lineno}); is it a cdk --outputs-file?") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise OutputsError(f"{path}: expected {{stack name: {{output key: value}}}} as cdk --outputs-file writes")
    stage_id, _ = stage_names(stage, project=project, owner=owner)
    stacks = {name: outputs for name, outputs in data.items() if _stage_of(name) == stage_id}
    if not stacks:
        raise OutputsError(
            f"{path}: no stack of stage {stage!r} ({stage_id}-*); the file has: {', '.join(sorted(data)) or 'none'}"
        )
    return _merge(((f"{path} [{name}]", outputs) for name, outputs in sorted(stacks.items())), source=str(path))


def _stage_of(stack_name: str) -> str:
    return stack_name.rsplit("-", 1)[0] if "-" in stack_name else ""


def outputs_from_exports(cloudformation: Any, *, resource_prefix: str) -> dict[str, str]:
    """The stage's outputs from CloudFormation's exports (read-only: ``ListExports``, paginated)."""
    start = f"{resource_prefix}{EXPORT_SEPARATOR}"
    found: list[tuple[str, dict[str, str]]] = []
    for page in cloudformation.get_paginator("list_exports").paginate():
        for export in page.get("Exports", []):
            name = str(export.get("Name", ""))
            if name.startswith(start):
                found.append((f"export {name}", {name[len(start) :]: str(export.get("Value", ""))}))
    if not found:
        raise OutputsError(
            f"no CloudFormation export named {start}* in this account and region: is the stage deployed here "
            "(region, credentials), and is its project/owner right?"
        )
    return _merge(found, source="CloudFormation exports")


def _merge(groups: Iterable[tuple[str, Mapping[str, Any]]], *, source: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    where: dict[str, str] = {}
    for origin, outputs in groups:
        for key, value in outputs.items():
            if spec_for(key) is None:
                continue  # not part of the SDK's contract (CDK's own cross-stack exports, other tools' outputs)
            if key in merged and merged[key] != str(value):
                raise OutputsError(
                    f"{source}: output {key} has two values: {merged[key]!r} ({where[key]}) and {value!r} ({origin})"
                )
            merged[key], where[key] = str(value), origin
    return merged


def config_from_outputs(outputs: Mapping[str, str], *, stage: str, source: str) -> dict[str, Any]:
    """The admin config (nested mapping, validated) that a stage's outputs describe."""
    missing = [spec for spec in OUTPUTS if spec.required and spec.key not in outputs]
    if missing:
        raise OutputsError(
            f"{source}: missing output(s) {', '.join(s.key for s in missing)}; deploy the stacks that publish "
            "them (DataFoundation, Identity) and export again"
        )
    flat: dict[str, Any] = {"stage": stage}
    for key, value in sorted(outputs.items()):
        found = spec_for(key)
        if isinstance(found, OutputSpec):
            flat[found.config_path] = _split(value) if found.config_path in LIST_OUTPUTS else value
        elif found is not None:
            family, name = found
            flat.setdefault(family.config_map, {})[name] = value
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, last = path.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    try:
        config = PlatformConfig.model_validate(nested)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise OutputsError(f"{source}: the outputs do not make a valid platform config: {problems}") from None
    # Only what the outputs say: everything else stays with the higher layers and the built-in defaults.
    return config.model_dump(mode="json", exclude_unset=True)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def sagemaker_defaults(config: PlatformConfig) -> dict[str, Any]:
    """The SageMaker Python SDK "intelligent defaults" document (``SchemaVersion: '1.0'``) of a platform config:
    role, KMS key, network and default bucket for every resource the SDK creates, so plain SDK code applies them
    too. Only keys of the SDK's published schema; no instance types (the schema has none outside RemoteFunction)."""
    key = config.kms.key_arn
    role = config.iam.execution_role_arn
    net = config.network
    vpc = net.vpc_config
    with_vpc: dict[str, Any] = {"VpcConfig": vpc} if vpc else {}
    processing_network: dict[str, Any] = {
        "EnableInterContainerTrafficEncryption": net.inter_container_traffic_encryption,
        "EnableNetworkIsolation": net.enable_network_isolation,
        **with_vpc,
    }
    tags = [{"Key": "stage", "Value": config.stage}, {"Key": "platform-prefix", "Value": config.resource_prefix}]
    remote_function: dict[str, Any] = {
        "EnableInterContainerTrafficEncryption": net.inter_container_traffic_encryption,
        "InstanceType": config.training.instance_type,
        "RoleArn": role,
        "S3KmsKeyId": key,
        "S3RootUri": f"s3://{config.s3.artifacts_bucket}/{config.s3.sagemaker_sdk_prefix}/remote-function",
        "VolumeKmsKeyId": key,
        "Tags": tags,
        **with_vpc,
    }
    return {
        "SchemaVersion": "1.0",
        "SageMaker": {
            "PythonSDK": {
                "Modules": {
                    "Session": {
                        "DefaultS3Bucket": config.s3.artifacts_bucket,
                        "DefaultS3ObjectKeyPrefix": config.s3.sagemaker_sdk_prefix,
                    },
                    "RemoteFunction": remote_function,
                }
            },
            "ProcessingJob": {
                "NetworkConfig": processing_network,
                "ProcessingOutputConfig": {"KmsKeyId": key},
                "ProcessingResources": {"ClusterConfig": {"VolumeKmsKeyId": key}},
                "RoleArn": role,
                "Tags": tags,
            },
            "TrainingJob": {
                "EnableInterContainerTrafficEncryption": net.inter_container_traffic_encryption,
                "EnableNetworkIsolation": net.enable_network_isolation,
                "OutputDataConfig": {"KmsKeyId": key},
                "ResourceConfig": {"VolumeKmsKeyId": key},
                "RoleArn": role,
                "Tags": tags,
                **with_vpc,
            },
            "TransformJob": {
                "DataCaptureConfig": {"KmsKeyId": key},
                "TransformOutput": {"KmsKeyId": key},
                "TransformResources": {"VolumeKmsKeyId": key},
                "Tags": tags,
            },
            "Model": {
                "EnableNetworkIsolation": net.enable_network_isolation,
                "ExecutionRoleArn": role,
                "Tags": tags,
                **with_vpc,
            },
            "EndpointConfig": {
                "AsyncInferenceConfig": {"OutputConfig": {"KmsKeyId": key}},
                "DataCaptureConfig": {"KmsKeyId": key},
                "KmsKeyId": key,
                "ProductionVariants": [{"CoreDumpConfig": {"KmsKeyId": key}}],
                "Tags": tags,
            },
            "Endpoint": {"Tags": tags},
            "FeatureGroup": {
                "OfflineStoreConfig": {"S3StorageConfig": {"KmsKeyId": key}},
                "OnlineStoreConfig": {"SecurityConfig": {"KmsKeyId": key}},
                "RoleArn": role,
                "Tags": tags,
            },
            "Pipeline": {"RoleArn": role, "Tags": tags},
            "MonitoringSchedule": {
                "MonitoringScheduleConfig": {
                    "MonitoringJobDefinition": {
                        "MonitoringOutputConfig": {"KmsKeyId": key},
                        "MonitoringResources": {"ClusterConfig": {"VolumeKmsKeyId": key}},
                        "NetworkConfig": processing_network,
                        "RoleArn": role,
                    }
                },
                "Tags": tags,
            },
            "AutoMLJob": {
                "AutoMLJobConfig": {
                    "SecurityConfig": {
                        "EnableInterContainerTrafficEncryption": net.inter_container_traffic_encryption,
                        "VolumeKmsKeyId": key,
                        **with_vpc,
                    }
                },
                "OutputDataConfig": {"KmsKeyId": key},
                "RoleArn": role,
                "Tags": tags,
            },
        },
    }


def dump_yaml(data: Mapping[str, Any], *, header: str = "") -> bytes:
    body = yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False, allow_unicode=True)
    lines = "".join(f"# {line}\n" for line in header.splitlines())
    return (lines + body).encode("utf-8")


def write_private(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` with mode 0600 atomically (temporary file in the same folder, then rename);
    the folder is created 0700. An existing file is replaced whole or not at all."""
    path = path.expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)


def read_plain_config(path: Path, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if data is None:
        raise ConfigError(f"{path}: the file is empty")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of config sections, got {type(data).__name__}")
    return data
