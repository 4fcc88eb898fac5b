"""The products' deployer wiring: each launched project's own approvals rule sends its group's Approved packages to
the stage's deployer by its fixed name (tabular: the project's endpoint; edge intent: the project's own thing group
and model component), and the Serving stack lets exactly those rules invoke the deployer and use its queue."""

from __future__ import annotations

import json

import pytest

from pipeline_code.deploy.decisions import APPROVED, DETAIL_TYPE, SOURCE
from stacks.projects import PROJECT_NAME
from tests.projects.launch_policy import product_templates

NAME = {"Ref": PROJECT_NAME}


def _resources(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def products(synthesized) -> dict[str, dict]:
    found = product_templates(synthesized.outdir, synthesized.stages["dev"].node.id)
    (tabular,) = [t for n, t in found.items() if "Tabular" in n]
    (edge,) = [t for n, t in found.items() if "EdgeIntent" in n]
    return {"tabular": tabular, "edge": edge}


def _approvals_rule(template: dict) -> dict:
    rules = [
        r["Properties"]
        for r in _resources(template, "AWS::Events::Rule").values()
        if r["Properties"].get("Name") == {"Fn::Join": ["", ["mlops-dev-", NAME, "-approved"]]}
    ]
    assert len(rules) == 1, rules
    return rules[0]


@pytest.mark.parametrize(
    ("product", "wrapper"),
    [
        ("tabular", '{"target": "project", "event": <aws.events.event.json>}'),
        ("edge", '{"target": "edge", "project": true, "event": <aws.events.event.json>}'),
    ],
)
def test_each_product_routes_its_own_groups_approvals_to_the_stage_deployer(products, product, wrapper):
    rule = _approvals_rule(products[product])
    assert rule["EventPattern"] == {
        "source": [SOURCE],
        "detail-type": [DETAIL_TYPE],
        "detail": {
            "ModelApprovalStatus": [APPROVED],
            "ModelPackageGroupName": [{"Fn::Join": ["", ["mlops-dev-", NAME]]}],  # its group only
        },
    }
    (target,) = rule["Targets"]
    assert json.dumps(target["Arn"]).endswith(':function:mlops-dev-model-deployer"]]}')  # by its fixed name
    assert target["InputTransformer"] == {"InputTemplate": wrapper}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 21600}
    assert json.dumps(target["DeadLetterConfig"]["Arn"]).endswith(':mlops-dev-model-deployer-dlq"]]}')
    assert "RoleArn" not in target  # a Lambda target: the function's resource policy decides, no role to pass


def test_the_edge_product_gives_the_project_its_own_thing_group(products):
    (group,) = _resources(products["edge"], "AWS::IoT::ThingGroup").values()
    assert group["Properties"]["ThingGroupName"] == {"Fn::Join": ["", ["mlops-dev-project-", NAME, "-devices"]]}
    assert not _resources(products["tabular"], "AWS::IoT::ThingGroup")


def test_the_serving_stack_lets_only_the_project_rules_invoke_the_deployer_and_use_its_queue(synthesized):
    template = synthesized.template("dev", "serving").to_json()
    project_rules = "rule/mlops-dev-*-approved"
    permissions = [
        r["Properties"]
        for r in _resources(template, "AWS::Lambda::Permission").values()
        if project_rules in json.dumps(r["Properties"].get("SourceArn"))
    ]
    assert len(permissions) == 1
    (permission,) = permissions
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert "Deployer" in json.dumps(permission["FunctionName"])
    (queue_policy,) = _resources(template, "AWS::SQS::QueuePolicy").values()
    statements = queue_policy["Properties"]["PolicyDocument"]["Statement"]
    (statement,) = [s for s in statements if s.get("Sid") == "ProjectRulesDeadLetters"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert project_rules in json.dumps(statement["Condition"]["ArnLike"]["aws:SourceArn"])


def test_project_names_leave_room_for_the_approvals_rule(products):
    for template in products.values():
        # <prefix>-<name>-approved within EventBridge's 64 characters
        assert len("mlops-dev-") + template["Parameters"][PROJECT_NAME]["MaxLength"] + len("-approved") <= 64


@pytest.fixture(scope="module")
def prod_products(synthesized) -> dict[str, dict]:
    found = product_templates(synthesized.outdir, synthesized.stages["prod"].node.id)
    (tabular,) = [t for n, t in found.items() if "Tabular" in n]
    (edge,) = [t for n, t in found.items() if "EdgeIntent" in n]
    return {"tabular": tabular, "edge": edge}


def _flatten(value) -> str:
    """A Fn::Join of literals and the project-name parameter, spelled with the name ``churn``."""
    if isinstance(value, str):
        return value
    if value == NAME:
        return "churn"
    (parts,) = [v[1] for k, v in value.items() if k == "Fn::Join"]
    return "".join(_flatten(p) for p in parts)


def test_a_tabular_projects_endpoint_has_the_rollback_alarms_the_deployer_names(synthesized, prod_products):
    """A blue/green update of the project's endpoint rolls back on two alarms the deployer names: the product makes
    them, as the Serving stack does for the platform's models, notifying the stage's endpoint-alarm topic."""
    from pipeline_code.deploy.settings import DeployerSettings

    prod = synthesized.stages["prod"].settings
    assert prod.serving.mode == "provisioned" and prod.serving.endpoint_alarms
    alarms = [r["Properties"] for r in _resources(prod_products["tabular"], "AWS::CloudWatch::Alarm").values()]
    deployer = DeployerSettings(
        prefix=prod.resource_prefix, groups=("adherence", "intent"), execution_role_arn="x", kms_key_arn="x",
        capture_s3_uri="s3://x",
    )  # fmt: skip
    assert sorted(_flatten(a["AlarmName"]) for a in alarms) == sorted(deployer.alarm_names("churn"))
    for alarm in alarms:
        dimensions = {d["Name"]: _flatten(d["Value"]) for d in alarm["Dimensions"]}
        assert dimensions == {"EndpointName": deployer.endpoint_name("churn"), "VariantName": "AllTraffic"}
        (action,) = alarm["AlarmActions"]
        assert json.dumps(action).endswith(':mlops-prod-endpoint-alarms"]]}'), action
        assert alarm["EvaluationPeriods"] == 2 and alarm["TreatMissingData"] == "notBreaching"
    assert not _resources(prod_products["edge"], "AWS::CloudWatch::Alarm"), "an edge project serves on devices"


def test_the_endpoint_alarm_topic_is_named_so_projects_find_it(synthesized):
    from aws_cdk.assertions import Template

    serving = Template.from_stack(synthesized.stages["prod"].serving).to_json()
    topics = [r["Properties"] for r in _resources(serving, "AWS::SNS::Topic").values()]
    assert [t["TopicName"] for t in topics] == ["mlops-prod-endpoint-alarms"]
