"""Who owns a resource, a role or a key.

Ownership is the ``aiplatform:tenant`` tag (``platform`` for the platform's own resources). A role
without that tag belongs to an owner by the naming rule ``aip-<env>-<owner>-<role>``
(``infra/naming.py``, which the audit must not import: it runs without Pulumi). Tenant names may
contain hyphens, so a role name is read against the owners the stack knows, longest first. A key's
purpose comes from its alias ``alias/<env>/<owner>/<purpose>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiplatform_standards import platform

from audit.context import AuditContext
from audit.model import ENVIRONMENT_TAG, PLATFORM_OWNER, TENANT_TAG, Resource

_PREFIX: str = platform()["name_prefix"]
_ENVIRONMENTS: tuple[str, ...] = tuple(platform()["environments"])
# The platform's roles that the control catalog names (DESIGN.md: the account baseline's roles).
BREAK_GLASS_ROLE = "break-glass"
CI_ROLE = "ci"
# The role part of a cluster stack's in-VPC deploy runner, aip-<env>-<owner>-deploy-runner: the standards' rule,
# which infra/naming.py builds the name from (deploy_runner_role_name).
DEPLOY_RUNNER_ROLE: str = platform()["deploy_runner_role"]
AUTOSCALING_SERVICE_ROLE = "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def tag_map(tags: Iterable[Mapping[str, Any]] | Mapping[str, str] | None) -> dict[str, str]:
    """Tags as a dict, from any of AWS's shapes (Key/Value, TagKey/TagValue, key/value, a map)."""
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        return {str(key): str(value) for key, value in tags.items()}
    result: dict[str, str] = {}
    for tag in tags:
        key = tag.get("Key", tag.get("TagKey", tag.get("key")))
        value = tag.get("Value", tag.get("TagValue", tag.get("value", "")))
        result[str(key)] = str(value)
    return result


@dataclass(frozen=True)
class Owner:
    """An (environment, owner) pair; ``role`` is the role part of a platform role's name."""

    environment: str | None
    tenant: str | None
    role: str | None = None

    def same_owner(self, other: Owner) -> bool:
        return self.tenant is not None and self.tenant == other.tenant and self.environment == other.environment

    def is_platform_role(self, role: str, environment: str | None) -> bool:
        return self.tenant == PLATFORM_OWNER and self.role == role and self.environment == environment

    def is_deploy_runner_of(self, owner: Owner) -> bool:
        """The in-VPC deploy runner of ``owner``'s cluster stack: its role ``aip-<env>-<owner>-deploy-runner``."""
        return self.role == DEPLOY_RUNNER_ROLE and self.same_owner(owner)

    def name(self) -> str:
        """``tenant fraud (dev)``, ``the platform (prod)`` or ``no known owner``."""
        if self.tenant is None:
            return "no known owner"
        who = "the platform" if self.tenant == PLATFORM_OWNER else f"tenant {self.tenant}"
        return f"{who} ({self.environment or 'no environment'})"

    def describe(self) -> str:
        """How a principal of this owner reads in a finding."""
        return "a principal of no known owner" if self.tenant is None else f"a role of {self.name()}"


def resource_owner(resource: Resource) -> Owner:
    return Owner(resource.environment, resource.tenant)


def parse_role_name(name: str, owners: Iterable[str]) -> Owner | None:
    """``aip-<env>-<owner>-<role>`` read against the known owners, longest first."""
    for environment in _ENVIRONMENTS:
        head = f"{_PREFIX}-{environment}-"
        if not name.startswith(head):
            continue
        for owner in sorted(owners, key=len, reverse=True):
            if name.startswith(f"{head}{owner}-"):
                return Owner(environment, owner, name[len(head) + len(owner) + 1 :])
    return None


