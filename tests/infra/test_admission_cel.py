"""The tenant-binding ValidatingAdmissionPolicy's CEL, evaluated offline with cel-python.

The expressions come from the resource the component registers (read back from a preflight run),
so these tests judge exactly what the API server would get. The harness does what the API server
does for a ValidatingAdmissionPolicy: match the namespace against the policy's and the binding's
namespace selectors, evaluate the variables in order (each sees the ones before it as
``variables``), then every validation; a false result or an evaluation error (failurePolicy Fail)
denies with that validation's message.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import celpy
import pulumi_kubernetes as k8s
import pytest
from celpy import celtypes
from platform_support import ACCOUNT, REGION, run, settings

from infra.components.admission import TenantAdmissionPolicy, TenantAdmissionPolicyArgs
from preflight import Preview

SETTINGS = settings("prod")
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
PULL_THROUGH = f"{REGISTRY}/ecr-public/"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
# The validations in policy order, by what they guard.
RULES = (
    "tenant-key-exists",
    "tenant-key-value",
    "bare-exists",
    "toleration-keys",
    "node-selector",
    "node-affinity",
    "node-name",
    "images",
    "priority-class",
)


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        provider = k8s.Provider("cluster-k8s", kubeconfig="{}")
        TenantAdmissionPolicy(
            "admission",
            TenantAdmissionPolicyArgs(SETTINGS, "aip-prod", provider),
        )

    return run(body, SETTINGS)


class Policy:
    """The registered policy and binding, evaluated the way the API server evaluates them."""

    def __init__(self, spec: Mapping[str, Any], binding: Mapping[str, Any]) -> None:
        self.spec = spec
        self.binding = binding
        self.env = celpy.Environment()
        self.variables = [(v["name"], self._compile(v["expression"])) for v in spec["variables"]]
        self.validations = [(self._compile(v["expression"]), v["message"]) for v in spec["validations"]]

    def _compile(self, expression: str) -> celpy.Runner:
        return self.env.program(self.env.compile(expression))

    def applies_to(self, namespace: Mapping[str, Any]) -> bool:
        labels = namespace["metadata"].get("labels", {})
        policy_selector = self.spec["matchConstraints"]["namespaceSelector"]
        return selects(policy_selector, labels) and selects(self.binding["matchResources"]["namespaceSelector"], labels)

    def denials(self, pod: Mapping[str, Any], namespace: Mapping[str, Any], operation: str = "CREATE") -> set[str]:
        """The rules that deny ``pod`` in ``namespace`` (empty: admitted)."""
        if not self.applies_to(namespace):
            return set()
        activation: dict[str, Any] = {
            "object": celpy.json_to_cel(pod),
            "namespaceObject": celpy.json_to_cel(namespace),
            "request": celpy.json_to_cel({"operation": operation}),
        }
        computed = celtypes.MapType()
        for name, program in self.variables:
            activation["variables"] = computed
            computed = celtypes.MapType({**computed, celtypes.StringType(name): program.evaluate(activation)})
        activation["variables"] = computed
        denied = set()
        for rule, (program, _message) in zip(RULES, self.validations, strict=True):
            try:
                result = program.evaluate(activation)
            except celpy.CELEvalError:
                result = False
            if result is not True and result != celtypes.BoolType(True):
                denied.add(rule)
        return denied


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against a label set."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        present = key in labels
        matched = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]
        if not matched:
            return False
    return True


@pytest.fixture(scope="module")
def policy(preview: Preview) -> Policy:
    return Policy(
        preview.get(VAP, "admission-policy").inputs["spec"], preview.get(BINDING, "admission-binding").inputs["spec"]
    )


# ---- fixtures -----------------------------------------------------------------------------------------


def namespace(name: str, tenant: str | None = None) -> dict[str, Any]:
    """A namespace as the API server holds it: the name label always, the tenant label when given."""
    labels = {"kubernetes.io/metadata.name": name}
    if tenant is not None:
        labels.update({"aiplatform.io/tenant": tenant, "aiplatform.io/tier": "dedicated-pool"})
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


FRAUD = namespace("fraud", "fraud")
SEARCH = namespace("search", "search")
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
# What the DefaultTolerationSeconds admission plugin adds to every pod.
DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def image(tenant: str, repository: str = "training", tag: str = "1.4.2") -> str:
    return f"{REGISTRY}/prod/{tenant}/{repository}:{tag}"


def pod(
    *,
    images: Sequence[str] = (image("fraud"),),
    tolerations: Sequence[Mapping[str, Any]] = (),
    node_selector: Mapping[str, str] | None = None,
    affinity: Mapping[str, Any] | None = None,
    gpus: int = 0,
    **spec: Any,
) -> dict[str, Any]:
    containers = []
    for index, reference in enumerate(images):
        container: dict[str, Any] = {"name": f"c{index}", "image": reference}
        if gpus:
            container["resources"] = {"limits": {"nvidia.com/gpu": str(gpus)}}
        containers.append(container)
    body: dict[str, Any] = {"containers": containers, "tolerations": [*tolerations, *DEFAULT_TOLERATIONS], **spec}
    if node_selector is not None:
        body["nodeSelector"] = dict(node_selector)
    if affinity is not None:
        body["affinity"] = dict(affinity)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job", "namespace": "fraud"}, "spec": body}


def tenant_toleration(value: str, operator: str = "Equal") -> dict[str, Any]:
    toleration = {"key": "aiplatform.io/tenant", "operator": operator, "effect": "NoSchedule"}
    if operator == "Equal":
        toleration["value"] = value
    return toleration


def own_pool_pod(tenant: str = "fraud", **overrides: Any) -> dict[str, Any]:
    """A training pod that targets its own tenant's dedicated GPU pool the documented way."""
    arguments: dict[str, Any] = {
        "images": (image(tenant),),
        "tolerations": (GPU_TOLERATION, tenant_toleration(tenant)),
        "node_selector": {"aiplatform.io/tenant": tenant, "aiplatform.io/pool": "training"},
        "gpus": 8,
    }
    arguments.update(overrides)
    return pod(**arguments)


