"""The policy registry: small check functions registered with their metadata.

A check is a generator. A resource check receives one ``Resource`` and the policy's effective
config and yields ``Finding`` (a violation) or ``Undecided`` (a value it needs is unknown during
preview). A stack check receives the whole ``Stack`` and yields findings naming a resource, or
``Undecided`` naming the resource whose unknown value it cannot judge. The
wrappers here turn checks into pulumi-policy policies, render every message the same way
(resource, property path, expected value, fix), apply waivers, and fail closed if a check breaks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Literal

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from ai_guardrails import waivers
from ai_guardrails.values import UNKNOWN, get, is_unknown, plain

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY
LOW, MEDIUM, HIGH, CRITICAL = Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL

# Lowercase identifiers (tenants, namespaces, instance types, versions) may be quoted in messages;
# any other input value is described, never echoed, because the SDK hands policies secret values
# unwrapped and a message must never carry one.
_IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9.\-]{0,62}$")


def number(value: Any) -> str:
    """A config number as people write it (the CLI hands config numbers over as floats)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def shown(value: Any, known: Iterable[str] = (), *, identifier: bool = False) -> str:
    """How a message names an input value without ever echoing a secret."""
    if value is None:
        return "absent"
    if is_unknown(value):
        return "unknown until apply"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if value in set(known) or (identifier and _IDENTIFIER.match(value)):
            return f"'{value}'"
        return "a value outside the accepted set (not shown)"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    return "a value outside the accepted set (not shown)"


# AWS types that the in-VPC run of a cluster stack creates (they depend on Kubernetes objects) and whose
# SDK constructors require inputs, so that a registration of them is never empty (``Resource.placeholder``).
REQUIRED_INPUT_TYPES = frozenset(
    {
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    }
)

# The last resource converted for a resource policy, with the props object it came from.
_LAST_RESOURCE: list[tuple[object, Resource] | None] = [None]


@dataclass(frozen=True)
class Resource:
    """A resource as a policy sees it: plain inputs, and (in stack policies) its dependencies."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    parent: str | None = None
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.type.rsplit(':', 1)[-1]} '{self.name}'"

    def get(self, *path: str | int) -> Any:
        return get(self.props, *path)

    @property
    def placeholder(self) -> bool:
        """A registration this run leaves out: the engine hands over no property of a resource that always has some.

        ``pulumi up --exclude … --exclude-dependents`` (or ``--target``) does not create a resource it
        leaves out; the engine still analyses it, with its old inputs, which a resource that does not
        exist yet has none of (pulumi/pulumi pkg/resource/deploy/step_generator.go v3.274.1,
        ``continueStepsFromImport``: Check is stubbed with ``oldInputs`` for a resource that is not
        targeted, then ``analyzeAll``; ``NewSkippedCreateStep`` keeps it among what AnalyzeStack sees).
        Its properties are judged in the run that creates it (docs/deploy.md). Only types that can never
        be registered empty qualify: every Kubernetes object (the SDK sets ``apiVersion`` and ``kind``)
        and the AWS types of ``REQUIRED_INPUT_TYPES``; an AWS resource of another type may be registered
        without a property, and is judged as it is.
        """
        return not self.props and (self.type.startswith("kubernetes:") or self.type in REQUIRED_INPUT_TYPES)

    @classmethod
    def from_args(cls, args: ResourceValidationArgs) -> Resource:
        # Under preflight's fast path every policy of a resource receives the same props object:
        # convert it once (the object is held, so its identity cannot be reused); under the CLI each
        # policy gets its own and this converts per policy, as before.
        last = _LAST_RESOURCE[0]
        if last is not None and last[0] is args.props and last[1].urn == args.urn:
            return last[1]
        props = plain(args.props)
        resource = cls(args.resource_type, args.name, args.urn, props if isinstance(props, dict) else {})
        _LAST_RESOURCE[0] = (args.props, resource)
        return resource

    @classmethod
    def from_policy_resource(cls, resource: PolicyResource) -> Resource:
        props = plain(resource.props)
        return cls(
            resource.resource_type,
            resource.name,
            resource.urn,
            props if isinstance(props, dict) else {},
            resource.parent.urn if resource.parent is not None else None,
            {key: tuple(dep.urn for dep in deps) for key, deps in resource.property_dependencies.items()},
            tuple(dep.urn for dep in resource.dependencies),
        )


@dataclass(frozen=True)
class Finding:
    """A violation: which property, what is wrong, what is expected, how to fix it."""

    path: str
    problem: str
    expected: str
    fix: str
    resource: Resource | None = None

    def message(self, resource: Resource | None) -> str:
        subject = self.resource or resource
        label = subject.label if subject is not None else "stack"
        return f"{label}: {self.path} {self.problem}; expected {self.expected}. Fix: {self.fix}"


@dataclass(frozen=True)
class Undecided:
    """A value the check needs is unknown during preview: the SDK reports it as advisory.

    A stack check names the resource whose value it cannot judge (``resource``); the advisory
    diagnostic's property path then starts with that resource's name.
    """

    path: str
    resource: Resource | None = None


Outcome = Finding | Undecided


def expect(
    value: Any,
    path: str,
    accepted: Collection[Any] | Callable[[Any], bool],
    expected: str,
    fix: str,
    *,
    problem: str | None = None,
    vocabulary: Iterable[str] = (),
    absent: str | None = None,
) -> Iterator[Outcome]:
    """The "read one property, expect a value" check most resource policies make.

    Undecided at ``path`` while ``value`` is unknown; otherwise a finding at ``path`` unless ``value`` is accepted (one
    of ``accepted``, or ``accepted(value)`` is true). The problem defaults to "is <value>" (quoted only from
    ``vocabulary``, see ``shown``) followed by " (absent = <absent>)" when the AWS default is worth saying.
    """
    if is_unknown(value):
        yield Undecided(path)
        return
    if accepted(value) if callable(accepted) else value in accepted:
        return
    if problem is None:
        problem = f"is {shown(value, vocabulary)}" + (f" (absent = {absent})" if absent is not None else "")
    yield Finding(path, problem, expected, fix)


class Config(dict[str, Any]):
    """A policy's effective config (built-in prod defaults overlaid by --policy-pack-config)."""

    def __init__(self, values: Mapping[str, Any], stack: str) -> None:
        super().__init__(values)
        self.stack = stack


