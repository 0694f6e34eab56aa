"""Helpers the audit tests import by name (conftest.py is not importable by name: several exist)."""

from __future__ import annotations

from datetime import date
from typing import Any

from audit.model import Report
from audit.permissions import iam_action

# The audits' "today": expiry dates are judged against it.
TODAY = date(2026, 6, 1)


class CallRecorder:
    """Records every API call a boto3 session's clients make.

    On ``before-parameter-build``, which runs all its handlers: a ``before-call`` handler that
    answers an operation (the EKS extras, the fault injectors) would hide the call from a recorder
    registered on ``before-call`` for all operations.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls.append((model.service_model.service_name, model.name))

    @property
    def actions(self) -> set[str]:
        return {iam_action(service, operation) for service, operation in self.calls}


def finding_set(report: Report) -> set[tuple[str, str, str]]:
    """(status, check, resource) of every finding: what the drift tests assert exactly."""
    return {(finding.status, finding.check, finding.resource) for finding in report.findings}
