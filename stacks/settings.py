"""Typed, validated stage configuration.

``app.py`` reads ``config/<stage>.yaml`` and validates it here; every stack and construct below receives the
resulting frozen objects as props and never reads files or the environment itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

STAGES = ("dev", "staging", "prod", "sandbox")
AWS_REGION_PATTERN = r"^(us|eu|ap|ca|sa|me|af|il|mx)-(gov-)?[a-z]+-\d$"
# An IAM principal that may assume a persona role: an account root or a role/user ARN (paths allowed).
PRINCIPAL_ARN_PATTERN = r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(root|role/[A-Za-z0-9+=,.@_/-]+|user/[A-Za-z0-9+=,.@_/-]+)$"
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"
# Longest suffix a replica bucket name gets: "-artifacts-dr-" + 12-digit account + "-" + longest region name.
_REPLICA_BUCKET_SUFFIX_LEN = len("-artifacts-dr-") + 12 + 1 + len("ap-southeast-5")

Region = Annotated[str, StringConstraints(pattern=AWS_REGION_PATTERN)]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=254)]
PrincipalArn = Annotated[str, StringConstraints(pattern=PRINCIPAL_ARN_PATTERN)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BudgetSettings(_Frozen):
    """Monthly cost budget of a stage and who hears about it."""

    limit_usd: float = Field(gt=0, le=1_000_000, description="Monthly cost budget in USD")
    alert_emails: tuple[Email, ...] = Field(default=(), max_length=10)
    actual_thresholds_percent: tuple[float, ...] = (50.0, 80.0, 100.0)
    forecast_thresholds_percent: tuple[float, ...] = (100.0,)
    filter_by_stage_tag: bool = Field(
        default=False,
        description="Count only costs tagged with this stage (needs the cost-allocation tags activated in Billing); "
        "otherwise the budget covers the whole account, the usual one-account-per-stage layout.",
    )

    @field_validator("actual_thresholds_percent", "forecast_thresholds_percent")
    @classmethod
    def _thresholds(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 < v <= 1000 for v in value):
            raise ValueError("each threshold must be a percentage in (0, 1000]")
        if len(set(value)) != len(value):
            raise ValueError("thresholds must be unique")
        return tuple(sorted(value))


class LifecycleSettings(_Frozen):
    """Storage-class transitions and version expiry applied to every data bucket."""

    infrequent_access_after_days: int = Field(default=30, ge=30, description="S3 requires at least 30 days")
    glacier_after_days: int | None = Field(default=180, ge=60)
    noncurrent_version_expiration_days: int = Field(default=90, ge=1, le=3650)
    abort_incomplete_multipart_upload_days: int = Field(default=7, ge=1, le=365)
    access_log_retention_days: int = Field(default=365, ge=1, le=3650)

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleSettings:
        if self.glacier_after_days is not None and self.glacier_after_days < self.infrequent_access_after_days + 30:
            raise ValueError(
                "glacier_after_days must be at least infrequent_access_after_days + 30 "
                f"(got {self.glacier_after_days} < {self.infrequent_access_after_days} + 30)"
            )
        return self


class PersonaSettings(_Frozen):
    """Principals allowed to assume the persona roles; empty means principals of the deploying account."""

    data_scientist_principals: tuple[PrincipalArn, ...] = ()
    ml_engineer_principals: tuple[PrincipalArn, ...] = ()
    max_session_hours: int = Field(default=4, ge=1, le=12)


class ReplicationSettings(_Frozen):
    """Cross-region replication of every stateful bucket to a replica data foundation in ``region``."""

    region: Region


SAGEMAKER_INSTANCE_PATTERN = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"
# EventBridge Scheduler: rate(5 minutes), cron(0 3 ? * MON *) (six fields), at(2026-01-01T00:00:00)
SCHEDULE_PATTERN = r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+( \S+){5}\))$"
InstanceType = Annotated[str, StringConstraints(pattern=SAGEMAKER_INSTANCE_PATTERN)]
# Instance families SageMaker offers for training jobs that the intent image runs on: CPU ones, and GPU ones (the
# image's default torch wheel is CUDA-capable). Anything else is most likely a typo or a family without training.
CPU_TRAINING_FAMILIES = ("m5", "m5d", "m6i", "m7i", "c5", "c5n", "c6i", "c7i", "r5", "r5d")
GPU_TRAINING_FAMILIES = ("g4dn", "g5", "g6", "g6e", "p3", "p3dn", "p4d", "p4de", "p5")
TRAINING_SIZE_PATTERN = r"^(large|xlarge|\d{1,2}xlarge)$"


class MlPlatformSettings(_Frozen):
    """SageMaker pipelines, Feature Store and retraining triggers of a stage (the MlPlatform stack).

    What bills while idle is off unless switched on here: the online store (storage + requests) and the schedule
    (a run per tick). Pipelines, feature groups' offline stores and model registries cost nothing while idle.
    """

    processing_instance_type: InstanceType = Field(default="ml.m5.large", description="Default of every processing job")
    training_instance_type: InstanceType = Field(default="ml.m5.large", description="Default of every training job")
    volume_size_gb: int = Field(default=30, ge=1, le=16384, description="EBS volume per job instance")
    max_runtime_minutes: int = Field(default=60, ge=1, le=7200, description="Stop a job after this long")
    intent_training_instance_type: InstanceType = Field(
        default="ml.m5.large",
        description="Default of the intent pipeline's training job: a CPU type, or a GPU type such as ml.g5.xlarge",
    )
    intent_raw_data_prefix: str = Field(
        default="intent/",
        pattern=r"^([A-Za-z0-9!_.*'()-]+/)+$",
        description="Key prefix in the raw-data bucket of the intent pipeline's default train.csv, valid.csv, test.csv",
    )
    raw_data_prefix: str = Field(
        default="adherence/",
        pattern=r"^([A-Za-z0-9!_.*'()-]+/)+$",
        description="Key prefix of the raw extract in the raw-data bucket: the pipeline's default input, and where "
        "a new object triggers retraining",
    )
    retrain_on_new_data: bool = Field(default=True, description="Start the pipeline when an object lands there")
    retraining_schedule: str | None = Field(
        default=None, pattern=SCHEDULE_PATTERN, description="EventBridge Scheduler expression; None: no schedule"
    )
    schedule_timezone: str = Field(default="UTC", pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$")
    online_store: bool = Field(default=False, description="Feature Store online store (bills storage and requests)")
    subnet_ids: tuple[Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")], ...] = Field(
        default=(), max_length=16
    )
    security_group_ids: tuple[Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")], ...] = Field(
        default=(), max_length=5
    )

    @field_validator("intent_training_instance_type")
    @classmethod
    def _training_type(cls, value: str) -> str:
        _, family, size = value.split(".")
        if family not in CPU_TRAINING_FAMILIES + GPU_TRAINING_FAMILIES or not re.fullmatch(TRAINING_SIZE_PATTERN, size):
            raise ValueError(
                f"{value!r} is not a training instance type the intent image runs on: ml.<family>.<size> with a CPU "
                f"family ({', '.join(CPU_TRAINING_FAMILIES)}) or a GPU family ({', '.join(GPU_TRAINING_FAMILIES)}) "
                "and a size such as large, xlarge, 2xlarge"
            )
        return value

    @property
    def intent_training_on_gpu(self) -> bool:
        return self.intent_training_instance_type.split(".")[1] in GPU_TRAINING_FAMILIES

    @model_validator(mode="after")
    def _vpc(self) -> MlPlatformSettings:
        if bool(self.subnet_ids) != bool(self.security_group_ids):
            raise ValueError("subnet_ids and security_group_ids go together: set both to run jobs in a VPC, or neither")
        return self

    @property
    def in_vpc(self) -> bool:
        return bool(self.subnet_ids)


class ServingSettings(_Frozen):
    """How approved models are served (the Serving stack and its deployer).

    ``serverless`` (dev): pay per request, nothing while idle; no data capture (serverless inference has none).
    ``provisioned`` (staging, prod): instances, blue/green canary updates that roll back by themselves when the
    endpoint's 5xx or model-latency-p99 alarm fires, and data capture to the model-artefacts bucket.
    """

    mode: Literal["serverless", "provisioned"] = "serverless"
    serverless_memory_mb: int = Field(default=2048, ge=1024, le=6144, multiple_of=1024)
    serverless_max_concurrency: int = Field(default=5, ge=1, le=200)
    instance_type: InstanceType = Field(default="ml.m5.large", description="Provisioned mode's instance type")
    instance_count: int = Field(default=1, ge=1, le=10)
    canary_percent: int = Field(default=10, ge=1, le=50, description="Capacity the new version gets first")
    canary_wait_minutes: int = Field(default=10, ge=0, le=60, description="Bake time before the rest shifts")
    termination_wait_minutes: int = Field(default=5, ge=0, le=60, description="Old fleet kept for a fast rollback")
    capture_percent: int = Field(default=20, ge=0, le=100, description="Requests captured for monitoring")
    latency_p99_ms: int = Field(default=1000, ge=1, le=60_000, description="Model latency p99 that rolls back")
    errors_5xx: int = Field(default=5, ge=1, le=10_000, description="5xx errors per minute that roll back")
    endpoint_alarms: bool = Field(
        default=True, description="The per-endpoint rollback alarms (each bills a little per month)"
    )

    @model_validator(mode="after")
    def _alarms_for_guardrails(self) -> ServingSettings:
        if self.mode == "provisioned" and not self.endpoint_alarms:
            raise ValueError("provisioned mode rolls back on the endpoint alarms: endpoint_alarms must stay true")
        return self


class MonitoringSettings(_Frozen):
    """Model Monitor schedules, alarms and the dashboard of a stage (the Monitoring stack).

    Off unless ``enabled``: schedules run processing jobs, alarms and dashboards bill by the month. The schedules
    need data capture (provisioned serving) and an endpoint that exists; ``schedules: false`` keeps the job
    definitions, alarms and dashboard without them (e.g. before the first approved model is deployed).
    Thresholds documented in the README ("Monitoring"); defaults are what the staging and prod configs use.
    """

    enabled: bool = False
    schedules: bool = Field(default=True, description="Create the MonitoringSchedules (need a live endpoint)")
    frequency: Literal["hourly", "daily"] = "daily"
    instance_type: InstanceType = "ml.m5.large"
    volume_size_gb: int = Field(default=20, ge=1, le=16384)
    max_runtime_minutes: int = Field(default=60, ge=1, le=60, description="An hourly schedule allows 60 at most")
    ground_truth_prefix: str = Field(
        default="monitoring/ground-truth/",
        pattern=r"^([A-Za-z0-9!_.*'()-]+/)+$",
        description="Key prefix in the model-artefacts bucket where labels arrive (<prefix><model>/...)",
    )
    ground_truth_delay_hours: int = Field(default=24, ge=0, le=720, description="How late labels arrive")
    alarms: bool = True
    dashboard: bool = True
    drift_distance: float = Field(default=0.1, gt=0, le=1, description="Model Monitor's drift distance that alarms")
    drift_alarm_features: tuple[str, ...] = Field(
        default=(
            "age",
            "race",
            "admission_type_id",
            "discharge_disposition_id",
            "admission_source_id",
            "time_in_hospital",
            "num_medications",
            "number_inpatient",
            "number_diagnoses",
            "insulin",
        ),
        min_length=1,
        max_length=50,
        description="Adherence features whose drift metric the drift alarm watches ($0.10 a month each)",
    )
    min_auc: float = Field(default=0.65, gt=0, le=1, description="Model-quality AUC below this alarms")
    idle_hours: int = Field(default=6, ge=1, le=24, description="Hours without an invocation that alarm")
    max_out_of_scope_rate: float = Field(default=0.3, gt=0, le=1, description="Edge intent out-of-scope rate")
    min_mean_confidence: float = Field(default=0.5, gt=0, le=1, description="Edge intent mean confidence")

    @field_validator("drift_alarm_features")
    @classmethod
    def _features(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from pipeline_code.common.contracts.adherence import COLUMNS
        from pipeline_code.common.contracts.schema import Role

        known = [c.name for c in COLUMNS if c.role in (Role.FEATURE, Role.MEDICATION)]
        unknown = [name for name in value if name not in known]
        if unknown:
            raise ValueError(f"{unknown} are not adherence features of the data contract (e.g. {known[:4]})")
        if len(set(value)) != len(value):
            raise ValueError("features must be unique")
        return value


SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]{8,17}$")]
SecurityGroupId = Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")]


class StudioSettings(_Frozen):
    """The stage's SageMaker Studio domain (the Studio stack), off unless ``enabled``.

    A domain always needs a VPC and subnets, even for internet access through SageMaker. Its network follows the
    stage: when ``ml_platform`` runs jobs in subnets, the domain is VPC-only in those subnets and security groups
    (``subnet_ids`` / ``security_group_ids`` here override them); a stage without a VPC must name one here, and the
    domain is still VPC-only unless ``public_internet`` says otherwise (then SageMaker's internet access, which a
    stage whose jobs run in a VPC refuses).
    """

    enabled: bool = Field(default=False, description="Create the domain (its EFS volume and apps bill while they run)")
    vpc_id: str | None = Field(default=None, pattern=r"^vpc-[0-9a-f]{8,17}$")
    subnet_ids: tuple[SubnetId, ...] = Field(default=(), max_length=16)
    security_group_ids: tuple[SecurityGroupId, ...] = Field(default=(), max_length=5)
    public_internet: bool = Field(
        default=False, description="PublicInternetOnly network access instead of VPC-only (stages without a VPC only)"
    )


class StageSettings(_Frozen):
    """Everything that differs between dev, staging, prod and a personal sandbox."""

    stage: Literal["dev", "staging", "prod", "sandbox"]
    project: str = Field(default="mlops", pattern=r"^[a-z][a-z0-9]{1,11}$")
    owner: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
    account: str | None = Field(default=None, pattern=r"^\d{12}$", description="Optional for synth")
    region: Region
    removal_policy: Literal["retain", "destroy"] = "retain"
    tags: Mapping[str, str] = Field(default_factory=dict)
    budget: BudgetSettings
    lifecycle: LifecycleSettings = LifecycleSettings()
    personas: PersonaSettings = PersonaSettings()
    replication: ReplicationSettings | None = None
    ml_platform: MlPlatformSettings = MlPlatformSettings()
    serving: ServingSettings = ServingSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    studio: StudioSettings = StudioSettings()

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: Mapping[str, str]) -> dict[str, str]:
        for key, tag_value in value.items():
            if key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key!r}: the 'aws:' prefix is reserved by AWS")
            if not re.fullmatch(r"[\w.:/=+@ -]{1,128}", key):
                raise ValueError(f"tag key {key!r}: 1-128 letters, digits, spaces or _.:/=+-@")
            if not re.fullmatch(r"[\w.:/=+@ -]{0,256}", str(tag_value)):
                raise ValueError(f"tag {key!r} value {tag_value!r}: up to 256 letters, digits, spaces or _.:/=+-@")
        return dict(value)

    @model_validator(mode="after")
    def _consistent(self) -> StageSettings:
        if self.removal_policy == "destroy" and self.stage != "sandbox":
            raise ValueError(
                "removal_policy 'destroy' is only allowed for the sandbox stage; stateful data is retained"
            )
        if self.replication is not None and self.replication.region == self.region:
            raise ValueError(f"replication.region must differ from region ({self.region}) to survive a regional outage")
        if self.monitoring.enabled and self.monitoring.schedules and self.serving.mode != "provisioned":
            raise ValueError(
                "monitoring.schedules read the endpoint's captured requests: serverless endpoints capture none, so "
                "set serving.mode: provisioned or monitoring.schedules: false"
            )
        if self.studio.enabled:
            self._studio_network()
        if len(self.resource_prefix) + _REPLICA_BUCKET_SUFFIX_LEN > 63:
            raise ValueError(f"project + stage name {self.resource_prefix!r} is too long for S3 bucket names")
        return self

    def _studio_network(self) -> None:
        if self.studio.vpc_id is None:
            raise ValueError("studio.vpc_id: required when studio.enabled (a SageMaker domain always lives in a VPC)")
        if not self.studio_subnet_ids or not self.studio_security_group_ids:
            raise ValueError(
                "studio.subnet_ids and studio.security_group_ids: required when studio.enabled and ml_platform has "
                "no subnet_ids / security_group_ids to follow"
            )
        if self.studio.public_internet and self.ml_platform.in_vpc:
            raise ValueError(
                "studio.public_internet: the stage runs its jobs in a VPC (ml_platform.subnet_ids), so its Studio "
                "domain is VPC-only; remove public_internet"
            )

    @property
    def studio_subnet_ids(self) -> tuple[str, ...]:
        return self.studio.subnet_ids or self.ml_platform.subnet_ids

    @property
    def studio_security_group_ids(self) -> tuple[str, ...]:
        return self.studio.security_group_ids or self.ml_platform.security_group_ids

    @property
    def studio_network_access(self) -> Literal["VpcOnly", "PublicInternetOnly"]:
        return "PublicInternetOnly" if self.studio.public_internet else "VpcOnly"

    @property
    def instance(self) -> str:
        """The stage's name in physical names: the stage, or ``sbx-<owner>`` so that sandboxes never collide."""
        if self.stage != "sandbox":
            return self.stage
        return "sbx-" + re.sub(r"[^a-z0-9]+", "-", self.owner.lower()).strip("-")[:16].strip("-")

    @property
    def construct_id(self) -> str:
        """ID of the stage in the app, e.g. ``Dev`` or ``Sandbox-alice``; stack names start with it."""
        if self.stage != "sandbox":
            return self.stage.capitalize()
        return "Sandbox-" + self.instance.removeprefix("sbx-")

    @property
    def resource_prefix(self) -> str:
        """Prefix of every physical name the stage creates, e.g. ``mlops-dev`` or ``mlops-sbx-alice``."""
        return f"{self.project}-{self.instance}"

    @property
    def retain(self) -> bool:
        return self.removal_policy == "retain"

    @property
    def cost_tags(self) -> dict[str, str]:
        """Cost-allocation tags put on every resource of the stage (config tags cannot override them)."""
        return {**self.tags, "project": self.project, "stage": self.stage, "owner": self.owner}


SettingsT = TypeVar("SettingsT", bound=BaseModel)


class ConfigError(ValueError):
    """A config file is invalid; the message names the file, each field path and the reason."""


def parse_stage_settings(raw: Any, *, source: str) -> StageSettings:
    """Validate an already-loaded YAML document; raise ConfigError naming ``source`` and every bad field."""
    return validate_settings(StageSettings, raw, source=source)


def validate_settings(model: type[SettingsT], raw: Any, *, source: str) -> SettingsT:
    """``raw`` (a loaded YAML document) as ``model``; ConfigError naming ``source`` and every bad field's path."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected a mapping of settings at the top level, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {exc.error_count()} invalid setting(s)"]
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"]) or "(top level)"
            lines.append(f"  - {path}: {error['msg']}")
        raise ConfigError("\n".join(lines)) from None
