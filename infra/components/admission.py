"""Admission-time binding of tenants to their nodes, images and priority classes (NODE-6, TEN-7, TEN-8, REG-6).

A taint is a hint, not a boundary: any pod may tolerate it. This ValidatingAdmissionPolicy makes
the dedicated GPU pools a boundary. For every pod created or updated in a tenant namespace (a
namespace labelled ``aiplatform.io/tenant``, other than the platform's and the system ones), the
tenant is the namespace's label (tenants cannot edit their Namespace object), and the API server
denies a pod that:

- tolerates the ``aiplatform.io/tenant`` taint with operator ``Exists``, or with a value other
  than its own tenant;
- tolerates everything (operator ``Exists`` without a key); the keyed ``node.kubernetes.io/*``
  tolerations Kubernetes adds itself stay allowed;
- tolerates any other taint key than ``nvidia.com/gpu``, ``node.kubernetes.io/*`` and the tenant
  key (TEN-7: other taints mark nodes tenants do not use, such as the system nodes');
- selects or requires (``nodeSelector``, required or preferred node affinity) the
  ``aiplatform.io/tenant`` node label with any other value than its own tenant;
- names its node itself (``spec.nodeName`` at creation), which skips the scheduler and with it
  every taint;
- runs an image (containers, init and ephemeral containers) outside its tenant's repository
  prefix in the platform's registry and the approved platform prefixes. This also closes tier A's
  gap: a shared node's kubelet can pull any tenant's image with the node role;
- names a priority class other than the platform's (the standards' ``priority_classes``, TEN-8).
  Every cluster also has ``system-node-critical`` and ``system-cluster-critical``, which no quota
  or role keeps a tenant from naming: its pods would preempt the platform's and other tenants'
  pods (found by the real API server: tests/kube).

The CEL lives only in ``policy_spec``; the component registers exactly that spec and the tests
evaluate exactly those expressions with cel-python. cel-python 0.5 does not parse the optional
syntax (``?.``, ``.orValue()``), so every optional field is guarded with ``has()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_kubernetes as k8s
from aiplatform_standards import platform

from infra import naming
from infra.config import BaselineConfig, Settings
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:admission:TenantAdmissionPolicy"

_KUBERNETES = platform()["kubernetes"]
TENANT_LABEL: str = _KUBERNETES["labels"]["tenant"]
TENANT_TAINT: str = _KUBERNETES["tenant_taint_key"]
GPU_TAINT: str = _KUBERNETES["gpu_taint_key"]
SYSTEM_NAMESPACES: tuple[str, ...] = tuple(_KUBERNETES["system_namespaces"])
# The classes tenant pods may name (priority_classes.py creates them from the same rows).
TENANT_PRIORITY_CLASSES: tuple[str, ...] = tuple(row["name"] for row in platform()["priority_classes"])
# Taints the node lifecycle controller sets; Kubernetes itself adds tolerations for some of them.
NODE_LIFECYCLE_TAINT_PREFIX = "node.kubernetes.io/"
POLICY_NAME = "aiplatform-tenant-binding"
# Names the EKS cluster the objects guard; its value comes from the cluster resource, so the policy
# pack can join the policy to the cluster whose dedicated pools it binds.
CLUSTER_ANNOTATION = "aiplatform.io/cluster"
# The well-known label every namespace carries with its own name.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def registry_host(settings: Settings) -> str:
    """The platform account's private ECR registry in the stack's region."""
    suffix = "amazonaws.com.cn" if settings.partition == "aws-cn" else "amazonaws.com"
    return f"{settings.account_id}.dkr.ecr.{settings.region}.{suffix}"


def _cel_string(value: str) -> str:
    """A CEL string literal (the values are label keys and registry paths: no quotes to escape)."""
    if "'" in value or "\\" in value:
        raise ValueError(f"{value!r} cannot be a CEL string literal here")
    return f"'{value}'"


def _cel_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_cel_string(value) for value in values) + "]"


def tenant_namespace_selector() -> dict[str, Any]:
    """Tenant namespaces: labelled with a tenant that is not the platform, and not a system namespace."""
    return {
        "matchExpressions": [
            {"key": TENANT_LABEL, "operator": "Exists"},
            {"key": TENANT_LABEL, "operator": "NotIn", "values": [PLATFORM]},
            {"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": list(SYSTEM_NAMESPACES)},
        ]
    }


def policy_spec(*, registry: str, environment: str, approved_prefixes: Sequence[str]) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy's spec (camelCase, as the API server and the policy pack see it).

    ``registry`` is the platform's ECR host; a tenant's images live under
    ``<registry>/<environment>/<tenant>/`` (``naming.repository_prefix``). ``approved_prefixes``
    are full image prefixes any tenant may run (the platform's own repositories, pull-through
    caches).
    """
    tenant_image_prefix = f"{_cel_string(f'{registry}/{environment}/')} + variables.tenant + '/'"
    affinity = "object.spec.affinity"
    node_affinity = f"{affinity}.nodeAffinity"
    required = f"{node_affinity}.requiredDuringSchedulingIgnoredDuringExecution"
    preferred = f"{node_affinity}.preferredDuringSchedulingIgnoredDuringExecution"
    has_node_affinity = f"has({affinity}) && has({node_affinity})"
    labels, tenant_label = "namespaceObject.metadata.labels", _cel_string(TENANT_LABEL)
    variables = [
        {
            "name": "tenant",
            "expression": f"has({labels}) && {tenant_label} in {labels} ? {labels}[{tenant_label}] : ''",
        },
        {"name": "tolerations", "expression": "has(object.spec.tolerations) ? object.spec.tolerations : []"},
        {
            "name": "tenantTolerations",
            "expression": f"variables.tolerations.filter(t, has(t.key) && t.key == {_cel_string(TENANT_TAINT)})",
        },
        {"name": "nodeSelector", "expression": "has(object.spec.nodeSelector) ? object.spec.nodeSelector : {}"},
        {
            "name": "nodeSelectorTerms",
            "expression": (
                f"({has_node_affinity} && has({required}) ? {required}.nodeSelectorTerms : [])"
                f" + ({has_node_affinity} && has({preferred}) ? {preferred}.map(p, p.preference) : [])"
            ),
        },
        {
            "name": "images",
            "expression": (
                "object.spec.containers.map(c, has(c.image) ? c.image : '')"
                " + (has(object.spec.initContainers)"
                " ? object.spec.initContainers.map(c, has(c.image) ? c.image : '') : [])"
                " + (has(object.spec.ephemeralContainers)"
                " ? object.spec.ephemeralContainers.map(c, has(c.image) ? c.image : '') : [])"
            ),
        },
    ]
    validations = [
        {
            "expression": "variables.tenantTolerations.all(t, !has(t.operator) || t.operator != 'Exists')",
            "message": (
                f"a toleration of {TENANT_TAINT} may not use operator Exists: it would admit the pod to every "
                f"tenant's pool (tolerate {TENANT_TAINT}=<your tenant> with operator Equal)"
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                "variables.tenantTolerations.all(t, (has(t.operator) && t.operator == 'Exists')"
                " || (has(t.value) && t.value == variables.tenant))"
            ),
            "message": (
                f"a toleration of {TENANT_TAINT} must carry the namespace's own tenant as its value "
                "(pods run only on their own tenant's pools)"
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                "variables.tolerations.all(t, (has(t.key) && t.key != '')"
                " || !has(t.operator) || t.operator != 'Exists')"
            ),
            "message": (
                "a toleration with operator Exists needs a key: without one it tolerates every taint, "
                "including other tenants' pools"
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                "variables.tolerations.all(t, !has(t.key) || t.key == ''"
                f" || t.key in {_cel_list([GPU_TAINT, TENANT_TAINT])}"
                f" || t.key.startsWith({_cel_string(NODE_LIFECYCLE_TAINT_PREFIX)}))"
            ),
            "message": (
                f"tenant pods may tolerate only {GPU_TAINT}, {NODE_LIFECYCLE_TAINT_PREFIX}* and their own "
                f"{TENANT_TAINT} taint (other taints mark nodes that tenants do not use)"
            ),
            "reason": "Forbidden",
        },
        {
            "expression": (
                f"!({_cel_string(TENANT_LABEL)} in variables.nodeSelector)"
                f" || variables.nodeSelector[{_cel_string(TENANT_LABEL)}] == variables.tenant"
            ),
            "message": f"nodeSelector {TENANT_LABEL} must be the namespace's own tenant",
            "reason": "Forbidden",
        },
        {
            "expression": (
                "variables.nodeSelectorTerms.all(term, !has(term.matchExpressions)"
                f" || term.matchExpressions.all(e, e.key != {_cel_string(TENANT_LABEL)}"
                " || (e.operator == 'In' && has(e.values) && size(e.values) > 0"
                " && e.values.all(v, v == variables.tenant))))"
            ),
            "message": (
                f"node affinity on {TENANT_LABEL} may only require or prefer the namespace's own tenant "
                "(operator In with that one value)"
            ),
            "reason": "Forbidden",
        },
        {
            "expression": ("request.operation != 'CREATE' || !has(object.spec.nodeName) || object.spec.nodeName == ''"),
            "message": "spec.nodeName may not be set: it bypasses the scheduler and the pools' taints",
            "reason": "Forbidden",
        },
        {
            "expression": (
                f"variables.images.all(image, image.startsWith({tenant_image_prefix})"
                f" || {_cel_list(approved_prefixes)}.exists(prefix, image.startsWith(prefix)))"
            ),
            "message": (
                f"images must come from the tenant's own repositories ({registry}/{environment}/<tenant>/) "
                "or the platform's approved prefixes"
            ),
            "reason": "Forbidden",
        },
        {
            # An empty name is no class (the pod gets the global default, and the platform sets none).
            "expression": (
                "!has(object.spec.priorityClassName) || object.spec.priorityClassName == ''"
                f" || object.spec.priorityClassName in {_cel_list(TENANT_PRIORITY_CLASSES)}"
            ),
            "message": (
                f"tenant pods may use only the platform's priority classes ({', '.join(TENANT_PRIORITY_CLASSES)}): "
                "a system class would let them preempt the platform's and other tenants' pods"
            ),
            "reason": "Forbidden",
        },
    ]
    return {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "namespaceSelector": tenant_namespace_selector(),
            "resourceRules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    # Ephemeral containers are added through their own subresource.
                    "resources": ["pods", "pods/ephemeralcontainers"],
                }
            ],
        },
        "variables": variables,
        "validations": validations,
    }


