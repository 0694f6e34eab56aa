"""Builds the ai-guardrails policy pack from the registry (run by `pulumi preview --policy-pack`)."""

from ai_guardrails import PACK_NAME, policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
