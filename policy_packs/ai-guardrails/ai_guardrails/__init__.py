"""The ai-guardrails policy pack: the platform's controls (CONTROLS.md) enforced at preview time.

Importing the package registers every policy (one module per area of the catalog); ``policies()``
builds the pulumi-policy objects, in registry order, for ``__main__.py``.
"""

from __future__ import annotations

from pulumi_policy import Policy

from ai_guardrails import (  # noqa: F401 - importing a module registers its policies
    audit,
    cluster,
    cost,
    encryption,
    governance,
    identity,
    network,
    nodes,
    registry,
    tenancy,
)
from ai_guardrails.core import REGISTRY, Rule, to_policy

PACK_NAME = "ai-guardrails"


def rules() -> list[Rule]:
    return list(REGISTRY.values())


def policies() -> list[Policy]:
    return [to_policy(rule) for rule in rules()]
