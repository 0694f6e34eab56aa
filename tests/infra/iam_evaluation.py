"""A request-level evaluation of the IAM policies the platform writes, for the proofs that a principal can (or cannot)
do what a deployment needs across accounts.

Only the grammar the platform's own documents use is implemented; anything else raises, so a proof never passes on a
construct it did not understand. The rules, each from the AWS IAM User Guide:

- "Policy evaluation logic": an explicit ``Deny`` in any applicable policy wins; otherwise the request needs an
  ``Allow`` from every policy type that applies: the identity-based policy, the permissions boundary when the role
  has one, and the resource-based policy.
- "Cross-account policy evaluation logic": a request from another account needs both the identity-based policy in
  the requesting account and the resource-based policy in the trusting account to allow it. A resource policy whose
  principal is an account root delegates to that account's identity policies, so it needs them too, in the same
  account as well ("AWS JSON policy elements: Principal", AWS account principals).
- "IAM JSON policy elements: Condition operators": every operator and every key of a condition block must match;
  a key absent from the request makes a matching operator false and a negated one (``StringNotEquals``,
  ``ArnNotLike``...) true, ``...IfExists`` true, and ``Null`` tests presence; ``ForAnyValue:`` is false on an absent
  key; ``*`` and ``?`` are wildcards of the ``Like`` operators and of ``Action`` and ``Resource`` (actions
  case-insensitive).
- "IAM policy elements: Variables and tags": ``${key}`` in a condition value is the request's value of ``key``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

Statement = Mapping[str, Any]


@dataclass(frozen=True)
class Request:
    """One API request: who (a role; its session is evaluated as the role), what, on what, and its context keys."""

    principal: str
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return self.principal.split(":")[4]

    def value(self, key: str) -> str | None:
        wanted = key.lower()
        for name, value in self._context().items():
            if name.lower() == wanted:
                return value
        return None

    def _context(self) -> dict[str, str]:
        # aws:PrincipalArn of a role session is the role's ARN (IAM User Guide, "AWS global condition context keys").
        return {"aws:PrincipalArn": self.principal, "aws:PrincipalAccount": self.account, **self.context}


def document(text_or_document: str | Mapping[str, Any]) -> list[Statement]:
    parsed = json.loads(text_or_document) if isinstance(text_or_document, str) else text_or_document
    raw = parsed["Statement"]
    return [raw] if isinstance(raw, Mapping) else list(raw)


def _values(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(item) for item in value]


def _substitute(pattern: str, request: Request) -> str:
    def variable(match: re.Match[str]) -> str:
        value = request.value(match.group(1))
        if value is None:
            raise ValueError(f"policy variable {match.group(0)} has no value in the request")
        return value

    return re.sub(r"\$\{([^}]+)\}", variable, pattern)


def _like(value: str, pattern: str) -> bool:
    return fnmatchcase(value, pattern)


_MATCHERS = {
    "StringEquals": lambda value, pattern: value == pattern,
    "StringLike": _like,
    "ArnEquals": lambda value, pattern: value == pattern,
    "ArnLike": _like,
    "Bool": lambda value, pattern: value.lower() == pattern.lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotLike": "StringLike", "ArnNotLike": "ArnLike"}


def _condition_holds(operator: str, key: str, patterns: list[str], request: Request) -> bool:
    value = request.value(key)
    if operator == "Null":
        [wanted] = patterns
        return (value is None) == (wanted.lower() == "true")
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    any_value = base.startswith("ForAnyValue:")
    base = base.removeprefix("ForAnyValue:")
    if value is None:
        if if_exists:
            return True
        return base in _NEGATED and not any_value
    resolved = [_substitute(pattern, request) for pattern in patterns]
    if base in _NEGATED:
        return not any(_MATCHERS[_NEGATED[base]](value, pattern) for pattern in resolved)
    if base not in _MATCHERS:
        raise ValueError(f"condition operator {operator} is not implemented here")
    return any(_MATCHERS[base](value, pattern) for pattern in resolved)


def conditions_hold(statement: Statement, request: Request) -> bool:
    return all(
        _condition_holds(operator, key, _values(patterns), request)
        for operator, by_key in (statement.get("Condition") or {}).items()
        for key, patterns in by_key.items()
    )


def _action_matches(statement: Statement, action: str) -> bool:
    def match(patterns: Any) -> bool:
        return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in _values(patterns))

    if "Action" in statement:
        return match(statement["Action"])
    return not match(statement["NotAction"])


def _resource_matches(statement: Statement, resource: str) -> bool:
    if "NotResource" in statement:
        raise ValueError("NotResource is not implemented here")
    # A trust policy's statements name no resource: they apply to the role that holds them.
    return "Resource" not in statement or any(_like(resource, pattern) for pattern in _values(statement["Resource"]))


def _principal_matches(statement: Statement, request: Request) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping) or set(principal) != {"AWS"}:
        return False
    for value in _values(principal["AWS"]):
        if value == "*" or value == request.principal:
            return True
        if value.endswith(":root") and value.split(":")[4] == request.account:
            return True
    return False


def effect(statements: Sequence[Statement], request: Request, *, resource_policy: bool = False) -> str | None:
    """``Deny``, ``Allow`` or None (no statement applies) for one policy."""
    applicable = [
        statement
        for statement in statements
        if _action_matches(statement, request.action)
        and _resource_matches(statement, request.resource)
        and (not resource_policy or _principal_matches(statement, request))
        and conditions_hold(statement, request)
    ]
    effects = {statement["Effect"] for statement in applicable}
    if "Deny" in effects:
        return "Deny"
    return "Allow" if "Allow" in effects else None


def allowed(
    request: Request,
    identity: Sequence[Statement],
    resource: Sequence[Statement],
    boundary: Sequence[Statement] | None = None,
    *,
    resource_must_allow: bool = True,
) -> bool:
    """Whether AWS allows ``request``: no explicit deny anywhere, and an allow from the identity policy and the
    boundary (when the role has one), and from the resource policy where it must give one.

    The resource policy must allow a request from another account, and always for a KMS key ("Unless the key policy
    explicitly allows it, you cannot use IAM policies to allow access to a KMS key", AWS KMS Developer Guide, "Key
    policies in AWS KMS") and a role's trust policy; within an account, an S3 bucket policy need not
    (``resource_must_allow=False``). The identity policy is always needed: every resource policy proved here names
    account roots, which delegate to it.
    """
    resource_effect = effect(resource, request, resource_policy=True)
    decisions = [effect(identity, request), *([effect(boundary, request)] if boundary is not None else [])]
    if "Deny" in decisions or resource_effect == "Deny":
        return False
    if resource_must_allow and resource_effect != "Allow":
        return False
    return all(decision == "Allow" for decision in decisions)
