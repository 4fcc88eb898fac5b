"""Monitoring (stateless): Model Monitor on the deployer's endpoints, alarms to the stage's topic, one dashboard.

For the adherence endpoint (``DeployerSettings.endpoint_name``: stable per model), three job definitions compare
what the endpoint received with the baselines of the model the pipeline trained: data quality (captured requests
against the training split's statistics and constraints), model quality (captured predictions merged with labels
that arrive under the ground-truth prefix) and model bias (Clarify, facets race, gender and age group). Each runs
network-isolated with inter-container encryption, its volume and outputs encrypted with the stage key, as the
SageMaker execution role; ``MonitoringSchedule``s run them hourly or daily.

The baselines are read from a fixed location, ``s3://<model-artefacts bucket>/monitoring/<model>/baseline/``:
``data_quality/{statistics,constraints}.json``, ``model_quality/{statistics,constraints}.json`` and
``bias/analysis_config.json``, the layout of the pipeline's baseline step (``AdherenceBaseline``, output
``baseline``; the registered package carries the same files as its drift-check baselines). Publishing the files of
the deployed version there is the release step that makes the schedules follow the live model (README,
"Monitoring").

Alarms and the dashboard come from one list of :class:`WatchedMetric` per model, so every alarm has its graph and
every graph shows its threshold: drift of the watched features, model-quality AUC, invocations falling to zero,
and for the edge intent model the devices' out-of-scope rate and mean confidence. The endpoints' 5xx and latency
alarms are the Serving stack's (the blue/green guardrails): the dashboard shows them, nothing duplicates them. All
alarms notify the Serving stack's KMS-encrypted topic, which the budget e-mails subscribe to.

The Model Monitor and Clarify images live in per-region AWS accounts, mapped here (from the SageMaker SDK's
``image_uri_config``): nothing is looked up at synth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from pipeline_code.deploy.decisions import VARIANT
from pipeline_code.deploy.decisions import baseline_key as deployed_baseline_key
from pipeline_code.edge.metrics import MEAN_CONFIDENCE, OUT_OF_SCOPE_RATE, THING_DIMENSION
from pipeline_code.edge.recipe import metrics_namespace
from stacks import iam_actions as actions
from stacks.constructs.grantee import ManagedPolicyGrantee
from stacks.data_foundation import DataFoundationStack
from stacks.identity import IdentityStack
from stacks.ml_platform import MODELS
from stacks.serving import EDGE_MODEL, MONITORING_PREFIX, ServingStack
from stacks.settings import MonitoringSettings, StageSettings

MONITORED_MODEL: Final = "adherence"  # the model whose pipeline publishes Model Monitor baselines
# The endpoint's requests are CSV with a header and many rows: this script turns each into the baseline's rows.
RECORD_PREPROCESSOR: Final = (
    Path(__file__).resolve().parents[1] / "pipeline_code" / "adherence" / "baseline" / "record_preprocessor.py"
)
PROCESSING_INPUT: Final = "/opt/ml/processing/input/endpoint"
PROCESSING_OUTPUT: Final = "/opt/ml/processing/output"
DATA_METRICS: Final = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS: Final = "aws/sagemaker/Endpoints/model-metrics"
SCHEDULES: Final = {"hourly": "cron(0 * ? * * *)", "daily": "cron(0 0 ? * * *)"}
KINDS: Final = {"DataQuality": "data-quality", "ModelQuality": "model-quality", "ModelBias": "model-bias"}
PERIODS: Final = {"hourly": Duration.hours(1), "daily": Duration.days(1)}
# Where the answer (pipeline_code.dag.serve: {"predictions": [one object per row], ...}) holds the label and the
# probability, for requests of one encounter each (what the quality and bias jobs' label merge needs)
INFERENCE_ATTRIBUTE: Final = "predictions[0].predicted_readmission"
PROBABILITY_ATTRIBUTE: Final = "predictions[0].probability"

# Registry accounts of the prebuilt images, per commercial region (sagemaker SDK image_uri_config:
# model-monitor.json "sagemaker-model-monitor-analyzer", clarify.json "sagemaker-clarify-processing:1.0").
MODEL_MONITOR_ACCOUNTS: Final = {
    "af-south-1": "875698925577",
    "ap-east-1": "001633400207",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-northeast-3": "990339680094",
    "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ap-southeast-3": "669540362728",
    "ca-central-1": "536280801234",
    "eu-central-1": "048819808253",
    "eu-central-2": "590183933784",
    "eu-north-1": "895015795356",
    "eu-south-1": "933208885752",
    "eu-south-2": "437450045455",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "il-central-1": "843974653677",
    "me-central-1": "588750061953",
    "me-south-1": "607024016150",
    "sa-east-1": "539772159869",
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}
CLARIFY_ACCOUNTS: Final = {
    "af-south-1": "811711786498",
    "ap-east-1": "098760798382",
    "ap-northeast-1": "377024640650",
    "ap-northeast-2": "263625296855",
    "ap-northeast-3": "912233562940",
    "ap-south-1": "452307495513",
    "ap-southeast-1": "834264404009",
    "ap-southeast-2": "007051062584",
    "ap-southeast-3": "705930551576",
    "ca-central-1": "675030665977",
    "eu-central-1": "017069133835",
    "eu-central-2": "730335477804",
    "eu-north-1": "763603941244",
    "eu-south-1": "638885417683",
    "eu-west-1": "131013547314",
    "eu-west-2": "440796970383",
    "eu-west-3": "341593696636",
    "me-south-1": "835444307964",
    "sa-east-1": "520018980103",
    "us-east-1": "205585389593",
    "us-east-2": "211330385671",
    "us-west-1": "740489534195",
    "us-west-2": "306415355426",
}


def _image(accounts: dict[str, str], repository: str, region: str, what: str) -> str:
    if region not in accounts:
        raise ValueError(
            f"region {region!r} has no {what} image in this platform's table (stacks/monitoring.py); "
            f"regions: {', '.join(sorted(accounts))}"
        )
    return f"{accounts[region]}.dkr.ecr.{region}.amazonaws.com/{repository}"


def model_monitor_image(region: str) -> str:
    return _image(MODEL_MONITOR_ACCOUNTS, "sagemaker-model-monitor-analyzer", region, "Model Monitor")


def clarify_image(region: str) -> str:
    return _image(CLARIFY_ACCOUNTS, "sagemaker-clarify-processing:1.0", region, "Clarify")


def _jsii(value: Any) -> Any:
    """A nested dict of snake_case property names as jsii reads struct values (camelCase keys)."""
    if isinstance(value, dict):
        return {
            (key.split("_")[0] + "".join(part.capitalize() for part in key.split("_")[1:])): _jsii(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_jsii(item) for item in value]
    return value


def baseline_key(model: str, *parts: str) -> str:
    """Key of a published baseline file in the model-artefacts bucket: ``monitoring/<model>/baseline/...``, where
    the deployer copies the live version's drift-check baselines (``pipeline_code.deploy.decisions``)."""
    return f"{MONITORING_PREFIX}/{deployed_baseline_key(model, *parts)}"


