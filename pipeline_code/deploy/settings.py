"""The deployer's settings: passed by the stack as the function's environment, or built by the CLI."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

SERVERLESS = "serverless"
PROVISIONED = "provisioned"
MODES = (SERVERLESS, PROVISIONED)
# The rollback alarms of an endpoint are named <endpoint><suffix> (the Serving stack and project templates make them).
ALARM_SUFFIXES = ("-5xx-errors", "-model-latency-p99")
# A SageMaker project's name as a model package ARN spells it (SageMaker lowercases ARNs): the projects' product
# templates (stacks/projects.py) name the project's group ``<prefix>-<project name>``, at most 32 characters.
PROJECT_NAME = re.compile(r"[a-z](-*[a-z0-9]){0,31}")


class SettingsError(ValueError):
    """A deployer setting is missing or invalid; the message names the variable and the reason."""


@dataclass(frozen=True)
class DeployerSettings:
    """How the stage serves its models.

    ``prefix`` is the stage's resource prefix (``mlops-dev``); ``groups`` the model names whose package groups
    (``<prefix>-<model>``) the deployer serves. ``mode`` is ``serverless`` (dev: memory and concurrency) or
    ``provisioned`` (staging, prod: instances, blue/green canary with auto-rollback on the endpoint's alarms).
    """

    prefix: str
    groups: tuple[str, ...]
    execution_role_arn: str
    kms_key_arn: str
    capture_s3_uri: str
    mode: str = SERVERLESS
    serverless_memory_mb: int = 2048
    serverless_max_concurrency: int = 5
    instance_type: str = "ml.m5.large"
    instance_count: int = 1
    canary_percent: int = 10
    canary_wait_s: int = 600
    termination_wait_s: int = 300
    capture_percent: int = 20
    # Devices: approvals of ``edge_model`` also become a Greengrass model component for the thing group (empty: none)
    edge_model: str = ""
    edge_bucket: str = ""
    edge_thing_group_arn: str = ""
    # Where the live version's drift-check baselines are copied for the Monitoring stack's schedules (empty: not)
    monitoring_s3_uri: str = ""

    def __post_init__(self) -> None:
        problems = []
        if not re.fullmatch(r"[a-z][a-z0-9-]{1,40}", self.prefix):
            problems.append(f"prefix {self.prefix!r}: lowercase letters, digits and '-'")
        if not self.groups or any(not re.fullmatch(r"[a-z][a-z0-9]{0,15}", g) for g in self.groups):
            problems.append(f"groups {self.groups!r}: one or more model names (lowercase letters and digits)")
        if self.mode not in MODES:
            problems.append(f"mode {self.mode!r}: one of {', '.join(MODES)}")
        if self.serverless_memory_mb not in range(1024, 6145, 1024):
            problems.append(f"serverless_memory_mb {self.serverless_memory_mb}: 1024, 2048, ... 6144")
        if not 1 <= self.serverless_max_concurrency <= 200:
            problems.append(f"serverless_max_concurrency {self.serverless_max_concurrency}: 1..200")
        if not 1 <= self.instance_count <= 10:
            problems.append(f"instance_count {self.instance_count}: 1..10")
        if not 1 <= self.canary_percent <= 50:
            problems.append(f"canary_percent {self.canary_percent}: 1..50")
        if not 0 <= self.canary_wait_s <= 3600 or not 0 <= self.termination_wait_s <= 3600:
            problems.append("canary_wait_s and termination_wait_s: 0..3600 seconds")
        if not 0 <= self.capture_percent <= 100:
            problems.append(f"capture_percent {self.capture_percent}: 0..100")
        if not self.capture_s3_uri.startswith("s3://"):
            problems.append(f"capture_s3_uri {self.capture_s3_uri!r}: an s3:// URI")
        if self.monitoring_s3_uri and not self.monitoring_s3_uri.startswith("s3://"):
            problems.append(f"monitoring_s3_uri {self.monitoring_s3_uri!r}: an s3:// URI")
        if self.edge_model and self.edge_model not in self.groups:
            problems.append(f"edge_model {self.edge_model!r}: one of the groups {self.groups!r}")
        if self.edge_model and (not self.edge_bucket or ":thinggroup/" not in self.edge_thing_group_arn):
            problems.append("edge_model needs edge_bucket and edge_thing_group_arn (an IoT thing group ARN)")
        if problems:
            raise SettingsError("invalid deployer settings: " + "; ".join(problems))

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(self.group_name(model) for model in self.groups)

    def group_name(self, model: str) -> str:
        return f"{self.prefix}-{model}"

    def model_of(self, group: str, *, project: bool = False) -> str | None:
        """The model a package group of this stage holds, None for any other group.

        ``<prefix>-<model>`` for the platform's own models (``groups``); with ``project``, ``<prefix>-<project
        name>``, a group that a SageMaker project of this stage made (stacks/projects.py; the project's own rule
        says so): the project's name is its model's name, so its endpoint is ``<prefix>-<project name>`` too.
        Compared in lowercase, as SageMaker spells ARNs; a project's name is returned as the group spells it.
        """
        head = f"{self.prefix}-"
        if not group.lower().startswith(head):
            return None
        model = group[len(head) :]  # a project's name as given (its thing group is named with it, case and all)
        if model.lower() in self.groups:
            return None if project else model.lower()  # a project never deploys the platform's own models
        if project and len(model) <= 32 and PROJECT_NAME.fullmatch(model.lower()):
            return model
        return None

    def endpoint_name(self, model: str) -> str:
        """One endpoint per model, stable across versions: what clients call."""
        return f"{self.prefix}-{model}"

    def alarm_names(self, model: str) -> tuple[str, str]:
        """The endpoint's rollback alarms (created by the Serving stack): 5xx errors, model latency p99."""
        endpoint = self.endpoint_name(model)
        return (f"{endpoint}{ALARM_SUFFIXES[0]}", f"{endpoint}{ALARM_SUFFIXES[1]}")


ENV_VARS = {
    "prefix": "STAGE_PREFIX",
    "groups": "MODEL_GROUPS",
    "execution_role_arn": "EXECUTION_ROLE_ARN",
    "kms_key_arn": "KMS_KEY_ARN",
    "capture_s3_uri": "CAPTURE_S3_URI",
    "mode": "DEPLOY_MODE",
    "serverless_memory_mb": "SERVERLESS_MEMORY_MB",
    "serverless_max_concurrency": "SERVERLESS_MAX_CONCURRENCY",
    "instance_type": "INSTANCE_TYPE",
    "instance_count": "INSTANCE_COUNT",
    "canary_percent": "CANARY_PERCENT",
    "canary_wait_s": "CANARY_WAIT_S",
    "termination_wait_s": "TERMINATION_WAIT_S",
    "capture_percent": "CAPTURE_PERCENT",
    "edge_model": "EDGE_MODEL",
    "edge_bucket": "EDGE_BUCKET",
    "edge_thing_group_arn": "EDGE_THING_GROUP_ARN",
    "monitoring_s3_uri": "MONITORING_S3_URI",
}
_REQUIRED = ("prefix", "groups", "execution_role_arn", "kms_key_arn", "capture_s3_uri")
_INTS = {name for name, field in DeployerSettings.__dataclass_fields__.items() if field.type == "int"}


def settings_from_env(env: Mapping[str, str]) -> DeployerSettings:
    """Read the settings the stack put into the function's environment; SettingsError names what is wrong."""
    missing = [ENV_VARS[name] for name in _REQUIRED if not env.get(ENV_VARS[name])]
    if missing:
        raise SettingsError(f"missing deployer environment variable(s): {', '.join(missing)}")
    values: dict[str, object] = {}
    for name, var in ENV_VARS.items():
        if var not in env:
            continue
        raw = env[var]
        if name == "groups":
            values[name] = tuple(g.strip() for g in raw.split(",") if g.strip())
        elif name in _INTS:
            try:
                values[name] = int(raw)
            except ValueError:
                raise SettingsError(f"{var}={raw!r}: expected an integer") from None
        else:
            values[name] = raw
    return DeployerSettings(**values)  # type: ignore[arg-type]


def settings_to_env(settings: DeployerSettings) -> dict[str, str]:
    """The environment the stack gives the function (inverse of :func:`settings_from_env`)."""
    env = {}
    for name, var in ENV_VARS.items():
        value = getattr(settings, name)
        env[var] = ",".join(value) if isinstance(value, tuple) else str(value)
    return env
