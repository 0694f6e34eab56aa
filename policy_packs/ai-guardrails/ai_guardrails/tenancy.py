"""Tenancy in Kubernetes (CONTROLS F, REG-6, NET-6): namespaces, restricted pods, quotas, tolerations."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from typing import Any

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
    number,
    resource_policy,
    shown,
    stack_policy,
    string_list,
)
from ai_guardrails.kube import (
    ALLOWLIST_SCHEMA,
    LIMIT_RANGE,
    NAMESPACE,
    NETWORK_POLICY,
    PRIORITY_CLASS,
    RESOURCE_QUOTA,
    SERVICE_ACCOUNT,
    SYSTEM_NAMESPACES,
    SYSTEM_NAMESPACES_SCHEMA,
    TENANT_LABEL,
    WORKLOADS,
    allowlisted,
    containers,
    is_namespaced,
    is_system,
    namespace_of,
    object_name,
    pod_spec,
    tenant_of_namespace,
)
from ai_guardrails.tags import K8S, PLATFORM_OWNER, STANDARDS
from ai_guardrails.values import as_bool, as_number, get, is_unknown, items, strings

GPU_RESOURCE: str = K8S["gpu_resource"]
GPU_TAINT: str = K8S["gpu_taint_key"]
TENANT_TAINT: str = K8S["tenant_taint_key"]
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
_PSA_MODES = ("enforce", "warn", "audit")
_WORKLOAD_CONFIG = {"systemNamespaces": SYSTEM_NAMESPACES_SCHEMA, "systemAllowlist": ALLOWLIST_SCHEMA}


def _namespace_name(r: Resource) -> Any:
    return object_name(r)


@resource_policy(
    "namespace-pod-security-restricted",
    description="Tenant namespaces enforce, warn and audit the restricted Pod Security Standard.",
    controls=["TEN-1"],
    severity=HIGH,
    remediation="Label the namespace pod-security.kubernetes.io/enforce, warn and audit = restricted.",
    tokens=[NAMESPACE],
    config={"systemNamespaces": SYSTEM_NAMESPACES_SCHEMA},
)
def namespace_pod_security_restricted(r: Resource, config: Config) -> Iterator[Outcome]:
    """Namespaces other than the system ones have `metadata.labels` `pod-security.kubernetes.io/{enforce,warn,audit}` =
    `restricted`.
    """
    if is_system(_namespace_name(r), config):
        return
    labels = r.get("metadata", "labels")
    if is_unknown(labels):
        yield Undecided("metadata.labels")
        return
    for mode in _PSA_MODES:
        key = f"pod-security.kubernetes.io/{mode}"
        value = get(labels, key)
        if value != "restricted":
            yield Finding(
                f"metadata.labels.{key}",
                f"is {shown(value, ['privileged', 'baseline'])}",
                "'restricted'",
                f"set {key}=restricted",
            )


@resource_policy(
    "namespace-tenant-label",
    description="Tenant namespaces carry the tenant label equal to their name.",
    controls=["AUD-4", "TEN-5"],
    severity=MEDIUM,
    remediation="Label the namespace aiplatform.io/tenant=<namespace name> (a tenant's namespace is its name).",
    tokens=[NAMESPACE],
    config={"systemNamespaces": SYSTEM_NAMESPACES_SCHEMA},
)
def namespace_tenant_label(r: Resource, config: Config) -> Iterator[Outcome]:
    """Non-system namespaces: `metadata.labels[aiplatform.io/tenant]` equals `metadata.name`."""
    name = _namespace_name(r)
    if is_system(name, config) or is_unknown(name):
        return
    label = r.get("metadata", "labels", TENANT_LABEL)
    yield from expect(
        label,
        f"metadata.labels.{TENANT_LABEL}",
        (name,),
        f"the namespace name {shown(name, identifier=True)}",
        "label the namespace with its tenant",
        problem=f"is {shown(label, identifier=True)}",
    )


# --- restricted pod fields (TEN-2): one helper walks every container of every workload kind -----


def _workload_findings(
    r: Resource,
    config: Config,
    check: Callable[[dict[str, Any], dict[str, Any], str], Iterator[Outcome]] | None = None,
    pod_check: Callable[[dict[str, Any], str], Iterator[Outcome]] | None = None,
) -> Iterator[Outcome]:
    """Run a container check (container, pod spec, path) and a pod check over a workload of any kind."""
    if allowlisted(r, config):
        return
    path, spec = pod_spec(r)
    if is_unknown(spec):
        yield Undecided(path)
        return
    if not isinstance(spec, dict):
        return
    if pod_check is not None:
        yield from pod_check(spec, path)
    if check is not None:
        for container_path, container in containers(spec, path):
            yield from check(container, spec, container_path)


def _contexts(container: dict[str, Any], spec: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The container's and the pod's securityContext (empty when absent)."""
    own = container.get("securityContext")
    pod = spec.get("securityContext")
    return (own if isinstance(own, dict) else {}), (pod if isinstance(pod, dict) else {})


