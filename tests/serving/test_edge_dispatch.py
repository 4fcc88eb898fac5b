"""The deployer function's edge side: the devices rule's wrapped event reaches the edge deployer, with the stage's
edge settings from the function's environment; anything else never touches Greengrass."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

from pipeline_code.deploy.deployer import Deployer
from pipeline_code.deploy.handler import EDGE, dispatch, edge_target
from pipeline_code.deploy.settings import DeployerSettings, SettingsError, settings_from_env, settings_to_env
from pipeline_code.edge import deployer as edge_deployer
from pipeline_code.edge.recipe import version_from_hash
from tests.edge.test_deployer import APP, MODEL, TARGET, deployment, event, model_files, stub_read

BASE = {
    "prefix": "mlops-dev",
    "groups": ("adherence", "intent"),
    "execution_role_arn": "arn:aws:iam::111122223333:role/mlops/dev/sm",
    "kms_key_arn": "arn:aws:kms:eu-west-1:111122223333:key/k",
    "capture_s3_uri": "s3://mlops-dev-models/data-capture",
}
EDGE_SETTINGS = DeployerSettings(
    **BASE, edge_model="intent", edge_bucket=TARGET.bucket, edge_thing_group_arn=TARGET.thing_group_arn
)


@pytest.fixture
def stubs():
    kwargs = {"region_name": "eu-west-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    sm, s3, gg = (boto3.client(name, **kwargs) for name in ("sagemaker", "s3", "greengrassv2"))
    with Stubber(sm) as sm_stub, Stubber(s3) as s3_stub, Stubber(gg) as gg_stub:
        yield sm, s3, s3_stub, gg, gg_stub
        for stub in (sm_stub, s3_stub, gg_stub):
            stub.assert_no_pending_responses()


def test_edge_target_is_the_stage_thing_group_and_intent_group():
    assert edge_target(EDGE_SETTINGS) == TARGET
    assert edge_target(DeployerSettings(**BASE)) is None


def test_edge_settings_round_trip_through_the_environment():
    assert settings_from_env(settings_to_env(EDGE_SETTINGS)) == EDGE_SETTINGS
    assert settings_from_env(settings_to_env(DeployerSettings(**BASE))).edge_model == ""


@pytest.mark.parametrize(
    "edge",
    [
        {"edge_model": "churn", "edge_bucket": "b", "edge_thing_group_arn": TARGET.thing_group_arn},
        {"edge_model": "intent", "edge_bucket": "", "edge_thing_group_arn": TARGET.thing_group_arn},
        {"edge_model": "intent", "edge_bucket": "b", "edge_thing_group_arn": "arn:aws:iot:r:1:thing/x"},
    ],
)
def test_incomplete_edge_settings_are_refused_with_the_field_named(edge):
    with pytest.raises(SettingsError, match="edge_"):
        DeployerSettings(**BASE, **edge)


def test_a_wrapped_approval_publishes_the_model_component_and_revises_the_deployment(stubs):
    sm, s3, s3_stub, gg, gg_stub = stubs
    files = model_files()
    version = version_from_hash(hashlib.sha256(files["metadata.json"]).hexdigest())
    key = f"models/{version}/model.zip"
    stub_read(s3_stub, files)
    s3_stub.add_client_error("head_object", "404", http_status_code=404)
    s3_stub.add_response("put_object", {}, {"Bucket": TARGET.bucket, "Key": key, "Body": ANY, "ContentType": ANY})
    gg_stub.add_client_error("describe_component", "ResourceNotFoundException", http_status_code=404)
    created = {"componentName": MODEL, "componentVersion": version, "arn": "a", "status": {}}
    gg_stub.add_response(
        "create_component_version", {**created, "creationTimestamp": datetime(2026, 1, 1, tzinfo=UTC)}, None
    )
    gg_stub.add_response("list_deployments", {"deployments": [{"deploymentId": "d-1"}]}, None)
    gg_stub.add_response("get_deployment", deployment({APP: {"componentVersion": "1.2.3"}}), {"deploymentId": "d-1"})
    gg_stub.add_response(
        "create_deployment",
        {"deploymentId": "d-2"},
        {
            "targetArn": TARGET.thing_group_arn,  # the stage's group, from the function's environment
            "deploymentName": "mlops-dev-edge-intent",
            "components": ANY,
            "deploymentPolicies": {
                "failureHandlingPolicy": "ROLLBACK",
                "componentUpdatePolicy": ANY,
                "configurationValidationPolicy": ANY,
            },
            "tags": ANY,
        },
    )

    outcome = dispatch(Deployer(EDGE_SETTINGS, sagemaker=sm, s3=s3), {"target": EDGE, "event": event()}, greengrass=gg)

    assert outcome.action == "updated"
    assert outcome.extra == {"target": EDGE, "model_component_version": version, "deployment_id": "d-2"}
    assert json.dumps(outcome.to_dict())  # what the Lambda returns is JSON


@pytest.mark.parametrize(
    "inner",
    [
        event(status="Rejected"),
        event(group="mlops-dev-adherence"),
        {"detail": "not an object"},
        None,
        "text",
    ],
)
def test_anything_but_an_intent_approval_is_a_logged_no_op_without_aws_calls(stubs, inner):
    sm, s3, _, gg, _ = stubs  # no stubbed responses: any AWS call would fail the test
    outcome = dispatch(Deployer(EDGE_SETTINGS, sagemaker=sm, s3=s3), {"target": EDGE, "event": inner}, greengrass=gg)
    assert outcome.action == "skipped"
    assert outcome.reason.startswith("edge: ")


def test_a_stage_without_devices_skips_the_edge_side(stubs):
    sm, s3, _, gg, _ = stubs
    outcome = dispatch(
        Deployer(DeployerSettings(**BASE), sagemaker=sm, s3=s3), {"target": EDGE, "event": event()}, greengrass=gg
    )
    assert (outcome.action, outcome.reason) == ("skipped", "this stage sends no model to devices (no EDGE_MODEL)")


def test_an_altered_model_folder_is_rejected_not_retried(stubs):
    sm, s3, s3_stub, gg, _ = stubs
    files = model_files()
    files["model.onnx"] = b"tampered"
    stub_read(s3_stub, files)
    outcome = dispatch(Deployer(EDGE_SETTINGS, sagemaker=sm, s3=s3), {"target": EDGE, "event": event()}, greengrass=gg)
    assert outcome.action == "rejected"
    assert "model.onnx does not match its sha256" in outcome.reason


def test_aws_errors_propagate_so_the_invocation_is_retried(stubs):
    sm, s3, s3_stub, gg, _ = stubs
    s3_stub.add_client_error("list_objects_v2", "SlowDown", http_status_code=503)
    with pytest.raises(Exception, match="SlowDown"):
        dispatch(Deployer(EDGE_SETTINGS, sagemaker=sm, s3=s3), {"target": EDGE, "event": event()}, greengrass=gg)


def test_the_edge_deployer_module_imports_only_the_standard_library_and_botocore():
    imported = {
        line.split()[1].split(".")[0]
        for line in Path(edge_deployer.__file__).read_text().splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imported <= {
        "__future__",
        "hashlib",
        "io",
        "json",
        "logging",
        "zipfile",
        "dataclasses",
        "typing",
        "botocore",
        "pipeline_code",
    }
