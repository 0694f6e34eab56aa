"""The report's formats: text for people, JSON for machines, SARIF 2.1.0 for code scanning.

The SARIF writer is deliberately small and self-contained; preflight has its own, and the two are
to be folded into one later.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from audit.model import Check, Finding, Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "secure-ai-platform-audit"
# SARIF levels and GitHub's security-severity scores of our severities.
_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "check": finding.check,
        "controls": list(finding.controls),
        "severity": finding.severity,
        "resource": finding.resource,
        "status": finding.status,
        "message": finding.message,
        "remediation": finding.remediation,
    }


def to_json(report: Report) -> dict[str, Any]:
    return {
        "stack": report.stack,
        "region": report.region,
        "findings": [_finding_json(finding) for finding in report.findings],
        "summary": {
            "checked": report.checked,
            "failed": report.failed,
            "notEvaluated": report.not_evaluated,
            "seconds": report.seconds,
        },
    }


def _location(report: Report, finding: Finding) -> dict[str, Any]:
    """The stack's config file (what to change, as preflight reports it) and the resource itself."""
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": f"stacks/Pulumi.{report.stack}.yaml", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 1},
        },
        "logicalLocations": [
            {
                "name": re.split(r"[:/]", finding.resource)[-1] or finding.resource,
                "fullyQualifiedName": finding.resource,
                "kind": "resource",
            }
        ],
    }


def to_sarif(report: Report, checks: Sequence[Check]) -> dict[str, Any]:
    index = {check.id: position for position, check in enumerate(checks)}
    rules = [
        {
            "id": check.id,
            "name": check.id,
            "shortDescription": {"text": check.title},
            "fullDescription": {"text": f"{check.title} (controls {', '.join(check.controls)})"},
            "help": {"text": check.remediation},
            "defaultConfiguration": {"level": _LEVEL[check.severity]},
            "properties": {
                "controls": list(check.controls),
                "severity": check.severity,
                "security-severity": _SECURITY_SEVERITY[check.severity],
                "tags": ["security", *check.controls],
            },
        }
        for check in checks
    ]
    results = []
    for finding in report.findings:
        failed = finding.status == "fail"
        results.append(
            {
                "ruleId": finding.check,
                "ruleIndex": index[finding.check],
                # SARIF: a result that is not a failure carries level "none"; "open" is "the tool
                # could not tell whether it passes", which is what not-evaluated means.
                "kind": "fail" if failed else "open",
                "level": _LEVEL[finding.severity] if failed else "none",
                "message": {"text": finding.message if failed else f"not evaluated: {finding.message}"},
                "locations": [_location(report, finding)],
                # Stable across runs, so that code scanning tracks one alert per check and resource.
                "partialFingerprints": {
                    "auditFinding/v1": hashlib.sha256(
                        "\n".join((report.stack, finding.check, finding.resource)).encode()
                    ).hexdigest()
                },
                "properties": {"controls": list(finding.controls), "status": finding.status, "stack": report.stack},
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": TOOL_NAME, "rules": rules}},
                "invocations": [{"executionSuccessful": True}],
                "results": results,
                "properties": {"stack": report.stack, "region": report.region, "account": report.account},
            }
        ],
    }


def to_text(report: Report) -> str:
    lines = [
        f"audit of stack {report.stack} in {report.region} (account {report.account}): "
        f"{report.resources} resources, {report.checked} checks evaluated, {report.failed} failed, "
        f"{report.not_evaluated} not evaluated, {report.seconds:.1f} s"
    ]
    for finding in report.findings:
        status = "FAIL" if finding.status == "fail" else "NOT EVALUATED"
        lines += [
            "",
            f"{status} [{finding.severity}] {finding.check} ({', '.join(finding.controls)})",
            f"  resource: {finding.resource}",
            f"  {finding.message}",
            f"  fix: {finding.remediation}",
        ]
    return "\n".join(lines) + "\n"


def render(report: Report, output_format: str, checks: Sequence[Check]) -> str:
    if output_format == "json":
        return json.dumps(to_json(report), indent=2) + "\n"
    if output_format == "sarif":
        return json.dumps(to_sarif(report, checks), indent=2) + "\n"
    return to_text(report)
