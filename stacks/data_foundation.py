"""Data foundation (stateful): the stage's KMS key, its five data buckets and their access logs, and the
replica of all of it in a second region.

These stacks change rarely and keep their data (``RETAIN``) everywhere but in a sandbox. Construct IDs here are a
contract: renaming one replaces a bucket (tests pin the logical IDs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from cdk_nag import RegexAppliesTo
from constructs import Construct

from stacks import naming
from stacks.constructs.grantee import ManagedPolicyGrantee
from stacks.constructs.platform_key import PlatformKey
from stacks.constructs.secure_bucket import AccessLogsBucket, ReplicationTarget, SecureBucket
from stacks.nag import IAM_WILDCARDS, S3_REPLICATION, S3_SSE_KMS, suppress
from stacks.outputs import sdk_output
from stacks.settings import StageSettings


@dataclass(frozen=True)
class BucketPurpose:
    construct_id: str
    name_part: str
    description: str


RAW_DATA = BucketPurpose("RawDataBucket", "raw", "data as received, the source of truth for every pipeline")
PROCESSED_FEATURES = BucketPurpose("ProcessedFeaturesBucket", "features", "validated data and feature tables")
MODEL_ARTIFACTS = BucketPurpose("ModelArtifactsBucket", "models", "trained models, evaluations, baselines")
EDGE_MODEL_PREFIX = "models"  # pipeline_code.edge.recipe.MODEL_PREFIX; a test keeps them equal
EDGE_DEPLOYMENTS = BucketPurpose("EdgeDeploymentsBucket", "edge", "Greengrass component artefacts for devices")
PIPELINE_ARTIFACTS = BucketPurpose("PipelineArtifactsBucket", "artifacts", "CI/CD and SageMaker pipeline artefacts")
DATA_BUCKETS = (RAW_DATA, PROCESSED_FEATURES, MODEL_ARTIFACTS, EDGE_DEPLOYMENTS, PIPELINE_ARTIFACTS)
ACCESS_LOGS = BucketPurpose("AccessLogsBucket", "logs", "S3 server access logs of the data buckets")

ACCESS_LOGS_SSE_S3_REASON = (
    "S3 server access log delivery does not support SSE-KMS destination buckets, so this log bucket uses SSE-S3 "
    "(AES-256). It holds access logs only, never data; every data bucket uses the platform KMS key."
)


def _removal_policy(settings: StageSettings) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if settings.retain else RemovalPolicy.DESTROY


class DataFoundationStack(Stack):
    """Creates the platform key (``self.key``), the data buckets (``self.raw_data_bucket`` ...,
    ``self.data_buckets``), the access-log bucket, and, when the stage replicates, the replication role.

    Grants nothing to anyone: the identity stack grants on these objects.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = _removal_policy(settings)
        self.platform_key = PlatformKey(
            self,
            "PlatformKey",
            alias=naming.key_alias(settings),
            role_path=naming.role_path(settings),
            description=f"Encrypts every data store of {settings.resource_prefix}",
            removal_policy=removal,
        )
        self.key: kms.IKey = self.platform_key.key

        replication_role = self._replication_role(settings) if settings.replication else None
        replica_region = settings.replication.region if settings.replication else None

        def target(purpose: BucketPurpose, *, encrypted: bool) -> ReplicationTarget | None:
            if replication_role is None or replica_region is None:
                return None
            return ReplicationTarget(
                bucket_name=naming.bucket_name(self, settings, purpose.name_part, region=replica_region, replica=True),
                region=replica_region,
                key_arn=naming.key_alias_arn(settings, region=replica_region, replica=True) if encrypted else None,
                role=replication_role,
            )

        access_logs = AccessLogsBucket(
            self,
            ACCESS_LOGS.construct_id,
            bucket_name=naming.bucket_name(self, settings, ACCESS_LOGS.name_part, region=self.region),
            retention_days=settings.lifecycle.access_log_retention_days,
            removal_policy=removal,
            replication=target(ACCESS_LOGS, encrypted=False),
        )
        self.access_logs_bucket: s3.IBucket = access_logs.bucket
        suppress(access_logs.bucket, S3_SSE_KMS, ACCESS_LOGS_SSE_S3_REASON)
        if replication_role is None:
            _suppress_unreplicated(access_logs.bucket, settings)

        self.data_buckets: dict[str, s3.IBucket] = {}
        for purpose in DATA_BUCKETS:
            secure = SecureBucket(
                self,
                purpose.construct_id,
                bucket_name=naming.bucket_name(self, settings, purpose.name_part, region=self.region),
                encryption_key=self.key,
                access_logs=access_logs.bucket,
                lifecycle=settings.lifecycle,
                removal_policy=removal,
                replication=target(purpose, encrypted=True),
                # New raw data starts retraining (rules in the MlPlatform stack match these events).
                event_bridge=purpose is RAW_DATA,
            )
            self.data_buckets[purpose.construct_id] = secure.bucket
            if replication_role is None:
                _suppress_unreplicated(secure.bucket, settings)

        if replication_role is not None and replica_region is not None:
            self._grant_replication(replication_role, settings, replica_region, access_logs.bucket)

        self.raw_data_bucket = self.data_buckets[RAW_DATA.construct_id]
        self.processed_features_bucket = self.data_buckets[PROCESSED_FEATURES.construct_id]
        self.model_artifacts_bucket = self.data_buckets[MODEL_ARTIFACTS.construct_id]
        self.edge_deployments_bucket = self.data_buckets[EDGE_DEPLOYMENTS.construct_id]
        self.pipeline_artifacts_bucket = self.data_buckets[PIPELINE_ARTIFACTS.construct_id]
        self._let_edge_devices_read_models(settings)
        self.audit_log_group = self._audit_log_group(settings, removal)
        self._pin_cross_stack_exports()
        self._publish_sdk_outputs(settings)

    def _let_edge_devices_read_models(self, settings: StageSettings) -> None:
        """Devices (the edge stack's token-exchange role) read model artefacts under ``models/``, written by the edge
        deployer at approval time. Granted here, by the role's fixed ARN, rather than as a ``models/*`` wildcard in the
        role's IAM policy: same access, no wildcard in an identity policy, no reference back to the edge stack."""
        self.edge_deployments_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EdgeDevicesReadModels",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject"],
                resources=[self.edge_deployments_bucket.arn_for_objects(f"{EDGE_MODEL_PREFIX}/*")],
                conditions={"ArnEquals": {"aws:PrincipalArn": naming.edge_token_exchange_role_arn(settings)}},
            )
        )

    def _audit_log_group(self, settings: StageSettings, removal: RemovalPolicy) -> logs.LogGroup:
        """Where the platform SDK appends its audit trail (who changed what); the identity stack lets the
        execution and persona roles write to it. Kept six years outside sandboxes (HIPAA's documentation
        retention); it bills only for what is stored."""
        name = naming.audit_log_group_name(settings)
        self.platform_key.grant_log_group_encryption(name)
        return logs.LogGroup(
            self,
            "SdkAuditLogGroup",
            log_group_name=name,
            encryption_key=self.key,
            retention=logs.RetentionDays.SIX_YEARS if settings.retain else logs.RetentionDays.ONE_MONTH,
            removal_policy=removal,
        )

    def _pin_cross_stack_exports(self) -> None:
        """Declare the exports the identity and budget stacks consume, in a fixed order.

        CDK otherwise adds them in the order it discovers references, and that order follows token numbering, so
        one more token anywhere in the app (an output, a stack) can reorder them between two synths of the same
        code. ``export_value`` gives each the name CDK's automatic reference would, so consumers reuse it.
        """
        self.export_value(self.raw_data_bucket.bucket_arn)
        self.export_value(self.key.key_arn)
        for bucket in (
            self.processed_features_bucket,
            self.model_artifacts_bucket,
            self.edge_deployments_bucket,
            self.pipeline_artifacts_bucket,
        ):
            self.export_value(bucket.bucket_arn)
        self.export_value(self.audit_log_group.log_group_arn)

    def _publish_sdk_outputs(self, settings: StageSettings) -> None:
        """What the platform SDK's config needs from this stack (see mlops_sdk/outputs.py)."""
        sdk_output(self, settings=settings, key="StageResourcePrefix", value=settings.resource_prefix)
        sdk_output(self, settings=settings, key="StageRegion", value=self.region)
        sdk_output(self, settings=settings, key="PlatformKeyArn", value=self.key.key_arn)
        for purpose in DATA_BUCKETS:
            bucket = self.data_buckets[purpose.construct_id]
            sdk_output(self, settings=settings, key=f"{purpose.construct_id}Name", value=bucket.bucket_name)
        sdk_output(self, settings=settings, key="AuditLogGroupName", value=self.audit_log_group.log_group_name)

    def _replication_role(self, settings: StageSettings) -> iam.Role:
        return iam.Role(
            self,
            "ReplicationRole",
            assumed_by=iam.ServicePrincipal(
                "s3.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
            ),
            path=naming.role_path(settings),
            description=f"S3 cross-region replication of {settings.resource_prefix} buckets",
        )

    def _grant_replication(
        self, role: iam.Role, settings: StageSettings, replica_region: str, access_logs: s3.IBucket
    ) -> None:
        grantee = ManagedPolicyGrantee(
            self, "ReplicationPermissions", role=role, description="Replicate the stage's buckets to its replica"
        )
        sources = [
            (ACCESS_LOGS, access_logs, None),
            *((p, self.data_buckets[p.construct_id], self.key) for p in DATA_BUCKETS),
        ]
        for purpose, bucket, key in sources:
            destination = s3.Bucket.from_bucket_attributes(
                self,
                f"{purpose.construct_id}ReplicaGrantTarget",
                bucket_name=naming.bucket_name(self, settings, purpose.name_part, region=replica_region, replica=True),
                region=replica_region,
            )
            bucket.grant_replication_permission(
                grantee,
                source_decryption_key=key,
                destinations=[s3.GrantReplicationPermissionDestinationProps(bucket=destination)],
            )
        # The replica key is found by alias (no cross-region reference); IAM matches keys, not aliases, in
        # resources, so the statement names any key of the account there and pins it with kms:ResourceAliases.
        grantee.add_to_principal_policy(
            iam.PolicyStatement(
                sid="EncryptWithReplicaKey",
                actions=["kms:Encrypt", "kms:GenerateDataKey"],
                resources=[f"arn:{self.partition}:kms:{replica_region}:{self.account}:key/*"],
                conditions={
                    "ForAnyValue:StringEquals": {"kms:ResourceAliases": naming.key_alias(settings, replica=True)}
                },
            )
        )
        suppress(
            grantee.policy,
            IAM_WILDCARDS,
            "S3 replication reads every object version of each source bucket and writes every object of its "
            "replica (object ARNs end in /*, actions are CDK's replication grant); the replica key is matched by "
            "its alias through kms:ResourceAliases because its ID is not known in this region.",
            applies_to=[
                RegexAppliesTo(regex=r"/^Resource::<[A-Za-z]+Bucket[0-9A-F]{8}\.Arn>\/\*$/g"),
                RegexAppliesTo(
                    regex=rf"/^Resource::arn:[a-z-]+:s3:::{re.escape(settings.resource_prefix)}-[a-z]+-dr-"
                    rf"(<AWS::AccountId>|[0-9]{{12}})-{re.escape(replica_region)}\/\*$/g"
                ),
                RegexAppliesTo(
                    regex=rf"/^Resource::arn:[a-z-]+:kms:{re.escape(replica_region)}:(<AWS::AccountId>|[0-9]{{12}}):key\/\*$/g"
                ),
            ],
        )


