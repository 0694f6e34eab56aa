"""A tenant's workload identity: the IAM role its pods assume through EKS Pod Identity.

Created first for each tenant, before its keys, bucket and repositories exist (their policies
name this role), so its own policy cannot take their ARNs: it is scoped by the names the platform
derives deterministically instead (infra/naming.py):

- the tenant's model bucket ``naming.bucket_name(env, tenant, "models", account, region)``:
  list it, read and write its objects (no delete: the bucket is versioned, deletion is an
  operator's act);
- its ECR repositories ``<naming.repository_prefix(env, tenant)>*``: pull only (push is CI's);
- KMS: only keys whose alias is ``alias/<env>/<tenant>/*`` and only through S3
  (``kms:ResourceAliases`` plus ``kms:ViaService``), so another owner's key is never usable even
  if a key policy were mistakenly to admit this role.

Trust (CONTROLS IAM-3, IAM-4, EKS-6): the EKS Pod Identity service only, for this account and
this cluster (``aws:SourceAccount``, ``aws:SourceArn``), and only for the tenant's workload service
account in the tenant's namespace on this cluster: Pod Identity sets those as session tags, so an
association made in another namespace cannot assume the role. The tenant permissions boundary
caps whatever is attached later.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import naming
from infra.config import Settings, Tenant
from infra.tags import TagScope, scoped_options

TYPE = "secure-ai-platform:tenant_identity:TenantIdentity"

# The service account of a tenant's workloads (TenantSpace creates it in the tenant's namespace).
WORKLOAD_SERVICE_ACCOUNT = "workload"
POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"

_S3_BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation")
_S3_OBJECT_ACTIONS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
_ECR_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")
_KMS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey")


@dataclass
class TenantIdentityArgs:
    """Inputs of a tenant's workload identity."""

    settings: Settings
    tenant: Tenant
    # The physical name of the cluster whose pods may assume the role (naming.cluster_name).
    cluster_name: str


def trust_policy(*, partition: str, account: str, region: str, cluster_name: str, namespace: str) -> dict[str, Any]:
    """EKS Pod Identity may assume the role for the tenant's workload service account only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PodIdentityForTenantWorkload",
                "Effect": "Allow",
                "Principal": {"Service": POD_IDENTITY_SERVICE},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": account,
                        "aws:RequestTag/eks-cluster-name": cluster_name,
                        "aws:RequestTag/kubernetes-namespace": namespace,
                        "aws:RequestTag/kubernetes-service-account": WORKLOAD_SERVICE_ACCOUNT,
                    },
                    "ArnEquals": {"aws:SourceArn": f"arn:{partition}:eks:{region}:{account}:cluster/{cluster_name}"},
                },
            }
        ],
    }


def workload_policy(*, partition: str, account: str, region: str, environment: str, tenant: str) -> dict[str, Any]:
    """Least privilege on the tenant's own bucket, repositories and keys, addressed by name."""
    bucket = naming.bucket_name(environment, tenant, "models", account, region)
    repositories = f"arn:{partition}:ecr:{region}:{account}:repository/{naming.repository_prefix(environment, tenant)}*"
    key_aliases = naming.kms_alias(environment, tenant, "*")
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ListModelBucket",
                "Effect": "Allow",
                "Action": list(_S3_BUCKET_ACTIONS),
                "Resource": f"arn:{partition}:s3:::{bucket}",
            },
            {
                "Sid": "ReadWriteModelObjects",
                "Effect": "Allow",
                "Action": list(_S3_OBJECT_ACTIONS),
                "Resource": f"arn:{partition}:s3:::{bucket}/*",
            },
            {
                "Sid": "PullOwnRepositories",
                "Effect": "Allow",
                "Action": list(_ECR_PULL_ACTIONS),
                "Resource": repositories,
            },
            {
                # ECR issues registry tokens without resource-level scoping; pulls stay limited above.
                "Sid": "EcrRegistryToken",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            {
                "Sid": "UseOwnKeysThroughS3",
                "Effect": "Allow",
                "Action": list(_KMS_ACTIONS),
                "Resource": f"arn:{partition}:kms:{region}:{account}:key/*",
                "Condition": {
                    "ForAnyValue:StringLike": {"kms:ResourceAliases": key_aliases},
                    "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                },
            },
        ],
    }


class TenantIdentity(pulumi.ComponentResource):
    """The IAM role a tenant's pods assume, bounded and scoped to the tenant's own resources."""

    workload_role: aws.iam.Role
    workload_policy: aws.iam.RolePolicy
    namespace: str
    service_account: str

    def __init__(self, name: str, args: TenantIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        settings, tenant = args.settings, args.tenant
        scope = TagScope.for_tenant(settings, tenant.name)
        super().__init__(TYPE, name, None, scoped_options(settings, scope, opts))
        child = pulumi.ResourceOptions(parent=self)

        self.namespace = naming.namespace(tenant.name)
        self.service_account = WORKLOAD_SERVICE_ACCOUNT
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        # The partition is the second field of the caller's ARN (aws, aws-cn, aws-us-gov).
        partition = caller.arn.apply(lambda arn: arn.split(":")[1])

        where = pulumi.Output.all(partition, caller.account_id, region)

        def document(build: Callable[..., dict[str, Any]], **names: str) -> pulumi.Output[str]:
            return where.apply(
                lambda values: json.dumps(build(partition=values[0], account=values[1], region=values[2], **names))
            )

        self.workload_role = aws.iam.Role(
            f"{name}-workload",
            name=naming.role_name(settings.environment, tenant.name, "workload"),
            description=f"Workloads of tenant {tenant.name} ({settings.environment}), through EKS Pod Identity",
            assume_role_policy=document(trust_policy, cluster_name=args.cluster_name, namespace=self.namespace),
            permissions_boundary=settings.required_roles.tenant_boundary,
            max_session_duration=3600,
            opts=child,
        )
        self.workload_policy = aws.iam.RolePolicy(
            f"{name}-workload-access",
            name="tenant-resources",
            role=self.workload_role.id,
            policy=document(workload_policy, environment=settings.environment, tenant=tenant.name),
            opts=child,
        )
        self.register_outputs(
            {
                "workload_role_arn": self.workload_role.arn,
                "workload_role_name": self.workload_role.name,
                "namespace": self.namespace,
                "service_account": self.service_account,
            }
        )
