"""Fixtures of the deployer tests: moto in-process with dummy credentials and the stage's two groups."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from pipeline_code.deploy.deployer import Deployer
from tests.serving.helpers import BUCKET, PREFIX, REGION, SERVERLESS_SETTINGS, MotoWithUpdateEndpoint, Registry


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@pytest.fixture
def registry(aws: None) -> Registry:
    """The stage's groups (empty) and its model-artefacts bucket."""
    reg = Registry(sm=boto3.client("sagemaker", region_name=REGION), s3=boto3.client("s3", region_name=REGION))
    reg.s3.create_bucket(Bucket=BUCKET)
    for model in ("adherence", "intent"):
        reg.group(f"{PREFIX}-{model}")
    return reg


@pytest.fixture
def sm(registry: Registry) -> MotoWithUpdateEndpoint:
    return MotoWithUpdateEndpoint(registry.sm)


@pytest.fixture
def deployer(registry: Registry, sm: MotoWithUpdateEndpoint) -> Deployer:
    return Deployer(SERVERLESS_SETTINGS, sagemaker=sm, s3=registry.s3)
