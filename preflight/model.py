"""What a preview produces: the resource graph, the policy results, and the errors preflight raises."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from google.protobuf import struct_pb2

from .values import engine_view, friendly, needs_engine_view, struct_to_py

Mode = Literal["first-preview", "update"]
EnforcementLevel = Literal["advisory", "mandatory", "remediate", "disabled"]


class PreflightError(Exception):
    """Base of the errors preflight raises for things the user must fix (exit code 2)."""


class ProgramError(PreflightError):
    """The program or its configuration failed: carries the program's own message and its location."""

    def __init__(
        self, message: str, file: str | None = None, line: int | None = None, detail: str | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.detail = detail
        super().__init__(self.location_message())

    def location_message(self) -> str:
        if self.file is None:
            return self.message
        path = Path(self.file)
        with contextlib.suppress(ValueError):
            path = path.resolve().relative_to(Path.cwd())
        where = f"{path}:{self.line}" if self.line else str(path)
        return f"{where}: {self.message}"


class UsageError(PreflightError):
    """A command line or API argument is wrong (a missing stack file, pack, or bad policy config)."""


@dataclass
class ResourceRecord:
    """One registered resource, as the engine sees it after transforms.

    ``inputs`` are the camelCase input properties the engine sends to analyzers: values the cloud
    computes are ``preflight.UNKNOWN`` in first-preview mode and secrets are ``preflight.Secret``.
    ``provider`` is the URN of the provider resource (the default provider for the package when
    the program names none); ``options`` holds protect, ignore_changes, retain_on_delete,
    delete_before_replace, additional_secret_outputs, aliases, custom_timeouts, replace_on_changes,
    deleted_with, import_id, version and hide_diffs.
    """

    urn: str
    type: str
    name: str
    parent: str | None
    provider: str | None
    custom: bool
    property_dependencies: dict[str, list[str]]
    dependencies: list[str]
    options: dict[str, Any]
    id: str | None = None
    source: tuple[str, int] | None = None
    # Engine-marshalled property bytes (a serialized Struct), kept so inputs/outputs are decoded lazily.
    input_bytes: bytes = field(default=b"", repr=False)
    output_bytes: bytes | None = field(default=None, repr=False)

    @cached_property
    def wire_inputs(self) -> dict[str, Any]:
        """Inputs exactly as marshalled to analyzers (engine sentinels, numbers as float)."""
        return _wire(self.input_bytes)

    @cached_property
    def wire_outputs(self) -> dict[str, Any]:
        """Outputs as the engine holds them during the preview (what stack policies see)."""
        return _wire(self.output_bytes if self.output_bytes is not None else self.input_bytes)

    @cached_property
    def inputs(self) -> dict[str, Any]:
        value: dict[str, Any] = friendly(self.wire_inputs)
        return value

    @cached_property
    def outputs(self) -> dict[str, Any]:
        value: dict[str, Any] = friendly(self.wire_outputs)
        return value

    @property
    def is_provider(self) -> bool:
        return self.type.startswith("pulumi:providers:")


def _wire(data: bytes) -> dict[str, Any]:
    struct = struct_pb2.Struct.FromString(data)
    wire = struct_to_py(struct)
    return engine_view(wire) if needs_engine_view(wire) else wire


@dataclass(frozen=True)
class InvokeRecord:
    """One invoke the program made, as the engine resolves it.

    ``provider`` is the URN of the provider it runs through: the one the program names (the SDK sends the parent's),
    else the package's default provider, which the engine registers for it as for a resource (pulumi/pulumi
    pkg/resource/deploy/source_eval.go ``Invoke``/``getProviderFromSource``, v3.274.1). ``account`` is the account
    that provider acts in (its ``allowedAccountIds`` pin, else the stack's), the one the offline cloud answered in.
    """

    token: str
    provider: str
    account: str


@dataclass(frozen=True)
class Waiver:
    """A pack's reason for accepting a violation: who owns it and until when."""

    reason: str
    owner: str | None = None
    expires: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"reason": self.reason, "owner": self.owner, "expires": self.expires}


