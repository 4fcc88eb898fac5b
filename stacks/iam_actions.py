"""Named groups of IAM actions, shared by the role policies (identity) and the permissions boundary (guardrails).

The boundary is built from the same groups the roles use, so a role can never be granted an action that its
boundary silently blocks, and the boundary never allows more than some role needs.
"""

from __future__ import annotations

# S3 object and bucket actions the platform's data access uses (CDK grants use prefixes like s3:GetObject*; the
# boundary lists the concrete actions behind them that the platform needs).
S3_DATA = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersion",
    "s3:DeleteObjectVersionTagging",
    "s3:GetBucketLocation",
    "s3:GetBucketVersioning",
    "s3:GetObject",
    "s3:GetObjectAttributes",
    "s3:GetObjectTagging",
    "s3:GetObjectVersion",
    "s3:GetObjectVersionAttributes",
    "s3:GetObjectVersionTagging",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
)
S3_REPLICATION = (
    "s3:GetObjectLegalHold",
    "s3:GetObjectRetention",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionForReplication",
    "s3:GetReplicationConfiguration",
    "s3:ReplicateDelete",
    "s3:ReplicateObject",
    "s3:ReplicateTags",
)
# Feature Store writes its offline store with bucket-owner ACLs (AmazonSageMakerFeatureStoreAccess lists these).
FEATURE_STORE_OFFLINE = ("s3:GetBucketAcl", "s3:PutObjectAcl")
# The step code asset is read from the CDK file-asset bucket of the account and region (see stacks/ml_platform.py).
CDK_ASSET_READ = ("s3:GetObject", "s3:ListBucket")
KMS_USAGE = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)

# SageMaker jobs encrypt their EBS volumes (VolumeKmsKeyId) and Feature Store its online store with the stage key:
# the service creates a grant on the key for the AWS resource, as the caller.
KMS_GRANT_FOR_AWS_RESOURCE = ("kms:CreateGrant",)

