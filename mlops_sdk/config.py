"""The platform config: what a team needs to use a deployed stage, as validated pydantic models.

An administrator writes it with ``mlops config export`` (from the stacks' outputs, see :mod:`mlops_sdk.outputs`);
users read it through :class:`mlops_sdk.session.Session`, with runtime arguments and ``MLOPS_*`` environment
variables above it and the built-in defaults of these models below it (:mod:`mlops_sdk.resolve`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from mlops_sdk.errors import ConfigError

SCHEMA_VERSION = 1
STAGES = ("dev", "staging", "prod", "sandbox")

BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
RoleArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+$")]
KmsKeyArn = Annotated[
    str, StringConstraints(pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+$")
]
S3Prefix = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!_.*'()/-]{1,200}$")]
S3Uri = Annotated[str, StringConstraints(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")]
InstanceType = Annotated[str, StringConstraints(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")]
ResourceName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class S3Config(_Section):
    """The stage's buckets (from the DataFoundation outputs) and the key prefixes the SDK writes under."""

    raw_bucket: BucketName
    features_bucket: BucketName
    models_bucket: BucketName
    artifacts_bucket: BucketName
    edge_bucket: BucketName | None = None
    processing_prefix: S3Prefix = "processing"
    training_prefix: S3Prefix = "training"
    feature_store_prefix: S3Prefix = "feature-store"
    sagemaker_sdk_prefix: S3Prefix = "sagemaker-sdk"


class NetworkConfig(_Section):
    """Where jobs and endpoints run: no VPC (the default: jobs get SageMaker's managed network), or a VPC's
    private subnets and security groups (both needed)."""

    vpc_id: Annotated[str, StringConstraints(pattern=r"^vpc-[0-9a-f]{8,17}$")] | None = None
    subnet_ids: tuple[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")], ...] = ()
    security_group_ids: tuple[Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")], ...] = ()
    enable_network_isolation: bool = False
    inter_container_traffic_encryption: bool = True

    @model_validator(mode="after")
    def _complete(self) -> NetworkConfig:
        if bool(self.subnet_ids) != bool(self.security_group_ids):
            raise ValueError("subnet_ids and security_group_ids must be set together (a VpcConfig needs both)")
        if self.vpc_id is not None and not self.subnet_ids:
            raise ValueError("vpc_id is set but subnet_ids and security_group_ids are empty")
        return self

    @property
    def vpc_config(self) -> dict[str, list[str]] | None:
        """The API's ``VpcConfig`` or None when jobs run outside a VPC."""
        if not self.subnet_ids:
            return None
        return {"SecurityGroupIds": list(self.security_group_ids), "Subnets": list(self.subnet_ids)}


class IamConfig(_Section):
    execution_role_arn: RoleArn
    data_scientist_role_arn: RoleArn | None = None
    ml_engineer_role_arn: RoleArn | None = None


class KmsConfig(_Section):
    key_arn: KmsKeyArn


class FeatureStoreConfig(_Section):
    """Feature Store defaults: the offline store lives in the features bucket (``s3.feature_store_prefix``) unless
    ``offline_store_uri`` says otherwise; the online store bills by the hour, so it is off unless switched on."""

    offline_store_uri: S3Uri | None = None
    online_store_enabled: bool = False
    groups: dict[str, ResourceName] = Field(default_factory=dict)


class JobDefaults(_Section):
    instance_type: InstanceType
    instance_count: int = Field(ge=1, le=100)
    volume_size_gb: int = Field(ge=1, le=16384)
    max_runtime_seconds: int = Field(ge=60, le=28 * 24 * 3600)


class EndpointDefaults(_Section):
    instance_type: InstanceType = "ml.m5.large"
    initial_instance_count: int = Field(default=1, ge=1, le=100)
    names: dict[str, ResourceName] = Field(default_factory=dict)


class AuditConfig(_Section):
    """Where the audit trail goes: always a local JSON-lines file, plus a CloudWatch Logs group when set."""

    local_path: str | None = None
    log_group: Annotated[str, StringConstraints(pattern=r"^[.\-_/#A-Za-z0-9]{1,512}$")] | None = None


class PlatformConfig(_Section):
    """Everything the SDK needs about one deployed stage. Unknown keys are rejected, errors name the field."""

    schema_version: Literal[1] = 1
    stage: Literal["dev", "staging", "prod", "sandbox"]
    resource_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{1,11}-[a-z0-9-]{2,24}$")]
    region: Region
    s3: S3Config
    iam: IamConfig
    kms: KmsConfig
    network: NetworkConfig = NetworkConfig()
    feature_store: FeatureStoreConfig = FeatureStoreConfig()
    processing: JobDefaults = JobDefaults(
        instance_type="ml.m5.xlarge", instance_count=1, volume_size_gb=30, max_runtime_seconds=3600
    )
    training: JobDefaults = JobDefaults(
        instance_type="ml.m5.xlarge", instance_count=1, volume_size_gb=30, max_runtime_seconds=24 * 3600
    )
    endpoints: EndpointDefaults = EndpointDefaults()
    pipelines: dict[str, ResourceName] = Field(default_factory=dict)
    audit: AuditConfig = AuditConfig()

    @property
    def offline_store_uri(self) -> str:
        """The Feature Store offline location: as configured, else ``s3://<features bucket>/<prefix>``."""
        return self.feature_store.offline_store_uri or f"s3://{self.s3.features_bucket}/{self.s3.feature_store_prefix}"

    def pipeline_name(self, name: str) -> str:
        """The SageMaker pipeline of platform pipeline ``name``: as exported, else ``<prefix>-<name>``."""
        return self.pipelines.get(name) or f"{self.resource_prefix}-{_kebab(name)}"

    def endpoint_name(self, name: str) -> str:
        return self.endpoints.names.get(name) or f"{self.resource_prefix}-{_kebab(name)}"

    def feature_group_name(self, name: str) -> str:
        return self.feature_store.groups.get(name) or f"{self.resource_prefix}-{_kebab(name)}"


def _kebab(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def stage_names(stage: str, *, project: str = "mlops", owner: str | None = None) -> tuple[str, str]:
    """(stage construct ID, resource prefix) of a stage, as the CDK app derives them (``stacks/settings.py``):
    ``("Dev", "mlops-dev")``, or for a sandbox ``("Sandbox-alice", "mlops-sbx-alice")``."""
    if stage not in STAGES:
        raise ConfigError(f"unknown stage {stage!r} (stages: {', '.join(STAGES)})")
    if stage != "sandbox":
        return stage.capitalize(), f"{project}-{stage}"
    if not owner:
        raise ConfigError("the sandbox stage needs its owner (--owner): sandboxes are named after their owner")
    instance = re.sub(r"[^a-z0-9]+", "-", owner.lower()).strip("-")[:16].strip("-")
    return f"Sandbox-{instance}", f"{project}-sbx-{instance}"
