"""Every stack that takes the baseline's roles as config names exactly what its account's baseline outputs.

The platform, tenant and hosts stacks read ``secure-ai-platform:roles`` from the ``roles`` output of the
account baseline of the account they deploy to (DESIGN.md, deployments). Each such stack file is held to
that output, with the baseline run through preflight in update mode, so that the role paths, names and
accounts in the stack files cannot drift from what the baseline creates:

- ``platform-<env>`` deploys to the account of ``baseline-<env>``;
- a tier C stack with ``tenantAccount`` deploys to the tenant's own account, whose baseline is the
  baseline stack in stacks/ for that account (``baseline-<tenant>-<env>``: stacks/Pulumi.baseline-clinical-prod.yaml
  and stacks/Pulumi.baseline-genomics-prod.yaml), which also creates the role ``tenantAccount.roleName`` there.

The bootstrap stacks read no roles: they run before any baseline (infra/deploy_order.py).

The offline cloud computes every ARN in the account the stack pins (``aws:allowedAccountIds``), as
AWS does, so the baseline's outputs are compared as they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.components import platform_roles
from preflight import preview_program

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
PROJECT = "secure-ai-platform"
BASELINE = "account-baseline"
# Deployments that take no roles: the bootstrap runs before the baseline, the baseline creates them.
NO_ROLES = (BASELINE, "bootstrap")


def _config(stack: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return config


STACKS = {
    path.name.removeprefix("Pulumi.").removesuffix(".yaml"): _config(
        path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    )
    for path in sorted((REPO / "stacks").glob("Pulumi.*.yaml"))
}
BASELINES = {name: config for name, config in STACKS.items() if config[f"{PROJECT}:deployment"] == BASELINE}
CONSUMERS = sorted(name for name, config in STACKS.items() if config[f"{PROJECT}:deployment"] not in NO_ROLES)


def _account(config: dict[str, Any]) -> str:
    account: str = config[f"{PROJECT}:baseline"]["accountId"]
    return account


def baseline_of(stack: str) -> tuple[str, dict[str, Any]]:
    """The name and config of the baseline stack of the account that ``stack`` deploys to."""
    config = STACKS[stack]
    env = config[f"{PROJECT}:environment"]
    environment_baseline = f"baseline-{env}"
    tenant_account = config.get(f"{PROJECT}:tenantAccount")
    if tenant_account is None:
        return environment_baseline, BASELINES[environment_baseline]
    account = tenant_account["accountId"]
    [found] = [
        (name, baseline)
        for name, baseline in BASELINES.items()
        if _account(baseline) == account and baseline[f"{PROJECT}:environment"] == env
    ]
    return found


@pytest.fixture(scope="module")
def baseline_roles() -> dict[str, dict[str, str]]:
    """Each needed baseline's ``roles`` output, in its configured account, by baseline stack name."""
    found: dict[str, dict[str, str]] = {}
    for stack in CONSUMERS:
        name, config = baseline_of(stack)
        if name in found:
            continue
        preview = preview_program(REPO, name, config=config, mode="update")
        assert preview.errors == [], (name, preview.errors)
        account = _account(config)
        roles: dict[str, str] = preview.outputs["roles"]
        assert all(arn.startswith(f"arn:aws:iam::{account}:") for arn in roles.values()), (name, roles)
        found[name] = roles
    return found


def test_every_stack_that_reads_roles_is_checked() -> None:
    assert CONSUMERS == ["hosts-genomics-prod", "platform-dev", "platform-prod", "tenant-clinical-prod"]
    assert all(f"{PROJECT}:roles" in STACKS[stack] for stack in CONSUMERS)
    assert sorted(BASELINES) == ["baseline-clinical-prod", "baseline-dev", "baseline-genomics-prod", "baseline-prod"]
    assert sorted(stack for stack, config in STACKS.items() if f"{PROJECT}:roles" in config) == CONSUMERS


def test_each_tier_c_stack_has_its_tenant_accounts_baseline_in_stacks() -> None:
    """Item 15b: the tenant account's baseline is a reference stack, named for the tenant, pinned to that account."""
    found = {}
    for stack in CONSUMERS:
        tenant_account = STACKS[stack].get(f"{PROJECT}:tenantAccount")
        if tenant_account is None:
            continue
        name, config = baseline_of(stack)
        assert config["aws:allowedAccountIds"] == [tenant_account["accountId"]]
        found[stack] = name
    assert found == {
        "hosts-genomics-prod": "baseline-genomics-prod",
        "tenant-clinical-prod": "baseline-clinical-prod",
    }


@pytest.mark.slow
@pytest.mark.parametrize("stack", CONSUMERS)
def test_roles_are_the_outputs_of_the_baseline_of_the_stacks_account(
    stack: str, baseline_roles: dict[str, dict[str, str]]
) -> None:
    name, _ = baseline_of(stack)
    assert STACKS[stack][f"{PROJECT}:roles"] == baseline_roles[name], f"{stack}: roles differ from {name}'s output"


@pytest.mark.slow
def test_the_baseline_outputs_the_roles_it_derives_before_it_exists(baseline_roles: dict[str, dict[str, str]]) -> None:
    """Key, bucket and topic policies name the roles by derived ARN before they exist: the same ARNs."""
    assert sorted(baseline_roles) == [
        "baseline-clinical-prod",
        "baseline-dev",
        "baseline-genomics-prod",
        "baseline-prod",
    ]
    for stack in CONSUMERS:
        name, config = baseline_of(stack)
        derived = platform_roles.baseline_roles(_account(config), config[f"{PROJECT}:environment"])
        assert derived.model_dump(by_alias=True) == baseline_roles[name], name


def test_platform_prod_lives_in_the_prod_baselines_account() -> None:
    assert baseline_of("platform-prod") == ("baseline-prod", BASELINES["baseline-prod"])
    assert _account(BASELINES["baseline-prod"]) == "444455556666"
    assert _account(BASELINES["baseline-dev"]) == "111122223333"