def string_list(default: list[str], description: str) -> dict[str, Any]:
    """A config property that is a list of strings, with its secure default (the prod value)."""
    return {"type": "array", "items": {"type": "string"}, "default": default, "description": description}


Kind = Literal["resource", "stack"]
ResourceCheck = Callable[[Resource, Config], Iterable[Outcome]]


@dataclass(frozen=True)
class Rule:
    """A registered policy and its metadata (the docs and the meta-test read these)."""

    name: str
    kind: Kind
    description: str
    severity: Severity
    enforcement: EnforcementLevel
    controls: tuple[str, ...]
    remediation: str
    tokens: frozenset[str]
    tokens_label: str
    config: Mapping[str, Mapping[str, Any]]
    check: Callable[..., Iterable[Outcome]]
    area: str
    predicate: Callable[[str], bool] | None = None

    @property
    def checks(self) -> str:
        """What the policy checks: the first paragraph of the check's docstring."""
        doc = (self.check.__doc__ or "").strip()
        return " ".join(doc.split("\n\n")[0].split())

    def defaults(self) -> dict[str, Any]:
        return {key: schema["default"] for key, schema in self.config.items() if "default" in schema}

    def effective_config(self, overrides: Mapping[str, Any] | None, stack: str) -> Config:
        values = self.defaults()
        for key, value in (overrides or {}).items():
            if key in self.config:
                values[key] = value
        return Config(values, stack)

    def applies_to(self, token: str) -> bool:
        return token in self.tokens or (self.predicate is not None and self.predicate(token))

    def outcomes(self, subject: Any, config: Config) -> list[Outcome]:
        """Run the check; a check that breaks fails closed with a finding, never a crash."""
        try:
            return list(self.check(subject, config))
        except Exception as error:
            resource = subject if isinstance(subject, Resource) else None
            return [
                Finding(
                    "(policy)",
                    f"could not be evaluated (internal error {type(error).__name__} in {self.name})",
                    "a policy that evaluates",
                    "report this to the ai-guardrails owners; the change stays blocked until the pack is fixed",
                    resource,
                )
            ]


REGISTRY: dict[str, Rule] = {}


