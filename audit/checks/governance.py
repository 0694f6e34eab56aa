"""Governance: the trail, tenant budgets, expired experiments, standard tags and state drift
(CONTROLS AUD-1, AUD-4, COST-1, COST-4)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from aiplatform_standards import platform

from audit.context import AuditContext
from audit.identity import key_problems, resource_owner
from audit.model import (
    ENVIRONMENT_TAG,
    EXPIRES_TAG,
    LOG_GROUP,
    STACK,
    TAGGED,
    TENANT_TAG,
    TRAIL,
    Outcome,
    Problem,
    Resource,
)
from audit.registry import check

_STANDARD = platform()
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_TAG_VALUES = {
    "aiplatform:environment": frozenset(_STANDARD["environments"]),
    "aiplatform:tier": frozenset([*_STANDARD["tiers"], _STANDARD["tags"]["platform_tier"]]),
    "aiplatform:data-classification": frozenset(_STANDARD["classifications"]),
}


@check(
    "cloudtrail-configuration",
    title="The stack's trail is multi-region, validated, KMS-encrypted, sent to CloudWatch and logging",
    controls=("AUD-1",),
    severity="high",
    resource_types=(TRAIL,),
    remediation="Restore the trail's settings from the stack (pulumi up) and start logging.",
)
def cloudtrail_configuration(ctx: AuditContext, trail: Resource) -> Outcome:
    settings = (ctx.api.call("cloudtrail", "GetTrail", Name=trail.arn) or {})["Trail"]
    status = ctx.api.call("cloudtrail", "GetTrailStatus", Name=trail.arn) or {}
    wanted = {
        "IsMultiRegionTrail": "the trail is not multi-region",
        "IncludeGlobalServiceEvents": "global service events are not included",
        "LogFileValidationEnabled": "log file validation is off",
        "KmsKeyId": "log files are not encrypted with a KMS key",
        "CloudWatchLogsLogGroupArn": "events are not sent to CloudWatch Logs",
    }
    problems = [message for field, message in wanted.items() if not settings.get(field)]
    return problems + ([] if status.get("IsLogging") else ["the trail is not logging"])


def _tag_filters(expression: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Tag key -> values of the Tags terms of an ``And`` expression (a lone term counts as one)."""
    terms = expression.get("And") or [expression]
    return {
        str(term["Tags"].get("Key", "")).removeprefix("user:"): tuple(term["Tags"].get("Values", []))
        for term in terms
        if "Tags" in term
    }


def _budget_arn(ctx: AuditContext, name: str) -> str:
    return f"arn:{ctx.partition}:budgets::{ctx.account}:budget/{name}"


@check(
    "tenant-budget",
    title="Every tenant has a COST budget on its tenant and environment tags, with notifications",
    controls=("COST-1",),
    severity="medium",
    resource_types=(STACK,),
    remediation=(
        "Create the tenant's COST budget with a filterExpression And of its aiplatform:tenant and "
        "aiplatform:environment tags, and at least one notification (in the stack)."
    ),
)
def tenant_budget(ctx: AuditContext, stack: Resource) -> Outcome:
    if not ctx.tenants:
        return None
    budgets = [
        budget
        for budget in ctx.api.items("budgets", "DescribeBudgets", "Budgets", AccountId=ctx.account)
        if budget.get("BudgetType") == "COST"
    ]
    problems: list[Problem | str] = []
    for tenant, environment in ctx.tenants.items():
        mine = [
            budget
            for budget in budgets
            if _tag_filters(budget.get("FilterExpression") or {}).get(TENANT_TAG) == (tenant,)
            and _tag_filters(budget.get("FilterExpression") or {}).get(ENVIRONMENT_TAG) == (environment,)
        ]
        if not mine:
            problems.append(
                f"tenant {tenant} ({environment}) has no COST budget filtered on both its tenant and environment tags"
            )
        for budget in mine:
            notifications = ctx.api.items(
                "budgets",
                "DescribeNotificationsForBudget",
                "Notifications",
                AccountId=ctx.account,
                BudgetName=budget["BudgetName"],
            )
            if not notifications:
                problems.append(
                    Problem(
                        f"the budget of tenant {tenant} has no notification", _budget_arn(ctx, budget["BudgetName"])
                    )
                )
    return problems


