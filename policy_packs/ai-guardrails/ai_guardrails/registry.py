"""Registries and artifact stores (CONTROLS B): ECR repositories and S3 model/data buckets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

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
    resource_policy,
    shown,
    stack_policy,
    string_list,
)
from ai_guardrails.documents import Statement, role_name_of, statements
from ai_guardrails.encryption import _is_aws_managed_key
from ai_guardrails.joins import (
    ARTIFACT_PURPOSES_SCHEMA,
    BUCKETS,
    LOGGING,
    REPOSITORY,
    bucket_of,
    bucket_purpose,
    log_targets,
    owner_in_stack,
    role_owner,
    stack_owners,
)
from ai_guardrails.tags import PLATFORM_OWNER
from ai_guardrails.values import as_bool, get, is_unknown, items

CREATION_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
REGISTRY_POLICY = "aws:ecr/registryPolicy:RegistryPolicy"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
ACCOUNT_PAB = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_ACLS = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"

_PAB_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
_PUSH_ACTIONS = (
    "ecr:PutImage",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:BatchDeleteImage",
    "ecr:DeleteRepository",
    "ecr:SetRepositoryPolicy",
)
_ARTIFACT_PURPOSES = ARTIFACT_PURPOSES_SCHEMA


@resource_policy(
    "ecr-immutable-tags",
    description="ECR repositories make image tags immutable.",
    controls=["REG-2"],
    severity=HIGH,
    remediation=(
        "Set imageTagMutability='IMMUTABLE'; pull-through-cache repositories are governed by a "
        "RepositoryCreationTemplate instead."
    ),
    tokens=[REPOSITORY],
)
def ecr_immutable_tags(r: Resource, config: Config) -> Iterator[Outcome]:
    """`imageTagMutability` is `IMMUTABLE` (absent = `MUTABLE`)."""
    yield from expect(
        r.get("imageTagMutability"),
        "imageTagMutability",
        ("IMMUTABLE",),
        "'IMMUTABLE'",
        "set imageTagMutability='IMMUTABLE'",
        vocabulary=["MUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"],
        absent="'MUTABLE'",
    )


def _kms_encryption(configurations: Any, path: str) -> Iterator[Outcome]:
    if is_unknown(configurations):
        yield Undecided(path)
        return
    entries = items(configurations)
    kms = [entry for entry in entries if get(entry, "encryptionType") == "KMS"]
    if not kms:
        yield Finding(
            f"{path}[].encryptionType",
            "is absent or 'AES256' (AWS default)",
            "'KMS'",
            "encrypt with the owner's registry key",
        )
        return
    for index, entry in enumerate(kms):
        key = get(entry, "kmsKey")
        if key is None or _is_aws_managed_key(key):
            yield Finding(
                f"{path}[{index}].kmsKey",
                "is absent (the AWS-managed key)",
                "the owner's registry key ARN",
                "set kmsKey",
            )


@resource_policy(
    "ecr-repository-kms",
    description="ECR repositories are encrypted with a customer-managed key.",
    controls=["REG-4"],
    severity=HIGH,
    remediation="Set encryptionConfigurations=[{encryptionType: 'KMS', kmsKey: <owner's registry key ARN>}].",
    tokens=[REPOSITORY],
)
def ecr_repository_kms(r: Resource, config: Config) -> Iterator[Outcome]:
    """`encryptionConfigurations[].encryptionType` is `KMS` with `kmsKey` set (absent = AES256)."""
    yield from _kms_encryption(r.get("encryptionConfigurations"), "encryptionConfigurations")


@resource_policy(
    "ecr-creation-template-governed",
    description=(
        "Repository creation templates (pull-through cache) impose KMS, a lifecycle policy and the standard tags."
    ),
    controls=["REG-2", "REG-3", "REG-4"],
    severity=MEDIUM,
    remediation=(
        "Give the template encryptionConfigurations (KMS with the registry key), a lifecyclePolicy and resourceTags"
        " with the standard tags."
    ),
    tokens=[CREATION_TEMPLATE],
)
def ecr_creation_template_governed(r: Resource, config: Config) -> Iterator[Outcome]:
    """`encryptionConfigurations` KMS with `kmsKey`; `lifecyclePolicy` set; `resourceTags` carry `aiplatform:tenant`."""
    yield from _kms_encryption(r.get("encryptionConfigurations"), "encryptionConfigurations")
    if r.get("lifecyclePolicy") is None:
        yield Finding("lifecyclePolicy", "is absent", "a lifecycle policy document", "set lifecyclePolicy")
    tags = r.get("resourceTags")
    if not is_unknown(tags) and not (isinstance(tags, dict) and "aiplatform:tenant" in tags):
        yield Finding(
            "resourceTags",
            "lacks the standard tags",
            "the standard aiplatform:* tags",
            "set resourceTags to the standard tags",
        )


@resource_policy(
    "ecr-policy-least-privilege",
    description="Registry and repository policies admit no public principal and let only the CI role push.",
    controls=["REG-5"],
    severity=CRITICAL,
    remediation="Name IAM roles, never '*' or whole accounts; grant push actions only to the platform CI role.",
    tokens=[REPOSITORY_POLICY, REGISTRY_POLICY, CREATION_TEMPLATE],
    config={"pushRoleNames": string_list(["aip-*-platform-ci"], "Role names (fnmatch) that may push images.")},
)
def ecr_policy_least_privilege(r: Resource, config: Config) -> Iterator[Outcome]:
    """`policy` (`repositoryPolicy` on templates): Allow statements name role ARNs only (no `*`, no account); push
    actions only to `pushRoleNames`.
    """
    prop = "repositoryPolicy" if r.type == CREATION_TEMPLATE else "policy"
    found = statements(r.get(prop))
    if is_unknown(found):
        yield Undecided(prop)
        return
    for statement in found:
        if not statement.allows:
            continue
        where = f"{prop}.Statement[{statement.index}].Principal"
        if statement.public():
            yield Finding(where, "is '*'", "the owner's role ARNs", "name the roles that pull")
            continue
        roles = [role_name_of(value) for kind, value in statement.principals if kind == "AWS"]
        if any(role is None for role in roles):
            yield Finding(where, "names an account or user rather than a role", "role ARNs", "name the roles that pull")
        pushes = [action for action in _PUSH_ACTIONS if statement.grants(action)]
        pushers = [role for role in roles if role and not any(fnmatchcase(role, p) for p in config["pushRoleNames"])]
        if pushes and pushers:
            yield Finding(
                f"{prop}.Statement[{statement.index}].Action",
                f"lets a role other than CI perform {', '.join(pushes)}",
                f"push only by {', '.join(config['pushRoleNames'])}",
                "split pull and push statements; push only for the CI role",
            )


@resource_policy(
    "s3-public-access-block",
    description="Account and bucket public access blocks set all four flags.",
    controls=["REG-7"],
    severity=CRITICAL,
    remediation="Set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets to True.",
    tokens=[ACCOUNT_PAB, BUCKET_PAB],
)
def s3_public_access_block(r: Resource, config: Config) -> Iterator[Outcome]:
    """`blockPublicAcls`, `blockPublicPolicy`, `ignorePublicAcls`, `restrictPublicBuckets` all true (absent = false)."""
    for flag in _PAB_FLAGS:
        yield from expect(as_bool(r.get(flag)), flag, (True,), "true", f"set {flag}=True", absent="false")


def _bucket_policy(r: Resource) -> Any:
    return r.get("policy")


@resource_policy(
    "s3-bucket-policy-tls-only",
    description="Bucket policies deny every request that does not use TLS.",
    controls=["REG-8"],
    severity=HIGH,
    remediation=(
        "Add a Deny statement for s3:* on the bucket and its objects with Condition "
        "{Bool: {aws:SecureTransport: 'false'}}."
    ),
    tokens=[BUCKET_POLICY],
)
def s3_bucket_policy_tls_only(r: Resource, config: Config) -> Iterator[Outcome]:
    """`policy` has a Deny statement conditioned on `aws:SecureTransport` = false."""
    found = statements(_bucket_policy(r))
    if is_unknown(found):
        yield Undecided("policy")
        return
    for statement in found:
        if statement.denies and "false" in [v.lower() for v in statement.condition_values("aws:SecureTransport")]:
            return
    yield Finding(
        "policy",
        "has no TLS-only Deny statement",
        "Deny when aws:SecureTransport is 'false'",
        "add the TLS-only Deny statement",
    )


# An ARN that names an account (arn:<partition>:<service>:<region>:<12 digits>:...), e.g. a trail's ARN.
_ACCOUNT_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-*]*:\d{12}:.+$")
_SOURCE_ARN_OPERATORS = ("stringequals", "stringlike", "arnequals", "arnlike")


def _restricted_to_source(statement: Statement) -> bool:
    """`aws:SourceAccount`, or an `aws:SourceArn` whose every value is an ARN of a named account (S3 bucket ARNs name
    none), matched positively (`StringEquals`/`StringLike`/`ArnEquals`/`ArnLike`, not `…IfExists`).
    """
    if "aws:sourceaccount" in statement.condition_keys():
        return True
    arns = [
        value
        for operator, entries in statement.conditions.items()
        if operator.lower() in _SOURCE_ARN_OPERATORS
        for key, values in entries.items()
        if key.lower() == "aws:sourcearn"
        for value in values
    ]
    return bool(arns) and all(_ACCOUNT_ARN.match(arn) for arn in arns)


@resource_policy(
    "s3-bucket-policy-principals",
    description=(
        "Bucket policies admit no public principal, and only the reviewed log delivery services restricted to a "
        "source in the account."
    ),
    controls=["REG-8"],
    severity=CRITICAL,
    remediation=(
        "Name the owner's roles; admit logging.s3.amazonaws.com, cloudtrail.amazonaws.com or "
        "delivery.logs.amazonaws.com only with aws:SourceAccount, or with aws:SourceArn of a resource of the account "
        "(e.g. the trail's ARN)."
    ),
    tokens=[BUCKET_POLICY],
    config={
        "servicePrincipals": string_list(
            ["logging.s3.amazonaws.com", "cloudtrail.amazonaws.com", "delivery.logs.amazonaws.com"],
            "Service principals a bucket policy may admit, each under aws:SourceAccount or an aws:SourceArn that "
            "names the account (CloudTrail's documented bucket policy conditions on the trail's ARN).",
        )
    },
)
def s3_bucket_policy_principals(r: Resource, config: Config) -> Iterator[Outcome]:
    """Allow statements: no `*` principal; service principals only from the list, each with `aws:SourceAccount` or an
    `aws:SourceArn` whose values are ARNs naming an account.
    """
    found = statements(_bucket_policy(r))
    if is_unknown(found):
        yield Undecided("policy")
        return
    for statement in found:
        if not statement.allows:
            continue
        where = f"policy.Statement[{statement.index}].Principal"
        if statement.public():
            yield Finding(where, "is '*'", "the owner's role ARNs", "name the owner's roles")
        for kind, value in statement.principals:
            if kind != "Service":
                continue
            if value not in config["servicePrincipals"]:
                yield Finding(
                    where,
                    f"names the service {shown(value, config['servicePrincipals'])}",
                    f"only {', '.join(config['servicePrincipals'])}",
                    "remove the service principal",
                )
            elif not _restricted_to_source(statement):
                yield Finding(
                    where,
                    "admits a service without aws:SourceAccount or an aws:SourceArn of the account",
                    "an aws:SourceAccount condition, or aws:SourceArn of a resource of the account",
                    "add the condition",
                )


@resource_policy(
    "s3-acls-disabled",
    description="Buckets disable ACLs (BucketOwnerEnforced) and never set an ACL.",
    controls=["REG-9"],
    severity=HIGH,
    remediation=(
        "Use BucketOwnershipControls with objectOwnership='BucketOwnerEnforced'; remove BucketAcl resources and "
        "acl/grants inputs."
    ),
    tokens=[OWNERSHIP, *BUCKET_ACLS, *BUCKETS],
)
def s3_acls_disabled(r: Resource, config: Config) -> Iterator[Outcome]:
    """`rule.objectOwnership` is `BucketOwnerEnforced`; no `BucketAcl`/`BucketAclV2`; buckets set no `acl` (other than
    private) or `grants`.
    """
    if r.type in BUCKET_ACLS:
        yield Finding("(resource)", "sets a bucket ACL", "no ACL (ACLs disabled)", "remove the BucketAcl resource")
        return
    if r.type == OWNERSHIP:
        yield from expect(
            r.get("rule", "objectOwnership"),
            "rule.objectOwnership",
            ("BucketOwnerEnforced",),
            "'BucketOwnerEnforced'",
            "set objectOwnership='BucketOwnerEnforced'",
            vocabulary=["ObjectWriter", "BucketOwnerPreferred"],
        )
        return
    acl = r.get("acl")
    if isinstance(acl, str) and acl != "private":
        yield Finding(
            "acl",
            f"is {shown(acl, ['public-read', 'public-read-write', 'authenticated-read', 'log-delivery-write'])}",
            "absent",
            "remove acl",
        )
    if items(r.get("grants")):
        yield Finding("grants", "is set", "absent", "remove grants")


@resource_policy(
    "s3-access-logging",
    description="Bucket access logging configurations name a target bucket.",
    controls=["REG-10"],
    severity=MEDIUM,
    remediation="Set targetBucket to the platform log bucket.",
    tokens=[*LOGGING],
)
def s3_access_logging(r: Resource, config: Config) -> Iterator[Outcome]:
    """`targetBucket` is set."""
    if r.get("targetBucket") in (None, ""):
        yield Finding("targetBucket", "is absent", "the platform log bucket", "set targetBucket")


def _versioning_status(r: Resource) -> Any:
    if r.type in VERSIONING:
        return r.get("versioningConfiguration", "status")
    if r.type == BUCKETS[0]:
        enabled = as_bool(r.get("versioning", "enabled"))
        return "Enabled" if enabled is True else enabled
    entries = items(r.get("versionings"))
    return "Enabled" if any(as_bool(get(e, "enabled")) is True for e in entries) else None


@resource_policy(
    "s3-versioning",
    description="Bucket versioning configurations enable versioning.",
    controls=["REG-11"],
    severity=MEDIUM,
    remediation="Set versioningConfiguration={status: 'Enabled'}.",
    tokens=[*VERSIONING],
)
def s3_versioning(r: Resource, config: Config) -> Iterator[Outcome]:
    """`versioningConfiguration.status` is `Enabled`."""
    yield from expect(
        _versioning_status(r),
        "versioningConfiguration.status",
        ("Enabled",),
        "'Enabled'",
        "set status='Enabled'",
        vocabulary=["Suspended", "Disabled"],
    )


# --- stack policies -------------------------------------------------------------------------


def _configured_buckets(stack: Stack, tokens: tuple[str, ...]) -> set[str]:
    return {bucket.urn for resource in stack.of(*tokens) if (bucket := bucket_of(stack, resource)) is not None}


@stack_policy(
    "s3-bucket-has-public-access-block",
    description="Every bucket has its own public access block.",
    controls=["REG-7"],
    severity=CRITICAL,
    remediation="Add an aws.s3.BucketPublicAccessBlock with all four flags for the bucket.",
    tokens=[*BUCKETS, BUCKET_PAB],
)
def s3_bucket_has_public_access_block(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `Bucket`/`BucketV2` is the `bucket` of a `BucketPublicAccessBlock` (through property dependencies or its
    literal name).
    """
    covered = _configured_buckets(stack, (BUCKET_PAB,))
    for bucket in stack.of(*BUCKETS):
        if bucket.urn not in covered:
            yield Finding(
                "(public access block)",
                "is missing",
                "a BucketPublicAccessBlock",
                "add one with all four flags",
                bucket,
            )