def _suppress_unreplicated(bucket: s3.IBucket, settings: StageSettings) -> None:
    suppress(
        bucket,
        S3_REPLICATION,
        f"Replication is switched off for stage {settings.stage} (config/{settings.stage}.yaml has no "
        "'replication' block); versioning and RETAIN still protect the data within the region.",
    )


class DataReplicaStack(Stack):
    """The disaster-recovery copy of a stage's data foundation, in the replication region.

    Creates a replica key (alias ``<prefix>-dr``), one replica bucket per data bucket and a replica access-log
    bucket, named as the primary's replication rules expect. Deploy it before the primary data foundation.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: StageSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = _removal_policy(settings)
        self.key = PlatformKey(
            self,
            "ReplicaKey",
            alias=naming.key_alias(settings, replica=True),
            role_path=naming.role_path(settings),
            description=f"Encrypts the disaster-recovery replica of {settings.resource_prefix}",
            removal_policy=removal,
        ).key
        access_logs = AccessLogsBucket(
            self,
            ACCESS_LOGS.construct_id,
            bucket_name=naming.bucket_name(self, settings, ACCESS_LOGS.name_part, region=self.region, replica=True),
            retention_days=settings.lifecycle.access_log_retention_days,
            removal_policy=removal,
        )
        suppress(access_logs.bucket, S3_SSE_KMS, ACCESS_LOGS_SSE_S3_REASON)
        suppress(access_logs.bucket, S3_REPLICATION, _replica_reason(ACCESS_LOGS, settings))
        self.buckets: dict[str, s3.IBucket] = {}
        for purpose in DATA_BUCKETS:
            replica = SecureBucket(
                self,
                purpose.construct_id,
                bucket_name=naming.bucket_name(self, settings, purpose.name_part, region=self.region, replica=True),
                encryption_key=self.key,
                access_logs=access_logs.bucket,
                lifecycle=settings.lifecycle,
                removal_policy=removal,
            )
            suppress(replica.bucket, S3_REPLICATION, _replica_reason(purpose, settings))
            self.buckets[purpose.construct_id] = replica.bucket


def _replica_reason(purpose: BucketPurpose, settings: StageSettings) -> str:
    return (
        f"This bucket is the cross-region replication destination of the {settings.stage} {purpose.name_part} "
        f"bucket in {settings.region}; it is the second copy, and replicating it again would add a third copy "
        "without protecting against any further failure."
    )
