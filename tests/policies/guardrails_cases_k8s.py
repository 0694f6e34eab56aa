"""Fixture programs for the Kubernetes policies (tenancy, NET-6/7, RBAC, REG-6)."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s
from aiplatform_standards import platform
from guardrails_cases import IMAGE, case, labels

_SAFE = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
}


def _pod_spec(context: dict[str, Any] | None = None, image: str = IMAGE, **spec: Any) -> dict[str, Any]:
    container = {"name": "app", "image": image, "securityContext": {**_SAFE, **(context or {})}}
    return {"automountServiceAccountToken": False, "containers": [container], **spec}


def _meta(name: str, namespace: str = "search", tenant: str = "search") -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": labels(tenant)}


def _deployment(name: str, namespace: str = "search", **pod: Any) -> None:
    template = {"metadata": {"labels": {"app": name}}, "spec": _pod_spec(**pod)}
    k8s.apps.v1.Deployment(
        name, metadata=_meta(name, namespace), spec={"selector": {"matchLabels": {"app": name}}, "template": template}
    )


def _workloads(policy: str, ok: dict[str, Any], bad: dict[str, Any]) -> None:
    """One policy over every workload kind: compliant Pod and Deployment, failing others."""

    @case(policy)
    def program() -> None:
        k8s.core.v1.Pod("ok-pod", metadata=_meta("ok-pod"), spec=_pod_spec(**ok))
        _deployment("ok-deployment", **ok)
        template = {"metadata": {"labels": {"app": "x"}}, "spec": _pod_spec(**bad)}
        selector = {"matchLabels": {"app": "x"}}
        k8s.apps.v1.StatefulSet(
            "bad-statefulset",
            metadata=_meta("s"),
            spec={"selector": selector, "serviceName": "s", "template": template},
        )
        k8s.apps.v1.DaemonSet("bad-daemonset", metadata=_meta("d"), spec={"selector": selector, "template": template})
        k8s.batch.v1.Job(
            "bad-job",
            metadata=_meta("j"),
            spec={"template": {**template, "spec": {**template["spec"], "restartPolicy": "Never"}}},
        )
        job = {"template": {**template, "spec": {**template["spec"], "restartPolicy": "Never"}}}
        k8s.batch.v1.CronJob(
            "bad-cronjob", metadata=_meta("c"), spec={"schedule": "0 * * * *", "jobTemplate": {"spec": job}}
        )
        k8s.core.v1.Pod("bad-pod", metadata=_meta("bad-pod"), spec=_pod_spec(**bad))

    program.__name__ = f"workloads_{policy}"


_workloads("k8s-no-privileged", {}, {"context": {"privileged": True}})
_workloads("k8s-run-as-non-root", {}, {"context": {"runAsNonRoot": None}})
_workloads("k8s-seccomp-profile", {}, {"context": {"seccompProfile": {"type": "Unconfined"}}})
_workloads("k8s-drop-all-capabilities", {}, {"context": {"capabilities": {"add": ["SYS_ADMIN"]}}})
_workloads("k8s-no-host-namespaces", {}, {"hostNetwork": True})
_workloads(
    "k8s-no-host-path",
    {"volumes": [{"name": "tmp", "emptyDir": {}}]},
    {"volumes": [{"name": "h", "hostPath": {"path": "/"}}]},
)
_workloads("k8s-read-only-root-filesystem", {}, {"context": {"readOnlyRootFilesystem": False}})
_workloads("k8s-approved-registries", {}, {"image": "docker.io/library/nginx:latest"})
_workloads(
    "k8s-tolerations-scoped",
    {
        "tolerations": [
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
            {"key": "aiplatform.io/tenant", "operator": "Equal", "value": "search"},
        ]
    },
    {"tolerations": [{"operator": "Exists"}]},
)


@case("k8s-no-host-path")
def _device_plugin_allowlisted() -> None:
    spec = _pod_spec(volumes=[{"name": "dp", "hostPath": {"path": "/var/lib/kubelet/device-plugins"}}])
    template = {"metadata": {"labels": {"app": "dp"}}, "spec": spec}
    k8s.apps.v1.DaemonSet(
        "bad-unlisted-system",
        metadata=_meta("rogue", "kube-system", "platform"),
        spec={"selector": {"matchLabels": {"app": "dp"}}, "template": template},
    )
    k8s.apps.v1.DaemonSet(
        "ok-allowlisted",
        metadata=_meta("nvidia-device-plugin", "kube-system", "platform"),
        spec={"selector": {"matchLabels": {"app": "dp"}}, "template": template},
    )


@case("k8s-tolerations-scoped")
def _tolerations_other_tenant() -> None:
    _deployment(
        "ok-own-pool",
        tolerations=[{"key": "aiplatform.io/tenant", "operator": "Equal", "value": "search", "effect": "NoSchedule"}],
    )
    _deployment(
        "bad-other-pool",
        tolerations=[{"key": "aiplatform.io/tenant", "operator": "Equal", "value": "vision", "effect": "NoSchedule"}],
    )
    _deployment("bad-any-pool", tolerations=[{"key": "aiplatform.io/tenant", "operator": "Exists"}])


@case("k8s-no-token-automount")
def _automount() -> None:
    k8s.core.v1.ServiceAccount("ok-sa", metadata=_meta("api"), automount_service_account_token=False)
    k8s.core.v1.ServiceAccount("absent-bad-sa", metadata=_meta("api2"))
    _deployment("ok-deployment")
    _deployment("bad-deployment", automountServiceAccountToken=True)


def _namespace(name: str, psa: str | None = "restricted", tenant: str | None = None) -> k8s.core.v1.Namespace:
    psa_labels = {f"pod-security.kubernetes.io/{m}": psa for m in ("enforce", "warn", "audit")} if psa else {}
    return k8s.core.v1.Namespace(
        name,
        metadata={
            "name": name.removeprefix("ok-").removeprefix("bad-").removeprefix("absent-"),
            "labels": {**labels(tenant or name.split("-")[-1]), **psa_labels},
        },
    )


@case("namespace-pod-security-restricted")
def _psa() -> None:
    _namespace("ok-search")
    _namespace("bad-vision", psa="baseline")
    _namespace("absent-bad-docs", psa=None)
    k8s.core.v1.Namespace("ok-system", metadata={"name": "kube-system"})


@case("namespace-tenant-label")
def _ns_label() -> None:
    _namespace("ok-search")
    _namespace("bad-vision", tenant="search")


@case("k8s-tenant-objects-not-in-system-namespaces")
def _system_ns() -> None:
    k8s.core.v1.ConfigMap("ok-tenant", metadata=_meta("c"), data={"a": "b"})
    k8s.core.v1.ConfigMap("ok-platform", metadata=_meta("c", "kube-system", "platform"), data={"a": "b"})
    k8s.core.v1.ConfigMap("bad-in-kube-system", metadata=_meta("c", "kube-system"), data={"a": "b"})
    k8s.core.v1.ConfigMap("absent-bad-namespace", metadata={"name": "c", "labels": labels()}, data={"a": "b"})


_HARD = {
    "requests.cpu": "8",
    "requests.memory": "32Gi",
    "pods": "50",
    "requests.nvidia.com/gpu": "0",
    "services.loadbalancers": "0",
    "services.nodeports": "0",
}


@case("resource-quota-complete")
def _quota() -> None:
    k8s.core.v1.ResourceQuota("ok-quota", metadata=_meta("q"), spec={"hard": _HARD})
    k8s.core.v1.ResourceQuota(
        "bad-no-gpu-line", metadata=_meta("q2"), spec={"hard": {k: v for k, v in _HARD.items() if "gpu" not in k}}
    )
    k8s.core.v1.ResourceQuota("bad-lbs", metadata=_meta("q3"), spec={"hard": {**_HARD, "services.loadbalancers": "2"}})
    k8s.core.v1.ResourceQuota(
        "bad-too-many-gpus", metadata=_meta("q4"), spec={"hard": {**_HARD, "requests.nvidia.com/gpu": "64"}}
    )


_LIMITS = [
    {
        "type": "Container",
        "default": {"cpu": "1", "memory": "1Gi"},
        "defaultRequest": {"cpu": "100m"},
        "max": {"cpu": "4", "memory": "16Gi"},
    }
]


@case("limit-range-complete")
def _limit_range() -> None:
    k8s.core.v1.LimitRange("ok-limits", metadata=_meta("l"), spec={"limits": _LIMITS})
    k8s.core.v1.LimitRange(
        "bad-no-max", metadata=_meta("l2"), spec={"limits": [{"type": "Container", "default": {"cpu": "1"}}]}
    )


@case("priority-class-standard")
def _priority() -> None:
    k8s.scheduling.v1.PriorityClass(
        "ok-inference",
        metadata={"name": "production-inference"},
        value=100000,
        preemption_policy="PreemptLowerPriority",
    )
    k8s.scheduling.v1.PriorityClass(
        "ok-experimentation", metadata={"name": "experimentation"}, value=1000, preemption_policy="Never"
    )
    k8s.scheduling.v1.PriorityClass("bad-preempting-experiments", metadata={"name": "experimentation"}, value=1000)
    k8s.scheduling.v1.PriorityClass("bad-vip", metadata={"name": "vip"}, value=900000)


@case("priority-class-ladder")
def _ladder() -> None:
    k8s.scheduling.v1.PriorityClass("ok-inference", metadata={"name": "production-inference"}, value=100000)
    k8s.scheduling.v1.PriorityClass("bad-training-above", metadata={"name": "production-training"}, value=200000)


@case("k8s-no-tenant-load-balancers")
def _services() -> None:
    ports = [{"port": 80}]
    k8s.core.v1.Service("ok-cluster-ip", metadata=_meta("a"), spec={"type": "ClusterIP", "ports": ports})
    k8s.core.v1.Service("absent-ok-type", metadata=_meta("b"), spec={"ports": ports})
    k8s.core.v1.Service("bad-lb", metadata=_meta("c"), spec={"type": "LoadBalancer", "ports": ports})
    k8s.core.v1.Service("bad-node-port", metadata=_meta("d"), spec={"type": "NodePort", "ports": ports})


@case("k8s-network-policy-no-imds")
def _no_imds() -> None:
    spec = {"podSelector": {}, "policyTypes": ["Egress"]}
    k8s.networking.v1.NetworkPolicy(
        "ok-excepted",
        metadata=_meta("a"),
        spec={**spec, "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]}]},
    )
    k8s.networking.v1.NetworkPolicy(
        "bad-open", metadata=_meta("b"), spec={**spec, "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}
    )


_DENY = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
_DNS = {
    "podSelector": {},
    "policyTypes": ["Egress"],
    "egress": [{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}],
}


def _complete_namespace(
    name: str, *, quota: bool = True, limits: bool = True, deny: bool = True, dns: bool = True
) -> None:
    namespace = _namespace(name)
    meta = {"namespace": namespace.metadata.name}
    if quota:
        k8s.core.v1.ResourceQuota(f"quota-of-{name}", metadata=meta, spec={"hard": _HARD})
    if limits:
        k8s.core.v1.LimitRange(f"limits-of-{name}", metadata=meta, spec={"limits": _LIMITS})
    if deny:
        k8s.networking.v1.NetworkPolicy(f"deny-of-{name}", metadata=meta, spec=_DENY)
    if dns:
        k8s.networking.v1.NetworkPolicy(f"dns-of-{name}", metadata=meta, spec=_DNS)


@case("tenant-namespace-quota")
def _ns_quota() -> None:
    _complete_namespace("ok-search")
    _complete_namespace("bad-vision", quota=False)


@case("tenant-namespace-limit-range")
def _ns_limits() -> None:
    _complete_namespace("ok-search")
    _complete_namespace("bad-vision", limits=False)


@case("tenant-namespace-default-deny")
def _ns_deny() -> None:
    _complete_namespace("ok-search")
    _complete_namespace("bad-vision", deny=False)


@case("tenant-namespace-egress-essentials")
def _ns_dns() -> None:
    _complete_namespace("ok-search")
    _complete_namespace("bad-vision", dns=False)


def _binding(name: str, kind: str, role: str, namespace: str = "search") -> None:
    subjects = [{"kind": "ServiceAccount", "name": "api", "namespace": namespace}]
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}
    if kind == "ClusterRoleBinding":
        k8s.rbac.v1.ClusterRoleBinding(name, metadata={"name": name}, role_ref=ref, subjects=subjects)
    else:
        k8s.rbac.v1.RoleBinding(name, metadata=_meta(name, namespace), role_ref=ref, subjects=subjects)


@case("rbac-no-cluster-admin-binding")
def _cluster_admin() -> None:
    _binding("ok-view", "RoleBinding", "view")
    _binding("bad-admin-binding", "ClusterRoleBinding", "cluster-admin")
    _binding("bad-namespace-admin", "RoleBinding", "cluster-admin")


@case("rbac-no-wildcards-or-escalation")
def _rbac_wildcards() -> None:
    k8s.rbac.v1.Role(
        "ok-reader",
        metadata=_meta("r"),
        rules=[{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
    )
    k8s.rbac.v1.Role("bad-star", metadata=_meta("r2"), rules=[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
    k8s.rbac.v1.ClusterRole(
        "bad-escalate",
        metadata={"name": "esc"},
        rules=[
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind", "escalate"]}
        ],
    )


_RBAC = "rbac.authorization.k8s.io"
# The reviewed rules the program builds every tenant's team Role from (standards tenant_team.rules).
_TEAM_RULES: list[dict[str, Any]] = platform()["tenant_team"]["rules"]


def _team_role(name: str, namespace: str, rules: list[dict[str, Any]] | None = None) -> None:
    metadata = {"name": "tenant-team", "namespace": namespace, "labels": labels(namespace)}
    k8s.rbac.v1.Role(name, metadata=metadata, rules=_TEAM_RULES if rules is None else rules)


def _team_binding(
    name: str, namespace: str | None, tenant: str, *, kind: str = "Role", role: str = "tenant-team"
) -> None:
    subjects = [{"apiGroup": _RBAC, "kind": "Group", "name": f"aip:{tenant}:editors"}]
    ref = {"apiGroup": _RBAC, "kind": kind, "name": role}
    if namespace is None:
        k8s.rbac.v1.ClusterRoleBinding(name, metadata={"name": name}, role_ref=ref, subjects=subjects)
    else:
        k8s.rbac.v1.RoleBinding(
            name,
            metadata={"name": name, "namespace": namespace, "labels": labels(tenant)},
            role_ref=ref,
            subjects=subjects,
        )


@case("tenant-team-bound-to-reviewed-role")
def _team_access() -> None:
    _team_role("ok-search-role", "search")
    _team_binding("ok-search-binding", "search", "search")
    # The built-in edit role: it lets the team delete its default-deny NetworkPolicy.
    _team_binding("bad-edit-binding", "search", "search", kind="ClusterRole", role="edit")
    _team_binding("bad-cluster-wide", None, "search", kind="ClusterRole", role="view")
    _team_role("vision-role", "vision")
    _team_binding("bad-in-another-tenants-namespace", "vision", "search")
    wider = [
        *_TEAM_RULES,
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["delete"]},
        {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
    ]
    _team_role("bad-wider-role", "docs", wider)
    _team_binding("docs-binding", "docs", "docs")
    # Bound to a Role of that name the stack does not create: nothing says what it grants.
    _team_binding("bad-role-not-in-stack", "forecasting", "forecasting")
    # Other groups and service accounts are other policies' business.
    k8s.rbac.v1.RoleBinding(
        "ok-other-group",
        metadata=_meta("auditors"),
        role_ref={"apiGroup": _RBAC, "kind": "ClusterRole", "name": "view"},
        subjects=[{"apiGroup": _RBAC, "kind": "Group", "name": "auditors"}],
    )
