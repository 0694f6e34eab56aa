"""KeyRing: one customer-managed KMS key per (environment, owner, purpose) (CONTROLS KMS-1..5).

Each key's policy has, and only has:

- ``AccountAdministration``: the account root may administer the key (policy, rotation, aliases,
  deletion) but not use it, and may not create grants: cryptographic use stays with the named
  principals below instead of every IAM principal the account's policies allow.
- ``BreakGlass``: the platform's break-glass role, with every action.
- ``OwnerUseThroughAwsServices``: the owner's roles, only through the AWS service the purpose
  belongs to (``kms:ViaService``) and only from this account (``kms:CallerAccount``).
- ``DeployerGrantsForAwsResources`` (cluster-secrets, registry, registry-cache): EKS and ECR create a
  grant on the key when the deployer creates a cluster or repository; only grants for AWS resources,
  through the purpose's service. The platform's keys name the deployer; a tenant's keys may name no
  platform role (KMS-3), so they delegate these grants to the account (the deployer's IAM policy).
- the AWS services the purpose needs, each under a restricting condition: CloudWatch Logs for
  ``logs`` and ``audit`` (the log group ARN in the encryption context, limited to the owner's log
  groups), the Auto Scaling service-linked role for ``volumes`` and ``default-volumes`` (through
  EC2; grants only for AWS resources; it must exist before the key, so the account baseline creates it:
  infra.components.service_linked_roles), CloudTrail (``aws:SourceArn`` of the trail) and EventBridge
  for the account baseline's ``audit`` key when it encrypts the trail and the security alert topic,
  AWS Budgets for the platform's ``logs`` key when it encrypts the budget alert topic
  (``aws:SourceAccount``). No key admits S3 server access logging: the access-log bucket is
  encrypted with SSE-S3, the only default encryption a log destination supports
  (infra.components.log_bucket).

With enclave measurements (``KeyRingArgs.attestation``, confidential computing in tier C), the ``data``
key is the enclave's: instead of ``OwnerUseThroughAwsServices`` its owner's roles may encrypt
(``OwnerEncryptsOnly``) but decrypt or generate data keys only with an attestation document whose
measurements match (``AttestedEnclaveDecrypts``, ``kms:RecipientAttestation:*``), and
``DenyDecryptOutsideAttestedEnclave`` refuses every principal, break-glass included, any plaintext
without the measured image (changing that takes a key policy change, which CloudTrail records).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from aiplatform_standards import platform

from infra import iam, naming
from infra.components import service_linked_roles
from infra.config import ATTESTATION_KEY_PREFIX, Settings
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:key_ring:KeyRing"

_KMS = platform()["kms"]
PURPOSES: tuple[str, ...] = tuple(_KMS["purposes"])

# The AWS service through which the owner's roles use each purpose's key.
VIA_SERVICE = {
    "cluster-secrets": "eks",
    "volumes": "ec2",
    "registry": "ecr",
    "models": "s3",
    "data": "s3",
    "logs": "logs",
    # The account baseline's keys (standards: kms.purposes). The audit key's owner roles are those of
    # the trail's CloudWatch Logs group, as the platform logs key's are of its log groups.
    "audit": "logs",
    "default-volumes": "ec2",
    "registry-cache": "ecr",
}
# Purposes whose service creates a grant, with the deployer's permissions, when the deployer
# creates the resource that uses the key (an EKS cluster, an ECR repository).
GRANT_PURPOSES = frozenset({"cluster-secrets", "registry", "registry-cache"})
# Purposes whose key encrypts the owner's CloudWatch Logs groups.
LOG_GROUP_PURPOSES = ("logs", "audit")
# Purposes whose key encrypts EBS volumes that Auto Scaling launches: the owner's node volumes, and the
# account's EBS encryption-by-default key for volumes created without a key of their own.
VOLUME_PURPOSES = ("volumes", "default-volumes")

ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:Describe*",
    "kms:Disable*",
    "kms:Enable*",
    "kms:Get*",
    "kms:List*",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:Update*",
)
USE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")
GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
LOGS_ACTIONS = ("kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*")
BUDGETS_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey*")
# The key an attested enclave decrypts with, and what each side of the attestation may do with it.
ATTESTED_PURPOSE = "data"
IMAGE_SHA384 = f"{ATTESTATION_KEY_PREFIX}ImageSha384"
ENCRYPT_ONLY_ACTIONS = ("kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKeyWithoutPlaintext")
ENCLAVE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyPair")
# What returns plaintext, or moves ciphertext under another key, outside the measured enclave.
PLAINTEXT_ACTIONS = (*ENCLAVE_ACTIONS, "kms:ReEncryptFrom")

# The service-linked role the volume keys admit; the account baseline creates it before any key names it.
AUTOSCALING_ROLE = service_linked_roles.role_path(service_linked_roles.AUTOSCALING)


@dataclass
class KeyRingArgs:
    """Which owner's keys, for which purposes, used by which of the owner's roles."""

    settings: Settings
    owner: str
    purposes: Sequence[str]
    # The owner's roles that use the keys through AWS services (e.g. a tenant's workload role).
    user_role_arns: Sequence[pulumi.Input[str]]
    # Log group name prefixes beyond the owner's own (naming.log_group_prefix) that the logs key
    # encrypts, e.g. the EKS control-plane group ``/aws/eks/<cluster>/``.
    extra_log_group_prefixes: Sequence[str] = field(default_factory=tuple)
    # The logs key also encrypts the budget alert topic that AWS Budgets publishes to.
    budget_alerts: bool = False
    # The audit key also encrypts this CloudTrail trail's log files (the account baseline's trail).
    audit_trail_arn: str | None = None
    # The audit key also encrypts the security alert topic that EventBridge rules publish to.
    security_alerts: bool = False
    # Roles beyond the deployer that create grants for AWS resources through the purpose's service,
    # e.g. the ECR role that creates pull-through cache repositories (registry-cache key).
    grant_role_arns: Sequence[str] = field(default_factory=tuple)
    # What must exist before the keys: KMS rejects a key policy naming a principal that does not
    # exist yet, and the account baseline creates the roles its key policies name in the same stack.
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    # Enclave measurements (condition key -> value, ``EnclaveAttestation.conditions()``, with at least
    # ImageSha384) that the data key requires for any plaintext; empty: a data key like the others.
    attestation: Mapping[str, str] = field(default_factory=dict)
    # Purposes renamed since their keys were created (purpose -> former purpose): the key keeps its
    # identity (a Pulumi alias of its former logical name) and is updated in place, where a replacement
    # would schedule the old key, and with it every ciphertext under it, for deletion.
    renamed_purposes: Mapping[str, str] = field(default_factory=dict)


def deletion_window_days(settings: Settings) -> int:
    return int(_KMS["min_deletion_window_days"][settings.environment])


def key_with_alias(
    name: str,
    purpose: str,
    owner: str,
    alias: str,
    settings: Settings,
    policy: pulumi.Input[str],
    key_opts: pulumi.ResourceOptions,
) -> tuple[aws.kms.Key, aws.kms.Alias]:
    """A platform KMS key (symmetric, rotated and deletable as the standards require) and its alias.

    Every key the platform creates is one (KeyRing's and the state backend's); the alias shares the key's parent.
    """
    key = aws.kms.Key(
        f"{name}-{purpose}",
        description=f"{alias}: {purpose} of {owner} in {settings.environment}",
        key_usage="ENCRYPT_DECRYPT",
        customer_master_key_spec="SYMMETRIC_DEFAULT",
        enable_key_rotation=True,
        rotation_period_in_days=int(_KMS["max_rotation_period_days"]),
        deletion_window_in_days=deletion_window_days(settings),
        bypass_policy_lockout_safety_check=False,
        policy=policy,
        opts=key_opts,
    )
    key_alias = aws.kms.Alias(
        f"{name}-{purpose}", name=alias, target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=key_opts.parent)
    )
    return key, key_alias


def key_policy_statements(args: KeyRingArgs, purpose: str, users: Sequence[str]) -> list[iam.Statement]:
    """The complete key policy of one purpose's key, given the resolved ARNs of the owner's roles."""
    settings = args.settings
    roles = settings.required_roles
    account = settings.account_id
    statements: list[iam.Statement] = [
        {
            "Sid": "AccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": iam.account_root(settings)},
            "Action": list(ADMIN_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "BreakGlass",
            "Effect": "Allow",
            "Principal": {"AWS": roles.break_glass},
            "Action": "kms:*",
            "Resource": "*",
        },
    ]
    via = iam.regional_service(settings, VIA_SERVICE[purpose])
    if users and purpose == ATTESTED_PURPOSE and args.attestation:
        statements.extend(_attested_statements(args, users))
    elif users:
        statements.append(
            {
                "Sid": "OwnerUseThroughAwsServices",
                "Effect": "Allow",
                "Principal": {"AWS": iam.principals(users)},
                "Action": list(USE_ACTIONS),
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:CallerAccount": account, "kms:ViaService": via}},
            }
        )
    if purpose in GRANT_PURPOSES:
        statements.append(
            {
                "Sid": "DeployerGrantsForAwsResources",
                "Effect": "Allow",
                "Principal": {"AWS": iam.principals([_grantor(args), *args.grant_role_arns])},
                "Action": list(GRANT_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                    "StringEquals": {"kms:ViaService": via},
                },
            }
        )
    statements.extend(_service_statements(args, purpose))
    return statements


def _attested_statements(args: KeyRingArgs, users: Sequence[str]) -> list[iam.Statement]:
    """The data key's owner statements when an enclave's measurements are configured."""
    owner, account = iam.principals(users), args.settings.account_id
    return [
        {
            "Sid": "OwnerEncryptsOnly",
            "Effect": "Allow",
            "Principal": {"AWS": owner},
            "Action": list(ENCRYPT_ONLY_ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:CallerAccount": account}},
        },
        {
            "Sid": "AttestedEnclaveDecrypts",
            "Effect": "Allow",
            "Principal": {"AWS": owner},
            "Action": list(ENCLAVE_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": account},
                "StringEqualsIgnoreCase": dict(args.attestation),
            },
        },
        {
            # A request without an attestation document lacks the key: the negated operator then holds.
            "Sid": "DenyDecryptOutsideAttestedEnclave",
            "Effect": "Deny",
            "Principal": "*",
            "Action": list(PLAINTEXT_ACTIONS),
            "Resource": "*",
            "Condition": {"StringNotEqualsIgnoreCase": {IMAGE_SHA384: args.attestation[IMAGE_SHA384]}},
        },
    ]


def _grantor(args: KeyRingArgs) -> str:
    return args.settings.required_roles.deployer if args.owner == PLATFORM else iam.account_root(args.settings)


def _service_statements(args: KeyRingArgs, purpose: str) -> list[iam.Statement]:
    settings = args.settings
    account = settings.account_id
    if purpose in LOG_GROUP_PURPOSES:
        prefixes = [naming.log_group_prefix(settings.environment, args.owner), *args.extra_log_group_prefixes]
        arn = f"arn:{settings.partition}:logs:{settings.region}:{account}:log-group:"
        statements: list[iam.Statement] = [
            {
                "Sid": "CloudWatchLogsForOwnerLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": iam.regional_service(settings, "logs")},
                "Action": list(LOGS_ACTIONS),
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": [f"{arn}{p}*" for p in prefixes]}},
            }
        ]
        if purpose == "audit":
            return statements + _audit_statements(args)
        if args.budget_alerts:
            statements.append(
                {
                    "Sid": "BudgetsPublishToAlertTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": iam.service_principal("budgets")},
                    "Action": list(BUDGETS_ACTIONS),
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                }
            )
        return statements
    if purpose in VOLUME_PURPOSES:
        autoscaling = service_linked_roles.role_arn(settings.partition, account, service_linked_roles.AUTOSCALING)
        via_ec2 = {"kms:CallerAccount": account, "kms:ViaService": iam.regional_service(settings, "ec2")}
        return [
            {
                "Sid": "AutoScalingVolumes",
                "Effect": "Allow",
                "Principal": {"AWS": autoscaling},
                "Action": list(USE_ACTIONS),
                "Resource": "*",
                "Condition": {"StringEquals": via_ec2},
            },
            {
                "Sid": "AutoScalingGrantsForVolumes",
                "Effect": "Allow",
                "Principal": {"AWS": autoscaling},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
    return []


def _audit_statements(args: KeyRingArgs) -> list[iam.Statement]:
    """The account baseline's uses of its audit key: its trail and its security alert topic."""
    account = args.settings.account_id
    statements: list[iam.Statement] = []
    if args.audit_trail_arn is not None:
        cloudtrail = {"Service": iam.service_principal("cloudtrail")}
        source = {"aws:SourceArn": args.audit_trail_arn}
        trails = f"arn:{args.settings.partition}:cloudtrail:*:{account}:trail/*"
        statements += [
            {
                "Sid": "CloudTrailEncryptsAuditLogs",
                "Effect": "Allow",
                "Principal": cloudtrail,
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": source,
                    "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": trails},
                },
            },
            {
                "Sid": "CloudTrailDescribesKey",
                "Effect": "Allow",
                "Principal": cloudtrail,
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": source},
            },
        ]
    if args.security_alerts:
        statements.append(
            {
                "Sid": "EventBridgePublishesToAlertTopic",
                "Effect": "Allow",
                "Principal": {"Service": iam.service_principal("events")},
                "Action": list(BUDGETS_ACTIONS),
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            }
        )
    return statements


