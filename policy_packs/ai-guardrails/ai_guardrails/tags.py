"""Effective standard tags and labels: who owns a resource, in which tier, at which classification."""

from __future__ import annotations

from typing import Any

from aiplatform_standards import platform

from ai_guardrails.values import UNKNOWN, get, is_unknown

STANDARDS = platform()
TAG_STANDARD = STANDARDS["tags"]
K8S = STANDARDS["kubernetes"]
LABELS = K8S["labels"]

TENANT = "aiplatform:tenant"
TIER = "aiplatform:tier"
CLASSIFICATION = "aiplatform:data-classification"
ENVIRONMENT = "aiplatform:environment"
STACK = "aiplatform:stack"
EXPIRES_AT = "aiplatform:expires-at"
PLATFORM_OWNER: str = TAG_STANDARD["platform_owner"]
PLATFORM_TIER: str = TAG_STANDARD["platform_tier"]

# The Kubernetes label that carries each standard tag.
_LABEL_FOR_TAG = {
    TENANT: LABELS["tenant"],
    TIER: LABELS["tier"],
    CLASSIFICATION: LABELS["data_classification"],
}


def is_kubernetes(token: str) -> bool:
    return token.startswith("kubernetes:")


def effective_tags(props: dict[str, Any], token: str) -> dict[str, Any] | Any:
    """The standard tags a resource carries as inputs (UNKNOWN when the whole map is unknown).

    AWS resources carry them in ``tags`` (``tagsAll`` is computed by the provider and never read);
    Kubernetes objects carry the tenant, tier and classification as ``metadata.labels``.
    """
    if is_kubernetes(token):
        labels = get(props, "metadata", "labels")
        if is_unknown(labels):
            return UNKNOWN
        labels = labels if isinstance(labels, dict) else {}
        return {tag: labels[label] for tag, label in _LABEL_FOR_TAG.items() if label in labels}
    tags = props.get("tags")
    if is_unknown(tags):
        return UNKNOWN
    return tags if isinstance(tags, dict) else {}


def tag(props: dict[str, Any], token: str, key: str) -> str | None:
    """One standard tag's value when it is a known string, else None."""
    tags = effective_tags(props, token)
    if not isinstance(tags, dict):
        return None
    value = tags.get(key)
    return value if isinstance(value, str) else None


def owner(props: dict[str, Any], token: str) -> str | None:
    return tag(props, token, TENANT)


def tier(props: dict[str, Any], token: str) -> str | None:
    return tag(props, token, TIER)


def classification(props: dict[str, Any], token: str) -> str | None:
    return tag(props, token, CLASSIFICATION)


def is_tenant_owner(value: str | None) -> bool:
    return value is not None and value != PLATFORM_OWNER
