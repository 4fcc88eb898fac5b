"""Audit trail: one JSON line per change, secrets redacted, to a local file and a CloudWatch Logs group."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_sdk.audit import REDACTED, AuditTrail, redact
from mlops_sdk.session import Session

FIXED = datetime(2026, 12, 2, 17, 0, 0, 123000, tzinfo=UTC)


def trail(tmp_path: Path, **kwargs) -> AuditTrail:
    return AuditTrail(
        tmp_path / "audit" / "dev.jsonl",
        stage="dev",
        caller=lambda: "arn:aws:sts::1:assumed-role/x/alice",
        clock=lambda: FIXED,
        **kwargs,
    )


def test_a_line_has_time_caller_operation_parameters_and_result(tmp_path: Path):
    audit = trail(tmp_path)
    audit.record("sagemaker:StartPipelineExecution", {"PipelineName": "p"}, result_arn="arn:x")
    audit.record("sagemaker:CreateTrainingJob", {"TrainingJobName": "t"}, error=RuntimeError("quota"))
    first, second = (json.loads(line) for line in audit.path.read_text().splitlines())
    assert first == {
        "time": "2026-12-02T17:00:00.123Z",
        "caller": "arn:aws:sts::1:assumed-role/x/alice",
        "stage": "dev",
        "operation": "sagemaker:StartPipelineExecution",
        "parameters": {"PipelineName": "p"},
        "result_arn": "arn:x",
        "outcome": "ok",
    }
    assert second["outcome"] == "error"
    assert second["error"] == {"type": "RuntimeError", "message": "quota"}
    assert stat.S_IMODE(audit.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(audit.path.parent.stat().st_mode) == 0o700


def test_redaction_by_name_at_any_depth_and_by_value():
    params = {
        "Environment": {"DB_PASSWORD": "p", "api-key": "k", "LOG_LEVEL": "info"},
        "HyperParameters": {"learning_rate": "0.1"},
        "Tags": [{"Key": "owner", "Value": "AKIAABCDEFGHIJKLMNOP"}],
        "Headers": {"Authorization": "Bearer abc"},
        "KmsKeyId": "arn:aws:kms:us-east-1:1:key/k",  # a key *ID* is not a secret
        "Body": b"\x00" * 10,
    }
    assert redact(params) == {
        "Environment": {"DB_PASSWORD": REDACTED, "api-key": REDACTED, "LOG_LEVEL": "info"},
        "HyperParameters": {"learning_rate": "0.1"},
        "Tags": [{"Key": "owner", "Value": REDACTED}],
        "Headers": {"Authorization": REDACTED},
        "KmsKeyId": "arn:aws:kms:us-east-1:1:key/k",
        "Body": "<10 bytes>",
    }


SECRET_NAMES = st.sampled_from(["password", "DB_PASSWORD", "ClientSecret", "x-auth-token", "aws_secret_access_key",
                                "SessionToken", "apiKey", "private_key", "Credentials"])  # fmt: skip


@given(
    name=SECRET_NAMES,
    secret=st.text(min_size=1, max_size=30),
    path=st.lists(st.sampled_from(["Environment", "Config", "Headers", "items"]), max_size=3),
)
def test_a_secret_under_a_secret_name_never_reaches_the_line_at_any_depth(name, secret, path):
    nested: object = {name: secret}
    for key in reversed(path):
        nested = {key: [nested]} if key == "items" else {key: nested}
    line = redact({"params": nested})
    node = line["params"]
    for key in path:
        node = node[key][0] if key == "items" else node[key]
    assert node[name] == REDACTED
    assert _leaves(line) == [REDACTED]  # the secret is nowhere in the line


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def test_lines_go_to_cloudwatch_logs_when_configured(tmp_path: Path, boto_session):
    logs = boto_session.client("logs")  # the group exists, as the DataFoundation stack creates it
    audit = trail(tmp_path, logs_client=logs, log_group="/mlops/dev/sdk-audit")
    audit.record("sagemaker:CreateFeatureGroup", {"FeatureGroupName": "g"}, result_arn="arn:g")
    audit.record("sagemaker:CreateFeatureGroup", {"FeatureGroupName": "h"}, result_arn="arn:h")
    (stream,) = logs.describe_log_streams(logGroupName="/mlops/dev/sdk-audit")["logStreams"]
    assert stream["logStreamName"] == "dev/2026/12/02/assumed-role/x/alice"
    events = logs.get_log_events(logGroupName="/mlops/dev/sdk-audit", logStreamName=stream["logStreamName"])["events"]
    assert [json.loads(e["message"])["result_arn"] for e in events] == ["arn:g", "arn:h"]


def test_a_cloudwatch_failure_is_recorded_locally_and_warned(tmp_path: Path, boto_session):
    audit = trail(tmp_path, logs_client=boto_session.client("logs"), log_group="/mlops/dev/missing")
    with pytest.warns(RuntimeWarning, match="audit line not delivered to CloudWatch Logs group /mlops/dev/missing"):
        audit.record("sagemaker:CreateFeatureGroup", {"FeatureGroupName": "g"}, result_arn="arn:g")
    kept, failure = (json.loads(line) for line in audit.path.read_text().splitlines())
    assert kept["result_arn"] == "arn:g"
    assert failure["operation"] == "audit:DeliveryFailed"
    assert failure["parameters"]["of"] == "sagemaker:CreateFeatureGroup"


def test_the_session_sends_audit_lines_to_the_configured_group(config_path, boto_session, tmp_path, adherence_pipeline):
    session = Session(  # the exported config names the stage's audit group (AuditLogGroupName output)
        stage="dev",
        config_path=config_path,
        environ={},
        boto_session=boto_session,
        audit_path=tmp_path / "a.jsonl",
    )
    run = session.start_pipeline("adherence", {"InputDataUri": "s3://b/k"})
    logs = boto_session.client("logs")
    (stream,) = logs.describe_log_streams(logGroupName="/mlops/dev/sdk-audit")["logStreams"]
    (event,) = logs.get_log_events(logGroupName="/mlops/dev/sdk-audit", logStreamName=stream["logStreamName"])["events"]
    assert json.loads(event["message"])["result_arn"] == run.arn