@check(
    "log-group-encrypted-retained",
    title="Log groups are encrypted with the owner's logs key and expire",
    controls=("AUD-3", "KMS-5"),
    severity="medium",
    resource_types=(LOG_GROUP,),
    remediation="Set the log group's kmsKeyId to the owner's alias/<env>/<owner>/logs key and a retentionInDays.",
)
def log_group_encrypted_retained(ctx: AuditContext, group: Resource) -> Outcome:
    name = group.arn.split(":log-group:", 1)[1].removesuffix(":*")
    described = ctx.api.items("logs", "DescribeLogGroups", "logGroups", logGroupNamePrefix=name)
    found = next((item for item in described if item.get("logGroupName") == name), None)
    if found is None:
        # Tagged yet gone: the Tagging API lags deletions by a while.
        return None
    problems = [] if found.get("retentionInDays") else ["no retention is set: the logs never expire"]
    return problems + key_problems(ctx, found.get("kmsKeyId"), resource_owner(group), "logs")


@check(
    "expired-experiment",
    title="No resource outlives its aiplatform:expires-at date",
    controls=("COST-4",),
    severity="medium",
    resource_types=(TAGGED,),
    remediation=(
        "Delete the experiment (remove it from the stack and pulumi up), or extend the date with the owner's approval."
    ),
)
def expired_experiment(ctx: AuditContext, resource: Resource) -> Outcome:
    value = resource.tags.get(EXPIRES_TAG)
    if value is None:
        return None
    try:
        expires = date.fromisoformat(value)
    except ValueError:
        return [f"{EXPIRES_TAG} is {value!r}, not an ISO date (YYYY-MM-DD)"]
    return [f"expired on {expires.isoformat()}"] if expires < ctx.today else []


@check(
    "standard-tags",
    title="The standard aiplatform: tags are present and valid",
    controls=("AUD-4",),
    severity="low",
    resource_types=(TAGGED,),
    remediation="Restore the standard tags (the stack's tag transform sets them; pulumi up reconciles).",
)
def standard_tags(ctx: AuditContext, resource: Resource) -> Outcome:
    problems = [f"{key} is missing" for key in _STANDARD["tags"]["required"] if not resource.tags.get(key)]
    for key, allowed in _TAG_VALUES.items():
        value = resource.tags.get(key)
        if value and value not in allowed:
            problems.append(f"{key} is {value!r}, not one of {', '.join(sorted(allowed))}")
    tenant = resource.tags.get(TENANT_TAG)
    if tenant and not _DNS_LABEL.match(tenant):
        problems.append(f"{TENANT_TAG} is {tenant!r}, not a DNS label")
    return problems


@check(
    "state-unmanaged",
    title="Every resource that carries the stack's tag is in the stack's state (with --state)",
    controls=("AUD-4",),
    severity="medium",
    resource_types=(TAGGED,),
    remediation=(
        "Import the resource into the stack (pulumi import) or delete it; do not copy the stack's tags by hand."
    ),
    needs_state=True,
)
def state_unmanaged(ctx: AuditContext, resource: Resource) -> Outcome:
    if ctx.state is None:
        return None
    if ctx.state.holds(resource.type, resource.arn, resource.id):
        return []
    return ["carries the stack's tag but is not in the stack's state (unmanaged)"]


@check(
    "state-missing",
    title="Every audited resource in the stack's state still exists with the stack's tag (with --state)",
    controls=("AUD-4",),
    severity="medium",
    resource_types=(STACK,),
    remediation="Run pulumi refresh and pulumi up to recreate it, or find who deleted or re-tagged it (CloudTrail).",
    needs_state=True,
)
def state_missing(ctx: AuditContext, stack: Resource) -> Outcome:
    if ctx.state is None:
        return None
    listed = {resource_type for gap in ctx.inventory.gaps for resource_type in gap.types}
    problems: list[Problem | str] = []
    for held in ctx.state.resources:
        if held.type is None or held.type in listed:
            continue
        if held.arn and held.arn.split(":")[3] not in ("", ctx.region):
            continue
        found = ctx.inventory.by_type.get(held.type, [])
        if not any(resource.arn == held.arn or resource.id == held.id for resource in found):
            problems.append(
                Problem("is in the stack's state but was not found with the stack's tag", held.arn or held.urn)
            )
    return problems
