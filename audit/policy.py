"""Resource policy documents: statements, principals and conditions, and who they admit.

One helper for the concept "principals only the owner's" that the key policy (KMS-3), repository
policy (REG-5) and bucket policy (REG-8) checks share.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from audit.context import AuditContext
from audit.identity import (
    BREAK_GLASS_ROLE,
    Owner,
    is_account_root,
    principal_owner,
)
from audit.model import PLATFORM_OWNER

# Condition keys that tie a statement to this account or to named principals or resources: what
# makes ``Principal: "*"`` acceptable.
IDENTITY_CONDITION_KEYS = frozenset(
    {
        "kms:calleraccount",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:sourceaccount",
        "aws:sourcearn",
    }
)
# Condition keys that restrict what an AWS service principal may do (CONTROLS KMS-3).
SERVICE_CONDITION_KEYS = frozenset(
    {"kms:viaservice", "kms:calleraccount", "aws:sourcearn", "aws:sourceaccount", "kms:grantisforawsresource"}
)
SERVICE_CONDITION_PREFIXES = ("kms:encryptioncontext:",)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(item) for item in value)


@dataclass(frozen=True)
class Principal:
    """One principal of a statement: ``kind`` is AWS, Service, Federated, CanonicalUser or ``*``."""

    kind: str
    value: str

    @property
    def wildcard(self) -> bool:
        return self.value == "*"


@dataclass(frozen=True)
class Statement:
    """One statement, normalised (single values become tuples)."""

    sid: str
    effect: str
    principals: tuple[Principal, ...]
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    # operator -> condition key (lower case) -> values
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else "a statement without Sid"

    def covers(self, action: str) -> bool:
        """Whether the statement's actions include ``action`` (IAM wildcards, case-insensitive)."""

        def match(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in patterns)

        return match(self.actions) if self.actions else not match(self.not_actions)

    def condition_keys(self) -> set[str]:
        return {key for by_key in self.conditions.values() for key in by_key}

    def condition_values(self, key: str) -> tuple[str, ...]:
        return tuple(value for by_key in self.conditions.values() for value in by_key.get(key.lower(), ()))

    def requires_true(self, key: str) -> bool:
        """Whether a Bool condition requires ``key`` to be true."""
        return any(
            operator.startswith("Bool") and [value.lower() for value in by_key.get(key.lower(), ())] == ["true"]
            for operator, by_key in self.conditions.items()
        )


def statements(document: str | Mapping[str, Any] | None) -> list[Statement]:
    """The statements of a policy document (JSON text or parsed); none for no document."""
    if not document:
        return []
    parsed = json.loads(document) if isinstance(document, str) else document
    raw = parsed.get("Statement", [])
    result = []
    for statement in [raw] if isinstance(raw, Mapping) else raw:
        principal = statement.get("Principal")
        if principal == "*":
            principals: tuple[Principal, ...] = (Principal("*", "*"),)
        else:
            principals = tuple(
                Principal(kind, value) for kind, values in (principal or {}).items() for value in _strings(values)
            )
        conditions = {
            operator: {key.lower(): _strings(values) for key, values in by_key.items()}
            for operator, by_key in (statement.get("Condition") or {}).items()
        }
        result.append(
            Statement(
                sid=str(statement.get("Sid", "")),
                effect=str(statement.get("Effect", "")),
                principals=principals,
                actions=_strings(statement.get("Action")),
                not_actions=_strings(statement.get("NotAction")),
                conditions=conditions,
            )
        )
    return result


def restricted_to_account(ctx: AuditContext, statement: Statement) -> bool:
    """An identity condition is present and every account or ARN it names is this account's."""
    keys = statement.condition_keys() & IDENTITY_CONDITION_KEYS
    if not keys:
        return False
    for key in keys:
        for value in statement.condition_values(key):
            if key.endswith("orgid"):
                continue
            if ctx.account not in value:
                return False
    return True


def service_restricted(statement: Statement) -> bool:
    return any(
        key in SERVICE_CONDITION_KEYS or key.startswith(SERVICE_CONDITION_PREFIXES)
        for key in statement.condition_keys()
    )


@dataclass(frozen=True)
class Admission:
    """Who a policy may admit besides the owner's roles."""

    # AWS service principals (each only under a restricting condition).
    services: Collection[str] = ()
    # The platform's roles (by role name) that may appear beside the owner's.
    platform_roles: Collection[str] = (BREAK_GLASS_ROLE,)
    # Any platform role of the owner's environment may appear (e.g. the node roles that pull a
    # tenant's images, or the deployer's grants for AWS resources).
    any_platform_role: bool = False
    account_root: bool = True
    # Other principals to admit, e.g. the Auto Scaling service-linked role on a volumes key.
    also_admit: Callable[[AuditContext, str], bool] | None = None
    # When set, AWS role principals must be exactly these platform roles (not the owner's).
    only_platform_roles: Collection[str] | None = None


def foreign_principals(ctx: AuditContext, statement: Statement, owner: Owner, admit: Admission) -> list[str]:
    """What an Allow statement admits beyond the owner: one message per foreign principal."""
    if statement.effect != "Allow":
        return []
    problems = []
    for principal in statement.principals:
        if principal.wildcard:
            if not restricted_to_account(ctx, statement):
                problems.append(
                    f"{statement.label} allows Principal '*' without a condition limiting it to this account"
                )
        elif principal.kind == "Service":
            if principal.value not in admit.services:
                problems.append(
                    f"{statement.label} allows the service {principal.value}, which this resource does not need"
                )
            elif not service_restricted(statement):
                problems.append(
                    f"{statement.label} allows the service {principal.value} without a restricting condition"
                )
        elif principal.kind == "AWS":
            problem = _foreign_aws_principal(ctx, principal.value, owner, admit)
            if problem:
                problems.append(f"{statement.label} allows {principal.value}, {problem}")
        else:
            problems.append(f"{statement.label} allows the {principal.kind} principal {principal.value}")
    return problems


def _foreign_aws_principal(ctx: AuditContext, principal: str, owner: Owner, admit: Admission) -> str | None:
    if is_account_root(ctx, principal):
        return None if admit.account_root and admit.only_platform_roles is None else "the account root"
    if admit.also_admit and admit.also_admit(ctx, principal):
        return None
    who = principal_owner(ctx, principal)
    if admit.only_platform_roles is not None:
        if any(who.is_platform_role(role, owner.environment) for role in admit.only_platform_roles):
            return None
        return f"{who.describe()}; only the platform's {'/'.join(admit.only_platform_roles)} role may"
    if who.same_owner(owner) or any(who.is_platform_role(role, owner.environment) for role in admit.platform_roles):
        return None
    if admit.any_platform_role and who.tenant == PLATFORM_OWNER and who.environment == owner.environment:
        return None
    return f"{who.describe()}, not of {owner.name()}"
