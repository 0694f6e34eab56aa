"""Cross-resource joins through property dependencies: which key, bucket or role an input came from.

Key ARNs, bucket ids and role ARNs are unknown in a first preview, so a stack policy follows the
engine's property dependencies (the resources an input was computed from) instead of comparing
values. A literal alias (``alias/<env>/<owner>/<purpose>``) is understood as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from aiplatform_standards import platform

from ai_guardrails.core import Resource, Stack, string_list
from ai_guardrails.tags import owner
from ai_guardrails.values import get, items

KEY = "aws:kms/key:Key"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
ALIAS = "aws:kms/alias:Alias"
ROLE = "aws:iam/role:Role"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
REPOSITORY = "aws:ecr/repository:Repository"
VPC = "aws:ec2/vpc:Vpc"

# Bucket purposes that hold models or data (KMS-9, REG-10, REG-11), shared by the policies that scope on them.
ARTIFACT_PURPOSES_SCHEMA = string_list(
    ["models", "data"], "Bucket purposes (aip-<env>-<owner>-<purpose>-...) that hold models or data."
)

_ALIAS = re.compile(r"alias/(?P<env>[a-z0-9-]+)/(?P<owner>[a-z0-9-]+)/(?P<purpose>[a-z0-9-]+)$")
_PREFIX = platform()["name_prefix"]
_BUCKET_SUFFIX = re.compile(r"-\d{12}-[a-z]{2}(-gov)?-[a-z]+-\d$")
_ROLE_NAME = re.compile(rf"^{_PREFIX}-(?P<env>[a-z0-9]+)-(?P<rest>[a-z0-9-]+)$")


@dataclass(frozen=True)
class KeyRef:
    """A key as a consumer names it: the key resource if known, and the owner/purpose it declares."""

    key: Resource | None
    owner: str | None
    purposes: frozenset[str]

    @property
    def identity(self) -> str:
        return self.key.urn if self.key is not None else f"alias:{self.owner}/{sorted(self.purposes)}"


def parse_alias(value: Any) -> tuple[str, str] | None:
    """(owner, purpose) of a literal alias name or alias ARN."""
    if not isinstance(value, str):
        return None
    match = _ALIAS.search(value)
    return (match["owner"], match["purpose"]) if match else None


def key_ref(stack: Stack, key: Resource) -> KeyRef:
    aliases = stack.dependents(key, "targetKeyId", ALIAS)
    parsed = [parse_alias(alias.get("name")) for alias in aliases]
    purposes = frozenset(p[1] for p in parsed if p)
    key_owner = owner(key.props, key.type) or next((p[0] for p in parsed if p), None)
    return KeyRef(key, key_owner, purposes)


def keys_behind(stack: Stack, resource: Resource, prop: str, value: Any) -> list[KeyRef]:
    """The keys an input names: through property dependencies (keys, or aliases of keys), or a literal alias."""
    refs = []
    for source in stack.sources(resource, prop, KEY, ALIAS):
        if source.type == KEY:
            refs.append(key_ref(stack, source))
        else:
            targets = stack.sources(source, "targetKeyId", KEY)
            refs.extend(key_ref(stack, target) for target in targets)
            parsed = parse_alias(source.get("name"))
            if not targets and parsed:
                refs.append(KeyRef(None, parsed[0], frozenset({parsed[1]})))
    if not refs:
        parsed = parse_alias(value)
        if parsed:
            refs.append(KeyRef(None, parsed[0], frozenset({parsed[1]})))
    return refs


def key_policies(stack: Stack, key: Resource) -> list[tuple[Resource, Any]]:
    """The key's effective policy with the resource that holds it: a `KeyPolicy` (through `keyId`) replaces the
    key's inline `policy`.
    """
    standalone = stack.dependents(key, "keyId", KEY_POLICY)
    return [(holder, holder.get("policy")) for holder in standalone or [key]]


def bucket_of(stack: Stack, resource: Resource) -> Resource | None:
    """The bucket a standalone bucket resource configures (by dependency, or by literal name)."""
    if resource.type in BUCKETS:
        return resource
    sources = stack.sources(resource, "bucket", *BUCKETS)
    if sources:
        return sources[0]
    name = resource.get("bucket")
    if isinstance(name, str):
        for bucket in stack.of(*BUCKETS):
            if bucket.get("bucket") == name:
                return bucket
    return None


def name_purpose(name: Any, bucket_owner: str | None) -> str | None:
    """The purpose in a bucket name ``aip-<env>-<owner>-<purpose>-<account>-<region>`` of this owner (None if the
    name does not follow the rule for that owner).
    """
    if not isinstance(name, str) or not bucket_owner or not _BUCKET_SUFFIX.search(name):
        return None
    core = _BUCKET_SUFFIX.sub("", name)
    head = f"{_PREFIX}-"
    if not core.startswith(head):
        return None
    rest = core[len(head) :].split("-", 1)
    if len(rest) != 2 or not rest[1].startswith(f"{bucket_owner}-"):
        return None
    return rest[1][len(bucket_owner) + 1 :] or None


def name_ends_with_purpose(name: Any, purposes: list[str]) -> bool:
    """Whether a bucket name ``aip-<env>-<owner>-<purpose>-<account>-<region>`` has one of these purposes, whoever
    the owner (the purpose ends the owner-purpose part, so no owner's name can supply it).
    """
    if not isinstance(name, str) or not _BUCKET_SUFFIX.search(name):
        return False
    core = _BUCKET_SUFFIX.sub("", name)
    head = f"{_PREFIX}-"
    rest = core[len(head) :].split("-", 1) if core.startswith(head) else []
    return len(rest) == 2 and any(rest[1].endswith(f"-{p}") and len(rest[1]) > len(p) + 1 for p in purposes)


def bucket_purpose(bucket: Resource) -> str | None:
    """The purpose in ``aip-<env>-<owner>-<purpose>-<account>-<region>``, the owner from the bucket's tenant tag."""
    return name_purpose(bucket.get("bucket"), owner(bucket.props, bucket.type))


def log_targets(stack: Stack) -> set[str]:
    """URNs of the buckets that receive S3 server access logs: the ``targetBucket`` of a ``BucketLogging`` (or its V2
    alias) or of a bucket's inline ``logging``/``loggings``, through property dependencies or by literal name.
    """
    by_name = {name: bucket.urn for bucket in stack.of(*BUCKETS) if isinstance(name := bucket.get("bucket"), str)}
    named: list[tuple[Resource, str, Any]] = [
        (logging, "targetBucket", logging.get("targetBucket")) for logging in stack.of(*LOGGING)
    ]
    for bucket in stack.of(*BUCKETS):
        named.append((bucket, "logging", bucket.get("logging", "targetBucket")))
        named.extend((bucket, "loggings", get(entry, "targetBucket")) for entry in items(bucket.get("loggings")))
    found: set[str] = set()
    for resource, prop, target in named:
        found.update(source.urn for source in stack.sources(resource, prop, *BUCKETS))
        if isinstance(target, str) and target in by_name:
            found.add(by_name[target])
    return found


def owner_in_stack(stack: Stack, resource: Resource) -> str | None:
    """Who owns a resource: its own tags, else the bucket or repository it configures, else its parent's."""
    found = owner(resource.props, resource.type)
    if found:
        return found
    bucket = bucket_of(stack, resource) if "bucket" in resource.props else None
    if bucket is not None:
        return owner(bucket.props, bucket.type)
    repositories = stack.sources(resource, "repository", REPOSITORY)
    if repositories:
        return owner(repositories[0].props, repositories[0].type)
    parent = stack.by_urn.get(resource.parent or "")
    while parent is not None:
        found = owner(parent.props, parent.type)
        if found:
            return found
        parent = stack.by_urn.get(parent.parent or "")
    return None


def role_owner(role_name: str, tenants: set[str]) -> str | None:
    """The owner in ``aip-<env>-<owner>-<role>``: the longest known owner that prefixes the rest."""
    match = _ROLE_NAME.match(role_name)
    if not match:
        return None
    rest = match["rest"]
    candidates = [name for name in tenants if rest.startswith(f"{name}-")]
    return max(candidates, key=len) if candidates else None


def roles_behind(stack: Stack, resource: Resource, prop: str) -> list[Resource]:
    return stack.sources(resource, prop, ROLE)


def stack_owners(stack: Stack) -> set[str]:
    """Every owner (tenant or platform) that tags at least one resource of the stack."""
    return {found for resource in stack.resources if (found := owner(resource.props, resource.type))}
