"""GPU instance types and AMI types: one definition of "is GPU" for every policy."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import aiplatform_standards

# Accelerated families with NVIDIA GPUs: g4dn, g5, g5g, g6, g6e, gr6, p3, p4d, p5, p5e, p6 ...
_GPU_FAMILY = re.compile(r"^(g|gr|p)\d+[a-z]*$")
_GPU_AMI_SUFFIXES = ("_GPU", "_NVIDIA")


@cache
def gpu_table() -> dict[str, Any] | None:
    """The platform's GPU instance table, or None while data/gpu_instances.yaml does not exist."""
    try:
        return dict(aiplatform_standards.gpu_instances())
    except (FileNotFoundError, OSError):
        return None


def family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def is_gpu_instance_type(instance_type: Any) -> bool:
    if not isinstance(instance_type, str):
        return False
    table = gpu_table()
    if table is not None and instance_type in table:
        return True
    return bool(_GPU_FAMILY.match(family(instance_type)))


def is_gpu_ami_type(ami_type: Any) -> bool:
    return isinstance(ami_type, str) and ami_type.endswith(_GPU_AMI_SUFFIXES)


def gpus_per_instance(instance_type: str) -> int | None:
    """GPUs of one instance of this type per the table (None when the table or the type is missing)."""
    table = gpu_table()
    if table is None or instance_type not in table:
        return None
    return int(table[instance_type].gpus)


def hourly_usd(instance_type: str, region: str) -> float | None:
    table = gpu_table()
    if table is None or instance_type not in table:
        return None
    prices = table[instance_type].hourly_usd
    price = prices.get(region)
    return float(price) if price is not None else None
