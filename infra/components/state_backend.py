"""StateBackend: the Pulumi state bucket and the key of the ``awskms://`` secrets provider (deployment bootstrap).

Created first in an account, with a local backend and the passphrase secrets provider, before any role of
the account baseline exists (docs/bootstrap.md). So no policy here names a role: KMS and S3 reject a policy
whose principal does not exist (the ``Policy`` parameter of CreateKey, AWS KMS API Reference), and the roles
that will use these resources (deployer, platform-admin, break-glass) come later. The key policies delegate
use to IAM instead: the account root is the principal, and the IAM policies of the account's principals
decide who may use each key, each only as its purpose needs.

- The ``state`` key encrypts the state bucket (SSE-KMS with S3 Bucket Keys, CONTROLS KMS-9). Its policy:
  ``AccountAdministration`` (the account root administers, never uses, as every key ring key) and
  ``AccountPrincipalsThroughS3`` (IAM principals of this account, only through S3 in the stack's region).
- The ``stack-secrets`` key is the ``awskms://`` secrets provider of every stack whose state the bucket
  holds. The Pulumi CLI encrypts a fresh data key with it when a stack takes the provider and decrypts it on
  every run (pulumi/pulumi pkg/secrets/cloud/manager.go, ``generateNewDataKey`` and ``newCloudSecretsManager``
  (v3.274.1): ``Encrypt`` and ``Decrypt``, called directly, not through a service). Its policy:
  ``AccountAdministration`` and ``AccountPrincipalsEncryptStackSecrets`` (those two calls and
  ``DescribeKey``, by IAM principals of this account).
- The bucket: versioned (every checkpoint the CLI writes is kept until the environment's retention expires it),
  SSE-KMS with the state key and S3 Bucket Keys, all four public access blocks, ACLs disabled
  (BucketOwnerEnforced), a policy that denies every request without TLS and every upload that names another
  encryption than the bucket default. Object-level access is recorded by the account baseline's trail, whose
  data events cover every ``aip-<env>-`` bucket (infra.components.audit_trail); no server access logging:
  the policy pack requires it of model and data buckets only (REG-10).
- ``protect``: the keys and the bucket hold every stack's state; ``pulumi destroy`` of the bootstrap stack
  stops at them until someone unprotects them on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from aiplatform_standards import platform

from infra import iam, naming, s3
from infra.components.key_ring import ADMIN_ACTIONS, USE_ACTIONS, deletion_window_days
from infra.config import Settings
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:state_backend:StateBackend"

# Key purposes of the bootstrap (standards: kms.purposes), and the bucket's purpose in its name.
STATE = "state"
STACK_SECRETS = "stack-secrets"
# What the Pulumi CLI's awskms:// secrets manager calls (module docstring).
SECRETS_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt")
ABORT_MULTIPART_DAYS = 1

_KMS = platform()["kms"]


@dataclass
class StateBackendArgs:
    """The bootstrap stack's settings: its account, region and environment name everything."""

    settings: Settings


def state_bucket_name(settings: Settings) -> str:
    """e.g. ``aip-prod-platform-state-444455556666-us-east-1``."""
    return naming.bucket_name(settings.environment, PLATFORM, STATE, settings.account_id, settings.region)


def key_alias(settings: Settings, purpose: str) -> str:
    return naming.kms_alias(settings.environment, PLATFORM, purpose)


def backend_url(settings: Settings) -> str:
    """What ``pulumi login`` takes for the state bucket.

    gocloud.dev's s3blob driver reads ``region`` (gocloud.dev aws/aws.go ``V2ConfigFromURLParams``, the version
    pulumi/pulumi v3.274.1 builds with); ``awssdk=v2`` selects the v2 SDK in CLIs built with an older gocloud.dev
    and is ignored by that one (its ``case "awssdk"``).
    """
    return f"s3://{state_bucket_name(settings)}?region={settings.region}&awssdk=v2"


def secrets_provider_url(settings: Settings) -> str:
    """What ``--secrets-provider`` takes: the key's alias (gocloud.dev secrets/awskms ``OpenKeeperURL`` joins the
    URL's host and path into the key id, so ``alias/<env>/platform/stack-secrets`` keeps its slashes)."""
    return f"awskms://{key_alias(settings, STACK_SECRETS)}?region={settings.region}"


def _account_administration(settings: Settings) -> iam.Statement:
    return {
        "Sid": "AccountAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": iam.account_root(settings)},
        "Action": list(ADMIN_ACTIONS),
        "Resource": "*",
    }


def state_key_policy(settings: Settings) -> list[iam.Statement]:
    """The state key: administered by the account, used by its IAM principals only through S3."""
    return [
        _account_administration(settings),
        {
            "Sid": "AccountPrincipalsThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": iam.account_root(settings)},
            "Action": list(USE_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:CallerAccount": settings.account_id,
                    "kms:ViaService": iam.regional_service(settings, "s3"),
                }
            },
        },
    ]


def secrets_key_policy(settings: Settings) -> list[iam.Statement]:
    """The stack-secrets key: administered by the account, used by its IAM principals for the CLI's data keys."""
    return [
        _account_administration(settings),
        {
            "Sid": "AccountPrincipalsEncryptStackSecrets",
            "Effect": "Allow",
            "Principal": {"AWS": iam.account_root(settings)},
            "Action": list(SECRETS_ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": settings.account_id}},
        },
    ]


def state_bucket_policy(bucket_arn: str) -> list[iam.Statement]:
    """TLS only, and every object encrypted by the bucket default (the state key)."""
    return [
        s3.deny_insecure_transport(bucket_arn),
        {
            "Sid": "DenyEncryptionOverrides",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {"Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}},
        },
        {
            "Sid": "DenyNonKmsEncryption",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        },
    ]


class StateBackend(pulumi.ComponentResource):
    """The state bucket with its key, and the stack secrets key, each key with its alias."""

    bucket: aws.s3.Bucket
    keys: dict[str, aws.kms.Key]
    aliases: dict[str, aws.kms.Alias]

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        kept = pulumi.ResourceOptions(parent=self, protect=True)
        policies = {STATE: state_key_policy(settings), STACK_SECRETS: secrets_key_policy(settings)}
        self.keys, self.aliases = {}, {}
        for purpose, statements in policies.items():
            alias = key_alias(settings, purpose)
            key = aws.kms.Key(
                f"{name}-{purpose}",
                description=f"{alias}: {purpose} of {PLATFORM} in {settings.environment}",
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                enable_key_rotation=True,
                rotation_period_in_days=int(_KMS["max_rotation_period_days"]),
                deletion_window_in_days=deletion_window_days(settings),
                bypass_policy_lockout_safety_check=False,
                policy=iam.document(statements),
                opts=kept,
            )
            self.keys[purpose] = key
            self.aliases[purpose] = aws.kms.Alias(f"{name}-{purpose}", name=alias, target_key_id=key.key_id, opts=child)

        bucket_name = state_bucket_name(settings)
        self.bucket = aws.s3.Bucket(name, bucket=bucket_name, force_destroy=False, opts=kept)
        s3.harden(self, name, self.bucket, s3.kms_encryption(self.keys[STATE].arn))
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-superseded-state",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": settings.log_retention_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS},
                }
            ],
            opts=child,
        )
        bucket_arn = f"arn:{settings.partition}:s3:::{bucket_name}"
        aws.s3.BucketPolicy(
            name, bucket=self.bucket.id, policy=iam.document(state_bucket_policy(bucket_arn)), opts=child
        )
        self.register_outputs({"bucketName": self.bucket.bucket, "keyArns": {p: k.arn for p, k in self.keys.items()}})
