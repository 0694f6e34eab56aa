"""The secure-ai-platform's standards as data, with typed accessors.

One source for each concept (DESIGN.md): the control catalog, the tag standard, the
classification-to-tier map, the allowlists and the GPU instance table live in ``data/`` and are
read by the Pulumi program, the ``ai-guardrails`` policy pack and the live audit alike. The pack
runs in its own virtual environment under the Pulumi CLI, so this package depends on PyYAML only.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "Control",
    "GpuInstanceType",
    "allowed_tiers",
    "classification_rank",
    "control_ids",
    "controls",
    "gpu_allowed_families",
    "gpu_instances",
    "platform",
    "taggable_aws_types",
]


def _data(name: str) -> str:
    return resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Control:
    """One row of the control catalog (CONTROLS.md)."""

    id: str
    area: str
    title: str
    source: str
    resources: str
    check: str


@cache
def controls() -> tuple[Control, ...]:
    """Every control of the catalog, in catalog order."""
    return tuple(Control(**row) for row in yaml.safe_load(_data("controls.yaml"))["controls"])


@cache
def control_ids() -> frozenset[str]:
    return frozenset(control.id for control in controls())


@cache
def platform() -> dict[str, Any]:
    """The platform standards document (data/platform.yaml) as plain data."""
    document: dict[str, Any] = yaml.safe_load(_data("platform.yaml"))
    return document


@cache
def taggable_aws_types() -> frozenset[str]:
    """The pulumi-aws resource tokens that accept ``tags`` (generated: tools/gen_taggable_types.py)."""
    return frozenset(json.loads(_data("aws_taggable_types.json"))["tokens"])


def classification_rank(classification: str) -> int:
    """Position of a classification in the sensitivity order (0 = least sensitive)."""
    return list(platform()["classifications"]).index(classification)


def allowed_tiers(classification: str) -> tuple[str, ...]:
    """The tiers that may hold data of this classification (CONTROLS AUD-5)."""
    return tuple(platform()["classification_tiers"][classification])


@dataclass(frozen=True)
class GpuInstanceType:
    """One row of the GPU instance table (data/gpu_instances.yaml)."""

    name: str
    family: str
    gpus: int
    gpu_model: str
    gpu_memory_gib: int
    vcpus: int
    memory_gib: int
    architecture: str
    ami_types: tuple[str, ...]
    dedicated_hosts: bool
    nitro_enclaves: bool
    hourly_usd: dict[str, float]
    price_source: str
    price_date: dt.date


@cache
def _gpu_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(_data("gpu_instances.yaml"))
    return document


@cache
def gpu_allowed_families() -> dict[str, tuple[str, ...]]:
    """The GPU families each tier may use by default (a stack may narrow or widen them in config)."""
    return {tier: tuple(families) for tier, families in _gpu_document()["allowed_families"].items()}


@cache
def gpu_instances() -> dict[str, GpuInstanceType]:
    """Supported GPU instance types by name."""
    document = _gpu_document()
    table: dict[str, GpuInstanceType] = {}
    for name, row in document["instance_types"].items():
        table[name] = GpuInstanceType(
            name=name,
            family=name.split(".")[0],
            gpus=row["gpus"],
            gpu_model=row["gpu_model"],
            gpu_memory_gib=row["gpu_memory_gib"],
            vcpus=row["vcpus"],
            memory_gib=row["memory_gib"],
            architecture=row["architecture"],
            ami_types=tuple(row["ami_types"]),
            dedicated_hosts=row["dedicated_hosts"],
            nitro_enclaves=row["nitro_enclaves"],
            hourly_usd=dict(row["on_demand_hourly_usd"]),
            price_source=row["price_source"],
            price_date=dt.date.fromisoformat(str(row["price_date"])),
        )
    return table
