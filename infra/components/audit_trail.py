"""AuditTrail: the account's multi-region CloudTrail and where it delivers (CONTROLS AUD-1..3).

- The trail: every region, global service events, log file validation, encrypted with the
  baseline's audit key, all management events plus the S3 object events of the buckets whose
  names start with the configured prefixes (the model and dataset buckets; AUD-2). The trail's
  own bucket is excluded: logging its deliveries would log itself without end.
- The log bucket: object lock (governance in dev, compliance in prod, retention from config),
  versioning, SSE-KMS with the audit key, the public access block, ACLs disabled, lifecycle to
  Glacier Instant Retrieval, TLS only; only CloudTrail may write, and only the break-glass and
  audit roles may read.
- The CloudWatch Logs group (audit key, retention set) and the role CloudTrail delivers with,
  which may write only to that group and carries the platform boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import iam, naming, s3
from infra.components.platform_roles import PATH
from infra.config import ObjectLockMode, Settings
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:audit_trail:AuditTrail"

ARCHIVE_AFTER_DAYS = 90
ARCHIVE_CLASS = "GLACIER_IR"
READ_ACTIONS = ("s3:DeleteObject*", "s3:GetObject*", "s3:ListBucket*", "s3:RestoreObject")


@dataclass
class AuditTrailArgs:
    """The stack, the audit key, who may read the logs, what to record, and how long to lock it."""

    settings: Settings
    audit_key_arn: pulumi.Input[str]
    platform_boundary_arn: pulumi.Input[str]
    reader_role_arns: Sequence[str]
    data_event_bucket_prefixes: Sequence[str]
    lock_mode: ObjectLockMode
    lock_days: int


def trail_name(settings: Settings) -> str:
    return naming.resource_name(settings.environment, PLATFORM, "audit")


def trail_arn(settings: Settings) -> str:
    return f"arn:{settings.partition}:cloudtrail:{settings.region}:{settings.account_id}:trail/{trail_name(settings)}"


def bucket_name(settings: Settings) -> str:
    return naming.bucket_name(settings.environment, PLATFORM, "audit", settings.account_id, settings.region)


def bucket_arn(settings: Settings) -> str:
    return iam.bucket_arn(settings, bucket_name(settings))


def log_group_name(settings: Settings) -> str:
    return naming.log_group_name(settings.environment, PLATFORM, "cloudtrail")


def log_group_arn(settings: Settings) -> str:
    return iam.regional_arn(settings, "logs", f"log-group:{log_group_name(settings)}")


def event_selectors(
    settings: Settings, prefixes: Sequence[str]
) -> list[aws.cloudtrail.TrailAdvancedEventSelectorArgsDict]:
    """All management events, and S3 object events of the selected buckets except the trail's own."""
    partition = settings.partition
    return [
        {
            "name": "All management events",
            "field_selectors": [{"field": "eventCategory", "equals": ["Management"]}],
        },
        {
            "name": "Model and dataset bucket objects",
            "field_selectors": [
                {"field": "eventCategory", "equals": ["Data"]},
                {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                {
                    "field": "resources.ARN",
                    "starts_withs": [f"arn:{partition}:s3:::{prefix}" for prefix in prefixes],
                    "not_starts_withs": [f"{bucket_arn(settings)}/"],
                },
            ],
        },
    ]


def bucket_policy(settings: Settings, readers: Sequence[str]) -> list[iam.Statement]:
    arn = bucket_arn(settings)
    cloudtrail = {"Service": iam.service_principal("cloudtrail")}
    source = {"aws:SourceArn": trail_arn(settings)}
    return [
        s3.deny_insecure_transport(arn),
        {
            "Sid": "CloudTrailChecksAcl",
            "Effect": "Allow",
            "Principal": cloudtrail,
            "Action": "s3:GetBucketAcl",
            "Resource": arn,
            "Condition": {"StringEquals": source},
        },
        {
            "Sid": "CloudTrailDelivers",
            "Effect": "Allow",
            "Principal": cloudtrail,
            "Action": "s3:PutObject",
            "Resource": f"{arn}/AWSLogs/{settings.account_id}/*",
            "Condition": {"StringEquals": {**source, "s3:x-amz-acl": "bucket-owner-full-control"}},
        },
        {
            "Sid": "DenyWritesOutsideCloudTrail",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject*",
            "Resource": f"{arn}/*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalServiceName": iam.service_principal("cloudtrail")}},
        },
        s3.deny_other_principals("DenyLogAccessOutsideAuditors", arn, READ_ACTIONS, readers),
    ]


def delivery_trust(settings: Settings) -> list[iam.Statement]:
    return [
        {
            "Sid": "ThisTrailOnly",
            "Effect": "Allow",
            "Principal": {"Service": iam.service_principal("cloudtrail")},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceArn": trail_arn(settings), "aws:SourceAccount": settings.account_id}
            },
        }
    ]


def delivery_permissions(settings: Settings) -> list[iam.Statement]:
    return [
        {
            "Sid": "WriteTrailLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn(settings)}:log-stream:*",
        }
    ]


class AuditTrail(pulumi.ComponentResource):
    """The trail, its locked log bucket, its log group and its delivery role."""

    trail: aws.cloudtrail.Trail
    bucket: aws.s3.Bucket
    log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)

        self.bucket = aws.s3.Bucket(
            name, bucket=bucket_name(settings), object_lock_enabled=True, force_destroy=False, opts=child
        )
        s3.harden(
            self,
            name,
            self.bucket,
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": args.audit_key_arn,
                },
                "bucket_key_enabled": True,
            },
        )
        aws.s3.BucketObjectLockConfiguration(
            name,
            bucket=self.bucket.id,
            object_lock_enabled="Enabled",
            rule={"default_retention": {"mode": args.lock_mode, "days": args.lock_days}},
            opts=child,
        )
        s3.expire_old_versions(
            self,
            name,
            self.bucket,
            "archive-audit-logs",
            args.lock_days,
            abort_multipart_days=7,
            transitions=[{"days": ARCHIVE_AFTER_DAYS, "storage_class": ARCHIVE_CLASS}],
        )
        policy = aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=iam.document(bucket_policy(settings, args.reader_role_arns)),
            opts=child,
        )

        self.log_group = aws.cloudwatch.LogGroup(
            name,
            name=log_group_name(settings),
            kms_key_id=args.audit_key_arn,
            retention_in_days=settings.log_retention_days,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-delivery",
            name=naming.role_name(settings.environment, PLATFORM, "cloudtrail-logs"),
            path=PATH,
            description="CloudTrail delivers the audit trail to its CloudWatch Logs group",
            assume_role_policy=iam.document(delivery_trust(settings)),
            permissions_boundary=args.platform_boundary_arn,
            opts=child,
        )
        delivery = aws.iam.RolePolicy(
            f"{name}-delivery",
            name="write-trail-log-group",
            role=role.id,
            policy=iam.document(delivery_permissions(settings)),
            opts=child,
        )

        self.trail = aws.cloudtrail.Trail(
            name,
            name=trail_name(settings),
            s3_bucket_name=bucket_name(settings),
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            kms_key_id=args.audit_key_arn,
            # Derived rather than read from the group, so that a first preview shows it (AUD-1).
            cloud_watch_logs_group_arn=f"{log_group_arn(settings)}:*",
            cloud_watch_logs_role_arn=role.arn,
            advanced_event_selectors=event_selectors(settings, args.data_event_bucket_prefixes),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.bucket, policy, self.log_group, delivery]),
        )
        self.register_outputs(
            {"trailArn": self.trail.arn, "bucketName": self.bucket.bucket, "logGroupName": self.log_group.name}
        )