def _register(kind: Kind, name: str, **meta: Any) -> Callable[[Callable[..., Iterable[Outcome]]], Any]:
    def register(check: Callable[..., Iterable[Outcome]]) -> Callable[..., Iterable[Outcome]]:
        if name in REGISTRY:
            raise ValueError(f"policy {name} registered twice")
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name):
            raise ValueError(f"policy name {name} is not kebab-case")
        tokens = meta.pop("tokens")
        REGISTRY[name] = Rule(
            name=name,
            kind=kind,
            tokens=frozenset(tokens),
            tokens_label=meta.pop("tokens_label", None) or ", ".join(sorted(tokens)),
            config=meta.pop("config", None) or {},
            enforcement=meta.pop("enforcement", MANDATORY),
            controls=tuple(meta.pop("controls")),
            check=check,
            area=check.__module__.rsplit(".", 1)[-1],
            **meta,
        )
        return check

    return register


def resource_policy(
    name: str,
    *,
    description: str,
    controls: Iterable[str],
    severity: Severity,
    remediation: str,
    tokens: Iterable[str],
    enforcement: EnforcementLevel = MANDATORY,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    tokens_label: str | None = None,
    predicate: Callable[[str], bool] | None = None,
) -> Callable[[Callable[..., Iterable[Outcome]]], Any]:
    """Register a resource check for the given tokens (and any token the predicate accepts)."""
    return _register(
        "resource",
        name,
        description=description,
        controls=controls,
        severity=severity,
        remediation=remediation,
        tokens=tokens,
        enforcement=enforcement,
        config=config,
        tokens_label=tokens_label,
        predicate=predicate,
    )


def stack_policy(
    name: str,
    *,
    description: str,
    controls: Iterable[str],
    severity: Severity,
    remediation: str,
    tokens: Iterable[str],
    enforcement: EnforcementLevel = MANDATORY,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[Callable[..., Iterable[Outcome]]], Any]:
    """Register a stack check; ``tokens`` lists the resource types it joins (for the docs)."""
    return _register(
        "stack",
        name,
        description=description,
        controls=controls,
        severity=severity,
        remediation=remediation,
        tokens=tokens,
        enforcement=enforcement,
        config=config,
    )


class Stack:
    """Every resource of the stack, indexed, with the joins policies need."""

    # The view of the last analysed resource list. Under preflight's fast path every stack policy
    # of one analysis receives the same list, so the view (every resource's properties converted
    # once) is built once, not once per stack policy; under the CLI each policy gets a list of its
    # own and the view is built per policy, as before. The list itself is held, so its identity
    # cannot be reused by a later one; views are never mutated by policies.
    _last: ClassVar[tuple[object, str, Stack] | None] = None

    def __init__(self, resources: Iterable[Resource], stack: str = "") -> None:
        converted = list(resources)
        # Registrations this run leaves out (``Resource.placeholder``) are not in the view: their
        # properties are judged in the run that creates them. ``left_out`` still tells they exist.
        self.resources = [resource for resource in converted if not resource.placeholder]
        self.placeholders = [resource for resource in converted if resource.placeholder]
        self.name = stack
        self.by_urn = {resource.urn: resource for resource in self.resources}
        self._position = {resource.urn: index for index, resource in enumerate(self.resources)}
        self._by_type: dict[str, list[Resource]] = {}
        for resource in self.resources:
            self._by_type.setdefault(resource.type, []).append(resource)

    @classmethod
    def from_args(cls, args: StackValidationArgs, stack: str) -> Stack:
        resources = args.resources
        last = cls._last
        if last is not None and last[0] is resources and last[1] == stack:
            return last[2]
        view = cls((Resource.from_policy_resource(resource) for resource in resources), stack)
        cls._last = (resources, stack, view)
        return view

    def left_out(self, *tokens: str) -> list[Resource]:
        """The registrations of these types that this run leaves out (``Resource.placeholder``)."""
        return [resource for resource in self.placeholders if resource.type in tokens]

    def of(self, *tokens: str) -> list[Resource]:
        """The resources of these types, in registration order (an index, not a scan per call)."""
        found = [resource for token in set(tokens) for resource in self._by_type.get(token, ())]
        if len(tokens) > 1:
            found.sort(key=lambda resource: self._position[resource.urn])
        return found

    def sources(self, resource: Resource, prop: str, *tokens: str) -> list[Resource]:
        """The resources of these types that the input ``prop`` of ``resource`` came from."""
        wanted = set(tokens)
        found = []
        for urn in resource.property_dependencies.get(prop, ()):
            source = self.by_urn.get(urn)
            if source is not None and (not wanted or source.type in wanted):
                found.append(source)
        return found

    def dependents(self, resource: Resource, prop: str, *tokens: str) -> list[Resource]:
        """The resources of these types whose input ``prop`` came from ``resource``."""
        return [other for other in self.of(*tokens) if resource.urn in other.property_dependencies.get(prop, ())]


