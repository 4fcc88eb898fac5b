"""Batch scoring: a SageMaker batch transform job over a dataset with an approved model version.

The job runs the same model (container and artefact) the endpoint serves, so its predictions are the endpoint's;
the container runs the pipeline's batch predictor, the code of ``mlops predict`` (see ``pipeline_code.dag.serve``).
Each input file goes to the container whole (``SplitType: None``): the CSV keeps its header, and features that look
at a patient's earlier encounters see the whole file, as locally. For each ``<file>`` the output prefix gets
``<file>.out``: one JSON document with the predictions (probability, confidence, risk factors, per-brand entries),
the rejected rows with their reasons, and the counts (rows in = predicted + rejected).
"""

from __future__ import annotations

import re
from typing import Any

from pipeline_code.deploy import decisions as d
from pipeline_code.deploy.settings import DeployerSettings

MAX_PAYLOAD_MB = 100  # the largest input file one request may carry (SageMaker's limit); split bigger files
S3_PREFIX = re.compile(r"^s3://[a-z0-9.-]{3,63}(/.*)?$")


def transform_job_name(group: str, version: int, suffix: str) -> str:
    """``<group>-v<version>-<suffix>``: the caller passes the suffix (a timestamp), so this stays pure."""
    if not re.fullmatch(r"[a-zA-Z0-9-]{1,20}", suffix):
        raise ValueError(f"job suffix {suffix!r}: 1-20 letters, digits or '-'")
    name = f"{group}-v{version}-{suffix}"
    if len(name) > d.MAX_NAME:
        raise ValueError(f"transform job name {name!r} is longer than {d.MAX_NAME} characters")
    return name


def transform_job_request(
    settings: DeployerSettings,
    ref: d.PackageRef,
    *,
    input_uri: str,
    output_uri: str,
    suffix: str,
    instance_type: str = "ml.m5.large",
    instance_count: int = 1,
    content_type: str = "text/csv",
    accept: str = "application/json",
) -> dict[str, Any]:
    """CreateTransformJob: input and output prefixes, the stage key on the output and the instances' volumes."""
    for name, uri in (("input", input_uri), ("output", output_uri)):
        if not S3_PREFIX.fullmatch(uri):
            raise ValueError(f"{name} {uri!r} is not an s3://bucket/prefix URI")
    if input_uri.rstrip("/") == output_uri.rstrip("/"):
        raise ValueError("input and output prefixes must differ: the output would be read as input next time")
    if not re.fullmatch(r"ml\.[a-z0-9]+\.[a-z0-9]+", instance_type) or not 1 <= instance_count <= 100:
        raise ValueError(f"instance {instance_type} x {instance_count}: ml.<family>.<size>, 1-100 instances")
    return {
        "TransformJobName": transform_job_name(ref.group, ref.version, suffix),
        "ModelName": d.version_name(ref.group, ref.version),
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": content_type,
            "SplitType": "None",  # a file is one request: header kept, history features over the whole file
        },
        "TransformOutput": {"S3OutputPath": output_uri, "Accept": accept, "KmsKeyId": settings.kms_key_arn},
        "TransformResources": {
            "InstanceType": instance_type,
            "InstanceCount": instance_count,
            "VolumeKmsKeyId": settings.kms_key_arn,
        },
        "BatchStrategy": "SingleRecord",
        "MaxPayloadInMB": MAX_PAYLOAD_MB,
        "MaxConcurrentTransforms": 1,  # the container scores one document at a time
        "Tags": d.tags(ref),
    }
