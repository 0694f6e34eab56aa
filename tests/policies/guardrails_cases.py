"""Fixture programs for every ai-guardrails policy, in the style of Checkov's example_<Check>/ dirs.

Each case is a small Pulumi program of raw pulumi_aws / pulumi_kubernetes resources. Resources
named ``ok-…`` must pass the case's policy, ``bad-…`` must violate it (as a mandatory, unwaived
violation), and every other resource in the program must not violate it either: the test asserts
the exact set of violating resources. ``absent-…`` names mark absent-property cases (their
prefix ``ok``/``bad`` after it says which way the AWS default goes); ``unknown-…`` names use
values computed by the cloud, unknown in a first preview.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy_packs" / "ai-guardrails"
STACK = "fixture-dev"
ACCOUNT = "111122223333"
CASES: list[Case] = []


@dataclass(frozen=True)
class Case:
    """One policy's fixture program and how its resources must fare."""

    policy: str
    program: Callable[[], None]
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.policy


def case(policy: str, **config: Any) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(program: Callable[[], None]) -> Callable[[], None]:
        CASES.append(Case(policy, program, config))
        return program

    return register


def expected(name: str) -> bool | None:
    """True when a resource must violate, False when it must pass, None for supporting resources."""
    bare = name.removeprefix("absent-").removeprefix("unknown-")
    if bare.startswith("bad-"):
        return True
    if bare.startswith("ok-"):
        return False
    return None


def tags(
    tenant: str = "search", tier: str = "shared", classification: str = "internal", **extra: str
) -> dict[str, str]:
    """The standard tags the program's transform would add (fixtures run without the transform)."""
    return {
        "aiplatform:environment": "dev",
        "aiplatform:tier": tier,
        "aiplatform:tenant": tenant,
        "aiplatform:data-classification": classification,
        "aiplatform:cost-center": "cc-test",
        "aiplatform:contact": "team@example.com",
        "aiplatform:stack": STACK,
        **extra,
    }


PLATFORM = tags("platform", "platform", "internal")


def labels(tenant: str = "search", tier: str = "shared", classification: str = "internal") -> dict[str, str]:
    return {
        "aiplatform.io/tenant": tenant,
        "aiplatform.io/tier": tier,
        "aiplatform.io/data-classification": classification,
    }


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/dev/search/api:1.0"
