"""Every AWS resource and invoke of a tier C stack goes through its explicit provider in the tenant's account.

A tier C stack pins ``aws:allowedAccountIds`` to the platform account (the ambient credentials of run 1, the
deployer in CI). In run 2 the ambient credentials are the runner's, in the tenant's account: a default ``aws``
provider would then fail its account check, and in run 1 it would place a tenant resource in the platform account.
So the stack file disables the default aws provider (``pulumi:disable-default-providers``; the engine refuses a
resource or invoke that needs it: pulumi/pulumi pkg/resource/deploy/default_providers.go ``shouldDenyRequest``,
v3.274.1), and here, from preflight's graph in both modes, every custom AWS resource and every invoke names the one
explicit provider, which assumes the tenant deployment role and allows only the tenant's account.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pulumi_aws as aws
import pytest
import yaml

from preflight import Preview, ProgramError, Secret, preview_function, preview_program

REPO = Path(__file__).resolve().parents[2]
PROVIDER = "pulumi:providers:aws"
# Each tier C stack, its tenant and account, and the invokes its program makes (each through the tenant's provider).
TIER_C = {
    "tenant-clinical-prod": (
        "clinical",
        "555566667777",
        {
            "aws:eks/getAddonVersion:getAddonVersion",
            "aws:index/getAvailabilityZones:getAvailabilityZones",
            "aws:index/getCallerIdentity:getCallerIdentity",
            "aws:index/getRegion:getRegion",
        },
    ),
    "hosts-genomics-prod": (
        "genomics",
        "666677778888",
        {
            "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings",
            "aws:index/getAvailabilityZones:getAvailabilityZones",
            "aws:ssm/getParameter:getParameter",
        },
    ),
}
MODES = ("first-preview", "update")


@cache
def stack(name: str, mode: str) -> Preview:
    return preview_program(REPO, name, mode=mode)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(TIER_C))
def test_every_aws_resource_and_invoke_acts_through_the_tenants_provider_in_its_account(name: str, mode: str) -> None:
    tenant, account, tokens = TIER_C[name]
    preview = stack(name, mode)
    [provider] = preview.by_type(PROVIDER)
    assert provider.name == f"{tenant}-account"
    # A provider's object and list inputs reach the engine JSON-encoded, as every provider configuration value.
    assert json.loads(provider.inputs["allowedAccountIds"]) == [account]
    # The external id is a secret, so the whole assumeRoles value travels as one.
    roles = provider.inputs["assumeRoles"]
    assert isinstance(roles, Secret)
    [assume] = json.loads(roles.value)
    assert assume["roleArn"] == f"arn:aws:iam::{account}:role/aip-prod-tenant-deployment"
    assert assume["externalId"] == preview.config["secure-ai-platform:tenantAccount"]["externalId"]
    aws_resources = [record for record in preview.resources if record.custom and record.type.startswith("aws:")]
    assert aws_resources
    assert {record.provider for record in aws_resources} == {provider.urn}
    assert {invoke.token for invoke in preview.invokes} == tokens
    assert {(invoke.provider, invoke.account) for invoke in preview.invokes} == {(provider.urn, account)}


@pytest.mark.parametrize("name", sorted(TIER_C))
def test_the_stack_file_disables_the_default_aws_provider_and_keeps_its_account_pin(name: str) -> None:
    config = yaml.safe_load((REPO / "stacks" / f"Pulumi.{name}.yaml").read_text(encoding="utf-8"))["config"]
    assert config["pulumi:disable-default-providers"] == ["aws"]
    assert config["aws:allowedAccountIds"] == ["444455556666"]


def test_without_the_explicit_provider_a_tier_c_stack_fails_instead_of_acting_in_the_platform_account() -> None:
    """What the engine does with the stack's own config when an invoke names no provider: refuses it."""
    config = yaml.safe_load((REPO / "stacks" / "Pulumi.tenant-clinical-prod.yaml").read_text(encoding="utf-8"))
    denied = config["config"]["pulumi:disable-default-providers"]
    with pytest.raises(ProgramError) as caught:
        preview_function(
            lambda: aws.get_availability_zones(),
            stack="tenant-clinical-prod",
            config={"pulumi:disable-default-providers": denied, "aws:allowedAccountIds": ["444455556666"]},
        )
    assert caught.value.message == (
        "Default provider for 'aws' disabled. 'aws:index/getAvailabilityZones:getAvailabilityZones' must use an "
        "explicit provider."
    )
