"""Shared values of the SDK tests: a dev stage's deploy outputs as ``cdk deploy --outputs-file`` writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"
PREFIX = "mlops-dev"
KEY_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
ROLE_PATH = "mlops/dev"
AUDIT_LOG_GROUP = "/mlops/dev/sdk-audit"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_PATH}/Dev-Identity-SageMakerExecutionRole6A1B2C3D-Q1W2E3R4"


def bucket(part: str) -> str:
    return f"{PREFIX}-{part}-{ACCOUNT}-{REGION}"


def dev_outputs(*, key_arn: str = KEY_ARN) -> dict[str, dict[str, str]]:
    """The outputs file of ``cdk deploy -c stages=dev 'Dev/*' --outputs-file``: our outputs, and CDK's own
    cross-stack exports, which the export must ignore. tests/sdk/test_outputs_contract.py checks that the keys here
    are exactly the contract outputs the synthesized dev stage publishes, so this fixture cannot drift."""
    return {
        "Dev-Guardrails": {
            "ExportsOutputRefPermissionsBoundary0D1A2B3C": f"arn:aws:iam::{ACCOUNT}:policy/{ROLE_PATH}/boundary"
        },
        "Dev-DataReplica": {},
        "Dev-DataFoundation": {
            "StageResourcePrefix": PREFIX,
            "StageRegion": REGION,
            "PlatformKeyArn": key_arn,
            "RawDataBucketName": bucket("raw"),
            "ProcessedFeaturesBucketName": bucket("features"),
            "ModelArtifactsBucketName": bucket("models"),
            "EdgeDeploymentsBucketName": bucket("edge"),
            "PipelineArtifactsBucketName": bucket("artifacts"),
            "AuditLogGroupName": AUDIT_LOG_GROUP,
            "ExportsOutputFnGetAttPlatformKey1C4A1A63Arn5E1B2C3D": key_arn,
        },
        "Dev-Identity": {
            "SageMakerExecutionRoleArn": EXECUTION_ROLE,
            "DataScientistRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{ROLE_PATH}/Dev-Identity-DataScientistRole-A1",
            "MlEngineerRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{ROLE_PATH}/Dev-Identity-MlEngineerRole-B2",
        },
        "Dev-MlPlatform": {
            "AdherencePipelineName": f"{PREFIX}-adherence",
            "IntentPipelineName": f"{PREFIX}-intent",
            "AdherenceFeatureGroupName": f"{PREFIX}-adherence-features",
        },
        "Dev-Budgets": {},
    }


def write_outputs(path: Path, outputs: dict[str, Any] | None = None) -> Path:
    path.write_text(json.dumps(outputs if outputs is not None else dev_outputs(), indent=2), encoding="utf-8")
    return path
