"""Launching a project, replayed with botocore's Stubber: every call CloudFormation makes for a product template's
resources (parameters taken from the template, resolved for one account, region and project) must be allowed to
the launch role with its resource ARN and condition keys, and the personas' own calls (Service Catalog, SageMaker
projects) must be allowed to them. A small IAM evaluator decides: explicit deny first, then an allow that matches
action, resource and conditions, in the identity policies and (where the role has one) the boundary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tests.projects.launch_policy import boundary_statements, launch_role_statements, product_templates

ACCOUNT, REGION, PARTITION = "111111111111", "us-east-1", "aws"
PROJECT, PROJECT_ID = "churn", "p-abc123def456"
PREFIX, ROLE_PATH = "mlops-{stage}", "/mlops/{stage}/"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlops/{{stage}}/Identity-SageMakerExecutionRole-ABC"


# --- template values for one account, region and project ----------------------------------------------------------
def resolve(value: Any, refs: dict[str, str], exports: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [resolve(v, refs, exports) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return refs.get(value["Ref"], f"ref:{value['Ref']}")
    if set(value) == {"Fn::Join"}:
        sep, parts = value["Fn::Join"]
        return sep.join(str(resolve(p, refs, exports)) for p in parts)
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: refs[m.group(1)], value["Fn::Sub"])
    if set(value) == {"Fn::ImportValue"}:
        return exports.get(value["Fn::ImportValue"], f"imported:{value['Fn::ImportValue']}")
    if set(value) == {"Fn::GetAtt"}:
        name = f"{value['Fn::GetAtt'][0]}.{value['Fn::GetAtt'][1]}"
        return refs.get(name, f"ref:{name}")
    return {k: resolve(v, refs, exports) for k, v in value.items()}


def stage_values(stage: str) -> tuple[dict[str, str], dict[str, str]]:
    prefix = PREFIX.format(stage=stage)
    refs = {
        "AWS::Partition": PARTITION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": REGION,
        "AWS::URLSuffix": "amazonaws.com",
        "SageMakerProjectName": PROJECT,
        "SageMakerProjectId": PROJECT_ID,
    }
    exports = {
        f"{prefix}:RawDataBucketName": f"{prefix}-raw-{ACCOUNT}-{REGION}",
        f"{prefix}:PipelineArtifactsBucketName": f"{prefix}-artifacts-{ACCOUNT}-{REGION}",
        f"{prefix}:PlatformKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        f"{prefix}:SageMakerExecutionRoleArn": EXECUTION_ROLE.format(stage=stage),
    }
    return refs, exports


# --- a minimal IAM evaluator ------------------------------------------------------------------------------------
def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: dict, context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            if key not in context:
                return False
            actual, patterns = context[key], [str(e) for e in _list(expected)]
            if operator in ("StringEquals", "ArnEquals", "Bool"):
                ok = actual in patterns
            elif operator in ("StringLike", "ArnLike"):
                ok = any(fnmatchcase(actual, p) for p in patterns)
            else:
                raise AssertionError(f"condition operator {operator} not modelled")
            if not ok:
                return False
    return True


def _statement_applies(statement: dict, action: str, resource: str, context: dict[str, str]) -> bool:
    if "NotAction" in statement:
        hit = not any(fnmatchcase(action.lower(), a.lower()) for a in _list(statement["NotAction"]))
    else:
        hit = any(fnmatchcase(action.lower(), a.lower()) for a in _list(statement["Action"]))
    return (
        hit
        and any(fnmatchcase(resource, r) for r in _list(statement["Resource"]))
        and _condition_holds(statement.get("Condition", {}), context)
    )


def iam_allows(call: Call, identity: list[dict], boundary: list[dict] | None) -> bool:
    action, resource, context = call
    every = identity + (boundary or [])
    if any(s["Effect"] == "Deny" and _statement_applies(s, action, resource, context) for s in every):
        return False
    allowed = any(s["Effect"] == "Allow" and _statement_applies(s, action, resource, context) for s in identity)
    bounded = boundary is None or any(
        s["Effect"] == "Allow" and _statement_applies(s, action, resource, context) for s in boundary
    )
    return allowed and bounded


# --- the calls CloudFormation makes, through stubbed clients ----------------------------------------------------
Call = tuple[str, str, dict[str, str]]  # IAM action, resource ARN, condition context


class Provisioner:
    """Creates a product template's resources with boto3 clients whose answers are stubbed, and records every call
    as (IAM action, resource ARN, condition context)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.calls: list[Call] = []
        self.clients = {
            name: boto3.client(name, region_name=REGION)
            for name in ("sagemaker", "iam", "events", "scheduler", "iot", "cloudwatch")
        }
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}

    def _call(self, service: str, operation: str, response: dict, params: dict, resource: str, **context: str):
        stub = self.stubs[service]
        stub.add_response(operation, response, params)
        with stub:
            getattr(self.clients[service], operation)(**params)
        action = f"{service}:{''.join(w.capitalize() for w in operation.split('_'))}"
        self.calls.append((action, resource, context))

    def _arn(self, service: str, resource: str) -> str:
        region = "" if service == "iam" else REGION
        return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT}:{resource}"

    def pass_role(self, role_arn: str, service: str) -> None:
        self.calls.append(("iam:PassRole", role_arn, {"iam:PassedToService": service}))

    def provision(self, template: dict, refs: dict[str, str], exports: dict[str, str]) -> None:
        order = [
            "AWS::SageMaker::ModelPackageGroup",
            "AWS::IAM::Role",
            "AWS::IAM::ManagedPolicy",
            "AWS::SageMaker::Pipeline",
            "AWS::IoT::ThingGroup",
            "AWS::Events::Rule",
            "AWS::Scheduler::Schedule",
            "AWS::CloudWatch::Alarm",
        ]
        resources = template["Resources"]
        assert {r["Type"] for r in resources.values()} <= set(order), "a resource type this replay does not model"
        for kind in order:
            for logical_id, resource in resources.items():
                if resource["Type"] == kind:
                    props = resolve(resource["Properties"], refs, exports)
                    self.create(kind, logical_id, props, refs)

    def create(self, kind: str, logical_id: str, props: dict, refs: dict[str, str]) -> None:
        stack_name = f"SC-{ACCOUNT}-pp-abcdefghijklm"
        if kind == "AWS::SageMaker::ModelPackageGroup":
            name = props["ModelPackageGroupName"]
            arn = self._arn("sagemaker", f"model-package-group/{name}")
            params = {
                "ModelPackageGroupName": name,
                "ModelPackageGroupDescription": props["ModelPackageGroupDescription"],
            }
            self._call("sagemaker", "create_model_package_group", {"ModelPackageGroupArn": arn}, params, arn)
            self._call("sagemaker", "add_tags", {"Tags": []}, {"ResourceArn": arn, "Tags": props["Tags"]}, arn)
        elif kind == "AWS::IAM::Role":
            name = f"{stack_name}-{logical_id}"[:64]
            arn = f"arn:{PARTITION}:iam::{ACCOUNT}:role{props['Path']}{name}"
            refs[f"{logical_id}.Arn"], refs[logical_id] = arn, name
            params = {
                "RoleName": name,
                "Path": props["Path"],
                "AssumeRolePolicyDocument": json.dumps(props["AssumeRolePolicyDocument"]),
                "PermissionsBoundary": props["PermissionsBoundary"],
                "MaxSessionDuration": props["MaxSessionDuration"],
                "Description": props["Description"],
            }
            role = {
                "Path": props["Path"],
                "RoleName": name,
                "RoleId": "AROAEXAMPLEEXAMPLE01",
                "Arn": arn,
                "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
            }
            self._call(
                "iam",
                "create_role",
                {"Role": role},
                params,
                arn,
                **{"iam:PermissionsBoundary": props["PermissionsBoundary"]},
            )
        elif kind == "AWS::IAM::ManagedPolicy":
            name = f"{stack_name}-{logical_id}"[:128]
            arn = f"arn:{PARTITION}:iam::{ACCOUNT}:policy{props['Path']}{name}"
            params = {"PolicyName": name, "Path": props["Path"], "PolicyDocument": json.dumps(props["PolicyDocument"])}
            self._call("iam", "create_policy", {"Policy": {"Arn": arn}}, params, arn)
            for role_name in props["Roles"]:
                role_arn = f"arn:{PARTITION}:iam::{ACCOUNT}:role{props['Path']}{role_name}"
                params = {"RoleName": role_name, "PolicyArn": arn}
                self._call("iam", "attach_role_policy", {}, params, role_arn, **{"iam:PolicyARN": arn})
        elif kind == "AWS::SageMaker::Pipeline":
            name = props["PipelineName"]
            arn = self._arn("sagemaker", f"pipeline/{name}")
            self.pass_role(props["RoleArn"], "sagemaker.amazonaws.com")
            params = {
                "PipelineName": name,
                "PipelineDefinition": props["PipelineDefinition"]["PipelineDefinitionBody"],
                "PipelineDescription": props["PipelineDescription"],
                "RoleArn": props["RoleArn"],
                "ClientRequestToken": "a" * 32,
            }
            definition = json.loads(params["PipelineDefinition"])  # resolved: JSON SageMaker can read
            assert "Fn::" not in params["PipelineDefinition"] and definition["Steps"], name
            self._call("sagemaker", "create_pipeline", {"PipelineArn": arn}, params, arn)
            self._call("sagemaker", "add_tags", {"Tags": []}, {"ResourceArn": arn, "Tags": props["Tags"]}, arn)
        elif kind == "AWS::Events::Rule":
            name = props["Name"]
            arn = self._arn("events", f"rule/{name}")
            params = {
                "Name": name,
                "EventPattern": json.dumps(props["EventPattern"]),
                "State": props["State"],
                "Description": props["Description"],
            }
            self._call("events", "put_rule", {"RuleArn": arn}, params, arn)
            keys = {"Id", "Arn", "RoleArn", "InputTransformer", "RetryPolicy", "DeadLetterConfig"}
            targets = [{k: v for k, v in t.items() if k in keys} for t in props["Targets"]]
            for target in targets:
                if "RoleArn" in target:  # a Lambda target (the deployer) has none: its resource policy decides
                    self.pass_role(target["RoleArn"], "events.amazonaws.com")
            response = {"FailedEntryCount": 0, "FailedEntries": []}
            self._call("events", "put_targets", response, {"Rule": name, "Targets": targets}, arn)
        elif kind == "AWS::IoT::ThingGroup":
            name = props["ThingGroupName"]
            arn = self._arn("iot", f"thinggroup/{name}")
            description = props["ThingGroupProperties"]["ThingGroupDescription"]
            params = {"thingGroupName": name, "thingGroupProperties": {"thingGroupDescription": description}}
            response = {"thingGroupName": name, "thingGroupArn": arn, "thingGroupId": "tg-1"}
            self._call("iot", "create_thing_group", response, params, arn)
        elif kind == "AWS::Scheduler::Schedule":
            name = props["Name"]
            arn = self._arn("scheduler", f"schedule/default/{name}")
            target = props["Target"]
            self.pass_role(target["RoleArn"], "scheduler.amazonaws.com")
            params = {
                "Name": name,
                "ScheduleExpression": props["ScheduleExpression"],
                "FlexibleTimeWindow": props["FlexibleTimeWindow"],
                "Target": {"Arn": target["Arn"], "RoleArn": target["RoleArn"]},
            }
            self._call("scheduler", "create_schedule", {"ScheduleArn": arn}, params, arn)
        elif kind == "AWS::CloudWatch::Alarm":
            name = props["AlarmName"]
            arn = self._arn("cloudwatch", f"alarm:{name}")
            keys = (
                "AlarmName", "AlarmDescription", "AlarmActions", "MetricName", "Namespace", "Statistic",
                "ExtendedStatistic", "Dimensions", "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
                "ComparisonOperator", "TreatMissingData",
            )  # fmt: skip
            params = {k: props[k] for k in keys if k in props}
            self._call("cloudwatch", "put_metric_alarm", {}, params, arn)


