"""The edge stack: app component recipe (documented format, IPC policy), content-hash versions, token-exchange role,
thing group, role alias and the initial deployment with rollback."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk.assertions import Match

from pipeline_code.edge import recipe as recipes
from stacks.edge import APP_FILES, app_files, app_version

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
RECIPE_KEYS = {  # the recipe format's top-level keys (Greengrass v2 developer guide, "Component recipe reference")
    "RecipeFormatVersion",
    "ComponentName",
    "ComponentVersion",
    "ComponentDescription",
    "ComponentPublisher",
    "ComponentConfiguration",
    "ComponentDependencies",
    "ComponentType",
    "Manifests",
    "Lifecycle",
}
LIFECYCLE_STEPS = {"setEnv", "install", "startup", "run", "shutdown", "recover", "bootstrap"}
IPC_OPERATIONS = {"aws.greengrass#PublishToTopic", "aws.greengrass#SubscribeToTopic", "*"}


@pytest.fixture(scope="module")
def edge(synthesized):
    return synthesized.template("dev", "edge")


def _render(part: object) -> str:
    """A join part as text: strings as they are, ``Fn::Sub`` as its template, other tokens as a placeholder."""
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and isinstance(part.get("Fn::Sub"), str):
        return part["Fn::Sub"]
    return "TOKEN"


@pytest.fixture(scope="module")
def recipe(edge) -> dict:
    (component,) = edge.find_resources("AWS::GreengrassV2::ComponentVersion").values()
    inline = component["Properties"]["InlineRecipe"]
    text = inline if isinstance(inline, str) else "".join(_render(p) for p in inline["Fn::Join"][1])
    return json.loads(text)


def test_recipe_fields_follow_the_documented_format(recipe) -> None:
    assert set(recipe) <= RECIPE_KEYS
    assert recipe["RecipeFormatVersion"] == "2020-01-25"
    assert SEMVER.match(recipe["ComponentVersion"])
    assert recipe["ComponentType"] == "aws.greengrass.generic"
    assert recipe["ComponentDependencies"] == {
        "aws.greengrass.Cloudwatch": {"VersionRequirement": ">=3.0.0 <4.0.0", "DependencyType": "HARD"}
    }
    (manifest,) = recipe["Manifests"]
    assert manifest["Platform"] == {"os": "linux"}
    assert set(manifest["Lifecycle"]) <= LIFECYCLE_STEPS and {"install", "run"} <= set(manifest["Lifecycle"])
    assert "pipeline_code.edge --ipc" in manifest["Lifecycle"]["run"]["Script"]
    install = manifest["Lifecycle"]["install"]["Script"]
    assert "onnxruntime==" in install and "torch" not in install and "pandas" not in install
    (artifact,) = manifest["Artifacts"]
    assert artifact["URI"].startswith("s3://") and artifact["Unarchive"] == "ZIP"
    defaults = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    for key in ("RequestTopic", "ResponseTopic", "MetricsIntervalSeconds", "MaxTextChars", "MaxBatch"):
        assert key in defaults
    # every {configuration:/Key} the run script interpolates has a default
    for key in re.findall(r"\{configuration:/(\w+)\}", manifest["Lifecycle"]["run"]["Script"]):
        assert key in defaults, key


def test_ipc_access_is_limited_to_the_apps_own_topics(recipe) -> None:
    defaults = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    policies = defaults["accessControl"]
    assert set(policies) == {"aws.greengrass.ipc.pubsub"}
    granted: dict[str, set[str]] = {}
    for policy_id, policy in policies["aws.greengrass.ipc.pubsub"].items():
        assert policy_id.startswith(recipe["ComponentName"] + ":")
        assert set(policy["operations"]) <= IPC_OPERATIONS and "*" not in policy["operations"]
        for operation in policy["operations"]:
            granted.setdefault(operation, set()).update(policy["resources"])
    assert granted == {
        "aws.greengrass#SubscribeToTopic": {defaults["RequestTopic"]},
        "aws.greengrass#PublishToTopic": {defaults["ResponseTopic"], "cloudwatch/metric/put"},
    }
    assert not any("*" in topic or "#" in topic or "+" in topic for topics in granted.values() for topic in topics)


def test_version_depends_on_content_only() -> None:
    files = app_files()
    assert app_version(files, prefix="mlops-dev") == app_version(dict(files), prefix="mlops-dev")
    changed = dict(files)
    changed[APP_FILES[-1]] = files[APP_FILES[-1]] + b" "
    assert app_version(changed, prefix="mlops-dev") != app_version(files, prefix="mlops-dev")
    flipped = dict(files)
    first = bytearray(files[APP_FILES[3]])
    first[0] ^= 1
    flipped[APP_FILES[3]] = bytes(first)
    assert app_version(flipped, prefix="mlops-dev") != app_version(files, prefix="mlops-dev")
    assert SEMVER.match(app_version(files, prefix="mlops-dev"))


def test_the_synthesized_version_is_the_content_version(synthesized, recipe) -> None:
    stage = synthesized.stages["dev"]
    assert recipe["ComponentVersion"] == app_version(app_files(), prefix=stage.settings.resource_prefix)
    assert recipe["ComponentName"] == recipes.app_component_name(stage.settings.resource_prefix)


def test_thing_group_role_alias_and_deployment(edge) -> None:
    edge.resource_count_is("AWS::IoT::ThingGroup", 1)
    edge.has_resource_properties(
        "AWS::IoT::RoleAlias",
        {"RoleAlias": Match.string_like_regexp("-edge-token-exchange$"), "RoleArn": Match.any_value()},
    )
    edge.has_resource_properties(
        "AWS::GreengrassV2::Deployment",
        {
            "TargetArn": {"Fn::GetAtt": [Match.string_like_regexp("ThingGroup"), "Arn"]},
            "DeploymentPolicies": {
                "FailureHandlingPolicy": "ROLLBACK",
                "ComponentUpdatePolicy": {"Action": "NOTIFY_COMPONENTS", "TimeoutInSeconds": Match.any_value()},
                "ConfigurationValidationPolicy": {"TimeoutInSeconds": Match.any_value()},
            },
        },
    )


def test_token_exchange_role_reads_only_its_artefacts_and_decrypts(edge, synthesized) -> None:
    (role,) = edge.find_resources("AWS::IAM::Role").values()
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "credentials.iot.amazonaws.com"
    }
    assert "Policies" not in role["Properties"]  # no inline policy
    (policy,) = edge.find_resources("AWS::IAM::ManagedPolicy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"ReadAppCode", "DecryptArtefacts"}
    assert statements["ReadAppCode"]["Action"] == "s3:GetObject"
    assert json.dumps(statements["ReadAppCode"]["Resource"]).count(".zip") == 1  # the one code object
    assert statements["DecryptArtefacts"]["Action"] == "kms:Decrypt"
    assert "ImportValue" in json.dumps(statements["DecryptArtefacts"]["Resource"])  # the stage key's ARN
    assert all(s["Effect"] == "Allow" for s in statements.values())
    # the models: the edge-deployments bucket policy, to this role's ARN only, under models/ only
    data = synthesized.template("dev", "data")
    found = [
        s
        for p in data.find_resources("AWS::S3::BucketPolicy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "EdgeDevicesReadModels"
    ]
    (statement,) = found
    assert statement["Effect"] == "Allow" and statement["Action"] == "s3:GetObject"
    assert f"/{recipes.MODEL_PREFIX}/*" in json.dumps(statement["Resource"])
    principal_arn = json.dumps(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"])
    assert role["Properties"]["RoleName"] in principal_arn and role["Properties"]["Path"] in principal_arn


def test_model_prefix_is_one_value() -> None:
    from stacks.data_foundation import EDGE_MODEL_PREFIX

    assert EDGE_MODEL_PREFIX == recipes.MODEL_PREFIX
