"""PriorityClasses: inference > training > experimentation; experimentation never preempts; no global default."""

from __future__ import annotations

import pulumi_kubernetes as k8s
import pytest
from platform_support import run, settings

from infra.components.priority_classes import PriorityClasses, PriorityClassesArgs, tenant_default_class
from infra.tags import register_standard_tags
from preflight import Preview

SETTINGS = settings()
PRIORITY_CLASS = "kubernetes:scheduling.k8s.io/v1:PriorityClass"


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        register_standard_tags(SETTINGS)
        provider = k8s.Provider("cluster", kubeconfig="{}")
        PriorityClasses("priority", PriorityClassesArgs(provider=provider))

    return run(body, SETTINGS)


def test_exact_classes_in_order(preview: Preview) -> None:
    classes = {record.inputs["metadata"]["name"]: record.inputs for record in preview.by_type(PRIORITY_CLASS)}
    assert {name: (inputs["value"], inputs["preemptionPolicy"]) for name, inputs in classes.items()} == {
        "production-inference": (100000, "PreemptLowerPriority"),
        "production-training": (50000, "PreemptLowerPriority"),
        "experimentation": (1000, "Never"),
    }
    values = [classes[name]["value"] for name in ("production-inference", "production-training", "experimentation")]
    assert values == sorted(values, reverse=True)
    assert len(set(values)) == 3


def test_no_class_is_the_global_default(preview: Preview) -> None:
    for record in preview.by_type(PRIORITY_CLASS):
        assert record.inputs["globalDefault"] is False, record.urn


def test_experimentation_is_the_tenants_default_and_preemptible(preview: Preview) -> None:
    assert tenant_default_class() == "experimentation"
    assert SETTINGS.tenants[0].priority_class == tenant_default_class()
    experimentation = preview.get(PRIORITY_CLASS, "priority-experimentation")
    assert (
        experimentation.inputs["description"] == "experimentation: preemptible, never preempts (the tenants' default)"
    )


def test_classes_use_the_given_provider_and_platform_labels(preview: Preview) -> None:
    provider = preview.get("pulumi:providers:kubernetes", "cluster")
    for record in preview.by_type(PRIORITY_CLASS):
        assert record.provider is not None, record.urn
        assert record.provider.startswith(provider.urn), record.urn
        assert record.inputs["metadata"]["labels"] == {
            "aiplatform.io/tenant": "platform",
            "aiplatform.io/tier": "platform",
            "aiplatform.io/data-classification": "internal",
        }, record.urn
