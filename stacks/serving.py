"""Serving (stateless): approved model packages reach their endpoints without a person, and roll back alone.

An EventBridge rule passes only ``SageMaker Model Package State Change`` events whose status is ``Approved`` and
whose group is one of the stage's (``<prefix>-adherence``, ``<prefix>-intent``) to the model deployer, a Lambda
running ``pipeline_code.deploy`` (boto3 only). The rule retries and keeps what it cannot deliver in the deployer's
dead-letter queue, which also receives the events the function itself fails on. Each model's endpoint has two
alarms (5xx errors, model latency p99): in provisioned mode a blue/green update rolls back by itself when either
fires; they also notify the stage's alert contacts.

The function runs as the Identity stack's Lambda execution role, passed here immutable: every permission it needs
(SageMaker names with the stage prefix, PassRole of the SageMaker execution role only, its dead-letter queue by
name, its logs, X-Ray) is granted there, in the role's customer-managed policy, and bounded by the Guardrails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Duration, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from pipeline_code.deploy.decisions import APPROVED, DETAIL_TYPE, SOURCE, VARIANT
from pipeline_code.deploy.settings import DeployerSettings, settings_to_env
from stacks import naming
from stacks.data_foundation import DataFoundationStack
from stacks.identity import IdentityStack
from stacks.ml_platform import MODELS
from stacks.nag import LAMBDA_IN_VPC, suppress
from stacks.settings import StageSettings

ROOT = Path(__file__).resolve().parents[1]
# The function's code: the deploy package and its parent package marker, nothing else (boto3 is in the runtime).
DEPLOYER_CODE = [
    "*",
    "!pipeline_code/__init__.py",
    "!pipeline_code/deploy/*.py",
    # the edge deployer and what it imports (standard library + botocore)
    "!pipeline_code/edge/__init__.py",
    "!pipeline_code/edge/deployer.py",
    "!pipeline_code/edge/recipe.py",
]
DEPLOYER_HANDLER = "pipeline_code.deploy.handler.handler"
DEPLOYER_RUNTIME = lambda_.Runtime.PYTHON_3_14


EDGE_MODEL = "intent"  # the model whose approvals also go to the stage's Greengrass devices (stacks/edge.py)
MONITORING_PREFIX = "monitoring"  # model-artefacts bucket: live baselines, ground truth, reports (stacks/monitoring.py)


def deployer_settings(
    settings: StageSettings,
    *,
    execution_role_arn: str,
    kms_key_arn: str,
    capture_s3_uri: str,
    edge_bucket: str = "",
    edge_thing_group_arn: str = "",
    monitoring_s3_uri: str = "",
) -> DeployerSettings:
    """The deployer's settings for a stage (what its environment carries)."""
    cfg = settings.serving
    return DeployerSettings(
        prefix=settings.resource_prefix,
        groups=MODELS,
        execution_role_arn=execution_role_arn,
        kms_key_arn=kms_key_arn,
        capture_s3_uri=capture_s3_uri,
        mode=cfg.mode,
        serverless_memory_mb=cfg.serverless_memory_mb,
        serverless_max_concurrency=cfg.serverless_max_concurrency,
        instance_type=cfg.instance_type,
        instance_count=cfg.instance_count,
        canary_percent=cfg.canary_percent,
        canary_wait_s=cfg.canary_wait_minutes * 60,
        termination_wait_s=cfg.termination_wait_minutes * 60,
        capture_percent=cfg.capture_percent,
        edge_model=EDGE_MODEL if edge_bucket else "",
        edge_bucket=edge_bucket,
        edge_thing_group_arn=edge_thing_group_arn,
        monitoring_s3_uri=monitoring_s3_uri,
    )


class _WrappedEvent(events.RuleTargetInput):
    """``{"target": "edge", "event": <the whole event>}``: EventBridge's ``aws.events.event.json`` variable is the
    complete original event (``detail`` included), which ``EventField`` paths cannot express."""

    def bind(self, rule: events.IRule) -> events.RuleTargetInputProperties:
        return events.RuleTargetInputProperties(
            input_paths_map={}, input_template='{"target": "edge", "event": <aws.events.event.json>}'
        )


EDGE_EVENT = _WrappedEvent()


