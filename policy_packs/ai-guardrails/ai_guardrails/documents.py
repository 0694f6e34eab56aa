"""IAM-style policy documents (IAM, KMS key, S3 bucket, ECR, trust policies).

Documents arrive as JSON strings or as data, and may be unknown in a preview. ``statements``
normalises them once: actions, resources and principals always lists, principals as
(kind, value) pairs, condition keys lower-cased for matching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from ai_guardrails.values import UNKNOWN, as_json, is_unknown


@dataclass(frozen=True)
class Statement:
    """One statement of a policy document, normalised."""

    index: int
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principals: tuple[tuple[str, str], ...]
    not_principal: bool
    conditions: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    @property
    def denies(self) -> bool:
        return self.effect == "Deny"

    def condition_keys(self) -> set[str]:
        return {key.lower() for entries in self.conditions.values() for key in entries}

    def condition_values(self, key: str) -> list[str]:
        wanted = key.lower()
        return [
            value
            for entries in self.conditions.values()
            for name, values in entries.items()
            if name.lower() == wanted
            for value in values
        ]

    def grants(self, action: str) -> bool:
        """Whether this statement's action list covers ``action`` (wildcards honoured)."""
        if self.not_actions:
            return not any(_glob(pattern, action) for pattern in self.not_actions)
        return any(_glob(pattern, action) for pattern in self.actions)

    def on_all_resources(self) -> bool:
        return "*" in self.resources or bool(self.not_resources)

    def public(self) -> bool:
        """Whether anyone at all is a principal (``*`` or ``{"AWS": "*"}``)."""
        return self.not_principal or any(value == "*" for _, value in self.principals)


def _glob(pattern: str, action: str) -> bool:
    return fnmatchcase(action.lower(), pattern.lower())


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, str))
    return ()


def _principals(value: Any) -> tuple[tuple[str, str], ...]:
    if value == "*":
        return (("AWS", "*"),)
    if not isinstance(value, dict):
        return ()
    return tuple((kind, item) for kind, entry in value.items() for item in _strings(entry))


def _conditions(value: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    if not isinstance(value, dict):
        return {}
    result: dict[str, dict[str, tuple[str, ...]]] = {}
    for operator, entries in value.items():
        if isinstance(entries, dict):
            result[str(operator)] = {
                str(key): tuple(str(item) for item in _listify(val)) for key, val in entries.items()
            }
    return result


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(document: Any) -> list[Statement] | Any:
    """The statements of a document; UNKNOWN if it is (or contains) an unknown; [] if absent or unparseable."""
    parsed = as_json(document)
    if is_unknown(parsed):
        return UNKNOWN
    if not isinstance(parsed, dict):
        return []
    raw = parsed.get("Statement")
    entries = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    result = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        principal_key = "NotPrincipal" if "NotPrincipal" in entry else "Principal"
        result.append(
            Statement(
                index=index,
                effect=str(entry.get("Effect", "")),
                actions=_strings(entry.get("Action")),
                not_actions=_strings(entry.get("NotAction")),
                resources=_strings(entry.get("Resource")),
                not_resources=_strings(entry.get("NotResource")),
                principals=_principals(entry.get(principal_key)),
                not_principal=principal_key == "NotPrincipal",
                conditions=_conditions(entry.get("Condition")),
            )
        )
    return result


def role_name_of(arn: str) -> str | None:
    """The role name of an IAM role ARN (or an STS assumed-role ARN), else None."""
    if ":role/" in arn:
        return arn.rsplit("/", 1)[-1]
    if ":assumed-role/" in arn:
        return arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
    return None


IAM_POLICY = "aws:iam/policy:Policy"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
USER_POLICY = "aws:iam/userPolicy:UserPolicy"
GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
ROLE = "aws:iam/role:Role"
# Every token that carries an identity-based policy document, and where.
IDENTITY_DOCUMENT_TOKENS = (IAM_POLICY, ROLE_POLICY, USER_POLICY, GROUP_POLICY, ROLE)


def identity_documents(token: str, props: dict[str, Any]) -> list[tuple[str, Any]]:
    """The identity-based policy documents a resource carries, with their property paths."""
    if token == ROLE:
        found = []
        inline = props.get("inlinePolicies")
        if is_unknown(inline):
            return [("inlinePolicies", UNKNOWN)]
        for index, entry in enumerate(inline if isinstance(inline, list) else []):
            if isinstance(entry, dict) and "policy" in entry:
                found.append((f"inlinePolicies[{index}].policy", entry["policy"]))
        return found
    if token in IDENTITY_DOCUMENT_TOKENS and "policy" in props:
        return [("policy", props["policy"])]
    return []
