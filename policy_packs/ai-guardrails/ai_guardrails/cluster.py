"""The EKS cluster (CONTROLS C): endpoint, version, logs, access entries, workload identity, threat detection."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase

from ai_guardrails.core import (
    CRITICAL,
    HIGH,
    MEDIUM,
    Config,
    Finding,
    Outcome,
    Resource,
    Stack,
    Undecided,
    expect,
    resource_policy,
    shown,
    stack_policy,
    string_list,
)
from ai_guardrails.documents import role_name_of
from ai_guardrails.joins import ROLE, owner_in_stack
from ai_guardrails.kube import SYSTEM_NAMESPACES, SYSTEM_NAMESPACES_SCHEMA
from ai_guardrails.tags import PLATFORM_OWNER, STANDARDS
from ai_guardrails.values import as_bool, get, is_unknown, items, strings

CLUSTER = "aws:eks/cluster:Cluster"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
DETECTOR = "aws:guardduty/detector:Detector"
DETECTOR_FEATURE = "aws:guardduty/detectorFeature:DetectorFeature"

_ADMIN_POLICIES = ("AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy")
_OPEN = ("0.0.0.0/0", "::/0")
_ADMIN_ROLES = string_list(
    ["aip-*-platform-platform-admin", "aip-*-platform-break-glass", "aip-*-deploy-runner"],
    "Role names (fnmatch) that may hold cluster-wide admin access: the platform's human admin roles and the "
    "cluster stack's in-VPC deploy runner (aip-<env>-<owner>-deploy-runner), which applies every Kubernetes "
    "object. The deployer, which runs only outside the VPC, needs none.",
)


@resource_policy(
    "eks-private-endpoint",
    description="EKS API endpoints are private, or public only to listed CIDRs where the config allows it.",
    controls=["EKS-1"],
    severity=CRITICAL,
    remediation="Set vpcConfig.endpointPublicAccess=False and endpointPrivateAccess=True.",
    tokens=[CLUSTER],
    config={
        "allowPublicEndpoint": {
            "type": "boolean",
            "default": False,
            "description": "Whether a public endpoint restricted by publicAccessCidrs is acceptable.",
        }
    },
)
def eks_private_endpoint(r: Resource, config: Config) -> Iterator[Outcome]:
    """`vpcConfig.endpointPrivateAccess` true (absent = false); `endpointPublicAccess` false (absent = true = public);
    where public is allowed, `publicAccessCidrs` set and never `0.0.0.0/0`.
    """
    vpc = r.get("vpcConfig")
    if is_unknown(vpc):
        yield Undecided("vpcConfig")
        return
    private = as_bool(get(vpc, "endpointPrivateAccess"))
    if not is_unknown(private) and private is not True:
        yield Finding(
            "vpcConfig.endpointPrivateAccess",
            f"is {shown(private)} (absent = false)",
            "true",
            "set endpointPrivateAccess=True",
        )
    public = as_bool(get(vpc, "endpointPublicAccess"))
    if is_unknown(public):
        yield Undecided("vpcConfig.endpointPublicAccess")
        return
    if public is False:
        return
    if not config["allowPublicEndpoint"]:
        yield Finding(
            "vpcConfig.endpointPublicAccess",
            f"is {shown(public)} (absent = true, a public endpoint)",
            "false",
            "set endpointPublicAccess=False",
        )
        return
    cidrs = get(vpc, "publicAccessCidrs")
    if is_unknown(cidrs):
        yield Undecided("vpcConfig.publicAccessCidrs")
    elif not items(cidrs) or any(c in _OPEN for c in strings(cidrs)):
        yield Finding(
            "vpcConfig.publicAccessCidrs",
            "is absent or open to the internet",
            "the operators' CIDRs, never 0.0.0.0/0",
            "list the CIDRs that may reach the API",
        )


@resource_policy(
    "eks-supported-version",
    description="EKS clusters pin a Kubernetes version on the platform's supported list.",
    controls=["EKS-2"],
    severity=MEDIUM,
    remediation="Set version to one of the supported versions.",
    tokens=[CLUSTER],
    config={
        "supportedVersions": string_list(STANDARDS["kubernetes_versions"], "Kubernetes versions in standard support.")
    },
)
def eks_supported_version(r: Resource, config: Config) -> Iterator[Outcome]:
    """`version` is on `supportedVersions` (absent = whatever AWS defaults to: violation)."""
    version = r.get("version")
    yield from expect(
        version,
        "version",
        config["supportedVersions"],
        f"one of {', '.join(config['supportedVersions'])}",
        "pin a supported version",
        problem=f"is {shown(version, identifier=True)}",
    )


@resource_policy(
    "eks-control-plane-logs",
    description="EKS clusters ship all five control-plane log types.",
    controls=["EKS-3"],
    severity=HIGH,
    remediation="Set enabledClusterLogTypes to api, audit, authenticator, controllerManager and scheduler.",
    tokens=[CLUSTER],
)
def eks_control_plane_logs(r: Resource, config: Config) -> Iterator[Outcome]:
    """`enabledClusterLogTypes` ⊇ {api, audit, authenticator, controllerManager, scheduler} (absent = none)."""
    types = r.get("enabledClusterLogTypes")
    if is_unknown(types):
        yield Undecided("enabledClusterLogTypes")
        return
    missing = [t for t in STANDARDS["eks_log_types"] if t not in strings(types)]
    if missing:
        yield Finding(
            "enabledClusterLogTypes",
            f"lacks {', '.join(missing)}",
            ", ".join(STANDARDS["eks_log_types"]),
            "enable every log type",
        )


@resource_policy(
    "eks-access-entries",
    description="EKS clusters use access entries only and do not make the creator an admin.",
    controls=["EKS-4"],
    severity=HIGH,
    remediation="Set accessConfig={authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: False}.",
    tokens=[CLUSTER],
)
def eks_access_entries(r: Resource, config: Config) -> Iterator[Outcome]:
    """`accessConfig.authenticationMode` is `API` (absent = CONFIG_MAP); `bootstrapClusterCreatorAdminPermissions` false
    (absent = true).
    """
    access = r.get("accessConfig")
    if is_unknown(access):
        yield Undecided("accessConfig")
        return
    mode = get(access, "authenticationMode")
    if not is_unknown(mode) and mode != "API":
        yield Finding(
            "accessConfig.authenticationMode",
            f"is {shown(mode, ['CONFIG_MAP', 'API_AND_CONFIG_MAP'])}",
            "'API'",
            "set authenticationMode='API'",
        )
    bootstrap = as_bool(get(access, "bootstrapClusterCreatorAdminPermissions"))
    if not is_unknown(bootstrap) and bootstrap is not False:
        yield Finding(
            "accessConfig.bootstrapClusterCreatorAdminPermissions",
            f"is {shown(bootstrap)} (absent = true)",
            "false",
            "set bootstrapClusterCreatorAdminPermissions=False and grant admins through access entries",
        )


@resource_policy(
    "eks-access-entry-no-masters",
    description="EKS access entries never map a principal to system:masters.",
    controls=["EKS-5", "IAM-1"],
    severity=CRITICAL,
    remediation="Remove system:masters from kubernetesGroups and associate a scoped access policy instead.",
    tokens=[ACCESS_ENTRY],
)
def eks_access_entry_no_masters(r: Resource, config: Config) -> Iterator[Outcome]:
    """`kubernetesGroups` does not contain `system:masters`."""
    yield from expect(
        r.get("kubernetesGroups"),
        "kubernetesGroups",
        lambda groups: "system:masters" not in strings(groups),
        "no system:masters",
        "remove system:masters",
        problem="contains 'system:masters'",
    )


def _is_admin_policy(policy: object) -> bool:
    return isinstance(policy, str) and policy.rsplit("/", 1)[-1] in _ADMIN_POLICIES


@resource_policy(
    "eks-admin-access-platform-only",
    description="Cluster-wide admin access policies are associated only with the platform's admin roles.",
    controls=["EKS-5"],
    severity=CRITICAL,
    remediation=(
        "Associate AmazonEKSClusterAdminPolicy/AmazonEKSAdminPolicy only with platform-admin, break-glass or the "
        "deploy runner; tenants get namespace-scoped policies."
    ),
    tokens=[ACCESS_POLICY_ASSOCIATION],
    config={"adminRoleNames": _ADMIN_ROLES},
)
def eks_admin_access_platform_only(r: Resource, config: Config) -> Iterator[Outcome]:
    """An admin `policyArn` or an `accessScope.type` of `cluster` needs a `principalArn` whose role name is on
    `adminRoleNames` (role ARNs computed in the stack are joined by eks-tenant-access-scoped).
    """
    policy = r.get("policyArn")
    scope = r.get("accessScope", "type")
    if not (_is_admin_policy(policy) or scope == "cluster"):
        return
    principal = r.get("principalArn")
    if is_unknown(principal):
        return
    name = role_name_of(principal) if isinstance(principal, str) else None
    if name is None or not any(fnmatchcase(name, pattern) for pattern in config["adminRoleNames"]):
        yield Finding(
            "principalArn",
            "is not a platform admin role but receives cluster-wide or admin access",
            f"a role matching {', '.join(config['adminRoleNames'])}",
            "use a namespace-scoped access policy for this principal",
        )


# The one access policy a tenant's role may hold: read-only. A team's write rights come from the platform's
# reviewed tenant-team Role, to which its access entry maps it through the team's Kubernetes group
# (standards tenant_team; tenant-team-bound-to-reviewed-role). AmazonEKSEditPolicy has edit-like rights
# (Amazon EKS User Guide, "Review access policy permissions"): with it a team could delete its namespace's
# NetworkPolicies, default-deny included.
_TENANT_ACCESS_POLICIES = ("AmazonEKSViewPolicy",)


@stack_policy(
    "eks-tenant-access-scoped",
    description="Tenant principals get at most read-only access policies, scoped to their own namespace.",
    controls=["EKS-5", "IAM-1"],
    severity=CRITICAL,
    remediation=(
        "Associate no access policy with a tenant role: map it to its team's Kubernetes group (AccessEntry "
        "kubernetesGroups), which the platform binds to the tenant-team Role. A read-only association, if one is "
        "kept, is AmazonEKSViewPolicy with accessScope={type: 'namespace', namespaces: [<tenant>]}."
    ),
    tokens=[ACCESS_POLICY_ASSOCIATION, ROLE],
)
def eks_tenant_access_scoped(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `AccessPolicyAssociation` whose `principalArn` comes from a tenant's `Role`: `policyArn` is
    AmazonEKSViewPolicy, `accessScope.type` `namespace`, `namespaces` exactly the tenant's.
    """
    for association in stack.of(ACCESS_POLICY_ASSOCIATION):
        for role in stack.sources(association, "principalArn", ROLE):
            tenant = owner_in_stack(stack, role)
            if tenant is None or tenant == PLATFORM_OWNER:
                continue
            policy = association.get("policyArn")
            if is_unknown(policy):
                yield Undecided("policyArn", association)
            elif not (isinstance(policy, str) and policy.rsplit("/", 1)[-1] in _TENANT_ACCESS_POLICIES):
                yield Finding(
                    "policyArn",
                    "grants a tenant role more than read access"
                    + (" (an admin policy)" if _is_admin_policy(policy) else " (edit-like or unknown rights)"),
                    " or ".join(_TENANT_ACCESS_POLICIES) + ", or no association",
                    "remove the association; the team's group is bound to the tenant-team Role",
                    association,
                )
            scope = association.get("accessScope")
            namespaces = strings(get(scope, "namespaces"))
            if get(scope, "type") != "namespace" or namespaces != [tenant]:
                yield Finding(
                    "accessScope",
                    f"is not scoped to namespace {shown(tenant, identifier=True)} only",
                    f"{{type: 'namespace', namespaces: ['{tenant}']}}",
                    "scope the association to the tenant's namespace",
                    association,
                )


