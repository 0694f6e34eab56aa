"""ServiceLinkedRoles: the AWS service-linked roles the platform's policies name, created before any policy names them.

A service-linked role exists only once something creates it: the AWS service itself on first use (Amazon EC2
Auto Scaling creates ``AWSServiceRoleForAutoScaling`` with the first Auto Scaling group of the account when it
does not exist yet, "CreateAutoScalingGroup", ``ServiceLinkedRoleARN``, Amazon EC2 Auto Scaling API Reference,
https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html), or
``iam:CreateServiceLinkedRole``. A KMS key policy may name only principals that exist and are visible to KMS
(the ``Policy`` parameter of CreateKey, AWS KMS API Reference,
https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html). On a fresh account the volume keys
that name Auto Scaling's role would therefore fail to create, so the account baseline creates every role
listed in ``NAMED_BY_POLICIES`` before its own keys, and every other stack of the account comes after the
baseline (infra.deploy_order).

Each role's name and path are AWS's, per service: ``role/aws-service-role/<service>/<name>`` ("Service-linked
roles for Amazon EC2 Auto Scaling",
https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html).

A role that already exists (any Auto Scaling group ever created in the account made it) cannot be created
again: the baseline config lists such services in ``existingServiceLinkedRoles`` and the role is imported
(the ``import`` resource option with the role's ARN, which the AWS provider takes as the id) instead of
created. Either way the baseline never deletes it (``retain_on_delete``): AWS services in every stack of the
account keep using it.

This module imports nothing from the program's config, which reads ``NAMED_BY_POLICIES`` to validate
``existingServiceLinkedRoles``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

TYPE = "secure-ai-platform:service_linked_roles:ServiceLinkedRoles"

AUTOSCALING = "autoscaling.amazonaws.com"

# Service principal -> the name of its default service-linked role: every role the platform's policies name.
# Key policies of the volumes and default-volumes keys admit Auto Scaling's role (infra.components.key_ring).
NAMED_BY_POLICIES: dict[str, str] = {AUTOSCALING: "AWSServiceRoleForAutoScaling"}


def role_path(service: str) -> str:
    """``aws-service-role/<service>/<name>``: the role's path and name, as its ARN ends."""
    return f"aws-service-role/{service}/{NAMED_BY_POLICIES[service]}"


def role_arn(partition: str, account_id: str, service: str) -> str:
    """The ARN of ``service``'s default service-linked role in an account."""
    return f"arn:{partition}:iam::{account_id}:role/{role_path(service)}"


@dataclass
class ServiceLinkedRolesArgs:
    """The account, and which of its service-linked roles exist already (imported, not created)."""

    partition: str
    account_id: str
    existing: Sequence[str] = field(default_factory=tuple)


class ServiceLinkedRoles(pulumi.ComponentResource):
    """Every service-linked role in ``NAMED_BY_POLICIES``, created or imported."""

    roles: dict[str, aws.iam.ServiceLinkedRole]

    def __init__(self, name: str, args: ServiceLinkedRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        unknown = sorted(set(args.existing) - set(NAMED_BY_POLICIES))
        if unknown:
            raise ValueError(f"ServiceLinkedRoles {name}: no service-linked role of {unknown} is named by a policy")
        super().__init__(TYPE, name, None, opts)
        self.roles = {}
        for service in NAMED_BY_POLICIES:
            arn = role_arn(args.partition, args.account_id, service)
            self.roles[service] = aws.iam.ServiceLinkedRole(
                f"{name}-{service.split('.')[0]}",
                aws_service_name=service,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    retain_on_delete=True,
                    import_=arn if service in args.existing else None,
                ),
            )
        self.register_outputs({"arns": {service: role.arn for service, role in self.roles.items()}})
