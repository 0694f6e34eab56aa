"""Cost and quota (CONTROLS I): budgets per tenant, bounded GPU capacity and spend, expiring experiments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from ai_guardrails.core import (
    HIGH,
    MEDIUM,
    Config,
    Finding,
    Outcome,
    Resource,
    Stack,
    Undecided,
    number,
    resource_policy,
    shown,
    stack_policy,
)
from ai_guardrails.gpu import gpu_table, gpus_per_instance, is_gpu_instance_type
from ai_guardrails.nodes import NODE_GROUP, node_group_instance_types
from ai_guardrails.tags import ENVIRONMENT, EXPIRES_AT, PLATFORM_OWNER, TENANT, effective_tags, owner
from ai_guardrails.tenancy import GPU_RESOURCE, RESOURCE_QUOTA
from ai_guardrails.values import as_number, get, is_unknown, items, strings
from ai_guardrails.waivers import today

BUDGET = "aws:budgets/budget:Budget"
_HOURS_PER_MONTH = 730
_BUDGET_TYPES = ["USAGE", "RI_UTILIZATION", "RI_COVERAGE", "SAVINGS_PLANS_UTILIZATION", "SAVINGS_PLANS_COVERAGE"]


def budget_tag_filters(budget: Resource) -> dict[str, list[str]]:
    """The tag key → values a budget's filterExpression ANDs together (``user:`` prefixes removed)."""
    expression = budget.get("filterExpression")
    clauses = items(get(expression, "ands")) or ([expression] if isinstance(expression, dict) else [])
    found: dict[str, list[str]] = {}
    for clause in clauses:
        tags = get(clause, "tags")
        key = get(tags, "key")
        if isinstance(key, str):
            found[key.removeprefix("user:")] = strings(get(tags, "values"))
    return found


@resource_policy(
    "budget-tenant-filter",
    description="Budgets are COST budgets that AND the tenant and environment tags and notify someone.",
    controls=["COST-1"],
    severity=MEDIUM,
    remediation=(
        "Use budgetType 'COST', filterExpression={ands: [{tags: {key: 'aiplatform:tenant', values: [...]}}, "
        "{tags: {key: 'aiplatform:environment', values: [...]}}]} and at least one notification; "
        "never costFilters for tags."
    ),
    tokens=[BUDGET],
)
def budget_tenant_filter(r: Resource, config: Config) -> Iterator[Outcome]:
    """`budgetType` `COST`; `filterExpression.ands[].tags` filters on both `aiplatform:tenant` and
    `aiplatform:environment`; no tag `costFilters` (ORed); `notifications` non-empty.
    """
    if r.get("budgetType") != "COST":
        yield Finding(
            "budgetType",
            f"is {shown(r.get('budgetType'), _BUDGET_TYPES)}",
            "'COST'",
            "set budgetType='COST'",
        )
    if is_unknown(r.get("filterExpression")):
        yield Undecided("filterExpression")
    else:
        filters = budget_tag_filters(r)
        missing = [key for key in (TENANT, ENVIRONMENT) if key not in filters]
        if missing or len(items(get(r.props, "filterExpression", "ands"))) < 2:
            yield Finding(
                "filterExpression.ands",
                f"does not AND {', '.join(missing) or 'both tags'}",
                f"an And of {TENANT} and {ENVIRONMENT} tag filters",
                "filter on both tags together",
            )
    if any(get(f, "name") == "TagKeyValue" for f in items(r.get("costFilters"))):
        yield Finding(
            "costFilters",
            "filters on tags (values are ORed)",
            "filterExpression",
            "move the tag filters to filterExpression",
        )
    if is_unknown(r.get("notifications")):
        yield Undecided("notifications")
    elif not items(r.get("notifications")):
        yield Finding("notifications", "is empty", "at least one notification", "notify the tenant's owner")


