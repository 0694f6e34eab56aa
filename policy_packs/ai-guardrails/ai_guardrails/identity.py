"""Identity (CONTROLS G): Kubernetes RBAC, IAM wildcards, permissions boundaries, scoped trust."""

from __future__ import annotations

import re
from collections.abc import Iterator
from fnmatch import fnmatchcase

from ai_guardrails.core import (
    CRITICAL,
    HIGH,
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
from ai_guardrails.documents import (
    IAM_POLICY,
    IDENTITY_DOCUMENT_TOKENS,
    ROLE,
    Statement,
    identity_documents,
    role_name_of,
    statements,
)
from ai_guardrails.joins import KEY, KEY_POLICY, REPOSITORY, key_policies, owner_in_stack
from ai_guardrails.kube import (
    ALLOWLIST_SCHEMA,
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    ROLE_BINDING,
    SYSTEM_NAMESPACES_SCHEMA,
    allowlisted,
    namespace_of,
    object_name,
)
from ai_guardrails.kube import ROLE as K8S_ROLE
from ai_guardrails.tags import ENVIRONMENT, PLATFORM_OWNER, STANDARDS, owner, tag, tier
from ai_guardrails.values import UNKNOWN, get, has_unknown, is_unknown, items, strings

ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
_ADMIN_MANAGED = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")
_ESCALATING_VERBS = ("bind", "escalate", "impersonate")
_ADMIN_ROLES = string_list(
    ["aip-*-platform-platform-admin", "aip-*-platform-break-glass"],
    "Role names (fnmatch) that may hold administrator access.",
)
_RBAC_CONFIG = {"systemNamespaces": SYSTEM_NAMESPACES_SCHEMA, "systemAllowlist": ALLOWLIST_SCHEMA}
USER = "aws:iam/user:User"
_BOUNDARY_NAMES = string_list(
    ["aip-*-tenant-boundary", "aip-*-platform-boundary"],
    "Names (fnmatch) of the managed policies reviewed as permissions boundaries: the account baseline's tenant "
    "and platform boundaries. A boundary grants nothing, it caps what identity policies grant, so it may Allow "
    "with NotAction or '*'; iam-boundary-not-granted checks that nothing attaches one as an identity policy.",
)
_BOUNDARY_MUST_DENY = string_list(
    [
        "iam:DeleteRolePermissionsBoundary",
        "iam:CreateUser",
        "iam:CreateAccessKey",
        "iam:CreateLoginProfile",
        "organizations:LeaveOrganization",
    ],
    "Actions every permissions boundary stops (no Allow covers them, or an unconditional Deny on every resource "
    "does): a bounded principal never lifts its own cap, mints long-lived credentials that escape it, or takes "
    "the account out of the organization's guardrails.",
)
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
SINGLE_TENANT = "single-tenant"


@resource_policy(
    "rbac-no-cluster-admin-binding",
    description="No Kubernetes binding grants the cluster-admin role.",
    controls=["IAM-1"],
    severity=CRITICAL,
    remediation="Bind a namespace-scoped Role instead; platform administrators get access through EKS access entries.",
    tokens=[ROLE_BINDING, CLUSTER_ROLE_BINDING],
    config=_RBAC_CONFIG,
)
def rbac_no_cluster_admin_binding(r: Resource, config: Config) -> Iterator[Outcome]:
    """`roleRef.name` is not `cluster-admin` (reviewed platform components excepted)."""
    if allowlisted(r, config):
        return
    yield from expect(
        r.get("roleRef", "name"),
        "roleRef.name",
        lambda name: name != "cluster-admin",
        "a scoped role",
        "bind a namespace-scoped Role",
        problem="is 'cluster-admin'",
    )


@resource_policy(
    "rbac-no-wildcards-or-escalation",
    description=(
        "Kubernetes roles grant no wildcard verbs, resources or API groups and no bind, escalate or impersonate."
    ),
    controls=["IAM-1"],
    severity=HIGH,
    remediation="List the exact apiGroups, resources and verbs the workload needs.",
    tokens=[K8S_ROLE, CLUSTER_ROLE],
    config=_RBAC_CONFIG,
)
def rbac_no_wildcards_or_escalation(r: Resource, config: Config) -> Iterator[Outcome]:
    """`rules[].verbs`, `resources` and `apiGroups` contain no `*`; `verbs` exclude `bind`,
    `escalate`, `impersonate`.
    """
    if allowlisted(r, config):
        return
    rules = r.get("rules")
    if is_unknown(rules):
        yield Undecided("rules")
        return
    for index, rule in enumerate(items(rules)):
        for field in ("verbs", "resources", "apiGroups"):
            if "*" in strings(get(rule, field)):
                yield Finding(f"rules[{index}].{field}", "contains '*'", "explicit values", f"list the {field} needed")
        escalating = [v for v in strings(get(rule, "verbs")) if v in _ESCALATING_VERBS]
        if escalating:
            yield Finding(
                f"rules[{index}].verbs",
                f"contains {', '.join(escalating)}",
                "no privilege-escalation verbs",
                "remove them",
            )


# A tenant team's access (standards tenant_team): the Role the platform creates in each tenant namespace,
# the group it binds it to, and the reviewed grants, as (API group, resource, verb): a Role's rules add up
# to the union of such grants (Kubernetes, "Using RBAC Authorization": "Role and ClusterRole").
_TEAM = STANDARDS["tenant_team"]
TEAM_ROLE: str = _TEAM["role"]
_TEAM_GROUP = re.compile(
    rf"^{re.escape(STANDARDS['name_prefix'])}:([a-z0-9]([-a-z0-9]*[a-z0-9])?):{re.escape(_TEAM['group_suffix'])}$"
)
Grant = tuple[str, str, str]
# RBAC words (API groups, resources with their subresource, verbs) are shown in messages; anything else is not.
_RBAC_WORD = re.compile(r"^[a-z0-9*][a-z0-9.\-/*]{0,62}$")


def _grants(rule: object) -> set[Grant]:
    return {
        (group, resource, verb)
        for group in strings(get(rule, "apiGroups"))
        for resource in strings(get(rule, "resources"))
        for verb in strings(get(rule, "verbs"))
    }


REVIEWED_TEAM_GRANTS: frozenset[Grant] = frozenset(grant for rule in _TEAM["rules"] for grant in _grants(rule))


def team_tenant(subject: object) -> str | None:
    """The tenant whose team a binding subject is (a Group <name_prefix>:<tenant>:<group_suffix>), else None."""
    name = get(subject, "name")
    if get(subject, "kind") != "Group" or not isinstance(name, str):
        return None
    match = _TEAM_GROUP.match(name)
    return match.group(1) if match else None


def _rbac_word(word: str) -> str:
    if word == "":
        return "core"
    return word if _RBAC_WORD.match(word) else "(not shown)"


def _described(grants: set[Grant]) -> str:
    by_resource: dict[tuple[str, str], list[str]] = {}
    for group, resource, verb in sorted(grants):
        by_resource.setdefault((group, resource), []).append(_rbac_word(verb))
    shown_grants = [
        f"{_rbac_word(group)}/{_rbac_word(resource)} {' '.join(verbs)}"
        for (group, resource), verbs in by_resource.items()
    ]
    return "; ".join(shown_grants)


def _team_role_findings(role: Resource) -> Iterator[Outcome]:
    rules = role.get("rules")
    if is_unknown(rules):
        yield Undecided("rules", role)
        return
    for index, rule in enumerate(items(rules)):
        if has_unknown(rule):
            yield Undecided(f"rules[{index}]", role)
            continue
        if strings(get(rule, "nonResourceURLs")):
            yield Finding(
                f"rules[{index}].nonResourceURLs",
                "are set",
                "none (the reviewed rules grant no URL)",
                "remove nonResourceURLs",
                role,
            )
        beyond = _grants(rule) - REVIEWED_TEAM_GRANTS
        if beyond:
            yield Finding(
                f"rules[{index}]",
                f"grants {_described(beyond)} beyond the reviewed tenant team rules",
                "only grants of platform.yaml tenant_team.rules",
                "build the Role from tenant_team.rules; a new grant is reviewed there first",
                role,
            )


def _bound_team_role(stack: Stack, binding: Resource, namespace: str) -> Iterator[Outcome | Resource]:
    """The binding's Role in the stack, or why it cannot be judged (a finding, or undecided)."""
    candidates = [
        role
        for role in stack.of(K8S_ROLE)
        if object_name(role) in (TEAM_ROLE, UNKNOWN) and namespace_of(role) in (namespace, UNKNOWN)
    ]
    exact = [role for role in candidates if object_name(role) == TEAM_ROLE and namespace_of(role) == namespace]
    if exact:
        yield from exact
    elif candidates:
        yield Undecided("metadata", candidates[0])
    elif not stack.left_out(K8S_ROLE):
        yield Finding(
            "roleRef.name",
            f"names a Role {shown(TEAM_ROLE, identifier=True)} that this stack does not create in namespace "
            f"{shown(namespace, identifier=True)}",
            "the platform's tenant-team Role, created beside the binding",
            "create the Role from platform.yaml tenant_team.rules in the tenant's namespace",
            binding,
        )


@stack_policy(
    "tenant-team-bound-to-reviewed-role",
    description=(
        "A tenant team's group is bound only in its own namespace, to the platform's tenant-team Role, whose rules "
        "stay within the reviewed set."
    ),
    controls=["IAM-1", "NET-6"],
    severity=CRITICAL,
    remediation=(
        "Bind the team's group (<prefix>:<tenant>:editors) with one RoleBinding in the tenant's namespace to the Role "
        "tenant-team built from platform.yaml tenant_team.rules; never to edit, admin or another ClusterRole, never "
        "with a ClusterRoleBinding."
    ),
    tokens=[ROLE_BINDING, CLUSTER_ROLE_BINDING, K8S_ROLE],
)
def tenant_team_bound_to_reviewed_role(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `RoleBinding` or `ClusterRoleBinding` whose `subjects` include a team group (`Group`
    `<name_prefix>:<tenant>:<group_suffix>`) is a `RoleBinding` in namespace `<tenant>` whose `roleRef` is the `Role`
    `tenant-team`, created in that namespace in the stack; that Role's `rules` grant only (API group, resource, verb)
    triples of the standards' `tenant_team.rules` and no `nonResourceURLs`.

    The built-in `edit` role (and EKS's AmazonEKSEditPolicy) lets a team delete its default-deny NetworkPolicy and
    grows with every ClusterRole aggregated into it; a positive, reviewed list keeps the namespace's guardrails the
    platform's (tests/kube show the API server refusing the team exactly that).
    """
    judged: set[str] = set()
    for binding in stack.of(ROLE_BINDING, CLUSTER_ROLE_BINDING):
        subjects = binding.get("subjects")
        if is_unknown(subjects) or any(
            is_unknown(get(s, "name")) or is_unknown(get(s, "kind")) for s in items(subjects)
        ):
            yield Undecided("subjects", binding)
            continue
        tenants = sorted({tenant for subject in items(subjects) if (tenant := team_tenant(subject)) is not None})
        if not tenants:
            continue
        teams = ", ".join(shown(tenant, identifier=True) for tenant in tenants)
        if binding.type == CLUSTER_ROLE_BINDING:
            yield Finding(
                "subjects",
                f"bind the team of tenant {teams} cluster-wide",
                f"a RoleBinding in the tenant's namespace to the Role '{TEAM_ROLE}'",
                "replace the ClusterRoleBinding with the platform's RoleBinding in the tenant's namespace",
                binding,
            )
            continue
        namespace = namespace_of(binding)
        ref_kind, ref_name = binding.get("roleRef", "kind"), binding.get("roleRef", "name")
        if is_unknown(namespace) or is_unknown(ref_kind) or is_unknown(ref_name):
            yield Undecided("metadata.namespace" if is_unknown(namespace) else "roleRef", binding)
            continue
        foreign = [tenant for tenant in tenants if tenant != namespace]
        if foreign:
            yield Finding(
                "metadata.namespace",
                f"is {shown(namespace, identifier=True)}, not the namespace of the team of tenant "
                + ", ".join(shown(tenant, identifier=True) for tenant in foreign),
                "the team's own tenant namespace",
                "bind a team only in its own tenant's namespace",
                binding,
            )
            continue
        if (ref_kind, ref_name) != ("Role", TEAM_ROLE):
            yield Finding(
                "roleRef",
                f"is {ref_kind if ref_kind in ('Role', 'ClusterRole') else shown(ref_kind)} "
                f"{shown(ref_name, identifier=True)}",
                f"the Role '{TEAM_ROLE}'",
                f"bind the team to the Role '{TEAM_ROLE}' built from platform.yaml tenant_team.rules",
                binding,
            )
            continue
        for outcome in _bound_team_role(stack, binding, namespace):
            if isinstance(outcome, Resource):
                if outcome.urn not in judged:
                    judged.add(outcome.urn)
                    yield from _team_role_findings(outcome)
            else:
                yield outcome


def is_boundary_policy(r: Resource, config: Config) -> bool:
    """A managed policy whose name is on the reviewed list of permissions boundaries."""
    name = r.get("name")
    return (
        r.type == IAM_POLICY
        and isinstance(name, str)
        and any(fnmatchcase(name, pattern) for pattern in config["boundaryPolicyNames"])
    )


def _lets_through(found: list[Statement], action: str) -> Statement | None:
    """The Allow statement that lets ``action`` through a boundary (None when none does, or an unconditional Deny on
    every resource stops it).
    """
    if any(s.denies and s.grants(action) and "*" in s.resources and not s.conditions for s in found):
        return None
    return next((s for s in found if s.allows and s.grants(action)), None)


def _boundary_findings(r: Resource, config: Config) -> Iterator[Outcome]:
    found = statements(r.get("policy"))
    if is_unknown(found):
        yield Undecided("policy")
        return
    for action in config["boundaryMustDeny"]:
        statement = _lets_through(found, action)
        if statement is not None:
            yield Finding(
                f"policy.Statement[{statement.index}]",
                f"lets {action} through a permissions boundary",
                f"{action} outside every Allow, or denied unconditionally on '*'",
                f"exclude {action} from the Allow (NotAction) or add a Deny statement for it",
            )


@resource_policy(
    "iam-no-wildcard-admin",
    description=(
        "Identity policies allow neither '*' on '*' nor whole-service wildcards; permissions boundaries still stop "
        "what a boundary must."
    ),
    controls=["IAM-2"],
    severity=CRITICAL,
    remediation=(
        "List the actions the principal needs (service:Action), never '*' or 'service:*', and no Allow with NotAction. "
        "A managed policy used only as a permissions boundary goes on boundaryPolicyNames after review, and then "
        "must exclude or deny every action on boundaryMustDeny."
    ),
    tokens=IDENTITY_DOCUMENT_TOKENS,
    config={"boundaryPolicyNames": _BOUNDARY_NAMES, "boundaryMustDeny": _BOUNDARY_MUST_DENY},
)
def iam_no_wildcard_admin(r: Resource, config: Config) -> Iterator[Outcome]:
    """Allow statements: no `Action` `*` or `<service>:*`; no `NotAction` (it allows everything else). Managed policies
    named on `boundaryPolicyNames` are judged as permissions boundaries instead: an Allow with `NotAction` or `*` only
    caps, but no Allow may let an action on `boundaryMustDeny` through unless an unconditional Deny on `*` stops it.

    A permissions boundary grants nothing (IAM: the effective permissions are the intersection of the identity
    policies and the boundary), and AWS's documented way to write a ceiling is an Allow of everything outside a few
    services plus explicit denies. The stack policy iam-boundary-not-granted keeps such a policy from being attached
    as an identity policy, where the same statements would grant.
    """
    if is_boundary_policy(r, config):
        yield from _boundary_findings(r, config)
        return
    for path, document in identity_documents(r.type, r.props):
        found = statements(document)
        if is_unknown(found):
            yield Undecided(path)
            continue
        for statement in found:
            if not statement.allows:
                continue
            where = f"{path}.Statement[{statement.index}]"
            if statement.not_actions:
                yield Finding(
                    f"{where}.NotAction",
                    "allows every other action",
                    "an Action list",
                    "replace NotAction with the needed actions",
                )
            wild = [a for a in statement.actions if a == "*" or a.endswith(":*")]
            if wild:
                yield Finding(
                    f"{where}.Action",
                    f"contains wildcard {', '.join(w if w == '*' else 'service:*' for w in wild)}",
                    "explicit actions",
                    "list the actions needed",
                )


def _policy_name_of_arn(arn: object) -> str | None:
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) and ":policy/" in arn else None


@stack_policy(
    "iam-boundary-not-granted",
    description="Managed policies that serve as permissions boundaries are never attached as identity policies.",
    controls=["IAM-2", "IAM-3"],
    severity=CRITICAL,
    remediation=(
        "Use the boundary only as a role's or user's permissionsBoundary; attach a least-privilege identity policy "
        "for what the principal needs."
    ),
    tokens=[IAM_POLICY, ROLE, USER, *ATTACHMENTS],
    config={"boundaryPolicyNames": _BOUNDARY_NAMES},
)
def iam_boundary_not_granted(stack: Stack, config: Config) -> Iterator[Outcome]:
    """A `Policy` is a boundary when its `name` is on `boundaryPolicyNames` or a `Role`/`User` takes its
    `permissionsBoundary` from it (property dependency, or an ARN ending in its name); no attachment's `policyArn` and
    no role's `managedPolicyArns` comes from (or names) a boundary.
    """
    policies = stack.of(IAM_POLICY)
    boundaries = {policy.urn for policy in policies if is_boundary_policy(policy, config)}
    for principal in stack.of(ROLE, USER):
        boundaries.update(source.urn for source in stack.sources(principal, "permissionsBoundary", IAM_POLICY))
        named = _policy_name_of_arn(principal.get("permissionsBoundary"))
        boundaries.update(policy.urn for policy in policies if named is not None and policy.get("name") == named)
    by_name = {name: policy.urn for policy in policies if isinstance(name := policy.get("name"), str)}
    for resource in stack.of(ROLE, *ATTACHMENTS):
        prop = "managedPolicyArns" if resource.type == ROLE else "policyArn"
        sources = {source.urn for source in stack.sources(resource, prop, IAM_POLICY)}
        sources.update(
            by_name[name] for arn in items(resource.get(prop)) if (name := _policy_name_of_arn(arn)) in by_name
        )
        for urn in sorted(sources & boundaries):
            boundary = stack.by_urn[urn]
            yield Finding(
                prop,
                f"attaches the permissions boundary {shown(boundary.get('name'), identifier=True)} as an identity "
                "policy, where its NotAction and '*' statements grant instead of cap",
                "boundaries set only as permissionsBoundary",
                "remove the attachment and attach a least-privilege identity policy",
                resource,
            )


_POWER_USER = "PowerUserAccess"
_POWER_USER_ROLES = string_list(
    ["aip-*-platform-deployer", "aip-*-tenant-deployment"],
    "Role names (fnmatch) that may hold PowerUserAccess, and no other administrator managed policy: the platform "
    "deployer, which GitHub Actions of one repository's configured branches assume through OIDC to run pulumi up "
    "for every platform stack, and the tenant deployment role of a tier C tenant's own account, which only that "
    "deployer assumes (with the tier C stack's external id) to run the tenant's stacks there. PowerUserAccess grants "
    "no IAM; their IAM rights are the deployer's separate inline policy, limited to the platform stacks' own role, "
    "policy and instance-profile names (roles created only with the tenant boundary), and the platform boundary "
    "caps the whole role.",
)


@resource_policy(
    "iam-no-admin-managed-policies",
    description="Administrator managed policies are attached only to the platform's admin and break-glass roles.",
    controls=["IAM-2"],
    severity=CRITICAL,
    remediation=(
        "Attach least-privilege policies; AdministratorAccess belongs only to platform-admin and break-glass, "
        "PowerUserAccess only to the platform deployer."
    ),
    tokens=[*ATTACHMENTS, ROLE],
    config={"adminRoleNames": _ADMIN_ROLES, "powerUserRoleNames": _POWER_USER_ROLES},
)
def iam_no_admin_managed_policies(r: Resource, config: Config) -> Iterator[Outcome]:
    """`policyArn` (attachments) and `managedPolicyArns` (roles) name no AdministratorAccess, IAMFullAccess or
    PowerUserAccess unless the role is on `adminRoleNames` (PowerUserAccess: or on `powerUserRoleNames`).
    """
    if r.type == ROLE:
        arns = [(f"managedPolicyArns[{i}]", a) for i, a in enumerate(items(r.get("managedPolicyArns")))]
        role_names = [r.get("name")]
    else:
        arns = [("policyArn", r.get("policyArn"))]
        role_names = [r.get("role")] if r.type == ATTACHMENTS[0] else strings(r.get("roles")) or [None]
    for path, arn in arns:
        managed = arn.rsplit("/", 1)[-1] if isinstance(arn, str) and ":aws:policy/" in arn else None
        if managed not in _ADMIN_MANAGED:
            continue
        allowed = list(config["adminRoleNames"])
        if managed == _POWER_USER:
            allowed += config["powerUserRoleNames"]
        if all(isinstance(n, str) and any(fnmatchcase(n, p) for p in allowed) for n in role_names):
            continue
        if any(is_unknown(n) for n in role_names):
            yield Undecided("role")
            continue
        yield Finding(
            path,
            "attaches an administrator managed policy",
            f"only for roles matching {', '.join(allowed)}",
            "attach a least-privilege policy",
        )


@resource_policy(
    "iam-tenant-permissions-boundary",
    description="Tenant roles carry the tenant permissions boundary.",
    controls=["IAM-3"],
    severity=HIGH,
    remediation="Set permissionsBoundary to the baseline's tenant boundary policy ARN.",
    tokens=[ROLE],
    config={
        "tenantBoundaryPatterns": string_list(
            ["arn:aws*:iam::*:policy/aip-*-tenant-boundary"],
            "Permissions boundary ARNs (fnmatch) accepted on tenant roles.",
        )
    },
)
def iam_tenant_permissions_boundary(r: Resource, config: Config) -> Iterator[Outcome]:
    """Roles tagged with a tenant (not `platform`) have `permissionsBoundary` matching `tenantBoundaryPatterns`."""
    tenant = owner(r.props, r.type)
    if tenant is None or tenant == PLATFORM_OWNER:
        return
    boundary = r.get("permissionsBoundary")
    if is_unknown(boundary):
        return  # computed from the baseline's policy resource in the same stack
    if not (isinstance(boundary, str) and any(fnmatchcase(boundary, p) for p in config["tenantBoundaryPatterns"])):
        yield Finding(
            "permissionsBoundary",
            "is absent or not the tenant boundary",
            " or ".join(config["tenantBoundaryPatterns"]),
            "set the tenant permissions boundary",
        )


def _foreign_role(name: str, tenant: str, environment: str | None) -> bool:
    env = environment or "*"
    own = [f"aip-{env}-{tenant}-*", f"aip-{env}-{PLATFORM_OWNER}-*"]
    return name.startswith("aip-") and not any(fnmatchcase(name, pattern) for pattern in own)


@resource_policy(
    "iam-scoped-trust",
    description=(
        "Role trust policies are never public, condition OIDC trust on the service account, and admit no other "
        "tenant's roles."
    ),
    controls=["IAM-4", "EKS-6"],
    severity=CRITICAL,
    remediation=(
        "Trust pods.eks.amazonaws.com (Pod Identity) or the cluster's OIDC provider with StringEquals on :sub = "
        "system:serviceaccount:<tenant>:<sa> and :aud = sts.amazonaws.com; never '*' or another tenant's roles."
    ),
    tokens=[ROLE],
)
def iam_scoped_trust(r: Resource, config: Config) -> Iterator[Outcome]:
    """`assumeRolePolicy` Allow statements: no `*` principal; `Federated` principals need `:sub` and `:aud` conditions,
    `:sub` in the role's tenant namespace; `AWS` role principals belong to the role's tenant or the platform.
    """
    found = statements(r.get("assumeRolePolicy"))
    if is_unknown(found):
        yield Undecided("assumeRolePolicy")
        return
    tenant = owner(r.props, r.type)
    environment = tag(r.props, r.type, "aiplatform:environment")
    for statement in found:
        if not statement.allows:
            continue
        where = f"assumeRolePolicy.Statement[{statement.index}]"
        if statement.public():
            yield Finding(f"{where}.Principal", "is '*'", "named principals", "name the trusted principal")
            continue
        if any(kind == "Federated" for kind, _ in statement.principals):
            keys = statement.condition_keys()
            if not any(k.endswith(":sub") for k in keys) or not any(k.endswith(":aud") for k in keys):
                yield Finding(
                    f"{where}.Condition",
                    "lacks :sub and :aud conditions",
                    "StringEquals on <provider>:sub and :aud",
                    "condition the trust on the service account",
                )
            elif tenant and tenant != PLATFORM_OWNER:
                subjects = [v for k in keys if k.endswith(":sub") for v in statement.condition_values(k)]
                if any(not s.startswith(f"system:serviceaccount:{tenant}:") for s in subjects):
                    yield Finding(
                        f"{where}.Condition",
                        "trusts a service account outside the tenant's namespace",
                        f"system:serviceaccount:{tenant}:<sa>",
                        "trust only the tenant's service accounts",
                    )
        if tenant and tenant != PLATFORM_OWNER:
            for kind, value in statement.principals:
                name = role_name_of(value) if kind == "AWS" else None
                if name and _foreign_role(name, tenant, environment):
                    yield Finding(
                        f"{where}.Principal",
                        f"admits a role outside tenant {shown(tenant, identifier=True)}",
                        "the tenant's or the platform's roles",
                        "remove the foreign principal",
                    )


_HUMAN_ROLES = string_list(
    ["aip-*-platform-platform-admin", "aip-*-platform-break-glass"],
    "Role names (fnmatch) that humans assume (reviewed): the account baseline's platform-admin and break-glass "
    "roles. Their trust requires MFA and admits no service or federated principal.",
)
_MFA_KEY = "aws:multifactorauthpresent"


def _requires_mfa(statement: Statement) -> bool:
    """`Bool` (not `BoolIfExists`, which passes when the key is absent) `aws:MultiFactorAuthPresent` = only "true"."""
    values = [
        value
        for operator, entries in statement.conditions.items()
        if operator == "Bool"
        for key, found in entries.items()
        if key.lower() == _MFA_KEY
        for value in found
    ]
    return bool(values) and all(value.lower() == "true" for value in values)


@resource_policy(
    "iam-human-roles-mfa",
    description="Roles that humans assume require MFA in every trust statement and trust no service or federation.",
    controls=["IAM-4"],
    severity=CRITICAL,
    remediation=(
        "Trust only the operators' IAM principals (AWS), each Allow statement with Condition "
        "{Bool: {aws:MultiFactorAuthPresent: 'true'}}; never a Service or Federated principal on a human role."
    ),
    tokens=[ROLE],
    config={"humanRoleNames": _HUMAN_ROLES},
)
def iam_human_roles_mfa(r: Resource, config: Config) -> Iterator[Outcome]:
    """Roles whose `name` is on `humanRoleNames`: every Allow statement of `assumeRolePolicy` that names an `AWS`
    principal has `Bool` `aws:MultiFactorAuthPresent` = "true" (absent condition = no MFA); no Allow statement names a
    `Service` or `Federated` principal.
    """
    name = r.get("name")
    if is_unknown(name):
        yield Undecided("name")
        return
    if not (isinstance(name, str) and any(fnmatchcase(name, pattern) for pattern in config["humanRoleNames"])):
        return
    found = statements(r.get("assumeRolePolicy"))
    if is_unknown(found):
        yield Undecided("assumeRolePolicy")
        return
    for statement in found:
        if not statement.allows:
            continue
        where = f"assumeRolePolicy.Statement[{statement.index}]"
        kinds = {kind for kind, _ in statement.principals}
        machines = sorted(kinds & {"Service", "Federated"})
        if machines:
            yield Finding(
                f"{where}.Principal",
                f"trusts a {' and a '.join(machines)} principal on a role humans assume",
                "only the operators' AWS principals",
                "move the workload to a role of its own; keep this role for humans with MFA",
            )
        if ("AWS" in kinds or statement.not_principal) and not _requires_mfa(statement):
            yield Finding(
                f"{where}.Condition",
                "does not require MFA (Bool aws:MultiFactorAuthPresent = 'true')",
                "Condition {Bool: {aws:MultiFactorAuthPresent: 'true'}}",
                "add the MFA condition to the statement",
            )


def _policies_of(stack: Stack, resource: Resource) -> list[tuple[Resource, object]]:
    """The policies of a key (its effective one) or a repository (through `repository`)."""
    if resource.type == KEY:
        return key_policies(stack, resource)
    if resource.type == REPOSITORY:
        return [
            (policy, policy.get("policy")) for policy in stack.dependents(resource, "repository", REPOSITORY_POLICY)
        ]
    return []


@stack_policy(
    "single-tenant-nothing-shared",
    description=(
        "In a single-tenant stack every key, role and repository is the tenant's own, and key and repository "
        "policies admit no other owner's roles."
    ),
    controls=["KMS-3", "KMS-5", "REG-5", "IAM-4"],
    severity=CRITICAL,
    remediation=(
        "Create the stack's keys, roles and repositories for its tier single-tenant tenant, and name only that "
        "tenant's roles (aip-<env>-<tenant>-*) and the platform's in their policies."
    ),
    tokens=[KEY, KEY_POLICY, ROLE, REPOSITORY, REPOSITORY_POLICY],
)
def single_tenant_nothing_shared(stack: Stack, config: Config) -> Iterator[Outcome]:
    """In a stack with resources tagged tier `single-tenant`: every `Key`, `Role` and `Repository` belongs (its tags,
    what it configures, or its parent's) to one of those tenants; key policies (a `KeyPolicy` through `keyId`, else
    the inline one) and repository policies (through `repository`) allow no `aip-<env>-<owner>-*` role of another
    owner than that tenant or the platform, whether or not that owner has resources in the stack.
    """
    tenants = {
        tenant for r in stack.resources if tier(r.props, r.type) == SINGLE_TENANT and (tenant := owner(r.props, r.type))
    }
    if not tenants:
        return
    for resource in stack.of(KEY, ROLE, REPOSITORY):
        resource_owner = owner_in_stack(stack, resource)
        if resource_owner is None or resource_owner not in tenants:
            yield Finding(
                "tags.aiplatform:tenant",
                f"is {shown(resource_owner, identifier=True)} in a single-tenant stack",
                f"a tenant of the stack ({', '.join(sorted(tenants))})",
                "create it for the tenant: tier single-tenant shares no key, role or repository, not the platform's",
                resource,
            )
            continue
        environment = tag(resource.props, resource.type, ENVIRONMENT)
        for holder, document in _policies_of(stack, resource):
            found = statements(document)
            if is_unknown(found):
                continue
            for statement in found:
                if not statement.allows:
                    continue
                for kind, value in statement.principals:
                    name = role_name_of(value) if kind == "AWS" else None
                    if name and _foreign_role(name, resource_owner, environment):
                        yield Finding(
                            f"policy.Statement[{statement.index}].Principal",
                            f"names role {shown(name, identifier=True)} of another owner",
                            f"roles of {shown(resource_owner, identifier=True)} or the platform only",
                            "remove the principal: a single-tenant tenant's keys and repositories serve it alone",
                            holder,
                        )
