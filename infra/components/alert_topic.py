"""AlertTopic: an owner's encrypted SNS topic that AWS Budgets publishes tenant alerts to.

The owner is the platform in the shared cluster and the tenant in a tier C stack, and its name
(``aip-<env>-<owner>-budget-alerts``) carries it: a tier C stack in the same account and region as
platform-<env> or as another tier C stack creates a topic of its own, not the same name.

Encrypted with the owner's logs key (whose policy admits AWS Budgets, infra.components.key_ring);
its topic policy lets only AWS Budgets of this account publish (``aws:SourceAccount``,
``aws:SourceArn``) and refuses publishing without TLS. The platform team subscribes its own
channels; in the shared cluster the topic is the platform's, so that no tenant resource uses the
platform's key.
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
    """The stack, the key that encrypts the topic, and whose topic it is."""

    settings: Settings
    logs_key_arn: pulumi.Input[str]
    # The platform's (shared cluster) or the tenant's (tier C stack), as the key's owner.
    owner: str = PLATFORM


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
        topic_name = naming.resource_name(settings.environment, args.owner, "budget-alerts")
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
