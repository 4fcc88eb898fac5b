"""SageMaker projects' approvals (stacks/projects.py): a project's own rule wraps its group's approvals, the deployer
deploys them to the project's endpoint ``<prefix>-<project name>`` (tabular) or to the project's own thing group and
model component (edge intent). Moto for SageMaker, botocore Stubber for Greengrass (moto has no greengrassv2)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber
from hypothesis import given
from hypothesis import strategies as st

from pipeline_code.deploy import decisions as d
from pipeline_code.deploy.deployer import Deployer
from pipeline_code.deploy.handler import EDGE, PROJECT, dispatch, edge_target
from pipeline_code.edge.recipe import project_model_component_name, project_thing_group_name, version_from_hash
from tests.edge.test_deployer import APP, TARGET, deployment, model_files, stub_read
from tests.edge.test_deployer import event as edge_event
from tests.serving.helpers import BUCKET, PREFIX, SERVERLESS_SETTINGS, Registry, event
from tests.serving.test_deployer import endpoints, nothing_created
from tests.serving.test_edge_dispatch import EDGE_SETTINGS

PROJECT_GROUP = f"{PREFIX}-churn-model"  # a tabular project named churn-model
# SageMaker project names as ARNs spell them: a letter first, hyphens between letters/digits, at most 32 characters
PROJECT_NAMES = st.from_regex(r"[a-z](-?[a-z0-9]){0,31}", fullmatch=True).filter(lambda name: len(name) <= 32)


def wrapped(group: str, version: int, status: str = "Approved") -> dict:
    """What a tabular project's rule sends: its input template ``{"target": "project", "event": <the event>}``."""
    return {"target": PROJECT, "event": event(group, version, status)}


def test_an_approved_package_of_a_project_group_creates_its_model_config_and_endpoint(registry: Registry, deployer, sm):
    registry.group(PROJECT_GROUP)
    arn = registry.package(PROJECT_GROUP)
    outcome = dispatch(deployer, wrapped(PROJECT_GROUP, 1))
    assert (outcome.action, outcome.version, outcome.package_arn) == ("created", 1, arn)
    assert outcome.endpoint == PROJECT_GROUP  # the project's endpoint: named from its group, stable across versions
    assert sm.describe_model(ModelName=f"{PROJECT_GROUP}-v1")["PrimaryContainer"]["ModelDataUrl"].startswith(
        f"s3://{BUCKET}/models/{PROJECT_GROUP}/1/"
    )
    assert sm.describe_endpoint_config(EndpointConfigName=f"{PROJECT_GROUP}-v1")["ProductionVariants"]
    assert endpoints(sm) == [PROJECT_GROUP]
    assert sm.describe_endpoint(EndpointName=PROJECT_GROUP)["EndpointConfigName"] == f"{PROJECT_GROUP}-v1"

    registry.package(PROJECT_GROUP)
    second = dispatch(deployer, wrapped(PROJECT_GROUP, 2))
    assert (second.action, second.extra) == ("updated", {"previous_version": 1})
    assert sm.describe_endpoint(EndpointName=PROJECT_GROUP)["EndpointConfigName"] == f"{PROJECT_GROUP}-v2"


def test_two_projects_get_two_endpoints(registry: Registry, deployer, sm):
    for group in (PROJECT_GROUP, f"{PREFIX}-churn"):
        registry.group(group)
        registry.package(group)
        assert dispatch(deployer, wrapped(group, 1)).action == "created"
    assert sorted(endpoints(sm)) == [f"{PREFIX}-churn", PROJECT_GROUP]


@pytest.mark.parametrize(
    "group",
    [
        "mlops-prod-churn",  # another stage's project
        "someone-elses-group",
        f"{PREFIX}-adherence",  # a project's rule never deploys the platform's own models
        f"{PREFIX}-1-starts-with-a-digit",  # not a SageMaker project name
    ],
)
def test_a_wrapped_event_of_a_group_that_is_no_project_of_the_stage_does_nothing(
    registry: Registry, deployer, sm, group
):
    if group != f"{PREFIX}-adherence":  # the fixture made the platform's groups
        registry.group(group)
    registry.package(group)
    outcome = dispatch(deployer, wrapped(group, 1))
    assert outcome.action == "skipped" and "is not a SageMaker project's group of this stage" in outcome.reason
    assert nothing_created(sm)


