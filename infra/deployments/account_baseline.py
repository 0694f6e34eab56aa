"""Deployment ``account-baseline``: what exists once per AWS account and region (stacks ``baseline-<env>``).

In dependency order: the platform roles and the two permissions boundaries (their ARNs are derived
from the configured account, so key, bucket and topic policies can name them in a first preview), and
the service-linked roles the platform's key policies name (KMS rejects a key policy whose principal does
not exist: infra.components.service_linked_roles); the platform's audit, default-volumes and
registry-cache keys, whose policies name those roles; then
the account defaults (EBS encryption by default with the default-volumes key, the account public
access block, cost-allocation tags), the security alert topic with the break-glass alarm (audit
key), the audit trail (audit key), threat detection, and the registry settings (pull-through cached
repositories with the registry-cache key).

In a tier C tenant's own account (``baseline.tenantDeployment``, stacks ``baseline-<tenant>-<env>``) the roles
also include ``aip-<env>-tenant-deployment``, which the platform account's deployer assumes with the tier C
stack's external id.

The keys' purposes are the baseline's own: a platform stack in the same account creates the
platform's ``volumes``, ``logs`` and ``registry`` keys, and each alias ``alias/<env>/platform/<purpose>``
exists once per account and region (CONTROLS KMS-5).

Stack outputs: ``roles``, shaped as the platform stacks' ``secure-ai-platform:roles`` config
({platformAdmin, breakGlass, deployer, ci, tenantBoundary}); ``auditRoleArn``, ``alertTopicArn``,
``platformBoundaryArn``, ``trailArn``, ``auditBucketName``, ``pullThroughCachePrefixes``, ``keyArns``, and
with ``tenantDeployment`` ``tenantDeploymentRoleArn``.
"""

from __future__ import annotations

import pulumi
from aiplatform_standards import platform

from infra.components import audit_trail, platform_roles, security_alerts
from infra.components.account_defaults import AccountDefaults, AccountDefaultsArgs
from infra.components.audit_trail import AuditTrail, AuditTrailArgs
from infra.components.key_ring import KeyRing, KeyRingArgs
from infra.components.platform_roles import AuditEvidence, PlatformRoles, PlatformRolesArgs
from infra.components.registry_baseline import RegistryBaseline, RegistryBaselineArgs
from infra.components.security_alerts import SecurityAlerts, SecurityAlertsArgs
from infra.components.service_linked_roles import ServiceLinkedRoles, ServiceLinkedRolesArgs
from infra.components.threat_detection import ThreatDetection, ThreatDetectionArgs
from infra.config import BaselineConfig, ConfigError, Settings
from infra.tags import PLATFORM, TagScope, standard_tags

PURPOSES = ("default-volumes", "audit", "registry-cache")
# The purposes these keys had while the baseline shared the platform stacks' purposes: the keys keep
# their identity (the trail's log files and the account's default-encrypted volumes stay readable).
RENAMED_PURPOSES = {"default-volumes": "volumes", "audit": "logs", "registry-cache": "registry"}
# Only the keys the platform puts on every resource: AWS refuses to activate a key that has never
# appeared in billing data, so the optional aiplatform:expires-at is left to the accounts that use it.
COST_ALLOCATION_TAGS: tuple[str, ...] = tuple(platform()["tags"]["required"])


def baseline_settings(settings: Settings) -> tuple[Settings, BaselineConfig]:
    """The stack's settings with the roles this stack creates, as the platform stacks will read them."""
    if settings.baseline is None:
        raise ConfigError(["baseline: required (set at least accountId and deployer.repository; see Pulumi.yaml)"])
    baseline = settings.baseline
    roles = platform_roles.baseline_roles(baseline.account_id, settings.environment)
    return settings.model_copy(update={"roles": roles}), baseline


def audit_evidence(stack: Settings) -> AuditEvidence:
    return AuditEvidence(
        trail_arn=audit_trail.trail_arn(stack),
        bucket_arn=audit_trail.bucket_arn(stack),
        log_group_arn=audit_trail.log_group_arn(stack),
        alert_topic_arn=security_alerts.topic_arn(stack),
        alarm_rule_arn=security_alerts.rule_arn(stack),
    )


def build(settings: Settings) -> None:
    stack, baseline = baseline_settings(settings)
    env, account = stack.environment, baseline.account_id
    arns = stack.required_roles
    audit_role = platform_roles.role_arn(account, env, "audit")
    template_role = platform_roles.role_arn(account, env, platform_roles.ECR_TEMPLATES)

    roles = PlatformRoles("baseline-roles", PlatformRolesArgs(stack, baseline, audit_evidence(stack)))
    service_roles = ServiceLinkedRoles(
        "baseline-service-roles",
        ServiceLinkedRolesArgs(stack.partition, account, baseline.existing_service_linked_roles),
    )
    keys = KeyRing(
        "baseline-keys",
        KeyRingArgs(
            settings=stack,
            owner=PLATFORM,
            purposes=PURPOSES,
            user_role_arns=[template_role],
            audit_trail_arn=audit_trail.trail_arn(stack),
            security_alerts=True,
            grant_role_arns=[template_role],
            depends_on=[roles, service_roles],
            renamed_purposes=RENAMED_PURPOSES,
        ),
    )
    AccountDefaults(
        "baseline-defaults",
        AccountDefaultsArgs(volumes_key_arn=keys.arns["default-volumes"], cost_allocation_tags=COST_ALLOCATION_TAGS),
    )
    alerts = SecurityAlerts(
        "baseline-alerts",
        SecurityAlertsArgs(stack, keys.arns["audit"], arns.break_glass, baseline.alert_emails),
    )
    trail = AuditTrail(
        "baseline-audit",
        AuditTrailArgs(
            settings=stack,
            audit_key_arn=keys.arns["audit"],
            platform_boundary_arn=roles.platform_boundary.arn,
            reader_role_arns=[arns.break_glass, audit_role],
            data_event_bucket_prefixes=baseline.data_event_prefixes(env),
            lock_mode=baseline.lock_mode(env),
            lock_days=baseline.lock_days(env),
        ),
    )
    ThreatDetection("baseline-threats", ThreatDetectionArgs(stack))
    registry = RegistryBaseline(
        "baseline-registry",
        RegistryBaselineArgs(
            settings=stack,
            registry_key_arn=keys.arns["registry-cache"],
            registry_key_alias=keys.aliases["registry-cache"],
            template_role=roles.roles[platform_roles.ECR_TEMPLATES],
            caches=baseline.pull_through_caches,
            repository_tags=standard_tags(stack, TagScope.for_platform(stack)),
        ),
    )

    pulumi.export(
        "roles",
        {
            "platformAdmin": roles.arns["platform-admin"],
            "breakGlass": roles.arns["break-glass"],
            "deployer": roles.arns["deployer"],
            "ci": roles.arns["ci"],
            "tenantBoundary": roles.tenant_boundary.arn,
        },
    )
    pulumi.export("auditRoleArn", roles.arns["audit"])
    pulumi.export("alertTopicArn", alerts.topic_arn)
    pulumi.export("platformBoundaryArn", roles.platform_boundary.arn)
    pulumi.export("trailArn", trail.trail.arn)
    pulumi.export("auditBucketName", trail.bucket.bucket)
    pulumi.export("pullThroughCachePrefixes", sorted(registry.rules))
    pulumi.export("keyArns", keys.arns)
    if roles.tenant_deployment is not None:
        pulumi.export("tenantDeploymentRoleArn", roles.tenant_deployment.arn)
