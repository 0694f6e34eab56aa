"""Waivers as code: ``waivers.yaml`` beside the pack.

A waiver names a policy, the stacks it applies to (a name or an fnmatch pattern), the resources
(a URN or logical-name pattern), a reason, an owner and an expiry date. A waived violation is
still reported, by the advisory ``waived-violations`` policies, with the waiver attached as the
last line of the message: ``waived: {"policy": ..., "reason": ..., "owner": ..., "expires": ...}``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import yaml

PACK_DIR = Path(__file__).resolve().parent.parent
# Tests point the pack at a fixture waiver file; the CLI and CI use the pack's own file.
FILE_ENV = "AI_GUARDRAILS_WAIVERS_FILE"
WAIVER_LINE_PREFIX = "waived: "
_FIELDS = ("policy", "stack", "resource", "reason", "owner", "expires")


@dataclass(frozen=True)
class Waiver:
    """One entry of waivers.yaml, with the problems that make it invalid."""

    index: int
    policy: str
    stack: str
    resource: str
    reason: str
    owner: str
    expires: dt.date | None
    problems: tuple[str, ...]

    def applies_to_stack(self, stack: str) -> bool:
        return bool(self.stack) and fnmatchcase(stack, self.stack)

    def matches(self, policy: str, urn: str, name: str) -> bool:
        if policy != self.policy or not self.resource:
            return False
        return fnmatchcase(urn, self.resource) or fnmatchcase(name, self.resource)

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def valid(self, today: dt.date) -> bool:
        return not self.problems and not self.expired(today)

    def label(self) -> str:
        return f"waivers.yaml entry #{self.index + 1} (policy '{self.policy}', resource '{self.resource}')"

    def annotation(self, policy: str) -> str:
        body = {
            "policy": policy,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat() if self.expires else None,
        }
        return WAIVER_LINE_PREFIX + json.dumps(body, sort_keys=True)


def parse_annotation(message: str) -> dict[str, Any] | None:
    """The waiver a reported message carries, or None (for preflight and other report readers)."""
    for line in reversed(message.splitlines()):
        if line.startswith(WAIVER_LINE_PREFIX):
            value: dict[str, Any] = json.loads(line[len(WAIVER_LINE_PREFIX) :])
            return value
    return None


def waiver_file() -> Path:
    override = os.environ.get(FILE_ENV)
    return Path(override) if override else PACK_DIR / "waivers.yaml"


def current_stack() -> str:
    """The stack being previewed, as the CLI tells a policy pack (PULUMI_STACK, via the SDK settings)."""
    try:
        stack = pulumi.get_stack()
    except Exception:
        stack = None
    return stack or os.environ.get("PULUMI_STACK", "")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def load() -> tuple[tuple[Waiver, ...], tuple[str, ...]]:
    """The waivers and the file-level problems (an unreadable file waives nothing)."""
    path = waiver_file()
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return (), ()
    return _load(str(path), stamp)


@cache
def _load(path: str, _stamp: int) -> tuple[tuple[Waiver, ...], tuple[str, ...]]:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        return (), (f"{Path(path).name} cannot be read as YAML ({type(error).__name__}); no waiver applies",)
    if document is None:
        return (), ()
    entries = document.get("waivers") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return (), (f"{Path(path).name} must hold a mapping with a 'waivers' list; no waiver applies",)
    return tuple(_entry(index, entry) for index, entry in enumerate(entries)), ()


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    return value.strip() if isinstance(value, str) else ""


def _entry(index: int, entry: Any) -> Waiver:
    if not isinstance(entry, dict):
        return Waiver(index, "", "", "", "", "", None, ("is not a mapping of " + ", ".join(_FIELDS),))
    problems = [f"lacks '{key}'" for key in ("policy", "stack", "resource", "reason", "owner") if not _text(entry, key)]
    raw = entry.get("expires")
    expires: dt.date | None = None
    if isinstance(raw, dt.date):
        expires = raw
    elif isinstance(raw, str):
        try:
            expires = dt.date.fromisoformat(raw)
        except ValueError:
            problems.append("has an 'expires' that is not a YYYY-MM-DD date")
    else:
        problems.append("lacks 'expires' (a YYYY-MM-DD date)")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        problems.append("has unknown keys " + ", ".join(map(str, unknown)))
    return Waiver(
        index,
        _text(entry, "policy"),
        _text(entry, "stack"),
        _text(entry, "resource"),
        _text(entry, "reason"),
        _text(entry, "owner"),
        expires,
        tuple(problems),
    )


def find(policy: str, stack: str, urn: str, name: str) -> Waiver | None:
    """The valid waiver that covers this violation, if any (invalid waivers waive nothing)."""
    now = today()
    waivers, _ = load()
    for waiver in waivers:
        if waiver.valid(now) and waiver.applies_to_stack(stack) and waiver.matches(policy, urn, name):
            return waiver
    return None