def _launch(synthesized, stage: str) -> Iterator[tuple[str, Call, bool]]:
    guardrails = synthesized.template(stage, "guardrails").to_json()
    projects = synthesized.template(stage, "projects").to_json()
    identity = resolve(launch_role_statements(guardrails, projects), *stage_values(stage))
    for name, template in product_templates(synthesized.outdir, synthesized.stages[stage].node.id).items():
        refs, exports = stage_values(stage)
        provisioner = Provisioner(stage)
        provisioner.provision(template, refs, exports)
        assert provisioner.calls, name
        for call in provisioner.calls:
            yield name, call, iam_allows(call, identity, None)  # the launch role has no boundary but its allow-list


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_call_a_launch_makes_is_allowed_to_the_launch_role(synthesized, stage):
    results = list(_launch(synthesized, stage))
    denied = [(name, call) for name, call, ok in results if not ok]
    assert not denied, denied
    actions = {call[0] for _, call, _ in results}
    assert {"sagemaker:CreatePipeline", "iam:CreateRole", "iam:PassRole", "events:PutRule"} <= actions
    if stage == "prod":
        assert {"scheduler:CreateSchedule", "cloudwatch:PutMetricAlarm"} <= actions


def test_the_replay_catches_a_role_created_without_the_boundary(synthesized):
    guardrails = synthesized.template("dev", "guardrails").to_json()
    projects = synthesized.template("dev", "projects").to_json()
    identity = resolve(launch_role_statements(guardrails, projects), *stage_values("dev"))
    role = f"arn:aws:iam::{ACCOUNT}:role/mlops/dev/SC-x-Role"
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    other_pipeline = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/other-team"
    for call in (
        ("iam:CreateRole", role, {"iam:PermissionsBoundary": admin}),  # a role without the stage's boundary
        ("iam:AttachRolePolicy", role, {"iam:PolicyARN": admin}),  # a policy from outside the stage's path
        ("sagemaker:CreatePipeline", other_pipeline, {}),  # a name outside the stage prefix
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin", {}),  # a role outside the stage's path
    ):
        assert iam_allows(call, identity, None) is False, call