def binding_spec() -> dict[str, Any]:
    """The binding: deny (not warn or audit) in every tenant namespace."""
    return {
        "policyName": POLICY_NAME,
        "validationActions": ["Deny"],
        "matchResources": {"namespaceSelector": tenant_namespace_selector()},
    }


def pull_through_prefixes() -> tuple[str, ...]:
    """Repository prefixes of the account baseline's default pull-through caches (e.g. ``ecr-public/``).

    The shared-cluster stack does not read the baseline's config; a fork that adds caches passes
    their prefixes as ``extra_approved_prefixes``.
    """
    caches = BaselineConfig.model_fields["pull_through_caches"].default
    return tuple(f"{cache.repository_prefix}/" for cache in caches)


def platform_image_prefixes(settings: Settings, registry: str) -> tuple[str, ...]:
    """Image prefixes every tenant may run by default: the platform's repositories and pull-through caches."""
    own = naming.repository_prefix(settings.environment, PLATFORM)
    return tuple(f"{registry}/{prefix}" for prefix in (own, *pull_through_prefixes()))


@dataclass
class TenantAdmissionPolicyArgs:
    """The stack's settings, the cluster's name (an output of the cluster) and its Kubernetes provider."""

    settings: Settings
    cluster_name: pulumi.Input[str]
    provider: k8s.Provider
    # Further full image prefixes tenants may run (e.g. pull-through cache prefixes).
    extra_approved_prefixes: Sequence[str] = field(default_factory=tuple)


