"""SageMaker Project templates: Studio-visible products in every stage, nag-clean product templates, a launch role
that covers what the templates need (from CloudFormation's own handler permissions) and nothing it must not do."""

from __future__ import annotations

import json

import pytest
from aws_cdk import Stack, Stage
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicecatalog as servicecatalog

import app as cdk_app
from stacks import iam_actions as actions
from stacks.nag import apply_nag_packs, nag_errors
from stacks.projects import PROJECT_ID, PROJECT_NAME, STUDIO_VISIBILITY
from tests.projects.launch_policy import (
    allowed,
    boundary_statements,
    handler_permissions,
    launch_role_statements,
    product_templates,
)

STAGES = ("dev", "staging", "prod", "sandbox")


def _resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def _templates(synthesized, stage: str):
    projects = synthesized.template(stage, "projects").to_json()
    guardrails = synthesized.template(stage, "guardrails").to_json()
    products = product_templates(synthesized.outdir, synthesized.stages[stage].node.id)
    return projects, guardrails, products


@pytest.fixture(scope="module")
def dev_templates(synthesized):
    return _templates(synthesized, "dev")


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_has_the_portfolio_with_both_studio_visible_products(synthesized, stage):
    template = synthesized.template(stage, "projects").to_json()
    assert len(_resources(template, "AWS::ServiceCatalog::Portfolio")) == 1
    products = _resources(template, "AWS::ServiceCatalog::CloudFormationProduct")
    names = sorted(p["Properties"]["Name"] for p in products.values())
    prefix = synthesized.stages[stage].settings.resource_prefix
    assert names == [f"{prefix}-edge-intent-model-project", f"{prefix}-tabular-model-project"]
    key, value = STUDIO_VISIBILITY
    for product in products.values():
        assert {"Key": key, "Value": value} in product["Properties"]["Tags"]
    assert len(_resources(template, "AWS::ServiceCatalog::PortfolioProductAssociation")) == 2
    constraints = _resources(template, "AWS::ServiceCatalog::LaunchRoleConstraint")
    assert len(constraints) == 2
    for constraint in constraints.values():  # the Guardrails stack's launch role
        assert "ProjectLaunchRole" in json.dumps(constraint["Properties"]["RoleArn"])


def test_the_data_scientist_and_ml_engineer_roles_get_portfolio_access(synthesized):
    template = synthesized.template("dev", "projects").to_json()
    principals = [
        json.dumps(a["Properties"]["PrincipalARN"])
        for a in _resources(template, "AWS::ServiceCatalog::PortfolioPrincipalAssociation").values()
    ]
    assert len(principals) == 2
    assert any("DataScientistRole" in p for p in principals)
    assert any("MlEngineerRole" in p for p in principals)


def test_product_templates_take_the_sagemaker_project_parameters_and_name_everything_from_them(dev_templates):
    _, _, products = dev_templates
    assert len(products) == 2
    for name, template in products.items():
        assert set(template["Parameters"]) == {PROJECT_NAME, PROJECT_ID}, name
        assert template["Parameters"][PROJECT_NAME]["MaxLength"] <= 32
        kinds = {r["Type"] for r in template["Resources"].values()}
        assert {"AWS::SageMaker::ModelPackageGroup", "AWS::SageMaker::Pipeline"} <= kinds, name
        (group,) = _resources(template, "AWS::SageMaker::ModelPackageGroup").values()
        (pipeline,) = _resources(template, "AWS::SageMaker::Pipeline").values()
        expected = {"Fn::Join": ["", ["mlops-dev-", {"Ref": PROJECT_NAME}]]}
        assert group["Properties"]["ModelPackageGroupName"] == expected
        assert pipeline["Properties"]["PipelineName"] == expected
        body = json.dumps(pipeline["Properties"]["PipelineDefinition"])
        assert "/projects/" in body and PROJECT_ID in body  # the project's own S3 prefix
        assert "mlops-dev:SageMakerExecutionRoleArn" in json.dumps(pipeline["Properties"]["RoleArn"])


def test_the_tabular_project_retrains_on_new_data_under_its_own_prefix(dev_templates):
    _, _, products = dev_templates
    (tabular,) = [t for n, t in products.items() if "Tabular" in n]
    rules = _resources(tabular, "AWS::Events::Rule").values()
    (rule,) = [r for r in rules if "-new-data" in json.dumps(r["Properties"]["Name"])]  # (the other: approvals)
    pattern = json.dumps(rule["Properties"]["EventPattern"])
    assert "projects/" in pattern and PROJECT_ID in pattern
    assert rule["Properties"]["Name"] == {"Fn::Join": ["", ["mlops-dev-", {"Ref": PROJECT_NAME}, "-new-data"]]}


def test_every_role_in_a_product_carries_the_boundary_and_only_managed_policies(dev_templates):
    _, _, products = dev_templates
    for template in products.values():
        for role in _resources(template, "AWS::IAM::Role").values():
            boundary = json.dumps(role["Properties"]["PermissionsBoundary"])
            assert ":policy/mlops/dev/mlops-dev-permissions-boundary" in boundary
            assert "Policies" not in role["Properties"]
        for policy in _resources(template, "AWS::IAM::ManagedPolicy").values():
            assert policy["Properties"]["Path"] == "/mlops/dev/"


