"""Item 15b: a tier C tenant's own account gets its baseline and the role the platform's deployer assumes there.

The tier C stacks (stacks/Pulumi.tenant-clinical-prod.yaml, stacks/Pulumi.hosts-genomics-prod.yaml) deploy through
an AWS provider that assumes ``tenantAccount.roleName`` in the tenant's account with ``tenantAccount.externalId``.
Their accounts' baselines (stacks/Pulumi.baseline-clinical-prod.yaml, stacks/Pulumi.baseline-genomics-prod.yaml)
create that role: trusted by the platform account's deployer (the deployer output of the baseline of the account
the tier C stack pins in ``aws:allowedAccountIds``) only with that external id, holding the deployer's permissions.

The deployer's permissions fit the tier C deployments: ``PowerUserAccess`` allows every action but those of IAM,
Organizations and Account (AWS Managed Policy Reference, PowerUserAccess,
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/PowerUserAccess.html), and the deployer's inline
policy allows IAM only on the platform stacks' own names. Every IAM resource each tier C stack creates is held to
those statements here, so a tier C change that needs more fails this test rather than ``pulumi up``.
"""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from platform_support import statements
from tier_c_support import stack_config

from infra.components import platform_roles
from infra.config import ConfigError, TenantAccount, settings_from_stack_file
from infra.deployments.account_baseline import baseline_settings
from preflight import Preview, Secret, preview_program

REPO = Path(__file__).resolve().parents[2]
PROJECT = "secure-ai-platform"
# Tier C stack -> its tenant account's baseline stack.
TIER_C = {"tenant-clinical-prod": "baseline-clinical-prod", "hosts-genomics-prod": "baseline-genomics-prod"}
ROLE = "aws:iam/role:Role"
POWER_USER_ACCESS = "arn:aws:iam::aws:policy/PowerUserAccess"


def _tenant_account(stack: str) -> TenantAccount:
    account = settings_from_stack_file(stack_config(stack), stack).tenant_account
    assert account is not None, stack
    return account


@pytest.fixture(scope="module")
def previews() -> dict[str, Preview]:
    stacks = ["baseline-prod", *TIER_C.values()]
    return {stack: preview_program(REPO, stack, mode="update") for stack in stacks}


def _platform_deployer(previews: dict[str, Preview], tier_c: str) -> str:
    """The deployer of the account the tier C stack runs in (its pinned account): baseline-prod's output."""
    assert stack_config(tier_c)["aws:allowedAccountIds"] == [
        stack_config("baseline-prod")[f"{PROJECT}:baseline"]["accountId"]
    ]
    deployer: str = previews["baseline-prod"].outputs["roles"]["deployer"]
    return deployer


@pytest.mark.parametrize("tier_c", sorted(TIER_C))
def test_the_role_the_tier_c_stack_assumes_is_created_by_its_accounts_baseline(
    tier_c: str, previews: dict[str, Preview]
) -> None:
    account = _tenant_account(tier_c)
    baseline = previews[TIER_C[tier_c]]
    assert baseline.errors == []
    [role] = [record for record in baseline.by_type(ROLE) if record.inputs["name"] == account.role_name]
    assert role.inputs["path"] == "/"
    assert role.outputs["arn"] == account.role_arn("aws")
    assert baseline.outputs["tenantDeploymentRoleArn"] == account.role_arn("aws")
    trust = statements(role, "assumeRolePolicy")
    assert trust.pop("PlatformDeployerWithExternalId") == {
        "Sid": "PlatformDeployerWithExternalId",
        "Effect": "Allow",
        "Principal": {"AWS": _platform_deployer(previews, tier_c)},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": account.external_id}},
    }
    # A cluster stack's in-VPC runner in the tenant's account assumes the role too, with the same external id
    # (tests/infra/test_tier_c_state_access.py); dedicated hosts run no runner.
    runner = {"tenant-clinical-prod": "aip-prod-clinical-deploy-runner", "hosts-genomics-prod": None}[tier_c]
    assert trust == (
        {
            "TenantDeployRunnerWithExternalId": {
                "Sid": "TenantDeployRunnerWithExternalId",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account.account_id}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"sts:ExternalId": account.external_id},
                    "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{account.account_id}:role/{runner}"},
                },
            }
        }
        if runner
        else {}
    )
    assert role.inputs["maxSessionDuration"] == 3600


