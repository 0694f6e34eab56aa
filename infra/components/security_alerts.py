"""SecurityAlerts: the account's encrypted security alert topic and the break-glass alarm.

Using the break-glass role is legitimate only in an emergency, so every ``AssumeRole`` of it
(a CloudTrail management event that EventBridge receives in the baseline's region) publishes
the event to this topic. The topic is encrypted with the baseline's audit key (whose policy admits
EventBridge, infra.components.key_ring); its policy lets only this rule publish
(``aws:SourceArn``) and refuses requests without TLS. Subscribers are the configured emails;
other stacks and tools subscribe through the ``alertTopicArn`` output.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import iam, naming
from infra.config import Settings
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:security_alerts:SecurityAlerts"


@dataclass
class SecurityAlertsArgs:
    """The stack, the key that encrypts the topic, the alarmed role, and who is told."""

    settings: Settings
    audit_key_arn: pulumi.Input[str]
    break_glass_role_arn: str
    emails: Sequence[str]


def topic_name(settings: Settings) -> str:
    return naming.resource_name(settings.environment, PLATFORM, "security-alerts")


def rule_name(settings: Settings) -> str:
    return naming.resource_name(settings.environment, PLATFORM, "break-glass-used")


def topic_arn(settings: Settings) -> str:
    return f"arn:{settings.partition}:sns:{settings.region}:{settings.account_id}:{topic_name(settings)}"


def rule_arn(settings: Settings) -> str:
    return f"arn:{settings.partition}:events:{settings.region}:{settings.account_id}:rule/{rule_name(settings)}"


def break_glass_pattern(role_arn: str) -> dict[str, Any]:
    """CloudTrail's record of anyone assuming the break-glass role (console switch or API)."""
    return {
        "source": ["aws.sts"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["sts.amazonaws.com"],
            "eventName": ["AssumeRole"],
            "requestParameters": {"roleArn": [role_arn]},
        },
    }


def topic_policy(settings: Settings) -> list[iam.Statement]:
    arn = topic_arn(settings)
    return [
        {
            "Sid": "SecurityRulesPublish",
            "Effect": "Allow",
            "Principal": {"Service": iam.service_principal("events")},
            "Action": "sns:Publish",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn(settings)}},
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]


class SecurityAlerts(pulumi.ComponentResource):
    """The alert topic, its policy and subscriptions, and the break-glass EventBridge rule."""

    topic: aws.sns.Topic
    rule: aws.cloudwatch.EventRule
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: SecurityAlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(name, name=topic_name(settings), kms_master_key_id=args.audit_key_arn, opts=child)
        policy = aws.sns.TopicPolicy(name, arn=self.topic.arn, policy=iam.document(topic_policy(settings)), opts=child)
        for index, email in enumerate(args.emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{index}", topic=self.topic.arn, protocol="email", endpoint=email, opts=child
            )
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-break-glass",
            name=rule_name(settings),
            description="Someone assumed the break-glass role",
            event_pattern=json.dumps(break_glass_pattern(args.break_glass_role_arn)),
            state="ENABLED",
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-break-glass",
            rule=self.rule.name,
            arn=self.topic.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.topic_arn = self.topic.arn
        self.register_outputs({"topicArn": self.topic_arn, "ruleArn": self.rule.arn})