@dataclass(frozen=True)
class Arn:
    """The parts of an ARN that ownership needs."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, arn: str) -> Arn | None:
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn":
            return None
        return cls(*parts[1:])


def principal_owner(ctx: AuditContext, principal: str) -> Owner:
    """The owner of an AWS principal (a role ARN; a session of a role counts as the role)."""
    arn = Arn.parse(principal)
    if arn is None or arn.account != ctx.account:
        return Owner(None, None)
    kind, _, path = arn.resource.partition("/")
    if kind == "assumed-role":
        name = path.split("/")[0]
    elif kind == "role":
        name = path.rsplit("/", 1)[-1]
    else:
        return Owner(None, None)
    tags = tag_map(ctx.api.pages("iam", "ListRoleTags", "Tags", absent=("NoSuchEntity",), RoleName=name))
    by_name = parse_role_name(name, {*ctx.owners, *filter(None, [tags.get(TENANT_TAG)])})
    return Owner(
        tags.get(ENVIRONMENT_TAG) or (by_name.environment if by_name else None),
        tags.get(TENANT_TAG) or (by_name.tenant if by_name else None),
        by_name.role if by_name else None,
    )


def is_account_root(ctx: AuditContext, principal: str) -> bool:
    return principal in (ctx.account, f"arn:{ctx.partition}:iam::{ctx.account}:root")


def is_autoscaling_service_role(ctx: AuditContext, principal: str) -> bool:
    return principal == f"arn:{ctx.partition}:iam::{ctx.account}:role/{AUTOSCALING_SERVICE_ROLE}"


@dataclass(frozen=True)
class KeyInfo:
    """A KMS key as the encryption checks judge it."""

    arn: str
    customer_managed: bool
    owner: Owner
    purpose: str | None


def _aliases(ctx: AuditContext) -> dict[str, list[str]]:
    by_key: dict[str, list[str]] = {}
    for alias in ctx.api.items("kms", "ListAliases", "Aliases"):
        if alias.get("TargetKeyId"):
            by_key.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
    return by_key


def key_info(ctx: AuditContext, key: str) -> KeyInfo:
    """Owner and purpose of the key ``key`` (an id, ARN, alias name or alias ARN)."""
    described = ctx.api.call("kms", "DescribeKey", KeyId=key)
    metadata = (described or {})["KeyMetadata"]
    arn = metadata["Arn"]
    known = ctx.tags_of(arn)
    tags = known if known is not None else tag_map(ctx.api.items("kms", "ListResourceTags", "Tags", KeyId=arn))
    environment, owner, purpose = tags.get(ENVIRONMENT_TAG), tags.get(TENANT_TAG), None
    for alias in _aliases(ctx).get(metadata["KeyId"], []):
        parts = alias.split("/")
        if len(parts) == 4 and parts[1] in _ENVIRONMENTS:
            environment, owner, purpose = environment or parts[1], owner or parts[2], parts[3]
    return KeyInfo(arn, metadata.get("KeyManager") == "CUSTOMER", Owner(environment, owner), purpose)


def key_problems(ctx: AuditContext, key: str | None, owner: Owner, purpose: str | None) -> list[str]:
    """Why ``key`` is not a customer-managed key of ``owner`` for ``purpose`` (CONTROLS KMS-5)."""
    if not key:
        return ["no customer-managed KMS key is set"]
    info = key_info(ctx, key)
    problems = []
    if not info.customer_managed:
        problems.append(f"{info.arn} is an AWS-managed key, not a customer-managed key")
    elif not info.owner.same_owner(owner):
        problems.append(f"{info.arn} belongs to {info.owner.name()}, not to {owner.name()}")
    elif purpose and info.purpose and info.purpose != purpose:
        problems.append(f"{info.arn} is the {info.purpose} key, not the {purpose} key")
    return problems


def bucket_purpose(ctx: AuditContext, bucket: Resource) -> str | None:
    """The purpose part of ``aip-<env>-<owner>-<purpose>-<account>-<region>``, if the name follows it."""
    owner = resource_owner(bucket)
    head = f"{_PREFIX}-{owner.environment}-{owner.tenant}-"
    for region in platform()["allowed_regions"]:
        tail = f"-{ctx.account}-{region}"
        if bucket.id.startswith(head) and bucket.id.endswith(tail) and len(bucket.id) > len(head) + len(tail):
            return bucket.id[len(head) : -len(tail)]
    return None