def _workload_policy(
    name: str, description: str, remediation: str, controls: list[str] | None = None, severity: Any = HIGH
) -> Callable[[Any], Any]:
    return resource_policy(
        name,
        description=description,
        controls=controls or ["TEN-2"],
        severity=severity,
        remediation=remediation,
        tokens=WORKLOADS,
        config=_WORKLOAD_CONFIG,
        tokens_label="Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob",
    )


@_workload_policy(
    "k8s-no-privileged",
    "Containers are not privileged and cannot escalate privileges.",
    "Set securityContext.privileged=false (or omit it) and allowPrivilegeEscalation=false on every container.",
    severity=CRITICAL,
)
def k8s_no_privileged(r: Resource, config: Config) -> Iterator[Outcome]:
    """Every container (init, regular, ephemeral): `securityContext.privileged` not true; `allowPrivilegeEscalation`
    false (absent = true).
    """

    def check(container: dict[str, Any], spec: dict[str, Any], path: str) -> Iterator[Finding]:
        context, _pod = _contexts(container, spec)
        if as_bool(context.get("privileged")) is True:
            yield Finding(f"{path}.securityContext.privileged", "is true", "false", "remove privileged")
        if as_bool(context.get("allowPrivilegeEscalation")) is not False:
            yield Finding(
                f"{path}.securityContext.allowPrivilegeEscalation",
                "is not false (absent = true)",
                "false",
                "set allowPrivilegeEscalation=false",
            )

    yield from _workload_findings(r, config, check)


@_workload_policy(
    "k8s-run-as-non-root",
    "Containers run as a non-root user.",
    "Set securityContext.runAsNonRoot=true on the pod or every container, and never runAsUser 0.",
)
def k8s_run_as_non_root(r: Resource, config: Config) -> Iterator[Outcome]:
    """Every container: `runAsNonRoot` true (container, else pod level); `runAsUser` not 0."""

    def check(container: dict[str, Any], spec: dict[str, Any], path: str) -> Iterator[Finding]:
        context, pod = _contexts(container, spec)
        non_root = context.get("runAsNonRoot", pod.get("runAsNonRoot"))
        if as_bool(non_root) is not True:
            yield Finding(
                f"{path}.securityContext.runAsNonRoot",
                "is not true (absent = may run as root)",
                "true",
                "set runAsNonRoot=true",
            )
        user = as_number(context.get("runAsUser", pod.get("runAsUser")))
        if user == 0:
            yield Finding(
                f"{path}.securityContext.runAsUser", "is 0 (root)", "a non-zero user id", "run as a non-root user"
            )

    yield from _workload_findings(r, config, check)


@_workload_policy(
    "k8s-seccomp-profile",
    "Containers run under the RuntimeDefault or a Localhost seccomp profile.",
    "Set securityContext.seccompProfile={type: RuntimeDefault} on the pod or every container.",
)
def k8s_seccomp_profile(r: Resource, config: Config) -> Iterator[Outcome]:
    """Every container: `seccompProfile.type` (container, else pod level) is `RuntimeDefault` or `Localhost` (absent =
    Unconfined).
    """

    def check(container: dict[str, Any], spec: dict[str, Any], path: str) -> Iterator[Finding]:
        context, pod = _contexts(container, spec)
        profile = context.get("seccompProfile") or pod.get("seccompProfile")
        kind = get(profile, "type")
        if kind not in ("RuntimeDefault", "Localhost"):
            yield Finding(
                f"{path}.securityContext.seccompProfile.type",
                f"is {shown(kind, ['Unconfined'])} (absent = Unconfined)",
                "'RuntimeDefault'",
                "set seccompProfile.type=RuntimeDefault",
            )

    yield from _workload_findings(r, config, check)


