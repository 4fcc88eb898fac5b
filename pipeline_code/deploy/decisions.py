"""Pure decisions of the deployer: which events to act on, what to name things, what to ask SageMaker for.

Nothing here calls AWS, reads the environment or the clock, so each rule is tested directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline_code.deploy.settings import PROVISIONED, DeployerSettings

DETAIL_TYPE = "SageMaker Model Package State Change"
SOURCE = "aws.sagemaker"
APPROVED = "Approved"
VARIANT = "AllTraffic"
PACKAGE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/([a-z0-9-]+)/(\d+)$")
MAX_NAME = 63  # SageMaker model, endpoint config and endpoint names


class MalformedEvent(ValueError):
    """The event is not a model package state change the deployer understands; the message says why."""


@dataclass(frozen=True)
class PackageRef:
    """One version of one model package group."""

    arn: str
    group: str
    version: int
    status: str
    project: bool = False  # routed by a SageMaker project's own rule: the group is the project's

    def model(self, settings: DeployerSettings) -> str:
        """The model name: the group name without the stage prefix (``mlops-dev-adherence`` -> ``adherence``; a
        project's ``mlops-dev-churn-v2`` -> ``churn-v2``); a group of no model of the stage raises ValueError."""
        model = settings.model_of(self.group, project=self.project)
        if model is None:
            raise ValueError(f"group {self.group} holds no model of the stage {settings.prefix}")
        return model


def parse_event(event: Any) -> PackageRef:
    """The package an EventBridge ``SageMaker Model Package State Change`` event is about; MalformedEvent if not."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"event is a {type(event).__name__}, expected an EventBridge event object")
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        raise MalformedEvent(
            f"event source/detail-type {event.get('source')!r}/{event.get('detail-type')!r}: expected "
            f"{SOURCE!r}/{DETAIL_TYPE!r}"
        )
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("event has no 'detail' object")
    arn, group, status = (
        detail.get("ModelPackageArn"),
        detail.get("ModelPackageGroupName"),
        detail.get("ModelApprovalStatus"),
    )
    for name, value in (("ModelPackageArn", arn), ("ModelPackageGroupName", group), ("ModelApprovalStatus", status)):
        if not isinstance(value, str) or not value:
            raise MalformedEvent(f"detail.{name} is missing or not a string")
    ref = parse_package_arn(str(arn), status=str(status))
    if ref.group != str(group).lower():  # SageMaker spells ARNs in lowercase, names as they were given
        raise MalformedEvent(f"detail.ModelPackageGroupName {group!r} does not match the ARN's group {ref.group!r}")
    version = detail.get("ModelPackageVersion")
    if version is not None and version != ref.version:
        raise MalformedEvent(f"detail.ModelPackageVersion {version!r} does not match the ARN's version {ref.version}")
    return ref


def parse_package_arn(arn: str, *, status: str = "") -> PackageRef:
    match = PACKAGE_ARN.fullmatch(arn)
    if match is None:
        raise MalformedEvent(f"{arn!r} is not a versioned model package ARN (...:model-package/<group>/<version>)")
    return PackageRef(arn=arn, group=match.group(1), version=int(match.group(2)), status=status)


def skip_reason(ref: PackageRef, settings: DeployerSettings) -> str | None:
    """Why the deployer must not act on ``ref`` (None: it may): only Approved packages of the stage's groups, or,
    routed by a SageMaker project's rule (``ref.project``), of a project group ``<prefix>-<project name>``."""
    if settings.model_of(ref.group, project=ref.project) is None:
        if ref.project:
            return f"group {ref.group} is not a SageMaker project's group of this stage ({settings.prefix}-<project>)"
        return f"group {ref.group} is not one of this stage's groups ({', '.join(settings.group_names)})"
    if ref.status != APPROVED:
        return f"approval status is {ref.status}, not {APPROVED}"
    return None


def version_name(group: str, version: int) -> str:
    """Model and endpoint-config name of one package version: a retried event finds what it already made."""
    name = f"{group}-v{version}"
    if len(name) > MAX_NAME:
        raise ValueError(f"{name!r} is longer than SageMaker's {MAX_NAME} characters")
    return name


def version_of(group: str, config_name: str | None) -> int | None:
    """The package version an endpoint config of ``group`` serves (None: not one the deployer made)."""
    if not config_name:
        return None
    match = re.fullmatch(rf"{re.escape(group)}-v(\d+)", config_name)
    return int(match.group(1)) if match else None


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([a-z0-9.-]{3,63})/(.+)", uri)
    if match is None:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    return match.group(1), match.group(2)


# Where a deployed version's drift-check baselines are published, under ``<monitoring_s3_uri>/<model>/baseline/``:
# the layout of the adherence baseline step, read by the Monitoring stack's schedules (stacks/monitoring.py).
BASELINE_FILES: dict[tuple[str, str], str] = {
    ("ModelDataQuality", "Statistics"): "data_quality/statistics.json",
    ("ModelDataQuality", "Constraints"): "data_quality/constraints.json",
    ("ModelQuality", "Statistics"): "model_quality/statistics.json",
    ("ModelQuality", "Constraints"): "model_quality/constraints.json",
    ("Bias", "ConfigFile"): "bias/analysis_config.json",
}


def baseline_key(model: str, *parts: str) -> str:
    """Key of a published baseline file under the monitoring prefix: ``<model>/baseline/<parts>``."""
    return "/".join((model, "baseline", *parts))


def baseline_copies(package: Mapping[str, Any], monitoring_s3_uri: str, model: str) -> list[tuple[str, str, str]]:
    """(source URI, destination bucket, destination key) of each drift-check baseline the package carries."""
    bucket, _, prefix = monitoring_s3_uri.removeprefix("s3://").partition("/")
    found = package.get("DriftCheckBaselines") or {}
    copies = []
    for (group, item), path in BASELINE_FILES.items():
        source = (found.get(group) or {}).get(item) or {}
        if source.get("S3Uri"):
            key = "/".join(part for part in (prefix.strip("/"), baseline_key(model, path)) if part)
            copies.append((source["S3Uri"], bucket, key))
    return copies


def model_request(settings: DeployerSettings, ref: PackageRef, container: Mapping[str, Any]) -> dict[str, Any]:
    """CreateModel for one package version: the package's first inference container, run as the SageMaker role."""
    primary: dict[str, Any] = {"Image": container["Image"], "ModelDataUrl": container["ModelDataUrl"]}
    if container.get("Environment"):
        primary["Environment"] = dict(container["Environment"])
    return {
        "ModelName": version_name(ref.group, ref.version),
        "ExecutionRoleArn": settings.execution_role_arn,
        "PrimaryContainer": primary,
        "EnableNetworkIsolation": True,  # the container gets its model from SageMaker, never the network
        "Tags": tags(ref),
    }


def endpoint_config_request(settings: DeployerSettings, ref: PackageRef) -> dict[str, Any]:
    """CreateEndpointConfig: serverless (dev) or provisioned instances with data capture and the stage key.

    Serverless inference supports neither data capture nor a customer key for its storage, so both belong to the
    provisioned mode only (staging, prod): that is where monitoring runs.
    """
    name = version_name(ref.group, ref.version)
    variant: dict[str, Any] = {"VariantName": VARIANT, "ModelName": name}
    request: dict[str, Any] = {"EndpointConfigName": name, "Tags": tags(ref)}
    if settings.mode == PROVISIONED:
        variant |= {
            "InstanceType": settings.instance_type,
            "InitialInstanceCount": settings.instance_count,
            "InitialVariantWeight": 1.0,
        }
        request["KmsKeyId"] = settings.kms_key_arn
        request["DataCaptureConfig"] = {
            "EnableCapture": settings.capture_percent > 0,
            "InitialSamplingPercentage": settings.capture_percent,
            "DestinationS3Uri": f"{settings.capture_s3_uri.rstrip('/')}/{settings.endpoint_name(ref.model(settings))}",
            "KmsKeyId": settings.kms_key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
        }
    else:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": settings.serverless_memory_mb,
            "MaxConcurrency": settings.serverless_max_concurrency,
        }
    request["ProductionVariants"] = [variant]
    return request