def test_a_project_group_without_the_projects_rule_is_still_unknown(registry: Registry, deployer, sm):
    """The stage's own rule (a plain event) deploys the platform's groups only, as before."""
    registry.group(PROJECT_GROUP)
    registry.package(PROJECT_GROUP)
    outcome = dispatch(deployer, event(PROJECT_GROUP, 1))
    assert outcome.action == "skipped" and "not one of this stage's groups" in outcome.reason
    assert nothing_created(sm)


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_a_project_package_the_registry_has_not_approved_does_nothing(registry: Registry, deployer, sm, status):
    registry.group(PROJECT_GROUP)
    registry.package(PROJECT_GROUP, status)
    outcome = dispatch(deployer, wrapped(PROJECT_GROUP, 1))  # the event says Approved; the registry decides
    assert outcome.action == "skipped" and status in outcome.reason
    assert nothing_created(sm)


def test_a_project_name_in_capitals_matches_its_lowercase_arn():
    """SageMaker spells ARNs in lowercase and names as given: the group of the detail and of the ARN still agree."""
    raw = event(PROJECT_GROUP, 1)
    raw["detail"]["ModelPackageGroupName"] = f"{PREFIX}-Churn-Model"
    ref = d.parse_event(raw)
    assert ref.group == PROJECT_GROUP
    assert SERVERLESS_SETTINGS.model_of(f"{PREFIX}-Churn-Model", project=True) == "Churn-Model"
    assert SERVERLESS_SETTINGS.model_of(f"{PREFIX}-ADHERENCE", project=True) is None
    # an edge project's thing group is named by CloudFormation from the name as given: the target keeps its case
    target = edge_target(EDGE_SETTINGS, f"{PREFIX}-Kiosk", project=True)
    assert target is not None and target.thing_group_arn.endswith(":thinggroup/mlops-dev-project-Kiosk-devices")


@given(PROJECT_NAMES)
def test_every_project_name_gives_its_own_endpoint_and_version_names(name):
    if name in SERVERLESS_SETTINGS.groups:
        assert SERVERLESS_SETTINGS.model_of(f"{PREFIX}-{name}", project=True) is None
        return
    group = f"{PREFIX}-{name}"
    assert SERVERLESS_SETTINGS.model_of(group, project=True) == name
    assert SERVERLESS_SETTINGS.model_of(group) is None  # only through a project's rule
    assert SERVERLESS_SETTINGS.endpoint_name(name) == group
    assert d.version_of(group, d.version_name(group, 12)) == 12


# Edge intent projects: their own thing group and model component


def project_edge_event(group: str = f"{PREFIX}-kiosk-intents", status: str = "Approved") -> dict:
    return {"target": EDGE, "project": True, "event": edge_event(status=status, group=group)}


def test_an_edge_projects_target_is_its_own_thing_group_and_component():
    target = edge_target(EDGE_SETTINGS, f"{PREFIX}-kiosk-intents", project=True)
    assert target is not None
    assert target.thing_group_arn == TARGET.thing_group_arn.replace(
        "mlops-dev-edge-devices", "mlops-dev-project-kiosk-intents-devices"
    )
    assert target.model_component == "mlops-dev.project.kiosk-intents.IntentModel"
    assert target.model_package_group == f"{PREFIX}-kiosk-intents"
    assert target.app_source_thing_group_arn == TARGET.thing_group_arn
    assert edge_target(EDGE_SETTINGS, f"{PREFIX}-kiosk-intents") == TARGET  # without the project's rule: the stage's


@given(PROJECT_NAMES, PROJECT_NAMES)
def test_two_projects_never_share_a_component_or_a_thing_group_nor_take_the_stages(one, other):
    names = {
        name: (project_model_component_name(PREFIX, name), project_thing_group_name(PREFIX, name))
        for name in (one, other)
    }
    if one != other:
        assert not set(names[one]) & set(names[other])
    for component, group in names.values():
        assert component != "mlops-dev.edge.IntentModel" and group != "mlops-dev-edge-devices"


