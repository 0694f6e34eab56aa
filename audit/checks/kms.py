"""KMS keys: rotation, lifecycle, and who the key policy and grants admit (CONTROLS KMS-1..3)."""

from __future__ import annotations

from typing import Any

from aiplatform_standards import platform

from audit.context import AuditContext
from audit.identity import (
    BREAK_GLASS_ROLE,
    is_autoscaling_service_role,
    principal_owner,
    resource_owner,
)
from audit.model import KMS_KEY, Outcome, Resource
from audit.policy import Admission, foreign_principals, statements
from audit.registry import check

_MAX_ROTATION_DAYS: int = platform()["kms"]["max_rotation_period_days"]
_PENDING_DELETION = ("PendingDeletion", "PendingReplicaDeletion")


def _metadata(ctx: AuditContext, key: Resource) -> dict[str, Any]:
    described = ctx.api.call("kms", "DescribeKey", KeyId=key.arn) or {}
    metadata: dict[str, Any] = described["KeyMetadata"]
    return metadata


def _services(ctx: AuditContext) -> frozenset[str]:
    """AWS services a key's purpose may need (CONTROLS KMS-3), each under a restricting condition."""
    return frozenset(
        {
            f"logs.{ctx.region}.amazonaws.com",
            "cloudtrail.amazonaws.com",
            "delivery.logs.amazonaws.com",
            "budgets.amazonaws.com",
            "sns.amazonaws.com",
            "events.amazonaws.com",
            "s3.amazonaws.com",
            "logging.s3.amazonaws.com",
        }
    )


@check(
    "kms-rotation",
    title="Customer-managed symmetric keys rotate at least yearly",
    controls=("KMS-1",),
    severity="medium",
    resource_types=(KMS_KEY,),
    remediation="Enable automatic rotation: aws kms enable-key-rotation --key-id KEY --rotation-period-in-days 365.",
)
def kms_rotation(ctx: AuditContext, key: Resource) -> Outcome:
    metadata = _metadata(ctx, key)
    if metadata.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT" or metadata["KeyState"] in _PENDING_DELETION:
        return None
    status = ctx.api.call("kms", "GetKeyRotationStatus", KeyId=key.arn) or {}
    if not status.get("KeyRotationEnabled"):
        return ["automatic key rotation is off"]
    period = status.get("RotationPeriodInDays", _MAX_ROTATION_DAYS)
    if period > _MAX_ROTATION_DAYS:
        return [f"the rotation period is {period} days, more than {_MAX_ROTATION_DAYS}"]
    return []


@check(
    "kms-not-pending-deletion",
    title="Keys are not scheduled for deletion",
    controls=("KMS-2",),
    severity="high",
    resource_types=(KMS_KEY,),
    remediation="Cancel the deletion (aws kms cancel-key-deletion) and delete keys only through the stack.",
)
def kms_not_pending_deletion(ctx: AuditContext, key: Resource) -> Outcome:
    metadata = _metadata(ctx, key)
    if metadata["KeyState"] in _PENDING_DELETION:
        return [f"the key is {metadata['KeyState']} (deletion date {metadata.get('DeletionDate', 'unknown')})"]
    return []


@check(
    "kms-key-policy-principals",
    title="The key policy admits only the owner's roles, the account root, break-glass and needed services",
    controls=("KMS-3",),
    severity="critical",
    resource_types=(KMS_KEY,),
    remediation=(
        "Remove the foreign principal from the key policy, or limit Principal '*' and service principals "
        "with kms:CallerAccount, kms:ViaService, aws:SourceArn/aws:SourceAccount or an encryption context; "
        "then reconcile with pulumi up."
    ),
)
def kms_key_policy_principals(ctx: AuditContext, key: Resource) -> Outcome:
    if _metadata(ctx, key).get("KeyManager") != "CUSTOMER":
        return None
    document = (ctx.api.call("kms", "GetKeyPolicy", KeyId=key.arn, PolicyName="default") or {}).get("Policy")
    owner = resource_owner(key)
    problems = []
    for statement in statements(document):
        # A statement that only lets AWS services create grants for AWS resources (the deployer
        # creating a cluster or repository) gives its principals no use of the key.
        for_aws_resources = statement.requires_true("kms:GrantIsForAWSResource")
        admit = Admission(
            services=_services(ctx), also_admit=is_autoscaling_service_role, any_platform_role=for_aws_resources
        )
        problems += foreign_principals(ctx, statement, owner, admit)
    return problems


@check(
    "kms-grants",
    title="Grants on a key go only to the owner's roles, break-glass or AWS services",
    controls=("KMS-3",),
    severity="critical",
    resource_types=(KMS_KEY,),
    remediation="Revoke the grant (aws kms revoke-grant) and grant only the owner's roles.",
)
def kms_grants(ctx: AuditContext, key: Resource) -> Outcome:
    if _metadata(ctx, key).get("KeyManager") != "CUSTOMER":
        return None
    owner = resource_owner(key)
    problems = []
    for grant in ctx.api.items("kms", "ListGrants", "Grants", KeyId=key.arn):
        grantee = grant.get("GranteePrincipal", "")
        if grantee.endswith(".amazonaws.com") or is_autoscaling_service_role(ctx, grantee):
            continue
        who = principal_owner(ctx, grantee)
        if not (who.same_owner(owner) or who.is_platform_role(BREAK_GLASS_ROLE, owner.environment)):
            problems.append(f"grant {grant.get('GrantId')} gives {grantee}, {who.describe()}, use of the key")
    return problems
