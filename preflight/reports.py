"""Reports of one or more previews: text (like ``pulumi preview``), JSON, SARIF 2.1.0 and markdown.

Secrets never appear in a report (``[secret]``); values unknown during the preview show as
``[unknown]``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model import PolicyError, Preview, ProgramError, Violation
from .values import UNKNOWN, Secret

TOOL_NAME = "preflight"
TOOL_VERSION = "1.0.0"
TOOL_URI = "https://github.com/secure-ai-platform/secure-ai-platform/tree/main/preflight"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


@dataclass
class Failed:
    """A stack whose program or config failed (exit code 2)."""

    project: str
    stack: str
    error: ProgramError


Outcome = Preview | Failed


def redact(value: Any) -> Any:
    """A JSON-safe copy of a property value with secrets hidden and unknowns spelled out."""
    if value is UNKNOWN:
        return "[unknown]"
    if isinstance(value, Secret):
        return "[secret]"
    if isinstance(value, dict):
        return {str(key): redact(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def summary(preview: Preview) -> dict[str, Any]:
    return {
        "resources": len(preview.resources),
        "mandatory": len(preview.mandatory),
        "advisory": len(preview.advisory),
        "waived": len(preview.waived),
        "errors": len(preview.errors),
        "seconds": round(preview.seconds, 3),
    }


def _short(urn: str | None) -> str:
    if not urn:
        return "(stack)"
    parts = urn.split("::")
    return f"{parts[2].split('$')[-1]}::{parts[3]}" if len(parts) == 4 else urn


def _first_line(message: str) -> str:
    return message.splitlines()[0] if message else ""


def _detail(message: str) -> list[str]:
    return [line for line in message.splitlines()[1:] if not line.startswith("waived:")]


# ---------------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------------


def text(outcomes: Sequence[Outcome], *, debug: bool = False) -> str:
    lines: list[str] = []
    for outcome in outcomes:
        if isinstance(outcome, Failed):
            lines.extend(_text_failed(outcome, debug))
        else:
            lines.extend(_text_preview(outcome, debug))
        lines.append("")
    if len(outcomes) > 1:
        lines.append("Stacks:")
        for outcome in outcomes:
            lines.append("    " + stack_line(outcome))
    return "\n".join(lines).rstrip() + "\n"


def stack_line(outcome: Outcome) -> str:
    if isinstance(outcome, Failed):
        return f"{outcome.stack}: FAILED: {outcome.error.location_message().splitlines()[0]}"
    s = summary(outcome)
    verdict = "passed" if outcome.passed else "FAILED"
    return (
        f"{outcome.stack}: {verdict}: {s['resources']} resources, {s['mandatory']} mandatory, "
        f"{s['advisory']} advisory, {s['waived']} waived, {s['errors']} policy errors ({s['seconds']:.1f}s)"
    )


def _text_failed(failed: Failed, debug: bool) -> list[str]:
    lines = [f"Previewing {failed.project}/{failed.stack}", "", "error: " + failed.error.location_message()]
    if debug and failed.error.detail:
        lines.extend(["", failed.error.detail.rstrip()])
    return lines


def _tree(preview: Preview) -> list[str]:
    children: dict[str | None, list[Any]] = {}
    for record in preview.resources:
        if record.is_provider and record.name.startswith("default"):
            continue
        children.setdefault(record.parent, []).append(record)
    rows: list[tuple[str, str]] = []

    def walk(parent: str | None, prefix: str) -> None:
        items = children.get(parent, [])
        for index, record in enumerate(items):
            last = index == len(items) - 1
            branch = "" if parent is None else ("└─ " if last else "├─ ")
            rows.append((prefix + branch + record.type, record.name))
            walk(record.urn, prefix + ("" if parent is None else ("   " if last else "│  ")))

    walk(None, "")
    width = max((len(row[0]) for row in rows), default=4)
    verb = " +  "
    lines = [f"{'':4} {'Type':<{width}}  Name"]
    lines.extend(f"{verb} {type_:<{width}}  {name}" for type_, name in rows)
    return lines


def _text_preview(preview: Preview, debug: bool) -> list[str]:
    lines = [f"Previewing {preview.project}/{preview.stack} ({preview.mode}{', exact' if preview.exact else ''})", ""]
    lines.extend(_tree(preview))
    lines.extend(["", "Resources by type:"])
    for type_, count in sorted(Counter(r.type for r in preview.resources).items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"    {count:>5}  {type_}")
    if preview.diagnostics:
        lines.extend(["", "Diagnostics:"])
        lines.extend(f"    {d.severity}: {d.message}" for d in preview.diagnostics)
    if preview.packs:
        lines.extend(["", "Policies:"])
        for pack in preview.packs:
            lines.extend(_text_pack(preview, pack, debug))
    if preview.outputs:
        lines.extend(["", "Outputs:"])
        for key, value in preview.outputs.items():
            lines.append(f"    {key}: {json.dumps(redact(value))}")
    s = summary(preview)
    lines.extend(
        [
            "",
            f"Summary: {s['resources']} resources; {s['mandatory']} mandatory, {s['advisory']} advisory, "
            f"{s['waived']} waived, {s['errors']} policy errors; "
            f"{'passed' if preview.passed else 'FAILED'} in {s['seconds']:.1f}s",
        ]
    )
    return lines


def _text_pack(preview: Preview, pack: str, debug: bool) -> list[str]:
    violations = [v for v in preview.violations if v.pack == pack]
    errors = [e for e in preview.errors if e.pack == pack]
    remediations = [r for r in preview.remediations if r.pack == pack]
    policies = [p for p in preview.policies if p.pack == pack]
    marker = (
        "❌" if any(v.enforcement_level == "mandatory" and v.waiver is None for v in violations) or errors else "✅"
    )
    lines = [f"    {marker} {pack} ({len(policies)} policies)"]
    order = {"mandatory": 0, "advisory": 1}
    for violation in sorted(violations, key=lambda v: (v.waiver is not None, order.get(v.enforcement_level, 2))):
        level = "waived" if violation.waiver else violation.enforcement_level
        lines.append(f"        [{level}] {violation.policy}  ({_short(violation.urn)})")
        lines.append(f"            {_first_line(violation.message)}")
        lines.extend(f"            {line}" for line in _detail(violation.message))
        if violation.waiver:
            w = violation.waiver
            lines.append(f"            waived: {w.reason} (owner {w.owner or '-'}, expires {w.expires or '-'})")
    for error in errors:
        lines.append(f"        [error] {error.policy or pack}  ({_short(error.urn)})")
        lines.append(f"            policy raised: {error.message}")
        if debug and error.detail:
            lines.extend(f"            {line}" for line in error.detail.rstrip().splitlines())
    for remediation in remediations:
        lines.append(f"        [remediate] {remediation.policy}  ({_short(remediation.urn)}) reported, not applied")
        if remediation.diagnostic:
            lines.append(f"            {remediation.diagnostic}")
    return lines


# ---------------------------------------------------------------------------------------------
# json
# ---------------------------------------------------------------------------------------------


def _violation_json(violation: Violation) -> dict[str, Any]:
    return {
        "pack": violation.pack,
        "policy": violation.policy,
        "enforcementLevel": violation.enforcement_level,
        "urn": violation.urn,
        "message": violation.message,
        "waiver": violation.waiver.as_dict() if violation.waiver else None,
    }


def _error_json(error: PolicyError) -> dict[str, Any]:
    return {"pack": error.pack, "policy": error.policy, "urn": error.urn, "message": error.message}


def json_document(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, Failed):
        err = outcome.error
        return {
            "project": outcome.project,
            "stack": outcome.stack,
            "error": {"message": err.message, "file": err.file, "line": err.line},
        }
    preview = outcome
    return {
        "project": preview.project,
        "stack": preview.stack,
        "mode": preview.mode,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "custom": r.custom,
                "props": redact(r.inputs),
            }
            for r in preview.resources
        ],
        "policies": [
            {"pack": p.pack, "name": p.name, "kind": p.kind, "enforcementLevel": p.enforcement_level}
            for p in preview.policies
        ],
        "violations": [_violation_json(v) for v in preview.violations],
        "errors": [_error_json(e) for e in preview.errors],
        "summary": summary(preview),
    }


def json_report(outcomes: Sequence[Outcome], *, single: bool) -> str:
    documents = [json_document(outcome) for outcome in outcomes]
    payload: Any = documents[0] if single and len(documents) == 1 else documents
    return json.dumps(payload, indent=2, sort_keys=False) + "\n"


# ---------------------------------------------------------------------------------------------
# sarif
# ---------------------------------------------------------------------------------------------


def _relative(path: Path | None, base: Path) -> str | None:
    if path is None:
        return None
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def _location(preview: Preview, base: Path) -> dict[str, Any]:
    target = preview.stack_file or (preview.program_dir / "__main__.py" if preview.program_dir else None)
    uri = _relative(target, base) or "Pulumi.yaml"
    location: dict[str, Any] = {"uri": uri}
    if not uri.startswith("file:"):
        location["uriBaseId"] = "%SRCROOT%"
    return {"physicalLocation": {"artifactLocation": location, "region": {"startLine": 1}}}


def _sarif_level(level: str) -> str:
    return {"mandatory": "error", "advisory": "warning", "remediate": "note"}.get(level, "none")


def sarif(outcomes: Sequence[Outcome], *, base: Path) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    previews = [o for o in outcomes if isinstance(o, Preview)]
    for preview in previews:
        for policy in preview.policies:
            rule_id = f"{policy.pack}/{policy.name}"
            if rule_id in rule_index:
                continue
            rule_index[rule_id] = len(rules)
            rule: dict[str, Any] = {
                "id": rule_id,
                "name": policy.name,
                "shortDescription": {"text": policy.description or policy.name},
                "fullDescription": {"text": policy.description or policy.name},
                "defaultConfiguration": {"level": _sarif_level(policy.enforcement_level)},
                "properties": {"pack": policy.pack, "kind": policy.kind, "tags": ["policy", *policy.tags]},
            }
            if policy.remediation_steps:
                rule["help"] = {"text": policy.remediation_steps}
            if policy.url:
                rule["helpUri"] = policy.url
            rules.append(rule)
    for preview in previews:
        for violation in preview.violations:
            results.append(_sarif_result(preview, violation, rule_index, base))
        for error in preview.errors:
            notifications.append(
                {
                    "level": "error",
                    "message": {
                        "text": f"{preview.stack}: policy {error.pack}/{error.policy or '-'} raised on "
                        f"{error.urn or 'the stack'}: {error.message}"
                    },
                }
            )
    for outcome in outcomes:
        if isinstance(outcome, Failed):
            notifications.append(
                {"level": "error", "message": {"text": f"{outcome.stack}: {outcome.error.location_message()}"}}
            )
    invocation: dict[str, Any] = {
        "executionSuccessful": all(isinstance(o, Preview) and not o.errors for o in outcomes),
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run = {
        "tool": {"driver": {"name": TOOL_NAME, "version": TOOL_VERSION, "informationUri": TOOL_URI, "rules": rules}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": base.resolve().as_uri() + "/"}},
        "invocations": [invocation],
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _sarif_result(preview: Preview, violation: Violation, rule_index: dict[str, int], base: Path) -> dict[str, Any]:
    rule_id = f"{violation.pack}/{violation.policy}"
    urn = violation.urn or preview.stack_urn
    name = urn.split("::")[-1]
    text_lines = [
        _first_line(violation.message),
        *_detail(violation.message),
        f"Stack: {preview.stack}",
        f"Resource: {urn}",
    ]
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "level": _sarif_level(violation.enforcement_level),
        "message": {"text": "\n".join(line for line in text_lines if line)},
        "locations": [
            {
                **_location(preview, base),
                "logicalLocations": [{"name": name, "fullyQualifiedName": urn, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {
            "preflightViolation/v1": hashlib.sha256(
                "\n".join((preview.stack, rule_id, urn, _first_line(violation.message))).encode()
            ).hexdigest()
        },
        "properties": {"stack": preview.stack, "urn": urn, "enforcementLevel": violation.enforcement_level},
    }
    if rule_id in rule_index:
        result["ruleIndex"] = rule_index[rule_id]
    record = preview.find(urn)
    if record is not None and record.source is not None:
        source_uri = _relative(Path(record.source[0]), base)
        if source_uri:
            artifact: dict[str, Any] = {"uri": source_uri}
            if not source_uri.startswith("file:"):
                artifact["uriBaseId"] = "%SRCROOT%"
            result["relatedLocations"] = [
                {
                    "id": 0,
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": {"startLine": max(record.source[1], 1)},
                    },
                    "message": {"text": "declared here"},
                }
            ]
    if violation.waiver is not None:
        waiver = violation.waiver
        justification = waiver.reason
        if waiver.owner or waiver.expires:
            justification += f" (owner: {waiver.owner or '-'}, expires: {waiver.expires or '-'})"
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": justification}]
    return result


# ---------------------------------------------------------------------------------------------
# markdown
# ---------------------------------------------------------------------------------------------


def markdown(outcomes: Sequence[Outcome], *, limit: int = 20) -> str:
    failed = any(isinstance(o, Failed) or not o.passed for o in outcomes)
    lines = [f"### preflight: {'❌ blocked' if failed else '✅ passed'}", ""]
    lines.append("| stack | result | resources | mandatory | advisory | waived | policy errors |")
    lines.append("|---|---|---:|---:|---:|---:|---:|")
    for outcome in outcomes:
        if isinstance(outcome, Failed):
            lines.append(f"| `{outcome.stack}` | ❌ program failed | | | | | |")
            continue
        s = summary(outcome)
        verdict = "✅" if outcome.passed else "❌"
        lines.append(
            f"| `{outcome.stack}` | {verdict} | {s['resources']} | {s['mandatory']} | {s['advisory']} | "
            f"{s['waived']} | {s['errors']} |"
        )
    blocking: list[str] = []
    for outcome in outcomes:
        if isinstance(outcome, Failed):
            blocking.append(f"- `{outcome.stack}`: {_md(outcome.error.location_message().splitlines()[0])}")
            continue
        for violation in outcome.mandatory:
            blocking.append(
                f"- `{outcome.stack}` **{violation.policy}** on `{_short(violation.urn)}`: "
                f"{_md(' '.join(_detail(violation.message)) or _first_line(violation.message))}"
            )
        for error in outcome.errors:
            blocking.append(
                f"- `{outcome.stack}` policy **{error.policy}** raised on `{_short(error.urn)}`: {_md(error.message)}"
            )
    if blocking:
        lines.extend(["", "<details><summary>Blocking findings</summary>", ""])
        lines.extend(blocking[:limit])
        if len(blocking) > limit:
            lines.append(f"- … and {len(blocking) - limit} more")
        lines.extend(["", "</details>"])
    return "\n".join(lines) + "\n"


def _md(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")
