"""Shared helpers of the tier C tests: a reference stack's config, its counts, its remaining violations."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from preflight import Preview, preview_program
from preflight.model import Mode

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policy_packs" / "ai-guardrails"


def stack_config(stack: str) -> dict[str, Any]:
    """The stack file's config (namespaced keys), to run variants of a reference stack."""
    config: dict[str, Any] = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return config


def counts(preview: Preview) -> dict[str, int]:
    return dict(sorted(Counter(record.type for record in preview.resources).items()))


def remaining_violations(stack: str, mode: Mode) -> set[tuple[str, str]]:
    """(policy, resource name) of every mandatory, unwaived violation of the stack through the pack."""
    preview = preview_program(ROOT, stack, mode=mode, policy_packs=[PACK])
    assert not preview.errors, preview.errors
    return {(violation.policy, (violation.urn or "").rsplit("::", 1)[-1]) for violation in preview.mandatory}