@_workload_policy(
    "k8s-drop-all-capabilities",
    "Containers drop all Linux capabilities and add none but NET_BIND_SERVICE.",
    "Set securityContext.capabilities={drop: ['ALL']} and add nothing beyond NET_BIND_SERVICE.",
)
def k8s_drop_all_capabilities(r: Resource, config: Config) -> Iterator[Outcome]:
    """Every container: `capabilities.drop` contains `ALL`; `capabilities.add` holds at most `NET_BIND_SERVICE`."""

    def check(container: dict[str, Any], spec: dict[str, Any], path: str) -> Iterator[Finding]:
        context, _pod = _contexts(container, spec)
        capabilities = context.get("capabilities")
        if "ALL" not in strings(get(capabilities, "drop")):
            yield Finding(
                f"{path}.securityContext.capabilities.drop",
                "does not contain 'ALL'",
                "['ALL']",
                "drop ALL capabilities",
            )
        added = [c for c in strings(get(capabilities, "add")) if c != "NET_BIND_SERVICE"]
        if added:
            yield Finding(
                f"{path}.securityContext.capabilities.add",
                "adds capabilities beyond NET_BIND_SERVICE",
                "nothing, or NET_BIND_SERVICE",
                "remove the added capabilities",
            )

    yield from _workload_findings(r, config, check)


@_workload_policy(
    "k8s-no-host-namespaces",
    "Pods do not share the node's network, PID or IPC namespaces.",
    "Remove hostNetwork, hostPID and hostIPC from the pod spec.",
    severity=CRITICAL,
)
def k8s_no_host_namespaces(r: Resource, config: Config) -> Iterator[Outcome]:
    """Pod spec `hostNetwork`, `hostPID`, `hostIPC` are not true; containers declare no `hostPort`."""

    def pod_check(spec: dict[str, Any], path: str) -> Iterator[Finding]:
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if as_bool(spec.get(flag)) is True:
                yield Finding(f"{path}.{flag}", "is true", "false or absent", f"remove {flag}")

    def check(container: dict[str, Any], spec: dict[str, Any], path: str) -> Iterator[Finding]:
        for index, port in enumerate(items(container.get("ports"))):
            if get(port, "hostPort") not in (None, 0):
                yield Finding(f"{path}.ports[{index}].hostPort", "is set", "absent", "remove hostPort")

    yield from _workload_findings(r, config, check, pod_check)


@_workload_policy(
    "k8s-no-host-path",
    "Pods mount no hostPath volumes.",
    (
        "Replace hostPath volumes with emptyDir, a PVC or a CSI volume; platform agents that need one go on the "
        "reviewed allowlist."
    ),
    severity=CRITICAL,
)
def k8s_no_host_path(r: Resource, config: Config) -> Iterator[Outcome]:
    """Pod spec `volumes[]` have no `hostPath`."""

    def pod_check(spec: dict[str, Any], path: str) -> Iterator[Finding]:
        for index, volume in enumerate(items(spec.get("volumes"))):
            if get(volume, "hostPath") is not None:
                yield Finding(
                    f"{path}.volumes[{index}].hostPath", "is set", "no hostPath volume", "use emptyDir, a PVC or CSI"
                )

    yield from _workload_findings(r, config, pod_check=pod_check)


