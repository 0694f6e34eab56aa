"""Kubernetes objects: pod specs of every workload kind, namespaces, the system allowlist."""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from ai_guardrails.core import Config, Resource
from ai_guardrails.tags import K8S, LABELS
from ai_guardrails.values import is_unknown, items

POD = "kubernetes:core/v1:Pod"
NAMESPACE = "kubernetes:core/v1:Namespace"
SERVICE = "kubernetes:core/v1:Service"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PRIORITY_CLASS = "kubernetes:scheduling.k8s.io/v1:PriorityClass"
RBAC = "kubernetes:rbac.authorization.k8s.io/v1:"
ROLE, CLUSTER_ROLE = RBAC + "Role", RBAC + "ClusterRole"
ROLE_BINDING, CLUSTER_ROLE_BINDING = RBAC + "RoleBinding", RBAC + "ClusterRoleBinding"

# Where each workload kind keeps its pod template's spec.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    POD: ("spec",),
    "kubernetes:apps/v1:Deployment": ("spec", "template", "spec"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template", "spec"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template", "spec"),
    "kubernetes:batch/v1:Job": ("spec", "template", "spec"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
WORKLOADS = tuple(POD_SPEC_PATHS)
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")

# Cluster-scoped kinds never have a namespace; everything else defaults to "default".
_CLUSTER_SCOPED = (
    "kubernetes:core/v1:Namespace",
    "kubernetes:core/v1:Node",
    "kubernetes:core/v1:PersistentVolume",
    PRIORITY_CLASS,
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    "kubernetes:storage.k8s.io/v1:StorageClass",
    "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
    "kubernetes:admissionregistration.k8s.io/v1:",
    "kubernetes:node.k8s.io/v1:RuntimeClass",
    "kubernetes:scheduling.k8s.io/",
    "pulumi:providers:",
    "kubernetes:helm.sh/",
    "kubernetes:yaml:",
    "kubernetes:kustomize:",
)

SYSTEM_NAMESPACES: list[str] = list(K8S["system_namespaces"])
TENANT_LABEL: str = LABELS["tenant"]

SYSTEM_NAMESPACES_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "description": "Namespaces that belong to the platform, never to a tenant.",
    "default": SYSTEM_NAMESPACES,
}
ALLOWLIST_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": (
        "Reviewed platform components in system namespaces that may depart from this policy: "
        "{namespace ('' for cluster-scoped kinds), kind, name (fnmatch), reason, reviewedBy}. "
        "Tenant namespaces never qualify."
    ),
    "items": {
        "type": "object",
        "required": ["namespace", "kind", "name", "reason", "reviewedBy"],
        "properties": {
            "namespace": {"type": "string"},
            "kind": {"type": "string"},
            "name": {"type": "string"},
            "reason": {"type": "string", "minLength": 1},
            "reviewedBy": {"type": "string", "minLength": 1},
        },
    },
    "default": [
        {
            "namespace": "kube-system",
            "kind": "DaemonSet",
            "name": "nvidia-device-plugin*",
            "reason": "The NVIDIA device plugin registers GPUs with the kubelet through a hostPath socket.",
            "reviewedBy": "ml-platform@example.com",
        }
    ],
}


def is_namespaced(token: str) -> bool:
    return token.startswith("kubernetes:") and not token.startswith(_CLUSTER_SCOPED)


def namespace_of(resource: Resource) -> Any:
    """The object's namespace: absent means 'default' (UNKNOWN stays UNKNOWN)."""
    namespace = resource.get("metadata", "namespace")
    if namespace is None:
        return "default"
    return namespace


def object_name(resource: Resource) -> Any:
    return resource.get("metadata", "name")


def is_system(namespace: Any, config: Config) -> bool:
    return isinstance(namespace, str) and namespace in config.get("systemNamespaces", SYSTEM_NAMESPACES)


def allowlisted(resource: Resource, config: Config) -> bool:
    """A reviewed platform component in a system namespace, or cluster-wide (never a tenant object)."""
    if is_namespaced(resource.type):
        namespace = namespace_of(resource)
        if not is_system(namespace, config):
            return False
    else:
        namespace = ""
    kind = resource.type.rsplit(":", 1)[-1]
    name = object_name(resource)
    if not isinstance(name, str):
        return False
    for entry in config.get("systemAllowlist", []):
        if not isinstance(entry, dict) or not entry.get("reason") or not entry.get("reviewedBy"):
            continue
        if (
            entry.get("namespace") == namespace
            and entry.get("kind") == kind
            and fnmatchcase(name, str(entry.get("name")))
        ):
            return True
    return False


def pod_spec(resource: Resource) -> tuple[str, Any]:
    """The path and the pod spec of a workload (None when absent, UNKNOWN when unknown)."""
    path = POD_SPEC_PATHS.get(resource.type, ("spec",))
    return ".".join(path), resource.get(*path)


def containers(spec: Any, spec_path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every container of a pod spec with its property path (unknown entries skipped)."""
    if not isinstance(spec, dict):
        return
    for group in _CONTAINER_LISTS:
        for index, container in enumerate(items(spec.get(group))):
            if isinstance(container, dict):
                yield f"{spec_path}.{group}[{index}]", container


def tenant_of_namespace(namespace: Any) -> str | None:
    """A tenant's namespace is its name (infra naming)."""
    return namespace if isinstance(namespace, str) and not is_unknown(namespace) else None


def workload_applies(resource: Resource, config: Config) -> bool:
    """Workload policies cover every namespace; system ones only through the reviewed allowlist."""
    return not allowlisted(resource, config)
