"""S3 buckets the way the platform stores anything: encrypted, versioned, private, logged, tiered."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.settings import LifecycleSettings


@dataclass(frozen=True)
class ReplicationTarget:
    """Where a bucket replicates to: a bucket in another region, encrypted there with that region's key.

    ``key_arn`` may be an alias ARN (S3 accepts one as the replica key), which keeps the two regions free of
    cross-region references.
    """

    bucket_name: str
    region: str
    key_arn: str | None
    role: iam.IRole


def _lifecycle_rules(lifecycle: LifecycleSettings) -> list[s3.LifecycleRule]:
    transitions = [
        s3.Transition(
            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
            transition_after=Duration.days(lifecycle.infrequent_access_after_days),
        )
    ]
    if lifecycle.glacier_after_days is not None:
        transitions.append(
            s3.Transition(
                storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                transition_after=Duration.days(lifecycle.glacier_after_days),
            )
        )
    return [
        s3.LifecycleRule(
            id="TierAndExpireNoncurrent",
            transitions=transitions,
            noncurrent_version_expiration=Duration.days(lifecycle.noncurrent_version_expiration_days),
            abort_incomplete_multipart_upload_after=Duration.days(lifecycle.abort_incomplete_multipart_upload_days),
        )
    ]


def _replication_rules(
    target: ReplicationTarget | None, scope: Construct, construct_id: str
) -> list[s3.ReplicationRule]:
    if target is None:
        return []
    destination = s3.Bucket.from_bucket_attributes(
        scope, f"{construct_id}ReplicaDestination", bucket_name=target.bucket_name, region=target.region
    )
    key = kms.Key.from_key_arn(scope, f"{construct_id}ReplicaKey", target.key_arn) if target.key_arn else None
    return [
        s3.ReplicationRule(
            id="CrossRegionDisasterRecovery",
            destination=destination,
            kms_key=key,
            sse_kms_encrypted_objects=True if key else None,
            delete_marker_replication=True,
            priority=0,
            filter=s3.Filter(prefix=""),
            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
        )
    ]


def _private_tls_only_versioned() -> dict:
    """Settings every platform bucket shares, data and logs alike."""
    return {
        "versioned": True,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "enforce_ssl": True,
        "minimum_tls_version": 1.2,
    }


class SecureBucket(Construct):
    """A data bucket: SSE-KMS with bucket keys, versioned, public access blocked, TLS 1.2+ only, server access
    logs to ``access_logs``, lifecycle tiering and noncurrent-version expiry, optional cross-region replication,
    optionally every object event sent to EventBridge (``event_bridge``: retraining triggers listen there).

    Exposes ``self.bucket``; grant on it (``grant_read``...) rather than writing policies.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        encryption_key: kms.IKey,
        access_logs: s3.IBucket,
        lifecycle: LifecycleSettings,
        removal_policy: RemovalPolicy,
        replication: ReplicationTarget | None = None,
        event_bridge: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,  # one data key per bucket instead of one KMS call per object: cheaper
            **_private_tls_only_versioned(),
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{construct_id}/",
            lifecycle_rules=_lifecycle_rules(lifecycle),
            replication_role=replication.role if replication else None,
            replication_rules=_replication_rules(replication, self, construct_id) or None,
            removal_policy=removal_policy,
        )
        if event_bridge:
            # The bucket's own EventBridge switch (a CloudFormation property), not ``event_bridge_enabled=True``:
            # CDK implements that with a notifications custom resource and a Lambda function, which would add a
            # function and its role to a stateful stack for what one property does.
            cfn = self.bucket.node.default_child
            assert isinstance(cfn, s3.CfnBucket)
            cfn.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
                event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(event_bridge_enabled=True)
            )


class AccessLogsBucket(Construct):
    """The destination of server access logs.

    S3 cannot deliver access logs to an SSE-KMS bucket, so this one bucket uses SSE-S3; everything else about it
    (versioning, TLS-only, blocked public access, retention) matches the data buckets.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        retention_days: int,
        removal_policy: RemovalPolicy,
        replication: ReplicationTarget | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.S3_MANAGED,
            **_private_tls_only_versioned(),
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(retention_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            replication_role=replication.role if replication else None,
            replication_rules=_replication_rules(replication, self, construct_id) or None,
            removal_policy=removal_policy,
        )