class TenantAdmissionPolicy(pulumi.ComponentResource):
    """The cluster's ValidatingAdmissionPolicy and its binding for tenant namespaces."""

    policy: k8s.admissionregistration.v1.ValidatingAdmissionPolicy
    binding: k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding
    policy_name: pulumi.Output[str]

    def __init__(self, name: str, args: TenantAdmissionPolicyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(
            TYPE, name, None, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[args.provider]))
        )
        settings = args.settings
        registry = registry_host(settings)
        approved = (*platform_image_prefixes(settings, registry), *args.extra_approved_prefixes)
        spec = policy_spec(registry=registry, environment=settings.environment, approved_prefixes=approved)

        # The SDK sends camelCase dicts unchanged: the engine and the pack see exactly the spec the
        # CEL tests evaluate (the SDK's typed dicts spell the same keys in snake_case).
        metadata = k8s.meta.v1.ObjectMetaArgs(name=POLICY_NAME, annotations={CLUSTER_ANNOTATION: args.cluster_name})
        self.policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
            f"{name}-policy",
            metadata=metadata,
            spec=cast(Any, spec),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The binding names the policy; creating it first would bind to nothing.
        self.binding = k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
            f"{name}-binding",
            metadata=metadata,
            spec=cast(Any, binding_spec()),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
        )
        self.policy_name = self.policy.metadata.apply(lambda metadata: metadata.name or POLICY_NAME)
        self.register_outputs({"policy_name": self.policy_name})
