"""Shared by the SageMaker renderer tests: a target with token-like strings, the plans to render."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from pipeline_code.dag.sagemaker import InputFile, JobResources, SageMakerTarget

# Strings shaped like CDK tokens: the renderer must carry them through untouched.
TOKEN = "${Token[TOKEN.%d]}"
TARGET = SageMakerTarget(
    pipeline_name="mlops-dev-adherence",
    role_arn=TOKEN % 1,
    artifacts_bucket=TOKEN % 2,
    artifacts_prefix="pipelines/adherence",
    kms_key_arn=TOKEN % 3,
    image_uri=TOKEN % 4,
    code_uri="s3://" + TOKEN % 5 + "/" + TOKEN % 6,
    input_data_uri="s3://" + TOKEN % 7 + "/adherence/",
    model_package_group="mlops-dev-adherence",
    experiment_name="mlops-dev-adherence",
    region="us-east-1",
)
# The intent pipeline's target as the MlPlatform stack builds it: its own image, a GPU training type, and the raw
# data split into train / valid / test CSV parameters.
INTENT_IMAGE = TOKEN % 40
INTENT_FILES = tuple(
    InputFile(split, f"{split.capitalize()}CsvUri", f"s3://{TOKEN % 7}/intent/{split}.csv")
    for split in ("train", "valid", "test")
)
INTENT_TARGET = dataclasses.replace(
    TARGET,
    pipeline_name="mlops-dev-intent",
    image_uri=INTENT_IMAGE,
    model_package_group="mlops-dev-intent",
    experiment_name="mlops-dev-intent",
    training=JobResources("ml.g5.xlarge"),
    input_files={"raw_data": INTENT_FILES},
)


def gets(value: Any) -> Iterator[str]:
    """Every ``Get`` path anywhere inside ``value``."""
    if isinstance(value, dict):
        if set(value) == {"Get"}:
            yield value["Get"]
        for item in value.values():
            yield from gets(item)
    elif isinstance(value, list):
        for item in value:
            yield from gets(item)


def json_gets(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "Std:JsonGet" in value:
            yield value["Std:JsonGet"]
        for item in value.values():
            yield from json_gets(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_gets(item)


STEP_REF = re.compile(r"^Steps\.(?P<step>[A-Za-z0-9_-]+)\.(?P<path>.+)$")


def join_with(value: Any, substitutes: dict[str, str]) -> str:
    """Evaluate a string or ``Std:Join`` the way SageMaker does, with ``Get`` paths replaced from ``substitutes``."""
    if isinstance(value, str):
        return value
    if "Get" in value:
        return substitutes[value["Get"]]
    join = value["Std:Join"]
    return join["On"].join(join_with(v, substitutes) for v in join["Values"])


# The SDK parses S3 URIs, so it cannot take CDK tokens ("s3://${Token[...]}" reads as an IPv6 host): the parity test
# renders both sides with plain values of the same shape.
PLAIN_TARGET = SageMakerTarget(
    pipeline_name="mlops-dev-adherence",
    role_arn="arn:aws:iam::111122223333:role/mlops/dev/SageMakerExecutionRole",
    artifacts_bucket="mlops-dev-artifacts-111122223333-us-east-1",
    artifacts_prefix="pipelines/mlops-dev-adherence",
    kms_key_arn="arn:aws:kms:us-east-1:111122223333:key/00000000-1111-2222-3333-444444444444",
    image_uri="111122223333.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets:0123abcd",
    code_uri="s3://cdk-hnb659fds-assets-111122223333-us-east-1/0123abcd.zip",
    input_data_uri="s3://mlops-dev-raw-111122223333-us-east-1/adherence/",
    model_package_group="mlops-dev-adherence",
    experiment_name="mlops-dev-adherence",
    region="us-east-1",
)
# The intent pipeline with plain values, as the SDK parity test renders it: own image, CSV parameters, GPU training.
PLAIN_INTENT_TARGET = dataclasses.replace(
    PLAIN_TARGET,
    pipeline_name="mlops-dev-intent",
    artifacts_prefix="pipelines/mlops-dev-intent",
    image_uri="111122223333.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets:4567ef01",
    input_data_uri="s3://mlops-dev-raw-111122223333-us-east-1/intent/",
    model_package_group="mlops-dev-intent",
    experiment_name="mlops-dev-intent",
    training=JobResources("ml.g5.xlarge"),
    input_files={
        "raw_data": tuple(
            InputFile(
                split, f"{split.capitalize()}CsvUri", f"s3://mlops-dev-raw-111122223333-us-east-1/intent/{split}.csv"
            )
            for split in ("train", "valid", "test")
        )
    },
)
