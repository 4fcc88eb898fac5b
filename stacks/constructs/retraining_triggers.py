"""What starts a pipeline without a person: new raw data (S3 -> EventBridge) and an optional schedule."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from stacks.constructs.platform_role import PlatformRole

START_PIPELINE = "sagemaker:StartPipelineExecution"


class RetrainingTriggers(Construct):
    """Creates ``self.role`` (assumed by EventBridge and EventBridge Scheduler of this account only), and

    - ``self.rule`` when ``on_new_data``: an EventBridge rule that starts the pipeline when an object is created
      under ``prefix`` in ``bucket`` (the bucket must send its events to EventBridge);
    - ``self.schedule`` when ``schedule`` is set: an EventBridge Scheduler schedule that starts it.

    Grants the role one action, ``sagemaker:StartPipelineExecution``, on the one pipeline ``pipeline_arn``.
    ``rule_name``, ``schedule_name`` and ``policy_path`` fix names a launch role must be able to scope (a SageMaker
    project's triggers); left out, CloudFormation names them.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        pipeline_arn: str,
        bucket: s3.IBucket,
        prefix: str,
        on_new_data: bool,
        schedule: str | None,
        schedule_timezone: str,
        role_path: str,
        rule_name: str | None = None,
        schedule_name: str | None = None,
        policy_path: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.rule: events.CfnRule | None = None
        self.schedule: scheduler.CfnSchedule | None = None
        if not on_new_data and schedule is None:
            self.role: iam.IRole | None = None
            return
        source_account = {"StringEquals": {"aws:SourceAccount": stack.account}}
        trigger = PlatformRole(
            self,
            "TriggerRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("events.amazonaws.com", conditions=source_account),
                iam.ServicePrincipal("scheduler.amazonaws.com", conditions=source_account),
            ),
            role_path=role_path,
            policy_path=policy_path,
            description=f"Starts SageMaker pipeline {pipeline_name} (new raw data, schedule); nothing else",
        )
        trigger.allow("StartThisPipelineOnly", [START_PIPELINE], [pipeline_arn])
        self.role = trigger.role
        retry = {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600}

        if on_new_data:
            self.rule = events.CfnRule(
                self,
                "NewRawDataRule",
                name=rule_name,
                description=f"New objects under s3://<raw>/{prefix} start {pipeline_name}",
                state="ENABLED",
                event_pattern={
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created"],
                    "detail": {"bucket": {"name": [bucket.bucket_name]}, "object": {"key": [{"prefix": prefix}]}},
                },
                targets=[
                    events.CfnRule.TargetProperty(
                        id="StartPipeline",
                        arn=pipeline_arn,
                        role_arn=trigger.role.role_arn,
                        retry_policy=events.CfnRule.RetryPolicyProperty(
                            maximum_retry_attempts=retry["MaximumRetryAttempts"],
                            maximum_event_age_in_seconds=retry["MaximumEventAgeInSeconds"],
                        ),
                    )
                ],
            )
            self.rule.node.add_dependency(trigger.policy)

        if schedule is not None:
            self.schedule = scheduler.CfnSchedule(
                self,
                "RetrainingSchedule",
                name=schedule_name,
                description=f"Scheduled retraining: starts {pipeline_name}",
                schedule_expression=schedule,
                schedule_expression_timezone=schedule_timezone,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(
                    mode="FLEXIBLE", maximum_window_in_minutes=15
                ),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=pipeline_arn,
                    role_arn=trigger.role.role_arn,
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_retry_attempts=retry["MaximumRetryAttempts"],
                        maximum_event_age_in_seconds=retry["MaximumEventAgeInSeconds"],
                    ),
                ),
            )
            self.schedule.node.add_dependency(trigger.policy)
