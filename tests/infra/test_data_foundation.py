"""The stateful data foundation: key, buckets, access logs, replication."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Capture, Match

from stacks.data_foundation import ACCESS_LOGS, DATA_BUCKETS

DATA_BUCKET_COUNT = len(DATA_BUCKETS)


@pytest.fixture(scope="module")
def dev_data(synthesized):
    return synthesized.template("dev", "data")


@pytest.fixture(scope="module")
def dev_replica(synthesized):
    return synthesized.template("dev", "replica")


def _data_buckets(template):
    buckets = template.find_resources("AWS::S3::Bucket")
    return {lid: r for lid, r in buckets.items() if not lid.startswith(ACCESS_LOGS.construct_id)}


def test_one_customer_managed_key_with_rotation_and_alias(dev_data):
    dev_data.resource_count_is("AWS::KMS::Key", 1)
    dev_data.has_resource_properties(
        "AWS::KMS::Key", {"EnableKeyRotation": True, "RotationPeriodInDays": 365, "PendingWindowInDays": 30}
    )
    dev_data.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/mlops-dev"})


def test_key_policy_separates_administration_from_use(dev_data):
    policy = next(iter(dev_data.find_resources("AWS::KMS::Key").values()))["Properties"]["KeyPolicy"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    admin = statements["KeyAdministration"]
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"} & set(admin["Action"])
    assert all("*" not in action for s in policy["Statement"] for action in _as_list(s["Action"]))
    usage = statements["KeyUsageByPlatformRoles"]
    condition = usage["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert ":role/mlops/dev/*" in str(condition)


def test_five_data_buckets_plus_access_logs(dev_data):
    dev_data.resource_count_is("AWS::S3::Bucket", DATA_BUCKET_COUNT + 1)
    names = {str(r["Properties"]["BucketName"]) for r in _data_buckets(dev_data).values()}
    for part in ("raw", "features", "models", "edge", "artifacts"):
        assert any(f"mlops-dev-{part}-" in n for n in names), part


def test_data_buckets_use_platform_key_with_bucket_keys(dev_data):
    key = Capture()
    for bucket in _data_buckets(dev_data).values():
        rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["BucketKeyEnabled"] is True
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    dev_data.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]}}}
                ]
            }
        },
    )
    assert key.as_string().startswith("PlatformKey")


def test_every_bucket_versioned_private_and_owner_enforced(dev_data):
    for bucket in dev_data.find_resources("AWS::S3::Bucket").values():
        props = bucket["Properties"]
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_every_bucket_policy_denies_plain_http_and_old_tls(dev_data):
    policies = dev_data.find_resources("AWS::S3::BucketPolicy")
    assert len(policies) == DATA_BUCKET_COUNT + 1
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        conditions = [s.get("Condition", {}) for s in statements if s["Effect"] == "Deny"]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_data_buckets_log_to_the_access_log_bucket(dev_data):
    for lid, bucket in _data_buckets(dev_data).items():
        logging = bucket["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"]["Ref"].startswith(ACCESS_LOGS.construct_id), lid


def test_access_log_bucket_is_sse_s3_and_expires_logs(dev_data, synthesized):
    retention = synthesized.stages["dev"].settings.lifecycle.access_log_retention_days
    dev_data.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": Match.object_like({"Fn::Join": ["", Match.array_with(["mlops-dev-logs-"])]}),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like({"ExpirationInDays": retention})])},
        },
    )


def test_lifecycle_rules_come_from_config(synthesized):
    for stage in ("dev", "prod"):
        lifecycle = synthesized.stages[stage].settings.lifecycle
        template = synthesized.template(stage, "data")
        for bucket in _data_buckets(template).values():
            (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
            assert rule["NoncurrentVersionExpiration"] == {
                "NoncurrentDays": lifecycle.noncurrent_version_expiration_days
            }
            transitions = {t["StorageClass"]: t["TransitionInDays"] for t in rule["Transitions"]}
            assert transitions["STANDARD_IA"] == lifecycle.infrequent_access_after_days
            assert transitions["GLACIER_IR"] == lifecycle.glacier_after_days


def test_sandbox_without_glacier_has_only_the_ia_transition(synthesized):
    template = synthesized.template("sandbox", "data")
    for bucket in _data_buckets(template).values():
        (rule,) = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        assert [t["StorageClass"] for t in rule["Transitions"]] == ["STANDARD_IA"]


@pytest.mark.parametrize(("stage", "policy"), [("dev", "Retain"), ("prod", "Retain"), ("sandbox", "Delete")])
def test_removal_policy_retains_outside_sandbox(synthesized, stage, policy):
    template = synthesized.template(stage, "data")
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key"):
        for resource in template.find_resources(resource_type).values():
            assert resource["DeletionPolicy"] == policy
            assert resource["UpdateReplacePolicy"] == policy


def test_every_bucket_replicates_to_the_replica_region_with_the_replica_key(dev_data):
    for lid, bucket in dev_data.find_resources("AWS::S3::Bucket").items():
        (rule,) = bucket["Properties"]["ReplicationConfiguration"]["Rules"]
        assert rule["Status"] == "Enabled"
        destination = str(rule["Destination"]["Bucket"])
        assert "-dr-" in destination and "us-west-2" in destination, lid
        if lid.startswith(ACCESS_LOGS.construct_id):
            assert "EncryptionConfiguration" not in rule["Destination"]
        else:
            assert "alias/mlops-dev-dr" in str(rule["Destination"]["EncryptionConfiguration"])
            assert rule["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}


def test_replica_region_holds_matching_encrypted_buckets(synthesized, dev_replica):
    assert synthesized.stack("dev", "replica").region == "us-west-2"
    dev_replica.resource_count_is("AWS::S3::Bucket", DATA_BUCKET_COUNT + 1)
    dev_replica.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/mlops-dev-dr"})
    names = {str(b["Properties"]["BucketName"]) for b in dev_replica.find_resources("AWS::S3::Bucket").values()}
    assert all("-dr-" in n and "us-west-2" in n for n in names)


def test_replication_role_is_bounded_and_under_the_platform_path(dev_data):
    dev_data.has_resource_properties(
        "AWS::IAM::Role",
        {
            "Path": "/mlops/dev/",
            "PermissionsBoundary": Match.any_value(),
            "AssumeRolePolicyDocument": Match.object_like(
                {"Statement": [Match.object_like({"Principal": {"Service": "s3.amazonaws.com"}})]}
            ),
        },
    )


def _as_list(value):
    return value if isinstance(value, list) else [value]
