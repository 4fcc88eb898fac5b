"""Typed, validated settings of the delivery pipeline (``config/delivery.yaml``) and its cross-stage checks.

``app.py`` reads the file and validates it here, then checks it against the stages' own settings
(``check_stage_targets``): every stage the pipeline deploys has an account, two stages share an account only where
the file says so, and no persona principal of a lower stage can assume a persona role of prod.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from stacks.settings import AWS_REGION_PATTERN, ConfigError, StageSettings, validate_settings

# What config/delivery.yaml ships with. It synthesizes like a real one; the Delivery stack's template carries a
# CloudFormation rule that refuses to create or update the stack while the ARN is this one (see stacks/delivery.py).
EXAMPLE_CONNECTION_ARN = (
    "arn:aws:codeconnections:us-east-1:111111111111:connection/00000000-0000-0000-0000-000000000000"
)
CONNECTION_ARN_PATTERN = (
    r"^arn:aws(-[a-z]+)*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}$"
)
PIPELINE_STAGES = ("dev", "staging", "prod")
# Where each stage stands in the promotion order; a stage may only follow the stages ranked below it.
_RANK = {name: rank for rank, name in enumerate(PIPELINE_STAGES)}

Account = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
PipelineStageName = Literal["dev", "staging", "prod"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeliveryTarget(_Frozen):
    """One stage the pipeline deploys, in the account it deploys to (its region is the stage's own)."""

    stage: PipelineStageName
    account: Account = Field(description="AWS account the stage deploys to, bootstrapped with --trust <tooling>")


class DeliverySettings(_Frozen):
    """The self-mutating pipeline of the tooling account: its source, where it runs, what it deploys, in order."""

    connection_arn: str = Field(pattern=CONNECTION_ARN_PATTERN, description="CodeConnections connection (AVAILABLE)")
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name of the repository")
    branch: str = Field(default="main", pattern=r"^[A-Za-z0-9._/-]{1,255}$")
    account: Account = Field(description="tooling account the pipeline stack deploys to")
    region: Annotated[str, StringConstraints(pattern=AWS_REGION_PATTERN)]
    pipeline_name: str = Field(default="mlops-platform", pattern=r"^[A-Za-z0-9.@_-]{1,90}$")
    stages: tuple[DeliveryTarget, ...] = Field(min_length=1, description="waves, deployed in this order")
    shared_accounts: tuple[tuple[PipelineStageName, PipelineStageName], ...] = Field(
        default=(), description="pairs of stages allowed, on purpose, to deploy to the same account"
    )

    @field_validator("stages")
    @classmethod
    def _ordered(cls, value: tuple[DeliveryTarget, ...]) -> tuple[DeliveryTarget, ...]:
        names = [target.stage for target in value]
        if len(set(names)) != len(names):
            raise ValueError(f"each stage at most once (got {', '.join(names)})")
        ranks = [_RANK[name] for name in names]
        if ranks != sorted(ranks):
            raise ValueError(f"stages promote in the order dev -> staging -> prod (got {' -> '.join(names)})")
        return value

    @model_validator(mode="after")
    def _pairs(self) -> DeliverySettings:
        listed = {target.stage for target in self.stages}
        for a, b in self.shared_accounts:
            if a == b:
                raise ValueError(f"shared_accounts: [{a}, {b}] names one stage twice")
            missing = sorted({a, b} - listed)
            if missing:
                raise ValueError(f"shared_accounts: [{a}, {b}] names {', '.join(missing)}, not in stages")
        return self

    @property
    def example_connection(self) -> bool:
        return self.connection_arn == EXAMPLE_CONNECTION_ARN

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(target.stage for target in self.stages)

    def may_share(self, a: str, b: str) -> bool:
        return (a, b) in self.shared_accounts or (b, a) in self.shared_accounts


def parse_delivery_settings(raw: Any, *, source: str) -> DeliverySettings:
    """Validate an already-loaded YAML document; raise ConfigError naming ``source`` and every bad field."""
    return validate_settings(DeliverySettings, raw, source=source)


@dataclass(frozen=True)
class StageSource:
    """A stage's settings and the file they came from (for error messages)."""

    settings: StageSettings
    source: str


def _account_of(arn: str) -> str:
    return arn.split(":")[4]


def _is_root(arn: str) -> bool:
    return arn.endswith(":root")


def persona_principals(settings: StageSettings, account: str) -> dict[str, str]:
    """Who may assume the stage's persona roles: principal ARN -> the config key that lets it.

    An empty list means the account of the stage (its root principal: any principal there IAM allows), which is
    what the Identity stack's trust policy says.
    """
    found: dict[str, str] = {}
    for key in ("data_scientist_principals", "ml_engineer_principals"):
        listed: Sequence[str] = getattr(settings.personas, key)
        for arn in listed or (f"arn:aws:iam::{account}:root",):
            found.setdefault(arn, f"personas.{key}" + ("" if listed else " (empty: the stage's account)"))
    return found


def _overlap(a: str, b: str) -> bool:
    """Whether principal ``a`` is, contains or is contained in principal ``b`` (a root stands for its account)."""
    if a == b:
        return True
    return _account_of(a) == _account_of(b) and (_is_root(a) or _is_root(b))


def check_stage_targets(
    delivery: DeliverySettings, stages: Mapping[str, StageSource], *, source: str
) -> dict[str, str]:
    """The account of every pipeline stage, after the cross-stage checks; raise ConfigError naming file and key.

    - A stage file that sets ``account`` must agree with ``delivery.yaml``.
    - Two stages deploy to one account only if ``shared_accounts`` lists the pair.
    - No persona principal of a stage below prod may assume a persona role of prod (one account's root counts as
      every principal of that account).
    """
    errors: list[str] = []
    accounts: dict[str, str] = {}
    for index, target in enumerate(delivery.stages):
        stage = stages.get(target.stage)
        if stage is None:
            errors.append(f"{source}: stages.{index}.stage: {target.stage} has no settings loaded")
            continue
        own = stage.settings.account
        if own is not None and own != target.account:
            errors.append(
                f"{source}: stages.{index}.account: {target.account} differs from account {own} in {stage.source}"
            )
        accounts[target.stage] = target.account
    names = list(accounts)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if accounts[a] == accounts[b] and not delivery.may_share(a, b):
                errors.append(
                    f"{source}: stages: {a} and {b} both deploy to account {accounts[a]}; give each stage its own "
                    f"account, or list [{a}, {b}] under shared_accounts to accept it on purpose"
                )
    if "prod" in accounts:
        prod = stages["prod"]
        prod_trusted = persona_principals(prod.settings, accounts["prod"])
        for lower in names:
            if lower == "prod":
                continue
            low = stages[lower]
            for principal, key in persona_principals(low.settings, accounts[lower]).items():
                for trusted, prod_key in prod_trusted.items():
                    if _overlap(principal, trusted):
                        errors.append(
                            f"{low.source}: {key}: {principal} can reach prod: {prod.source} {prod_key} trusts "
                            f"{trusted}; name distinct persona principals per stage"
                        )
                        break
    if errors:
        raise ConfigError("\n".join(errors))
    return accounts


def pinned_cli_version(package_json: Mapping[str, Any], *, source: str) -> str:
    """The exact aws-cdk CLI version of package.json (the self-mutation step installs the same one)."""
    version = str(package_json.get("devDependencies", {}).get("aws-cdk", ""))
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ConfigError(f"{source}: devDependencies.aws-cdk must be an exact version (got {version!r})")
    return version
