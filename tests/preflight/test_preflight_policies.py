"""The policy host, against preflight's test pack, on the fast path and over the analyzer protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight import Preview, UsageError, Waiver, preview_program

FIXTURES = Path(__file__).parent / "fixtures"
BASIC = FIXTURES / "basic"
TEST_PACK = FIXTURES / "packs" / "test-pack"
PASS_PACK = FIXTURES / "packs" / "pass-pack"
PACK = "preflight-test-pack"


def name(urn: str | None) -> str | None:
    return urn.rsplit("::", 1)[-1] if urn else None


def findings(preview: Preview) -> set[tuple[str, str, str | None]]:
    return {(v.policy, v.enforcement_level, name(v.urn)) for v in preview.violations}


@pytest.fixture(scope="module")
def fast() -> Preview:
    return preview_program(BASIC, "dev", policy_packs=[TEST_PACK])


@pytest.fixture(scope="module")
def exact() -> Preview:
    return preview_program(BASIC, "dev", policy_packs=[TEST_PACK], exact=True)


EXPECTED = {
    # mandatory with its default config (required: environment, owner); the transform adds no owner
    ("required-tags", "mandatory", "main"),
    ("required-tags", "mandatory", "private-a"),
    ("required-tags", "mandatory", "alpha-key"),
    ("required-tags", "mandatory", "beta-key"),
    ("required-tags", "mandatory", "alpha-bucket"),
    ("required-tags", "mandatory", "beta-bucket"),
    # advisory in the pack, raised to mandatory by config/dev.json
    ("advisory-key-description", "mandatory", "beta-key"),
    # the pack's default level (advisory), prefix from config/dev.json
    ("bucket-name-prefix", "advisory", "beta-bucket"),
    # reads vpcId, unknown in a first preview: downgraded to advisory as under the CLI
    ("subnet-in-vpc", "advisory", "private-a"),
    ("waived-public-bucket", "advisory", "beta-bucket"),
    # a stack policy: one violation names a resource, the other the stack
    ("stack-shape", "mandatory", "private-a"),
    ("stack-shape", "mandatory", "fixture-basic-dev"),
}


def test_each_enforcement_level_config_and_default_behaves_as_under_the_cli(fast: Preview) -> None:
    assert findings(fast) == EXPECTED


def test_unknown_reads_are_downgraded_with_the_cli_message(fast: Preview) -> None:
    [violation] = [v for v in fast.violations if v.policy == "subnet-in-vpc"]
    assert violation.message == (
        "can't run policy 'subnet-in-vpc' from policy pack 'preflight-test-pack@v0.0.1' during preview: "
        "string value at .vpcId can't be known during preview"
    )


def test_update_mode_knows_the_values_so_the_policy_runs() -> None:
    preview = preview_program(BASIC, "dev", mode="update", policy_packs=[TEST_PACK])
    assert not [v for v in preview.violations if v.policy == "subnet-in-vpc"]


def test_a_raising_policy_is_an_error_naming_the_resource_and_nothing_it_reported_survives(fast: Preview) -> None:
    assert [(e.pack, e.policy, name(e.urn), e.message) for e in fast.errors] == [
        (PACK, "raising-policy", "main", "boom on main")
    ]
    assert not [v for v in fast.violations if v.policy == "raising-policy"]
    assert not fast.passed
    assert fast.exit_code == 1


def test_disabled_policies_never_run(fast: Preview) -> None:
    assert not [v for v in fast.violations if v.policy == "disabled-policy"]
    assert {p.name: p.enforcement_level for p in fast.policies}["disabled-policy"] == "disabled"


def test_not_applicable_is_reported_per_resource(fast: Preview) -> None:
    not_applicable = {(n.policy, name(n.urn), n.reason) for n in fast.not_applicable}
    assert ("required-tags", "reader", "not a taggable resource") in not_applicable
    assert ("key-rotation", "main", "Policy does not implement validate") in not_applicable


def test_waivers_come_from_the_violation_message(fast: Preview) -> None:
    [violation] = [v for v in fast.violations if v.policy == "waived-public-bucket"]
    assert violation.waiver == Waiver("demo data", "team-beta", "2030-01-01")
    assert violation not in fast.advisory
    assert violation in fast.waived


def test_remediations_are_reported_not_applied(fast: Preview) -> None:
    remediated = {name(r.urn): r.properties for r in fast.remediations}
    assert set(remediated) == {"alpha-key", "beta-key"}
    assert remediated["alpha-key"] is not None
    assert remediated["alpha-key"]["enableKeyRotation"] is True
    assert "enableKeyRotation" not in fast.get("aws:kms/key:Key", "alpha-key").inputs


def test_the_pack_sees_the_environment_the_cli_gives_it(fast: Preview, exact: Preview) -> None:
    assert not [v for v in fast.violations + exact.violations if v.policy == "stack-identity"]


def test_policy_metadata(fast: Preview) -> None:
    kinds = {p.name: (p.kind, p.enforcement_level) for p in fast.policies}
    assert kinds["stack-shape"] == ("stack", "mandatory")
    assert kinds["required-tags"] == ("resource", "mandatory")
    assert kinds["key-rotation"] == ("resource", "remediate")
    assert fast.packs == [PACK]


def test_an_explicit_policy_config_replaces_the_environment_file() -> None:
    preview = preview_program(
        BASIC,
        "dev",
        policy_packs=[TEST_PACK],
        policy_config={"all": "advisory", "bucket-name-prefix": {"prefix": "beta"}, "required-tags": {"required": []}},
    )
    assert not preview.mandatory
    assert ("bucket-name-prefix", "advisory", "alpha-bucket") in findings(preview)
    assert not [v for v in preview.violations if v.policy == "required-tags"]


def test_an_invalid_policy_config_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="bucket-name-prefix"):
        preview_program(BASIC, "dev", policy_packs=[TEST_PACK], policy_config={"bucket-name-prefix": {"prefix": 3}})
    with pytest.raises(UsageError, match="not a valid enforcement level"):
        preview_program(BASIC, "dev", policy_packs=[TEST_PACK], policy_config={"required-tags": "sometimes"})


def test_a_passing_pack_passes() -> None:
    preview = preview_program(BASIC, "dev", policy_packs=[PASS_PACK])
    assert preview.violations == []
    assert preview.errors == []
    assert preview.exit_code == 0


def test_fast_and_exact_paths_report_identically_in_first_preview(fast: Preview, exact: Preview) -> None:
    assert fast.policy_outcome() == exact.policy_outcome()
    assert [v.key() for v in fast.violations] == [v.key() for v in exact.violations]


def test_fast_and_exact_paths_report_identically_in_update_mode() -> None:
    fast = preview_program(BASIC, "prod", mode="update", policy_packs=[TEST_PACK, PASS_PACK])
    exact = preview_program(BASIC, "prod", mode="update", policy_packs=[TEST_PACK, PASS_PACK], exact=True)
    assert fast.policy_outcome() == exact.policy_outcome()
    assert fast.packs == exact.packs == [PACK, "preflight-pass-pack"]