def _report(
    rule: Rule, report: ReportViolation, outcomes: list[Outcome], resource: Resource | None, stack: str
) -> None:
    undecided: Undecided | None = None
    for outcome in outcomes:
        if isinstance(outcome, Undecided):
            undecided = undecided or outcome
            continue
        subject = outcome.resource or resource
        urn = subject.urn if subject is not None else ""
        name = subject.name if subject is not None else ""
        if waivers.find(rule.name, stack, urn, name) is not None:
            continue  # reported by the advisory waived-violations policies instead
        report(outcome.message(resource), urn or None)
    if undecided is not None:
        # The SDK turns this into its advisory "can't run policy ... during preview: ... can't be known
        # during preview" diagnostic, for a resource policy and a stack policy alike (pulumi_policy
        # policy.py, _PolicyAnalyzerServicer.Analyze and AnalyzeStack: `except UnknownValueError`). The
        # violations reported before it stay in the response.
        path = undecided.path.split(".")
        if resource is None and undecided.resource is not None:
            path = [undecided.resource.name, *path]
        raise UnknownValueError(UNKNOWN_STRING_VALUE, path)


def to_policy(rule: Rule) -> Policy:
    """The pulumi-policy object for a registered rule."""
    schema = (
        PolicyConfigSchema(properties={key: dict(value) for key, value in rule.config.items()}) if rule.config else None
    )
    common: dict[str, Any] = {
        "description": rule.description,
        "enforcement_level": rule.enforcement,
        "config_schema": schema,
        "severity": rule.severity,
        "tags": list(rule.controls),
        "remediation_steps": rule.remediation,
    }
    if rule.kind == "resource":

        def validate_resource(args: ResourceValidationArgs, report: ReportViolation) -> None:
            if not rule.applies_to(args.resource_type):
                return
            stack = waivers.current_stack()
            resource = Resource.from_args(args)
            if resource.placeholder:
                return
            config = rule.effective_config(args.get_config(), stack)
            _report(rule, report, rule.outcomes(resource, config), resource, stack)

        return ResourceValidationPolicy(rule.name, validate=validate_resource, **common)

    def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
        stack_name = waivers.current_stack()
        stack = Stack.from_args(args, stack_name)
        config = rule.effective_config(args.get_config(), stack_name)
        # Undecided outcomes go through too: a first preview whose unknowns keep a stack policy from
        # deciding gets the SDK's advisory, never a silent pass.
        _report(rule, report, rule.outcomes(stack, config), None, stack_name)

    return StackValidationPolicy(rule.name, validate=validate_stack, **common)


class Area(Enum):
    """The pack's modules, one per area of the control catalog."""

    ENCRYPTION = "encryption"
    REGISTRY = "registry"
    CLUSTER = "cluster"
    NODES = "nodes"
    NETWORK = "network"
    TENANCY = "tenancy"
    IDENTITY = "identity"
    AUDIT = "audit"
    COST = "cost"
    GOVERNANCE = "governance"


def all_findings(
    stack: Stack, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> Iterator[tuple[Rule, Finding]]:
    """Every finding of every policy over a stack (for waiver bookkeeping), before waivers."""
    for rule in REGISTRY.values():
        if rule.area == Area.GOVERNANCE.value:
            continue
        config = rule.effective_config((overrides or {}).get(rule.name), stack.name)
        if rule.kind == "resource":
            for resource in stack.resources:
                if rule.applies_to(resource.type):
                    for outcome in rule.outcomes(resource, config):
                        if isinstance(outcome, Finding):
                            yield rule, Finding(outcome.path, outcome.problem, outcome.expected, outcome.fix, resource)
        else:
            for outcome in rule.outcomes(stack, config):
                if isinstance(outcome, Finding):
                    yield rule, outcome


__all__ = [
    "ADVISORY",
    "CRITICAL",
    "HIGH",
    "LOW",
    "MANDATORY",
    "MEDIUM",
    "REGISTRY",
    "UNKNOWN",
    "Config",
    "Finding",
    "Resource",
    "Rule",
    "Stack",
    "Undecided",
    "all_findings",
    "expect",
    "number",
    "resource_policy",
    "shown",
    "stack_policy",
    "string_list",
    "to_policy",
]
