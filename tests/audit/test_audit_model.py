"""Unit tests of the pieces the checks share: policy documents, ownership, state, registry."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.context import AuditContext
from audit.identity import Owner, parse_role_name, tag_map
from audit.policy import restricted_to_account, service_restricted, statements
from audit.registry import check, checks
from audit.state import StackState

ACCOUNT = "123456789012"
DNS_LABEL = st.from_regex(r"^[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,6}){0,2}$", fullmatch=True)


def context() -> AuditContext:
    return AuditContext(
        api=None, stack="s", region="us-east-1", account=ACCOUNT, partition="aws", today=date(2026, 6, 1)
    )  # type: ignore[arg-type]


def test_statements_normalise_every_shape() -> None:
    document = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
            {
                "Sid": "Two",
                "Effect": "Deny",
                "Principal": {"AWS": ["a", "b"], "Service": "logs.amazonaws.com"},
                "NotAction": "s3:*",
            },
        ]
    }
    first, second = statements(json.dumps(document))
    assert first.principals[0].wildcard
    assert first.label == "a statement without Sid"
    assert [p.kind for p in second.principals] == ["AWS", "AWS", "Service"]
    assert second.covers("kms:Decrypt")
    assert not second.covers("s3:PutObject")
    assert statements(None) == []
    assert statements("") == []
    single = statements({"Statement": {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:*"]}})
    assert single[0].principals[0].wildcard
    assert single[0].covers("S3:GetObject")


def test_a_wildcard_principal_is_restricted_only_to_this_account() -> None:
    ctx = context()
    (mine,) = statements(
        {
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}}
            ]
        }
    )
    (theirs,) = statements(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalAccount": "999999999999"}},
                }
            ]
        }
    )
    (loose,) = statements(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
                }
            ]
        }
    )
    assert restricted_to_account(ctx, mine)
    assert not restricted_to_account(ctx, theirs)
    assert not restricted_to_account(ctx, loose)
    (context_bound,) = statements(
        {"Statement": [{"Effect": "Allow", "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "x"}}}]}
    )
    assert service_restricted(context_bound)
    assert not service_restricted(loose)


def test_role_names_read_against_the_known_owners_longest_first() -> None:
    owners = {"platform", "vision", "vision-ml"}
    assert parse_role_name("aip-dev-vision-ml-workload", owners) == Owner("dev", "vision-ml", "workload")
    assert parse_role_name("aip-prod-vision-workload", owners) == Owner("prod", "vision", "workload")
    assert parse_role_name("aip-dev-platform-break-glass", owners) == Owner("dev", "platform", "break-glass")
    assert parse_role_name("aip-qa-vision-workload", owners) is None
    assert parse_role_name("someone-elses-role", owners) is None


@settings(max_examples=40, deadline=None)
@given(owner=DNS_LABEL, role=DNS_LABEL, others=st.sets(DNS_LABEL, max_size=4))
def test_a_role_name_round_trips_to_its_owner(owner: str, role: str, others: set[str]) -> None:
    # Other owners that are a hyphenated extension of this one ("a" and "a-b") would make the name
    # ambiguous; the naming rule's owners never overlap that way with the role part.
    others = {other for other in others if not (f"{owner}-{role}").startswith(f"{other}-") or other == owner}
    parsed = parse_role_name(f"aip-dev-{owner}-{role}", {owner, *others})
    assert parsed == Owner("dev", owner, role)


def test_tags_from_every_aws_shape() -> None:
    assert tag_map([{"Key": "a", "Value": "1"}]) == {"a": "1"}
    assert tag_map([{"TagKey": "a", "TagValue": "1"}]) == {"a": "1"}
    assert tag_map({"a": "1"}) == {"a": "1"}
    assert tag_map(None) == {}


def test_state_ignores_components_and_providers() -> None:
    state = StackState.parse(
        {
            "deployment": {
                "resources": [
                    {"urn": "u1", "type": "pulumi:pulumi:Stack", "custom": False},
                    {"urn": "u2", "type": "pulumi:providers:aws", "custom": True, "id": "p"},
                    {"urn": "u3", "type": "secure-ai-platform:key_ring:KeyRing", "custom": False},
                    {
                        "urn": "u4",
                        "type": "aws:kms/key:Key",
                        "custom": True,
                        "id": "k1",
                        "outputs": {"arn": "arn:aws:kms:us-east-1:1:key/k1"},
                    },
                    {"urn": "u5", "type": "aws:s3/bucketV2:BucketV2", "custom": True, "id": "b1", "outputs": {}},
                ]
            }
        }
    )
    assert [held.urn for held in state.resources] == ["u4", "u5"]
    assert state.holds("kms:key", "arn:aws:kms:us-east-1:1:key/k1", "other")
    assert state.holds("s3:bucket", "arn:aws:s3:::b1", "b1")
    assert not state.holds("s3:bucket", "arn:aws:s3:::b2", "b2")


def test_the_registry_refuses_unknown_controls_and_duplicates() -> None:
    def noop(ctx: Any, resource: Any) -> None:
        return None

    with pytest.raises(ValueError, match="not in the control catalog"):
        check("x", title="x", controls=("NOPE-1",), severity="low", resource_types=("*",), remediation="x")(noop)
    existing = checks()[0]
    with pytest.raises(ValueError, match="registered twice"):
        check(existing.id, title="x", controls=("KMS-1",), severity="low", resource_types=("*",), remediation="x")(noop)


def test_every_check_is_documented_and_named_consistently() -> None:
    for registered in checks():
        assert registered.id.islower()
        assert " " not in registered.id
        assert registered.title
        assert registered.remediation.endswith((".", ")"))
        assert registered.resource_types


@pytest.mark.parametrize(
    ("live", "recorded", "problems"),
    [
        ({"endpointPublicAccess": False, "endpointPrivateAccess": True}, None, []),
        (
            {"endpointPublicAccess": True, "endpointPrivateAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
            None,
            [],
        ),
        (
            {"endpointPublicAccess": True, "endpointPrivateAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
            {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
            [],
        ),
        (
            {"endpointPublicAccess": True, "endpointPrivateAccess": True, "publicAccessCidrs": ["198.51.100.0/24"]},
            {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
            ["the public endpoint admits 198.51.100.0/24, which the stack does not configure"],
        ),
        (
            {"endpointPublicAccess": True, "endpointPrivateAccess": False},
            None,
            ["the private endpoint is off", "the public endpoint is open to 0.0.0.0/0"],
        ),
    ],
)
def test_a_public_endpoint_is_allowed_only_restricted_and_as_configured(
    live: dict[str, Any], recorded: dict[str, Any] | None, problems: list[str]
) -> None:
    from audit.checks.eks import eks_endpoint_private
    from audit.model import Resource

    arn = f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/aip-prod-clinical"
    ctx = context()
    if recorded is not None:
        ctx.state = StackState.parse(
            {
                "resources": [
                    {
                        "urn": "u",
                        "type": "aws:eks/cluster:Cluster",
                        "id": "aip-prod-clinical",
                        "outputs": {"arn": arn, "vpcConfig": recorded},
                    }
                ]
            }
        )
    cluster = Resource("eks:cluster", arn, "aip-prod-clinical", data={"resourcesVpcConfig": live})
    assert list(eks_endpoint_private(ctx, cluster) or []) == problems
