"""A moto registry with the stage's groups, packages whose artefacts exist (or not), and events about them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from moto.sagemaker.models import sagemaker_backends

from pipeline_code.deploy.settings import PROVISIONED, DeployerSettings

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = "mlops-dev"
BUCKET = "mlops-dev-model-artifacts-123456789012-us-east-1"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/adherence:1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlops/dev/SageMakerExecutionRole"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"

SERVERLESS_SETTINGS = DeployerSettings(
    prefix=PREFIX,
    groups=("adherence", "intent"),
    execution_role_arn=ROLE,
    kms_key_arn=KEY,
    capture_s3_uri=f"s3://{BUCKET}/data-capture",
)
PROVISIONED_SETTINGS = replace(
    SERVERLESS_SETTINGS, prefix="mlops-prod", mode=PROVISIONED, instance_type="ml.m5.xlarge", instance_count=2
)


def package_arn(group: str, version: int) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{version}"


def event(group: str, version: int, status: str = "Approved") -> dict[str, Any]:
    return {
        "version": "0",
        "source": "aws.sagemaker",
        "detail-type": "SageMaker Model Package State Change",
        "account": ACCOUNT,
        "region": REGION,
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": version,
            "ModelPackageArn": package_arn(group, version),
            "ModelApprovalStatus": status,
        },
    }


@dataclass
class Registry:
    """The moto registry and artefact bucket the deployer sees."""

    sm: Any
    s3: Any

    def group(self, name: str) -> None:
        self.sm.create_model_package_group(ModelPackageGroupName=name)

    def package(
        self, group: str, status: str = "Approved", *, artefact: bool = True, file: str = "model.tar.gz"
    ) -> str:
        """Register the next version of ``group`` (its model.tar.gz uploaded unless ``artefact`` is False)."""
        existing = self.sm.list_model_packages(ModelPackageGroupName=group)["ModelPackageSummaryList"]
        key = f"models/{group}/{len(existing) + 1}/{file}".rstrip("/")
        if artefact:
            self.s3.put_object(Bucket=BUCKET, Key=key, Body=b"model")
        arn = self.sm.create_model_package(
            ModelPackageGroupName=group,
            ModelApprovalStatus=status,
            InferenceSpecification={
                "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{key}"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )["ModelPackageArn"]
        return str(arn)

    def approve(self, arn: str) -> None:
        self.sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")


class MotoWithUpdateEndpoint:
    """The moto SageMaker client plus the one call moto 5 lacks, ``UpdateEndpoint``, applied to moto's state the
    way SageMaker ends an update (the endpoint serves the new config); every request it got is kept in
    ``updates`` so tests assert the deployment guardrails sent."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.updates: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def update_endpoint(self, **request: Any) -> dict[str, Any]:
        self.updates.append(request)
        backend = sagemaker_backends[ACCOUNT][REGION]
        endpoint = backend.endpoints[request["EndpointName"]]
        config = backend.endpoint_configs[request["EndpointConfigName"]]
        endpoint.endpoint_config_name = config.endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(config.production_variants)
        return {"EndpointArn": endpoint.arn}