class ServingStack(Stack):
    """Creates ``self.dead_letter_queue`` (KMS), ``self.log_group`` (KMS), ``self.deployer`` (the Lambda: pinned
    runtime, reserved concurrency 1 so two approvals never race on one endpoint, KMS-encrypted environment, X-Ray,
    the dead-letter queue), ``self.rule`` (Approved packages of the stage's groups -> deployer, retried, DLQ),
    ``self.devices_rule`` (Approved intent packages -> the same deployer, wrapped for the edge deployer),
    ``self.project_rules_permission`` (the SageMaker projects' own approvals rules may invoke the deployer),
    ``self.alarms_topic`` (KMS) and ``self.alarms`` (per model: 5xx errors, model latency p99).

    Grants: EventBridge may invoke the deployer and send to the queue (resource policies, these rules and the
    projects' rules ``<prefix>-*-approved`` only);
    EventBridge and CloudWatch may use the stage key for the queue and the topic (key policy, this account only).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        data: DataFoundationStack,
        identity: IdentityStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        cfg = settings.serving
        prefix = settings.resource_prefix
        removal = RemovalPolicy.RETAIN if settings.retain else RemovalPolicy.DESTROY
        function_name = naming.deployer_function_name(settings)
        self.deployer_settings = deployer_settings(
            settings,
            execution_role_arn=identity.sagemaker_execution_role.role_arn,
            kms_key_arn=data.key.key_arn,
            capture_s3_uri=f"s3://{data.model_artifacts_bucket.bucket_name}/data-capture",
            monitoring_s3_uri=f"s3://{data.model_artifacts_bucket.bucket_name}/{MONITORING_PREFIX}",
            edge_bucket=data.edge_deployments_bucket.bucket_name,
            edge_thing_group_arn=naming.edge_thing_group_arn(self, settings),
        )

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeployerDeadLetterQueue",
            queue_name=naming.deployer_dead_letter_queue_name(settings),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=data.key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        data.platform_key.grant_service_usage("events.amazonaws.com")  # the rule's DLQ is encrypted

        log_group_name = f"/aws/lambda/{function_name}"
        self.log_group = logs.LogGroup(
            self,
            "DeployerLogs",
            log_group_name=log_group_name,
            encryption_key=data.key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=removal,
        )
        data.platform_key.grant_log_group_encryption(log_group_name, sid="EncryptionOfDeployerLogs")

        # Immutable: CDK must not attach policies here; the Identity stack grants everything the function needs.
        role = iam.Role.from_role_arn(self, "DeployerRole", identity.lambda_execution_role.role_arn, mutable=False)
        self.deployer = lambda_.Function(
            self,
            "Deployer",
            function_name=function_name,
            description=f"Deploys approved model packages of {prefix} to their endpoints; rolls back on request",
            runtime=DEPLOYER_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=DEPLOYER_HANDLER,
            code=lambda_.Code.from_asset(str(ROOT), exclude=DEPLOYER_CODE, ignore_mode=IgnoreMode.DOCKER),
            role=role,
            environment=settings_to_env(self.deployer_settings),
            timeout=Duration.minutes(2),
            memory_size=256,
            reserved_concurrent_executions=1,
            dead_letter_queue=self.dead_letter_queue,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
        )
        cfn_function = self.deployer.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        # The stage key encrypts the environment; set on the resource so that CDK's key grant (a key-policy
        # statement naming the Identity stack's role from the data foundation: a cycle) is not made.
        cfn_function.kms_key_arn = data.key.key_arn
        if settings.ml_platform.in_vpc:
            cfn_function.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
                subnet_ids=list(settings.ml_platform.subnet_ids),
                security_group_ids=list(settings.ml_platform.security_group_ids),
            )
        else:
            suppress(
                cfn_function,
                LAMBDA_IN_VPC,
                "The deployer has no inbound surface (EventBridge and the ML engineer invoke it through the Lambda "
                "API) and calls only AWS APIs over TLS. A VPC for it needs interface endpoints for SageMaker, S3, "
                "SQS, KMS, Logs and X-Ray or a NAT gateway, all billed by the hour: against the platform's rule that "
                "an idle stage costs only storage and keys. A stage that configures ml_platform subnets runs it there.",
            )

        groups = [self.deployer_settings.group_name(model) for model in MODELS]
        self.rule = events.Rule(
            self,
            "ApprovedModelPackages",
            description=f"Approved model packages of {prefix}'s groups start the model deployer",
            event_pattern=events.EventPattern(
                source=[SOURCE],
                detail_type=[DETAIL_TYPE],
                detail={"ModelApprovalStatus": [APPROVED], "ModelPackageGroupName": groups},
            ),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.deployer,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=8,
                max_event_age=Duration.hours(6),
            )
        )

        # Approvals of the edge model also go to the devices: the same function, the event wrapped so that it knows
        # which job it is doing (a separate rule: its own retries, and a failure on one side never blocks the other).
        self.devices_rule = events.Rule(
            self,
            "ApprovedModelPackagesForDevices",
            description=f"Approved {EDGE_MODEL} model packages of {prefix} become the devices' model component",
            event_pattern=events.EventPattern(
                source=[SOURCE],
                detail_type=[DETAIL_TYPE],
                detail={
                    "ModelApprovalStatus": [APPROVED],
                    "ModelPackageGroupName": [self.deployer_settings.group_name(EDGE_MODEL)],
                },
            ),
        )
        self.devices_rule.add_target(
            targets.LambdaFunction(
                self.deployer,
                event=EDGE_EVENT,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=8,
                max_event_age=Duration.hours(6),
            )
        )

        # SageMaker projects (stacks/projects.py): each launched project has its own rule, <prefix>-<name>-approved,
        # for its own group's approvals, targeting this function by its name (a product template cannot reference
        # this stack). EventBridge may invoke the function and use its dead-letter queue for those rules only.
        project_rules = naming.project_approvals_rules_arn(self, settings)
        self.project_rules_permission = lambda_.CfnPermission(
            self,
            "DeployerInvokedByProjectRules",
            action="lambda:InvokeFunction",
            function_name=self.deployer.function_arn,
            principal="events.amazonaws.com",
            source_account=self.account,
            source_arn=project_rules,
        )
        self.dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ProjectRulesDeadLetters",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
                conditions={"ArnLike": {"aws:SourceArn": project_rules}},
            )
        )

        self.alarms_topic = data.platform_key.service_topic(
            self,
            "EndpointAlarmsTopic",
            service="cloudwatch.amazonaws.com",
            sid="CloudWatchPublishFromThisAccount",
            display_name=f"{prefix} endpoint alarms",
            topic_name=naming.endpoint_alarms_topic_name(settings),  # SageMaker projects' alarms notify it by ARN
        )
        for index, email in enumerate(settings.budget.alert_emails):
            sns.Subscription(
                self,
                f"AlarmEmail{index}",
                topic=self.alarms_topic,
                protocol=sns.SubscriptionProtocol.EMAIL,
                endpoint=email,
            )

        self.alarms: dict[str, tuple[cloudwatch.Alarm, cloudwatch.Alarm]] = {}
        if cfg.endpoint_alarms:
            for model in MODELS:
                self.alarms[model] = endpoint_alarms(
                    self,
                    id_prefix=model.capitalize(),
                    endpoint=self.deployer_settings.endpoint_name(model),
                    names=self.deployer_settings.alarm_names(model),
                    errors=cfg.errors_5xx,
                    latency_ms=cfg.latency_p99_ms,
                    topic=self.alarms_topic,
                )


def endpoint_alarms(
    scope: Construct,
    *,
    id_prefix: str,
    endpoint: str,
    names: tuple[str, str],
    errors: int,
    latency_ms: int,
    topic: sns.ITopic,
) -> tuple[cloudwatch.Alarm, cloudwatch.Alarm]:
    """The two alarms a blue/green update of ``endpoint`` watches (``names`` as the deployer derives them: 5xx errors,
    model latency p99), notifying ``topic``. Used by the Serving stack per model and by each tabular SageMaker
    project's template for its own endpoint."""
    dimensions = {"EndpointName": endpoint, "VariantName": VARIANT}
    action = cw_actions.SnsAction(topic)
    errors_name, latency_name = names
    made = []
    for construct_id, name, metric, statistic, threshold, what in (
        ("Errors", errors_name, "Invocation5XXErrors", "Sum", errors, f">= {errors} 5xx errors a minute"),
        ("Latency", latency_name, "ModelLatency", "p99", latency_ms * 1000, f"model latency p99 >= {latency_ms} ms"),
    ):
        alarm = cloudwatch.Alarm(
            scope,
            f"{id_prefix}{construct_id}Alarm",
            alarm_name=name,
            alarm_description=f"{endpoint}: {what} for 2 minutes; rolls back a blue/green update",
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name=metric,
                dimensions_map=dimensions,
                statistic=statistic,
                period=Duration.minutes(1),
            ),
            threshold=threshold,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,  # an idle endpoint is healthy
        )
        alarm.add_alarm_action(action)
        made.append(alarm)
    return made[0], made[1]