def test_an_edge_projects_first_approval_deploys_the_stages_app_and_its_model_to_its_thing_group():
    kwargs = {"region_name": "eu-west-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    sm, s3, gg = (boto3.client(name, **kwargs) for name in ("sagemaker", "s3", "greengrassv2"))
    target = edge_target(EDGE_SETTINGS, f"{PREFIX}-kiosk-intents", project=True)
    assert target is not None
    component = "mlops-dev.project.kiosk-intents.IntentModel"
    files = model_files()
    version = version_from_hash(hashlib.sha256(files["metadata.json"]).hexdigest())
    with Stubber(s3) as s3_stub, Stubber(gg) as gg_stub:
        stub_read(s3_stub, files)
        s3_stub.add_response("head_object", {}, {"Bucket": TARGET.bucket, "Key": f"models/{version}/model.zip"})
        component_arn = f"arn:aws:greengrass:eu-west-1:111122223333:components:{component}:versions:{version}"
        gg_stub.add_client_error(
            "describe_component",
            "ResourceNotFoundException",
            http_status_code=404,
            expected_params={"arn": component_arn},
        )
        gg_stub.add_response(
            "create_component_version",
            {
                "componentName": component,
                "componentVersion": version,
                "arn": component_arn,
                "status": {},
                "creationTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
            },
            None,
        )
        # the project's own group has no deployment yet: the app's version comes from the stage's group
        gg_stub.add_response(
            "list_deployments",
            {"deployments": []},
            {"targetArn": target.thing_group_arn, "historyFilter": "LATEST_ONLY"},
        )
        gg_stub.add_response(
            "list_deployments",
            {"deployments": [{"deploymentId": "d-1"}]},
            {"targetArn": TARGET.thing_group_arn, "historyFilter": "LATEST_ONLY"},
        )
        gg_stub.add_response(
            "get_deployment", deployment({APP: {"componentVersion": "1.2.3"}}), {"deploymentId": "d-1"}
        )
        gg_stub.add_response(
            "create_deployment",
            {"deploymentId": "d-9"},
            {
                "targetArn": target.thing_group_arn,
                "deploymentName": "mlops-dev-project-kiosk-intents-edge-intent",
                "components": {
                    APP: {"componentVersion": "1.2.3", "configurationUpdate": {"merge": ANY}},
                    component: {"componentVersion": version},
                },
                "deploymentPolicies": ANY,
                "tags": ANY,
            },
        )
        outcome = dispatch(Deployer(EDGE_SETTINGS, sagemaker=sm, s3=s3), project_edge_event(), greengrass=gg)
        gg_stub.assert_no_pending_responses()
    assert outcome.action == "updated"
    assert outcome.extra == {"target": EDGE, "model_component_version": version, "deployment_id": "d-9"}


def test_an_edge_projects_recipe_names_its_own_component():
    from pipeline_code.edge.recipe import model_recipe

    recipe = model_recipe(prefix=PREFIX, version="1.2.3", artifact_uri="s3://b/k", model_sha256="0" * 64, name="x.y")
    assert recipe["ComponentName"] == "x.y"
    assert model_recipe(prefix=PREFIX, version="1", artifact_uri="s3://b/k", model_sha256="0")["ComponentName"] == (
        "mlops-dev.edge.IntentModel"
    )


@pytest.mark.parametrize("group", ["mlops-prod-kiosk", "someone-elses-group"])
def test_an_edge_projects_rule_with_a_foreign_group_touches_nothing(group):
    kwargs = {"region_name": "eu-west-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    sm, s3, gg = (boto3.client(name, **kwargs) for name in ("sagemaker", "s3", "greengrassv2"))
    with Stubber(s3), Stubber(gg):  # no responses: any AWS call fails the test
        outcome = dispatch(Deployer(EDGE_SETTINGS, sagemaker=sm, s3=s3), project_edge_event(group), greengrass=gg)
    assert outcome.action == "skipped" and "is not 'mlops-dev-intent'" in outcome.reason


def test_an_ml_engineer_rolls_a_project_endpoint_back_and_forward(registry: Registry, deployer, sm):
    registry.group(PROJECT_GROUP)
    for version in (1, 2):
        registry.package(PROJECT_GROUP)
        dispatch(deployer, wrapped(PROJECT_GROUP, version))
    back = dispatch(deployer, {"action": "rollback", "model": "churn-model", "project": True})
    assert (back.action, back.version, back.endpoint) == ("updated", 1, PROJECT_GROUP)
    assert sm.describe_endpoint(EndpointName=PROJECT_GROUP)["EndpointConfigName"] == f"{PROJECT_GROUP}-v1"
    latest = dispatch(deployer, {"action": "deploy-latest", "model": "churn-model", "project": True})
    assert (latest.action, latest.version) == ("updated", 2)
    # without "project" the name is no model of the stage; with it, the platform's models are not a project's
    assert dispatch(deployer, {"action": "rollback", "model": "churn-model"}).action == "rejected"
    assert dispatch(deployer, {"action": "deploy-latest", "model": "adherence", "project": True}).action == "rejected"
