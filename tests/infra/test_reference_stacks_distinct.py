"""No two reference stacks collide (issue 7, item 6): VPC blocks, key aliases, name prefixes, physical names.

Every stack file in stacks/ is run whole (update mode). Two stacks must never overlap in their VPC
CIDRs (their networks may be routed to one another), a tenant's name prefix (``aip-<env>-<tenant>``,
``alias/<env>/<tenant>/``) belongs to one stack only, and within one AWS account and region no key
alias or other physical name is created by two stacks (the second ``pulumi up`` would fail).
"""

from __future__ import annotations

import ipaddress
import itertools
from collections import defaultdict

import pytest
from reference_support import ReferenceStack, reference_stacks

# Resource types whose name is unique per account and region (buckets: globally), with the input that holds it.
NAMED = {
    "aws:kms/alias:Alias": "name",
    "aws:iam/role:Role": "name",
    "aws:iam/policy:Policy": "name",
    "aws:iam/instanceProfile:InstanceProfile": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:ecr/repository:Repository": "name",
    "aws:eks/cluster:Cluster": "name",
    "aws:sns/topic:Topic": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:budgets/budget:Budget": "name",
    "aws:cloudtrail/trail:Trail": "name",
    "aws:networkfirewall/firewall:Firewall": "name",
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": "name",
    "aws:networkfirewall/ruleGroup:RuleGroup": "name",
}


def physical_names(stack: ReferenceStack) -> set[tuple[str, str]]:
    """The (type, name) of every resource of ``stack`` whose name is unique per account and region."""
    return {
        (record.type, str(record.inputs[NAMED[record.type]]))
        for record in stack.preview.resources
        if record.type in NAMED and isinstance(record.inputs.get(NAMED[record.type]), str)
    }


@pytest.fixture(scope="module")
def stacks() -> list[ReferenceStack]:
    """Every stack file in stacks/, run whole in update mode (reference_support)."""
    return list(reference_stacks().values())


@pytest.mark.slow
def test_no_two_stacks_share_a_cidr(stacks: list[ReferenceStack]) -> None:
    blocks = [
        (stack.name, ipaddress.IPv4Network(record.inputs["cidrBlock"]))
        for stack in stacks
        for record in stack.preview.by_type("aws:ec2/vpc:Vpc")
    ]
    assert len(blocks) >= 4
    overlapping = [(a, b) for (a, x), (b, y) in itertools.combinations(blocks, 2) if x.overlaps(y)]
    assert overlapping == []


@pytest.mark.slow
def test_no_two_stacks_share_a_tenant_name_prefix(stacks: list[ReferenceStack]) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for stack in stacks:
        env = stack.settings.environment
        for tenant in stack.settings.tenants:
            prefixes = {f"aip-{env}-{tenant.name}-", f"alias/{env}/{tenant.name}/"}
            used = [name for _, name in physical_names(stack) if any(name.startswith(prefix) for prefix in prefixes)]
            assert used, f"{stack.name}: no resource named for tenant {tenant.name}"
            owners[f"aip-{env}-{tenant.name}"].add(stack.name)
    shared = {prefix: sorted(names) for prefix, names in owners.items() if len(names) > 1}
    assert shared == {}
    assert {"aip-prod-clinical", "aip-prod-genomics"} <= set(owners)


@pytest.mark.slow
def test_no_two_stacks_share_a_key_alias_or_name_in_one_account(stacks: list[ReferenceStack]) -> None:
    collisions = set()
    for a, b in itertools.combinations(stacks, 2):
        same_place = (a.account, a.settings.region) == (b.account, b.settings.region)
        for token, name in physical_names(a) & physical_names(b):
            # Bucket names are global; every other name is per account and region.
            if same_place or token == "aws:s3/bucket:Bucket":
                collisions.add((a.name, b.name, token, name))
    assert collisions == set()


@pytest.mark.slow
def test_tier_c_key_aliases_are_unique_everywhere(stacks: list[ReferenceStack]) -> None:
    aliases: dict[str, set[str]] = defaultdict(set)
    for stack in stacks:
        for token, name in physical_names(stack):
            if token == "aws:kms/alias:Alias":
                aliases[name].add(stack.name)
    tier_c = [stack for stack in stacks if stack.settings.deployment in ("single-tenant-cluster", "dedicated-hosts")]
    assert len(tier_c) == 2
    for stack in tier_c:
        own = [name for token, name in physical_names(stack) if token == "aws:kms/alias:Alias"]
        assert own
        assert all(aliases[name] == {stack.name} for name in own), stack.name