PIPELINE_RUN = (
    "sagemaker:StartPipelineExecution",
    "sagemaker:StopPipelineExecution",
    "sagemaker:RetryPipelineExecution",
)
PIPELINE_READ = (
    "sagemaker:DescribePipeline",
    "sagemaker:DescribePipelineDefinitionForExecution",
    "sagemaker:DescribePipelineExecution",
    "sagemaker:ListPipelineExecutionSteps",
    "sagemaker:ListPipelineExecutions",
    "sagemaker:ListPipelineParametersForExecution",
)
PIPELINE_JOBS = (  # what a running pipeline does with its jobs
    "sagemaker:AddTags",
    "sagemaker:CreateProcessingJob",
    "sagemaker:DescribeProcessingJob",
    "sagemaker:StopProcessingJob",
    "sagemaker:CreateTrainingJob",
    "sagemaker:DescribeTrainingJob",
    "sagemaker:StopTrainingJob",
)
EXPERIMENTS = (
    "sagemaker:AddTags",
    "sagemaker:AssociateTrialComponent",
    "sagemaker:CreateExperiment",
    "sagemaker:CreateTrial",
    "sagemaker:CreateTrialComponent",
    "sagemaker:DescribeExperiment",
    "sagemaker:DescribeTrial",
    "sagemaker:DescribeTrialComponent",
    "sagemaker:UpdateTrialComponent",
)
REGISTRY_READ = (
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
)
REGISTER_MODEL = ("sagemaker:CreateModelPackage",)
APPROVE_MODEL = ("sagemaker:UpdateModelPackage",)
FEATURE_GROUP_CREATE = (  # the platform SDK's create_feature_group (a group named with the stage prefix)
    "sagemaker:AddTags",
    "sagemaker:CreateFeatureGroup",
    "sagemaker:DescribeFeatureGroup",
)
FEATURE_STORE_RECORDS = ("sagemaker:DescribeFeatureGroup", "sagemaker:GetRecord", "sagemaker:PutRecord")
ENDPOINTS = (
    "sagemaker:AddTags",
    "sagemaker:CreateModel",
    "sagemaker:DescribeModel",
    "sagemaker:DeleteModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:DescribeEndpoint",
    "sagemaker:UpdateEndpoint",
    "sagemaker:DeleteEndpoint",
    "sagemaker:InvokeEndpoint",
)
MONITORING = (
    "sagemaker:CreateMonitoringSchedule",
    "sagemaker:DescribeMonitoringSchedule",
    "sagemaker:UpdateMonitoringSchedule",
    "sagemaker:StartMonitoringSchedule",
    "sagemaker:StopMonitoringSchedule",
    "sagemaker:DeleteMonitoringSchedule",
    "sagemaker:ListMonitoringExecutions",
)
# Batch scoring with an approved model version (mlops deploy batch)
BATCH_TRANSFORM = (
    "sagemaker:AddTags",
    "sagemaker:CreateTransformJob",
    "sagemaker:DescribeTransformJob",
    "sagemaker:StopTransformJob",
)
# The model deployer (Lambda) and the ML engineer running it: run it, read its settings.
INVOKE_DEPLOYER = ("lambda:InvokeFunction", "lambda:GetFunctionConfiguration")
# The deployer's failed events go to its dead-letter queue.
DEAD_LETTER = ("sqs:SendMessage",)
# Lambda active tracing (X-Ray has no resource-level scope for these).
TRACING = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
# Rollback and status list a group's versions and an endpoint's configs (no resource-level scope in IAM).
DEPLOY_LIST = ("sagemaker:ListEndpointConfigs", "sagemaker:ListModelPackages")
# Deploying or approving a model is the ML engineer's decision; a data scientist is explicitly denied these.
APPROVE_OR_DEPLOY = (
    *APPROVE_MODEL,
    "lambda:InvokeFunction",
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:DeleteEndpoint",
    "sagemaker:CreateMonitoringSchedule",
    "sagemaker:UpdateMonitoringSchedule",
    "sagemaker:DeleteMonitoringSchedule",
)
# No resource-level scope exists for these: they need Resource "*".
LIST_AND_SEARCH = (
    "sagemaker:ListExperiments",
    "sagemaker:ListModelPackageGroups",
    "sagemaker:ListPipelines",
    "sagemaker:ListTrialComponents",
    "sagemaker:ListTrials",
    "sagemaker:Search",
)
METRICS_UNSCOPED = ("cloudwatch:GetMetricData", "cloudwatch:PutMetricData")
ECR_LOGIN = ("ecr:GetAuthorizationToken",)
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
# Jobs in a VPC: SageMaker creates and removes the jobs' network interfaces (none of these has a resource scope).
VPC_JOBS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
# The edge side of the deployer: a model component version per approved intent model, a deployment revision of the
# stage's thing group (Greengrass runs it as IoT jobs, which the caller must be allowed to manage).
EDGE_COMPONENTS = ("greengrass:DescribeComponent",)  # component versions named with the stage prefix
EDGE_DEPLOY = ("greengrass:CreateDeployment", "greengrass:GetDeployment", "greengrass:TagResource")
EDGE_UNSCOPED = ("greengrass:CreateComponentVersion", "greengrass:ListDeployments")  # no resource-level scope
IOT_DEPLOYMENT_JOBS = (
    "iot:CancelJob",
    "iot:CreateJob",
    "iot:DeleteThingShadow",
    "iot:DescribeJob",
    "iot:DescribeThing",
    "iot:DescribeThingGroup",
    "iot:GetThingShadow",
    "iot:UpdateJob",
    "iot:UpdateThingShadow",
)
LOG_WRITE = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams")
ALARMS = (
    "cloudwatch:DescribeAlarms",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:EnableAlarmActions",
    "cloudwatch:DisableAlarmActions",
)

SAGEMAKER_SCOPED = (
    PIPELINE_RUN,
    PIPELINE_READ,
    PIPELINE_JOBS,
    EXPERIMENTS,
    REGISTRY_READ,
    REGISTER_MODEL,
    APPROVE_MODEL,
    FEATURE_STORE_RECORDS,
    FEATURE_GROUP_CREATE,
    ENDPOINTS,
    BATCH_TRANSFORM,
    MONITORING,
)


