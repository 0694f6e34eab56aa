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
- Tier C tenants' runners (``bootstrap.tenantAccounts``): a tier C cluster stack ``tenant-<tenant>-<env>`` keeps
  its state here while its in-VPC deploy runner runs in the tenant's own account. Its run 2 needs, across
  accounts, both its own policy and these resource policies to allow each call, so the bucket policy admits that
  runner to exactly its stack's objects, the backend's metadata and its source archive, the state key through S3
  and the secrets key for Decrypt. Still no role is named as a principal: the runner does not exist when the
  bootstrap runs, so each statement names the tenant's account root and narrows it with ``aws:PrincipalArn`` to
  the runner's role (``naming.deploy_runner_role_name``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import iam, naming, s3
from infra.components.key_ring import ADMIN_ACTIONS, USE_ACTIONS, key_with_alias
from infra.config import PROJECT, TIER_C_STACK_PREFIXES, Settings, TenantStateAccount
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:state_backend:StateBackend"

# Key purposes of the bootstrap (standards: kms.purposes), and the bucket's purpose in its name.
STATE = "state"
STACK_SECRETS = "stack-secrets"
# What the Pulumi CLI's awskms:// secrets manager calls (module docstring).
SECRETS_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt")
ABORT_MULTIPART_DAYS = 1
# Where CI uploads the repository a cluster stack's in-VPC deploy runner builds from (infra.components.deploy_runner).
SOURCE_PREFIX = "deploy-runner"
# The DIY backend's metadata file, which every CLI run reads (pulumi/pulumi pkg/backend/diy meta.go, pulumiMetaPath).
METADATA_KEY = ".pulumi/meta.yaml"
# What a deploy runner does with the state bucket's objects (infra.components.deploy_runner, runner_permissions).
SOURCE_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
STATE_OBJECT_ACTIONS = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")
# What S3 calls on the state key for a caller that reads and writes SSE-KMS objects with S3 Bucket Keys, and what
# the CLI's awskms:// secrets manager calls on every run (module docstring).
STATE_KEY_USE_THROUGH_S3 = ("kms:Decrypt", "kms:GenerateDataKey")
RUNNER_SECRETS_ACTIONS = ("kms:Decrypt",)


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


def secrets_key_alias_arn(settings: Settings) -> str:
    """The stack-secrets key's alias ARN, e.g. ``arn:aws:kms:us-east-1:<account>:alias/prod/platform/stack-secrets``."""
    return iam.regional_arn(settings, "kms", key_alias(settings, STACK_SECRETS))


def secrets_provider_url(settings: Settings) -> str:
    """What ``--secrets-provider`` takes: ``awskms:///<alias ARN>?region=<region>``, usable from any account.

    KMS resolves an alias name in the caller's account; a key in another account must be named by its key ARN or
    alias ARN (AWS KMS API Reference, Encrypt, ``KeyId``). A tier C tenant's stacks keep their secrets under this
    key while their runner and operators call from the tenant's account, so the URL names the alias ARN, which
    works from this account as well. gocloud.dev's awskms opener takes the URL's host and path, joined and with
    the leading ``/`` trimmed, as the key id, and an ARN's ``:`` cannot stand in a URL's host, hence the empty host
    of ``awskms:///`` (gocloud.dev secrets/awskms/kms.go, ``URLOpener``/``OpenKeeperURL``, the version pulumi/pulumi
    v3.274.1 builds with).
    """
    return f"awskms:///{secrets_key_alias_arn(settings)}?region={settings.region}"


def source_key(stack: str) -> str:
    """The S3 key of the repository archive the in-VPC run of ``stack`` builds from."""
    return f"{SOURCE_PREFIX}/{stack}/source.zip"