@pytest.mark.parametrize("tier_c", sorted(TIER_C))
def test_the_tier_c_provider_assumes_exactly_that_role(tier_c: str) -> None:
    preview = preview_program(REPO, tier_c, mode="update")
    account = _tenant_account(tier_c)
    providers = [
        record
        for record in preview.resources
        if record.type == "pulumi:providers:aws" and record.inputs.get("assumeRoles")
    ]
    [provider] = providers
    # A provider's inputs reach the engine as JSON strings; the external id makes the whole list secret.
    assume_roles = provider.inputs["assumeRoles"]
    assert isinstance(assume_roles, Secret)
    assert json.loads(assume_roles.value) == [
        {
            "externalId": account.external_id,
            "roleArn": account.role_arn("aws"),
            "sessionName": f"aip-prod-{tier_c.split('-')[1]}-deploy",
        }
    ]
    assert json.loads(provider.inputs["allowedAccountIds"]) == [account.account_id]


@pytest.mark.parametrize("baseline_stack", sorted(TIER_C.values()))
def test_the_tenant_deployment_role_holds_the_deployers_permissions_and_no_more(
    baseline_stack: str, previews: dict[str, Preview]
) -> None:
    preview = previews[baseline_stack]
    settings, _ = baseline_settings(settings_from_stack_file(stack_config(baseline_stack), baseline_stack))
    name = platform_roles.tenant_deployment_role_name("prod")
    role = preview.get(ROLE, "baseline-roles-tenant-deployment")
    attachments = [
        record.inputs["policyArn"]
        for record in preview.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if record.property_dependencies.get("role") == [role.urn]
    ]
    assert attachments == [POWER_USER_ACCESS]
    inline = [
        record
        for record in preview.by_type("aws:iam/rolePolicy:RolePolicy")
        if record.property_dependencies.get("role") == [role.urn]
    ]
    [policy] = inline
    assert policy.inputs["name"] == f"{name}-permissions"
    expected = platform_roles.deployer_permissions(settings, settings.required_roles.tenant_boundary)
    assert json.loads(policy.inputs["policy"])["Statement"] == expected
    # The same document as the account's own deployer: one policy, reused.
    deployer_policy = preview.get("aws:iam/rolePolicy:RolePolicy", "baseline-roles-deployer")
    assert json.loads(deployer_policy.inputs["policy"]) == json.loads(policy.inputs["policy"])
    boundary = preview.get("aws:iam/policy:Policy", "baseline-roles-platform-boundary")
    assert role.property_dependencies["permissionsBoundary"] == [boundary.urn]


@pytest.mark.parametrize("baseline_stack", sorted(TIER_C.values()))
def test_only_the_operators_may_change_the_tenant_deployment_role(
    baseline_stack: str, previews: dict[str, Preview]
) -> None:
    """Path ``/`` puts the role under the deployer's ``role/aip-prod-*`` rights; the platform boundary, which every
    baseline role (it included) carries, denies changing it to all but platform-admin and break-glass."""
    preview = previews[baseline_stack]
    account = stack_config(baseline_stack)[f"{PROJECT}:baseline"]["accountId"]
    boundary = statements(preview.get("aws:iam/policy:Policy", "baseline-roles-platform-boundary"))
    deny = boundary["DenyBaselineChangesOutsideOperators"]
    arn = f"arn:aws:iam::{account}:role/aip-prod-tenant-deployment"
    assert arn in deny["Resource"]
    assert deny["Condition"] == {
        "ArnNotLike": {
            "aws:PrincipalArn": [
                f"arn:aws:iam::{account}:role/aip-baseline/aip-prod-platform-platform-admin",
                f"arn:aws:iam::{account}:role/aip-baseline/aip-prod-platform-break-glass",
            ]
        }
    }
    assert {"iam:Put*", "iam:Update*", "iam:Attach*"} <= set(deny["Action"])


def test_the_environments_own_baselines_create_no_tenant_deployment_role() -> None:
    for stack in ("baseline-dev", "baseline-prod"):
        preview = preview_program(REPO, stack, mode="update")
        names = {record.inputs["name"] for record in preview.by_type(ROLE)}
        assert not any(name.endswith("-tenant-deployment") for name in names), stack
        assert "tenantDeploymentRoleArn" not in preview.outputs


def _within_deployer_iam(record: Any, account: str, boundary: str) -> str | None:
    """Why the deployer's inline policy (platform_roles.deployer_permissions) would refuse this IAM resource."""
    own = "aip-prod-*"
    inputs = record.inputs
    if record.type == ROLE:
        if not fnmatchcase(inputs["name"], own) or inputs.get("path", "/") != "/":
            return f"role name {inputs['name']!r} (path {inputs.get('path', '/')!r}) is outside role/{own}"
        if inputs.get("permissionsBoundary") != boundary:
            return "role created without the tenant boundary (CreateRolesWithTenantBoundary)"
        return None
    if record.type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        return None if fnmatchcase(str(inputs["role"]), own) else f"role {inputs['role']!r} is outside role/{own}"
    if record.type in ("aws:iam/policy:Policy", "aws:iam/instanceProfile:InstanceProfile"):
        return None if fnmatchcase(inputs["name"], own) else f"name {inputs['name']!r} is outside {own}"
    if record.type == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        url = str(record.outputs["arn"]).split(":oidc-provider/", 1)[1]
        return None if fnmatchcase(url, "oidc.eks.us-east-1.amazonaws.com/id/*") else f"OIDC provider {url!r}"
    return f"{record.type} is not among the IAM resources the deployer may manage"


