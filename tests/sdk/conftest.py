"""Fixtures of the SDK tests: moto in-process with dummy credentials, an exported dev config, a record of the
requests each AWS API received."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlops_sdk import admin
from tests.sdk.helpers import AUDIT_LOG_GROUP, EXECUTION_ROLE, PREFIX, REGION, write_outputs


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """Dummy credentials, the region, no user AWS config and no MLOPS_* variable of the caller's shell."""
    import os

    for name in list(os.environ):
        if name.startswith(("AWS_", "MLOPS_")):
            monkeypatch.delenv(name)
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return values


@pytest.fixture
def aws(clean_env: dict[str, str]) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def config_path(tmp_path: Path, clean_env: dict[str, str]) -> Path:
    """A plain dev config exported from the dev outputs file."""
    result = admin.export(
        stage="dev",
        outputs_file=write_outputs(tmp_path / "outputs.json"),
        out=tmp_path / "config" / "dev.yaml",
        environ={},
    )
    return result.config_path


class Requests:
    """Every request a boto3 client made, in order: (operation, parameters)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def hook(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, json.loads(json.dumps(params, default=_plain))))

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def last(self, operation: str) -> dict[str, Any]:
        found = self.of(operation)
        assert found, f"no {operation} request; requests: {[n for n, _ in self.calls]}"
        return found[-1]


@pytest.fixture
def requests() -> Requests:
    return Requests()


@pytest.fixture
def boto_session(aws: None, requests: Requests) -> boto3.session.Session:
    """A boto3 session whose clients report every request to ``requests`` (moto answers them)."""
    session = boto3.session.Session(region_name=REGION)
    session.client("logs").create_log_group(logGroupName=AUDIT_LOG_GROUP)  # as the DataFoundation stack creates it
    session.events.register("provide-client-params.*.*", requests.hook)
    return session


@pytest.fixture
def adherence_pipeline(boto_session: boto3.session.Session) -> str:
    """The adherence pipeline as the deployed platform would have created it (moto's CloudFormation skips
    SageMaker pipelines, so it is created directly)."""
    name = f"{PREFIX}-adherence"
    definition = {
        "Version": "2020-12-01",
        "Parameters": [
            {"Name": "InputDataUri", "Type": "String"},
            {"Name": "MinRocAuc", "Type": "Float", "DefaultValue": 0.65},
        ],
        "Steps": [],
    }
    boto_session.client("sagemaker").create_pipeline(
        PipelineName=name, RoleArn=EXECUTION_ROLE, PipelineDefinition=json.dumps(definition)
    )
    return name


def _plain(value: Any) -> Any:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
