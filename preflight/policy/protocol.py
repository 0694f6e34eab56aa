"""The analyzer protocol messages the engine sends, built from recorded resources.

Both policy paths start from these exact messages: the exact path sends them over gRPC to the
pack's process, the fast path hands them to the same pulumi_policy objects in-process. Analyze
sees a resource's inputs and AnalyzeStack its outputs, as in the engine's deployment flow;
provider resources are not analyzed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from ..model import NotApplicable, PolicyError, Preview, Remediation, ResourceRecord, Violation, Waiver
from ..values import struct_to_py
from .config import level_name

_WAIVER = re.compile(r"^\s*waived:\s*(\{.*\})\s*$", re.MULTILINE)
_SEVERITY = {
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}


def analyzable(preview: Preview) -> list[ResourceRecord]:
    """The resources the engine hands to analyzers: registrations, not providers or reads."""
    return [r for r in preview.resources if not r.is_provider and "read_id" not in r.options]


def _struct(data: bytes) -> struct_pb2.Struct:
    return struct_pb2.Struct.FromString(data)


def _analyzer_struct(record: ResourceRecord, outputs: bool) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(record.wire_outputs if outputs else record.wire_inputs)
    return struct


def _options(record: ResourceRecord) -> analyzer_pb2.AnalyzerResourceOptions:
    opts = record.options
    timeouts = opts.get("custom_timeouts") or {}
    delete_before_replace = opts.get("delete_before_replace")
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(opts.get("protect")),
        ignoreChanges=list(opts.get("ignore_changes") or []),
        deleteBeforeReplace=bool(delete_before_replace),
        deleteBeforeReplaceDefined=delete_before_replace is not None,
        additionalSecretOutputs=list(opts.get("additional_secret_outputs") or []),
        aliases=[alias for alias in opts.get("aliases") or [] if isinstance(alias, str)],
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(
            create=float(timeouts.get("create") or 0),
            update=float(timeouts.get("update") or 0),
            delete=float(timeouts.get("delete") or 0),
        ),
        parent=record.parent or "",
    )


@dataclass
class Requests:
    """Analyzer messages for one preview, built once and shared by every pack."""

    preview: Preview
    resources: list[ResourceRecord] = field(init=False)
    _providers: dict[str, analyzer_pb2.AnalyzerProviderResource] = field(default_factory=dict, init=False)
    _props: dict[str, struct_pb2.Struct] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.resources = analyzable(self.preview)

    def provider(self, record: ResourceRecord) -> analyzer_pb2.AnalyzerProviderResource | None:
        if record.provider is None:
            return None
        message = self._providers.get(record.provider)
        if message is None:
            provider = self.preview.by_urn(record.provider)
            message = analyzer_pb2.AnalyzerProviderResource(
                urn=provider.urn, type=provider.type, name=provider.name, properties=_analyzer_struct(provider, False)
            )
            self._providers[record.provider] = message
        return message

    def analyze(
        self, record: ResourceRecord, properties: struct_pb2.Struct | None = None
    ) -> analyzer_pb2.AnalyzeRequest:
        request = analyzer_pb2.AnalyzeRequest(
            urn=record.urn,
            type=record.type,
            name=record.name,
            properties=properties if properties is not None else self.inputs(record),
            options=_options(record),
        )
        provider = self.provider(record)
        if provider is not None:
            request.provider.CopyFrom(provider)
        return request

    def inputs(self, record: ResourceRecord) -> struct_pb2.Struct:
        cached = self._props.get(record.urn)
        if cached is None:
            cached = _analyzer_struct(record, False)
            self._props[record.urn] = cached
        return cached

    def analyze_stack(self) -> analyzer_pb2.AnalyzeStackRequest:
        request = analyzer_pb2.AnalyzeStackRequest()
        for record in self.resources:
            resource = request.resources.add(
                urn=record.urn,
                type=record.type,
                name=record.name,
                properties=_analyzer_struct(record, True),
                options=_options(record),
                parent=record.parent or "",
                dependencies=record.dependencies,
            )
            provider = self.provider(record)
            if provider is not None:
                resource.provider.CopyFrom(provider)
            for key, urns in record.property_dependencies.items():
                if urns:
                    resource.propertyDependencies[key].urns.extend(urns)
        return request


def as_received(struct: struct_pb2.Struct) -> dict[str, Any]:
    """The dict a pack's process gets from ``MessageToDict`` after the struct crossed the wire."""
    return struct_to_py(struct_pb2.Struct.FromString(struct.SerializeToString()))


def waiver_of(message: str) -> Waiver | None:
    """A pack marks a waived violation with a message line ``waived: {"reason", "owner", "expires"}``."""
    match = _WAIVER.search(message)
    if match is None:
        return None
    try:
        data = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("reason"), str):
        return None
    return Waiver(str(data["reason"]), data.get("owner"), data.get("expires"))


@dataclass
class Outcome:
    """What one pack reported for one preview."""

    violations: list[Violation] = field(default_factory=list)
    errors: list[PolicyError] = field(default_factory=list)
    remediations: list[Remediation] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)

    def add_diagnostics(self, pack: str, diagnostics: Iterable[Any], urn_for: Any) -> None:
        for diagnostic in diagnostics:
            level = level_name(diagnostic.enforcementLevel)
            if level == "remediate":
                level = "mandatory"
            message = diagnostic.message
            self.violations.append(
                Violation(
                    pack=pack,
                    policy=diagnostic.policyName,
                    enforcement_level=level,
                    urn=urn_for(diagnostic.urn),
                    message=message,
                    waiver=waiver_of(message),
                    description=diagnostic.description,
                    severity=_SEVERITY.get(diagnostic.severity),
                )
            )

    def add_not_applicable(self, pack: str, items: Iterable[Any], urn: str | None) -> None:
        for item in items:
            self.not_applicable.append(NotApplicable(pack, item.policy_name, urn, item.reason))

    def add_remediations(self, pack: str, urn: str, remediations: Sequence[Any]) -> None:
        for remediation in remediations:
            properties = struct_to_py(remediation.properties) if remediation.HasField("properties") else None
            self.remediations.append(
                Remediation(pack, remediation.policyName, urn, properties or None, remediation.diagnostic)
            )


def stack_urn_resolver(preview: Preview, resources: Sequence[ResourceRecord]) -> Any:
    """Stack policy diagnostics keep their URN when it names a resource, else go to the stack."""
    known = {record.urn for record in resources}
    fallback = resources[0].urn if resources else preview.stack_urn

    def resolve(urn: str) -> str:
        return urn if urn in known else fallback

    return resolve
