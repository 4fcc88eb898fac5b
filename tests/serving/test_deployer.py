"""The deployer on moto: the issue's cases, each asserting what exists in SageMaker afterwards."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from pipeline_code.deploy.deployer import Deployer
from pipeline_code.deploy.handler import dispatch
from tests.serving.helpers import (
    BUCKET,
    PREFIX,
    ROLE,
    Registry,
    event,
    package_arn,
)

GROUP = f"{PREFIX}-adherence"
ENDPOINT = f"{PREFIX}-adherence"


def endpoints(sm: Any) -> list[str]:
    return [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]


def nothing_created(sm: Any) -> bool:
    return not endpoints(sm) and not sm.list_models()["Models"] and not sm.list_endpoint_configs()["EndpointConfigs"]


def decisions(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "mlops.deploy"]


def live_config(sm: Any) -> str:
    return str(sm.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"])


def test_approved_package_creates_model_config_and_serverless_endpoint(registry: Registry, deployer: Deployer, sm):
    arn = registry.package(GROUP)
    outcome = deployer.handle_event(event(GROUP, 1))
    assert (outcome.action, outcome.version, outcome.package_arn) == ("created", 1, arn)
    model = sm.describe_model(ModelName=f"{GROUP}-v1")
    assert model["ExecutionRoleArn"] == ROLE
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://{BUCKET}/models/{GROUP}/1/model.tar.gz"
    config = sm.describe_endpoint_config(EndpointConfigName=f"{GROUP}-v1")
    (variant,) = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in variant
    assert endpoints(sm) == [ENDPOINT] and live_config(sm) == f"{GROUP}-v1"


def test_second_approved_package_updates_the_endpoint_to_the_new_version(registry: Registry, deployer: Deployer, sm):
    registry.package(GROUP)
    deployer.handle_event(event(GROUP, 1))
    registry.package(GROUP)
    outcome = deployer.handle_event(event(GROUP, 2))
    assert (outcome.action, outcome.version, outcome.extra["previous_version"]) == ("updated", 2, 1)
    assert live_config(sm) == f"{GROUP}-v2"
    assert endpoints(sm) == [ENDPOINT]
    # serverless (dev): no blue/green guardrails in the request
    assert sm.updates == [{"EndpointName": ENDPOINT, "EndpointConfigName": f"{GROUP}-v2"}]


@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_pending_or_rejected_package_does_nothing(registry: Registry, deployer: Deployer, sm, status: str, caplog):
    registry.package(GROUP, status)
    with caplog.at_level(logging.INFO, logger="mlops.deploy"):
        outcome = deployer.handle_event(event(GROUP, 1, status))
    assert outcome.action == "skipped" and status in outcome.reason
    assert nothing_created(sm)
    assert decisions(caplog)[-1]["action"] == "skipped"


def test_event_says_approved_but_the_registry_does_not(registry: Registry, deployer: Deployer, sm):
    registry.package(GROUP, "PendingManualApproval")
    outcome = deployer.handle_event(event(GROUP, 1))  # a forged or stale event
    assert outcome.action == "skipped" and "PendingManualApproval" in outcome.reason
    assert nothing_created(sm)


@pytest.mark.parametrize("group", ["mlops-prod-adherence", "mlops-dev-churn", "someone-elses-group"])
def test_another_group_does_nothing(registry: Registry, deployer: Deployer, sm, group: str):
    registry.group(group)
    registry.package(group)
    outcome = deployer.handle_event(event(group, 1))
    assert outcome.action == "skipped" and "not one of this stage's groups" in outcome.reason
    assert nothing_created(sm)


def test_empty_registry_does_nothing_and_says_so(registry: Registry, deployer: Deployer, sm, caplog):
    with caplog.at_level(logging.INFO, logger="mlops.deploy"):
        latest = deployer.deploy_latest("adherence")
        rollback = deployer.rollback("adherence")
        unknown = deployer.handle_event(event(GROUP, 1))  # an event about a package the registry does not hold
    assert latest.action == "skipped" and "has no approved version" in latest.reason
    assert rollback.action == "skipped" and "no approved version" in rollback.reason
    assert unknown.action == "skipped" and "not in the registry" in unknown.reason
    assert nothing_created(sm)
    assert [line["action"] for line in decisions(caplog)] == ["skipped"] * 3


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "Approved",
        [],
        {},
        {"source": "aws.s3", "detail-type": "Object Created", "detail": {}},
        {"source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change"},
        {"source": "aws.sagemaker", "detail-type": "SageMaker Model Package State Change", "detail": {"x": 1}},
        {**event(GROUP, 1), "detail": {**event(GROUP, 1)["detail"], "ModelPackageArn": "arn:aws:s3:::nope"}},
        {**event(GROUP, 1), "detail": {**event(GROUP, 1)["detail"], "ModelPackageVersion": 7}},
        {**event(GROUP, 1), "detail": {**event(GROUP, 1)["detail"], "ModelPackageGroupName": "mlops-dev-intent"}},
    ],
)
def test_malformed_event_does_nothing_and_logs_an_error(registry: Registry, deployer: Deployer, sm, bad, caplog):
    registry.package(GROUP)
    with caplog.at_level(logging.INFO, logger="mlops.deploy"):
        outcome = deployer.handle_event(bad)
    assert outcome.action == "rejected" and outcome.reason.startswith("malformed event")
    assert nothing_created(sm)
    (record,) = [r for r in caplog.records if r.name == "mlops.deploy"]
    assert record.levelno == logging.ERROR
    assert json.loads(record.getMessage())["action"] == "rejected"


def test_duplicate_event_leaves_one_endpoint(registry: Registry, deployer: Deployer, sm):
    registry.package(GROUP)
    first = deployer.handle_event(event(GROUP, 1))
    second = deployer.handle_event(event(GROUP, 1))
    assert (first.action, second.action) == ("created", "unchanged")
    assert endpoints(sm) == [ENDPOINT]
    assert len(sm.list_models()["Models"]) == 1 and len(sm.list_endpoint_configs()["EndpointConfigs"]) == 1
    assert sm.updates == []


def test_retry_after_a_partial_run_finishes_the_job(registry: Registry, deployer: Deployer, sm):
    """A run that died after CreateModel: the retry reuses the model and creates the rest."""
    registry.package(GROUP)
    sm.create_model(
        ModelName=f"{GROUP}-v1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x", "ModelDataUrl": "s3://b/k"}
    )
    assert deployer.handle_event(event(GROUP, 1)).action == "created"
    assert len(sm.list_models()["Models"]) == 1 and live_config(sm) == f"{GROUP}-v1"


def test_missing_model_artefact_does_nothing(registry: Registry, deployer: Deployer, sm, caplog):
    registry.package(GROUP, artefact=False)
    with caplog.at_level(logging.INFO, logger="mlops.deploy"):
        outcome = deployer.handle_event(event(GROUP, 1))
    assert outcome.action == "skipped" and "model artefact" in outcome.reason and "missing" in outcome.reason
    assert nothing_created(sm)
    assert caplog.records[-1].levelno == logging.ERROR


def test_a_model_folder_is_not_deployed_to_an_endpoint(registry: Registry, deployer: Deployer, sm, caplog):
    """A package whose model is a folder (the intent model: served on devices) cannot be loaded by an inference
    container; the deployer says so instead of creating a model that fails."""
    registry.package(GROUP, file="")
    with caplog.at_level(logging.INFO, logger="mlops.deploy"):
        outcome = deployer.handle_event(event(GROUP, 1))
    assert outcome.action == "skipped" and "is not a model.tar.gz" in outcome.reason
    assert nothing_created(sm)


def test_missing_artefact_on_update_keeps_the_live_version(registry: Registry, deployer: Deployer, sm):
    registry.package(GROUP)
    deployer.handle_event(event(GROUP, 1))
    registry.package(GROUP, artefact=False)
    assert deployer.handle_event(event(GROUP, 2)).action == "skipped"
    assert live_config(sm) == f"{GROUP}-v1" and len(sm.list_models()["Models"]) == 1


def test_approving_an_older_version_does_not_replace_a_newer_live_one(registry: Registry, deployer: Deployer, sm):
    first = registry.package(GROUP, "PendingManualApproval")
    registry.package(GROUP)
    deployer.handle_event(event(GROUP, 2))
    registry.approve(first)
    outcome = deployer.handle_event(event(GROUP, 1))
    assert outcome.action == "skipped" and "roll back instead" in outcome.reason
    assert live_config(sm) == f"{GROUP}-v2"


def test_rollback_puts_the_previous_approved_version_live(registry: Registry, deployer: Deployer, sm):
    for _ in range(3):
        registry.package(GROUP)
    registry.sm.update_model_package(ModelPackageArn=package_arn(GROUP, 2), ModelApprovalStatus="Rejected")
    deployer.handle_event(event(GROUP, 1))
    deployer.handle_event(event(GROUP, 3))
    outcome = deployer.rollback("adherence")
    assert (outcome.action, outcome.version) == ("updated", 1)  # version 2 was rejected: skipped over
    assert live_config(sm) == f"{GROUP}-v1"
    assert len(sm.list_models()["Models"]) == 2  # the old model was reused, nothing retrained or rebuilt


def test_rollback_to_a_named_version_and_its_refusals(registry: Registry, deployer: Deployer, sm):
    for _ in range(3):
        registry.package(GROUP)
    deployer.handle_event(event(GROUP, 3))
    assert deployer.rollback("adherence", to_version=1).version == 1 and live_config(sm) == f"{GROUP}-v1"
    assert deployer.rollback("adherence", to_version=1).action == "skipped"  # already live
    assert "not an approved version" in deployer.rollback("adherence", to_version=9).reason
    assert "no approved version before" in deployer.rollback("adherence").reason
    assert deployer.rollback("churn").action == "rejected"
    assert live_config(sm) == f"{GROUP}-v1"


def test_status_lists_endpoint_live_version_traffic_and_deployments(registry: Registry, deployer: Deployer):
    assert deployer.status("adherence")["status"] == "absent"
    for version in (1, 2):
        registry.package(GROUP)
        deployer.handle_event(event(GROUP, version))
    status = deployer.status("adherence")
    assert status["endpoint"] == ENDPOINT and status["live_version"] == 2
    assert status["approved_versions"] == [1, 2]
    assert {d["version"] for d in status["last_deployments"]} == {1, 2}
    assert status["traffic"][0]["variant"] == "AllTraffic"


def test_direct_invocations_route_to_rollback_and_latest(registry: Registry, deployer: Deployer, sm):
    registry.package(GROUP)
    registry.package(GROUP)
    assert dispatch(deployer, {"action": "deploy-latest", "model": "adherence"}).version == 2
    assert dispatch(deployer, {"action": "rollback", "model": "adherence"}).version == 1
    assert dispatch(deployer, {"action": "rollback", "model": "adherence", "to_version": 2}).version == 2
    for bad in (
        {"action": "explode", "model": "adherence"},
        {"action": "rollback"},
        {"action": "rollback", "model": "adherence", "to_version": "2"},
        {"action": "deploy-latest", "model": "churn"},
    ):
        assert dispatch(deployer, bad).action == "rejected"
    assert live_config(sm) == f"{GROUP}-v2"
