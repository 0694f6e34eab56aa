"""TenantAdmissionPolicy: the exact policy and binding it registers, on the cluster's provider."""

from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest
from platform_support import ACCOUNT, REGION, run, settings

from infra.components.admission import (
    POLICY_NAME,
    TenantAdmissionPolicy,
    TenantAdmissionPolicyArgs,
    policy_spec,
    registry_host,
)
from infra.tags import register_standard_tags
from preflight import Preview

SETTINGS = settings("prod")
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
PULL_THROUGH = f"{REGISTRY}/ecr-public/"
EXTRA = f"{REGISTRY}/quay/"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
TENANT_NAMESPACES = {
    "matchExpressions": [
        {"key": "aiplatform.io/tenant", "operator": "Exists"},
        {"key": "aiplatform.io/tenant", "operator": "NotIn", "values": ["platform"]},
        {
            "key": "kubernetes.io/metadata.name",
            "operator": "NotIn",
            "values": ["kube-system", "kube-public", "kube-node-lease", "default", "aiplatform-system"],
        },
    ]
}


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        register_standard_tags(SETTINGS)
        provider = k8s.Provider("cluster-k8s", kubeconfig="{}")
        TenantAdmissionPolicy(
            "admission",
            TenantAdmissionPolicyArgs(SETTINGS, "aip-prod", provider, extra_approved_prefixes=[EXTRA]),
        )

    return run(body, SETTINGS)


def test_registry_is_the_stack_accounts_private_ecr() -> None:
    assert registry_host(SETTINGS) == REGISTRY


def test_component_registers_exactly_one_policy_and_one_binding(preview: Preview) -> None:
    assert [record.name for record in preview.by_type(VAP)] == ["admission-policy"]
    assert [record.name for record in preview.by_type(BINDING)] == ["admission-binding"]
    component = preview.get("secure-ai-platform:admission:TenantAdmissionPolicy", "admission")
    for record in (*preview.by_type(VAP), *preview.by_type(BINDING)):
        assert record.parent == component.urn, record.urn
        assert record.provider is not None
        assert "cluster-k8s" in record.provider, record.urn


def test_policy_is_the_one_spec_the_cel_tests_evaluate(preview: Preview) -> None:
    record = preview.get(VAP, "admission-policy")
    assert record.inputs["metadata"]["name"] == POLICY_NAME
    approved = [f"{REGISTRY}/prod/platform/", PULL_THROUGH, EXTRA]
    assert record.inputs["spec"] == policy_spec(registry=REGISTRY, environment="prod", approved_prefixes=approved)


def test_policy_fails_closed_on_every_pod_write_in_tenant_namespaces(preview: Preview) -> None:
    spec = preview.get(VAP, "admission-policy").inputs["spec"]
    assert spec["failurePolicy"] == "Fail"
    assert spec["matchConstraints"] == {
        "namespaceSelector": TENANT_NAMESPACES,
        "resourceRules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["pods", "pods/ephemeralcontainers"],
            }
        ],
    }
    assert "paramKind" not in spec
    assert all(validation["reason"] == "Forbidden" for validation in spec["validations"])


def test_images_rule_names_this_environments_tenant_prefix_and_the_approved_prefixes(preview: Preview) -> None:
    validations = preview.get(VAP, "admission-policy").inputs["spec"]["validations"]
    (images,) = [v["expression"] for v in validations if v["expression"].startswith("variables.images.")]
    assert images == (
        f"variables.images.all(image, image.startsWith('{REGISTRY}/prod/' + variables.tenant + '/')"
        f" || ['{REGISTRY}/prod/platform/', '{PULL_THROUGH}', '{EXTRA}'].exists(prefix, image.startsWith(prefix)))"
    )


def test_binding_denies_in_tenant_namespaces_and_follows_the_policy(preview: Preview) -> None:
    binding = preview.get(BINDING, "admission-binding")
    assert binding.inputs["metadata"]["name"] == POLICY_NAME
    assert binding.inputs["spec"] == {
        "policyName": POLICY_NAME,
        "validationActions": ["Deny"],
        "matchResources": {"namespaceSelector": TENANT_NAMESPACES},
    }
    assert preview.get(VAP, "admission-policy").urn in binding.dependencies


def test_platform_objects_carry_the_platform_labels(preview: Preview) -> None:
    for record in (preview.get(VAP, "admission-policy"), preview.get(BINDING, "admission-binding")):
        assert record.inputs["metadata"]["labels"]["aiplatform.io/tenant"] == "platform", record.urn


def test_cel_literals_refuse_quotes() -> None:
    with pytest.raises(ValueError, match="cannot be a CEL string literal"):
        policy_spec(registry=REGISTRY, environment="prod", approved_prefixes=["it's/"])


def test_policy_and_binding_name_the_cluster_they_guard(preview: Preview) -> None:
    for record in (preview.get(VAP, "admission-policy"), preview.get(BINDING, "admission-binding")):
        assert record.inputs["metadata"]["annotations"] == {"aiplatform.io/cluster": "aip-prod"}, record.urn
