"""S3 buckets: public access, encryption, versioning, ownership, policy and logs (REG-7..11, KMS-9)."""

from __future__ import annotations

from typing import Any

from aiplatform_standards import platform

from audit.context import AuditContext
from audit.identity import bucket_purpose, key_problems, resource_owner
from audit.model import PLATFORM_OWNER, S3_BUCKET, Outcome, Resource
from audit.policy import Admission, Statement, foreign_principals, statements
from audit.registry import check

_PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
_KMS_PURPOSES = frozenset(platform()["kms"]["purposes"])
_LOG_DELIVERY = "logging.s3.amazonaws.com"
# Services that deliver logs to the platform's log bucket (server access logs, CloudTrail, flow logs).
_PLATFORM_LOG_SERVICES = frozenset({_LOG_DELIVERY, "cloudtrail.amazonaws.com", "delivery.logs.amazonaws.com"})


def _policy(ctx: AuditContext, bucket: Resource) -> list[Statement]:
    response = ctx.api.call("s3", "GetBucketPolicy", absent=("NoSuchBucketPolicy",), Bucket=bucket.id)
    return statements((response or {}).get("Policy"))


def _get(ctx: AuditContext, operation: str, bucket: Resource, absent: str = "") -> dict[str, Any] | None:
    return ctx.api.call("s3", operation, absent=(absent,) if absent else (), Bucket=bucket.id)


@check(
    "s3-public-access-block",
    title="All four public access blocks are on",
    controls=("REG-7",),
    severity="high",
    resource_types=(S3_BUCKET,),
    remediation="Set the bucket's public access block with all four flags true (in the stack).",
)
def s3_public_access_block(ctx: AuditContext, bucket: Resource) -> Outcome:
    response = _get(ctx, "GetPublicAccessBlock", bucket, "NoSuchPublicAccessBlockConfiguration")
    if response is None:
        return ["the bucket has no public access block"]
    configuration = response["PublicAccessBlockConfiguration"]
    off = [flag for flag in _PUBLIC_ACCESS_FLAGS if not configuration.get(flag)]
    return [f"public access block flags off: {', '.join(off)}"] if off else []


@check(
    "s3-default-encryption",
    title="Default encryption is SSE-KMS with the owner's key and a bucket key",
    controls=("KMS-9", "KMS-5"),
    severity="high",
    resource_types=(S3_BUCKET,),
    remediation=(
        "Set default encryption to aws:kms with the owner's alias/<env>/<owner>/<purpose> key and "
        "BucketKeyEnabled true (in the stack)."
    ),
)
def s3_default_encryption(ctx: AuditContext, bucket: Resource) -> Outcome:
    response = _get(ctx, "GetBucketEncryption", bucket, "ServerSideEncryptionConfigurationNotFoundError")
    rules = (response or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    if not rules:
        return ["the bucket has no default encryption configuration"]
    rule = rules[0]
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    if default.get("SSEAlgorithm") not in ("aws:kms", "aws:kms:dsse"):
        return [f"default encryption is {default.get('SSEAlgorithm')}, not aws:kms"]
    problems = []
    if not rule.get("BucketKeyEnabled"):
        problems.append("the S3 bucket key is off")
    purpose = bucket_purpose(ctx, bucket)
    problems += key_problems(
        ctx, default.get("KMSMasterKeyID"), resource_owner(bucket), purpose if purpose in _KMS_PURPOSES else None
    )
    return problems


@check(
    "s3-versioning",
    title="Versioning is enabled",
    controls=("REG-11",),
    severity="medium",
    resource_types=(S3_BUCKET,),
    remediation="Enable versioning on the bucket (in the stack).",
)
def s3_versioning(ctx: AuditContext, bucket: Resource) -> Outcome:
    status = (_get(ctx, "GetBucketVersioning", bucket) or {}).get("Status", "never enabled")
    return [] if status == "Enabled" else [f"versioning is {status}"]


@check(
    "s3-ownership-enforced",
    title="Object ownership is BucketOwnerEnforced (ACLs disabled)",
    controls=("REG-9",),
    severity="medium",
    resource_types=(S3_BUCKET,),
    remediation="Set the bucket's object ownership to BucketOwnerEnforced (in the stack).",
)
def s3_ownership_enforced(ctx: AuditContext, bucket: Resource) -> Outcome:
    response = _get(ctx, "GetBucketOwnershipControls", bucket, "OwnershipControlsNotFoundError")
    rules = (response or {}).get("OwnershipControls", {}).get("Rules", [])
    ownership = rules[0].get("ObjectOwnership") if rules else "not set (ACLs enabled)"
    return [] if ownership == "BucketOwnerEnforced" else [f"object ownership is {ownership}"]


def _denies_insecure_transport(statement: Statement) -> bool:
    return (
        statement.effect == "Deny"
        and any(principal.wildcard for principal in statement.principals)
        and statement.covers("s3:GetObject")
        and statement.covers("s3:PutObject")
        and any(
            operator.startswith("Bool")
            and [value.lower() for value in by_key.get("aws:securetransport", ())] == ["false"]
            for operator, by_key in statement.conditions.items()
        )
    )


@check(
    "s3-bucket-policy",
    title="The bucket policy denies non-TLS access and admits only the owner's and break-glass roles",
    controls=("REG-8",),
    severity="high",
    resource_types=(S3_BUCKET,),
    remediation=(
        "Add a Deny for every principal when aws:SecureTransport is false, and remove foreign principals "
        "(the platform log bucket may admit log delivery services under aws:SourceAccount)."
    ),
)
def s3_bucket_policy(ctx: AuditContext, bucket: Resource) -> Outcome:
    policy = _policy(ctx, bucket)
    problems = [] if any(map(_denies_insecure_transport, policy)) else ["no statement denies requests without TLS"]
    owner = resource_owner(bucket)
    admit = Admission(services=_PLATFORM_LOG_SERVICES if owner.tenant == PLATFORM_OWNER else ())
    return problems + [problem for statement in policy for problem in foreign_principals(ctx, statement, owner, admit)]


@check(
    "s3-access-logging",
    title="Server access logs are delivered (except on the log bucket itself)",
    controls=("REG-10",),
    severity="medium",
    resource_types=(S3_BUCKET,),
    remediation="Send the bucket's server access logs to the platform log bucket (in the stack).",
)
def s3_access_logging(ctx: AuditContext, bucket: Resource) -> Outcome:
    # A bucket whose policy admits log delivery is a log destination: logging it to itself would loop.
    if any(
        principal.value == _LOG_DELIVERY for statement in _policy(ctx, bucket) for principal in statement.principals
    ):
        return None
    enabled = (_get(ctx, "GetBucketLogging", bucket) or {}).get("LoggingEnabled", {})
    return [] if enabled.get("TargetBucket") else ["server access logging is off"]
