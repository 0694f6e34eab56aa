"""LogBucket: an owner's bucket that receives S3 server access logs (CONTROLS REG-7..REG-10).

The owner is the platform in the shared cluster and the tenant in a tier C stack, and its name
(``aip-<env>-<owner>-access-logs-<account>-<region>``) carries it: a tier C stack in the same
account as platform-<env> or as another tier C stack creates a bucket of its own, not the same name.

Default encryption SSE-S3 (AES256), not SSE-KMS: the Amazon S3 User Guide ("Enabling Amazon S3
server access logging",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html) supports
default encryption on a server access log destination bucket only with SSE-S3; with SSE-KMS, log
delivery is not supported and the logs REG-10 requires might never arrive. No KMS key is involved,
so no key policy admits ``logging.s3.amazonaws.com``. Its policy admits ``logging.s3.amazonaws.com``
to write, only for source buckets of this account (``aws:SourceAccount``) and of the environment or,
for a tenant's log bucket, of that tenant alone (``aws:SourceArn``); reading and deleting logs is
denied to every principal but the platform admin and break-glass roles; and every request must use
TLS. Logs expire after the environment's log retention.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import iam, naming, s3
from infra.config import Settings
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:log_bucket:LogBucket"

READ_ACTIONS = ("s3:DeleteObject*", "s3:GetObject*", "s3:ListBucket*", "s3:RestoreObject")
NONCURRENT_DAYS = 30


@dataclass
class LogBucketArgs:
    """The stack whose buckets log here, and whose bucket it is."""

    settings: Settings
    # The platform's (shared cluster) or the tenant's (tier C stack): the name's owner and whose buckets may log here.
    owner: str = PLATFORM


def log_bucket_policy(settings: Settings, bucket_arn: str, owner: str = PLATFORM) -> list[iam.Statement]:
    roles = settings.required_roles
    # The platform's bucket receives every tenant's logs; a tenant's, only the tenant's own buckets' logs.
    prefix = naming.bucket_prefix(settings.environment, None if owner == PLATFORM else owner)
    sources = f"arn:{settings.partition}:s3:::{prefix}*"
    return [
        s3.deny_insecure_transport(bucket_arn),
        {
            "Sid": "S3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": iam.service_principal("logging.s3")},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": settings.account_id},
                "ArnLike": {"aws:SourceArn": sources},
            },
        },
        s3.deny_other_principals(
            "DenyLogAccessOutsidePlatformOperators", bucket_arn, READ_ACTIONS, [roles.platform_admin, roles.break_glass]
        ),
    ]


class LogBucket(pulumi.ComponentResource):
    """The access-log destination of the stack's buckets."""

    bucket: aws.s3.Bucket
    bucket_name: pulumi.Output[str]

    def __init__(self, name: str, args: LogBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        bucket_name = naming.bucket_name(
            settings.environment, args.owner, naming.ACCESS_LOGS, settings.account_id, settings.region
        )
        self.bucket = aws.s3.Bucket(name, bucket=bucket_name, force_destroy=False, opts=child)
        s3.harden(self, name, self.bucket, s3.sse_s3_encryption())
        s3.expire_old_versions(
            self,
            name,
            self.bucket,
            "expire-access-logs",
            NONCURRENT_DAYS,
            abort_multipart_days=1,
            expiration_days=settings.log_retention_days,
        )
        bucket_arn = iam.bucket_arn(settings, bucket_name)
        aws.s3.BucketPolicy(
            name,
            bucket=self.bucket.id,
            policy=iam.document(log_bucket_policy(settings, bucket_arn, args.owner)),
            opts=child,
        )
        self.bucket_name = self.bucket.bucket
        self.register_outputs({"bucketName": self.bucket_name})