@_workload_policy(
    "k8s-read-only-root-filesystem",
    "Containers mount their root filesystem read-only.",
    "Set securityContext.readOnlyRootFilesystem=true and mount emptyDir volumes where the process writes.",
    severity=MEDIUM,
)
def k8s_read_only_root_filesystem(r: Resource, config: Config) -> Iterator[Outcome]:
    """Every container: `securityContext.readOnlyRootFilesystem` true (absent = false)."""

    def check(container: dict[str, Any], spec: dict[str, Any], path: str) -> Iterator[Finding]:
        context, _pod = _contexts(container, spec)
        if as_bool(context.get("readOnlyRootFilesystem")) is not True:
            yield Finding(
                f"{path}.securityContext.readOnlyRootFilesystem",
                "is not true (absent = false)",
                "true",
                "set readOnlyRootFilesystem=true",
            )

    yield from _workload_findings(r, config, check)


@resource_policy(
    "k8s-approved-registries",
    description="Workload images come from the tenant's own ECR repositories or the platform's pull-through caches.",
    controls=["REG-6"],
    severity=HIGH,
    remediation=(
        "Push the image to <account>.dkr.ecr.<region>.amazonaws.com/<env>/<tenant>/… or pull through a cache prefix"
        " on the allowlist."
    ),
    tokens=WORKLOADS,
    tokens_label="Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob",
    config={
        **_WORKLOAD_CONFIG,
        "allowedImages": string_list(
            ["*.dkr.ecr.*.amazonaws.com/*/{tenant}/*", "*.dkr.ecr.*.amazonaws.com/ecr-public/*"],
            "Image patterns (fnmatch); {tenant} is the workload's namespace.",
        ),
    },
)
def k8s_approved_registries(r: Resource, config: Config) -> Iterator[Outcome]:
    """Every container `image` matches an `allowedImages` pattern, `{tenant}` replaced by the workload's namespace."""
    tenant = tenant_of_namespace(namespace_of(r)) or "*"
    patterns = [p.replace("{tenant}", tenant) for p in config["allowedImages"]]

    def check(container: dict[str, Any], spec: dict[str, Any], path: str) -> Iterator[Outcome]:
        image = container.get("image")
        if is_unknown(image):
            yield Undecided(f"{path}.image")
        elif not (isinstance(image, str) and any(fnmatchcase(image, p) for p in patterns)):
            yield Finding(
                f"{path}.image",
                "is not from an approved registry",
                " or ".join(patterns),
                "use the tenant's ECR repository or a pull-through cache",
            )

    yield from _workload_findings(r, config, check)


def _toleration_problem(toleration: dict[str, Any], tenant: str | None) -> str | None:
    key = toleration.get("key")
    operator = toleration.get("operator", "Equal")
    if key in (None, ""):
        return "tolerates every taint (operator Exists without a key)" if operator == "Exists" else "has no key"
    if not isinstance(key, str):
        return None
    if key == GPU_TAINT or key.startswith("node.kubernetes.io/"):
        return None
    if key == TENANT_TAINT:
        if operator == "Exists":
            return "tolerates every tenant's pool (operator Exists on the tenant key)"
        if toleration.get("value") != tenant:
            return "tolerates another tenant's pool"
        return None
    return "tolerates a taint outside the allowed keys"


@resource_policy(
    "k8s-tolerations-scoped",
    description="Tenant pods tolerate only the GPU taint, Kubernetes' own node taints and their own tenant taint.",
    controls=["TEN-7", "NODE-6"],
    severity=CRITICAL,
    remediation=(
        "Keep tolerations to nvidia.com/gpu, node.kubernetes.io/* and aiplatform.io/tenant=<own namespace> with "
        "operator Equal."
    ),
    tokens=WORKLOADS,
    tokens_label="Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob",
    config=_WORKLOAD_CONFIG,
)
def k8s_tolerations_scoped(r: Resource, config: Config) -> Iterator[Outcome]:
    """Pod spec `tolerations[]`: keys `nvidia.com/gpu`, `node.kubernetes.io/*`, or `aiplatform.io/tenant` with operator
    `Equal` and the namespace's tenant as value; never `Exists` without a key.
    """
    if allowlisted(r, config):
        return
    path, spec = pod_spec(r)
    tolerations = get(spec, "tolerations")
    if is_unknown(tolerations):
        yield Undecided(f"{path}.tolerations")
        return
    tenant = tenant_of_namespace(namespace_of(r))
    for index, toleration in enumerate(items(tolerations)):
        if not isinstance(toleration, dict):
            continue
        problem = _toleration_problem(toleration, tenant)
        if problem:
            yield Finding(
                f"{path}.tolerations[{index}]",
                problem,
                f"{GPU_TAINT}, node.kubernetes.io/*, or {TENANT_TAINT}={tenant or '<tenant>'}",
                "remove or narrow the toleration",
            )


