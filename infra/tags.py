"""The tagging standard (DESIGN.md) and the transform that applies it.

Tags must be explicit inputs so that policies see them in a preview (provider ``defaultTags`` are
invisible there). One function builds the transform:

- the program registers it once for the whole stack (``register_standard_tags``) with the
  platform's scope; that registration fills in only the standard keys a resource lacks;
- a component that belongs to a tenant attaches the same transform with the tenant's scope
  through ``opts.transforms`` (``scoped_options``). The engine runs a resource's own and its
  ancestors' transforms before the stack's, so the tenant's scope wins for every descendant.

Kubernetes objects get the standard labels the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from aiplatform_standards import platform, taggable_aws_types

from infra.config import Settings

_STANDARDS = platform()
_TAGS = _STANDARDS["tags"]
_LABELS = _STANDARDS["kubernetes"]["labels"]
PLATFORM = _TAGS["platform_owner"]

# Kubernetes types whose metadata takes labels (every object except the provider and lists).
_KUBERNETES_PREFIX = "kubernetes:"
_NOT_LABELLED = ("pulumi:providers:", "kubernetes:helm.sh/", "kubernetes:yaml:", "kubernetes:kustomize:")


@dataclass(frozen=True)
class TagScope:
    """Who a resource belongs to, which decides its tenant, tier and classification tags."""

    tenant: str
    tier: str
    data_classification: str
    cost_center: str
    contact: str
    expires_at: dt.date | None = None

    @classmethod
    def for_platform(cls, settings: Settings) -> TagScope:
        """Shared infrastructure carries the highest classification of the tenants it serves."""
        return cls(
            tenant=PLATFORM,
            tier=_TAGS["platform_tier"],
            data_classification=settings.highest_classification(),
            cost_center=settings.cost_center,
            contact=settings.contact,
        )

    @classmethod
    def for_tenant(cls, settings: Settings, tenant_name: str) -> TagScope:
        tenant = settings.tenant(tenant_name)
        return cls(
            tenant=tenant.name,
            tier=tenant.tier,
            data_classification=tenant.data_classification,
            cost_center=tenant.cost_center,
            contact=tenant.owner,
        )


def standard_tags(settings: Settings, scope: TagScope) -> dict[str, str]:
    """The standard AWS tags of a resource in this scope, as DESIGN.md defines them."""
    tags = {
        "aiplatform:environment": settings.environment,
        "aiplatform:tier": scope.tier,
        "aiplatform:tenant": scope.tenant,
        "aiplatform:data-classification": scope.data_classification,
        "aiplatform:cost-center": scope.cost_center,
        "aiplatform:contact": scope.contact,
        "aiplatform:stack": pulumi.get_stack(),
    }
    if scope.expires_at is not None:
        tags["aiplatform:expires-at"] = scope.expires_at.isoformat()
    return tags


def standard_labels(scope: TagScope) -> dict[str, str]:
    """The standard Kubernetes labels of an object in this scope."""
    return {
        _LABELS["tenant"]: scope.tenant,
        _LABELS["tier"]: scope.tier,
        _LABELS["data_classification"]: scope.data_classification,
    }


def _merge(current: Any, standard: Mapping[str, str], *, override: bool) -> Any:
    if current is not None and not isinstance(current, Mapping):
        # An unknown (computed) map: leave it to the policy pack to flag, never guess.
        return current
    existing = dict(current or {})
    if override:
        return {**existing, **standard}
    return {**standard, **existing}


def _is_labelled(type_: str) -> bool:
    return type_.startswith(_KUBERNETES_PREFIX) and not type_.startswith(_NOT_LABELLED)


def tag_transform(settings: Settings, scope: TagScope, *, override: bool) -> pulumi.ResourceTransform:
    """A resource transform that puts this scope's standard tags or labels on every resource.

    ``override`` is True for a tenant scope (its keys replace the platform's) and False for the
    stack-wide registration (it only fills the keys a resource lacks).
    """
    tags = standard_tags(settings, scope)
    labels = standard_labels(scope)
    taggable = taggable_aws_types()

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
        if args.type_ in taggable:
            props = dict(args.props)
            props["tags"] = _merge(props.get("tags"), tags, override=override)
            return pulumi.ResourceTransformResult(props=props, opts=args.opts)
        if args.custom and _is_labelled(args.type_):
            props = dict(args.props)
            metadata = props.get("metadata")
            if metadata is not None and not isinstance(metadata, Mapping):
                return None
            metadata = dict(metadata or {})
            metadata["labels"] = _merge(metadata.get("labels"), labels, override=override)
            props["metadata"] = metadata
            return pulumi.ResourceTransformResult(props=props, opts=args.opts)
        return None

    return transform


def register_standard_tags(settings: Settings) -> None:
    """Register the stack-wide transform: every taggable resource gets the standard tags."""
    pulumi.runtime.register_resource_transform(tag_transform(settings, TagScope.for_platform(settings), override=False))


def scoped_options(
    settings: Settings, scope: TagScope, opts: pulumi.ResourceOptions | None = None
) -> pulumi.ResourceOptions:
    """Options for a component owned by ``scope``: its descendants carry that scope's tags."""
    own = pulumi.ResourceOptions(transforms=[tag_transform(settings, scope, override=True)])
    return pulumi.ResourceOptions.merge(opts, own)
