"""The IAM actions behind the audit's API calls, and the least-privilege policy that allows them.

The policy ships as ``iam-policy.json`` beside this module; the tests hold every API call the audit
makes to it, and hold it to read-only actions.
"""

from __future__ import annotations

import fnmatch
import json
from functools import cache
from importlib import resources
from typing import Any

# botocore service name -> IAM service prefix, where they differ.
_IAM_PREFIX = {"resourcegroupstaggingapi": "tag"}

# API operations whose IAM action has another name.
_IAM_ACTION = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("budgets", "DescribeBudgets"): "budgets:ViewBudget",
    ("budgets", "DescribeNotificationsForBudget"): "budgets:ViewBudget",
}

# Operation name prefixes that read and never change anything.
READ_ONLY_PREFIXES = ("Describe", "Get", "List")
# IAM action name prefixes the read-only policy may hold (``budgets:ViewBudget`` reads budgets).
READ_ONLY_ACTION_PREFIXES = (*READ_ONLY_PREFIXES, "View")


def iam_action(service: str, operation: str) -> str:
    """The IAM action that authorises ``operation`` of the botocore ``service``."""
    return _IAM_ACTION.get((service, operation), f"{_IAM_PREFIX.get(service, service)}:{operation}")


def is_read_only(operation: str) -> bool:
    return operation.startswith(READ_ONLY_PREFIXES)


@cache
def policy() -> dict[str, Any]:
    """The audit role's IAM policy document (``audit/iam-policy.json``)."""
    document: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("iam-policy.json").read_text(encoding="utf-8")
    )
    return document


def policy_actions() -> tuple[str, ...]:
    actions: list[str] = []
    for statement in policy()["Statement"]:
        value = statement["Action"]
        actions.extend([value] if isinstance(value, str) else value)
    return tuple(actions)


def allowed(action: str) -> bool:
    """Whether the shipped policy allows ``action`` (IAM matches actions case-insensitively)."""
    for statement in policy()["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        patterns = statement["Action"]
        for pattern in [patterns] if isinstance(patterns, str) else patterns:
            if fnmatch.fnmatchcase(action.lower(), pattern.lower()):
                return True
    return False