def _artifact(bucket: Resource, purposes: list[str]) -> bool:
    purpose = bucket_purpose(bucket)
    return purpose is None or purpose in purposes


@stack_policy(
    "s3-artifact-buckets-logged",
    description="Every model and data bucket has server access logging.",
    controls=["REG-10"],
    severity=MEDIUM,
    remediation="Add an aws.s3.BucketLogging for the bucket, targeting the platform log bucket.",
    tokens=[*BUCKETS, *LOGGING],
    config={"artifactPurposes": _ARTIFACT_PURPOSES},
)
def s3_artifact_buckets_logged(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each bucket whose purpose is in `artifactPurposes` (or not derivable from its name) has a `BucketLogging` or
    inline `logging`; a server access log target (the `targetBucket` of a logging configuration, through property
    dependencies or by name) is exempt unless its purpose is on the list.

    S3 advises against server access logging on a log target bucket (Amazon S3 User Guide, "Enabling Amazon S3 server
    access logging"); the join recognises the log target even when its name does not yield a purpose.
    """
    covered = _configured_buckets(stack, LOGGING)
    targets = log_targets(stack)
    for bucket in stack.of(*BUCKETS):
        inline = bucket.get("logging", "targetBucket") or items(bucket.get("loggings"))
        if bucket.urn in targets and bucket_purpose(bucket) not in config["artifactPurposes"]:
            continue
        if _artifact(bucket, config["artifactPurposes"]) and bucket.urn not in covered and not inline:
            yield Finding(
                "(access logging)", "is missing", "a BucketLogging to the log bucket", "add a BucketLogging", bucket
            )


@stack_policy(
    "s3-artifact-buckets-versioned",
    description="Every model and data bucket has versioning enabled.",
    controls=["REG-11"],
    severity=MEDIUM,
    remediation="Add an aws.s3.BucketVersioning with status 'Enabled' for the bucket.",
    tokens=[*BUCKETS, *VERSIONING],
    config={"artifactPurposes": _ARTIFACT_PURPOSES},
)
def s3_artifact_buckets_versioned(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each bucket whose purpose is in `artifactPurposes` (or not derivable) has a `BucketVersioning` or inline
    versioning `Enabled`.
    """
    enabled = {
        bucket.urn
        for resource in stack.of(*VERSIONING)
        if _versioning_status(resource) == "Enabled" and (bucket := bucket_of(stack, resource)) is not None
    }
    for bucket in stack.of(*BUCKETS):
        if (
            _artifact(bucket, config["artifactPurposes"])
            and bucket.urn not in enabled
            and _versioning_status(bucket) != "Enabled"
        ):
            yield Finding(
                "(versioning)",
                "is not enabled",
                "a BucketVersioning with status 'Enabled'",
                "add a BucketVersioning",
                bucket,
            )


@stack_policy(
    "s3-bucket-policy-owner-principals",
    description="Bucket policies name only the bucket owner's roles and the platform's break-glass role.",
    controls=["REG-8"],
    severity=CRITICAL,
    remediation="Remove other owners' roles from the bucket policy.",
    tokens=[*BUCKETS, BUCKET_POLICY],
    config={"platformRoles": string_list(["break-glass"], "Platform role suffixes admitted on tenant buckets.")},
)
def s3_bucket_policy_owner_principals(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `BucketPolicy`, joined to its bucket through `bucket`, names roles (aip-<env>-<owner>-*) of the bucket's
    owner only.
    """
    tenants = stack_owners(stack) | {PLATFORM_OWNER}
    for policy in stack.of(BUCKET_POLICY):
        bucket = bucket_of(stack, policy)
        bucket_owner = owner_in_stack(stack, bucket) if bucket is not None else None
        found = statements(policy.get("policy"))
        if not bucket_owner or is_unknown(found):
            continue
        for statement in found:
            if not statement.allows:
                continue
            for kind, value in statement.principals:
                name = role_name_of(value) if kind == "AWS" else None
                other = role_owner(name, tenants) if name else None
                if other is None or other == bucket_owner:
                    continue
                if other == PLATFORM_OWNER and any(name.endswith(f"-{s}") for s in config["platformRoles"]):  # type: ignore[union-attr]
                    continue
                yield Finding(
                    f"policy.Statement[{statement.index}].Principal",
                    f"names a role of owner {shown(other, identifier=True)}",
                    f"roles of {shown(bucket_owner, identifier=True)} only",
                    "remove the foreign principal",
                    policy,
                )


@stack_policy(
    "ecr-repository-lifecycle",
    description="Every ECR repository has a lifecycle policy.",
    controls=["REG-3"],
    severity=MEDIUM,
    remediation="Add an aws.ecr.LifecyclePolicy for the repository.",
    tokens=[REPOSITORY, LIFECYCLE_POLICY],
)
def ecr_repository_lifecycle(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `Repository` is the `repository` of a `LifecyclePolicy` (through property dependencies
    or its literal name).
    """
    covered: set[str] = set()
    for lifecycle in stack.of(LIFECYCLE_POLICY):
        covered.update(repo.urn for repo in stack.sources(lifecycle, "repository", REPOSITORY))
        name = lifecycle.get("repository")
        covered.update(repo.urn for repo in stack.of(REPOSITORY) if isinstance(name, str) and repo.get("name") == name)
    for repository in stack.of(REPOSITORY):
        if repository.urn not in covered:
            yield Finding(
                "(lifecycle policy)", "is missing", "an ecr.LifecyclePolicy", "add a lifecycle policy", repository
            )


def _scanning_covers(stack: Stack, repository: Resource) -> bool:
    name = repository.get("name")
    for scanning in stack.of(SCANNING):
        if scanning.get("scanType") != "ENHANCED":
            continue
        for rule in items(scanning.get("rules")):
            for entry in items(get(rule, "repositoryFilters")):
                pattern = get(entry, "filter")
                if pattern == "*" or (
                    isinstance(name, str) and isinstance(pattern, str) and fnmatchcase(name, pattern)
                ):
                    return True
    return False


@stack_policy(
    "ecr-image-scanning",
    description="Every ECR repository is scanned on push or by an enhanced registry scanning rule.",
    controls=["REG-1"],
    severity=HIGH,
    remediation=(
        "Set imageScanningConfiguration={scanOnPush: True}, or add an ENHANCED RegistryScanningConfiguration rule "
        "covering the repository."
    ),
    tokens=[REPOSITORY, SCANNING],
)
def ecr_image_scanning(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `Repository` has `imageScanningConfiguration.scanOnPush` true (absent = false) or matches an ENHANCED
    scanning rule's `repositoryFilters`.
    """
    for repository in stack.of(REPOSITORY):
        scan = as_bool(repository.get("imageScanningConfiguration", "scanOnPush"))
        if scan is True or is_unknown(scan) or _scanning_covers(stack, repository):
            continue
        yield Finding(
            "imageScanningConfiguration.scanOnPush",
            f"is {shown(scan)} and no enhanced scanning rule covers the repository",
            "true",
            "set scanOnPush=True",
            repository,
        )
