"""The audit's vocabulary: resources, checks, findings and the report."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from aiplatform_standards import platform

if TYPE_CHECKING:
    from audit.context import AuditContext

Severity = Literal["critical", "high", "medium", "low"]
Status = Literal["fail", "not-evaluated"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")

_TAGS = platform()["tags"]
STACK_TAG = "aiplatform:stack"
TENANT_TAG = "aiplatform:tenant"
ENVIRONMENT_TAG = "aiplatform:environment"
EXPIRES_TAG = "aiplatform:expires-at"
PLATFORM_OWNER: str = _TAGS["platform_owner"]

# Resource types, named as the Resource Groups Tagging API names them (``service:type``).
KMS_KEY = "kms:key"
S3_BUCKET = "s3:bucket"
ECR_REPOSITORY = "ecr:repository"
EKS_CLUSTER = "eks:cluster"
LAUNCH_TEMPLATE = "ec2:launch-template"
INSTANCE = "ec2:instance"
SECURITY_GROUP = "ec2:security-group"
VPC = "ec2:vpc"
TRAIL = "cloudtrail:trail"
LOG_GROUP = "logs:log-group"
# Every resource that carries the stack's tag, whatever its type (tag and expiry checks).
TAGGED = "*"
# The stack as a whole (checks over several resources, such as one budget per tenant).
STACK = "stack"


@dataclass(frozen=True)
class Resource:
    """One deployed resource, as discovery found it."""

    type: str
    arn: str
    id: str
    tags: Mapping[str, str] = field(default_factory=dict)
    # What the listing call returned about it (a cluster's description, an instance...), so that
    # checks do not ask again.
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tenant(self) -> str | None:
        return self.tags.get(TENANT_TAG)

    @property
    def environment(self) -> str | None:
        return self.tags.get(ENVIRONMENT_TAG)


@dataclass(frozen=True)
class Problem:
    """What a check found wrong; ``resource`` names another resource than the one checked."""

    message: str
    resource: str | None = None


# A check returns None when it does not apply to the resource, an empty iterable when the resource
# complies, and one problem (or message) per violation otherwise.
Outcome = Iterable[Problem | str] | None
CheckFunction = Callable[["AuditContext", Resource], Outcome]


@dataclass(frozen=True)
class Check:
    """A registered run-time check and its metadata (the docs table is generated from these)."""

    id: str
    title: str
    controls: tuple[str, ...]
    severity: Severity
    resource_types: tuple[str, ...]
    remediation: str
    function: CheckFunction
    # Runs only when the stack's state is given (--state).
    needs_state: bool = False


@dataclass(frozen=True)
class Finding:
    """A failed or not-evaluated check on one resource."""

    check: str
    controls: tuple[str, ...]
    severity: Severity
    resource: str
    status: Status
    message: str
    remediation: str

    def sort_key(self) -> tuple[int, int, str, str]:
        return (
            0 if self.status == "fail" else 1,
            SEVERITIES.index(self.severity),
            self.check,
            self.resource,
        )


@dataclass(frozen=True)
class Report:
    """The result of one audit run."""

    stack: str
    region: str
    account: str
    findings: tuple[Finding, ...]
    checked: int
    seconds: float
    resources: int
    # Every API call the run made, by (service, operation): what the measurements count.
    api_calls: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(1 for finding in self.findings if finding.status == "fail")

    @property
    def not_evaluated(self) -> int:
        return sum(1 for finding in self.findings if finding.status == "not-evaluated")

    @property
    def exit_code(self) -> int:
        """1 when any check failed; otherwise 2 when any was not evaluated; otherwise 0."""
        if self.failed:
            return 1
        return 2 if self.not_evaluated else 0
