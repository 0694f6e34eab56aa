"""Waivers as code, through preflight: waived, expired, incomplete and stale waivers."""

from __future__ import annotations

from pathlib import Path

import pulumi_aws as aws
import pytest
from guardrails_cases import PACK, STACK

from preflight import Preview, preview_function

WAIVERS = """
waivers:
  - {policy: kms-key-rotation, stack: "fixture-*", resource: waived-key, reason: HSM-backed rotation outside KMS, owner: sec@example.com, expires: "2999-01-01"}
  - {policy: kms-key-rotation, stack: "fixture-*", resource: expired-key, reason: old, owner: sec@example.com, expires: "2020-01-01"}
  - {policy: kms-key-rotation, stack: "fixture-*", resource: nothing-here, reason: stale, owner: sec@example.com, expires: "2999-01-01"}
  - {policy: kms-key-rotation, stack: "fixture-*", resource: ownerless-key, reason: no owner, expires: "2999-01-01"}
  - {policy: kms-key-rotation, stack: "other-*", resource: other-key, reason: elsewhere, owner: x@example.com, expires: "2020-01-01"}
"""


def program() -> None:
    for name in ("waived-key", "expired-key", "ownerless-key"):
        aws.kms.Key(name)


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Preview:
    path: Path = tmp_path_factory.mktemp("waivers") / "waivers.yaml"
    path.write_text(WAIVERS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AI_GUARDRAILS_WAIVERS_FILE", str(path))
        return preview_function(program, stack=STACK, policy_packs=[PACK])


def of(preview: Preview, policy: str) -> list:
    return [v for v in preview.violations if v.policy == policy]


def test_waived_violation_is_reported_as_waived(preview: Preview) -> None:
    rotation = {
        v.urn.rsplit("::", 1)[-1] for v in of(preview, "kms-key-rotation") if v.enforcement_level == "mandatory"
    }
    assert rotation == {"expired-key", "ownerless-key"}
    waived = [v for v in of(preview, "waived-violations") if v.waiver is not None]
    assert [v.urn.rsplit("::", 1)[-1] for v in waived] == ["waived-key"]
    assert waived[0].waiver.owner == "sec@example.com"
    assert waived[0].waiver.expires == "2999-01-01"
    assert waived[0].enforcement_level == "advisory"


def test_expired_and_ownerless_waivers_are_mandatory_violations(preview: Preview) -> None:
    messages = [v.message for v in of(preview, "waiver-hygiene")]
    assert all(v.enforcement_level == "mandatory" for v in of(preview, "waiver-hygiene"))
    assert any("entry #2" in m and "expired" in m for m in messages)
    assert any("entry #4" in m and "lacks 'owner'" in m for m in messages)
    assert not any("entry #5" in m for m in messages), "a waiver for another stack is not this stack's business"


def test_waiver_matching_nothing_is_advisory(preview: Preview) -> None:
    stale = of(preview, "stale-waivers")
    assert [v.enforcement_level for v in stale] == ["advisory"]
    assert "entry #3" in stale[0].message
