"""EKS clusters: endpoint, secrets encryption, logs, authentication, access entries and pod
identity (CONTROLS EKS-1..6, KMS-6).

Access entries and pod identity associations carry no stack tag: they are read through their
cluster, and a finding names the entry or association itself.
"""

from __future__ import annotations

from typing import Any

from aiplatform_standards import platform

from audit.context import AuditContext
from audit.identity import Owner, key_problems, principal_owner, resource_owner
from audit.model import EKS_CLUSTER, PLATFORM_OWNER, Outcome, Problem, Resource
from audit.registry import check

_LOG_TYPES: tuple[str, ...] = tuple(platform()["eks_log_types"])
_VERSIONS: tuple[str, ...] = tuple(platform()["kubernetes_versions"])
_SYSTEM_NAMESPACES = frozenset(platform()["kubernetes"]["system_namespaces"])
_OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
_CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"


def _namespace_owner(namespace: str) -> str:
    """A tenant's namespace is its name (infra/naming.py); system namespaces are the platform's."""
    return PLATFORM_OWNER if namespace in _SYSTEM_NAMESPACES else namespace


@check(
    "eks-endpoint-private",
    title="The API endpoint is private, or public only to restricted CIDRs",
    controls=("EKS-1",),
    severity="high",
    resource_types=(EKS_CLUSTER,),
    remediation="Set endpointPublicAccess false and endpointPrivateAccess true (or restrict publicAccessCidrs).",
)
def eks_endpoint_private(ctx: AuditContext, cluster: Resource) -> Outcome:
    vpc = cluster.data.get("resourcesVpcConfig", {})
    problems = [] if vpc.get("endpointPrivateAccess") else ["the private endpoint is off"]
    if not vpc.get("endpointPublicAccess", True):
        return problems
    cidrs = set(vpc.get("publicAccessCidrs") or ["0.0.0.0/0"])
    if cidrs & _OPEN_CIDRS:
        return [*problems, f"the public endpoint is open to {', '.join(sorted(cidrs & _OPEN_CIDRS))}"]
    # A public endpoint restricted to CIDRs is allowed where the stack configures it; with --state,
    # the audit knows what the stack configured.
    recorded = ctx.state.outputs_of(cluster.type, cluster.arn, cluster.id) if ctx.state else None
    if recorded is not None:
        configured = recorded.get("vpcConfig") or {}
        if not configured.get("endpointPublicAccess"):
            problems.append("the public endpoint is on, but the stack configures it off")
        elif extra := cidrs - set(configured.get("publicAccessCidrs") or []):
            problems.append(
                f"the public endpoint admits {', '.join(sorted(extra))}, which the stack does not configure"
            )
    return problems


@check(
    "eks-version",
    title="The Kubernetes version is one the platform supports",
    controls=("EKS-2",),
    severity="medium",
    resource_types=(EKS_CLUSTER,),
    remediation=f"Upgrade the cluster to a supported version ({', '.join(_VERSIONS)}).",
)
def eks_version(ctx: AuditContext, cluster: Resource) -> Outcome:
    version = cluster.data.get("version")
    return [] if version in _VERSIONS else [f"Kubernetes {version} is not a supported version"]


@check(
    "eks-secrets-encryption",
    title="Secrets are envelope-encrypted with the owner's cluster-secrets key",
    controls=("KMS-6", "KMS-5"),
    severity="high",
    resource_types=(EKS_CLUSTER,),
    remediation="Associate the owner's alias/<env>/<owner>/cluster-secrets key for secrets (in the stack).",
)
def eks_secrets_encryption(ctx: AuditContext, cluster: Resource) -> Outcome:
    for configuration in cluster.data.get("encryptionConfig") or []:
        if "secrets" in configuration.get("resources", []):
            key = configuration.get("provider", {}).get("keyArn")
            return key_problems(ctx, key, resource_owner(cluster), "cluster-secrets")
    return ["secrets are not envelope-encrypted with a KMS key"]


@check(
    "eks-control-plane-logs",
    title="All five control-plane log types are enabled",
    controls=("EKS-3",),
    severity="medium",
    resource_types=(EKS_CLUSTER,),
    remediation=f"Enable the log types {', '.join(_LOG_TYPES)} (in the stack).",
)
def eks_control_plane_logs(ctx: AuditContext, cluster: Resource) -> Outcome:
    enabled = {
        log_type
        for setting in cluster.data.get("logging", {}).get("clusterLogging", [])
        if setting.get("enabled")
        for log_type in setting.get("types", [])
    }
    missing = [log_type for log_type in _LOG_TYPES if log_type not in enabled]
    return [f"control-plane log types off: {', '.join(missing)}"] if missing else []