def union(*groups: tuple[str, ...]) -> list[str]:
    """Sorted, de-duplicated actions of several groups (stable templates)."""
    return sorted({action for group in groups for action in group})


# SageMaker projects (stacks/projects.py): what the Service Catalog launch role does for the product templates, and
# what the persona roles need to launch a project. The launch role's actions are derived per resource type of the
# product templates (``PROJECT_LAUNCH_BY_RESOURCE_TYPE``); tests/projects checks them against the CloudFormation
# resource schemas' handler permissions.
PROJECT_STACKS = (  # Service Catalog runs each provisioned product as a stack named SC-<account>-pp-<id>
    "cloudformation:CreateStack",
    "cloudformation:DeleteStack",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResource",  # Service Catalog reads a provisioned product's resources and outputs
    "cloudformation:DescribeStackResources",
    "cloudformation:DescribeStacks",
    "cloudformation:GetTemplate",
    "cloudformation:SetStackPolicy",
    "cloudformation:UpdateStack",
)
PROJECT_STACKS_UNSCOPED = ("cloudformation:GetTemplateSummary", "cloudformation:ValidateTemplate")
PROJECT_TEMPLATE_READ = ("s3:GetObject",)  # Service Catalog's template copies (tag-conditioned)
PROJECT_SAGEMAKER = (
    "sagemaker:AddTags",
    "sagemaker:DeleteTags",
    "sagemaker:ListTags",
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DeleteModelPackageGroup",
    "sagemaker:GetModelPackageGroupPolicy",
    "sagemaker:PutModelPackageGroupPolicy",
    "sagemaker:DeleteModelPackageGroupPolicy",
    "sagemaker:CreatePipeline",
    "sagemaker:DescribePipeline",
    "sagemaker:UpdatePipeline",
    "sagemaker:DeletePipeline",
)
PROJECT_ROLE_CREATE = ("iam:CreateRole", "iam:PutRolePermissionsBoundary")  # only with the stage's boundary
PROJECT_ROLES = (
    "iam:DeleteRole",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
PROJECT_ROLE_ATTACH = ("iam:AttachRolePolicy", "iam:DetachRolePolicy")  # only policies under the stage's path
PROJECT_POLICIES = (
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListEntitiesForPolicy",
    "iam:ListPolicyVersions",
)
PROJECT_PASS_ROLE = ("iam:PassRole",)  # the SageMaker execution role to pipelines, trigger roles to their rules
PROJECT_RULES = (
    "events:DeleteRule",
    "events:DescribeRule",
    "events:ListTagsForResource",
    "events:ListTargetsByRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:TagResource",
    "events:UntagResource",
)
PROJECT_SCHEDULES = (
    "scheduler:CreateSchedule",
    "scheduler:DeleteSchedule",
    "scheduler:GetSchedule",
    "scheduler:UpdateSchedule",
)
PROJECT_THING_GROUPS = (  # an edge intent project's own thing group (<prefix>-project-<name>-devices)
    "iot:CreateThingGroup",
    "iot:DeleteThingGroup",
    "iot:DescribeThingGroup",
    "iot:ListTagsForResource",
    "iot:TagResource",
    "iot:UntagResource",
    "iot:UpdateThingGroup",
)
PROJECT_ALARMS = (  # a tabular project's endpoint alarms (<prefix>-<name>-5xx-errors, -model-latency-p99)
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:ListTagsForResource",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:TagResource",
    "cloudwatch:UntagResource",
)
PROJECT_LAUNCH_BY_RESOURCE_TYPE: dict[str, tuple[str, ...]] = {
    "AWS::SageMaker::ModelPackageGroup": PROJECT_SAGEMAKER,
    "AWS::SageMaker::Pipeline": (*PROJECT_SAGEMAKER, *PROJECT_PASS_ROLE, *PROJECT_TEMPLATE_READ),
    "AWS::IAM::Role": (*PROJECT_ROLE_CREATE, *PROJECT_ROLES, *PROJECT_ROLE_ATTACH),
    "AWS::IAM::ManagedPolicy": (*PROJECT_POLICIES, *PROJECT_ROLE_ATTACH),
    "AWS::Events::Rule": (*PROJECT_RULES, *PROJECT_PASS_ROLE),
    "AWS::Scheduler::Schedule": (*PROJECT_SCHEDULES, *PROJECT_PASS_ROLE),
    "AWS::IoT::ThingGroup": PROJECT_THING_GROUPS,
    "AWS::CloudWatch::Alarm": PROJECT_ALARMS,
}
"""Every resource type a product template may contain, and the actions CloudFormation needs to create, read, update
and delete it as the launch role. A type missing here fails the synth (stacks/projects.py)."""
PROJECT_LAUNCH_NEVER = (
    # CloudFormation's role handlers list these, but the products never need them: removing a role's boundary would
    # lift the stage's cap, and product roles carry customer-managed policies only (no inline policies, no users or
    # groups). The launch role is denied them explicitly.
    "iam:DeleteRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:GetRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachGroupPolicy",
    "iam:AttachUserPolicy",
    "iam:DetachGroupPolicy",
    "iam:DetachUserPolicy",
    # The thing group handlers' dynamic variants: a project's thing group is a static one (devices are added to it).
    "iot:CreateDynamicThingGroup",
    "iot:DeleteDynamicThingGroup",
    "iot:UpdateDynamicThingGroup",
)
# The personas launch projects from Studio or the CLI: SageMaker projects, and Service Catalog as an end user (which
# products they see is decided by the portfolio's principal associations).
PROJECTS_USE = (
    "sagemaker:CreateProject",
    "sagemaker:DeleteProject",
    "sagemaker:DescribeProject",
    "sagemaker:UpdateProject",
)
PROJECTS_LIST = ("sagemaker:ListProjects",)
SERVICE_CATALOG_END_USER = (
    "servicecatalog:DescribeProduct",
    "servicecatalog:DescribeProductView",
    "servicecatalog:DescribeProvisionedProduct",
    "servicecatalog:DescribeProvisioningParameters",
    "servicecatalog:DescribeRecord",
    "servicecatalog:ListLaunchPaths",
    "servicecatalog:ListRecordHistory",
    "servicecatalog:ProvisionProduct",
    "servicecatalog:ScanProvisionedProducts",
    "servicecatalog:SearchProducts",
    "servicecatalog:SearchProvisionedProducts",
    "servicecatalog:TerminateProvisionedProduct",
    "servicecatalog:UpdateProvisionedProduct",
)


def project_launch_actions(resource_types: set[str] | frozenset[str]) -> list[str]:
    """What the launch role needs for templates made of ``resource_types`` (sorted; stacks and templates included)."""
    unknown = sorted(set(resource_types) - set(PROJECT_LAUNCH_BY_RESOURCE_TYPE))
    if unknown:
        raise ValueError(
            f"product templates contain {', '.join(unknown)}: add the actions CloudFormation needs for them to "
            "PROJECT_LAUNCH_BY_RESOURCE_TYPE in stacks/iam_actions.py (the launch role is derived from it)"
        )
    return union(
        PROJECT_STACKS,
        PROJECT_STACKS_UNSCOPED,
        PROJECT_TEMPLATE_READ,
        *(PROJECT_LAUNCH_BY_RESOURCE_TYPE[t] for t in resource_types),
    )


# Studio (stacks/studio.py, when studio.enabled): a persona opens Studio with its own profile and runs apps there.
STUDIO_USE = (
    "sagemaker:CreateApp",
    "sagemaker:CreatePresignedDomainUrl",
    "sagemaker:DeleteApp",
    "sagemaker:DescribeApp",
    "sagemaker:DescribeDomain",
    "sagemaker:DescribeUserProfile",
)
STUDIO_LIST = ("sagemaker:ListApps", "sagemaker:ListDomains", "sagemaker:ListUserProfiles")