def stack_state_objects(bucket_arn: str, stack: str) -> list[str]:
    """The state bucket's objects the Pulumi DIY backend reads and writes for one stack of this project.

    pulumi/pulumi pkg/backend/diy (v3.274.1), project mode: the checkpoint and its ``.bak``, gzip/zstd
    variants and tags (store.go ``StackBasePath``, state.go ``stackPath``/``backupTarget``, stack_tags.go),
    history and backups (store.go ``HistoryDir``/``BackupDir``), locks (lock.go ``stackLockDir``:
    ``organization/<project>/<stack>``).
    """
    return [
        f"{bucket_arn}/.pulumi/stacks/{PROJECT}/{stack}.*",
        f"{bucket_arn}/.pulumi/history/{PROJECT}/{stack}/*",
        f"{bucket_arn}/.pulumi/backups/{PROJECT}/{stack}/*",
        f"{bucket_arn}/.pulumi/locks/organization/{PROJECT}/{stack}/*",
    ]


def tenant_cluster_stack(tenant: str, environment: str) -> str:
    """The tier C cluster stack of a tenant, ``tenant-<tenant>-<env>``: the one whose runner runs in its account."""
    return f"{TIER_C_STACK_PREFIXES['single-tenant-cluster']}-{tenant}-{environment}"


def tenant_runner_arn(settings: Settings, entry: TenantStateAccount) -> str:
    """The tenant's deploy runner role in its own account (named by naming.deploy_runner_role_name)."""
    name = naming.deploy_runner_role_name(settings.environment, entry.tenant)
    return iam.role_arn_in(settings.partition, entry.account_id, name)


def _tenant_roots(settings: Settings) -> str | list[str]:
    accounts = [entry.account_id for entry in _tenant_accounts(settings)]
    return iam.principals([iam.account_root_of(settings.partition, account) for account in accounts])


def _tenant_runners(settings: Settings) -> list[str]:
    return sorted(tenant_runner_arn(settings, entry) for entry in _tenant_accounts(settings))


def _tenant_accounts(settings: Settings) -> tuple[TenantStateAccount, ...]:
    return settings.bootstrap.tenant_accounts if settings.bootstrap is not None else ()


def _account_administration(settings: Settings) -> iam.Statement:
    return {
        "Sid": "AccountAdministration",
        "Effect": "Allow",
        "Principal": {"AWS": iam.account_root(settings)},
        "Action": list(ADMIN_ACTIONS),
        "Resource": "*",
    }


def state_key_policy(settings: Settings) -> list[iam.Statement]:
    """The state key: administered by the account, used by its IAM principals only through S3.

    With ``bootstrap.tenantAccounts``, also by exactly those tenants' deploy runners, only through S3: the account
    root as principal (the runner roles do not exist yet when the bootstrap runs), narrowed by ``aws:PrincipalArn``,
    which for a role session is the role's ARN (AWS IAM User Guide, "AWS global condition context keys",
    aws:PrincipalArn).
    """
    statements = [
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
    if _tenant_accounts(settings):
        statements.append(
            {
                "Sid": "TenantDeployRunnersThroughS3",
                "Effect": "Allow",
                "Principal": {"AWS": _tenant_roots(settings)},
                "Action": list(STATE_KEY_USE_THROUGH_S3),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:ViaService": iam.regional_service(settings, "s3")},
                    "ArnLike": {"aws:PrincipalArn": _tenant_runners(settings)},
                },
            }
        )
    return statements


