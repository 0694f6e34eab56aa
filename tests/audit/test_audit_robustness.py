"""Throttling, denied APIs, missing APIs and failed listings: retried within a bound, or reported
as not evaluated with the reason, never a silent pass."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from audit_emulator import ACCOUNT, deny, throttle
from audit_seed import Environment
from audit_support import finding_set
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.retries.standard import ExponentialBackoff

from audit import AuditError, run_audit
from audit.api import MAX_ATTEMPTS, Api, classify
from audit.registry import checks


@pytest.fixture
def backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays botocore's standard retry mode computes, recorded and not slept."""
    delays: list[float] = []
    compute = ExponentialBackoff.delay_amount

    def record(self: ExponentialBackoff, context: Any) -> float:
        delays.append(compute(self, context))
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", record)
    return delays


def test_throttled_calls_are_retried_with_backoff(
    env: Environment, audit_session: boto3.Session, audit: Any, backoff: list[float]
) -> None:
    sends = throttle(audit_session.events, "kms", "ListKeys", attempts=3)
    report = audit()
    assert report.findings == ()
    assert sends == {"total": 4, "throttled": 3}
    # Exponential backoff with jitter: each delay is drawn below base * 2**attempt.
    assert len(backoff) == 3
    assert all(0 <= delay <= 2 ** (attempt + 1) for attempt, delay in enumerate(backoff))


def test_throttling_past_the_bound_is_not_evaluated(
    env: Environment, audit_session: boto3.Session, audit: Any, backoff: list[float]
) -> None:
    sends = throttle(audit_session.events, "kms", "GetKeyRotationStatus", attempts=10_000)
    report = audit()
    keys = set(env.keys.values())
    assert finding_set(report) == {("not-evaluated", "kms-rotation", key) for key in keys}
    assert all(f.message.startswith("throttled on kms:GetKeyRotationStatus") for f in report.findings)
    assert all(f"(reached max retries: {MAX_ATTEMPTS - 1})" in f.message for f in report.findings)
    # Every key's call was attempted exactly MAX_ATTEMPTS times: bounded, and memoised per key.
    assert sends["total"] == MAX_ATTEMPTS * len(keys)
    assert report.exit_code == 2


def test_transient_server_errors_are_retried(
    env: Environment, audit_session: boto3.Session, audit: Any, backoff: list[float]
) -> None:
    from audit_emulator import http_response

    failures = {"count": 0}

    def unavailable(**_: Any) -> Any:
        if failures["count"] < 2:
            failures["count"] += 1
            return http_response(503, {"__type": "ServiceUnavailable", "message": "try again"})
        return None

    audit_session.events.register("before-send.ecr.DescribeRepositories", unavailable)
    assert audit().findings == ()
    assert failures["count"] == 2


def test_a_denied_api_makes_its_checks_not_evaluated(
    env: Environment, audit_session: boto3.Session, audit: Any
) -> None:
    denied = deny(audit_session.events, "s3", "GetBucketPolicy")
    report = audit()
    buckets = {f"arn:aws:s3:::{name}" for name in env.buckets.values()}
    # The access-logging check reads the policy too (a log destination's policy admits log delivery).
    assert finding_set(report) == {
        ("not-evaluated", check, bucket) for check in ("s3-bucket-policy", "s3-access-logging") for bucket in buckets
    }
    assert all(f.message.startswith("access denied on s3:GetBucketPolicy") for f in report.findings)
    assert denied["GetBucketPolicy"] == len(buckets)
    assert report.exit_code == 2


def test_a_denied_listing_leaves_its_resource_type_not_evaluated(
    env: Environment, audit_session: boto3.Session, audit: Any
) -> None:
    deny(audit_session.events, "ecr", "DescribeRepositories")
    report = audit()
    ecr_checks = {check.id for check in checks() if "ecr:repository" in check.resource_types}
    wildcard = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*"
    assert finding_set(report) == {("not-evaluated", check, wildcard) for check in ecr_checks}
    assert all("resources not listed: access denied on ecr:DescribeRepositories" in f.message for f in report.findings)


def test_without_the_tagging_api_the_service_listings_still_find_the_stack(
    env: Environment, audit_session: boto3.Session, audit: Any
) -> None:
    deny(audit_session.events, "resource-groups-tagging-api", "GetResources")
    report = audit()
    # Keys and buckets are found by their own listings (their tags read one by one); the subnet,
    # flow log and log groups only the Tagging API finds: the tag, expiry and log group checks say so.
    generic = {
        check.id for check in checks() if {"*", "logs:log-group"} & set(check.resource_types) and not check.needs_state
    }
    assert finding_set(report) == {("not-evaluated", check, f"arn:aws:tag:us-east-1:{ACCOUNT}:*") for check in generic}
    assert report.resources == 22
    assert report.api_calls[("kms", "ListResourceTags")] == len(env.keys)
    assert report.api_calls[("s3", "GetBucketTagging")] == len(env.buckets)


def test_the_audit_never_sends_a_mutating_call(audit_session: boto3.Session) -> None:
    api = Api(audit_session, "us-east-1", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(ValueError, match="read-only"):
        api.call("kms", "ScheduleKeyDeletion", KeyId="k", PendingWindowInDays=7)
    assert api.calls == {}


def test_no_account_identity_stops_the_audit(audit_session: boto3.Session) -> None:
    # Nothing listens on port 9: STS cannot answer, and an audit of nobody's account is no audit.
    with pytest.raises(AuditError, match="cannot identify the account"):
        run_audit(audit_session, "platform-dev", region="us-east-1", endpoint_url="http://127.0.0.1:9", max_attempts=1)


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("AccessDeniedException", 400, "access denied"),
        ("UnauthorizedOperation", 403, "access denied"),
        ("ThrottlingException", 400, "throttled"),
        ("InvalidAction", 400, "unsupported API"),
        ("404", 404, "unsupported API"),
        ("ResourceNotFoundException", 404, "error"),
    ],
)
def test_errors_are_classified(code: str, status: int, kind: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")
    assert classify(error)[0] == kind


def test_a_region_without_the_endpoint_is_unsupported() -> None:
    assert classify(EndpointConnectionError(endpoint_url="https://eks.xx-west-9.amazonaws.com"))[0] == "unsupported API"


def test_a_check_that_breaks_is_not_evaluated_and_the_others_run(emulator: str, audit: Any) -> None:
    def broken(ctx: Any, resource: Any) -> Any:
        raise KeyError("Policy")

    from audit.model import STACK, Check

    crash = Check("crash", "breaks", ("AUD-4",), "low", (STACK,), "fix the check.", broken)
    report = audit(stack="nothing-deployed", checks=[crash, *checks()])
    assert finding_set(report) == {
        (
            "not-evaluated",
            "crash",
            "urn:pulumi:nothing-deployed::secure-ai-platform::pulumi:pulumi:Stack::secure-ai-platform-nothing-deployed",
        )
    }
    assert report.findings[0].message == "the check failed: KeyError('Policy')"
