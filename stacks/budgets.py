"""Budgets: a monthly cost budget per stage with alerts to an encrypted topic and e-mail."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_budgets as budgets
from constructs import Construct

from stacks.constructs.platform_key import PlatformKey
from stacks.settings import StageSettings


class BudgetStack(Stack):
    """Creates ``self.alerts_topic`` (SSE-KMS with the platform key, TLS-only, publishable by AWS Budgets from
    this account only) and ``self.budget``: alerts at each configured actual and forecasted percentage, sent to
    the topic and to every configured e-mail address."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        platform_key: PlatformKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.alerts_topic = platform_key.service_topic(
            self,
            "BudgetAlertsTopic",
            service="budgets.amazonaws.com",
            sid="BudgetsPublishFromThisAccount",
            display_name=f"{settings.resource_prefix} budget alerts",
        )

        budget = settings.budget
        subscribers = [
            budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=self.alerts_topic.topic_arn),
            *(budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=e) for e in budget.alert_emails),
        ]
        notifications = [
            budgets.CfnBudget.NotificationWithSubscribersProperty(
                notification=budgets.CfnBudget.NotificationProperty(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=threshold,
                    threshold_type="PERCENTAGE",
                ),
                subscribers=subscribers,
            )
            for kind, thresholds in (
                ("ACTUAL", budget.actual_thresholds_percent),
                ("FORECASTED", budget.forecast_thresholds_percent),
            )
            for threshold in thresholds
        ]
        cost_filters = {"TagKeyValue": [f"user:stage${settings.stage}"]} if budget.filter_by_stage_tag else None
        self.budget = budgets.CfnBudget(
            self,
            "MonthlyCostBudget",
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=f"{settings.resource_prefix}-monthly-cost",
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=budget.limit_usd, unit="USD"),
                cost_filters=cost_filters,
            ),
            notifications_with_subscribers=notifications,
        )
        # Budgets checks it may publish to the topic when the budget is created: the policy must exist first.
        topic_policy = self.alerts_topic.node.find_child("Policy")
        self.budget.node.add_dependency(topic_policy)
