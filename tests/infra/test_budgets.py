"""Budgets: thresholds, subscribers, an encrypted TLS-only topic Budgets may publish to."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match


@pytest.fixture(scope="module")
def budgets(synthesized):
    return synthesized.template("dev", "budgets")


def test_monthly_cost_budget_uses_configured_limit(budgets, synthesized):
    limit = synthesized.stages["dev"].settings.budget.limit_usd
    assert limit == 10
    budgets.has_resource_properties(
        "AWS::Budgets::Budget",
        {
            "Budget": Match.object_like(
                {
                    "BudgetName": "mlops-dev-monthly-cost",
                    "BudgetType": "COST",
                    "TimeUnit": "MONTHLY",
                    "BudgetLimit": {"Amount": limit, "Unit": "USD"},
                }
            )
        },
    )


def test_alerts_at_50_80_100_actual_and_100_forecast(budgets):
    budget = next(iter(budgets.find_resources("AWS::Budgets::Budget").values()))
    notifications = budget["Properties"]["NotificationsWithSubscribers"]
    thresholds = sorted((n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in notifications)
    assert thresholds == [("ACTUAL", 50), ("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 100)]
    for n in notifications:
        kinds = sorted(s["SubscriptionType"] for s in n["Subscribers"])
        assert kinds == ["EMAIL", "SNS"]
        assert {"SubscriptionType": "EMAIL", "Address": "mlops-alerts@example.com"} in n["Subscribers"]


def test_topic_is_kms_encrypted_with_platform_key_and_tls_only(budgets):
    budgets.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": Match.object_like({"Fn::ImportValue": Match.any_value()})}
    )
    policy = next(iter(budgets.find_resources("AWS::SNS::TopicPolicy").values()))
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    (publish,) = [s for s in statements if s.get("Sid") == "BudgetsPublishFromThisAccount"]
    assert publish["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert "aws:SourceAccount" in publish["Condition"]["StringEquals"]


def test_key_policy_lets_budgets_encrypt_for_the_topic(synthesized):
    data = synthesized.template("dev", "data").to_json()
    key = next(r for r in data["Resources"].values() if r["Type"] == "AWS::KMS::Key")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(s.get("Principal") == {"Service": "budgets.amazonaws.com"} for s in statements)


def test_cost_allocation_tags_on_every_taggable_resource(synthesized):
    for name, template in synthesized.raw_templates().items():
        for lid, resource in template.get("Resources", {}).items():
            tags = resource.get("Properties", {}).get("Tags")
            if tags is None:
                continue
            as_dict = {t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else tags
            for key in ("project", "stage", "owner"):
                assert key in as_dict, f"{name}:{lid} lacks tag {key}"


def test_buckets_and_keys_carry_stage_tags(synthesized):
    template = synthesized.template("prod", "data")
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {"Tags": Match.array_with([{"Key": "project", "Value": "mlops"}, {"Key": "stage", "Value": "prod"}])},
    )
    template.has_resource_properties(
        "AWS::KMS::Key", {"Tags": Match.array_with([{"Key": "owner", "Value": "platform-team"}])}
    )
