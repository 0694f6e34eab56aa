"""Every reference stack has zero mandatory violations in both preflight modes.

Known violations in code other sessions own are reported to them (not waived, not weakened);
they are listed here as expected failures until fixed, and the marks are strict so a fix shows.
"""

from __future__ import annotations

import pytest
from guardrails_cases import PACK, REPO

from preflight import preview_program

STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (REPO / "stacks").glob("Pulumi.*.yaml"))
KNOWN = {
    "platform": "access-log bucket uses SSE-S3 (AWS requires it for server access logs; KMS-9 covers model/data buckets: s3-sse-kms needs a purpose-aware exemption)",
    "baseline": "deployer has PowerUserAccess; tenant boundary uses NotAction; logs key admits a service principal outside the KMS-3 list",
    # Tier C stacks: the exact remaining violations and the change each awaits are in tests/infra/test_single_tenant_cluster.py
    # and tests/infra/test_dedicated_hosts.py (AWAITING).
    "tenant": "reused SecureCluster/IsolatedNetwork roles lack the tenant boundary; LogBucket encrypts its bucket with SSE-KMS",
    "hosts": "reused IsolatedNetwork flow-log role lacks the tenant boundary; LogBucket encrypts its bucket with SSE-KMS",
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["first-preview", "update"])
@pytest.mark.parametrize("stack", STACKS)
def test_reference_stack_has_no_mandatory_violation(stack: str, mode: str, request: pytest.FixtureRequest) -> None:
    reason = KNOWN.get(stack.split("-", 1)[0])
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    preview = preview_program(REPO, stack, mode=mode, policy_packs=[PACK])
    mandatory = [v for v in preview.violations if v.enforcement_level == "mandatory" and v.waiver is None]
    assert not preview.errors, preview.errors
    assert not mandatory, "\n".join(v.message for v in mandatory)
