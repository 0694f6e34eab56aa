"""Every policy against its fixture program, through preflight's policy host (the CLI's path).

Per case: the exact set of resources with a mandatory, unwaived violation of the case's policy is
the set of ``bad-…`` resources; every ``ok-…`` resource exists and passes. Messages name the
resource and carry a fix.
"""

from __future__ import annotations

from functools import cache

import guardrails_cases_aws  # noqa: F401 - registers the AWS cases
import guardrails_cases_k8s  # noqa: F401 - registers the Kubernetes cases
import pytest
from guardrails_cases import CASES, PACK, STACK, Case, expected

from preflight import Preview, preview_function


@cache
def run(index: int) -> Preview:
    case = CASES[index]
    config = {"environment": case.config["environment"]} if "environment" in case.config else None
    return preview_function(case.program, stack=STACK, config=config, policy_packs=[PACK])


def name_of(urn: str | None) -> str:
    return (urn or "").rsplit("::", 1)[-1]


def check(case: Case, preview: Preview) -> None:
    assert not preview.errors, preview.errors
    names = {name_of(r.urn) for r in preview.resources}
    violating = {
        name_of(v.urn): v
        for v in preview.violations
        if v.policy == case.policy and v.enforcement_level == "mandatory" and v.waiver is None
    }
    must_fail = {n for n in names if expected(n) is True}
    must_pass = {n for n in names if expected(n) is False}
    assert must_fail, f"{case.policy}: the fixture has no failing resource"
    assert must_pass, f"{case.policy}: the fixture has no passing resource"
    assert set(violating) == must_fail, {n: violating[n].message for n in set(violating) - must_fail}
    for name in must_fail:
        message = violating[name].message
        assert "Fix: " in message, message
        assert "expected " in message, message


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{c.policy}-{i}" for i, c in enumerate(CASES)])
def test_policy_fixture(index: int) -> None:
    check(CASES[index], run(index))
