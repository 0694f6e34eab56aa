"""Generates docs/controls.md and config/prod.json from the registry (the one source).

Run from the pack directory: ``python -m ai_guardrails.docs`` writes both files;
``python -m ai_guardrails.docs --check`` exits 1 when either is stale (tests run the check).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aiplatform_standards import controls

from ai_guardrails import rules
from ai_guardrails.core import Rule

PACK_DIR = Path(__file__).resolve().parent.parent
DOC = PACK_DIR.parent.parent / "docs" / "controls.md"
PROD_CONFIG = PACK_DIR / "config" / "prod.json"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _row(rule: Rule) -> str:
    cells = [
        f"`{rule.name}`",
        ", ".join(rule.controls),
        rule.kind,
        rule.severity.value,
        rule.enforcement.value,
        rule.description,
        rule.checks,
        rule.tokens_label if rule.kind == "resource" else ", ".join(sorted(rule.tokens)),
    ]
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def render_doc() -> str:
    registered = rules()
    by_control: dict[str, list[str]] = {}
    for rule in registered:
        for control_id in rule.controls:
            by_control.setdefault(control_id, []).append(rule.name)
    resource = sum(rule.kind == "resource" for rule in registered)
    lines = [
        "# Controls and the ai-guardrails policies",
        "",
        "Generated from the policy registry by `python -m ai_guardrails.docs` (run in",
        "`policy_packs/ai-guardrails`); a test fails when this file is stale. Do not edit by hand.",
        "",
        f"{len(registered)} policies: {resource} resource policies, {len(registered) - resource} stack policies.",
        "Defaults are the prod values (`config/prod.json`); `config/dev.json` relaxes a few for dev stacks.",
        "",
        "## Catalog coverage",
        "",
        "| control | title | policies |",
        "|---|---|---|",
    ]
    for control in controls():
        names = ", ".join(f"`{name}`" for name in by_control.get(control.id, [])) or "**none**"
        lines.append(f"| {control.id} | {_cell(control.title)} | {names} |")
    lines += [
        "",
        "## Policies",
        "",
        "| policy | controls | kind | severity | enforcement | description | what it checks | tokens |",
        "|---|---|---|---|---|---|---|---|",
        *(_row(rule) for rule in registered),
        "",
        "## Waivers",
        "",
        "`policy_packs/ai-guardrails/waivers.yaml` lists policy, stack (name or pattern), resource (URN or",
        "logical-name pattern), reason, owner and expires (YYYY-MM-DD). A waived violation is reported by",
        "`waived-violations` / `waived-stack-violations` (advisory) with a last message line",
        '`waived: {"expires": …, "owner": …, "policy": …, "reason": …}`; an expired, ownerless or',
        "reasonless waiver is a mandatory `waiver-hygiene` violation; a waiver matching nothing is reported",
        "by `stale-waivers`. Control `WAIVERS` marks these governance policies (no catalog row).",
        "",
        "Messages name the resource, the property path, the expected value and the fix. They quote an",
        "input value only when it belongs to a public vocabulary (enum values, booleans) or is a",
        "lowercase identifier (tenant, namespace, instance type, version); anything else is described,",
        "never echoed, because the policy SDK hands policies secret values unwrapped.",
        "",
    ]
    return "\n".join(lines)


def render_prod_config() -> str:
    document = {}
    for rule in rules():
        defaults = rule.defaults()
        if defaults:
            document[rule.name] = {"enforcementLevel": rule.enforcement.value, **defaults}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    outputs = {DOC: render_doc(), PROD_CONFIG: render_prod_config()}
    if "--check" in argv:
        stale = [
            str(path) for path, text in outputs.items() if not path.exists() or path.read_text(encoding="utf-8") != text
        ]
        for path in stale:
            print(f"{path} is stale: run `python -m ai_guardrails.docs` in policy_packs/ai-guardrails", file=sys.stderr)
        return 1 if stale else 0
    for target, content in outputs.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
