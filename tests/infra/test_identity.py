"""Roles: least privilege by grants, customer-managed policies, boundary, personas that cannot overstep."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from tests.infra.policy_eval import decision, role_statements

ROLES = ("SageMakerExecutionRole", "LambdaExecutionRole", "DataScientistRole", "MlEngineerRole")


@pytest.fixture(scope="module")
def identity(synthesized):
    return synthesized.template("dev", "identity")


@pytest.fixture(scope="module")
def boundary_statements(synthesized):
    template = synthesized.template("dev", "guardrails").to_json()
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def _role_id(template_json: dict, name: str) -> str:
    (lid,) = [k for k, r in template_json["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith(name)]
    return lid


def _can(synthesized, boundary_statements, role: str, action: str) -> str:
    template = synthesized.template("dev", "identity").to_json()
    return decision(action, role_statements(template, _role_id(template, role)), boundary_statements)


def test_four_roles_under_the_platform_path_with_the_boundary(identity):
    identity.resource_count_is("AWS::IAM::Role", len(ROLES))
    for role in identity.find_resources("AWS::IAM::Role").values():
        assert role["Properties"]["Path"] == "/mlops/dev/"
        assert "Fn::ImportValue" in json.dumps(role["Properties"]["PermissionsBoundary"])


def test_no_inline_policies_anywhere(synthesized):
    for name, template in synthesized.raw_templates().items():
        types = {r["Type"] for r in template.get("Resources", {}).values()}
        assert "AWS::IAM::Policy" not in types, name
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == "AWS::IAM::Role":
                assert "Policies" not in resource["Properties"], name


def test_no_aws_managed_policies_and_no_star_actions(synthesized):
    for name, template in synthesized.raw_templates().items():
        for resource in template.get("Resources", {}).values():
            if resource["Type"] == "AWS::IAM::Role":
                assert "ManagedPolicyArns" not in resource["Properties"], f"{name}: AWS managed policy attached"
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                    assert "*" not in actions, name
                    assert not any(a.endswith(":*") for a in actions if statement["Effect"] == "Allow"), name


def test_sagemaker_role_is_assumed_by_sagemaker_of_this_account_only(identity):
    identity.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "sagemaker.amazonaws.com"},
                            "Condition": {"StringEquals": {"aws:SourceAccount": Match.any_value()}},
                        }
                    )
                ],
                "Version": "2012-10-17",
            }
        },
    )


@pytest.mark.parametrize(
    ("role", "action", "expected"),
    [
        ("DataScientistRole", "sagemaker:UpdateModelPackage", "explicit-deny"),
        ("DataScientistRole", "sagemaker:CreateEndpoint", "explicit-deny"),
        ("DataScientistRole", "sagemaker:UpdateEndpoint", "explicit-deny"),
        ("DataScientistRole", "sagemaker:StartPipelineExecution", "allow"),
        ("DataScientistRole", "sagemaker:CreateExperiment", "allow"),
        ("DataScientistRole", "s3:GetObject", "allow"),
        ("DataScientistRole", "s3:PutObject", "implicit-deny"),
        ("DataScientistRole", "sagemaker:CreateProcessingJob", "allow"),  # the SDK's job helpers
        ("DataScientistRole", "sagemaker:CreateTrainingJob", "allow"),
        ("DataScientistRole", "sagemaker:CreateFeatureGroup", "implicit-deny"),
        ("MlEngineerRole", "sagemaker:CreateFeatureGroup", "allow"),  # the SDK's create_feature_group
        ("MlEngineerRole", "sagemaker:CreateTrainingJob", "implicit-deny"),
        ("MlEngineerRole", "sagemaker:UpdateModelPackage", "allow"),
        ("MlEngineerRole", "sagemaker:CreateEndpoint", "allow"),
        ("MlEngineerRole", "sagemaker:CreateMonitoringSchedule", "allow"),
        ("MlEngineerRole", "cloudwatch:PutMetricAlarm", "allow"),
        # MlEngineerRole s3:PutObject: only under monitoring/ (test_s3_writes_of_the_deployers_are_these_prefixes)
        ("SageMakerExecutionRole", "sagemaker:CreateModelPackage", "allow"),
        ("SageMakerExecutionRole", "sagemaker:UpdateModelPackage", "implicit-deny"),
        ("SageMakerExecutionRole", "s3:PutObject", "allow"),
        ("LambdaExecutionRole", "sagemaker:CreateEndpoint", "allow"),
        ("LambdaExecutionRole", "sagemaker:UpdateModelPackage", "implicit-deny"),
        ("LambdaExecutionRole", "s3:DeleteObject", "implicit-deny"),
        ("LambdaExecutionRole", "greengrass:CreateDeployment", "allow"),
        ("LambdaExecutionRole", "greengrass:CreateComponentVersion", "allow"),
        ("LambdaExecutionRole", "greengrass:DeleteComponent", "implicit-deny"),
        ("LambdaExecutionRole", "iot:CreateThing", "implicit-deny"),
        ("DataScientistRole", "greengrass:CreateDeployment", "implicit-deny"),
    ],
)
def test_persona_and_execution_permissions(synthesized, boundary_statements, role, action, expected):
    assert _can(synthesized, boundary_statements, role, action) == expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "action",
    ["iam:CreateUser", "iam:PutRolePolicy", "iam:AttachRolePolicy", "kms:ScheduleKeyDeletion", "s3:PutBucketPolicy"],
)
def test_boundary_blocks_escalation_for_every_role(synthesized, boundary_statements, role, action):
    assert _can(synthesized, boundary_statements, role, action) != "allow"


def test_boundary_scopes_s3_to_the_stage_buckets(boundary_statements):
    (s3,) = [s for s in boundary_statements if s.get("Sid") == "PlatformBucketsOnly"]
    for resource in s3["Resource"]:
        assert "mlops-dev-" in json.dumps(resource)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        # the edge deployer's model zips; the live version's drift-check baselines (Monitoring stack)
        ("LambdaExecutionRole", {("EdgeDeploymentsBucket", "/models/*"), ("ModelArtifactsBucket", "/monitoring/*")}),
        # mlops deploy rollback runs the deployer's code: it republishes the baselines, nothing else
        ("MlEngineerRole", {("ModelArtifactsBucket", "/monitoring/*")}),
    ],
)
def test_s3_writes_of_the_deployers_are_these_prefixes(identity, role: str, allowed: set) -> None:
    """The only S3 writes the deployer roles have, by bucket and key prefix."""
    template = identity.to_json()
    statements = role_statements(template, _role_id(template, role))
    writes = [s for s in statements if any(a.startswith("s3:Put") for a in s["Action"])]
    found = set()
    for statement in writes:
        for resource in statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]:
            bucket = next(b for b in ("EdgeDeploymentsBucket", "ModelArtifactsBucket") if b in json.dumps(resource))
            found.add((bucket, resource["Fn::Join"][1][-1]))
    assert found == allowed


def test_deployer_role_deploys_only_to_the_stage_thing_group(identity):
    template = identity.to_json()
    statements = role_statements(template, _role_id(template, "LambdaExecutionRole"))
    (deploy,) = [s for s in statements if s.get("Sid") == "DeployToStageDevices"]
    assert any("thinggroup/mlops-dev-edge-devices" in json.dumps(r) for r in deploy["Resource"])
    # and the edge intent projects' own thing groups (stacks/projects.py), by their name prefix only
    thing_groups = [r for r in deploy["Resource"] if "thinggroup/" in json.dumps(r)]
    assert len(thing_groups) == 2
    assert any(json.dumps(r).endswith('thinggroup/mlops-dev-project-*"]]}') for r in thing_groups)
    (components,) = [s for s in statements if s.get("Sid") == "DescribeStageComponents"]
    # component names are <prefix>.edge.* (recipe.model_component_name) and <prefix>.project.<name>.*
    assert all(":components:mlops-dev.*" in json.dumps(r) for r in components["Resource"])


def test_data_scientist_reads_only_raw_and_processed_buckets(identity):
    template = identity.to_json()
    statements = role_statements(template, _role_id(template, "DataScientistRole"))
    s3_resources = json.dumps([s["Resource"] for s in statements if any("s3:" in a for a in s["Action"])])
    assert "RawDataBucket" in s3_resources and "ProcessedFeaturesBucket" in s3_resources
    for other in ("ModelArtifactsBucket", "EdgeDeploymentsBucket", "PipelineArtifactsBucket"):
        assert other not in s3_resources


def test_persona_trust_uses_configured_principals():
    import app as cdk_app
    from stacks.stage import MlopsStage

    settings = cdk_app.load_stage_settings(
        "dev", overrides={"personas": {"data_scientist_principals": ["arn:aws:iam::111122223333:role/Scientists"]}}
    )
    stage = MlopsStage(cdk_app.new_app(), "Dev", settings=settings)
    from aws_cdk.assertions import Template

    Template.from_stack(stage.identity).has_resource_properties(
        "AWS::IAM::Role",
        {
            "Description": Match.string_like_regexp("Data scientists"),
            "AssumeRolePolicyDocument": {
                "Statement": [Match.object_like({"Principal": {"AWS": "arn:aws:iam::111122223333:role/Scientists"}})],
                "Version": "2012-10-17",
            },
        },
    )


def test_boundary_covers_every_action_a_role_is_granted_by_name(synthesized, boundary_statements):
    """Roles and boundary are built from the same action groups; a named action outside the boundary is a bug.

    Only the platform's own statements (they carry a Sid) are checked: CDK's bucket grants include object-lock
    actions (s3:PutObjectLegalHold, s3:PutObjectRetention) that the boundary trims on purpose.
    """
    template = synthesized.template("dev", "identity").to_json()
    for role in ROLES:
        for statement in role_statements(template, _role_id(template, role)):
            if statement["Effect"] != "Allow" or "Sid" not in statement:
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                if "*" in action or action == "iam:PassRole":
                    continue
                assert decision(action, [statement], boundary_statements) == "allow", f"{role}: {action}"


def test_sdk_job_and_feature_group_grants_are_scoped_to_the_stage_prefix(synthesized):
    """The data scientist's jobs and the ML engineer's feature groups: only names starting with the stage prefix."""
    policies = synthesized.template("dev", "identity").find_resources("AWS::IAM::ManagedPolicy")
    found = {}
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Sid") in {"RunStageJobs", "CreateFeatureGroups"}:
                found[statement["Sid"]] = json.dumps(statement["Resource"])
    assert set(found) == {"RunStageJobs", "CreateFeatureGroups"}
    assert "processing-job/mlops-dev-*" in found["RunStageJobs"] and "training-job/mlops-dev-*" in found["RunStageJobs"]
    assert "feature-group/mlops-dev-*" in found["CreateFeatureGroups"]
