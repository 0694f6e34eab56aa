"""Policy pack configuration, reconciled exactly as the Pulumi CLI reconciles it.

The CLI fills every policy's config with its schema defaults and its enforcement level, applies
the pack's initial config, then the ``--policy-pack-config`` file (an ``all`` entry sets every
policy's level first), and validates each policy's properties against its schema. See
``pkg/resource/analyzer/config.go`` (ReconcilePolicyPackConfig) in pulumi/pulumi.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2

from ..model import UsageError

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
_LEVEL_FROM_PROTO: dict[int, str] = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
_LEVEL_TO_PROTO: dict[str, Any] = {value: key for key, value in _LEVEL_FROM_PROTO.items()}


def level_name(level: int) -> str:
    return _LEVEL_FROM_PROTO[level]


@dataclass
class PolicyConfig:
    """One policy's config: an enforcement level (or ``""`` for unset) and its properties."""

    enforcement_level: str
    properties: dict[str, Any] | None


def parse_policy_config(document: Any, source: str) -> dict[str, PolicyConfig]:
    """Parse the CLI's ``--policy-pack-config`` format: ``{policy: level | {enforcementLevel, ...}}``."""
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise UsageError(f"{source}: policy pack config must be a JSON object")
    result: dict[str, PolicyConfig] = {}
    for name, value in document.items():
        if isinstance(value, str):
            if value not in LEVELS:
                raise UsageError(
                    f'{source}: parsing enforcement level for "{name}": "{value}" is not a valid enforcement level'
                )
            result[name] = PolicyConfig(value, None)
            continue
        if not isinstance(value, Mapping):
            raise UsageError(f'{source}: parsing "{name}": {value!r} is not a valid value; must be a string or object')
        properties = dict(value)
        level = properties.pop("enforcementLevel", "")
        if not isinstance(level, str) or (level and level not in LEVELS):
            raise UsageError(
                f'{source}: parsing enforcement level for "{name}": {level!r} is not a valid enforcement level'
            )
        if not level and not properties:
            continue
        result[name] = PolicyConfig(level, properties or None)
    return result


def load_policy_config_file(path: Path) -> dict[str, PolicyConfig]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"policy pack config {path}: {exc.strerror}") from exc
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"policy pack config {path}:{exc.lineno}: invalid JSON: {exc.msg}") from exc
    return parse_policy_config(document, str(path))


def _policy_defaults(info: analyzer_pb2.AnalyzerInfo) -> dict[str, PolicyConfig]:
    result: dict[str, PolicyConfig] = {}
    for policy in info.policies:
        properties: dict[str, Any] | None = None
        schema = _schema_properties(policy)
        for key, spec in schema.items():
            if isinstance(spec, Mapping) and "default" in spec:
                properties = properties or {}
                properties[key] = spec["default"]
        result[policy.name] = PolicyConfig(level_name(policy.enforcementLevel), properties)
    return result


def _schema_properties(policy: analyzer_pb2.PolicyInfo) -> dict[str, Any]:
    if not policy.HasField("configSchema"):
        return {}
    return json_format.MessageToDict(policy.configSchema.properties)


def _initial_config(info: analyzer_pb2.AnalyzerInfo) -> dict[str, PolicyConfig]:
    result = {}
    for name, config in info.initialConfig.items():
        result[name] = PolicyConfig(
            level_name(config.enforcementLevel), json_format.MessageToDict(config.properties) or None
        )
    return result


def _apply(result: dict[str, PolicyConfig], given: Mapping[str, PolicyConfig]) -> None:
    everything = given.get("all")
    if everything is not None and everything.enforcement_level in LEVELS:
        for name, config in list(result.items()):
            result[name] = PolicyConfig(everything.enforcement_level, config.properties)
    for name, config in given.items():
        current = result.get(name)
        level = current.enforcement_level if current else ""
        properties = dict(current.properties) if current and current.properties else None
        if config.enforcement_level in LEVELS:
            level = config.enforcement_level
        if config.properties:
            properties = properties or {}
            properties.update(config.properties)
        result[name] = PolicyConfig(level, properties)


def reconcile(
    info: analyzer_pb2.AnalyzerInfo, given: Mapping[str, PolicyConfig] | None, source: str
) -> dict[str, PolicyConfig]:
    """Defaults, then the pack's initial config, then ``given``; validated against each schema."""
    result = _policy_defaults(info)
    _apply(result, _initial_config(info))
    if given:
        _apply(result, given)
    problems = []
    for policy in info.policies:
        if not info.supportsConfig or not policy.HasField("configSchema"):
            continue
        schema: dict[str, Any] = {"type": "object"}
        properties = _schema_properties(policy)
        if properties:
            schema["properties"] = properties
        if policy.configSchema.required:
            schema["required"] = list(policy.configSchema.required)
        document = (result.get(policy.name) or PolicyConfig("", None)).properties or {}
        validator = jsonschema.Draft7Validator(schema)
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path)):
            where = ".".join(str(part) for part in error.path)
            problems.append(f"{policy.name}: {where + ': ' if where else ''}{error.message}")
    if problems:
        raise UsageError(f"validating policy config of pack '{info.name}' ({source}): " + "; ".join(problems))
    return result


def configure_request(config: Mapping[str, PolicyConfig]) -> analyzer_pb2.ConfigureAnalyzerRequest:
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    for name, policy_config in config.items():
        if policy_config.enforcement_level not in LEVELS:
            continue
        entry = request.policyConfig[name]
        entry.enforcementLevel = _LEVEL_TO_PROTO[policy_config.enforcement_level]
        if policy_config.properties:
            entry.properties.update(policy_config.properties)
    return request


def only(config: Mapping[str, PolicyConfig], policy: str) -> dict[str, PolicyConfig]:
    """The same config with every policy but ``policy`` disabled (to find which policy raised)."""
    return {
        name: PolicyConfig(value.enforcement_level if name == policy else "disabled", value.properties)
        for name, value in config.items()
    }
