"""ModelStore: a tenant's model-artifact bucket (CONTROLS KMS-9, REG-7..REG-11).

SSE-KMS with the tenant's models key and S3 Bucket Keys on; versioning; all four public access
blocks; ACLs disabled; server access logs to the platform log bucket. The bucket policy:

- ``DenyInsecureTransport``: every request without TLS.
- ``DenyDataAccessOutsideTenant``: reading, writing, listing and deleting objects by any principal
  but the tenant's roles and the platform's break-glass role. Bucket configuration stays with the
  deployer's IAM permissions, so ``pulumi up`` cannot lock itself out.
- ``DenyEncryptionOverrides``: uploads that name a KMS key or another kind of server-side
  encryption, so every object is encrypted by the bucket default, the tenant's models key.

The policy names the bucket and the roles by their deterministic ARNs, so it is complete in a first
preview; ``depends_on`` holds the role resources it names (S3 rejects unknown principals).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from infra import iam, naming, s3
from infra.config import Settings, Tenant

TYPE = "secure-ai-platform:model_store:ModelStore"

DATA_ACTIONS = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject*",
    "s3:GetObject*",
    "s3:ListBucket*",
    "s3:ListMultipartUploadParts",
    "s3:PutObject*",
    "s3:ReplicateObject",
    "s3:RestoreObject",
)


@dataclass
class ModelStoreArgs:
    """Whose bucket, its key, the roles that may use it, and where its access logs go."""

    settings: Settings
    tenant: Tenant
    models_key_arn: pulumi.Input[str]
    tenant_role_arns: Sequence[pulumi.Input[str]]
    log_bucket_name: pulumi.Input[str]
    # The roles the bucket policy names, which must exist before it.
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)


def model_store_policy(settings: Settings, bucket_arn: str, tenant_roles: Sequence[str]) -> list[iam.Statement]:
    return [
        s3.deny_insecure_transport(bucket_arn),
        s3.deny_other_principals(
            "DenyDataAccessOutsideTenant",
            bucket_arn,
            DATA_ACTIONS,
            [*tenant_roles, settings.required_roles.break_glass],
        ),
        s3.deny_encryption_overrides(bucket_arn),
        {
            "Sid": "DenyNonKmsEncryption",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        },
    ]


class ModelStore(pulumi.ComponentResource):
    """The tenant's model-artifact bucket with its encryption, policy and access logging."""

    bucket: aws.s3.Bucket
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings, tenant = args.settings, args.tenant
        child = pulumi.ResourceOptions(parent=self)
        bucket_name = naming.bucket_name(
            settings.environment, tenant.name, "models", settings.account_id, settings.region
        )
        self.bucket = aws.s3.Bucket(name, bucket=bucket_name, force_destroy=False, opts=child)
        s3.harden(self, name, self.bucket, s3.kms_encryption(args.models_key_arn))
        aws.s3.BucketLogging(
            name,
            bucket=self.bucket.id,
            target_bucket=args.log_bucket_name,
            target_prefix=f"{bucket_name}/",
            opts=child,
        )
        bucket_arn = iam.bucket_arn(settings, bucket_name)
        aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=iam.policy(functools.partial(model_store_policy, settings, bucket_arn), args.tenant_role_arns),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.bucket_name = self.bucket.bucket
        self.register_outputs({"bucketName": self.bucket_name})
