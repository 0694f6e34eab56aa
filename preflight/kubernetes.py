"""Render every Kubernetes object a program declares as YAML, one file per object.

Objects are the program's ``kubernetes:<group>/<version>:<Kind>`` resources as the engine sees
them (auto-named when the program gave no name, as pulumi-kubernetes does in Check). Values
still unknown during the preview are rendered as ``[unknown]`` and secrets as their offline
placeholder, so the files are for validation, never for applying.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .model import Preview, ResourceRecord
from .values import UNKNOWN, reveal

_NOT_OBJECTS = ("kubernetes:yaml", "kubernetes:helm", "kubernetes:kustomize")


def api_version(type_: str) -> str:
    """``kubernetes:apps/v1:Deployment`` -> ``apps/v1``; the core group has no prefix."""
    group_version = type_.split(":")[1]
    group, _, version = group_version.rpartition("/")
    return version if group in ("core", "") else f"{group}/{version}"


def is_object(record: ResourceRecord) -> bool:
    return (
        record.custom
        and record.type.startswith("kubernetes:")
        and not record.is_provider
        and not record.type.startswith(_NOT_OBJECTS)
        and not record.type.endswith("List")
    )


def _plain(value: Any) -> Any:
    if value is UNKNOWN:
        return "[unknown]"
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def manifest(record: ResourceRecord) -> dict[str, Any]:
    """The object as the API server would receive it (``apiVersion`` and ``kind`` first)."""
    inputs = _plain(reveal(record.inputs))
    body: dict[str, Any] = {
        "apiVersion": inputs.pop("apiVersion", None) or api_version(record.type),
        "kind": inputs.pop("kind", None) or record.type.rsplit(":", 1)[-1],
    }
    body.update(inputs)
    return body


def _file_name(body: dict[str, Any]) -> str:
    metadata = body.get("metadata") or {}
    parts = [str(body["kind"]).lower(), str(metadata.get("namespace") or ""), str(metadata.get("name") or "unnamed")]
    stem = "_".join(part for part in parts if part)
    return re.sub(r"[^A-Za-z0-9_.-]", "-", stem) + ".yaml"


def render(preview: Preview, directory: Path) -> list[Path]:
    """Write each object to ``directory/<stack>/<kind>_<namespace>_<name>.yaml``; return the paths."""
    target = directory / preview.stack
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    used: set[str] = set()
    for record in preview.resources:
        if not is_object(record):
            continue
        body = manifest(record)
        name = _file_name(body)
        while name in used:
            name = name.removesuffix(".yaml") + "-dup.yaml"
        used.add(name)
        path = target / name
        path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written
