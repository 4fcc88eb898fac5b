"""Physical names the platform fixes on purpose, derived from the stage settings.

Most resources keep CloudFormation-generated names. Buckets, the key alias and the role path get predictable names
because something must find them without a cross-stack reference: the replica region (replication destinations),
the permissions boundary (it scopes S3 by bucket-name prefix) and the key policy (it trusts roles by IAM path).
The boundary itself is passed as an object; its name is fixed only so operators can recognise it.
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from constructs import Construct

from pipeline_code.edge.recipe import thing_group_name
from stacks.settings import StageSettings


def role_path(settings: StageSettings) -> str:
    """IAM path of every role the stage creates; the key policy and boundary trust roles by this path."""
    return f"/{settings.project}/{settings.instance}/"


def launch_role_path(settings: StageSettings) -> str:
    """IAM path of the SageMaker projects' launch role: outside ``role_path`` (not a platform role; see guardrails)."""
    return f"/{settings.project}-launch/{settings.instance}/"


def bucket_name(scope: Construct, settings: StageSettings, purpose: str, *, region: str, replica: bool = False) -> str:
    """``<project>-<stage>-<purpose>[-dr]-<account>-<region>``: globally unique and predictable."""
    account = Stack.of(scope).account
    suffix = "-dr" if replica else ""
    return f"{settings.resource_prefix}-{purpose}{suffix}-{account}-{region}"


def bucket_name_prefix(settings: StageSettings) -> str:
    """Every bucket of the stage starts with this; the permissions boundary scopes S3 with it."""
    return f"{settings.resource_prefix}-"


def key_alias(settings: StageSettings, *, replica: bool = False) -> str:
    return f"alias/{settings.resource_prefix}{'-dr' if replica else ''}"


def key_alias_arn(settings: StageSettings, *, region: str, replica: bool = False) -> str:
    return f"arn:{Aws.PARTITION}:kms:{region}:{Aws.ACCOUNT_ID}:{key_alias(settings, replica=replica)}"


def permissions_boundary_name(settings: StageSettings) -> str:
    return f"{settings.resource_prefix}-permissions-boundary"


def permissions_boundary_arn(settings: StageSettings) -> str:
    """The boundary's ARN (it lives under the role path): what roles created by a SageMaker project must carry."""
    return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:policy{role_path(settings)}{permissions_boundary_name(settings)}"


def audit_log_group_name(settings: StageSettings) -> str:
    """CloudWatch Logs group of the platform SDK's audit trail: ``/<project>/<stage>/sdk-audit``."""
    return f"/{settings.project}/{settings.instance}/sdk-audit"


def deployer_function_name(settings: StageSettings) -> str:
    """The model deployer Lambda: under the stage prefix, so its log group matches the Lambda role's log scope."""
    return f"{settings.resource_prefix}-model-deployer"


def endpoint_alarms_topic_name(settings: StageSettings) -> str:
    """The endpoints' alarm topic (Serving stack), named so a SageMaker project's alarms can notify it by ARN."""
    return f"{settings.resource_prefix}-endpoint-alarms"


def deployer_dead_letter_queue_name(settings: StageSettings) -> str:
    """The deployer's dead-letter queue, named so the Lambda role can be granted it without a stack reference."""
    return f"{settings.resource_prefix}-model-deployer-dlq"


def edge_token_exchange_role_name(settings: StageSettings) -> str:
    """The Greengrass devices' role: named so the edge-deployments bucket policy can trust it without a reference."""
    return f"{settings.resource_prefix}-edge-token-exchange"


def edge_token_exchange_role_arn(settings: StageSettings) -> str:
    return (
        f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role{role_path(settings)}{edge_token_exchange_role_name(settings)}"
    )


def edge_thing_group_arn(scope: Construct, settings: StageSettings) -> str:
    """The stage's device thing group (``pipeline_code.edge.recipe.thing_group_name``), by name: no stack reference."""
    return Stack.of(scope).format_arn(
        service="iot", resource="thinggroup", resource_name=thing_group_name(settings.resource_prefix)
    )


def project_thing_groups_arn(scope: Construct, settings: StageSettings) -> str:
    """Edge intent SageMaker projects' thing groups (``recipe.project_thing_group_name``): ``<prefix>-project-*``."""
    return Stack.of(scope).format_arn(
        service="iot", resource="thinggroup", resource_name=f"{settings.resource_prefix}-project-*"
    )


PROJECT_APPROVALS_SUFFIX = "-approved"  # a SageMaker project's rule: <prefix>-<project name>-approved


def project_approvals_rules_arn(scope: Construct, settings: StageSettings) -> str:
    """Every SageMaker project's approvals rule (stacks/projects.py), which targets the deployer by its name."""
    return Stack.of(scope).format_arn(
        service="events", resource="rule", resource_name=f"{settings.resource_prefix}-*{PROJECT_APPROVALS_SUFFIX}"
    )
