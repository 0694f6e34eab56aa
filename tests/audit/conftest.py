"""Fixtures of the audit tests: one emulator per test session (per xdist worker), reset per test.

Every boto3 session that an audit runs on records every API call; at teardown each test asserts
that all of them were read-only and allowed by the shipped IAM policy (audit/iam-policy.json).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from audit_emulator import REGION, EksExtras, moto_server, new_session, reset
from audit_seed import STACK, Environment, seed
from audit_support import TODAY, CallRecorder

from audit import run_audit
from audit.model import Report
from audit.permissions import allowed, is_read_only


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Fake credentials and no user configuration: nothing can reach a real account."""
    empty = tmp_path_factory.getbasetemp() / "no-aws-config"
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def emulator_server() -> Iterator[str]:
    with moto_server() as endpoint_url:
        yield endpoint_url


@pytest.fixture
def emulator(emulator_server: str) -> str:
    """The emulator's URL, its state emptied for this test."""
    reset(emulator_server)
    return emulator_server


@pytest.fixture
def recorder() -> CallRecorder:
    return CallRecorder()


@pytest.fixture
def audit_session(recorder: CallRecorder) -> Iterator[boto3.Session]:
    """The session audits run on; every call it made must be read-only and allowed by the policy."""
    session = new_session()
    session.events.register("before-parameter-build", recorder)
    yield session
    mutating = sorted(
        {f"{service}:{operation}" for service, operation in recorder.calls if not is_read_only(operation)}
    )
    assert not mutating, f"the audit called mutating APIs: {mutating}"
    denied = sorted(action for action in recorder.actions if not allowed(action))
    assert not denied, f"audit/iam-policy.json does not allow: {denied}"


@pytest.fixture
def extras(emulator: str, audit_session: boto3.Session) -> EksExtras:
    """The EKS operations moto lacks, answered on the audit's session (see audit_emulator)."""
    answers = EksExtras(emulator)
    answers.register(audit_session.events)
    return answers


@pytest.fixture
def env(emulator: str, extras: EksExtras) -> Environment:
    return seed(emulator, extras)


@pytest.fixture
def audit(audit_session: boto3.Session, emulator: str) -> Any:
    """Run the audit of the seeded stack on the recorded session."""

    def run(**options: Any) -> Report:
        options.setdefault("today", TODAY)
        options.setdefault("region", REGION)
        return run_audit(audit_session, options.pop("stack", STACK), endpoint_url=emulator, **options)

    return run
