"""The edge deployer under botocore Stubber (moto has no greengrassv2): approval -> model component + deployment
revision with ROLLBACK; a repeat adds nothing; rejected, other-group and malformed events call nothing."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from pipeline_code.edge import deployer
from pipeline_code.edge.deployer import DeployError, EdgeTarget, handle_event, rollback
from pipeline_code.edge.recipe import version_from_hash

TARGET = EdgeTarget(
    prefix="mlops-dev",
    bucket="mlops-dev-edge-111122223333-eu-west-1",
    thing_group_arn="arn:aws:iot:eu-west-1:111122223333:thinggroup/mlops-dev-edge-devices",
    model_package_group="mlops-dev-intent",
)
MODEL_URL = "s3://mlops-dev-pipeline-111122223333-eu-west-1/runs/abc/IntentQuantize/model"
APP = "mlops-dev.edge.IntentApp"
MODEL = "mlops-dev.edge.IntentModel"


def model_files(onnx: bytes = b"onnx-bytes") -> dict[str, bytes]:
    files = {"model.onnx": onnx, "labels.json": b'{"labels": ["a", "oos"]}'}
    listed = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    files["metadata.json"] = json.dumps({"format": "intent-model/1", "files": listed}).encode()
    return files


def event(status: str = "Approved", group: str = "mlops-dev-intent", url: str = MODEL_URL) -> dict:
    return {
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageArn": f"arn:aws:sagemaker:eu-west-1:111122223333:model-package/{group}/3",
            "ModelApprovalStatus": status,
            "InferenceSpecification": {"Containers": [{"Image": "x", "ModelDataUrl": url}]},
        },
    }


@pytest.fixture
def clients() -> Iterator[tuple]:
    s3 = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    gg = boto3.client("greengrassv2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(s3) as s3_stub, Stubber(gg) as gg_stub:
        yield s3, s3_stub, gg, gg_stub
        s3_stub.assert_no_pending_responses()
        gg_stub.assert_no_pending_responses()


def stub_read(stub: Stubber, files: dict[str, bytes]) -> None:
    bucket, _, prefix = MODEL_URL[5:].partition("/")
    contents = [{"Key": f"{prefix}/{name}", "Size": len(data)} for name, data in sorted(files.items())]
    stub.add_response("list_objects_v2", {"Contents": contents}, {"Bucket": bucket, "Prefix": prefix + "/"})
    for name, data in sorted(files.items()):
        body = StreamingBody(io.BytesIO(data), len(data))
        stub.add_response("get_object", {"Body": body}, {"Bucket": bucket, "Key": f"{prefix}/{name}"})


def deployment(components: dict) -> dict:
    return {"deploymentId": "d-1", "targetArn": TARGET.thing_group_arn, "components": components}


def test_an_approval_publishes_the_model_and_revises_the_deployment(clients) -> None:
    s3, s3_stub, gg, gg_stub = clients
    files = model_files()
    version = version_from_hash(hashlib.sha256(files["metadata.json"]).hexdigest())
    key = f"models/{version}/model.zip"
    stub_read(s3_stub, files)
    s3_stub.add_client_error(
        "head_object", "404", http_status_code=404, expected_params={"Bucket": TARGET.bucket, "Key": key}
    )
    s3_stub.add_response(
        "put_object",
        {},
        {"Bucket": TARGET.bucket, "Key": key, "Body": deployer.model_zip(files), "ContentType": "application/zip"},
    )
    gg_stub.add_client_error("describe_component", "ResourceNotFoundException", http_status_code=404)
    gg_stub.add_response(
        "create_component_version",
        {
            "componentName": MODEL,
            "componentVersion": version,
            "arn": "a",
            "creationTimestamp": datetime(2026, 1, 1, tzinfo=UTC),
            "status": {},
        },
        {"inlineRecipe": ANY},
    )
    gg_stub.add_response(
        "list_deployments",
        {"deployments": [{"deploymentId": "d-1"}]},
        {"targetArn": TARGET.thing_group_arn, "historyFilter": "LATEST_ONLY"},
    )
    gg_stub.add_response("get_deployment", deployment({APP: {"componentVersion": "1.2.3"}}), {"deploymentId": "d-1"})
    gg_stub.add_response(
        "create_deployment",
        {"deploymentId": "d-2"},
        {
            "targetArn": TARGET.thing_group_arn,
            "deploymentName": "mlops-dev-edge-intent",
            "components": {
                APP: {
                    "componentVersion": "1.2.3",
                    "configurationUpdate": {"merge": json.dumps({"ModelComponent": MODEL, "ModelVersion": version})},
                },
                MODEL: {"componentVersion": version},
            },
            "deploymentPolicies": {
                "failureHandlingPolicy": "ROLLBACK",
                "componentUpdatePolicy": {"timeoutInSeconds": 120, "action": "NOTIFY_COMPONENTS"},
                "configurationValidationPolicy": {"timeoutInSeconds": 120},
            },
            "tags": ANY,
        },
    )
    outcome = handle_event(event(), s3=s3, greengrass=gg, target=TARGET)
    assert (outcome.action, outcome.model_version, outcome.deployment_id) == ("deployed", version, "d-2")
    with zipfile.ZipFile(io.BytesIO(deployer.model_zip(files))) as archive:
        assert sorted(archive.namelist()) == sorted(f"model/{n}" for n in files)


def test_a_repeated_event_creates_nothing(clients) -> None:
    s3, s3_stub, gg, gg_stub = clients
    files = model_files()
    version = version_from_hash(hashlib.sha256(files["metadata.json"]).hexdigest())
    stub_read(s3_stub, files)
    s3_stub.add_response("head_object", {}, {"Bucket": TARGET.bucket, "Key": f"models/{version}/model.zip"})
    gg_stub.add_response("describe_component", {"componentName": MODEL, "componentVersion": version})
    gg_stub.add_response("list_deployments", {"deployments": [{"deploymentId": "d-2"}]})
    gg_stub.add_response(
        "get_deployment", deployment({APP: {"componentVersion": "1.2.3"}, MODEL: {"componentVersion": version}})
    )
    outcome = handle_event(event(), s3=s3, greengrass=gg, target=TARGET)
    assert outcome.action == "unchanged"  # no put_object, create_component_version or create_deployment stubbed


@pytest.mark.parametrize(
    "bad",
    [
        event(status="Rejected"),
        event(status="PendingManualApproval"),
        event(group="mlops-dev-adherence"),
        event(url="not-an-s3-url"),
        {"detail-type": "SageMaker Model Package State Change", "detail": "nope"},
        {"detail-type": "Something else", "detail": {}},
        [],
        None,
        {
            "detail-type": "SageMaker Model Package State Change",
            "detail": {"ModelPackageGroupName": "mlops-dev-intent", "ModelApprovalStatus": "Approved"},
        },
    ],
)
def test_anything_but_an_intent_approval_is_a_logged_no_op(clients, bad, caplog) -> None:
    s3, _, gg, _ = clients
    caplog.set_level("INFO")
    outcome = handle_event(bad, s3=s3, greengrass=gg, target=TARGET)
    assert outcome.action == "ignored" and outcome.reason
    assert "ignored" in caplog.text


def test_an_altered_model_folder_is_refused_before_anything_is_published(clients) -> None:
    s3, s3_stub, gg, _ = clients
    files = model_files()
    files["model.onnx"] = b"tampered"
    stub_read(s3_stub, files)
    with pytest.raises(DeployError, match=r"model\.onnx does not match its sha256"):
        handle_event(event(), s3=s3, greengrass=gg, target=TARGET)


def test_rollback_goes_back_to_the_previous_model(clients) -> None:
    _, _, gg, gg_stub = clients
    t = datetime(2026, 1, 1, tzinfo=UTC)
    gg_stub.add_response(
        "list_deployments",
        {
            "deployments": [
                {"deploymentId": "d-3", "creationTimestamp": t.replace(day=3), "revisionId": "3"},
                {"deploymentId": "d-1", "creationTimestamp": t.replace(day=1), "revisionId": "1"},
                {"deploymentId": "d-2", "creationTimestamp": t.replace(day=2), "revisionId": "2"},
            ]
        },
        {"targetArn": TARGET.thing_group_arn, "historyFilter": "ALL"},
    )
    app = {"componentVersion": "1.2.3"}
    gg_stub.add_response(
        "get_deployment", deployment({APP: app, MODEL: {"componentVersion": "1.0.3"}}), {"deploymentId": "d-3"}
    )
    gg_stub.add_response(
        "get_deployment", deployment({APP: app, MODEL: {"componentVersion": "1.0.3"}}), {"deploymentId": "d-2"}
    )
    gg_stub.add_response(
        "get_deployment", deployment({APP: app, MODEL: {"componentVersion": "1.0.1"}}), {"deploymentId": "d-1"}
    )
    gg_stub.add_response(
        "create_deployment",
        {"deploymentId": "d-4"},
        {
            "targetArn": TARGET.thing_group_arn,
            "deploymentName": ANY,
            "components": {
                APP: {
                    "componentVersion": "1.2.3",
                    "configurationUpdate": {"merge": json.dumps({"ModelComponent": MODEL, "ModelVersion": "1.0.1"})},
                },
                MODEL: {"componentVersion": "1.0.1"},
            },
            "deploymentPolicies": ANY,
            "tags": ANY,
        },
    )
    outcome = rollback(gg, TARGET)
    assert (outcome.action, outcome.model_version, outcome.deployment_id) == ("rolled_back", "1.0.1", "d-4")


def test_rollback_without_history_is_an_error(clients) -> None:
    _, _, gg, gg_stub = clients
    gg_stub.add_response("list_deployments", {"deployments": []})
    with pytest.raises(DeployError, match="no earlier model version"):
        rollback(gg, TARGET)


def test_cli_rollback_resolves_the_stage_and_reports(monkeypatch, tmp_path) -> None:
    from tests.cli.cli_helpers import invoke

    iot = boto3.client("iot", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    gg = boto3.client("greengrassv2", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")

    class Session:
        def __init__(self, region_name=None) -> None:
            pass

        def client(self, name: str):
            return {"iot": iot, "greengrassv2": gg}[name]

    monkeypatch.setattr(boto3.session, "Session", Session)
    with Stubber(iot) as iot_stub, Stubber(gg) as gg_stub:
        iot_stub.add_response(
            "describe_thing_group",
            {"thingGroupArn": TARGET.thing_group_arn},
            {"thingGroupName": "mlops-dev-edge-devices"},
        )
        gg_stub.add_response("list_deployments", {"deployments": []})
        result = invoke(tmp_path, "edge", "rollback", "--stage", "dev")
    assert result.exit_code == 1 and "no earlier model version" in result.output


@pytest.mark.parametrize(
    ("args", "message"), [(("--stage", "qa"), "unknown stage 'qa'"), (("--stage", "sandbox"), "needs --owner")]
)
def test_cli_rollback_checks_the_stage(tmp_path, args, message) -> None:
    from tests.cli.cli_helpers import flat, invoke

    result = invoke(tmp_path, "edge", "rollback", *args)
    assert result.exit_code == 2 and message in flat(result.output)
