"""The deployer's pure rules and settings: names, events, rollback targets, the Lambda's environment."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline_code.deploy import batch, handler
from pipeline_code.deploy import decisions as d
from pipeline_code.deploy.settings import SettingsError, settings_from_env, settings_to_env
from stacks.settings import ConfigError, parse_stage_settings
from tests.serving.helpers import PREFIX, SERVERLESS_SETTINGS, Registry, event

GROUP = f"{PREFIX}-adherence"


@given(group=st.from_regex(r"[a-z][a-z0-9-]{0,40}[a-z0-9]", fullmatch=True), version=st.integers(1, 10**9))
def test_version_names_round_trip(group: str, version: int):
    assert d.version_of(group, d.version_name(group, version)) == version


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
        max_leaves=12,
    )
)
def test_parse_event_accepts_or_names_the_problem(value):
    """Whatever arrives, the parser returns a package or raises MalformedEvent: never another exception."""
    try:
        d.parse_event(value)
    except d.MalformedEvent as exc:
        assert str(exc)


@given(approved=st.sets(st.integers(1, 50), min_size=1), live=st.integers(1, 50))
def test_rollback_target_is_the_newest_approved_version_below_live(approved: set[int], live: int):
    earlier = [v for v in approved if v < live]
    if earlier:
        assert d.rollback_target(approved, live, None) == max(earlier)
    else:
        with pytest.raises(d.NoTarget):
            d.rollback_target(approved, live, None)


def test_too_long_names_are_refused():
    with pytest.raises(ValueError, match="63"):
        d.version_name("g" * 60, 123)


def test_settings_round_trip_through_the_environment():
    assert settings_from_env(settings_to_env(SERVERLESS_SETTINGS)) == SERVERLESS_SETTINGS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"STAGE_PREFIX": ""}, "missing deployer environment variable(s): STAGE_PREFIX"),
        ({"SERVERLESS_MEMORY_MB": "lots"}, "SERVERLESS_MEMORY_MB='lots': expected an integer"),
        ({"SERVERLESS_MEMORY_MB": "1500"}, "serverless_memory_mb 1500"),
        ({"DEPLOY_MODE": "fast"}, "mode 'fast'"),
        ({"CANARY_PERCENT": "90"}, "canary_percent 90"),
        ({"MODEL_GROUPS": "Adherence"}, "groups"),
        ({"CAPTURE_S3_URI": "/tmp/x"}, "capture_s3_uri"),
    ],
)
def test_bad_settings_name_the_variable(change: dict[str, str], message: str):
    with pytest.raises(SettingsError) as err:
        settings_from_env({**settings_to_env(SERVERLESS_SETTINGS), **change})
    assert message in str(err.value)


def test_lambda_handler_reads_its_environment_and_logs_json(registry: Registry, monkeypatch, caplog):
    for name, value in settings_to_env(replace(SERVERLESS_SETTINGS)).items():
        monkeypatch.setenv(name, value)
    registry.package(GROUP)
    with caplog.at_level(logging.INFO, logger="mlops.deploy"):
        result = handler.handler(event(GROUP, 1), None)
        again = handler.handler(event(GROUP, 1), None)
        junk = handler.handler({"hello": "world"}, None)
    assert (result["action"], again["action"], junk["action"]) == ("created", "unchanged", "rejected")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mlops.deploy"]
    assert lines[0] == {
        "component": "deployer",
        "action": "created",
        "reason": "approved: first deployment",
        "package_arn": result["package_arn"],
        "endpoint": GROUP,
        "version": 1,
    }
    assert [e["EndpointName"] for e in boto3.client("sagemaker").list_endpoints()["Endpoints"]] == [GROUP]


@pytest.mark.parametrize(
    ("serving", "message"),
    [
        ({"mode": "provisioned", "endpoint_alarms": False}, "endpoint_alarms must stay true"),
        ({"serverless_memory_mb": 1500}, "serving.serverless_memory_mb"),
        ({"canary_percent": 80}, "serving.canary_percent"),
        ({"mode": "realtime"}, "serving.mode"),
        ({"instance_type": "m5.large"}, "serving.instance_type"),
        ({"canary": 10}, "serving.canary"),
    ],
)
def test_bad_serving_config_names_the_field(serving: dict, message: str):
    raw = {"stage": "dev", "owner": "me", "region": "us-east-1", "budget": {"limit_usd": 5}, "serving": serving}
    with pytest.raises(ConfigError) as err:
        parse_stage_settings(raw, source="config/dev.yaml")
    assert "config/dev.yaml" in str(err.value) and message in str(err.value)


def test_transform_job_request_refuses_bad_prefixes_names_and_instances():
    ref = d.parse_package_arn("arn:aws:sagemaker:us-east-1:123456789012:model-package/mlops-dev-adherence/3")
    ok = {"input_uri": "s3://in-bucket/a/", "output_uri": "s3://in-bucket/b/", "suffix": "20260101-000000"}
    request = batch.transform_job_request(SERVERLESS_SETTINGS, ref, **ok)
    assert request["TransformJobName"] == "mlops-dev-adherence-v3-20260101-000000"
    # a file is one request to the serving container (header kept, history features over the whole file)
    assert request["TransformInput"]["SplitType"] == "None" and request["BatchStrategy"] == "SingleRecord"
    assert request["MaxPayloadInMB"] == batch.MAX_PAYLOAD_MB == 100
    assert request["TransformOutput"]["Accept"] == "application/json"  # what the container answers
    assert "DataProcessing" not in request  # the answer is one JSON document per file, not a row per line
    for change, message in (
        ({"input_uri": "/local/file.csv"}, "not an s3://bucket/prefix"),
        ({"output_uri": "s3://in-bucket/a"}, "must differ"),
        ({"suffix": "has spaces"}, "job suffix"),
        ({"instance_type": "m5.large"}, "ml.<family>.<size>"),
    ):
        with pytest.raises(ValueError, match=message):
            batch.transform_job_request(SERVERLESS_SETTINGS, ref, **{**ok, **change})