@resource_policy(
    "k8s-no-token-automount",
    description="Service accounts and pods do not mount API tokens unless the workload is reviewed to need one.",
    controls=["TEN-6"],
    severity=MEDIUM,
    remediation="Set automountServiceAccountToken=false on the ServiceAccount and leave it unset (or false) on pods.",
    tokens=[SERVICE_ACCOUNT, *WORKLOADS],
    tokens_label="ServiceAccount, Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob",
    config=_WORKLOAD_CONFIG,
)
def k8s_no_token_automount(r: Resource, config: Config) -> Iterator[Outcome]:
    """ServiceAccounts: `automountServiceAccountToken` false (absent = true); workloads: pod spec
    `automountServiceAccountToken` not true.
    """
    if allowlisted(r, config):
        return
    if r.type == SERVICE_ACCOUNT:
        yield from expect(
            as_bool(r.get("automountServiceAccountToken")),
            "automountServiceAccountToken",
            (False,),
            "false",
            "set automountServiceAccountToken=false",
            absent="true",
        )
        return
    path, spec = pod_spec(r)
    if as_bool(get(spec, "automountServiceAccountToken")) is True:
        yield Finding(
            f"{path}.automountServiceAccountToken",
            "is true",
            "false or absent",
            "remove it, or add the workload to the reviewed allowlist",
        )


@resource_policy(
    "k8s-tenant-objects-not-in-system-namespaces",
    description="Objects in default and system namespaces belong to the platform, never to a tenant.",
    controls=["TEN-5"],
    severity=HIGH,
    remediation=(
        "Create tenant objects in the tenant's namespace (metadata.namespace=<tenant>), never in default or "
        "kube-system."
    ),
    tokens=[],
    tokens_label="every namespaced kubernetes:* object",
    predicate=is_namespaced,
    config={"systemNamespaces": SYSTEM_NAMESPACES_SCHEMA},
)
def k8s_tenant_objects_not_in_system_namespaces(r: Resource, config: Config) -> Iterator[Outcome]:
    """Namespaced objects whose `metadata.namespace` is a system namespace (absent = `default`) are labelled
    `aiplatform.io/tenant=platform`.
    """
    namespace = namespace_of(r)
    if is_unknown(namespace) or not is_system(namespace, config):
        return
    label = r.get("metadata", "labels", TENANT_LABEL)
    if is_unknown(label):
        yield Undecided(f"metadata.labels.{TENANT_LABEL}")
    elif label != PLATFORM_OWNER:
        yield Finding(
            "metadata.namespace",
            f"is {shown(namespace, identifier=True)} for an object not owned by the platform",
            "the tenant's own namespace",
            "set metadata.namespace to the tenant's namespace",
        )


def _quantity_zero(value: Any) -> bool:
    return str(value).strip() in ("0", "0.0")


