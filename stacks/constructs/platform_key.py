"""The customer-managed KMS key that encrypts everything a stage stores."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.iam_actions import KMS_GRANT_FOR_AWS_RESOURCE, KMS_USAGE

# Administration without use: an account administrator can manage the key but cannot read data with it.
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)


class PlatformKey(Construct):
    """A KMS key with rotation, an alias and a key policy that separates administration from use.

    - The account may administer the key (IAM decides who), but not use it.
    - Only roles under the platform's IAM path (``role_path``) may use it, and only if their IAM policy allows.
    - Grants for AWS resources may be created through SageMaker only (encrypted job volumes, online stores).
    - Services that publish on the platform's behalf are added with ``grant_service_usage``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: str,
        role_path: str,
        description: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        account = iam.AccountRootPrincipal()
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="KeyAdministration", principals=[account], actions=list(KEY_ADMIN_ACTIONS), resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="KeyUsageByPlatformRoles",
                    principals=[account],
                    actions=list(KMS_USAGE),
                    resources=["*"],  # in a key policy "*" means this key
                    conditions={
                        "ArnLike": {"aws:PrincipalArn": f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role{role_path}*"}
                    },
                ),
                iam.PolicyStatement(
                    # SageMaker encrypts job volumes and the Feature Store online store with this key by creating a
                    # grant for that AWS resource, as the caller (a platform role running a job, or the deployment
                    # creating a feature group); only through SageMaker, and only grants for AWS resources.
                    sid="GrantsForSageMakerResources",
                    principals=[account],
                    actions=[*KMS_GRANT_FOR_AWS_RESOURCE, "kms:DescribeKey"],
                    resources=["*"],
                    conditions={
                        "Bool": {"kms:GrantIsForAWSResource": "true"},
                        "StringEquals": {"kms:ViaService": f"sagemaker.{Aws.REGION}.amazonaws.com"},
                    },
                ),
            ]
        )
        self.key = kms.Key(
            self,
            "Key",
            description=description,
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            pending_window=Duration.days(30),
            alias=alias,
            policy=policy,
            removal_policy=removal_policy,
        )

    def grant_service_usage(self, service: str, *, source_account_only: bool = True) -> None:
        """Let an AWS service principal encrypt for the platform (e.g. Budgets publishing to an encrypted topic)."""
        conditions = {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}} if source_account_only else None
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"UsageBy{service.split('.')[0].title()}Service",
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions=conditions,
            )
        )

    def service_topic(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: str,
        sid: str,
        display_name: str,
        topic_name: str | None = None,
    ) -> sns.Topic:
        """An SNS topic under this key, TLS only, to which one AWS service of this account may publish (Budgets'
        alerts, CloudWatch's alarm actions); the key lets that service encrypt for it."""
        topic = sns.Topic(
            scope,
            construct_id,
            topic_name=topic_name,
            display_name=display_name,
            master_key=self.key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
            )
        )
        self.grant_service_usage(service)
        return topic

    def grant_log_group_encryption(self, log_group_name: str, *, sid: str = "EncryptionByCloudWatchLogs") -> None:
        """Let CloudWatch Logs of this region encrypt and read one log group with the key, and nothing else: the
        encryption context CloudWatch Logs sends names the log group."""
        arn = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{log_group_name}"
        self.key.add_to_resource_policy(log_group_encryption(sid=sid, region=Aws.REGION, log_group_arn=arn))

    def allow_studio_volumes(self) -> None:
        """Let the deployment create a Studio domain whose home EFS volume this key encrypts, and the apps mount it:
        principals of this account, only through EFS or SageMaker of this region (SageMaker creates the file system
        as the caller, and EFS then uses the key through grants it makes for that file system)."""
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="StudioHomeVolumeThroughEfsAndSageMaker",
                principals=[iam.AccountRootPrincipal()],
                actions=[
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:Encrypt",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                ],
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "StringEquals": {
                        "kms:CallerAccount": Aws.ACCOUNT_ID,
                        "kms:ViaService": [
                            f"elasticfilesystem.{Aws.REGION}.amazonaws.com",
                            f"sagemaker.{Aws.REGION}.amazonaws.com",
                        ],
                    }
                },
            )
        )


def log_group_encryption(*, sid: str, region: str, log_group_arn: str) -> iam.PolicyStatement:
    """Key-policy statement: CloudWatch Logs of ``region`` may encrypt and read the log group ``log_group_arn`` with
    the key, and nothing else (the encryption context CloudWatch Logs sends names the log group)."""
    return iam.PolicyStatement(
        sid=sid,
        principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
        actions=[
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:DescribeKey",
        ],
        resources=["*"],  # in a key policy "*" means this key
        conditions={"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
    )