class KeyRing(pulumi.ComponentResource):
    """An owner's customer-managed keys, one per purpose, each with its alias and key policy."""

    keys: dict[str, aws.kms.Key]
    aliases: dict[str, aws.kms.Alias]
    arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: KeyRingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings = args.settings
        unknown = sorted(set(args.purposes) - set(PURPOSES))
        if unknown:
            raise ValueError(f"KeyRing {name}: unknown purposes {unknown} (use {', '.join(PURPOSES)})")
        if args.budget_alerts and "logs" not in args.purposes:
            raise ValueError(f"KeyRing {name}: budget_alerts needs the logs purpose")
        if (args.audit_trail_arn or args.security_alerts) and "audit" not in args.purposes:
            raise ValueError(f"KeyRing {name}: audit_trail_arn and security_alerts need the audit purpose")
        renamed = sorted(set(args.renamed_purposes) - set(args.purposes))
        if renamed:
            raise ValueError(f"KeyRing {name}: renamed_purposes names {renamed}, which are not among its purposes")
        if args.attestation and (ATTESTED_PURPOSE not in args.purposes or IMAGE_SHA384 not in args.attestation):
            raise ValueError(f"KeyRing {name}: attestation needs the {ATTESTED_PURPOSE} purpose and {IMAGE_SHA384}")

        self.keys, self.aliases = {}, {}
        for purpose in args.purposes:
            self.keys[purpose], self.aliases[purpose] = key_with_alias(
                name,
                purpose,
                args.owner,
                naming.kms_alias(settings.environment, args.owner, purpose),
                settings,
                iam.policy(functools.partial(key_policy_statements, args, purpose), args.user_role_arns),
                pulumi.ResourceOptions(
                    parent=self,
                    depends_on=list(args.depends_on),
                    aliases=[pulumi.Alias(name=f"{name}-{args.renamed_purposes[purpose]}")]
                    if purpose in args.renamed_purposes
                    else None,
                ),
            )
        self.arns = {purpose: key.arn for purpose, key in self.keys.items()}
        self.register_outputs({"arns": self.arns})