def secrets_key_policy(settings: Settings) -> list[iam.Statement]:
    """The stack-secrets key: administered by the account, used by its IAM principals for the CLI's data keys.

    With ``bootstrap.tenantAccounts``, the tenants' deploy runners may decrypt their stack's data key, nothing more
    (they never take a new secrets provider, so never encrypt one).
    """
    statements = [
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
    if _tenant_accounts(settings):
        statements.append(
            {
                "Sid": "TenantDeployRunnersDecryptStackSecrets",
                "Effect": "Allow",
                "Principal": {"AWS": _tenant_roots(settings)},
                "Action": list(RUNNER_SECRETS_ACTIONS),
                "Resource": "*",
                "Condition": {"ArnLike": {"aws:PrincipalArn": _tenant_runners(settings)}},
            }
        )
    return statements


def _statement_id(tenant: str) -> str:
    """``risk-models`` -> ``RiskModels``: policy statement ids take letters and digits only."""
    return "".join(part.capitalize() for part in tenant.split("-"))


def tenant_runner_statements(settings: Settings, bucket_arn: str, entry: TenantStateAccount) -> list[iam.Statement]:
    """What one tier C tenant's deploy runner may do in the bucket: its stack's source archive, the backend's
    metadata, its stack's state objects, and listing (which the backend needs, deploy_runner.runner_permissions).

    Cross-account, the bucket policy and the runner's own policy must both allow each request; these are the
    runner's statements ``ReadSourceAndStateMetadata``, ``ReadWriteThisStacksState`` and ``ListStateBucket``.
    """
    stack = tenant_cluster_stack(entry.tenant, settings.environment)
    principal = {"AWS": iam.account_root_of(settings.partition, entry.account_id)}
    condition = {"ArnLike": {"aws:PrincipalArn": tenant_runner_arn(settings, entry)}}
    sid = _statement_id(entry.tenant)
    return [
        {
            "Sid": f"{sid}DeployRunnerReadsSource",
            "Effect": "Allow",
            "Principal": principal,
            "Action": list(SOURCE_READ_ACTIONS),
            "Resource": [f"{bucket_arn}/{source_key(stack)}", f"{bucket_arn}/{METADATA_KEY}"],
            "Condition": condition,
        },
        {
            "Sid": f"{sid}DeployRunnerState",
            "Effect": "Allow",
            "Principal": principal,
            "Action": list(STATE_OBJECT_ACTIONS),
            "Resource": stack_state_objects(bucket_arn, stack),
            "Condition": condition,
        },
        {
            "Sid": f"{sid}DeployRunnerLists",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": condition,
        },
    ]


def state_bucket_policy(settings: Settings, bucket_arn: str) -> list[iam.Statement]:
    """TLS only, every object encrypted by the bucket default (the state key), and the tenants' runners' access.

    The Pulumi CLI writes state without any encryption header (gocloud.dev blob/s3blob sends
    ``x-amz-server-side-encryption`` only with the URL's ``ssetype``, which the backend URL does not set), so the
    bucket default applies. A deny must therefore fire only on a header that is present and names something else:
    ``Null: false`` with ``StringNotEquals``. ``StringNotEqualsIfExists``, and ``StringNotEquals`` alone, evaluate
    true when the key is absent (AWS IAM User Guide, "IAM JSON policy elements: Condition operators") and would deny
    every state write.
    """
    return [
        s3.deny_insecure_transport(bucket_arn),
        s3.deny_encryption_overrides(bucket_arn),
        {
            "Sid": "DenyNonKmsEncryption",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {
                "Null": {"s3:x-amz-server-side-encryption": "false"},
                "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
            },
        },
        *(
            statement
            for entry in _tenant_accounts(settings)
            for statement in tenant_runner_statements(settings, bucket_arn, entry)
        ),
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
            self.keys[purpose], self.aliases[purpose] = key_with_alias(
                name, purpose, PLATFORM, key_alias(settings, purpose), settings, iam.document(statements), kept
            )

        bucket_name = state_bucket_name(settings)
        self.bucket = aws.s3.Bucket(name, bucket=bucket_name, force_destroy=False, opts=kept)
        s3.harden(self, name, self.bucket, s3.kms_encryption(self.keys[STATE].arn))
        s3.expire_old_versions(
            self, name, self.bucket, "expire-superseded-state", settings.log_retention_days, ABORT_MULTIPART_DAYS
        )
        bucket_arn = iam.bucket_arn(settings, bucket_name)
        aws.s3.BucketPolicy(
            name, bucket=self.bucket.id, policy=iam.document(state_bucket_policy(settings, bucket_arn)), opts=child
        )
        self.register_outputs({"bucketName": self.bucket.bucket, "keyArns": {p: k.arn for p, k in self.keys.items()}})
