"""Generate the parts of docs/audit.md that come from the registry and the IAM policy.

``python -m audit.docs`` rewrites the generated blocks of docs/audit.md in place;
``python -m audit.docs --check`` exits 1 when the file is stale (a test runs the same comparison).
``checks_by_control()`` is what a controls page needs to show run-time checks beside the
preview-time policies of each control.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aiplatform_standards import controls

from audit.model import STACK, TAGGED, Check
from audit.permissions import policy
from audit.registry import checks

DOC = Path(__file__).resolve().parent.parent / "docs" / "audit.md"
_BLOCK = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)", re.S
)
_SCOPES = {TAGGED: "every resource with the stack's tag", STACK: "the stack"}


def checks_by_control(registered: Sequence[Check] | None = None) -> dict[str, list[str]]:
    """Control ID -> the run-time checks that report it, for every control of the catalog."""
    found: dict[str, list[str]] = {control.id: [] for control in controls()}
    for check in registered if registered is not None else checks():
        for control in check.controls:
            found[control].append(check.id)
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def checks_table() -> str:
    rows = [
        "| check | controls | severity | resources | what it verifies | remediation |",
        "|---|---|---|---|---|---|",
    ]
    for check in checks():
        scope = ", ".join(_SCOPES.get(kind, f"`{kind}`") for kind in check.resource_types)
        if check.needs_state:
            scope += " (with `--state`)"
        rows.append(
            f"| `{check.id}` | {', '.join(check.controls)} | {check.severity} | {scope} | "
            f"{_cell(check.title)} | {_cell(check.remediation)} |"
        )
    registered = checks()
    return f"{len(registered)} checks.\n\n" + "\n".join(rows) + "\n"


def coverage_table() -> str:
    by_control = checks_by_control()
    rows = ["| control | title | run-time checks |", "|---|---|---|"]
    for control in controls():
        names = ", ".join(f"`{name}`" for name in by_control[control.id]) or "— (preview or admission time only)"
        rows.append(f"| {control.id} | {_cell(control.title)} | {names} |")
    covered = sum(1 for names in by_control.values() if names)
    return f"The audit reports {covered} of the catalog's {len(by_control)} controls.\n\n" + "\n".join(rows) + "\n"


def iam_policy_block() -> str:
    return "```json\n" + json.dumps(policy(), indent=2) + "\n```\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "checks": checks_table,
    "coverage": coverage_table,
    "iam-policy": iam_policy_block,
}


def render(text: str) -> str:
    """``text`` with every generated block rewritten."""

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in GENERATORS:
            raise ValueError(f"docs/audit.md names an unknown generated block {name!r}")
        return f"{match.group(1)}{GENERATORS[name]()}{match.group(4)}"

    return _BLOCK.sub(replace, text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audit.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/audit.md is stale")
    args = parser.parse_args(argv)
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if args.check:
        if wanted != current:
            print(f"{DOC} is stale: run python -m audit.docs", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