@check(
    "eks-authentication-mode",
    title="Authentication uses access entries only and the creator is not an admin",
    controls=("EKS-4",),
    severity="high",
    resource_types=(EKS_CLUSTER,),
    remediation="Set accessConfig.authenticationMode to API; remove the creator's admin access entry.",
)
def eks_authentication_mode(ctx: AuditContext, cluster: Resource) -> Outcome:
    access = cluster.data.get("accessConfig") or {}
    mode = access.get("authenticationMode", "CONFIG_MAP")
    problems = [] if mode == "API" else [f"the authentication mode is {mode}, not API"]
    if access.get("bootstrapClusterCreatorAdminPermissions"):
        problems.append("the cluster creator was given cluster-admin access")
    return problems


def _policy_problems(namespace: str, association: dict[str, Any]) -> list[str]:
    policy = association.get("policyArn", "")
    scope = association.get("accessScope", {})
    if policy.endswith(_CLUSTER_ADMIN_POLICY):
        return [f"{policy} is associated"]
    if scope.get("type") != "namespace":
        return [f"{policy} is associated cluster-wide"]
    namespaces = scope.get("namespaces", [])
    return [] if namespaces == [namespace] else [f"{policy} is scoped to {', '.join(namespaces)}, not only {namespace}"]


@check(
    "eks-access-entries-scoped",
    title="Tenant access entries are scoped to the tenant's namespace, never cluster-admin",
    controls=("EKS-5",),
    severity="critical",
    resource_types=(EKS_CLUSTER,),
    remediation="Delete the access entry or re-associate its policy with a namespace scope of the tenant's namespace.",
)
def eks_access_entries_scoped(ctx: AuditContext, cluster: Resource) -> Outcome:
    """The platform's roles may hold cluster-wide access, and so may the cluster's own in-VPC deploy runner, which
    applies every Kubernetes object of its stack (docs/deploy.md): the shared cluster's runner is a platform role,
    a tier C cluster's (``aip-<env>-<tenant>-deploy-runner``, tagged for the tenant who owns the cluster) is
    recognised by the naming rule. Another owner's runner, and every other tenant role, is judged as a tenant's."""
    problems = []
    owner = resource_owner(cluster)
    for principal in ctx.api.items("eks", "ListAccessEntries", "accessEntries", clusterName=cluster.id):
        who = principal_owner(ctx, principal)
        if who.tenant == PLATFORM_OWNER and who.environment == cluster.environment:
            continue
        if who.is_deploy_runner_of(owner):
            continue
        if who.tenant is None:
            messages = ["a principal that is neither the platform's nor a tenant's has access"]
        elif who.environment != cluster.environment:
            messages = ["a role of another environment has access"]
        else:
            associations = ctx.api.items(
                "eks",
                "ListAssociatedAccessPolicies",
                "associatedAccessPolicies",
                clusterName=cluster.id,
                principalArn=principal,
            )
            messages = [
                message for association in associations for message in _policy_problems(who.tenant, association)
            ]
        if messages:
            entry = ctx.api.call("eks", "DescribeAccessEntry", clusterName=cluster.id, principalArn=principal) or {}
            arn = entry["accessEntry"]["accessEntryArn"]
            problems += [Problem(f"{principal} ({who.describe()}): {message}", arn) for message in messages]
    return problems


@check(
    "eks-pod-identity-scoped",
    title="Pod identity associations give each namespace only its owner's roles, no role to two tenants",
    controls=("EKS-6",),
    severity="critical",
    resource_types=(EKS_CLUSTER,),
    remediation="Delete the association and associate a role of the namespace's tenant instead.",
)
def eks_pod_identity_scoped(ctx: AuditContext, cluster: Resource) -> Outcome:
    problems = []
    tenants_by_role: dict[str, set[str]] = {}
    for summary in ctx.api.items("eks", "ListPodIdentityAssociations", "associations", clusterName=cluster.id):
        association = (
            ctx.api.call(
                "eks", "DescribePodIdentityAssociation", clusterName=cluster.id, associationId=summary["associationId"]
            )
            or {}
        )["association"]
        namespace, role = association["namespace"], association["roleArn"]
        expected = Owner(cluster.environment, _namespace_owner(namespace))
        who = principal_owner(ctx, role)
        tenants_by_role.setdefault(role, set()).add(expected.tenant or "")
        if not who.same_owner(expected):
            problems.append(
                Problem(
                    f"{namespace}/{association['serviceAccount']} assumes {role}, {who.describe()}, "
                    f"not of {expected.name()}",
                    association["associationArn"],
                )
            )
    for role, tenants in sorted(tenants_by_role.items()):
        if len(tenants) > 1:
            problems.append(Problem(f"{role} is associated in the namespaces of {', '.join(sorted(tenants))}", role))
    return problems
