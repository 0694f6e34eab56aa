"""TenantBudget and AlertTopic: tag filter expression, notifications, encrypted topic and its policy."""

from __future__ import annotations

import pytest
from platform_support import ACCOUNT, dependency_records, output, run, settings, statements

from infra.components.alert_topic import AlertTopic, AlertTopicArgs
from infra.components.budget import TenantBudget, TenantBudgetArgs
from infra.components.key_ring import KeyRing, KeyRingArgs
from preflight import Preview

SETTINGS = settings("prod")


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        keys = KeyRing("platform-keys", KeyRingArgs(SETTINGS, "platform", ("logs",), [], budget_alerts=True))
        topic = AlertTopic("budget-alerts", AlertTopicArgs(SETTINGS, keys.arns["logs"]))
        TenantBudget("search-budget", TenantBudgetArgs(SETTINGS, SETTINGS.tenant("search"), topic.topic_arn))

    return run(body, SETTINGS)


def test_budget_counts_cost_tagged_with_the_tenant_and_the_environment(preview: Preview) -> None:
    inputs = preview.get("aws:budgets/budget:Budget", "search-budget").inputs
    assert inputs["name"] == "aip-prod-search"
    assert inputs["budgetType"] == "COST"
    assert inputs["timeUnit"] == "MONTHLY"
    assert (inputs["limitAmount"], inputs["limitUnit"]) == ("500.00", "USD")
    assert inputs["metrics"] == "UnblendedCost"
    assert "costFilters" not in inputs
    assert inputs["filterExpression"] == {
        "ands": [
            {"tags": {"key": "aiplatform:tenant", "values": ["search"], "matchOptions": ["EQUALS"]}},
            {"tags": {"key": "aiplatform:environment", "values": ["prod"], "matchOptions": ["EQUALS"]}},
        ]
    }


def test_budget_alerts_at_80_percent_forecast_and_100_percent_actual(preview: Preview) -> None:
    budget = preview.get("aws:budgets/budget:Budget", "search-budget")
    topic = output(preview, "aws:sns/topic:Topic", "budget-alerts", "arn")
    assert budget.inputs["notifications"] == [
        {
            "comparisonOperator": "GREATER_THAN",
            "threshold": 80,
            "thresholdType": "PERCENTAGE",
            "notificationType": "FORECASTED",
            "subscriberSnsTopicArns": [topic],
        },
        {
            "comparisonOperator": "GREATER_THAN",
            "threshold": 100,
            "thresholdType": "PERCENTAGE",
            "notificationType": "ACTUAL",
            "subscriberSnsTopicArns": [topic],
        },
    ]


def test_alert_topic_is_encrypted_with_the_platform_logs_key(preview: Preview) -> None:
    topic = preview.get("aws:sns/topic:Topic", "budget-alerts")
    assert topic.inputs["name"] == "aip-prod-platform-budget-alerts"
    assert topic.inputs["kmsMasterKeyId"] == output(preview, "aws:kms/key:Key", "platform-keys-logs", "arn")
    assert [r.name for r in dependency_records(preview, topic, "kmsMasterKeyId")] == ["platform-keys-logs"]


def test_only_budgets_of_this_account_may_publish_over_tls(preview: Preview) -> None:
    arn = output(preview, "aws:sns/topic:Topic", "budget-alerts", "arn")
    assert statements(preview.get("aws:sns/topicPolicy:TopicPolicy", "budget-alerts")) == {
        "BudgetsPublish": {
            "Sid": "BudgetsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "budgets.amazonaws.com"},
            "Action": "SNS:Publish",
            "Resource": arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:budgets::{ACCOUNT}:*"},
            },
        },
        "DenyInsecureTransport": {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "SNS:Publish",
            "Resource": arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    }


def test_logs_key_admits_budgets_to_encrypt_alerts(preview: Preview) -> None:
    policy = statements(preview.get("aws:kms/key:Key", "platform-keys-logs"))
    assert policy["BudgetsPublishToAlertTopic"]["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert policy["BudgetsPublishToAlertTopic"]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
