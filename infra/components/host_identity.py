"""HostIdentity: the IAM role and instance profile of a tenant's dedicated-host instances (issue 7, item 2).

Created before the tenant's keys, bucket and repositories, whose policies name this role, so its own
policy addresses them by the names the platform derives, with exactly the statements of the
tenant's workload role (``tenant_identity.workload_policy``): list, read and write the tenant's model
bucket; pull its repositories; use its keys, through S3 only.

With confidential computing one statement more: the tenant's data key, called directly (the enclave
reaches KMS through the parent instance's credentials and vsock proxy), for ``kms:Decrypt`` and
``kms:GenerateDataKey`` only with an attestation document carrying the enclave image's measurements.
The data key's own policy requires the same (``KeyRingArgs.attestation``), so neither a
misconfigured key policy nor this role alone lets code outside the measured enclave decrypt.

Operators reach the instances through SSM Session Manager (``AmazonSSMManagedInstanceCore``), never
SSH. Trust: the EC2 service only. The tenant permissions boundary caps whatever is attached later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import iam, naming
from infra.components.cluster import managed_policy_arn, service_trust_policy
from infra.components.tenant_identity import workload_policy
from infra.config import Settings, Tenant

TYPE = "secure-ai-platform:host_identity:HostIdentity"

# The role's name suffix (naming.role_name): aip-<env>-<tenant>-hosts.
ROLE = "hosts"
SSM_POLICY = "AmazonSSMManagedInstanceCore"
ENCLAVE_KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


@dataclass
class HostIdentityArgs:
    """Whose host instances, and the enclave measurements their data key requires (empty: no enclaves)."""

    settings: Settings
    tenant: Tenant
    attestation: Mapping[str, str] = field(default_factory=dict)


def host_policy(settings: Settings, tenant: str, attestation: Mapping[str, str]) -> dict[str, Any]:
    """The workload statements on the tenant's own bucket, repositories and keys, and the enclave's data key."""
    partition, account, region, env = settings.partition, settings.account_id, settings.region, settings.environment
    document = workload_policy(partition=partition, account=account, region=region, environment=env, tenant=tenant)
    if attestation:
        document["Statement"].append(
            {
                "Sid": "AttestedEnclaveUsesDataKey",
                "Effect": "Allow",
                "Action": list(ENCLAVE_KMS_ACTIONS),
                "Resource": f"arn:{partition}:kms:{region}:{account}:key/*",
                "Condition": {
                    "ForAnyValue:StringLike": {"kms:ResourceAliases": naming.kms_alias(env, tenant, "data")},
                    "StringEqualsIgnoreCase": dict(attestation),
                },
            }
        )
    return document


class HostIdentity(pulumi.ComponentResource):
    """The host instances' role (bounded, least privilege, SSM) and its instance profile."""

    role: aws.iam.Role
    role_arn: str
    instance_profile: aws.iam.InstanceProfile

    def __init__(self, name: str, args: HostIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings, tenant = args.settings, args.tenant
        child = pulumi.ResourceOptions(parent=self)
        role_name = naming.role_name(settings.environment, tenant.name, ROLE)
        # Known before the role exists, so that the policies naming it are complete in a first preview.
        self.role_arn = iam.role_arn(settings, tenant.name, ROLE)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=role_name,
            description=f"Dedicated-host instances of tenant {tenant.name} ({settings.environment})",
            assume_role_policy=service_trust_policy("ec2.amazonaws.com"),
            permissions_boundary=settings.required_roles.tenant_boundary,
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-access",
            name="tenant-resources",
            role=self.role.id,
            policy=iam.document(host_policy(settings, tenant.name, args.attestation)["Statement"]),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-ssm",
            role=self.role.name,
            policy_arn=managed_policy_arn(settings.partition, SSM_POLICY),
            opts=child,
        )
        self.instance_profile = aws.iam.InstanceProfile(
            f"{name}-profile", name=role_name, role=self.role.name, opts=child
        )
        self.register_outputs({"role_arn": self.role.arn, "instance_profile": self.instance_profile.name})
