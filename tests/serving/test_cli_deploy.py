"""``mlops deploy rollback|status|batch`` on moto: the deployed function's settings, the caller's credentials."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner, Result

from pipeline_code.cli import create_app
from pipeline_code.cli import deploy as deploy_cli
from pipeline_code.deploy.deployer import Deployer
from pipeline_code.deploy.settings import settings_to_env
from tests.serving.helpers import PREFIX, REGION, SERVERLESS_SETTINGS, MotoWithUpdateEndpoint, Registry, event

GROUP = f"{PREFIX}-adherence"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture
def deployed(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> list[MotoWithUpdateEndpoint]:
    """The dev stage's deployer function (its environment = the deployer settings) in moto."""
    role = boto3.client("iam").create_role(
        RoleName="deployer", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=f"{PREFIX}-model-deployer",
        Runtime="python3.12",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": settings_to_env(SERVERLESS_SETTINGS)},
    )
    made: list[MotoWithUpdateEndpoint] = []
    original = deploy_cli.build_deployer

    def with_update_endpoint(prefix: str, region: str | None) -> Deployer:
        deployer = original(prefix, region)
        deployer.sm = MotoWithUpdateEndpoint(deployer.sm)  # moto 5 has no UpdateEndpoint
        made.append(deployer.sm)
        return deployer

    monkeypatch.setattr(deploy_cli, "build_deployer", with_update_endpoint)
    return made


def mlops(*args: str) -> Result:
    app = create_app(project_root=Path.cwd())
    return CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1"}).invoke(app, ["deploy", *args])


def live(registry: Registry) -> str:
    return str(registry.sm.describe_endpoint(EndpointName=GROUP)["EndpointConfigName"])


def test_rollback_puts_the_previous_version_live_and_status_shows_it(registry: Registry, deployed):
    deployer = Deployer(SERVERLESS_SETTINGS, sagemaker=MotoWithUpdateEndpoint(registry.sm), s3=registry.s3)
    for version in (1, 2):
        registry.package(GROUP)
        deployer.handle_event(event(GROUP, version))
    result = mlops("rollback", "--stage", "dev", "--model", "adherence")
    assert result.exit_code == 0, result.output
    assert "updated version 1" in result.output and live(registry) == f"{GROUP}-v1"

    status = mlops("status", "--stage", "dev", "--model", "adherence", "--json")
    assert status.exit_code == 0, status.output
    (found,) = json.loads(status.output)
    assert (found["live_version"], found["approved_versions"], found["status"]) == (1, [1, 2], "InService")

    forward = mlops("rollback", "--stage", "dev", "--model", "adherence", "--to-version", "2", "--json")
    assert forward.exit_code == 0 and json.loads(forward.output)["version"] == 2
    assert live(registry) == f"{GROUP}-v2"


def test_status_table_lists_every_model(registry: Registry, deployed):
    result = mlops("status", "--stage", "dev")
    assert result.exit_code == 0, result.output
    assert "mlops-dev-adherence" in result.output and "mlops-dev-intent" in result.output
    assert "absent" in result.output


def test_rollback_with_nothing_to_roll_back_to_fails_with_1(registry: Registry, deployed):
    result = mlops("rollback", "--stage", "dev", "--model", "adherence")
    assert result.exit_code == 1 and "no approved version" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rollback", "--stage", "qa", "--model", "adherence"), "unknown stage"),
        (("rollback", "--stage", "dev", "--model", "churn"), "unknown model"),
        (("rollback", "--stage", "sandbox", "--model", "adherence"), "--owner"),
        (("status", "--stage", "dev", "--model", "churn"), "unknown model"),
        (("rollback", "--stage", "dev", "--model", "adherence", "--to-version", "0"), "--to-version"),
    ],
)
def test_bad_input_exits_2(registry: Registry, deployed, args: tuple[str, ...], message: str):
    result = mlops(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_stage_without_a_deployer_fails_with_1_and_says_so(registry: Registry):
    result = mlops("status", "--stage", "staging")
    assert result.exit_code == 1 and "mlops-staging-model-deployer" in result.output
    assert "Serving stack deployed" in result.output


def test_batch_scores_with_an_approved_version_and_the_stage_key(registry: Registry, deployed):
    registry.package(GROUP)
    registry.package(GROUP, "PendingManualApproval")
    args = ("--input", "s3://in-bucket/scoring/", "--output", "s3://out-bucket/predictions/")
    refused = mlops("batch", "--stage", "dev", "--model", "adherence", "--version", "2", *args)
    assert refused.exit_code == 1 and "not approved" in refused.output
    result = mlops("batch", "--stage", "dev", "--model", "adherence", "--version", "1", *args, "--json")
    assert result.exit_code == 0, result.output
    job_name = json.loads(result.output)["transform_job"]
    job: dict[str, Any] = registry.sm.describe_transform_job(TransformJobName=job_name)
    assert job["ModelName"] == f"{GROUP}-v1"
    assert job["TransformOutput"]["KmsKeyId"] == SERVERLESS_SETTINGS.kms_key_arn
    assert job["TransformResources"]["VolumeKmsKeyId"] == SERVERLESS_SETTINGS.kms_key_arn
    same = mlops(
        "batch",
        "--stage",
        "dev",
        "--model",
        "adherence",
        "--version",
        "1",
        "--input",
        "s3://in-bucket/x",
        "--output",
        "s3://in-bucket/x/",
    )
    assert same.exit_code == 2 and "must differ" in same.output


def test_a_sagemaker_projects_endpoint_rolls_back_and_shows_its_status(registry: Registry, deployed):
    from pipeline_code.deploy.handler import PROJECT, dispatch

    group = f"{PREFIX}-churn"  # the group and endpoint of a tabular project named churn (stacks/projects.py)
    deployer = Deployer(SERVERLESS_SETTINGS, sagemaker=MotoWithUpdateEndpoint(registry.sm), s3=registry.s3)
    registry.group(group)
    for version in (1, 2):
        registry.package(group)
        assert dispatch(deployer, {"target": PROJECT, "event": event(group, version)}).action in ("created", "updated")
    result = mlops("rollback", "--stage", "dev", "--sagemaker-project", "churn")
    assert result.exit_code == 0, result.output
    assert "updated version 1" in result.output
    assert registry.sm.describe_endpoint(EndpointName=group)["EndpointConfigName"] == f"{group}-v1"

    status = mlops("status", "--stage", "dev", "--sagemaker-project", "churn", "--json")
    assert status.exit_code == 0, status.output
    (found,) = json.loads(status.output)
    assert (found["endpoint"], found["live_version"], found["approved_versions"]) == (group, 1, [1, 2])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rollback", "--stage", "dev"), "either --model"),
        (("rollback", "--stage", "dev", "--model", "adherence", "--sagemaker-project", "churn"), "either --model"),
        (("rollback", "--stage", "dev", "--sagemaker-project", "adherence"), "no SageMaker project name"),
        (("status", "--stage", "dev", "--sagemaker-project", "1-churn"), "no SageMaker project name"),
    ],
)
def test_a_model_or_a_sagemaker_project_exactly_one_known_to_the_stage(
    registry: Registry, deployed, args: tuple[str, ...], message: str
):
    result = mlops(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