@dataclass(frozen=True)
class WatchedMetric:
    """One metric the stage watches: how to read it and when it alarms; alarm and dashboard graph both come from
    here. ``existing`` is an alarm another stack already owns on the same metric (shown, not duplicated)."""

    key: str
    title: str
    metric: cloudwatch.IMetric
    threshold: float
    comparison: cloudwatch.ComparisonOperator
    description: str
    evaluation_periods: int = 1
    missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING
    existing: cloudwatch.Alarm | None = None

    def alarm(self, scope: Construct, construct_id: str, name: str) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            scope,
            construct_id,
            alarm_name=name,
            alarm_description=self.description,
            metric=self.metric,
            threshold=self.threshold,
            comparison_operator=self.comparison,
            evaluation_periods=self.evaluation_periods,
            datapoints_to_alarm=self.evaluation_periods,
            treat_missing_data=self.missing,
        )

    def widget(self) -> cloudwatch.IWidget:
        if self.existing is not None:
            return cloudwatch.AlarmWidget(alarm=self.existing, title=self.title, width=6, height=6)
        above = self.comparison in (
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        )
        return cloudwatch.GraphWidget(
            title=self.title,
            left=[self.metric],
            left_annotations=[
                cloudwatch.HorizontalAnnotation(
                    value=self.threshold,
                    label="alarm threshold",
                    fill=cloudwatch.Shading.ABOVE if above else cloudwatch.Shading.BELOW,
                )
            ],
            width=6,
            height=6,
        )


