"""Property-based: random, partial, unknown and secret inputs never crash a policy or leak a secret.

Inputs go through the SDK's own deserialisation and unknown-checking proxy, exactly as the
analyzer servicer builds them, and every policy runs through the pack's wrapper.
"""

from __future__ import annotations

import sys
from typing import Any

import hypothesis.strategies as st
from guardrails_cases import PACK
from hypothesis import HealthCheck, example, given, settings
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

sys.path.insert(0, str(PACK))
import ai_guardrails
from ai_guardrails.core import Finding, Resource, Stack
from ai_guardrails.values import plain

RULES = ai_guardrails.rules()
TOKENS = sorted({token for rule in RULES for token in rule.tokens if ":" in token and "*" not in token})
SECRET = "S3CR3T_Value-Never_Shown"
KEYS = [
    "tags",
    "policy",
    "metadata",
    "spec",
    "rules",
    "encryptionConfig",
    "vpcConfig",
    "instanceTypes",
    "taints",
    "labels",
    "name",
    "bucket",
    "enabled",
    "ingress",
    "egress",
    "namespace",
    "kmsKeyId",
    "scalingConfig",
    "assumeRolePolicy",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 70000),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.just(UNKNOWN_STRING_VALUE),
    st.just("*"),
    st.just("0.0.0.0/0"),
)
secret = st.builds(lambda: {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": SECRET})
values = st.recursive(
    st.one_of(scalars, secret),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from([*KEYS, "type", "key", "value", "Statement", "Effect"]), inner, max_size=4),
    ),
    max_leaves=12,
)
props = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)


def _resource(token: str, raw: dict[str, Any]) -> Resource:
    proxied = unknown_checking_proxy(deserialize_properties(raw))
    return Resource(token, "fuzzed", f"urn:pulumi:s::p::{token}::fuzzed", plain(proxied))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(token=st.sampled_from(TOKENS), raw=props)
def test_resource_policies_never_raise_nor_leak(token: str, raw: dict[str, Any]) -> None:
    resource = _resource(token, raw)
    for rule in RULES:
        if rule.kind != "resource" or not rule.applies_to(token):
            continue
        for outcome in rule.outcomes(resource, rule.effective_config(None, "fuzz")):
            if isinstance(outcome, Finding):
                message = outcome.message(resource)
                assert "internal error" not in message, message
                assert SECRET not in message


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(st.tuples(st.sampled_from(TOKENS), props), max_size=6))
# Found by this test: a Pod Identity association whose namespace is not a string broke a set of namespaces.
@example(entries=[("aws:eks/podIdentityAssociation:PodIdentityAssociation", {"namespace": []})])
def test_stack_policies_never_raise_nor_leak(entries: list[tuple[str, dict[str, Any]]]) -> None:
    stack = Stack([_resource(token, raw) for token, raw in entries], "fuzz")
    for rule in RULES:
        if rule.kind != "stack":
            continue
        for outcome in rule.outcomes(stack, rule.effective_config(None, "fuzz")):
            if isinstance(outcome, Finding):
                message = outcome.message(None)
                assert "internal error" not in message, message
                assert SECRET not in message