@resource_policy(
    "resource-quota-complete",
    description="Tenant resource quotas cap CPU, memory, pods and GPUs, and forbid load balancers and node ports.",
    controls=["TEN-3", "NET-7", "COST-2"],
    severity=HIGH,
    remediation=(
        "Set spec.hard with requests.cpu, requests.memory, pods, requests.nvidia.com/gpu (0 when none), "
        "services.loadbalancers: 0 and services.nodeports: 0."
    ),
    tokens=[RESOURCE_QUOTA],
    config={
        "systemNamespaces": SYSTEM_NAMESPACES_SCHEMA,
        "maxGpusPerTenant": {
            "type": "integer",
            "minimum": 0,
            "default": 32,
            "description": "Ceiling on any tenant's GPU quota.",
        },
    },
)
def resource_quota_complete(r: Resource, config: Config) -> Iterator[Outcome]:
    """Quotas outside system namespaces: `spec.hard` has cpu, memory, `pods`, `requests.nvidia.com/gpu` (≤
    `maxGpusPerTenant`), and `services.loadbalancers` = `services.nodeports` = 0.
    """
    if is_system(namespace_of(r), config):
        return
    hard = r.get("spec", "hard")
    if is_unknown(hard):
        yield Undecided("spec.hard")
        return
    hard = hard if isinstance(hard, dict) else {}
    for label, keys in (
        ("cpu", ("requests.cpu", "limits.cpu", "cpu")),
        ("memory", ("requests.memory", "limits.memory", "memory")),
        ("pods", ("pods",)),
        ("GPUs", (f"requests.{GPU_RESOURCE}",)),
    ):
        if not any(key in hard for key in keys):
            yield Finding(
                f"spec.hard.{keys[0]}", f"is absent (no {label} cap)", f"a {label} limit (0 for none)", f"add {keys[0]}"
            )
    gpus = as_number(hard.get(f"requests.{GPU_RESOURCE}"))
    if isinstance(gpus, float) and gpus > config["maxGpusPerTenant"]:
        yield Finding(
            f"spec.hard.requests.{GPU_RESOURCE}",
            "exceeds the per-tenant GPU ceiling",
            f"≤ {number(config['maxGpusPerTenant'])}",
            "lower the tenant's GPU quota",
        )
    for key in ("services.loadbalancers", "services.nodeports"):
        if not _quantity_zero(hard.get(key)):
            yield Finding(f"spec.hard.{key}", "is not 0 (absent = unlimited)", "'0'", f"set {key}: '0'")


@resource_policy(
    "limit-range-complete",
    description="Tenant limit ranges give containers default and maximum limits.",
    controls=["TEN-4"],
    severity=MEDIUM,
    remediation="Add spec.limits=[{type: 'Container', default: {...}, defaultRequest: {...}, max: {...}}].",
    tokens=[LIMIT_RANGE],
    config={"systemNamespaces": SYSTEM_NAMESPACES_SCHEMA},
)
def limit_range_complete(r: Resource, config: Config) -> Iterator[Outcome]:
    """Limit ranges outside system namespaces have a `Container` entry in `spec.limits` with `default` and `max`."""
    if is_system(namespace_of(r), config):
        return
    limits = r.get("spec", "limits")
    if is_unknown(limits):
        yield Undecided("spec.limits")
        return
    entries = [e for e in items(limits) if get(e, "type") == "Container"]
    if not entries:
        yield Finding("spec.limits", "has no Container entry", "a Container entry with default and max", "add one")
    for index, entry in enumerate(entries):
        for key in ("default", "max"):
            if not get(entry, key):
                yield Finding(f"spec.limits[{index}].{key}", "is absent", "CPU and memory values", f"set {key}")


_PRIORITY = {entry["name"]: entry for entry in STANDARDS["priority_classes"]}
_LOWEST = min(entry["value"] for entry in STANDARDS["priority_classes"])


@resource_policy(
    "priority-class-standard",
    description=(
        "Priority classes follow the platform ladder: inference over training over preemptible experimentation."
    ),
    controls=["TEN-8"],
    severity=MEDIUM,
    remediation=(
        "Use the standard priority classes (platform.yaml priority_classes) with their values and preemption policies."
    ),
    tokens=[PRIORITY_CLASS],
)
def priority_class_standard(r: Resource, config: Config) -> Iterator[Outcome]:
    """Standard classes have their `value` and `preemptionPolicy` (experimentation `Never`); other classes stay below
    experimentation and are not `globalDefault`.
    """
    name = object_name(r)
    value = as_number(r.get("value"))
    if is_unknown(name) or is_unknown(value):
        yield Undecided("value")
        return
    standard = _PRIORITY.get(name) if isinstance(name, str) else None
    if standard is None:
        if isinstance(value, float) and value >= _LOWEST:
            yield Finding(
                "value",
                "outranks the platform's experimentation class",
                f"< {_LOWEST}",
                "use a standard class or a lower value",
            )
        if as_bool(r.get("globalDefault")) is True:
            yield Finding("globalDefault", "is true on a non-standard class", "false", "remove globalDefault")
        return
    if value != standard["value"]:
        yield Finding(
            "value", "differs from the platform ladder", str(standard["value"]), f"set value={standard['value']}"
        )
    preemption = r.get("preemptionPolicy") or "PreemptLowerPriority"
    if preemption != standard["preemption"]:
        yield Finding(
            "preemptionPolicy",
            f"is {shown(preemption, ['Never', 'PreemptLowerPriority'])}",
            f"'{standard['preemption']}'",
            f"set preemptionPolicy={standard['preemption']}",
        )


