"""Guardrails stack: the permissions boundary every role of the stage carries.

It deploys first and references nothing, so any stack (including the data foundation, whose replication role
needs it) can depend on it. It scopes S3 to the stage's bucket-name prefix and IAM PassRole to the stage's role
path, so a role can never reach beyond the platform, whatever policy is later attached to it.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, DefaultStackSynthesizer, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks import iam_actions as actions
from stacks import naming
from stacks.nag import IAM_WILDCARDS, suppress
from stacks.settings import StageSettings


class GuardrailsStack(Stack):
    """Creates the stage's permissions boundary (``self.permissions_boundary``), an allow-list of every action a
    platform role may ever use. Anything not listed (IAM writes, bucket policies, key deletion, budgets) is denied
    to platform roles even if a policy grants it."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: StageSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        account, region, partition = Aws.ACCOUNT_ID, Aws.REGION, Aws.PARTITION
        bucket_prefix = naming.bucket_name_prefix(settings)
        assets_bucket = cdk_file_assets_bucket_name()
        assets_bucket_arn = f"arn:{partition}:s3:::{assets_bucket}"
        self.permissions_boundary = iam.ManagedPolicy(
            self,
            "PermissionsBoundary",
            managed_policy_name=naming.permissions_boundary_name(settings),
            path=naming.role_path(settings),
            description=f"Permissions boundary of every role of {settings.resource_prefix}",
            statements=[
                iam.PolicyStatement(
                    sid="PlatformBucketsOnly",
                    actions=actions.union(actions.S3_DATA, actions.S3_REPLICATION, actions.FEATURE_STORE_OFFLINE),
                    resources=[f"arn:{partition}:s3:::{bucket_prefix}*", f"arn:{partition}:s3:::{bucket_prefix}*/*"],
                ),
                iam.PolicyStatement(
                    sid="ReadCdkFileAssets",  # the step code asset; read-only, this account and region only
                    actions=actions.union(actions.CDK_ASSET_READ),
                    resources=[assets_bucket_arn, f"{assets_bucket_arn}/*"],
                ),
                iam.PolicyStatement(
                    sid="AccountKeysOnly",  # which key is decided by the key policies (platform role path only)
                    actions=actions.union(actions.KMS_USAGE, actions.KMS_GRANT_FOR_AWS_RESOURCE),
                    resources=[f"arn:{partition}:kms:*:{account}:key/*"],
                ),
                iam.PolicyStatement(
                    sid="SageMakerInThisAccountAndRegion",
                    actions=actions.union(*actions.SAGEMAKER_SCOPED),
                    resources=[f"arn:{partition}:sagemaker:{region}:{account}:*"],
                ),
                iam.PolicyStatement(
                    sid="LogsAndAlarmsInThisAccountAndRegion",
                    actions=actions.union(actions.LOG_WRITE, actions.ALARMS),
                    resources=[
                        f"arn:{partition}:logs:{region}:{account}:log-group:*",
                        f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="GreengrassAndIotInThisAccountAndRegion",  # the deployer's edge side
                    actions=actions.union(actions.EDGE_COMPONENTS, actions.EDGE_DEPLOY, actions.IOT_DEPLOYMENT_JOBS),
                    resources=[
                        f"arn:{partition}:greengrass:{region}:{account}:*",
                        f"arn:{partition}:iot:{region}:{account}:*",
                    ],
                ),
                iam.PolicyStatement(
                    sid="PullContainerImages",
                    actions=actions.union(actions.ECR_PULL),
                    resources=[f"arn:{partition}:ecr:{region}:*:repository/*"],
                ),
                iam.PolicyStatement(
                    sid="ActionsWithoutResourceScope",
                    actions=actions.union(
                        actions.LIST_AND_SEARCH,
                        actions.METRICS_UNSCOPED,
                        actions.ECR_LOGIN,
                        actions.TRACING,
                        actions.DEPLOY_LIST,
                        actions.EDGE_UNSCOPED,
                        # only a stage whose jobs run in a VPC gets the network-interface actions
                        actions.VPC_JOBS if settings.ml_platform.in_vpc else (),
                    ),
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="StageDeadLetterQueuesOnly",
                    actions=actions.union(actions.DEAD_LETTER),
                    resources=[f"arn:{partition}:sqs:{region}:{account}:{settings.resource_prefix}-*"],
                ),
                iam.PolicyStatement(
                    sid="StageFunctionsOnly",
                    actions=actions.union(actions.INVOKE_DEPLOYER),
                    resources=[f"arn:{partition}:lambda:{region}:{account}:function:{settings.resource_prefix}-*"],
                ),
                iam.PolicyStatement(
                    sid="PassOnlyPlatformRoles",
                    actions=["iam:PassRole"],
                    resources=[f"arn:{partition}:iam::{account}:role{naming.role_path(settings)}*"],
                ),
            ],
        )
        suppress(
            self.permissions_boundary,
            IAM_WILDCARDS,
            "A permissions boundary caps what any platform role can do; it must name resource families, not "
            "resources. Each wildcard is as narrow as AWS allows: the stage's bucket-name prefix, this account's "
            "keys (the key policy then trusts only the platform role path), objects of the CDK file-asset bucket "
            "of this account and region (read-only: the pipelines' step code), SageMaker/logs/alarms/Greengrass/IoT "
            "in this account and region, ECR repositories of this region (SageMaker images live in AWS-owned "
            "accounts), the stage's queues and functions (by name prefix), the stage's role path for PassRole, and "
            "'*' only for actions that have no resource-level scope.",
            applies_to=[
                f"Resource::arn:<AWS::Partition>:s3:::{bucket_prefix}*",
                f"Resource::arn:<AWS::Partition>:s3:::{bucket_prefix}*/*",
                f"Resource::arn:<AWS::Partition>:s3:::{cdk_file_assets_bucket_name(nag=True)}/*",
                "Resource::arn:<AWS::Partition>:kms:*:<AWS::AccountId>:key/*",
                "Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:*",
                "Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*",
                "Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*",
                "Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:*:repository/*",
                "Resource::arn:<AWS::Partition>:greengrass:<AWS::Region>:<AWS::AccountId>:*",
                "Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:*",
                "Resource::*",
                f"Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:{settings.resource_prefix}-*",
                "Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:"
                f"{settings.resource_prefix}-*",
                f"Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role{naming.role_path(settings)}*",
            ],
        )


def cdk_file_assets_bucket_name(*, nag: bool = False) -> str:
    """The CDK bootstrap's file-asset bucket of this account and region (default qualifier), as a template string.

    ``nag=True``: spelled as cdk-nag prints it (``<AWS::AccountId>``) for an ``applies_to`` entry.
    """
    name = DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace(
        "${Qualifier}", DefaultStackSynthesizer.DEFAULT_QUALIFIER
    )
    if nag:
        return name.replace("${AWS::AccountId}", "<AWS::AccountId>").replace("${AWS::Region}", "<AWS::Region>")
    return name.replace("${AWS::AccountId}", Aws.ACCOUNT_ID).replace("${AWS::Region}", Aws.REGION)
