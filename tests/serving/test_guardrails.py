"""Provisioned mode (staging, prod): the exact requests the deployer sends, asserted with botocore Stubber.

moto 5 has no ``UpdateEndpoint`` and ignores ``DeploymentConfig``; the blue/green canary, the auto-rollback
alarms, data capture and the stage key are therefore checked on the requests themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from pipeline_code.deploy import decisions as d
from pipeline_code.deploy.deployer import Deployer, EndpointBusy
from tests.serving.helpers import BUCKET, IMAGE, KEY, PROVISIONED_SETTINGS, REGION, ROLE, package_arn

GROUP = "mlops-prod-adherence"
ENDPOINT = "mlops-prod-adherence"
ARN = package_arn(GROUP, 2)
ARTEFACT = f"s3://{BUCKET}/models/{GROUP}/2/model.tar.gz"
PACKAGE = {
    "ModelPackageName": GROUP,
    "ModelPackageArn": ARN,
    "ModelPackageGroupName": GROUP,
    "ModelPackageVersion": 2,
    "ModelApprovalStatus": "Approved",
    "ModelPackageStatus": "Completed",
    "ModelPackageStatusDetails": {"ValidationStatuses": []},
    "CreationTime": "2026-01-01T00:00:00Z",
    "InferenceSpecification": {
        "Containers": [{"Image": IMAGE, "ModelDataUrl": ARTEFACT}],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    },
}
NOT_FOUND = {"service_error_code": "ValidationException", "service_message": "Could not find it."}


def endpoint(config: str, status: str = "InService") -> dict[str, Any]:
    return {
        "EndpointName": ENDPOINT,
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint/{ENDPOINT}",
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": "2026-01-01T00:00:00Z",
        "LastModifiedTime": "2026-01-01T00:00:00Z",
    }


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Deployer, Stubber]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    sm = boto3.client("sagemaker", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    with Stubber(sm) as sm_stub, Stubber(s3) as s3_stub:
        s3_stub.add_response("head_object", {"ContentLength": 5}, {"Bucket": BUCKET, "Key": ARTEFACT.split("/", 3)[3]})
        yield Deployer(PROVISIONED_SETTINGS, sagemaker=sm, s3=s3), sm_stub
        sm_stub.assert_no_pending_responses()


def expect_creates(stub: Stubber) -> None:
    stub.add_client_error("describe_model", expected_params={"ModelName": f"{GROUP}-v2"}, **NOT_FOUND)
    stub.add_response(
        "create_model",
        {"ModelArn": f"arn:aws:sagemaker:{REGION}:123456789012:model/{GROUP}-v2"},
        {
            "ModelName": f"{GROUP}-v2",
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": ARTEFACT},
            "EnableNetworkIsolation": True,
            "Tags": ANY,
        },
    )
    stub.add_client_error(
        "describe_endpoint_config", expected_params={"EndpointConfigName": f"{GROUP}-v2"}, **NOT_FOUND
    )
    stub.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:123456789012:endpoint-config/{GROUP}-v2"},
        {
            "EndpointConfigName": f"{GROUP}-v2",
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": f"{GROUP}-v2",
                    "InstanceType": "ml.m5.xlarge",
                    "InitialInstanceCount": 2,
                    "InitialVariantWeight": 1.0,
                }
            ],
            "KmsKeyId": KEY,
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": 20,
                "DestinationS3Uri": f"s3://{BUCKET}/data-capture/{ENDPOINT}",
                "KmsKeyId": KEY,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            },
            "Tags": [
                {"Key": "mlops:model-package-arn", "Value": ARN},
                {"Key": "mlops:model-package-version", "Value": "2"},
            ],
        },
    )


def test_update_sends_blue_green_canary_with_auto_rollback_alarms(stubbed):
    deployer, stub = stubbed
    stub.add_response("describe_model_package", PACKAGE, {"ModelPackageName": ARN})
    stub.add_response("describe_endpoint", endpoint(f"{GROUP}-v1"), {"EndpointName": ENDPOINT})
    expect_creates(stub)
    stub.add_response(
        "update_endpoint",
        {"EndpointArn": endpoint("")["EndpointArn"]},
        {
            "EndpointName": ENDPOINT,
            "EndpointConfigName": f"{GROUP}-v2",
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {
                        "Type": "CANARY",
                        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
                        "WaitIntervalInSeconds": 600,
                    },
                    "TerminationWaitInSeconds": 300,
                    "MaximumExecutionTimeoutInSeconds": 2700,
                },
                "AutoRollbackConfiguration": {
                    "Alarms": [
                        {"AlarmName": f"{ENDPOINT}-5xx-errors"},
                        {"AlarmName": f"{ENDPOINT}-model-latency-p99"},
                    ]
                },
            },
        },
    )
    outcome = deployer.deploy_package(ARN)
    assert (outcome.action, outcome.version) == ("updated", 2)


def test_first_provisioned_deployment_creates_without_guardrails(stubbed):
    deployer, stub = stubbed
    stub.add_response("describe_model_package", PACKAGE, {"ModelPackageName": ARN})
    stub.add_client_error("describe_endpoint", expected_params={"EndpointName": ENDPOINT}, **NOT_FOUND)
    expect_creates(stub)
    stub.add_response(
        "create_endpoint",
        {"EndpointArn": endpoint("")["EndpointArn"]},
        {"EndpointName": ENDPOINT, "EndpointConfigName": f"{GROUP}-v2", "Tags": ANY},
    )
    assert deployer.deploy_package(ARN).action == "created"


def test_busy_endpoint_is_retried_not_half_updated(stubbed):
    deployer, stub = stubbed
    stub.add_response("describe_model_package", PACKAGE, {"ModelPackageName": ARN})
    stub.add_response("describe_endpoint", endpoint(f"{GROUP}-v1", "Updating"), {"EndpointName": ENDPOINT})
    with pytest.raises(EndpointBusy, match="Updating"):
        deployer.deploy_package(ARN)  # nothing created: the stub would fail on any unexpected call


def test_failed_endpoint_is_replaced(stubbed):
    deployer, stub = stubbed
    stub.add_response("describe_model_package", PACKAGE, {"ModelPackageName": ARN})
    stub.add_response("describe_endpoint", endpoint(f"{GROUP}-v1", "Failed"), {"EndpointName": ENDPOINT})
    expect_creates(stub)
    stub.add_response("delete_endpoint", {}, {"EndpointName": ENDPOINT})
    stub.add_response(
        "create_endpoint",
        {"EndpointArn": endpoint("")["EndpointArn"]},
        {"EndpointName": ENDPOINT, "EndpointConfigName": f"{GROUP}-v2", "Tags": ANY},
    )
    assert deployer.deploy_package(ARN).action == "created"


def test_throttling_propagates_so_the_event_is_retried(stubbed):
    deployer, stub = stubbed
    stub.add_client_error("describe_model_package", service_error_code="ThrottlingException", service_message="slow")
    with pytest.raises(ClientError, match="ThrottlingException"):
        deployer.deploy_package(ARN)


def test_guardrail_timeout_covers_canary_and_termination_waits():
    cfg = d.deployment_config(PROVISIONED_SETTINGS, "adherence")
    assert cfg is not None
    policy = cfg["BlueGreenUpdatePolicy"]
    waits = policy["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"] + policy["TerminationWaitInSeconds"]
    assert 600 <= policy["MaximumExecutionTimeoutInSeconds"] <= 28800
    assert policy["MaximumExecutionTimeoutInSeconds"] > waits