@stack_policy(
    "tenant-has-budget",
    description="Every tenant of the stack has a budget filtered on its tenant tag.",
    controls=["COST-1"],
    severity=MEDIUM,
    remediation="Add the tenant's Budget (the program's budget component) with its tenant in the filterExpression.",
    tokens=[BUDGET, "aws:*"],
)
def tenant_has_budget(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each tenant that tags a resource has a `Budget` whose `filterExpression` tag filter on `aiplatform:tenant` lists
    it.
    """
    budgeted = {tenant for budget in stack.of(BUDGET) for tenant in budget_tag_filters(budget).get(TENANT, [])}
    first: dict[str, Resource] = {}
    for resource in stack.resources:
        tenant = owner(resource.props, resource.type)
        if tenant and tenant != PLATFORM_OWNER and not resource.type.startswith("kubernetes:"):
            first.setdefault(tenant, resource)
    for tenant, resource in sorted(first.items()):
        if tenant not in budgeted:
            yield Finding(
                "(budget)",
                f"is missing for tenant {shown(tenant, identifier=True)}",
                "a COST budget filtered on the tenant",
                "add the tenant's budget",
                resource,
            )


def _gpu_groups(stack: Stack) -> dict[str, list[tuple[Resource, float, list[str]]]]:
    groups: dict[str, list[tuple[Resource, float, list[str]]]] = {}
    for group in stack.of(NODE_GROUP):
        types = [t for t in node_group_instance_types(group) if is_gpu_instance_type(t)]
        size = as_number(group.get("scalingConfig", "maxSize"))
        tenant = owner(group.props, group.type)
        if types and isinstance(size, float) and tenant:
            groups.setdefault(tenant, []).append((group, size, types))
    return groups


def _quota_gpus(stack: Stack, tenant: str) -> float | None:
    for quota in stack.of(RESOURCE_QUOTA):
        if quota.get("metadata", "namespace") == tenant:
            value = as_number(get(quota.get("spec", "hard"), f"requests.{GPU_RESOURCE}"))
            if isinstance(value, float):
                return value
    return None


@stack_policy(
    "gpu-capacity-within-quota",
    description="A tenant's GPU node groups cannot grow beyond the tenant's namespace GPU quota.",
    controls=["COST-2"],
    severity=HIGH,
    remediation="Lower the node groups' scalingConfig.maxSize, or raise the tenant's GPU quota in the stack config.",
    tokens=[NODE_GROUP, RESOURCE_QUOTA],
)
def gpu_capacity_within_quota(stack: Stack, config: Config) -> Iterator[Outcome]:
    """For each tenant: Σ over its GPU `NodeGroup`s of `scalingConfig.maxSize` × GPUs per instance (GPU table) ≤ its
    `ResourceQuota` `requests.nvidia.com/gpu`.
    """
    for tenant, groups in _gpu_groups(stack).items():
        quota = _quota_gpus(stack, tenant)
        if quota is None:
            continue
        capacity = sum(size * max(gpus_per_instance(t) or 0 for t in types) for _, size, types in groups)
        if capacity > quota:
            yield Finding(
                "scalingConfig.maxSize",
                f"lets tenant {shown(tenant, identifier=True)} reach {int(capacity)} GPUs",
                f"≤ the quota of {int(quota)}",
                "lower maxSize or raise the quota",
                groups[0][0],
            )


def _worst_price(instance_type: str) -> float | None:
    table = gpu_table()
    row = table.get(instance_type) if table else None
    prices = [float(p) for p in row.hourly_usd.values()] if row is not None else []
    return max(prices) if prices else None


def _budget_limit(stack: Stack, tenant: str) -> float | None:
    for budget in stack.of(BUDGET):
        if tenant in budget_tag_filters(budget).get(TENANT, []):
            limit = as_number(budget.get("limitAmount"))
            if isinstance(limit, float):
                return limit
    return None


@stack_policy(
    "gpu-spend-within-budget",
    description="A tenant's worst-case monthly GPU spend stays within its budget.",
    controls=["COST-3"],
    severity=HIGH,
    remediation="Lower maxSize, choose a cheaper GPU type, or raise the tenant's monthlyBudgetUsd.",
    tokens=[NODE_GROUP, BUDGET],
)
def gpu_spend_within_budget(stack: Stack, config: Config) -> Iterator[Outcome]:
    """For each tenant: Σ `maxSize` × the highest on-demand hourly price of its GPU types (GPU
    table, worst region) × 730 ≤ its `Budget.limitAmount`.
    """
    for tenant, groups in _gpu_groups(stack).items():
        limit = _budget_limit(stack, tenant)
        if limit is None:
            continue
        spend = sum(size * max(_worst_price(t) or 0.0 for t in types) * _HOURS_PER_MONTH for _, size, types in groups)
        if spend > limit:
            yield Finding(
                "scalingConfig.maxSize",
                f"lets tenant {shown(tenant, identifier=True)} spend about {int(spend)} USD a month",
                f"≤ its budget of {int(limit)} USD",
                "lower maxSize or raise the budget",
                groups[0][0],
            )


def _expiry(resource: Resource) -> Any:
    tags = effective_tags(resource.props, resource.type)
    return tags.get(EXPIRES_AT) if isinstance(tags, dict) else None


@resource_policy(
    "experiment-expiry",
    description="Experimentation resources expire within the allowed horizon.",
    controls=["COST-4"],
    severity=MEDIUM,
    remediation="Set aiplatform:expires-at to a date within the horizon, or remove the experiment.",
    tokens=[],
    tokens_label="every taggable aws:* token",
    predicate=lambda token: token.startswith("aws:"),
    config={
        "maxExpiryDays": {
            "type": "integer",
            "minimum": 1,
            "default": 30,
            "description": "Longest an experiment may be scheduled to live.",
        }
    },
)
def experiment_expiry(r: Resource, config: Config) -> Iterator[Outcome]:
    """`tags.aiplatform:expires-at`, where present, is an ISO date not in the past and at most `maxExpiryDays` ahead."""
    value = _expiry(r)
    if value is None:
        return
    if is_unknown(value):
        yield Undecided(f"tags.{EXPIRES_AT}")
        return
    try:
        date = dt.date.fromisoformat(str(value))
    except ValueError:
        yield Finding(f"tags.{EXPIRES_AT}", "is not a YYYY-MM-DD date", "an ISO date", "fix the date")
        return
    now = today()
    if date < now:
        yield Finding(
            f"tags.{EXPIRES_AT}",
            "is in the past: the experiment has expired",
            "a future date",
            "remove the experiment or extend it",
        )
    elif date > now + dt.timedelta(days=config["maxExpiryDays"]):
        yield Finding(
            f"tags.{EXPIRES_AT}",
            "is beyond the allowed horizon",
            f"within {number(config['maxExpiryDays'])} days",
            "choose an earlier date",
        )