def test_the_nag_packs_reach_the_product_stacks_and_find_nothing(synthesized):
    assert synthesized.findings == []
    # the product templates' constructs are under the Projects stack: a finding there would name that path
    stage = synthesized.stages["dev"]
    product_paths = [s.node.path for s in stage.projects.product_stacks.values()]
    assert product_paths == ["Dev/Projects/TabularModelProject", "Dev/Projects/EdgeIntentModelProject"]


def test_a_non_compliant_bucket_inside_a_product_stack_fails_the_gate(tmp_path):
    app = cdk_app.new_app(outdir=str(tmp_path))
    stage = Stage(app, "Probe")
    parent = Stack(stage, "Projects")
    product = servicecatalog.ProductStack(parent, "Product")
    s3.Bucket(product, "RogueBucket")
    servicecatalog.CloudFormationProduct(
        parent,
        "ProbeProduct",
        product_name="probe",
        owner="tests",
        product_versions=[
            servicecatalog.CloudFormationProductVersion(
                cloud_formation_template=servicecatalog.CloudFormationTemplate.from_product_stack(product)
            )
        ],
    )
    apply_nag_packs(stage)
    findings = nag_errors(app.synth())
    assert any("Projects/Product/RogueBucket" in f.path for f in findings)


@pytest.mark.parametrize("stage", STAGES)
def test_the_launch_role_covers_every_handler_permission_of_every_product_resource(synthesized, stage):
    projects, guardrails, products = _templates(synthesized, stage)
    identity = launch_role_statements(guardrails, projects)
    boundary = boundary_statements(guardrails)
    resource_types = {r["Type"] for t in products.values() for r in t["Resources"].values()}
    assert resource_types <= set(actions.PROJECT_LAUNCH_BY_RESOURCE_TYPE)
    if stage == "prod":  # config/prod.yaml retrains on a schedule: its projects get one too
        assert "AWS::Scheduler::Schedule" in resource_types
    missing = {
        (resource_type, handler, action)
        for resource_type in resource_types
        for handler, permissions in handler_permissions(resource_type).items()
        for action in permissions
        if action not in actions.PROJECT_LAUNCH_NEVER and not allowed(action, identity, boundary)
    }
    assert not missing, sorted(missing)
    for action in actions.PROJECT_STACKS + actions.PROJECT_STACKS_UNSCOPED:  # Service Catalog's own stack calls
        assert allowed(action, identity, boundary), action


@pytest.mark.parametrize(
    "action",
    [
        *actions.PROJECT_LAUNCH_NEVER,
        "iam:CreateUser",
        "s3:PutBucketPolicy",
        "kms:ScheduleKeyDeletion",
        "sagemaker:CreateEndpoint",
        "sagemaker:UpdateModelPackage",  # approving stays the ML engineer's decision
        "sagemaker:StartPipelineExecution",
        "kms:Decrypt",
        "lambda:InvokeFunction",
    ],
)
def test_the_launch_role_may_not_do_what_no_product_needs(dev_templates, action):
    projects, guardrails, _ = dev_templates
    assert not allowed(action, launch_role_statements(guardrails, projects), boundary_statements(guardrails))


def test_the_coverage_check_fails_for_an_uncovered_action(dev_templates):
    projects, guardrails, _ = dev_templates
    identity = launch_role_statements(guardrails, projects)
    boundary = boundary_statements(guardrails)
    # an action some resource type would need that no product has: the check must say no
    assert not allowed("lambda:CreateFunction", identity, boundary)


def test_a_resource_type_without_launch_actions_fails_the_synth():
    with pytest.raises(ValueError, match=r"AWS::Lambda::Function.*PROJECT_LAUNCH_BY_RESOURCE_TYPE"):
        actions.project_launch_actions({"AWS::SageMaker::Pipeline", "AWS::Lambda::Function"})


def test_launch_role_is_assumed_by_service_catalog_of_this_account_only(dev_templates):
    _, guardrails, _ = dev_templates
    (role,) = _resources(guardrails, "AWS::IAM::Role").values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "servicecatalog.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_roles_are_created_only_with_the_stage_boundary_and_policies_attached_only_from_its_path(dev_templates):
    _, guardrails, _ = dev_templates
    by_sid = {s.get("Sid"): s for s in boundary_statements(guardrails)}
    create = by_sid["CreateRolesOnlyWithThisBoundary"]
    assert "iam:CreateRole" in create["Action"]
    assert "/mlops/dev/mlops-dev-permissions-boundary" in json.dumps(create["Condition"])
    attach = by_sid["AttachOnlyPlatformPathPolicies"]
    assert "iam:AttachRolePolicy" in attach["Action"]
    assert ":policy/mlops/dev/*" in json.dumps(attach["Condition"]["ArnLike"]["iam:PolicyARN"])
    for sid in ("ProjectPipelinesAndGroups", "ProjectTriggers"):
        for resource in by_sid[sid]["Resource"]:
            assert "mlops-dev-*" in json.dumps(resource), sid


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_launch_denies_name_every_action_and_fit_a_managed_policy(synthesized, stage):
    """No wildcard action even in a deny, and the document within IAM's 6,144 characters of a managed policy (the
    denies grow with the boundary: this fails before a deploy would)."""
    resources = synthesized.template(stage, "projects").to_json()["Resources"]
    (policy,) = [r for k, r in resources.items() if k.startswith("LaunchRoleDenies")]
    document = policy["Properties"]["PolicyDocument"]
    for statement in document["Statement"]:
        assert statement["Effect"] == "Deny"
        assert all("*" not in action for action in statement["Action"]), statement["Sid"]
    assert len(json.dumps(document, separators=(",", ":"))) <= 6144
