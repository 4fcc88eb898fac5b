"""A SageMaker Feature Store feature group: offline store in a platform bucket, optional online store."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct


class FeatureGroup(Construct):
    """Creates ``self.feature_group`` (``AWS::SageMaker::FeatureGroup``) named ``feature_group_name``.

    The offline store writes Parquet to ``s3://<offline_bucket>/<offline_prefix>``, encrypted with ``key``, as
    ``role`` (which needs write access to that bucket and the key: the Identity stack grants it); no Glue table
    is created (the role has no Glue permissions). The online store, when ``online_store``, is encrypted with
    ``key`` too. ``definitions`` are ``{"FeatureName", "FeatureType"}`` dicts generated from the data contract.
    Grants nothing.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        feature_group_name: str,
        definitions: Sequence[dict[str, str]],
        record_identifier: str,
        event_time_feature: str,
        role: iam.IRole,
        offline_bucket: s3.IBucket,
        offline_prefix: str,
        key: kms.IKey,
        online_store: bool,
        removal_policy: RemovalPolicy,
        description: str = "",
    ) -> None:
        super().__init__(scope, construct_id)
        names = [d["FeatureName"] for d in definitions]
        for required in (record_identifier, event_time_feature):
            if required not in names:
                raise ValueError(f"feature group {feature_group_name}: {required!r} is not among its features")
        self.feature_group_name = feature_group_name
        self.feature_group = sagemaker.CfnFeatureGroup(
            self,
            "FeatureGroup",
            feature_group_name=feature_group_name,
            description=description[:128] or None,
            record_identifier_feature_name=record_identifier,
            event_time_feature_name=event_time_feature,
            feature_definitions=[
                sagemaker.CfnFeatureGroup.FeatureDefinitionProperty(
                    feature_name=d["FeatureName"], feature_type=d["FeatureType"]
                )
                for d in definitions
            ],
            role_arn=role.role_arn,
            offline_store_config={
                "S3StorageConfig": {
                    "S3Uri": offline_bucket.s3_url_for_object(offline_prefix),
                    "KmsKeyId": key.key_arn,
                },
                "DisableGlueTableCreation": True,
            },
            online_store_config=(
                {"EnableOnlineStore": True, "SecurityConfig": {"KmsKeyId": key.key_arn}} if online_store else None
            ),
        )
        self.feature_group.apply_removal_policy(removal_policy)