@resource_policy(
    "eks-pod-identity-dedicated-account",
    description="Pod Identity associations bind a dedicated service account outside the default namespace.",
    controls=["EKS-6"],
    severity=MEDIUM,
    remediation="Associate the role with a named service account in the tenant's namespace, never 'default'.",
    tokens=[POD_IDENTITY],
)
def eks_pod_identity_dedicated_account(r: Resource, config: Config) -> Iterator[Outcome]:
    """`namespace` is not `default`; `serviceAccount` is not `default`."""
    for prop in ("namespace", "serviceAccount"):
        value = r.get(prop)
        if value == "default":
            yield Finding(prop, "is 'default'", "a dedicated, named one", f"set {prop} to the tenant's own")


@stack_policy(
    "eks-workload-identity-scoped",
    description=(
        "Pod Identity associations bind a tenant's role only in that tenant's namespace, and no role serves two "
        "tenants."
    ),
    controls=["EKS-6"],
    severity=CRITICAL,
    remediation="Give each tenant its own workload role and associate it only in the tenant's namespace.",
    tokens=[POD_IDENTITY, ROLE],
    config={"systemNamespaces": SYSTEM_NAMESPACES_SCHEMA},
)
def eks_workload_identity_scoped(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `PodIdentityAssociation`, joined to its `Role` through `roleArn`: a tenant role's namespace is the tenant's;
    a system namespace uses platform roles only; a role appears in one tenant's namespace only.
    """
    system = config.get("systemNamespaces", SYSTEM_NAMESPACES)
    used_in: dict[str, set[str]] = {}
    for association in stack.of(POD_IDENTITY):
        namespace = association.get("namespace")
        if not isinstance(namespace, str):
            continue
        for role in stack.sources(association, "roleArn", ROLE):
            role_owner_name = owner_in_stack(stack, role)
            used_in.setdefault(role.urn, set()).add(namespace)
            if role_owner_name is None:
                continue
            if role_owner_name == PLATFORM_OWNER:
                if namespace not in system:
                    yield Finding(
                        "roleArn",
                        f"binds a platform role in tenant namespace {shown(namespace, identifier=True)}",
                        "a role of that tenant",
                        "use the tenant's workload role",
                        association,
                    )
            elif namespace != role_owner_name:
                yield Finding(
                    "namespace",
                    (
                        f"is {shown(namespace, identifier=True)} for a role of tenant "
                        f"{shown(role_owner_name, identifier=True)}"
                    ),
                    f"'{role_owner_name}'",
                    "associate the role only in its tenant's namespace",
                    association,
                )
    for urn, namespaces in used_in.items():
        tenants = {n for n in namespaces if n not in system}
        if len(tenants) > 1:
            yield Finding(
                "(associations)",
                "is shared by several tenant namespaces",
                "one tenant per role",
                "create a role per tenant",
                stack.by_urn[urn],
            )


_GUARDDUTY_FEATURES = ["EKS_AUDIT_LOGS", "RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING"]


@resource_policy(
    "guardduty-eks-protection",
    description="GuardDuty EKS audit-log and runtime monitoring features are enabled.",
    controls=["EKS-7"],
    severity=HIGH,
    remediation="Set status='ENABLED' on the EKS_AUDIT_LOGS and RUNTIME_MONITORING detector features.",
    tokens=[DETECTOR_FEATURE],
)
def guardduty_eks_protection(r: Resource, config: Config) -> Iterator[Outcome]:
    """Detector features `EKS_AUDIT_LOGS`, `RUNTIME_MONITORING` and `EKS_RUNTIME_MONITORING` have `status` `ENABLED`."""
    name = r.get("name")
    if name not in _GUARDDUTY_FEATURES:
        return
    yield from expect(
        r.get("status"), "status", ("ENABLED",), "'ENABLED'", "set status='ENABLED'", vocabulary=["DISABLED"]
    )


@stack_policy(
    "guardduty-eks-features-present",
    description="Every GuardDuty detector the stack manages has EKS audit-log and runtime monitoring features.",
    controls=["EKS-7"],
    severity=HIGH,
    remediation=(
        "Add DetectorFeature resources EKS_AUDIT_LOGS and RUNTIME_MONITORING (status ENABLED) for the detector."
    ),
    tokens=[DETECTOR, DETECTOR_FEATURE],
)
def guardduty_eks_features_present(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `Detector` has, through `detectorId`, an enabled `EKS_AUDIT_LOGS` and an enabled `RUNTIME_MONITORING` (or
    `EKS_RUNTIME_MONITORING`) feature.
    """
    for detector in stack.of(DETECTOR):
        enabled = {
            feature.get("name")
            for feature in stack.dependents(detector, "detectorId", DETECTOR_FEATURE)
            if feature.get("status") == "ENABLED"
        }
        if "EKS_AUDIT_LOGS" not in enabled:
            yield Finding(
                "(features)", "lacks EKS_AUDIT_LOGS", "an ENABLED EKS_AUDIT_LOGS feature", "add the feature", detector
            )
        if not enabled & {"RUNTIME_MONITORING", "EKS_RUNTIME_MONITORING"}:
            yield Finding(
                "(features)",
                "lacks runtime monitoring",
                "an ENABLED RUNTIME_MONITORING feature",
                "add the feature",
                detector,
            )
