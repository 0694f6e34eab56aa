"""Waivers as code: waived violations reported as waived, and the waiver file itself kept honest."""

from __future__ import annotations

from collections.abc import Iterator

from ai_guardrails.core import (
    ADVISORY,
    HIGH,
    LOW,
    REGISTRY,
    Config,
    Finding,
    Outcome,
    Resource,
    Stack,
    all_findings,
    resource_policy,
    stack_policy,
)
from ai_guardrails.waivers import find, load, today

WAIVER_CONTROLS = ["WAIVERS"]


def _waived(stack: Stack, rule_name: str, finding: Finding) -> Iterator[Finding]:
    subject = finding.resource
    urn, name = (subject.urn, subject.name) if subject is not None else ("", "")
    waiver = find(rule_name, stack.name, urn, name)
    if waiver is not None:
        note = f"[{rule_name}] {finding.message(subject)}\n{waiver.annotation(rule_name)}"
        yield Finding("(waived)", note, "—", "—", subject)


class _Note(Finding):
    """A finding whose message is the waived violation verbatim."""

    def message(self, resource: Resource | None) -> str:
        return self.problem


@resource_policy(
    "waived-violations",
    description="Reports every waived resource violation, with its waiver, so none is silently dropped.",
    controls=WAIVER_CONTROLS,
    severity=LOW,
    enforcement=ADVISORY,
    remediation="Fix the resource and delete the waiver before it expires.",
    tokens=[],
    tokens_label="every resource",
    predicate=lambda token: True,
)
def waived_violations(r: Resource, config: Config) -> Iterator[Outcome]:
    """Re-runs every resource policy on the resource and reports the findings a valid waiver in waivers.yaml covers."""
    stack = Stack([r], config.stack)
    for rule in list(REGISTRY.values()):
        if rule.kind != "resource" or rule.area == "governance" or not rule.applies_to(r.type):
            continue
        for outcome in rule.outcomes(r, rule.effective_config(None, config.stack)):
            if isinstance(outcome, Finding):
                finding = Finding(outcome.path, outcome.problem, outcome.expected, outcome.fix, r)
                for note in _waived(stack, rule.name, finding):
                    yield _Note(note.path, note.problem, note.expected, note.fix, None)


@stack_policy(
    "waived-stack-violations",
    description="Reports every waived stack-policy violation, with its waiver, so none is silently dropped.",
    controls=WAIVER_CONTROLS,
    severity=LOW,
    enforcement=ADVISORY,
    remediation="Fix the resources and delete the waiver before it expires.",
    tokens=["(all)"],
)
def waived_stack_violations(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Re-runs every stack policy and reports the findings a valid waiver covers."""
    for rule in list(REGISTRY.values()):
        if rule.kind != "stack" or rule.area == "governance":
            continue
        for outcome in rule.outcomes(stack, rule.effective_config(None, stack.name)):
            if isinstance(outcome, Finding):
                for note in _waived(stack, rule.name, outcome):
                    yield _Note(note.path, note.problem, note.expected, note.fix, note.resource)


@stack_policy(
    "waiver-hygiene",
    description="Every waiver for this stack names a known policy and has a reason, an owner and an unexpired date.",
    controls=WAIVER_CONTROLS,
    severity=HIGH,
    remediation=(
        "Complete or renew the waiver in policy_packs/ai-guardrails/waivers.yaml, or delete it and fix the violation."
    ),
    tokens=["waivers.yaml"],
)
def waiver_hygiene(stack: Stack, config: Config) -> Iterator[Outcome]:
    """waivers.yaml parses; each entry whose `stack` pattern matches this stack has a policy that exists, a resource, a
    reason, an owner and an `expires` date not in the past.
    """
    waivers, problems = load()
    for problem in problems:
        yield Finding("waivers.yaml", problem, "a valid waiver file", "fix the file")
    now = today()
    for waiver in waivers:
        if waiver.stack and not waiver.applies_to_stack(stack.name):
            continue
        issues = list(waiver.problems)
        if waiver.policy and waiver.policy not in REGISTRY:
            issues.append("names a policy the pack does not have")
        if waiver.expired(now):
            issues.append(f"expired on {waiver.expires}")
        for issue in issues:
            yield Finding(
                waiver.label(),
                issue,
                "a reason, an owner, a known policy and a future expiry",
                "renew, complete or delete the waiver",
            )


@stack_policy(
    "stale-waivers",
    description="Waivers that apply to this stack but match no violation are reported so they get removed.",
    controls=WAIVER_CONTROLS,
    severity=LOW,
    enforcement=ADVISORY,
    remediation="Delete the waiver from waivers.yaml: the violation it covered is gone.",
    tokens=["waivers.yaml"],
)
def stale_waivers(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each valid waiver whose `stack` matches this stack matches at least one finding of its
    policy (before waivers).
    """
    waivers, _ = load()
    now = today()
    relevant = [w for w in waivers if w.valid(now) and w.applies_to_stack(stack.name)]
    if not relevant:
        return
    hits = [(rule.name, finding.resource) for rule, finding in all_findings(stack)]
    for waiver in relevant:
        if not any(
            name == waiver.policy and res is not None and waiver.matches(name, res.urn, res.name) for name, res in hits
        ):
            yield Finding(
                waiver.label(),
                "matches no violation in this stack",
                "a waiver that still covers something",
                "delete the waiver",
            )