# --- namespace completeness (stack) -----------------------------------------------------------


def tenant_namespaces(stack: Stack, config: Config) -> list[tuple[Resource, str | None]]:
    """Every non-system Namespace with its name (None when the name is unknown in this preview)."""
    system = config.get("systemNamespaces", SYSTEM_NAMESPACES)
    found = []
    for namespace in stack.of(NAMESPACE):
        name = object_name(namespace)
        if isinstance(name, str) and name in system:
            continue
        found.append((namespace, name if isinstance(name, str) else None))
    return found


def in_namespace(stack: Stack, namespace: Resource, name: str | None, *tokens: str) -> list[Resource]:
    """Objects placed in a namespace, through a dependency on it or its literal name."""
    return [
        obj
        for obj in stack.of(*tokens)
        if namespace.urn in obj.property_dependencies.get("metadata", ())
        or (name is not None and obj.get("metadata", "namespace") == name)
    ]


def _default_deny(policy: Resource) -> bool:
    selector = policy.get("spec", "podSelector")
    types = set(strings(policy.get("spec", "policyTypes")))
    empty = selector is None or (isinstance(selector, dict) and not any(selector.values()))
    return (
        empty
        and {"Ingress", "Egress"} <= types
        and not items(policy.get("spec", "ingress"))
        and not items(policy.get("spec", "egress"))
    )


def _allows_egress(policy: Resource, port: int, cidr: str | None = None) -> bool:
    for rule in items(policy.get("spec", "egress")):
        ports = [as_number(get(p, "port")) for p in items(get(rule, "ports"))]
        if ports and float(port) not in ports:
            continue
        if cidr is None:
            return True
        if any(get(peer, "ipBlock", "cidr") == cidr for peer in items(get(rule, "to"))):
            return True
    return False


_NS_CONFIG = {"systemNamespaces": SYSTEM_NAMESPACES_SCHEMA}


