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
