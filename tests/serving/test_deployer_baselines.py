"""The deployer publishes the approved version's drift-check baselines where the monitoring schedules read them."""

from __future__ import annotations

import dataclasses
import json

from pipeline_code.deploy import decisions as d
from pipeline_code.deploy.deployer import Deployer
from stacks.monitoring import baseline_key
from tests.serving.helpers import BUCKET, IMAGE, PREFIX, SERVERLESS_SETTINGS, Registry, event

GROUP = f"{PREFIX}-adherence"
FILES = {
    "data_quality/statistics.json": ("ModelDataQuality", "Statistics"),
    "data_quality/constraints.json": ("ModelDataQuality", "Constraints"),
    "model_quality/statistics.json": ("ModelQuality", "Statistics"),
    "model_quality/constraints.json": ("ModelQuality", "Constraints"),
    "bias/analysis_config.json": ("Bias", "ConfigFile"),
}


def _package_with_baselines(registry: Registry, run: str) -> None:
    baselines: dict = {}
    for path, (group, item) in FILES.items():
        key = f"pipelines/{run}/AdherenceBaseline/baseline/{path}"
        registry.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps({"run": run, "file": path}).encode())
        baselines.setdefault(group, {})[item] = {"ContentType": "application/json", "S3Uri": f"s3://{BUCKET}/{key}"}
    model_key = f"models/{GROUP}/{run}/model.tar.gz"
    registry.s3.put_object(Bucket=BUCKET, Key=model_key, Body=b"model")
    registry.sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/{model_key}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
        DriftCheckBaselines=baselines,
    )


def test_baseline_copies_follow_the_monitoring_layout() -> None:
    package = {"DriftCheckBaselines": {"ModelDataQuality": {"Statistics": {"S3Uri": "s3://src/a/statistics.json"}}}}
    assert d.baseline_copies(package, "s3://bucket/monitoring", "adherence") == [
        ("s3://src/a/statistics.json", "bucket", "monitoring/adherence/baseline/data_quality/statistics.json")
    ]
    assert d.baseline_copies({}, "s3://bucket/monitoring", "adherence") == []
    # the Monitoring stack reads exactly these keys
    for path in FILES:
        assert baseline_key("adherence", *path.split("/")) == f"monitoring/adherence/baseline/{path}"


def test_each_approved_version_publishes_its_baselines_before_the_endpoint_changes(registry: Registry, sm) -> None:
    settings = dataclasses.replace(SERVERLESS_SETTINGS, monitoring_s3_uri=f"s3://{BUCKET}/monitoring")
    deployer = Deployer(settings, sagemaker=sm, s3=registry.s3)
    for version, run in ((1, "run-a"), (2, "run-b")):
        _package_with_baselines(registry, run)
        outcome = deployer.handle_event(event(GROUP, version))
        assert outcome.action in ("created", "updated"), outcome
        for path in FILES:
            body = registry.s3.get_object(Bucket=BUCKET, Key=f"monitoring/adherence/baseline/{path}")["Body"].read()
            assert json.loads(body) == {"run": run, "file": path}


def test_without_a_monitoring_location_nothing_is_copied(registry: Registry, deployer: Deployer) -> None:
    _package_with_baselines(registry, "run-a")
    assert deployer.handle_event(event(GROUP, 1)).action == "created"
    listed = registry.s3.list_objects_v2(Bucket=BUCKET, Prefix="monitoring/")
    assert listed.get("KeyCount", 0) == 0
