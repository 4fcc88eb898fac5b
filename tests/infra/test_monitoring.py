"""The Monitoring stack on the shared synth: schedules on the baselines the pipeline publishes, KMS and network
isolation on every job, alarms to the stage's topic, one dashboard built from the alarms' own metrics."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from stacks.monitoring import (
    CLARIFY_ACCOUNTS,
    MODEL_MONITOR_ACCOUNTS,
    baseline_key,
    clarify_image,
    model_monitor_image,
)
from stacks.settings import ConfigError, parse_stage_settings

ENABLED = ("staging", "prod")
JOBS = (
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::SageMaker::ModelBiasJobDefinition",
)
OUTPUT_CONFIG = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQualityJobOutputConfig",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQualityJobOutputConfig",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBiasJobOutputConfig",
}


def _resources(template, kind: str) -> dict[str, dict]:
    return template.find_resources(kind)


def _join_text(value) -> str:
    """An S3 URI as the template writes it (Fn::Join of the bucket reference and a literal key) with the tokens
    replaced by <ref>."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<ref>" for p in parts)


def test_monitoring_exists_only_where_config_enables_it(synthesized) -> None:
    for stage in ("dev", "sandbox"):
        assert synthesized.stages[stage].monitoring is None
        assert not [s for s in synthesized.stacks(stage) if s.node.id == "Monitoring"]
    for stage in ENABLED:
        assert synthesized.stages[stage].monitoring is not None


@pytest.mark.parametrize("stage", ENABLED)
def test_three_job_definitions_and_their_schedules(synthesized, stage: str) -> None:
    template = synthesized.template(stage, "monitoring")
    for kind in JOBS:
        template.resource_count_is(kind, 1)
    template.resource_count_is("AWS::SageMaker::MonitoringSchedule", 3)
    frequency = {"staging": "cron(0 0 ? * * *)", "prod": "cron(0 * ? * * *)"}[stage]
    endpoint = f"mlops-{stage}-adherence"
    for monitoring_type in ("DataQuality", "ModelQuality", "ModelBias"):
        template.has_resource_properties(
            "AWS::SageMaker::MonitoringSchedule",
            {
                "EndpointName": endpoint,
                "MonitoringScheduleConfig": {
                    "MonitoringType": monitoring_type,
                    "ScheduleConfig": {"ScheduleExpression": frequency},
                    "MonitoringJobDefinitionName": Match.string_like_regexp(f"^mlops-{stage}-adherence-"),
                },
            },
        )


@pytest.mark.parametrize("stage", ENABLED)
def test_every_job_is_isolated_and_encrypted_with_the_stage_key(synthesized, stage: str) -> None:
    template = synthesized.template(stage, "monitoring")
    for kind in JOBS:
        for lid, resource in _resources(template, kind).items():
            props = resource["Properties"]
            assert props["NetworkConfig"]["EnableNetworkIsolation"] is True, lid
            assert props["NetworkConfig"]["EnableInterContainerTrafficEncryption"] is True, lid
            key = props["JobResources"]["ClusterConfig"]["VolumeKmsKeyId"]
            assert "PlatformKey" in json.dumps(key), lid
            output = props[OUTPUT_CONFIG[kind]]
            assert output["KmsKeyId"] == key, lid
            (only,) = output["MonitoringOutputs"]
            assert _join_text(only["S3Output"]["S3Uri"]).startswith("s3://<ref>/monitoring/adherence/reports/")
            assert "RoleArn" in props and props["StoppingCondition"]["MaxRuntimeInSeconds"] <= 3600


def test_schedules_read_the_baselines_where_the_baseline_step_layout_puts_them(synthesized) -> None:
    template = synthesized.template("prod", "monitoring")
    (dq,) = _resources(template, JOBS[0]).values()
    config = dq["Properties"]["DataQualityBaselineConfig"]
    assert _join_text(config["StatisticsResource"]["S3Uri"]) == "s3://<ref>/" + baseline_key(
        "adherence", "data_quality", "statistics.json"
    )
    assert _join_text(config["ConstraintsResource"]["S3Uri"]).endswith(
        "monitoring/adherence/baseline/data_quality/constraints.json"
    )
    spec = dq["Properties"]["DataQualityAppSpecification"]
    assert spec["ImageUri"] == model_monitor_image("us-east-1")
    assert spec["RecordPreprocessorSourceUri"]["Fn::Sub"].endswith(".py")  # the asset of record_preprocessor.py
    policies = template.find_resources("AWS::IAM::ManagedPolicy")
    (policy,) = policies.values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "s3:GetObject" and statement["Resource"]["Fn::Join"][1][-1].endswith(".py")
    assert "SageMakerExecutionRole" in json.dumps(policy["Properties"]["Roles"])
    (mq,) = _resources(template, JOBS[1]).values()
    job_input = mq["Properties"]["ModelQualityJobInput"]
    assert _join_text(job_input["GroundTruthS3Input"]["S3Uri"]) == "s3://<ref>/monitoring/ground-truth/adherence"
    assert job_input["EndpointInput"]["ProbabilityAttribute"] == "predictions[0].probability"
    assert _join_text(mq["Properties"]["ModelQualityBaselineConfig"]["ConstraintsResource"]["S3Uri"]).endswith(
        "model_quality/constraints.json"
    )
    (bias,) = _resources(template, JOBS[2]).values()
    spec = bias["Properties"]["ModelBiasAppSpecification"]
    assert spec["ImageUri"] == clarify_image("us-east-1")
    assert _join_text(spec["ConfigUri"]).endswith("monitoring/adherence/baseline/bias/analysis_config.json")


