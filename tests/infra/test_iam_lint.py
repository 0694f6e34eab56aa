"""Every IAM document the account baseline writes, linted with parliament (the IAM policy linter).

The documents are the roles' trust policies, their inline policies and the two permissions
boundaries of both reference stacks. Parliament's
findings must be exactly the explained ones below: a new finding fails, and so does an
explanation that no longer matches a finding.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from parliament import analyze_policy_string

from preflight import Preview, preview_program

REPO = Path(__file__).resolve().parents[2]

TRUST_HAS_NO_RESOURCE = (
    "parliament lints identity policies; a role trust policy applies to the role itself and has no Resource by design"
)
GITHUB_FEDERATION = (
    "parliament knows only Cognito, SAML and a few web identity providers; GitHub Actions' OIDC provider "
    "(token.actions.githubusercontent.com) is the documented AWS integration, scoped by :aud and :sub"
)
BOUNDARY_CEILING = (
    "the boundary's NotAction allow is a ceiling, not a grant: it lets identity policies grant anything outside "
    "the excluded services; resource scoping belongs to those identity policies"
)
AUDIT_READS_EVERYTHING = (
    "the live audit reads the configuration of every resource of the catalog's types: Describe/Get/List "
    "actions on '*' by design (no object, secret or log content reads)"
)

# (document, parliament issue) -> why it is acceptable.
EXPLAINED: dict[tuple[str, str], str] = {
    **{
        (f"trust:{role}", "MALFORMED"): TRUST_HAS_NO_RESOURCE
        for role in ("platform-admin", "break-glass", "deployer", "ci", "audit", "ecr-templates", "cloudtrail-logs")
    },
    **{(f"trust:{role}", "UNKNOWN_FEDERATION_SOURCE"): GITHUB_FEDERATION for role in ("deployer", "ci", "audit")},
    ("policy:tenant-boundary", "RESOURCE_STAR"): BOUNDARY_CEILING,
    ("policy:platform-boundary", "RESOURCE_STAR"): BOUNDARY_CEILING,
    ("inline:audit", "RESOURCE_STAR"): AUDIT_READS_EVERYTHING,
    ("inline:templates", "UNKNOWN_CONDITION_FOR_ACTION"): (
        "kms:ResourceAliases (2021) applies to CreateGrant, DescribeKey and RetireGrant per the IAM service "
        "reference; parliament's bundled action database predates it"
    ),
}


def _short(name: str) -> str:
    return name.removeprefix("baseline-roles-").removeprefix("baseline-audit-").removeprefix("baseline-registry-")


def documents(preview: Preview) -> dict[str, str]:
    found: dict[str, str] = {}
    for record in preview.by_type("aws:iam/role:Role"):
        role = record.inputs["name"].removeprefix(f"aip-{preview.stack.removeprefix('baseline-')}-platform-")
        found[f"trust:{role}"] = record.inputs["assumeRolePolicy"]
    for record in preview.by_type("aws:iam/policy:Policy"):
        found[f"policy:{record.inputs['name'].split('-', 2)[2]}"] = record.inputs["policy"]
    for record in preview.by_type("aws:iam/rolePolicy:RolePolicy"):
        if isinstance(record.inputs["policy"], str):
            found[f"inline:{_short(record.name)}"] = record.inputs["policy"]
    return found


def findings(document: str) -> set[str]:
    policy = analyze_policy_string(document)
    return {finding.issue for finding in policy.findings}


@pytest.fixture(scope="module", params=["baseline-dev", "baseline-prod"])
def preview(request: pytest.FixtureRequest) -> Preview:
    return preview_program(REPO, request.param)


def test_every_baseline_iam_document_is_linted(preview: Preview) -> None:
    names = set(documents(preview))
    assert names == {
        *(f"trust:{role}" for role in ("platform-admin", "break-glass", "deployer", "ci", "audit", "ecr-templates")),
        "trust:cloudtrail-logs",
        "policy:tenant-boundary",
        "policy:platform-boundary",
        "inline:deployer",
        "inline:ci",
        "inline:audit",
        "inline:delivery",
        "inline:templates",
    }


def test_parliament_findings_are_exactly_the_explained_ones(preview: Preview) -> None:
    actual = {(name, issue) for name, document in documents(preview).items() for issue in findings(document)}
    assert actual == set(EXPLAINED)
