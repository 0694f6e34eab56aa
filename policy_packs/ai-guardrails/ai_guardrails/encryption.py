"""Encryption and KMS (CONTROLS A): rotation, lifecycle, key policies, partitioning, encrypted stores."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from aiplatform_standards import platform

from ai_guardrails.core import (
    CRITICAL,
    HIGH,
    MEDIUM,
    Config,
    Finding,
    Outcome,
    Resource,
    Stack,
    Undecided,
    expect,
    number,
    resource_policy,
    shown,
    stack_policy,
    string_list,
)
from ai_guardrails.documents import IDENTITY_DOCUMENT_TOKENS, Statement, identity_documents, role_name_of, statements
from ai_guardrails.joins import (
    ALIAS,
    ARTIFACT_PURPOSES_SCHEMA,
    BUCKETS,
    KEY,
    LOGGING,
    ROLE,
    KeyRef,
    bucket_of,
    bucket_purpose,
    key_ref,
    keys_behind,
    log_targets,
    name_ends_with_purpose,
    owner_in_stack,
    role_owner,
    stack_owners,
)
from ai_guardrails.tags import PLATFORM_OWNER
from ai_guardrails.values import as_bool, as_number, get, is_unknown, items

KMS = platform()["kms"]
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
GRANT = "aws:kms/grant:Grant"
CLUSTER = "aws:eks/cluster:Cluster"
EBS_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
EBS_DEFAULT_KEY = "aws:ebs/defaultKmsKey:DefaultKmsKey"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
REPOSITORY = "aws:ecr/repository:Repository"
CREATION_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TRAIL = "aws:cloudtrail/trail:Trail"

_SYMMETRIC = "SYMMETRIC_DEFAULT"
# Condition keys that restrict a broad or service principal to this account, resource or service.
RESTRICTING_CONDITIONS = [
    "kms:ViaService",
    "kms:CallerAccount",
    "aws:SourceArn",
    "aws:SourceAccount",
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "kms:EncryptionContext:*",
    "kms:GrantIsForAWSResource",
]
SERVICE_PRINCIPALS = [
    "logs.*.amazonaws.com",
    "delivery.logs.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "budgets.amazonaws.com",
    "sns.amazonaws.com",
    "s3.amazonaws.com",
    "logging.s3.amazonaws.com",
    # EventBridge publishing to a KMS-encrypted alert topic (the baseline's security alerts), under aws:SourceAccount.
    "events.amazonaws.com",
]


def _is_aws_managed_key(value: Any) -> bool:
    return isinstance(value, str) and "alias/aws/" in value


@resource_policy(
    "kms-key-rotation",
    description="Symmetric customer-managed KMS keys rotate at least yearly.",
    controls=["KMS-1"],
    severity=HIGH,
    remediation="Set enableKeyRotation=True (and rotationPeriodInDays ≤ 365 if set) on the key.",
    tokens=[KEY],
    config={
        "maxRotationPeriodDays": {
            "type": "integer",
            "minimum": 90,
            "maximum": 2560,
            "default": KMS["max_rotation_period_days"],
            "description": "Longest rotation period accepted.",
        }
    },
)
def kms_key_rotation(r: Resource, config: Config) -> Iterator[Outcome]:
    """Symmetric keys (absent customerMasterKeySpec/keySpec = symmetric): `enableKeyRotation` true (absent = false),
    `rotationPeriodInDays` ≤ the maximum.
    """
    spec = r.get("customerMasterKeySpec") or r.get("keySpec")
    if is_unknown(spec):
        yield Undecided("customerMasterKeySpec")
        return
    if spec not in (None, _SYMMETRIC):
        return
    yield from expect(
        as_bool(r.get("enableKeyRotation")),
        "enableKeyRotation",
        (True,),
        "true",
        "set enableKeyRotation=True",
        absent="false",
    )
    period = as_number(r.get("rotationPeriodInDays"))
    if isinstance(period, float) and period > config["maxRotationPeriodDays"]:
        yield Finding(
            "rotationPeriodInDays",
            "exceeds the maximum",
            f"≤ {number(config['maxRotationPeriodDays'])}",
            "lower rotationPeriodInDays or leave it unset (365)",
        )


@resource_policy(
    "kms-key-deletion-window",
    description="KMS keys keep at least the platform's minimum deletion window.",
    controls=["KMS-2"],
    severity=MEDIUM,
    remediation=(
        "Set deletionWindowInDays to at least the environment's minimum (30 in prod, 7 in dev), or leave it unset (30)."
    ),
    tokens=[KEY],
    config={
        "minDeletionWindowDays": {
            "type": "integer",
            "minimum": 7,
            "maximum": 30,
            "default": KMS["min_deletion_window_days"]["prod"],
            "description": "Minimum deletion window in days (platform.yaml kms.min_deletion_window_days).",
        }
    },
)
def kms_key_deletion_window(r: Resource, config: Config) -> Iterator[Outcome]:
    """`deletionWindowInDays` ≥ the minimum (absent = 30, the AWS default)."""
    minimum = config["minDeletionWindowDays"]
    yield from expect(
        as_number(r.get("deletionWindowInDays")),
        "deletionWindowInDays",
        lambda window: not (isinstance(window, float) and window < minimum),
        f"≥ {number(minimum)}",
        f"set deletionWindowInDays={number(minimum)} or more",
        problem="is below the platform minimum",
    )


@resource_policy(
    "kms-key-lockout-check",
    description="KMS keys never bypass the policy lockout safety check.",
    controls=["KMS-2"],
    severity=HIGH,
    remediation="Remove bypassPolicyLockoutSafetyCheck (or set it to False) on the key and key policy.",
    tokens=[KEY, KEY_POLICY],
)
def kms_key_lockout_check(r: Resource, config: Config) -> Iterator[Outcome]:
    """`bypassPolicyLockoutSafetyCheck` is not true."""
    yield from expect(
        as_bool(r.get("bypassPolicyLockoutSafetyCheck")),
        "bypassPolicyLockoutSafetyCheck",
        lambda bypass: bypass is not True,
        "false or absent",
        "remove bypassPolicyLockoutSafetyCheck",
    )


def _restricted(statement: Statement, conditions: list[str]) -> bool:
    keys = statement.condition_keys()
    return any(fnmatchcase(key, pattern.lower()) for key in keys for pattern in conditions)


def _principal_findings(statement: Statement, path: str, config: Config, *, services: list[str]) -> Iterator[Finding]:
    where = f"{path}.Statement[{statement.index}].Principal"
    restricted = _restricted(statement, config["restrictingConditions"])
    if statement.public() and not restricted:
        yield Finding(
            where,
            "allows any principal ('*') without a restricting condition",
            f"named principals, or a condition on one of {', '.join(config['restrictingConditions'])}",
            "name the owner's roles, or add a kms:CallerAccount / aws:SourceAccount condition",
        )
    for kind, value in statement.principals:
        if kind != "Service":
            continue
        if not any(fnmatchcase(value, pattern) for pattern in services):
            yield Finding(
                where,
                f"names the service principal {shown(value, services)} that no platform purpose needs",
                f"one of {', '.join(services)}",
                "remove the service principal, or add it to the policy's servicePrincipals after review",
            )
        elif not restricted:
            yield Finding(
                where,
                "names a service principal without a restricting condition",
                "a condition such as aws:SourceAccount, aws:SourceArn or kms:EncryptionContext:*",
                "add the condition AWS supports for that service",
            )


_KEY_POLICY_CONFIG = {
    "restrictingConditions": string_list(
        RESTRICTING_CONDITIONS, "Condition keys (fnmatch) that restrict a broad or service principal."
    ),
    "servicePrincipals": string_list(SERVICE_PRINCIPALS, "Service principals (fnmatch) a key purpose may need."),
}


@resource_policy(
    "kms-key-policy-not-public",
    description="Key policies admit no public principal and only needed services under a restricting condition.",
    controls=["KMS-3"],
    severity=CRITICAL,
    remediation=(
        "Name the owner's roles and the account root; keep service principals to the purpose's services, each with "
        "aws:SourceAccount/aws:SourceArn/kms:EncryptionContext conditions."
    ),
    tokens=[KEY, KEY_POLICY],
    config=_KEY_POLICY_CONFIG,
)
def kms_key_policy_not_public(r: Resource, config: Config) -> Iterator[Outcome]:
    """`policy`: no Allow to `*` without a restricting condition; service principals only from the allowlist, each
    restricted.
    """
    found = statements(r.get("policy"))
    if is_unknown(found):
        yield Undecided("policy")
        return
    for statement in found:
        if statement.allows:
            yield from _principal_findings(statement, "policy", config, services=config["servicePrincipals"])


@resource_policy(
    "kms-grant-scoped",
    description="KMS grants name a single role as grantee and cannot be re-granted.",
    controls=["KMS-3"],
    severity=HIGH,
    remediation="Set granteePrincipal to the owner's role ARN and drop CreateGrant from operations.",
    tokens=[GRANT],
)
def kms_grant_scoped(r: Resource, config: Config) -> Iterator[Outcome]:
    """`granteePrincipal` is a role ARN (not `*`, an account or a service); `operations` excludes `CreateGrant`."""
    grantee = r.get("granteePrincipal")
    if is_unknown(grantee):
        pass  # a role's ARN, computed: the stack policy kms-key-principals-owner joins it
    elif not isinstance(grantee, str) or role_name_of(grantee) is None:
        yield Finding(
            "granteePrincipal",
            f"is {shown(grantee)}, not a role ARN",
            "the owner's IAM role ARN",
            "grant to the owner's role",
        )
    operations = r.get("operations")
    if isinstance(operations, list) and "CreateGrant" in operations:
        yield Finding("operations", "includes 'CreateGrant'", "operations without CreateGrant", "remove CreateGrant")


_DECRYPT_ACTIONS = ("kms:Decrypt", "kms:ReEncryptFrom")


@resource_policy(
    "iam-no-decrypt-on-all-keys",
    description="Identity policies never allow kms:Decrypt or kms:ReEncryptFrom on every key.",
    controls=["KMS-4"],
    severity=HIGH,
    remediation="Scope kms:Decrypt/kms:ReEncryptFrom to the owner's key ARNs instead of Resource '*'.",
    tokens=IDENTITY_DOCUMENT_TOKENS,
)
def iam_no_decrypt_on_all_keys(r: Resource, config: Config) -> Iterator[Outcome]:
    """Allow statements whose actions cover `kms:Decrypt` or `kms:ReEncryptFrom` never have `Resource: "*"`."""
    for path, document in identity_documents(r.type, r.props):
        found = statements(document)
        if is_unknown(found):
            yield Undecided(path)
            continue
        for statement in found:
            if not statement.allows or not statement.on_all_resources():
                continue
            granted = [action for action in _DECRYPT_ACTIONS if statement.grants(action)]
            if granted:
                yield Finding(
                    f"{path}.Statement[{statement.index}].Resource",
                    f"is '*' for {', '.join(granted)}",
                    "the ARNs of the owner's keys",
                    "list the key ARNs the principal needs",
                )


@resource_policy(
    "eks-secrets-envelope-encryption",
    description="EKS clusters envelope-encrypt Kubernetes secrets with a customer-managed key.",
    controls=["KMS-6"],
    severity=HIGH,
    remediation="Set encryptionConfig={resources: ['secrets'], provider: {keyArn: <the cluster-secrets key ARN>}}.",
    tokens=[CLUSTER],
)
def eks_secrets_envelope_encryption(r: Resource, config: Config) -> Iterator[Outcome]:
    """`encryptionConfig.resources` contains `secrets`; `encryptionConfig.provider.keyArn` is set and not an AWS-managed
    alias.
    """
    encryption = r.get("encryptionConfig")
    if is_unknown(encryption):
        yield Undecided("encryptionConfig")
        return
    resources = get(encryption, "resources")
    if is_unknown(resources):
        yield Undecided("encryptionConfig.resources")
    elif "secrets" not in items(resources):
        yield Finding(
            "encryptionConfig.resources",
            f"is {shown(resources)}",
            "['secrets']",
            "encrypt secrets with the cluster-secrets key",
        )
    key = get(encryption, "provider", "keyArn")
    if key is None or _is_aws_managed_key(key):
        yield Finding(
            "encryptionConfig.provider.keyArn",
            "is absent or an AWS-managed key",
            "the ARN of the owner's cluster-secrets customer-managed key",
            "pass the key ring's cluster-secrets key",
        )


@resource_policy(
    "ebs-encryption-by-default",
    description="The account encrypts new EBS volumes by default.",
    controls=["KMS-7"],
    severity=HIGH,
    remediation="Set enabled=True on aws.ebs.EncryptionByDefault (or leave it unset).",
    tokens=[EBS_DEFAULT],
)
def ebs_encryption_by_default(r: Resource, config: Config) -> Iterator[Outcome]:
    """`enabled` is true (absent = true)."""
    yield from expect(
        as_bool(r.get("enabled")), "enabled", lambda enabled: enabled is not False, "true", "set enabled=True"
    )


@resource_policy(
    "ebs-default-key-customer-managed",
    description="The account's default EBS key is a customer-managed key.",
    controls=["KMS-7"],
    severity=MEDIUM,
    remediation="Set keyArn to the platform's volumes key instead of alias/aws/ebs.",
    tokens=[EBS_DEFAULT_KEY],
)
def ebs_default_key_customer_managed(r: Resource, config: Config) -> Iterator[Outcome]:
    """`keyArn` is set and not the AWS-managed `alias/aws/ebs`."""
    key = r.get("keyArn")
    if key is None or _is_aws_managed_key(key):
        yield Finding(
            "keyArn", "is absent or the AWS-managed key", "a customer-managed volumes key", "pass the volumes key ARN"
        )


def _ebs_findings(block: Any, path: str) -> Iterator[Outcome]:
    encrypted = as_bool(get(block, "encrypted"))
    if is_unknown(encrypted):
        yield Undecided(f"{path}.encrypted")
        return
    if encrypted is not True:
        yield Finding(
            f"{path}.encrypted", f"is {shown(encrypted)}", "'true'", "set encrypted='true' with the volumes key"
        )
    elif get(block, "kmsKeyId") is None:
        yield Finding(f"{path}.kmsKeyId", "is absent (the AWS-managed key)", "the owner's volumes key", "set kmsKeyId")


@resource_policy(
    "volumes-encrypted",
    description="Node and instance volumes are encrypted with a customer-managed key.",
    controls=["KMS-8"],
    severity=HIGH,
    remediation=(
        "Encrypt every block device mapping (encrypted='true', kmsKeyId=<volumes key>); for instances set "
        "rootBlockDevice.encrypted."
    ),
    tokens=[LAUNCH_TEMPLATE, INSTANCE, VOLUME],
)
def volumes_encrypted(r: Resource, config: Config) -> Iterator[Outcome]:
    """Launch templates: `blockDeviceMappings[].ebs` encrypted with `kmsKeyId` (absent mappings = the AMI's unencrypted
    default); instances: `rootBlockDevice` and `ebsBlockDevices[]`; volumes: `encrypted` with `kmsKeyId`.
    """
    if r.type == VOLUME:
        yield from _ebs_findings(r.props, "(volume)")
        return
    if r.type == LAUNCH_TEMPLATE:
        mappings = r.get("blockDeviceMappings")
        if is_unknown(mappings):
            yield Undecided("blockDeviceMappings")
            return
        ebs = [(i, get(m, "ebs")) for i, m in enumerate(items(mappings)) if get(m, "ebs") is not None]
        if not ebs:
            yield Finding(
                "blockDeviceMappings",
                "declares no EBS volume (the AMI's default root volume is not encrypted with the owner's key)",
                "a root mapping with ebs.encrypted='true' and kmsKeyId",
                "add a blockDeviceMapping for the root device",
            )
        for index, block in ebs:
            yield from _ebs_findings(block, f"blockDeviceMappings[{index}].ebs")
        return
    root = r.get("rootBlockDevice")
    yield from _ebs_findings(root if root is not None else {}, "rootBlockDevice")
    for index, block in enumerate(items(r.get("ebsBlockDevices"))):
        yield from _ebs_findings(block, f"ebsBlockDevices[{index}]")


def sse_rules(r: Resource) -> list[tuple[str, Any, Any, Any]]:
    """(path, sseAlgorithm, kmsMasterKeyId, bucketKeyEnabled) of every SSE rule a resource declares."""
    found = []
    if r.type in SSE:
        for index, rule in enumerate(items(r.get("rules"))):
            default = get(rule, "applyServerSideEncryptionByDefault")
            path = f"rules[{index}]"
            found.append(
                (path, get(default, "sseAlgorithm"), get(default, "kmsMasterKeyId"), get(rule, "bucketKeyEnabled"))
            )
    elif r.type == BUCKETS[0]:
        rule = r.get("serverSideEncryptionConfiguration", "rule")
        if rule is not None:
            default = get(rule, "applyServerSideEncryptionByDefault")
            found.append(
                (
                    "serverSideEncryptionConfiguration.rule",
                    get(default, "sseAlgorithm"),
                    get(default, "kmsMasterKeyId"),
                    get(rule, "bucketKeyEnabled"),
                )
            )
    elif r.type == BUCKETS[1]:
        for i, configuration in enumerate(items(r.get("serverSideEncryptionConfigurations"))):
            for j, rule in enumerate(items(get(configuration, "rules"))):
                for k, default in enumerate(items(get(rule, "applyServerSideEncryptionByDefaults"))):
                    path = f"serverSideEncryptionConfigurations[{i}].rules[{j}]"
                    found.append(
                        (
                            f"{path}.applyServerSideEncryptionByDefaults[{k}]",
                            get(default, "sseAlgorithm"),
                            get(default, "kmsMasterKeyId"),
                            get(rule, "bucketKeyEnabled"),
                        )
                    )
    return found


_KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
_SSE_S3 = "AES256"
_SSE_VOCABULARY = [_SSE_S3, *_KMS_ALGORITHMS]
_LOG_TARGET_PURPOSES = string_list(
    ["access-logs"],
    "Purposes of S3 server access log target buckets (aip-<env>-<owner>-<purpose>-<account>-<region>: the "
    "platform's, or a tier C tenant's own): S3 log delivery supports only SSE-S3 default encryption on its target "
    "bucket, so SSE-KMS is not required of them. Model and data buckets never qualify, and s3-bucket-encrypted still "
    "requires SSE-KMS of any bucket no logging configuration targets.",
)


def _log_target_by_name(r: Resource, purposes: list[str]) -> bool | None:
    """Whether the bucket a resource is (or configures) is a log target by its name; None while the name is unknown."""
    name = r.get("bucket")
    return None if is_unknown(name) else name_ends_with_purpose(name, purposes)


@resource_policy(
    "s3-sse-kms",
    description=(
        "Bucket encryption uses SSE-KMS with a customer-managed key and S3 Bucket Keys (server access log targets "
        "excepted)."
    ),
    controls=["KMS-9"],
    severity=HIGH,
    remediation=(
        "Declare rules=[{applyServerSideEncryptionByDefault: {sseAlgorithm: 'aws:kms', "
        "kmsMasterKeyId: <owner's key>}, bucketKeyEnabled: True}]."
    ),
    tokens=[*SSE, *BUCKETS],
    config={"logTargetPurposes": _LOG_TARGET_PURPOSES},
)
def s3_sse_kms(r: Resource, config: Config) -> Iterator[Outcome]:
    """Every SSE rule (standalone, V2 alias, or inline on the bucket): `sseAlgorithm` `aws:kms`, `kmsMasterKeyId` set,
    `bucketKeyEnabled` true; not applicable to a log target (a `bucket` named `aip-<env>-<owner>-<purpose>-…` with a
    purpose on `logTargetPurposes`); an `AES256` rule whose `bucket` is unknown in this preview is judged by
    s3-bucket-encrypted, which joins it to its bucket.

    Server access log targets are out of scope: the Amazon S3 User Guide ("Enabling Amazon S3 server access logging",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html) supports default
    encryption on a log target bucket only with SSE-S3 (AES256), not with SSE-KMS; KMS-9 concerns model and data
    buckets. Recognised here by name; in the stack, by the BucketLogging that targets the bucket (s3-bucket-encrypted,
    s3-log-target-sse-s3), so a bucket named as a log target that receives no logs still needs SSE-KMS.
    """
    log_target = _log_target_by_name(r, config["logTargetPurposes"])
    if log_target:
        return
    rules = sse_rules(r)
    if r.type in SSE and not rules:
        yield Finding("rules", "is empty", "one SSE-KMS rule", "add an SSE-KMS rule")
    for path, algorithm, key, bucket_key in rules:
        if log_target is None and algorithm == _SSE_S3:
            continue
        if is_unknown(algorithm):
            yield Undecided(f"{path}.sseAlgorithm")
        elif algorithm not in _KMS_ALGORITHMS:
            yield Finding(
                f"{path}.sseAlgorithm",
                f"is {shown(algorithm, _SSE_VOCABULARY)}",
                "'aws:kms'",
                "use SSE-KMS",
            )
        if key is None or _is_aws_managed_key(key):
            yield Finding(
                f"{path}.kmsMasterKeyId",
                "is absent or the AWS-managed key",
                "the owner's key",
                "pass the owner's models/data key",
            )
        enabled = as_bool(bucket_key)
        if not is_unknown(enabled) and enabled is not True:
            yield Finding(f"{path}.bucketKeyEnabled", f"is {shown(enabled)}", "true", "set bucketKeyEnabled=True")


# --- stack policies -------------------------------------------------------------------------

_BUCKET_PURPOSES = ["models", "data", "logs"]
# What each consumer's key must be for: token -> (property, path inside it or None, purposes).
_CONSUMERS: dict[str, tuple[tuple[str, tuple[str | int, ...]], ...]] = {
    REPOSITORY: (("encryptionConfigurations", ()),),
    CREATION_TEMPLATE: (("encryptionConfigurations", ()),),
    LOG_GROUP: (("kmsKeyId", ()),),
    TRAIL: (("kmsKeyId", ()),),
    VOLUME: (("kmsKeyId", ()),),
    LAUNCH_TEMPLATE: (("blockDeviceMappings", ()),),
    INSTANCE: (("rootBlockDevice", ()), ("ebsBlockDevices", ())),
    CLUSTER: (("encryptionConfig", ()),),
    EBS_DEFAULT_KEY: (("keyArn", ()),),
    **{token: (("rules", ()),) for token in SSE},
}
# The account baseline shares its account (and alias namespace) with a platform stack, so its keys may have purposes
# of their own (platform.yaml kms.purposes): audit for the trail and its log group, default-volumes for EBS encryption
# by default, registry-cache for the repositories pull-through caches create.
_PURPOSE_OF = {
    REPOSITORY: {"registry"},
    CREATION_TEMPLATE: {"registry-cache", "registry"},
    LOG_GROUP: {"logs", "audit"},
    TRAIL: {"audit", "logs"},
    VOLUME: {"volumes"},
    LAUNCH_TEMPLATE: {"volumes"},
    INSTANCE: {"volumes"},
    CLUSTER: {"cluster-secrets"},
    EBS_DEFAULT_KEY: {"default-volumes", "volumes"},
}


def _expected_purposes(stack: Stack, consumer: Resource) -> set[str]:
    if consumer.type in SSE:
        bucket = bucket_of(stack, consumer)
        purpose = bucket_purpose(bucket) if bucket is not None else None
        return {purpose} if purpose is not None and purpose in KMS["purposes"] else set(_BUCKET_PURPOSES)
    return _PURPOSE_OF[consumer.type]


def _uses(stack: Stack) -> Iterator[tuple[Resource, str, KeyRef]]:
    for token, props in _CONSUMERS.items():
        for consumer in stack.of(token):
            for prop, _ in props:
                value = consumer.get(prop)
                literal = next((v for v in _strings_in(value) if "alias/" in v), None)
                for ref in keys_behind(stack, consumer, prop, literal):
                    yield consumer, prop, ref


def _undecided_uses(stack: Stack) -> Iterator[tuple[Resource, str]]:
    """Consumers whose key input is unknown and leads to no key or alias of the stack: not yet judgeable."""
    for token, props in _CONSUMERS.items():
        for consumer in stack.of(token):
            for prop, _ in props:
                value = consumer.get(prop)
                if _has_unknown(value) and not keys_behind(stack, consumer, prop, None):
                    yield consumer, prop


def _has_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, dict):
        return any(_has_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_unknown(item) for item in value)
    return False


def _strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)


@stack_policy(
    "kms-key-partitioning",
    description="Every store uses a key of its own owner and purpose, and no key serves two owners or purposes.",
    controls=["KMS-5"],
    severity=CRITICAL,
    remediation=(
        "Give each (environment, owner, purpose) its own key from the key ring and pass that key to the owner's "
        "buckets, repositories, log groups, volumes and cluster."
    ),
    tokens=[KEY, ALIAS, *_CONSUMERS],
)
def kms_key_partitioning(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Through property dependencies (or a literal `alias/<env>/<owner>/<purpose>`), each consumer's key has the
    consumer's owner and an allowed purpose; no key is used by two owners or for two purposes; no two keys share
    (owner, purpose). A consumer whose key input is unknown and leads to no key or alias of the stack is undecided
    (advisory during preview).
    """
    owners_of: dict[str, set[str]] = {}
    purposes_of: dict[str, set[str]] = {}
    first_user: dict[str, Resource] = {}
    for consumer, prop in _undecided_uses(stack):
        yield Undecided(prop, consumer)
    for consumer, prop, ref in _uses(stack):
        consumer_owner = owner_in_stack(stack, consumer)
        expected = _expected_purposes(stack, consumer)
        if consumer_owner and ref.owner and ref.owner != consumer_owner:
            yield Finding(
                prop,
                f"uses a key owned by {shown(ref.owner, identifier=True)}",
                f"a key owned by {shown(consumer_owner, identifier=True)}",
                "pass the consumer's own key from its key ring",
                consumer,
            )
        if ref.purposes and not ref.purposes & expected:
            yield Finding(
                prop,
                f"uses a key for {', '.join(sorted(ref.purposes))}",
                f"a key for {' or '.join(sorted(expected))}",
                "pass the key of the matching purpose",
                consumer,
            )
        if consumer_owner:
            owners_of.setdefault(ref.identity, set()).add(consumer_owner)
        purposes_of.setdefault(ref.identity, set()).update(expected if len(expected) == 1 else set())
        first_user.setdefault(ref.identity, consumer)
    for identity, owners in owners_of.items():
        if len(owners) > 1:
            yield Finding(
                "(key users)",
                f"share one key across owners {', '.join(shown(o, identifier=True) for o in sorted(owners))}",
                "one key per owner",
                "give each owner its own key",
                stack.by_urn.get(identity, first_user[identity]),
            )
    for identity, purposes in purposes_of.items():
        if len(purposes) > 1:
            yield Finding(
                "(key users)",
                f"use one key for {', '.join(sorted(purposes))}",
                "one key per purpose",
                "create one key per purpose",
                stack.by_urn.get(identity, first_user[identity]),
            )
    seen: dict[tuple[str, str], Resource] = {}
    for key in stack.of(KEY):
        ref = key_ref(stack, key)
        for purpose in ref.purposes:
            slot = (ref.owner or "", purpose)
            if slot in seen:
                yield Finding(
                    "(alias)",
                    f"duplicates the {purpose} key of owner {shown(ref.owner, identifier=True)}",
                    "exactly one key per (environment, owner, purpose)",
                    "remove the duplicate key",
                    key,
                )
            seen[slot] = key