def deployment_config(settings: DeployerSettings, model: str) -> dict[str, Any] | None:
    """UpdateEndpoint's guardrails: blue/green canary and auto-rollback on the endpoint's alarms (provisioned only)."""
    if settings.mode != PROVISIONED:
        return None
    timeout = min(28800, max(600, settings.canary_wait_s + settings.termination_wait_s + 1800))
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": settings.canary_percent},
                "WaitIntervalInSeconds": settings.canary_wait_s,
            },
            "TerminationWaitInSeconds": settings.termination_wait_s,
            "MaximumExecutionTimeoutInSeconds": timeout,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": name} for name in settings.alarm_names(model)]},
    }


def tags(ref: PackageRef) -> list[dict[str, str]]:
    return [
        {"Key": "mlops:model-package-arn", "Value": ref.arn},
        {"Key": "mlops:model-package-version", "Value": str(ref.version)},
    ]


class NoTarget(LookupError):
    """No version to roll back to; the message says why."""


def rollback_target(approved: Iterable[int], live: int | None, to_version: int | None) -> int:
    """The version a rollback deploys: ``to_version`` if it is approved, else the newest approved one below live."""
    versions = sorted(set(approved))
    if not versions:
        raise NoTarget("the registry has no approved version")
    if to_version is not None:
        if to_version not in versions:
            raise NoTarget(f"version {to_version} is not an approved version (approved: {versions})")
        if to_version == live:
            raise NoTarget(f"version {to_version} is already live")
        return to_version
    if live is None:
        raise NoTarget("the endpoint serves no version the deployer made; name one with --to-version")
    earlier = [v for v in versions if v < live]
    if not earlier:
        raise NoTarget(f"no approved version before the live version {live}")
    return earlier[-1]
