"""Run every registered check over what discovery found."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

import boto3

from audit.api import MAX_ATTEMPTS, Api, ApiError
from audit.context import AuditContext
from audit.discovery import discover
from audit.model import STACK, TAGGED, Check, Finding, Problem, Report, Resource, Status
from audit.registry import checks as registered_checks
from audit.state import StackState

_LOG = logging.getLogger("audit")
PROJECT = "secure-ai-platform"
# Checks wait on the network, not the CPU: threads cut a large audit's run time several-fold
# (docs/audit.md, measurements); throttling that more threads provoke is retried.
DEFAULT_WORKERS = 8


class AuditError(Exception):
    """The audit could not run at all (no region, no credentials, no account identity)."""


def stack_urn(stack: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}"


def _finding(check: Check, resource: str, status: Status, message: str) -> Finding:
    return Finding(check.id, check.controls, check.severity, resource, status, message, check.remediation)


def _evaluate(ctx: AuditContext, check: Check, resource: Resource) -> tuple[bool, list[Finding]]:
    """(evaluated, findings) of one check on one resource."""
    try:
        outcome = check.function(ctx, resource)
        if outcome is None:
            return False, []
        problems = [problem if isinstance(problem, Problem) else Problem(problem) for problem in outcome]
    except ApiError as error:
        return True, [_finding(check, resource.arn, "not-evaluated", error.reason)]
    except Exception as error:
        # A check that breaks on an unexpected answer must not stop the other checks, nor pass.
        _LOG.exception("check %s failed on %s", check.id, resource.arn)
        return True, [_finding(check, resource.arn, "not-evaluated", f"the check failed: {error!r}")]
    by_resource: dict[str, list[str]] = {}
    for problem in problems:
        by_resource.setdefault(problem.resource or resource.arn, []).append(problem.message)
    return True, [_finding(check, arn, "fail", "; ".join(messages)) for arn, messages in by_resource.items()]


def _targets(ctx: AuditContext, check: Check, stack: Resource) -> Iterable[Resource]:
    for resource_type in check.resource_types:
        if resource_type == STACK:
            yield stack
        elif resource_type == TAGGED:
            yield from ctx.inventory.tagged
        else:
            yield from ctx.inventory.of_type(resource_type)


def run_audit(
    session: boto3.Session,
    stack: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    state: StackState | None = None,
    today: date | None = None,
    checks: Sequence[Check] | None = None,
    workers: int = DEFAULT_WORKERS,
    max_attempts: int = MAX_ATTEMPTS,
) -> Report:
    """Audit the deployed resources of ``stack`` in one region."""
    started = time.monotonic()
    region = region or session.region_name
    if not region:
        raise AuditError("no region: pass --region or configure a default region")
    api = Api(session, region, endpoint_url=endpoint_url, max_attempts=max_attempts)
    try:
        identity = api.call("sts", "GetCallerIdentity") or {}
    except ApiError as error:
        raise AuditError(f"cannot identify the account: {error.reason}") from error
    ctx = AuditContext(
        api=api,
        stack=stack,
        region=region,
        account=identity["Account"],
        partition=identity["Arn"].split(":")[1],
        today=today or datetime.now(UTC).date(),
        state=state,
    )
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        ctx.inventory = discover(ctx, pool)
        selected = tuple(
            check
            for check in (registered_checks() if checks is None else checks)
            if state is not None or not check.needs_state
        )
        stack_resource = Resource(STACK, stack_urn(stack), stack)
        pairs = [(check, resource) for check in selected for resource in _targets(ctx, check, stack_resource)]
        results = list(pool.map(lambda pair: _evaluate(ctx, *pair), pairs))
    findings = [finding for _, found in results for finding in found]
    for gap in ctx.inventory.gaps:
        findings += [
            _finding(check, gap.resource, "not-evaluated", f"resources not listed: {gap.reason}")
            for check in selected
            if gap.covers(check.resource_types)
        ]
    return Report(
        stack=stack,
        region=region,
        account=ctx.account,
        findings=tuple(sorted(findings, key=Finding.sort_key)),
        checked=sum(1 for evaluated, _ in results if evaluated),
        seconds=round(time.monotonic() - started, 3),
        resources=len(ctx.inventory.tagged),
        api_calls=dict(api.calls),
    )
