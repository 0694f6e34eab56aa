"""Physical names the platform derives from environment, owner and purpose.

One place for every naming rule, so that config validation can prove, before anything is
created, that every name derived from a tenant fits AWS's limits (DESIGN.md, naming standards),
and so that the policy pack, the audit and the admission policies can recognise an owner's
resources by name.
"""

from __future__ import annotations

from aiplatform_standards import platform

PREFIX: str = platform()["name_prefix"]
# The longest account id, used to check lengths before the real one is known.
ACCOUNT_ID_PLACEHOLDER = "123456789012"
# The longest region on the allowlist, for the same reason.
REGION_PLACEHOLDER = max(platform()["allowed_regions"], key=len)


def kms_alias(environment: str, owner: str, purpose: str) -> str:
    """``alias/<env>/<owner>/<purpose>`` (DESIGN.md)."""
    return f"alias/{environment}/{owner}/{purpose}"


def role_name(environment: str, owner: str, role: str) -> str:
    """An IAM role of an owner, e.g. ``aip-prod-fraud-workload``."""
    return f"{PREFIX}-{environment}-{owner}-{role}"


# The role part of a cluster stack's in-VPC deploy runner's role (standards: deploy_runner_role).
DEPLOY_RUNNER_ROLE: str = platform()["deploy_runner_role"]


def deploy_runner_role_name(environment: str, owner: str) -> str:
    """The in-VPC deploy runner's role of a cluster stack, e.g. ``aip-prod-clinical-deploy-runner``.

    The bootstrap's state policies and the tenant account's baseline admit it by this name before it exists
    (``aws:PrincipalArn``); the live audit recognises it by the same rule.
    """
    return role_name(environment, owner, DEPLOY_RUNNER_ROLE)


def bucket_name(environment: str, owner: str, purpose: str, account_id: str, region: str) -> str:
    """A globally unique bucket name, e.g. ``aip-prod-fraud-models-123456789012-us-east-1``."""
    return f"{PREFIX}-{environment}-{owner}-{purpose}-{account_id}-{region}"


# The purpose of an owner's S3 server access log bucket: the platform's (shared cluster) or a tier C tenant's own.
ACCESS_LOGS = "access-logs"


def bucket_prefix(environment: str, owner: str | None = None) -> str:
    """The name prefix shared by an environment's (or one owner's) buckets: what trails select on."""
    return f"{PREFIX}-{environment}-" + (f"{owner}-" if owner else "")


def repository_prefix(environment: str, tenant: str) -> str:
    """The ECR repository namespace of a tenant, e.g. ``prod/fraud/``; admission allows only it."""
    return f"{environment}/{tenant}/"


def repository_name(environment: str, tenant: str, repository: str) -> str:
    return f"{repository_prefix(environment, tenant)}{repository}"


def cluster_name(environment: str, owner: str | None = None) -> str:
    """``aip-<env>`` for the shared cluster, ``aip-<env>-<tenant>`` for a single-tenant one."""
    return f"{PREFIX}-{environment}" + (f"-{owner}" if owner else "")


def node_group_name(environment: str, owner: str, pool: str) -> str:
    return f"{PREFIX}-{environment}-{owner}-{pool}"


def namespace(tenant: str) -> str:
    """A tenant's Kubernetes namespace is its name: the label and the namespace agree."""
    return tenant


def log_group_prefix(environment: str, owner: str) -> str:
    """The CloudWatch log group namespace of an owner; its logs key encrypts only groups below it."""
    return f"/{PREFIX}/{environment}/{owner}/"


def log_group_name(environment: str, owner: str, purpose: str) -> str:
    """e.g. ``/aip/prod/platform/vpc-flow-logs``."""
    return f"{log_group_prefix(environment, owner)}{purpose}"


def budget_name(environment: str, tenant: str) -> str:
    """A tenant's monthly cost budget, e.g. ``aip-prod-fraud``."""
    return f"{PREFIX}-{environment}-{tenant}"


def resource_name(environment: str, owner: str, purpose: str) -> str:
    """Any other named resource of an owner, e.g. ``aip-prod-platform-budget-alerts`` (SNS topic)."""
    return f"{PREFIX}-{environment}-{owner}-{purpose}"