@pytest.mark.slow
@pytest.mark.parametrize("tier_c", sorted(TIER_C))
def test_every_iam_resource_of_the_tier_c_stack_is_within_the_deployers_rights(tier_c: str) -> None:
    preview = preview_program(REPO, tier_c, mode="update")
    assert preview.errors == []
    account = _tenant_account(tier_c).account_id
    boundary = stack_config(tier_c)[f"{PROJECT}:roles"]["tenantBoundary"]
    refused = {
        record.name: why
        for record in preview.resources
        if record.type.startswith("aws:iam/") and (why := _within_deployer_iam(record, account, boundary))
    }
    assert refused == {}
    iam_types = {record.type for record in preview.resources if record.type.startswith("aws:iam/")}
    assert ROLE in iam_types
    # Outside IAM, PowerUserAccess allows everything but Organizations and Account.
    assert [
        record.type for record in preview.resources if record.type.startswith(("aws:organizations/", "aws:account/"))
    ] == []


def test_a_tenant_deployment_trusting_its_own_account_is_refused() -> None:
    config = stack_config("baseline-clinical-prod")
    config[f"{PROJECT}:baseline"]["tenantDeployment"]["deployerRoleArn"] = (
        "arn:aws:iam::555566667777:role/aip-baseline/aip-prod-platform-deployer"
    )
    with pytest.raises(ConfigError) as caught:
        settings_from_stack_file(config, "baseline-clinical-prod")
    assert caught.value.problems == [
        "baseline: tenantDeployment.deployerRoleArn: 'arn:aws:iam::555566667777:role/aip-baseline/"
        "aip-prod-platform-deployer' is in this account (name the platform account's deployer, the roles.deployer "
        "output of its baseline stack, e.g. baseline-prod)"
    ]


def test_a_malformed_external_id_is_refused() -> None:
    config = stack_config("baseline-genomics-prod")
    config[f"{PROJECT}:baseline"]["tenantDeployment"]["externalId"] = "x"
    with pytest.raises(ConfigError) as caught:
        settings_from_stack_file(config, "baseline-genomics-prod")
    assert caught.value.problems == [
        "baseline.tenantDeployment.externalId: is not an external id (2 to 1224 letters, digits and +=,.@:/_-; the "
        "tier C stack's tenantAccount.externalId)"
    ]


def test_a_runners_keys_must_be_the_platform_accounts_bootstrap_keys() -> None:
    """The tier C stacks' state lives in the deployer's (platform) account; a key elsewhere would admit nothing useful."""
    config = stack_config("baseline-clinical-prod")
    runner = config[f"{PROJECT}:baseline"]["tenantDeployment"]["deployRunner"]
    runner["secretsKeyArn"] = "arn:aws:kms:us-east-1:555566667777:key/70bd4d82-0d90-4d4a-d5ef-cdaa6dc8b905"
    with pytest.raises(ConfigError) as caught:
        settings_from_stack_file(config, "baseline-clinical-prod")
    assert caught.value.problems == [
        "baseline: tenantDeployment.deployRunner.secretsKeyArn: 'arn:aws:kms:us-east-1:555566667777:key/70bd4d82-0d90-"
        "4d4a-d5ef-cdaa6dc8b905' is not in the platform account 444455556666 of deployerRoleArn (the tier C stacks' "
        "state lives in that account's bootstrap bucket: use its bootstrap stack's secretsKeyArn output)"
    ]


def test_a_runners_tenant_and_keys_are_validated_where_they_are_written() -> None:
    config = stack_config("baseline-clinical-prod")
    config[f"{PROJECT}:baseline"]["tenantDeployment"]["deployRunner"] = {
        "tenant": "platform",
        "stateKeyArn": "alias/prod/platform/state",
        "secretsKeyArn": "arn:aws:kms:us-east-1:444455556666:key/70bd4d82-0d90-4d4a-d5ef-cdaa6dc8b905",
    }
    with pytest.raises(ConfigError) as caught:
        settings_from_stack_file(config, "baseline-clinical-prod")
    assert caught.value.problems == [
        "baseline.tenantDeployment.deployRunner.tenant: 'platform' is reserved for the platform (choose another name)",
        "baseline.tenantDeployment.deployRunner.stateKeyArn: 'alias/prod/platform/state' is not a KMS key ARN (use "
        "arn:aws:kms:<region>:<account>:key/<id>, the bootstrap stack's stateKeyArn output; an alias cannot scope an "
        "IAM policy)",
    ]