class MonitoringStack(Stack):
    """Creates, when ``monitoring.enabled``: ``self.job_definitions`` (data quality, model quality, model bias of the
    adherence endpoint), ``self.schedules`` (one per job definition, unless ``monitoring.schedules`` is false),
    ``self.watched`` (per model, the :class:`WatchedMetric` list), ``self.alarms`` (per model, those that are this
    stack's) and ``self.dashboard`` (one per stage, a row per model).

    Grants nothing: the jobs run as the Identity stack's SageMaker execution role, which already reads and writes
    the model-artefacts bucket (captured data, baselines, ground truth, reports) and uses the stage key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        data: DataFoundationStack,
        identity: IdentityStack,
        serving: ServingStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        cfg = settings.monitoring
        self._settings = settings
        self._cfg = cfg
        self._data = data
        self._role = identity.sagemaker_execution_role
        self._role_arn = self._role.role_arn
        self._bucket = data.model_artifacts_bucket.bucket_name
        self._prefix = settings.resource_prefix
        self.endpoints = {model: serving.deployer_settings.endpoint_name(model) for model in MODELS}

        self.job_definitions: dict[str, Any] = {}
        self.schedules: dict[str, sagemaker.CfnMonitoringSchedule] = {}
        self._monitoring_jobs(MONITORED_MODEL)

        self.watched: dict[str, list[WatchedMetric]] = {
            model: self._watched(model, serving.alarms.get(model)) for model in MODELS
        }
        self.alarms: dict[str, list[cloudwatch.Alarm]] = {}
        if cfg.alarms:
            action = cw_actions.SnsAction(serving.alarms_topic)
            for model, watched in self.watched.items():
                made = []
                for item in watched:
                    if item.existing is not None:
                        continue
                    alarm = item.alarm(
                        self, f"{model.capitalize()}{item.key}Alarm", f"{self._prefix}-{model}-{item.key}"
                    )
                    alarm.add_alarm_action(action)
                    made.append(alarm)
                self.alarms[model] = made
        self.dashboard: cloudwatch.Dashboard | None = None
        if cfg.dashboard:
            self.dashboard = cloudwatch.Dashboard(
                self,
                "Dashboard",
                dashboard_name=f"{self._prefix}-models",
                period_override=cloudwatch.PeriodOverride.INHERIT,
                widgets=[row for model in MODELS for row in self._rows(model)],
            )

    # -- Model Monitor -------------------------------------------------------------------------------------------

    def _s3(self, *parts: str) -> str:
        return f"s3://{self._bucket}/" + "/".join(parts)

    def _common(self, model: str, kind: str) -> dict[str, Any]:
        cfg = self._cfg
        network: dict[str, Any] = {"enable_network_isolation": True, "enable_inter_container_traffic_encryption": True}
        platform = self._settings.ml_platform
        if platform.in_vpc:
            network["vpc_config"] = {
                "security_group_ids": list(platform.security_group_ids),
                "subnets": list(platform.subnet_ids),
            }
        return {
            "job_definition_name": self._job_name(model, kind),
            "role_arn": self._role_arn,
            "job_resources": {
                "cluster_config": {
                    "instance_count": 1,
                    "instance_type": cfg.instance_type,
                    "volume_size_in_gb": cfg.volume_size_gb,
                    "volume_kms_key_id": self._data.key.key_arn,
                }
            },
            "network_config": network,
            "stopping_condition": {"max_runtime_in_seconds": cfg.max_runtime_minutes * 60},
        }

    def _output(self, model: str, kind: str) -> dict[str, Any]:
        return {
            "kms_key_id": self._data.key.key_arn,
            "monitoring_outputs": [
                {
                    "s3_output": {
                        "local_path": PROCESSING_OUTPUT,
                        "s3_uri": self._s3(MONITORING_PREFIX, model, "reports", kind),
                        "s3_upload_mode": "EndOfJob",
                    }
                }
            ],
        }

    def _endpoint_input(self, model: str, *, labelled: bool) -> dict[str, Any]:
        value: dict[str, Any] = {
            "endpoint_name": self.endpoints[model],
            "local_path": PROCESSING_INPUT,
            "s3_input_mode": "File",
            "s3_data_distribution_type": "FullyReplicated",
        }
        if labelled:
            # requests old enough for their labels to have arrived: the window ends ground_truth_delay_hours ago
            delay = self._cfg.ground_truth_delay_hours
            window = 1 if self._cfg.frequency == "hourly" else 24
            value.update(
                inference_attribute=INFERENCE_ATTRIBUTE,
                probability_attribute=PROBABILITY_ATTRIBUTE,
                start_time_offset=f"-PT{delay + window}H",
                end_time_offset=f"-PT{max(delay, 1)}H",
            )
        return value

    def _ground_truth(self, model: str) -> dict[str, Any]:
        return {"s3_uri": self._s3(self._cfg.ground_truth_prefix.rstrip("/"), model)}

    def _monitoring_jobs(self, model: str) -> None:
        region = self.region
        name = model.capitalize()
        # The record preprocessor stays in the CDK file-asset bucket, read like the step code (one object, one
        # read-only statement the permissions boundary already allows).
        self.record_preprocessor = s3_assets.Asset(self, f"{name}RecordPreprocessor", path=str(RECORD_PREPROCESSOR))
        reader = ManagedPolicyGrantee(
            self,
            f"{name}RecordPreprocessorAccess",
            role=self._role,
            description=f"{self._prefix} monitoring jobs: read the {model} record preprocessor asset",
        )
        reader.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadRecordPreprocessor",
                actions=["s3:GetObject"],
                resources=[self.record_preprocessor.bucket.arn_for_objects(self.record_preprocessor.s3_object_key)],
            )
        )
        assert "s3:GetObject" in actions.CDK_ASSET_READ  # what the boundary allows on the asset bucket

        def props(kind: str, **values: Any) -> dict[str, Any]:
            return {key: _jsii(value) for key, value in {**self._common(model, kind), **values}.items()}

        data_quality = sagemaker.CfnDataQualityJobDefinition(
            self,
            f"{name}DataQualityJob",
            **props(
                KINDS["DataQuality"],
                data_quality_app_specification={
                    "image_uri": model_monitor_image(region),
                    "record_preprocessor_source_uri": self.record_preprocessor.s3_object_url,
                },
                data_quality_baseline_config={
                    "constraints_resource": {
                        "s3_uri": self._s3(baseline_key(model, "data_quality", "constraints.json"))
                    },
                    "statistics_resource": {"s3_uri": self._s3(baseline_key(model, "data_quality", "statistics.json"))},
                },
                data_quality_job_input={"endpoint_input": self._endpoint_input(model, labelled=False)},
                data_quality_job_output_config=self._output(model, KINDS["DataQuality"]),
            ),
        )
        model_quality = sagemaker.CfnModelQualityJobDefinition(
            self,
            f"{name}ModelQualityJob",
            **props(
                KINDS["ModelQuality"],
                model_quality_app_specification={
                    "image_uri": model_monitor_image(region),
                    "problem_type": "BinaryClassification",
                },
                model_quality_baseline_config={
                    "constraints_resource": {
                        "s3_uri": self._s3(baseline_key(model, "model_quality", "constraints.json"))
                    }
                },
                model_quality_job_input={
                    "endpoint_input": self._endpoint_input(model, labelled=True),
                    "ground_truth_s3_input": self._ground_truth(model),
                },
                model_quality_job_output_config=self._output(model, KINDS["ModelQuality"]),
            ),
        )
        bias = sagemaker.CfnModelBiasJobDefinition(
            self,
            f"{name}ModelBiasJob",
            **props(
                KINDS["ModelBias"],
                model_bias_app_specification={
                    "image_uri": clarify_image(region),
                    "config_uri": self._s3(baseline_key(model, "bias", "analysis_config.json")),
                },
                model_bias_job_input={
                    "endpoint_input": self._endpoint_input(model, labelled=True),
                    "ground_truth_s3_input": self._ground_truth(model),
                },
                model_bias_job_output_config=self._output(model, KINDS["ModelBias"]),
            ),
        )
        data_quality.node.add_dependency(reader.policy)
        self.job_definitions = {"DataQuality": data_quality, "ModelQuality": model_quality, "ModelBias": bias}
        if not self._cfg.schedules:
            return
        for monitoring_type, job in self.job_definitions.items():
            schedule = sagemaker.CfnMonitoringSchedule(
                self,
                f"{name}{monitoring_type}Schedule",
                monitoring_schedule_name=self.schedule_name(model, monitoring_type),
                monitoring_schedule_config=_jsii(
                    {
                        "monitoring_job_definition_name": self._job_name(model, KINDS[monitoring_type]),
                        "monitoring_type": monitoring_type,
                        "schedule_config": {"schedule_expression": SCHEDULES[self._cfg.frequency]},
                    }
                ),
                endpoint_name=self.endpoints[model],
            )
            schedule.node.add_dependency(job)
            self.schedules[monitoring_type] = schedule

    def schedule_name(self, model: str, monitoring_type: str) -> str:
        """Fixed, so that the alarms name the schedule in their metric dimensions: the job definition's name."""
        return self._job_name(model, KINDS[monitoring_type])

    def _job_name(self, model: str, kind: str) -> str:
        """``<prefix>-<model>-<kind>``: a job definition and the schedule that runs it share it."""
        return f"{self._prefix}-{model}-{kind}"

    # -- watched metrics -----------------------------------------------------------------------------------------

    def _watched(self, model: str, serving_alarms: Sequence[cloudwatch.Alarm] | None) -> list[WatchedMetric]:
        cfg: MonitoringSettings = self._cfg
        endpoint = self.endpoints[model]
        dimensions = {"EndpointName": endpoint, "VariantName": VARIANT}
        watched: list[WatchedMetric] = []
        if serving_alarms:
            for alarm, what in zip(serving_alarms, ("5xx errors", "model latency p99"), strict=True):
                watched.append(
                    WatchedMetric(
                        key="Serving" + what.split()[0].capitalize(),
                        title=f"{model}: {what} (Serving's rollback alarm)",
                        metric=alarm.metric,
                        threshold=0,
                        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                        description="",
                        existing=alarm,
                    )
                )
        if model != EDGE_MODEL:  # the intent model is served on devices (the deployer skips its folder artefact)
            watched.append(self._invocations(model, dimensions))
        if model == MONITORED_MODEL and self.schedules:
            period = PERIODS[cfg.frequency]
            data_schedule = self.schedule_name(model, "DataQuality")
            drift = {
                f"f{i}": cloudwatch.Metric(
                    namespace=DATA_METRICS,
                    metric_name=f"feature_baseline_drift_{feature}",
                    dimensions_map={"Endpoint": endpoint, "MonitoringSchedule": data_schedule},
                    statistic="Maximum",
                    period=period,
                )
                for i, feature in enumerate(cfg.drift_alarm_features)
            }
            # CloudWatch allows 10 metrics in one alarm: one alarm per 10 features
            names = sorted(drift, key=lambda k: int(k[1:]))
            for part, start in enumerate(range(0, len(names), 10)):
                chunk = {k: drift[k] for k in names[start : start + 10]}
                features = cfg.drift_alarm_features[start : start + 10]
                watched.append(
                    WatchedMetric(
                        key=f"DataDrift{part + 1}" if len(names) > 10 else "DataDrift",
                        title=f"{model}: largest feature drift ({', '.join(features[:3])}...)",
                        metric=cloudwatch.MathExpression(
                            expression=f"MAX([{','.join(chunk)}])",
                            using_metrics=chunk,
                            label="largest drift distance",
                            period=period,
                        ),
                        threshold=cfg.drift_distance,
                        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                        description=f"{endpoint}: Model Monitor drift distance above {cfg.drift_distance} in one of "
                        f"{', '.join(features)}",
                    )
                )
            watched.append(
                WatchedMetric(
                    key="ModelQuality",
                    title=f"{model}: AUC on labelled requests",
                    metric=cloudwatch.Metric(
                        namespace=MODEL_METRICS,
                        metric_name="auc",
                        dimensions_map={
                            "Endpoint": endpoint,
                            "MonitoringSchedule": self.schedule_name(model, "ModelQuality"),
                        },
                        statistic="Minimum",
                        period=period,
                    ),
                    threshold=cfg.min_auc,
                    comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                    description=f"{endpoint}: AUC on labelled requests below {cfg.min_auc}",
                )
            )
        if model == EDGE_MODEL:
            namespace = metrics_namespace(self._prefix)
            for key, metric_name, what, threshold, comparison in (
                (
                    "EdgeOutOfScope",
                    OUT_OF_SCOPE_RATE,
                    "out-of-scope rate",
                    cfg.max_out_of_scope_rate,
                    cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                ),
                (
                    "EdgeConfidence",
                    MEAN_CONFIDENCE,
                    "mean confidence",
                    cfg.min_mean_confidence,
                    cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                ),
            ):
                watched.append(
                    WatchedMetric(
                        key=key,
                        title=f"{model} on devices: {what}",
                        # every device of the stage at once (a Metrics Insights query over the ThingName dimension)
                        metric=cloudwatch.MathExpression(
                            expression=f'SELECT AVG({metric_name}) FROM SCHEMA("{namespace}", {THING_DIMENSION})',
                            using_metrics={},
                            label=what,
                            period=Duration.minutes(15),
                        ),
                        threshold=threshold,
                        comparison=comparison,
                        evaluation_periods=2,
                        description=f"{self._prefix} devices: {what} of the intent model "
                        f"{'above' if comparison.name.startswith('GREATER') else 'below'} {threshold} for 30 minutes",
                    )
                )
        return watched

    def _invocations(self, model: str, dimensions: dict[str, str]) -> WatchedMetric:
        cfg = self._cfg
        endpoint = self.endpoints[model]
        return WatchedMetric(
            key="NoInvocations",
            title=f"{model}: invocations an hour",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="Invocations",
                dimensions_map=dimensions,
                statistic="Sum",
                period=Duration.hours(1),
            ),
            threshold=1,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=cfg.idle_hours,
            # SageMaker publishes no datapoint for an hour without requests: missing data is the alarm
            missing=cloudwatch.TreatMissingData.BREACHING,
            description=f"{endpoint}: no invocation for {cfg.idle_hours} hours (or the endpoint does not exist)",
        )

    def _rows(self, model: str) -> list[list[cloudwatch.IWidget]]:
        """The model's dashboard rows: a title, then one widget per watched metric."""
        header = cloudwatch.TextWidget(
            markdown=f"## {model}\nEndpoint `{self.endpoints[model]}`",
            width=24,
            height=2,
        )
        return [[header], [item.widget() for item in self.watched[model]]]