@pytest.mark.parametrize("persona", ["DataScientistRole", "MlEngineerRole"])
def test_a_persona_may_launch_a_project_from_studio_or_the_cli(synthesized, persona):
    identity_template = synthesized.template("dev", "identity").to_json()
    guardrails = synthesized.template("dev", "guardrails").to_json()
    (role_id,) = [
        k for k, r in identity_template["Resources"].items() if r["Type"] == "AWS::IAM::Role" and k.startswith(persona)
    ]
    statements = [
        s
        for r in identity_template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and {"Ref": role_id} in r["Properties"]["Roles"]
        for s in r["Properties"]["PolicyDocument"]["Statement"]
    ]
    refs, exports = stage_values("dev")
    identity = resolve(statements, refs, exports)
    boundary = resolve(boundary_statements(guardrails), refs, exports)

    sagemaker, catalog = (
        boto3.client("sagemaker", region_name=REGION),
        boto3.client("servicecatalog", region_name=REGION),
    )
    project_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:project/{PROJECT}"
    product_arn = f"arn:aws:catalog:{REGION}:{ACCOUNT}:product/prod-abcdefghijklm"
    steps: list[tuple[Any, str, dict, dict, Call]] = [
        (catalog, "search_products", {}, {}, ("servicecatalog:SearchProducts", "*", {})),
        (
            catalog,
            "list_launch_paths",
            {"ProductId": "prod-abcdefghijklm"},
            {},
            ("servicecatalog:ListLaunchPaths", product_arn, {}),
        ),
        (
            catalog,
            "provision_product",
            {
                "ProductId": "prod-abcdefghijklm",
                "ProvisioningArtifactId": "pa-abcdefghijklm",
                "ProvisionedProductName": PROJECT,
                "ProvisioningParameters": [
                    {"Key": "SageMakerProjectName", "Value": PROJECT},
                    {"Key": "SageMakerProjectId", "Value": PROJECT_ID},
                ],
                "ProvisionToken": "t",
            },
            {},
            ("servicecatalog:ProvisionProduct", product_arn, {}),
        ),
        (
            sagemaker,
            "create_project",
            {
                "ProjectName": PROJECT,
                "ServiceCatalogProvisioningDetails": {
                    "ProductId": "prod-abcdefghijklm",
                    "ProvisioningArtifactId": "pa-abcdefghijklm",
                },
            },
            {"ProjectArn": project_arn, "ProjectId": PROJECT_ID},
            ("sagemaker:CreateProject", project_arn, {}),
        ),
        (
            sagemaker,
            "describe_project",
            {"ProjectName": PROJECT},
            {
                "ProjectArn": project_arn,
                "ProjectName": PROJECT,
                "ProjectId": PROJECT_ID,
                "ProjectStatus": "CreateCompleted",
                "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
            },
            ("sagemaker:DescribeProject", project_arn, {}),
        ),
    ]
    for client, operation, params, response, call in steps:
        with Stubber(client) as stub:
            stub.add_response(operation, response, params)
            getattr(client, operation)(**params)
        assert iam_allows(call, identity, boundary), (persona, call)