def required_affinity(*expressions: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": list(expressions)}]
            }
        }
    }


def preferred_affinity(*expressions: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 50, "preference": {"matchExpressions": list(expressions)}}
            ]
        }
    }


def tenant_expression(operator: str, *values: str) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": "aiplatform.io/tenant", "operator": operator}
    if values:
        expression["values"] = list(values)
    return expression


CASES = [
    # Allowed.
    pytest.param(own_pool_pod(), FRAUD, "CREATE", set(), id="own-pool"),
    pytest.param(own_pool_pod("search"), SEARCH, "CREATE", set(), id="own-pool-other-tenant-in-its-namespace"),
    pytest.param(pod(), FRAUD, "CREATE", set(), id="no-gpu"),
    pytest.param(pod(tolerations=[GPU_TOLERATION], gpus=1), FRAUD, "CREATE", set(), id="gpu-toleration-only"),
    pytest.param(
        own_pool_pod(node_selector=None, affinity=required_affinity(tenant_expression("In", "fraud"))),
        FRAUD,
        "CREATE",
        set(),
        id="own-pool-by-required-affinity",
    ),
    pytest.param(
        own_pool_pod(
            affinity=preferred_affinity({"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["a"]})
        ),
        FRAUD,
        "CREATE",
        set(),
        id="affinity-on-other-labels",
    ),
    pytest.param(
        pod(images=(f"{REGISTRY}/prod/platform/base/python:3.12", f"{PULL_THROUGH}docker/library/busybox:1.36")),
        FRAUD,
        "CREATE",
        set(),
        id="approved-platform-and-pull-through-images",
    ),
    pytest.param(
        own_pool_pod(nodeName="ip-10-40-1-7.ec2.internal"), FRAUD, "UPDATE", set(), id="scheduled-pod-updated"
    ),
    # Another tenant's pool.
    pytest.param(
        own_pool_pod(tolerations=(GPU_TOLERATION, tenant_toleration("search"))),
        FRAUD,
        "CREATE",
        {"tenant-key-value"},
        id="tolerates-other-tenants-pool",
    ),
    pytest.param(
        own_pool_pod(node_selector={"aiplatform.io/tenant": "search"}),
        FRAUD,
        "CREATE",
        {"node-selector"},
        id="selects-other-tenants-pool",
    ),
    pytest.param(
        own_pool_pod(
            tolerations=(GPU_TOLERATION, tenant_toleration("search")),
            node_selector={"aiplatform.io/tenant": "search", "aiplatform.io/pool": "training"},
        ),
        FRAUD,
        "CREATE",
        {"tenant-key-value", "node-selector"},
        id="other-tenants-pool",
    ),
    pytest.param(
        own_pool_pod(node_selector=None, affinity=required_affinity(tenant_expression("In", "search"))),
        FRAUD,
        "CREATE",
        {"node-affinity"},
        id="requires-other-tenant-by-affinity",
    ),
    pytest.param(
        own_pool_pod(node_selector=None, affinity=required_affinity(tenant_expression("In", "fraud", "search"))),
        FRAUD,
        "CREATE",
        {"node-affinity"},
        id="requires-own-or-other-tenant",
    ),
    pytest.param(
        own_pool_pod(affinity=preferred_affinity(tenant_expression("In", "search"))),
        FRAUD,
        "CREATE",
        {"node-affinity"},
        id="prefers-other-tenant",
    ),
    pytest.param(
        own_pool_pod(node_selector=None, affinity=required_affinity(tenant_expression("NotIn", "fraud"))),
        FRAUD,
        "CREATE",
        {"node-affinity"},
        id="requires-any-tenant-but-its-own",
    ),
    pytest.param(
        own_pool_pod(node_selector=None, affinity=required_affinity(tenant_expression("Exists"))),
        FRAUD,
        "CREATE",
        {"node-affinity"},
        id="requires-any-tenant-pool",
    ),
    pytest.param(
        own_pool_pod(nodeName="ip-10-40-9-9.ec2.internal"), FRAUD, "CREATE", {"node-name"}, id="names-its-node"
    ),
    # Exists tolerations.
    pytest.param(
        own_pool_pod(tolerations=(GPU_TOLERATION, tenant_toleration("", "Exists"))),
        FRAUD,
        "CREATE",
        {"tenant-key-exists"},
        id="keyed-exists-on-tenant-key",
    ),
    pytest.param(pod(tolerations=[{"operator": "Exists"}]), FRAUD, "CREATE", {"bare-exists"}, id="bare-exists"),
    pytest.param(
        pod(tolerations=[{"key": "", "operator": "Exists", "effect": "NoSchedule"}]),
        FRAUD,
        "CREATE",
        {"bare-exists"},
        id="bare-exists-with-empty-key",
    ),
    pytest.param(
        pod(tolerations=[{"key": "CriticalAddonsOnly", "operator": "Exists"}]),
        FRAUD,
        "CREATE",
        {"toleration-keys"},
        id="tolerates-system-nodes-taint",
    ),
    # Images.
    pytest.param(pod(images=(image("search"),)), FRAUD, "CREATE", {"images"}, id="other-tenants-image"),
    pytest.param(
        pod(images=(image("fraud"), f"{REGISTRY}/prod/fraud-x/training:1")),
        FRAUD,
        "CREATE",
        {"images"},
        id="tenant-name-prefix-lookalike",
    ),
    pytest.param(
        pod(images=(f"{REGISTRY}/dev/fraud/training:1",)), FRAUD, "CREATE", {"images"}, id="other-environment"
    ),
    pytest.param(pod(images=("docker.io/library/python:3.12",)), FRAUD, "CREATE", {"images"}, id="public-registry"),
    pytest.param(
        pod(images=(f"evil.example/{REGISTRY}/prod/fraud/training:1",)),
        FRAUD,
        "CREATE",
        {"images"},
        id="registry-path-lookalike",
    ),
    pytest.param(
        pod(initContainers=[{"name": "fetch", "image": image("search", "inference")}]),
        FRAUD,
        "CREATE",
        {"images"},
        id="other-tenants-init-container",
    ),
    pytest.param(
        pod(ephemeralContainers=[{"name": "debug", "image": image("search")}]),
        FRAUD,
        "UPDATE",
        {"images"},
        id="other-tenants-ephemeral-container",
    ),
    # Priority classes: the platform's ladder or none; never a system class (they preempt everything).
    pytest.param(pod(priorityClassName="experimentation"), FRAUD, "CREATE", set(), id="platform-priority-class"),
    pytest.param(
        own_pool_pod(priorityClassName="production-inference"), FRAUD, "CREATE", set(), id="own-pool-top-priority-class"
    ),
    pytest.param(pod(priorityClassName=""), FRAUD, "CREATE", set(), id="empty-priority-class"),
    pytest.param(
        pod(priorityClassName="system-node-critical"), FRAUD, "CREATE", {"priority-class"}, id="system-node-critical"
    ),
    pytest.param(
        pod(priorityClassName="system-cluster-critical"),
        FRAUD,
        "CREATE",
        {"priority-class"},
        id="system-cluster-critical",
    ),
    # Everything at once.
    pytest.param(
        own_pool_pod(
            images=(image("search"),),
            tolerations=({"operator": "Exists"}, tenant_toleration("", "Exists"), tenant_toleration("search")),
            node_selector={"aiplatform.io/tenant": "search"},
            affinity=required_affinity(tenant_expression("In", "search")),
            nodeName="ip-10-40-9-9.ec2.internal",
            priorityClassName="system-cluster-critical",
        ),
        FRAUD,
        "CREATE",
        set(RULES) - {"toleration-keys"},
        id="every-escape-at-once",
    ),
]


@pytest.mark.parametrize(("subject", "ns", "operation", "expected"), CASES)
def test_policy_admits_a_tenant_only_to_its_own_pool_and_images(
    policy: Policy, subject: dict[str, Any], ns: dict[str, Any], operation: str, expected: set[str]
) -> None:
    assert policy.denials(subject, ns, operation) == expected


SYSTEM_POD = pod(
    images=(
        "602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/coredns:v1.12.4",
        "nvcr.io/nvidia/k8s-device-plugin:v0.17.1",
    ),
    tolerations=[
        {"operator": "Exists"},
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
        tenant_toleration("", "Exists"),
    ],
    nodeName="ip-10-40-1-7.ec2.internal",
    priorityClassName="system-node-critical",
)


@pytest.mark.parametrize(
    "ns",
    [
        namespace("kube-system"),
        namespace("kube-public"),
        namespace("default"),
        # The platform's own namespace carries the platform's standard labels.
        namespace("aiplatform-system", "platform"),
        # A system namespace is never a tenant's, even if someone labels it.
        namespace("kube-system", "fraud"),
        # Not labelled as a tenant's: not the tenants' policy (Pod Security still applies).
        namespace("scratch"),
    ],
    ids=["kube-system", "kube-public", "default", "platform-namespace", "labelled-system-namespace", "unlabelled"],
)
def test_system_pods_are_out_of_scope(policy: Policy, ns: dict[str, Any]) -> None:
    assert not policy.applies_to(ns)
    assert policy.denials(SYSTEM_POD, ns) == set()


def test_the_same_system_pod_in_a_tenant_namespace_is_denied_on_every_count(policy: Policy) -> None:
    assert policy.denials(SYSTEM_POD, FRAUD) == {
        "bare-exists",
        "toleration-keys",
        "tenant-key-exists",
        "node-name",
        "images",
        "priority-class",
    }


def test_each_tenant_is_admitted_only_to_its_own_pool(policy: Policy) -> None:
    tenants = ("fraud", "search", "vision")
    for owner in tenants:
        for target in tenants:
            subject = own_pool_pod(target)
            subject["spec"]["containers"][0]["image"] = image(owner)
            denied = policy.denials(subject, namespace(owner, owner))
            assert (denied == set()) is (owner == target), (owner, target, denied)


def test_expressions_parse_without_the_optional_syntax(policy: Policy) -> None:
    expressions = [v["expression"] for v in policy.spec["variables"] + policy.spec["validations"]]
    assert len(policy.spec["validations"]) == len(RULES)
    for expression in expressions:
        assert "?." not in expression
        assert ".orValue(" not in expression
    assert [name for name, _ in policy.variables] == [
        "tenant",
        "tolerations",
        "tenantTolerations",
        "nodeSelector",
        "nodeSelectorTerms",
        "images",
    ]


def test_a_pod_without_optional_fields_evaluates_without_errors(policy: Policy) -> None:
    bare = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "m"},
        "spec": {"containers": [{"name": "c", "image": image("fraud")}]},
    }
    assert policy.denials(bare, FRAUD) == set()
    assert policy.denials(copy.deepcopy(bare), namespace("fraud", "fraud")) == set()
