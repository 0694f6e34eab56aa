"""AlertTopic: the platform's encrypted SNS topic that AWS Budgets publishes tenant alerts to.

Encrypted with the platform's logs key (whose policy admits AWS Budgets, infra.components.key_ring);
its topic policy lets only AWS Budgets of this account publish (``aws:SourceAccount``,
``aws:SourceArn``) and refuses publishing without TLS. The platform team subscribes its own
channels; the topic is the platform's, so that no tenant resource uses the platform's key.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import iam, naming
from infra.config import Settings
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:alert_topic:AlertTopic"


@dataclass
class AlertTopicArgs:
    """The stack and the key that encrypts the topic."""

    settings: Settings
    logs_key_arn: pulumi.Input[str]


def topic_policy(settings: Settings, topic_arn: str) -> list[iam.Statement]:
    account = settings.account_id
    return [
        {
            "Sid": "BudgetsPublish",
            "Effect": "Allow",
            "Principal": {"Service": iam.service_principal("budgets")},
            "Action": "SNS:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": f"arn:{settings.partition}:budgets::{account}:*"},
            },
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "SNS:Publish",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]


class AlertTopic(pulumi.ComponentResource):
    """The budget alert topic and its policy."""

    topic: aws.sns.Topic
    topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        topic_name = naming.resource_name(settings.environment, PLATFORM, "budget-alerts")
        topic_arn = f"arn:{settings.partition}:sns:{settings.region}:{settings.account_id}:{topic_name}"
        self.topic = aws.sns.Topic(
            name,
            name=topic_name,
            kms_master_key_id=args.logs_key_arn,
            opts=child,
        )
        aws.sns.TopicPolicy(
            name,
            arn=self.topic.arn,
            policy=iam.document(topic_policy(settings, topic_arn)),
            opts=child,
        )
        self.topic_arn = self.topic.arn
        self.register_outputs({"topicArn": self.topic_arn})
