"""Guardrails stack: the permissions boundary every role of the stage carries.

It deploys first and references nothing, so any stack (including the data foundation, whose replication role
needs it) can depend on it. It scopes S3 to the stage's bucket-name prefix and IAM PassRole to the stage's role
path, so a role can never reach beyond the platform, whatever policy is later attached to it.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, DefaultStackSynthesizer, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks import iam_actions as actions
from stacks import naming
from stacks.nag import IAM_WILDCARDS, suppress
from stacks.settings import StageSettings


class GuardrailsStack(Stack):
    """Creates the stage's permissions boundary (``self.permissions_boundary``), an allow-list of every action a
    platform role may ever use. Anything not listed (IAM writes, bucket policies, key deletion, budgets) is denied
    to platform roles even if a policy grants it; the IAM writes it lists (SageMaker projects) only create roles that
    carry this boundary. Also creates ``self.project_launch_role``, whose allow-list is this boundary (see
    ``_project_launch_role``)."""

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
                    actions=actions.union(actions.LOG_WRITE, actions.ALARMS, actions.PROJECT_ALARMS),
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
                *project_statements(settings),
                *studio_statements(settings),
            ],
        )
        self.boundary_actions: list[str] = sorted(
            {
                action
                for statement in self.permissions_boundary.document.to_json()["Statement"]
                for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
            }
        )
        """Every action the boundary allows (it names them all: no action wildcards)."""
        self._project_launch_role(settings)
        suppress(
            self.permissions_boundary,
            IAM_WILDCARDS,
            "A permissions boundary caps what any platform role can do; it must name resource families, not "
            "resources. Each wildcard is as narrow as AWS allows: the stage's bucket-name prefix, this account's "
            "keys (the key policy then trusts only the platform role path), objects of the CDK file-asset bucket "
            "of this account and region (read-only: the pipelines' step code), SageMaker/logs/alarms/Greengrass/IoT "
            "in this account and region, ECR repositories of this region (SageMaker images live in AWS-owned "
            "accounts), the stage's queues and functions (by name prefix), the stage's role path for PassRole, and "
            "'*' only for actions that have no resource-level scope. SageMaker projects (stacks/projects.py): Service "
            "Catalog's stacks (SC-<account>-pp-*), roles and policies under the stage's path (roles created only "
            "with this boundary, only policies of that path attached), SageMaker pipelines, model package groups, "
            "projects, EventBridge rules and schedules named with the stage prefix, IoT thing groups of edge projects "
            "(<prefix>-project-*), Service Catalog templates by their provisioning tag.",
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
                *(f"Resource::{arn}" for key, arn in project_resources(settings, nag=True).items() if key != "roles"),
            ],
        )

    def _project_launch_role(self, settings: StageSettings) -> None:
        """The Service Catalog launch role of the SageMaker project templates (stacks/projects.py).

        Its allow-list is this boundary, attached as its permissions policy; the Projects stack attaches its other
        policy, denies only (derived from the product templates). It lives here because the boundary it uses lives
        here (attaching it from another stack would make a cycle). It carries no permissions boundary: that
        would be the same document as its only allow (so it caps nothing more), and CloudFormation could not create
        the pair (the policy names the role it is attached to, the role would name the policy). Its path is
        ``/<project>-launch/<stage>/``, outside the stage's role path: it is no platform role that others may pass
        or that the key trusts.
        """
        self.project_launch_role = iam.Role(
            self,
            "ProjectLaunchRole",
            assumed_by=iam.ServicePrincipal(
                "servicecatalog.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
            ),
            path=naming.launch_role_path(settings),
            description=f"Service Catalog launch role of {settings.resource_prefix}'s SageMaker project templates",
            max_session_duration=Duration.hours(1),
        )
        self.permissions_boundary.attach_to_role(self.project_launch_role)


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


def project_resources(settings: StageSettings, *, nag: bool = False) -> dict[str, str]:
    """The resource families of SageMaker projects (stacks/projects.py) by name; ``nag``: as cdk-nag prints them."""
    if nag:
        partition, region, account = "<AWS::Partition>", "<AWS::Region>", "<AWS::AccountId>"
    else:
        partition, region, account = Aws.PARTITION, Aws.REGION, Aws.ACCOUNT_ID
    path, prefix = naming.role_path(settings), settings.resource_prefix
    sagemaker = f"arn:{partition}:sagemaker:{region}:{account}"
    return {
        "stacks": f"arn:{partition}:cloudformation:{region}:{account}:stack/SC-{account}-pp-*/*",
        "roles": f"arn:{partition}:iam::{account}:role{path}*",
        "policies": f"arn:{partition}:iam::{account}:policy{path}*",
        "pipelines": f"{sagemaker}:pipeline/{prefix}-*",
        "groups": f"{sagemaker}:model-package-group/{prefix}-*",
        "projects": f"{sagemaker}:project/*",
        "rules": f"arn:{partition}:events:{region}:{account}:rule/{prefix}-*",
        "schedules": f"arn:{partition}:scheduler:{region}:{account}:schedule/default/{prefix}-*",
        "thing_groups": f"arn:{partition}:iot:{region}:{account}:thinggroup/{prefix}-project-*",
    }


def project_statements(settings: StageSettings) -> list[iam.PolicyStatement]:
    """What launching a SageMaker project may ever do (the launch role) and what launching one asks of a persona."""
    arn = project_resources(settings)
    boundary_arn = naming.permissions_boundary_arn(settings)
    return [
        iam.PolicyStatement(
            sid="ProjectStacksOnly",
            actions=actions.union(actions.PROJECT_STACKS),
            resources=[arn["stacks"]],
        ),
        iam.PolicyStatement(
            sid="ProjectTemplatesByTheirProvisioningTag",
            actions=actions.union(actions.PROJECT_TEMPLATE_READ),
            resources=["*"],
            conditions={"StringEquals": {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}},
        ),
        iam.PolicyStatement(
            sid="CreateRolesOnlyWithThisBoundary",
            actions=actions.union(actions.PROJECT_ROLE_CREATE),
            resources=[arn["roles"]],
            conditions={"StringEquals": {"iam:PermissionsBoundary": boundary_arn}},
        ),
        iam.PolicyStatement(
            sid="ManagePlatformPathRoles",
            actions=actions.union(actions.PROJECT_ROLES),
            resources=[arn["roles"]],
        ),
        iam.PolicyStatement(
            sid="AttachOnlyPlatformPathPolicies",
            actions=actions.union(actions.PROJECT_ROLE_ATTACH),
            resources=[arn["roles"]],
            conditions={"ArnLike": {"iam:PolicyARN": arn["policies"]}},
        ),
        iam.PolicyStatement(
            sid="PlatformPathPolicies",
            actions=actions.union(actions.PROJECT_POLICIES),
            resources=[arn["policies"]],
        ),
        iam.PolicyStatement(
            sid="ProjectPipelinesAndGroups",
            actions=actions.union(actions.PROJECT_SAGEMAKER),
            resources=[arn["pipelines"], arn["groups"]],
        ),
        iam.PolicyStatement(
            sid="ProjectTriggers",
            actions=actions.union(actions.PROJECT_RULES, actions.PROJECT_SCHEDULES),
            resources=[arn["rules"], arn["schedules"]],
        ),
        iam.PolicyStatement(  # an edge intent project's own devices (its model component comes with the deployer)
            sid="ProjectThingGroups",
            actions=actions.union(actions.PROJECT_THING_GROUPS),
            resources=[arn["thing_groups"]],
        ),
        iam.PolicyStatement(
            sid="SageMakerProjects",
            actions=actions.union(actions.PROJECTS_USE),
            resources=[arn["projects"]],
        ),
        iam.PolicyStatement(  # which products a principal sees is decided by the portfolio's principal associations
            sid="ProjectsAndServiceCatalogWithoutResourceScope",
            actions=actions.union(
                actions.PROJECTS_LIST, actions.PROJECT_STACKS_UNSCOPED, actions.SERVICE_CATALOG_END_USER
            ),
            resources=["*"],
        ),
    ]


def studio_statements(settings: StageSettings) -> list[iam.PolicyStatement]:
    """With ``studio.enabled``: a persona opens Studio and runs apps in this account and region (stacks/studio.py)."""
    if not settings.studio.enabled:
        return []
    return [
        iam.PolicyStatement(
            sid="StudioInThisAccountAndRegion",
            actions=actions.union(actions.STUDIO_USE),
            resources=[f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:*"],
        ),
        iam.PolicyStatement(
            sid="StudioListsWithoutResourceScope", actions=actions.union(actions.STUDIO_LIST), resources=["*"]
        ),
    ]