def _foreign_role_owners(
    document: Any, key_owner: str, tenants: set[str], allowed_platform_roles: list[str]
) -> Iterator[tuple[str, str]]:
    found = statements(document)
    if is_unknown(found):
        return
    for statement in found:
        if not statement.allows:
            continue
        for kind, value in statement.principals:
            if kind != "AWS":
                continue
            name = role_name_of(value)
            if name is None:
                continue
            role_owner_name = role_owner(name, tenants)
            if role_owner_name is None or role_owner_name == key_owner:
                continue
            if role_owner_name == PLATFORM_OWNER and any(
                name.endswith(f"-{suffix}") for suffix in allowed_platform_roles
            ):
                continue
            yield f"policy.Statement[{statement.index}].Principal", role_owner_name


@stack_policy(
    "kms-key-principals-owner",
    description="Key policies and grants admit only the key owner's roles (and the platform's break-glass role).",
    controls=["KMS-3"],
    severity=CRITICAL,
    remediation=(
        "Name only the owner's roles (aip-<env>-<owner>-*) and the break-glass role in the key policy; grant only "
        "to the owner's roles."
    ),
    tokens=[KEY, KEY_POLICY, GRANT, ROLE],
    config={
        "platformRolesOnTenantKeys": string_list(
            ["break-glass"], "Platform role suffixes (aip-<env>-platform-<suffix>) admitted on tenant keys."
        )
    },
)
def kms_key_principals_owner(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Key policies (inline or `KeyPolicy`, joined to the key through `keyId`) name no role of another owner; grants
    (joined through `keyId`/`granteePrincipal`) go to the key owner's roles.
    """
    tenants = stack_owners(stack) | {PLATFORM_OWNER}
    allowed = config["platformRolesOnTenantKeys"]
    for key in stack.of(KEY):
        ref = key_ref(stack, key)
        if not ref.owner:
            continue
        documents = [(key, key.get("policy"))] + [
            (p, p.get("policy")) for p in stack.dependents(key, "keyId", KEY_POLICY)
        ]
        for holder, document in documents:
            for path, other in _foreign_role_owners(document, ref.owner, tenants, allowed):
                yield Finding(
                    path,
                    f"names a role of owner {shown(other, identifier=True)}",
                    f"roles of {shown(ref.owner, identifier=True)} only",
                    "remove the foreign principal",
                    holder,
                )
    for grant in stack.of(GRANT):
        keys = [key_ref(stack, key) for key in stack.sources(grant, "keyId", KEY)]
        for role in stack.sources(grant, "granteePrincipal", ROLE):
            grantee_owner = owner_in_stack(stack, role)
            for ref in keys:
                if ref.owner and grantee_owner and grantee_owner != ref.owner:
                    yield Finding(
                        "granteePrincipal",
                        f"is a role of owner {shown(grantee_owner, identifier=True)}",
                        f"a role of {shown(ref.owner, identifier=True)}",
                        "grant only to the key owner's roles",
                        grant,
                    )


def _bucket_rules(stack: Stack) -> dict[str, list[tuple[str, Any, Any, Any]]]:
    """Every bucket's SSE rules: inline, and those of the standalone configurations joined to it through `bucket`."""
    found = {bucket.urn: sse_rules(bucket) for bucket in stack.of(*BUCKETS)}
    for sse in stack.of(*SSE):
        bucket = bucket_of(stack, sse)
        if bucket is not None:
            found[bucket.urn].extend(sse_rules(sse))
    return found


def _artifact_bucket(bucket: Resource, purposes: list[str]) -> bool:
    return bucket_purpose(bucket) in purposes


@stack_policy(
    "s3-bucket-encrypted",
    description="Every bucket but a server access log target has an SSE-KMS configuration.",
    controls=["KMS-9"],
    severity=HIGH,
    remediation="Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket with the owner's key.",
    tokens=[*BUCKETS, *SSE, *LOGGING],
    config={"artifactPurposes": ARTIFACT_PURPOSES_SCHEMA},
)
def s3_bucket_encrypted(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `Bucket`/`BucketV2` has SSE rules inline or in a standalone SSE configuration (joined through `bucket`), all
    with a known `sseAlgorithm` `aws:kms` (absent = SSE-S3); not applicable to server access log targets (the
    `targetBucket` of a `BucketLogging` or of inline logging, through property dependencies or by name) unless the
    target's purpose is on `artifactPurposes`. An unknown `sseAlgorithm` (and none weak) is undecided (advisory
    during preview).

    AWS supports only SSE-S3 default encryption on a server access log target bucket (Amazon S3 User Guide, "Enabling
    Amazon S3 server access logging", https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html);
    s3-log-target-sse-s3 judges those buckets instead. A model or data bucket never escapes KMS-9 by receiving logs.
    """
    targets = log_targets(stack)
    rules_of = _bucket_rules(stack)
    for bucket in stack.of(*BUCKETS):
        if bucket.urn in targets and not _artifact_bucket(bucket, config["artifactPurposes"]):
            continue
        rules = rules_of[bucket.urn]
        if not rules:
            yield Finding(
                "(server-side encryption)",
                "has no SSE-KMS configuration (AWS default: SSE-S3)",
                "an SSE-KMS configuration with the owner's key",
                "add a BucketServerSideEncryptionConfiguration",
                bucket,
            )
            continue
        weak = [a for _, a, _, _ in rules if not is_unknown(a) and a not in _KMS_ALGORITHMS]
        if weak:
            yield Finding(
                "(server-side encryption).sseAlgorithm",
                f"is {shown(weak[0], _SSE_VOCABULARY)}",
                "'aws:kms' with the owner's key",
                "encrypt the bucket with SSE-KMS",
                bucket,
            )
        elif any(is_unknown(a) for _, a, _, _ in rules):
            yield Undecided("(server-side encryption).sseAlgorithm", bucket)


@stack_policy(
    "s3-log-target-sse-s3",
    description="Server access log target buckets use SSE-S3, the only default encryption S3 log delivery supports.",
    controls=["REG-10"],
    severity=MEDIUM,
    remediation=(
        "Encrypt the log target with rules=[{applyServerSideEncryptionByDefault: {sseAlgorithm: 'AES256'}}] (or "
        "leave the AWS default); deliver the logs of model and data buckets to the platform log bucket, never to "
        "one of them."
    ),
    tokens=[*BUCKETS, *SSE, *LOGGING],
    config={"artifactPurposes": ARTIFACT_PURPOSES_SCHEMA},
)
def s3_log_target_sse_s3(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each bucket named as `targetBucket` by a `BucketLogging`/`BucketLoggingV2` or by inline logging (through
    property dependencies or by name): no SSE rule with `aws:kms`/`aws:kms:dsse` (absent = SSE-S3), and its purpose is
    not on `artifactPurposes`.

    The Amazon S3 User Guide ("Enabling Amazon S3 server access logging",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html) supports default
    encryption on a log target bucket only with SSE-S3 (AES256); with SSE-KMS default encryption, log delivery is
    unsupported and the access logs REG-10 requires may never arrive.
    """
    targets = log_targets(stack)
    rules = _bucket_rules(stack)
    for bucket in stack.of(*BUCKETS):
        if bucket.urn not in targets:
            continue
        if _artifact_bucket(bucket, config["artifactPurposes"]):
            yield Finding(
                "bucket",
                "receives server access logs but holds models or data",
                "logs delivered to the platform log bucket",
                "set the source buckets' targetBucket to the platform log bucket",
                bucket,
            )
            continue
        kms = next((algorithm for _, algorithm, _, _ in rules[bucket.urn] if algorithm in _KMS_ALGORITHMS), None)
        if kms is not None:
            yield Finding(
                "(server-side encryption).sseAlgorithm",
                f"is {shown(kms, _SSE_VOCABULARY)} on a server access log target",
                f"'{_SSE_S3}' (SSE-S3)",
                "encrypt the log target with SSE-S3; S3 log delivery does not support SSE-KMS default encryption",
                bucket,
            )
