"""The hardening every platform bucket shares (CONTROLS REG-7..REG-11, KMS-9).

Used by the model store and the log bucket components: the public access block with all four
flags, ACLs disabled (BucketOwnerEnforced), versioning, default encryption (SSE-KMS for model and
data buckets, SSE-S3 for a server access log destination), the lifecycle rule of a versioned bucket, and the
bucket policy statements they share. pulumi-aws 7's ``aws.s3.Bucket`` is the V2 resource, configured through
these standalone resources.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from infra import iam


def harden(
    parent: pulumi.Resource,
    name: str,
    bucket: aws.s3.Bucket,
    encryption: aws.s3.BucketServerSideEncryptionConfigurationRuleArgsDict,
) -> None:
    """Block public access, disable ACLs, version, and encrypt by default with ``encryption``."""
    opts = pulumi.ResourceOptions(parent=parent)
    aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(name, bucket=bucket.id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts)
    aws.s3.BucketVersioning(name, bucket=bucket.id, versioning_configuration={"status": "Enabled"}, opts=opts)
    aws.s3.BucketServerSideEncryptionConfiguration(name, bucket=bucket.id, rules=[encryption], opts=opts)


def expire_old_versions(
    parent: pulumi.Resource,
    name: str,
    bucket: aws.s3.Bucket,
    rule_id: str,
    noncurrent_days: pulumi.Input[int],
    abort_multipart_days: int,
    expiration_days: pulumi.Input[int] | None = None,
    transitions: Sequence[aws.s3.BucketLifecycleConfigurationRuleTransitionArgsDict] = (),
) -> None:
    """The lifecycle of a versioned platform bucket (``harden``): one rule over every object that expires
    superseded versions after ``noncurrent_days`` and aborts incomplete multipart uploads, and optionally expires
    current objects after ``expiration_days`` and moves them by ``transitions``.
    """
    rule: aws.s3.BucketLifecycleConfigurationRuleArgsDict = {
        "id": rule_id,
        "status": "Enabled",
        "filter": {"prefix": ""},
    }
    if transitions:
        rule["transitions"] = list(transitions)
    if expiration_days is not None:
        rule["expiration"] = {"days": expiration_days}
    rule["noncurrent_version_expiration"] = {"noncurrent_days": noncurrent_days}
    rule["abort_incomplete_multipart_upload"] = {"days_after_initiation": abort_multipart_days}
    aws.s3.BucketLifecycleConfiguration(
        name, bucket=bucket.id, rules=[rule], opts=pulumi.ResourceOptions(parent=parent)
    )


def kms_encryption(key_arn: pulumi.Input[str]) -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgsDict:
    """Default encryption SSE-KMS with ``key_arn`` and S3 Bucket Keys (CONTROLS KMS-9)."""
    return {
        "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key_arn},
        "bucket_key_enabled": True,
    }


def sse_s3_encryption() -> aws.s3.BucketServerSideEncryptionConfigurationRuleArgsDict:
    """Default encryption SSE-S3 (AES256): the only default encryption of a server access log destination.

    The Amazon S3 User Guide ("Enabling Amazon S3 server access logging",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html) supports
    default encryption on a destination bucket only with SSE-S3; SSE-KMS is not supported there, so
    logs might never arrive. S3 Bucket Keys apply to SSE-KMS only and are not set.
    """
    return {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}


def resources(bucket_arn: str) -> list[str]:
    return [bucket_arn, f"{bucket_arn}/*"]


def deny_insecure_transport(bucket_arn: str) -> iam.Statement:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": resources(bucket_arn),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def deny_encryption_overrides(bucket_arn: str) -> iam.Statement:
    """Deny uploads that name a KMS key, so every SSE-KMS object is encrypted with the bucket default's key.

    Only a present header is denied (``Null: false``): an upload without one gets the bucket default.
    """
    return {
        "Sid": "DenyEncryptionOverrides",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {"Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}},
    }


def deny_other_principals(sid: str, bucket_arn: str, actions: Sequence[str], allowed: Sequence[str]) -> iam.Statement:
    """Deny ``actions`` to every IAM principal whose ARN is not in ``allowed``."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(actions),
        "Resource": resources(bucket_arn),
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": sorted(set(allowed))}},
    }