@dataclass(frozen=True)
class Violation:
    """A policy violation as the CLI reports it, attributed to a resource URN (or the stack)."""

    pack: str
    policy: str
    enforcement_level: str
    urn: str | None
    message: str
    waiver: Waiver | None = None
    description: str = ""
    severity: str | None = None

    def key(self) -> tuple[str, str, str, str | None, str]:
        return (self.pack, self.policy, self.enforcement_level, self.urn, self.message)


@dataclass(frozen=True)
class PolicyError:
    """A policy (or pack) that raised instead of returning: never silently skipped."""

    pack: str
    policy: str | None
    urn: str | None
    message: str
    detail: str | None = None

    def key(self) -> tuple[str, str | None, str | None]:
        return (self.pack, self.policy, self.urn)


@dataclass(frozen=True)
class Remediation:
    """A remediation a policy proposes: reported, never applied to the program's resources."""

    pack: str
    policy: str
    urn: str
    properties: dict[str, Any] | None
    diagnostic: str = ""


@dataclass(frozen=True)
class NotApplicable:
    """A policy that declared itself not applicable to a resource (or to the stack)."""

    pack: str
    policy: str
    urn: str | None
    reason: str


@dataclass(frozen=True)
class PolicyInfo:
    """A policy's metadata, as GetAnalyzerInfo reports it, with its reconciled enforcement level."""

    pack: str
    name: str
    kind: Literal["resource", "stack"]
    enforcement_level: str
    description: str
    display_name: str = ""
    severity: str | None = None
    remediation_steps: str = ""
    url: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Diagnostic:
    """A log line the program wrote through ``pulumi.log`` (or its stdout)."""

    severity: str
    message: str
    urn: str | None = None


@dataclass
class Preview:
    """The result of one offline preview of one stack."""

    project: str
    stack: str
    mode: Mode
    resources: list[ResourceRecord]
    outputs: dict[str, Any]
    invokes: list[InvokeRecord] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    errors: list[PolicyError] = field(default_factory=list)
    remediations: list[Remediation] = field(default_factory=list)
    not_applicable: list[NotApplicable] = field(default_factory=list)
    policies: list[PolicyInfo] = field(default_factory=list)
    packs: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0
    program_seconds: float = 0.0
    policy_seconds: float = 0.0
    exact: bool = False
    program_dir: Path | None = None
    stack_file: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_urn = {record.urn: record for record in self.resources}

    def by_type(self, token: str) -> list[ResourceRecord]:
        return [record for record in self.resources if record.type == token]

    def get(self, type_: str, name: str) -> ResourceRecord:
        matches = [record for record in self.resources if record.type == type_ and record.name == name]
        if len(matches) != 1:
            known = sorted(record.name for record in self.resources if record.type == type_)
            raise KeyError(f"{len(matches)} resources of type {type_} named {name!r}; names: {known}")
        return matches[0]

    def by_urn(self, urn: str) -> ResourceRecord:
        return self._by_urn[urn]

    def find(self, urn: str) -> ResourceRecord | None:
        return self._by_urn.get(urn)

    def children(self, urn: str | None) -> list[ResourceRecord]:
        return [record for record in self.resources if record.parent == urn]

    def ancestors(self, record: ResourceRecord) -> Iterator[ResourceRecord]:
        parent = record.parent
        while parent is not None and parent in self._by_urn:
            ancestor = self._by_urn[parent]
            yield ancestor
            parent = ancestor.parent

    @property
    def stack_urn(self) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::pulumi:pulumi:Stack::{self.project}-{self.stack}"

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement_level == "mandatory" and v.waiver is None]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement_level == "advisory" and v.waiver is None]

    @property
    def waived(self) -> list[Violation]:
        return [v for v in self.violations if v.waiver is not None]

    @property
    def passed(self) -> bool:
        return not self.mandatory and not self.errors

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def policy_outcome(self) -> dict[str, Any]:
        """Everything the packs reported, in a canonical order: what two policy paths must agree on."""
        return {
            "violations": sorted((*(part or "" for part in v.key()), repr(v.waiver)) for v in self.violations),
            "errors": sorted((e.pack, e.policy or "", e.urn or "", e.message) for e in self.errors),
            "not_applicable": sorted((n.pack, n.policy, n.urn or "", n.reason) for n in self.not_applicable),
            "remediations": sorted((r.pack, r.policy, r.urn, repr(r.properties)) for r in self.remediations),
            "policies": list(self.policies),
            "packs": list(self.packs),
        }