@stack_policy(
    "tenant-namespace-quota",
    description="Every tenant namespace has a resource quota with a GPU line.",
    controls=["TEN-3", "NET-7"],
    severity=HIGH,
    remediation=(
        "Create a ResourceQuota in the namespace with cpu, memory, pods and requests.nvidia.com/gpu (0 when none)."
    ),
    tokens=[NAMESPACE, RESOURCE_QUOTA],
    config=_NS_CONFIG,
)
def tenant_namespace_quota(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each tenant `Namespace` holds (by dependency or name) a `ResourceQuota` whose `spec.hard` has
    `requests.nvidia.com/gpu`.
    """
    for namespace, name in tenant_namespaces(stack, config):
        quotas = in_namespace(stack, namespace, name, RESOURCE_QUOTA)
        if not any(
            isinstance(q.get("spec", "hard"), dict) and f"requests.{GPU_RESOURCE}" in q.get("spec", "hard")
            for q in quotas
        ):
            yield Finding(
                "(resource quota)",
                "is missing or has no GPU line",
                f"a ResourceQuota with requests.{GPU_RESOURCE}",
                "add the quota",
                namespace,
            )


@stack_policy(
    "tenant-namespace-limit-range",
    description="Every tenant namespace has a LimitRange.",
    controls=["TEN-4"],
    severity=MEDIUM,
    remediation="Create a LimitRange in the namespace with Container default and max.",
    tokens=[NAMESPACE, LIMIT_RANGE],
    config=_NS_CONFIG,
)
def tenant_namespace_limit_range(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each tenant `Namespace` holds (by dependency or name) a `LimitRange`."""
    for namespace, name in tenant_namespaces(stack, config):
        if not in_namespace(stack, namespace, name, LIMIT_RANGE):
            yield Finding("(limit range)", "is missing", "a LimitRange", "add the LimitRange", namespace)


@stack_policy(
    "tenant-namespace-default-deny",
    description="Every tenant namespace has a default-deny ingress and egress network policy.",
    controls=["NET-6"],
    severity=CRITICAL,
    remediation=(
        "Create a NetworkPolicy with podSelector {} and policyTypes [Ingress, Egress] and no rules in the namespace."
    ),
    tokens=[NAMESPACE, NETWORK_POLICY],
    config=_NS_CONFIG,
)
def tenant_namespace_default_deny(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each tenant `Namespace` holds a `NetworkPolicy` with an empty `spec.podSelector`, `policyTypes` ⊇ {Ingress,
    Egress} and no rules.
    """
    for namespace, name in tenant_namespaces(stack, config):
        if not any(_default_deny(p) for p in in_namespace(stack, namespace, name, NETWORK_POLICY)):
            yield Finding(
                "(network policies)",
                "have no default deny",
                "podSelector {} with policyTypes [Ingress, Egress]",
                "add the default-deny policy",
                namespace,
            )


@stack_policy(
    "tenant-namespace-egress-essentials",
    description="Tenant namespaces allow DNS egress, and the Pod Identity agent where Pod Identity is used.",
    controls=["NET-6"],
    severity=MEDIUM,
    remediation=(
        "Add a NetworkPolicy allowing egress to port 53 (kube-dns) and, with Pod Identity, to 169.254.170.23/32 "
        "port 80."
    ),
    tokens=[NAMESPACE, NETWORK_POLICY, POD_IDENTITY],
    config=_NS_CONFIG,
)
def tenant_namespace_egress_essentials(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each tenant `Namespace` has a `NetworkPolicy` egress rule to port 53; where a `PodIdentityAssociation` names the
    namespace, one to `169.254.170.23/32` port 80.
    """
    agent = K8S["pod_identity_agent_cidr"]
    identity_namespaces = {ns for a in stack.of(POD_IDENTITY) if isinstance(ns := a.get("namespace"), str)}
    for namespace, name in tenant_namespaces(stack, config):
        policies = in_namespace(stack, namespace, name, NETWORK_POLICY)
        if not any(_allows_egress(p, 53) for p in policies):
            yield Finding(
                "(network policies)",
                "allow no DNS egress",
                "egress to port 53",
                "allow DNS egress to kube-dns",
                namespace,
            )
        if name in identity_namespaces and not any(_allows_egress(p, 80, agent) for p in policies):
            yield Finding(
                "(network policies)",
                "do not reach the Pod Identity agent",
                f"egress to {agent} port 80",
                "allow the agent address",
                namespace,
            )


@stack_policy(
    "priority-class-ladder",
    description="The stack's priority classes keep inference above training above experimentation.",
    controls=["TEN-8"],
    severity=MEDIUM,
    remediation="Give production-inference the highest value, then production-training, then experimentation.",
    tokens=[PRIORITY_CLASS],
)
def priority_class_ladder(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Among declared standard `PriorityClass`es, values strictly decrease in the order
    production-inference, production-training, experimentation.
    """
    order = [entry["name"] for entry in STANDARDS["priority_classes"]]
    present: list[tuple[str, Resource, float]] = []
    for name in order:
        for candidate in stack.of(PRIORITY_CLASS):
            value = as_number(candidate.get("value"))
            if object_name(candidate) == name and isinstance(value, float):
                present.append((name, candidate, value))
    for (higher, _, high_value), (lower, resource, low_value) in itertools.pairwise(present):
        if low_value >= high_value:
            yield Finding(
                "value", f"of {lower} is not below {higher}", f"< {int(high_value)}", "restore the ladder", resource
            )


__all__ = ["in_namespace", "is_namespaced", "tenant_namespaces"]