def test_the_baseline_layout_is_the_baseline_steps() -> None:
    from pipeline_code.adherence.baseline.main import ANALYSIS_CONFIG, BIAS, CONSTRAINTS, DATA_QUALITY, STATISTICS

    assert baseline_key("adherence", DATA_QUALITY, STATISTICS).endswith("data_quality/statistics.json")
    assert baseline_key("adherence", BIAS, ANALYSIS_CONFIG).endswith("bias/analysis_config.json")
    assert CONSTRAINTS == "constraints.json"


def test_images_come_from_the_in_code_table_and_an_unknown_region_is_an_error() -> None:
    assert model_monitor_image("eu-west-1").startswith(MODEL_MONITOR_ACCOUNTS["eu-west-1"] + ".dkr.ecr.eu-west-1.")
    assert clarify_image("us-west-2").startswith(CLARIFY_ACCOUNTS["us-west-2"])
    with pytest.raises(ValueError, match="mx-central-1"):
        model_monitor_image("mx-central-1")


@pytest.mark.parametrize("stage", ENABLED)
def test_alarms_notify_the_stages_encrypted_topic(synthesized, stage: str) -> None:
    template = synthesized.template(stage, "monitoring")
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    names = {a["Properties"]["AlarmName"] for a in alarms.values()}
    prefix = f"mlops-{stage}"
    assert {
        f"{prefix}-adherence-NoInvocations",
        f"{prefix}-adherence-DataDrift",
        f"{prefix}-adherence-ModelQuality",
        f"{prefix}-intent-EdgeOutOfScope",
        f"{prefix}-intent-EdgeConfidence",
    } == names
    for alarm in alarms.values():
        (action,) = alarm["Properties"]["AlarmActions"]
        assert "EndpointAlarmsTopic" in json.dumps(action)
    serving = synthesized.template(stage, "serving")
    serving.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def test_alarm_thresholds_come_from_config(synthesized) -> None:
    settings = synthesized.stages["prod"].settings.monitoring
    template = synthesized.template("prod", "monitoring")
    by_name = {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
    }
    idle = by_name["mlops-prod-adherence-NoInvocations"]
    assert idle["EvaluationPeriods"] == settings.idle_hours == 3
    assert idle["TreatMissingData"] == "breaching" and idle["Threshold"] == 1
    assert by_name["mlops-prod-adherence-ModelQuality"]["Threshold"] == settings.min_auc == 0.66
    drift = by_name["mlops-prod-adherence-DataDrift"]
    assert drift["Threshold"] == settings.drift_distance
    metrics = drift["Metrics"]
    expression = next(m for m in metrics if "Expression" in m)["Expression"]
    watched = [m["MetricStat"]["Metric"]["MetricName"] for m in metrics if "MetricStat" in m]
    assert watched == [f"feature_baseline_drift_{f}" for f in settings.drift_alarm_features]
    assert expression.startswith("MAX([")
    for m in metrics:
        if "MetricStat" in m:
            dims = {d["Name"]: d["Value"] for d in m["MetricStat"]["Metric"]["Dimensions"]}
            assert dims == {
                "Endpoint": "mlops-prod-adherence",
                "MonitoringSchedule": "mlops-prod-adherence-data-quality",
            }
    edge = by_name["mlops-prod-intent-EdgeOutOfScope"]
    (query,) = edge["Metrics"]
    assert 'SCHEMA("mlops-prod/Edge/Intent", ThingName)' in query["Expression"]
    assert "OutOfScopeRate" in query["Expression"] and edge["Threshold"] == settings.max_out_of_scope_rate


@pytest.mark.parametrize("stage", ENABLED)
def test_one_dashboard_with_a_row_per_model_built_from_the_alarms_metrics(synthesized, stage: str) -> None:
    template = synthesized.template(stage, "monitoring")
    (dashboard,) = _resources(template, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"mlops-{stage}-models"
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for model in ("adherence", "intent"):
        assert f"## {model}" in body
    stack = synthesized.stack(stage, "monitoring")
    assert "NoInvocations" not in [w.key for w in stack.watched["intent"]]  # served on devices, not an endpoint
    for watched in stack.watched.values():
        assert len(watched) >= 3
        # the Serving stack's 5xx and latency alarms are shown, not duplicated
        assert [w.key for w in watched if w.existing is not None] == ["Serving5xx", "ServingModel"]
    for needle in ("feature_baseline_drift_age", "Invocations", "OutOfScopeRate", "MeanConfidence", "alarm threshold"):
        assert needle in body, needle
    assert "AdherenceErrorsAlarm" in body and "AdherenceLatencyAlarm" in body


def test_schedules_need_a_capturing_endpoint_and_config_errors_name_the_key() -> None:
    base = {"stage": "dev", "owner": "me", "region": "us-east-1", "budget": {"limit_usd": 10}}
    with pytest.raises(ConfigError, match=r"serving\.mode: provisioned"):
        parse_stage_settings({**base, "monitoring": {"enabled": True}}, source="dev.yaml")
    settings = parse_stage_settings({**base, "monitoring": {"enabled": True, "schedules": False}}, source="dev.yaml")
    assert settings.monitoring.enabled and not settings.monitoring.schedules
    with pytest.raises(ConfigError, match=r"monitoring\.drift_alarm_features.*not adherence features"):
        parse_stage_settings({**base, "monitoring": {"drift_alarm_features": ["shoe_size"]}}, source="dev.yaml")
    with pytest.raises(ConfigError, match=r"monitoring\.frequency"):
        parse_stage_settings({**base, "monitoring": {"frequency": "weekly"}}, source="dev.yaml")
