"""GPU pool config: the instance table, tier families, quota arithmetic and every bad config's exact message."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiplatform_standards as standards
import pytest
from platform_support import settings, tenant

from infra.config import ConfigError, GpuPool, Settings

TABLE = standards.gpu_instances()


def pool(name: str = "training", **overrides: Any) -> dict[str, Any]:
    return {"name": name, "instanceTypes": ["p4d.24xlarge"], "maxSize": 2, **overrides}


def pooled(gpus: int = 16, *pools: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A confidential tier dedicated-pool tenant with GPU quota ``gpus`` and the given pools."""
    fields: dict[str, Any] = {
        "tier": "dedicated-pool",
        "dataClassification": "confidential",
        "quotas": {"gpus": gpus},
        "gpuPools": list(pools) or [pool()],
        **overrides,
    }
    return tenant(fields.pop("name", "fraud"), **fields)


def problems(**overrides: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings("prod", **overrides)
    return caught.value.problems


# ---- the table --------------------------------------------------------------------------------


def test_table_covers_the_issue_families_with_arm_variants() -> None:
    assert {row.family for row in TABLE.values()} == {"g5", "g5g", "g6", "g6e", "p4d", "p5"}
    for row in TABLE.values():
        expected = (
            ("AL2023_ARM_64_NVIDIA", "BOTTLEROCKET_ARM_64_NVIDIA")
            if row.architecture == "arm64"
            else ("AL2023_x86_64_NVIDIA", "BOTTLEROCKET_x86_64_NVIDIA")
        )
        assert row.ami_types == expected, row.name
    assert {row.name for row in TABLE.values() if row.architecture == "arm64"} == {
        "g5g.xlarge",
        "g5g.2xlarge",
        "g5g.4xlarge",
        "g5g.16xlarge",
    }


def test_table_rows_are_sound_and_priced_only_in_approved_regions() -> None:
    regions = set(standards.platform()["allowed_regions"])
    for row in TABLE.values():
        assert (row.gpus >= 1, row.gpu_memory_gib >= 16, row.vcpus >= 4) == (True, True, True), row.name
        assert row.hourly_usd, f"{row.name} has no price in any approved region"
        assert set(row.hourly_usd) <= regions, row.name
        assert all(price > 0 for price in row.hourly_usd.values()), row.name
        assert row.price_source.startswith("https://"), row.name
        assert row.price_date == dt.date(2026, 8, 26), row.name
    # A GPU doubles the price within a family: bigger sizes never cost less.
    for family in {row.family for row in TABLE.values()}:
        rows = sorted((row for row in TABLE.values() if row.family == family), key=lambda row: row.vcpus)
        prices = [row.hourly_usd["us-east-1"] for row in rows]
        assert prices == sorted(prices), family


def test_table_facts_of_the_reference_types() -> None:
    p4d, g6, g5g = TABLE["p4d.24xlarge"], TABLE["g6.xlarge"], TABLE["g5g.xlarge"]
    assert (p4d.gpus, p4d.gpu_model, p4d.gpu_memory_gib, p4d.dedicated_hosts, p4d.nitro_enclaves) == (
        8,
        "NVIDIA A100",
        40,
        True,
        True,
    )
    assert (g6.gpus, g6.gpu_model, g6.dedicated_hosts, g6.nitro_enclaves) == (1, "NVIDIA L4", False, True)
    assert (g5g.architecture, g5g.gpu_model, g5g.nitro_enclaves) == ("arm64", "NVIDIA T4G", False)
    assert TABLE["p5.48xlarge"].hourly_usd == {"us-east-1": 55.04, "us-west-2": 55.04}


def test_default_families_are_least_for_the_shared_tier_and_keep_p5_single_tenant() -> None:
    families = standards.gpu_allowed_families()
    assert families == {
        "shared": (),
        "dedicated-pool": ("g5", "g5g", "g6", "g6e", "p4d"),
        "single-tenant": ("g5", "g5g", "g6", "g6e", "p4d", "p5"),
    }
    assert set(families) == set(standards.platform()["tiers"])


# ---- valid pools and the quota arithmetic ----------------------------------------------------------


def test_pool_defaults_and_derived_values() -> None:
    parsed = settings("prod", tenants=[pooled(16)]).tenant("fraud").gpu_pools[0]
    assert parsed == GpuPool(
        name="training",
        instance_types=("p4d.24xlarge",),
        capacity_type="on-demand",
        min_size=0,
        max_size=2,
        disk_size_gib=100,
    )
    assert (parsed.gpus_per_node, parsed.max_gpus, parsed.architecture, parsed.ami_type) == (
        8,
        16,
        "x86_64",
        "AL2023_x86_64_NVIDIA",
    )


@pytest.mark.parametrize(
    ("pools", "expected"),
    [
        ([pool(maxSize=1)], 8),
        ([pool(maxSize=4)], 32),
        # The largest type of a mixed pool counts for every node.
        ([pool("inference", instanceTypes=["g6.xlarge", "g6.12xlarge"], maxSize=3)], 12),
        ([pool(maxSize=2), pool("inference", instanceTypes=["g6e.xlarge"], maxSize=5)], 21),
        ([pool("edge", instanceTypes=["g5g.16xlarge"], maxSize=3)], 6),
    ],
)
def test_max_gpus_is_the_sum_of_max_nodes_times_gpus_per_node(pools: list[dict[str, Any]], expected: int) -> None:
    parsed = settings("prod", tenants=[pooled(expected, *pools)]).tenant("fraud")
    assert parsed.max_pool_gpus == expected


def test_quota_exactly_at_the_pools_maximum_is_accepted_and_one_less_is_not() -> None:
    assert settings("prod", tenants=[pooled(16)]).tenant("fraud").max_pool_gpus == 16
    assert problems(tenants=[pooled(15)]) == [
        "tenants[0].gpuPools: maxSize × GPUs per node comes to 16 GPUs (training: 2 × 8), above quotas.gpus 15 "
        "(lower maxSize or raise quotas.gpus to 16)"
    ]


def test_arm_pool_gets_the_arm_ami_type() -> None:
    edge = pool("edge", instanceTypes=["g5g.xlarge", "g5g.2xlarge"], maxSize=2)
    parsed = settings("prod", tenants=[pooled(2, edge)]).tenant("fraud").gpu_pools[0]
    assert (parsed.architecture, parsed.ami_type) == ("arm64", "AL2023_ARM_64_NVIDIA")


def test_own_subnets_go_to_confidential_and_restricted_pools_in_config_order() -> None:
    parsed = settings(
        "prod",
        tenants=[
            pooled(8, pool(maxSize=1)),
            pooled(8, pool(maxSize=1), name="vision", dataClassification="internal"),
            pooled(8, pool(maxSize=1), name="health", dataClassification="restricted"),
            tenant("search"),
        ],
    )
    assert parsed.own_subnet_cidrs("fraud") == ("10.40.192.0/24", "10.40.193.0/24", "10.40.194.0/24")
    assert parsed.own_subnet_cidrs("vision") == ()
    assert parsed.own_subnet_cidrs("health") == ("10.40.196.0/24", "10.40.197.0/24", "10.40.198.0/24")
    assert parsed.own_subnet_cidrs("search") == ()
    # Below every other role of the subnet plan: blocks 12-15 of the VPC's /20s.
    plan = parsed.subnets
    assert all(not cidr.startswith("10.40.19") for cidr in (*plan.private, *plan.firewall, *plan.public))


def test_stack_may_narrow_or_widen_a_tier_and_other_tiers_keep_their_default() -> None:
    wide = settings(
        "prod",
        gpu={"allowedFamilies": {"dedicated-pool": ["p5"]}},
        tenants=[pooled(8, pool(instanceTypes=["p5.48xlarge"], maxSize=1))],
    )
    assert wide.gpu.allowed_families["dedicated-pool"] == ("p5",)
    assert wide.gpu.allowed_families["single-tenant"] == standards.gpu_allowed_families()["single-tenant"]
    assert Settings.model_fields["gpu"].default.allowed_families == standards.gpu_allowed_families()


# ---- bad configs, exact messages -----------------------------------------------------------------------

BAD_CONFIGS = [
    pytest.param(
        {"tenants": [pooled(16, pool(instanceTypes=["p4d.12xlarge"]))]},
        [
            "tenants[0].gpuPools[0].instanceTypes: 'p4d.12xlarge' is not in the GPU instance table (use one of "
            "p4d.24xlarge; the table is policy_packs/ai-guardrails/standards/aiplatform_standards/data/gpu_instances.yaml)"
        ],
        id="unknown-size-of-a-known-family",
    ),
    pytest.param(
        {"tenants": [pooled(16, pool(instanceTypes=["a100.8x"]))]},
        [
            "tenants[0].gpuPools[0].instanceTypes: 'a100.8x' is not in the GPU instance table (use a type of "
            "family g5, g5g, g6, g6e, p4d, p5; the table is policy_packs/ai-guardrails/standards/aiplatform_standards/data/gpu_instances.yaml)"
        ],
        id="unknown-family",
    ),
    pytest.param(
        {"tenants": [pooled(64, pool(instanceTypes=["p5.48xlarge"]))]},
        [
            "tenants[0].gpuPools[0].instanceTypes: 'p5.48xlarge' is family p5, not allowed in tier "
            "'dedicated-pool' (use g5, g5g, g6, g6e, p4d, or add p5 to gpu.allowedFamilies.dedicated-pool)"
        ],
        id="family-not-allowed-for-the-tier",
    ),
    pytest.param(
        {
            "gpu": {"allowedFamilies": {"dedicated-pool": ["g6"]}},
            "tenants": [pooled(16, pool(instanceTypes=["g6.xlarge", "g6e.xlarge"]))],
        },
        [
            "tenants[0].gpuPools[0].instanceTypes: 'g6e.xlarge' is family g6e, not allowed in tier "
            "'dedicated-pool' (use g6, or add g6e to gpu.allowedFamilies.dedicated-pool)"
        ],
        id="family-narrowed-by-the-stack",
    ),
    pytest.param(
        {"tenants": [pooled(30, pool(maxSize=4))]},
        [
            "tenants[0].gpuPools: maxSize × GPUs per node comes to 32 GPUs (training: 4 × 8), above quotas.gpus 30 "
            "(lower maxSize or raise quotas.gpus to 32)"
        ],
        id="max-nodes-times-gpus-above-quota",
    ),
    pytest.param(
        {"tenants": [pooled(20, pool(maxSize=2), pool("inference", instanceTypes=["g6.12xlarge"], maxSize=2))]},
        [
            "tenants[0].gpuPools: maxSize × GPUs per node comes to 24 GPUs (training: 2 × 8, inference: 2 × 4), "
            "above quotas.gpus 20 (lower maxSize or raise quotas.gpus to 24)"
        ],
        id="several-pools-above-quota",
    ),
    pytest.param(
        {"tenants": [pooled(4, pool(maxSize=1))]},
        [
            "tenants[0].quotas.gpus: 4 is too small for one node of pool 'training' (p4d.24xlarge has 8 GPUs; "
            "raise quotas.gpus to at least 8 or choose a smaller instance type)"
        ],
        id="quota-too-small-for-one-node",
    ),
    pytest.param(
        {"tenants": [pooled(0, pool(maxSize=1))]},
        [
            "tenants[0].quotas.gpus: 0 is too small for one node of pool 'training' (p4d.24xlarge has 8 GPUs; "
            "raise quotas.gpus to at least 8 or choose a smaller instance type)"
        ],
        id="pool-without-any-gpu-quota",
    ),
    pytest.param(
        {"tenants": [tenant("search", quotas={"gpus": 8}, gpuPools=[pool(maxSize=1)])]},
        [
            "tenants[0].gpuPools: tier 'shared' tenants share nodes and have no GPU pools "
            "(use tier 'dedicated-pool', or remove gpuPools)"
        ],
        id="pool-on-a-shared-tenant",
    ),
    pytest.param(
        {"region": "eu-west-1", "tenants": [pooled(8, pool("inference", instanceTypes=["g6.xlarge"], maxSize=8))]},
        [
            "tenants[0].gpuPools[0].instanceTypes: 'g6.xlarge' is not offered in eu-west-1 (the GPU table has no "
            "price there; families offered there: g5, p4d)"
        ],
        id="type-not-offered-in-the-region",
    ),
    pytest.param(
        {"network": {"cidr": "10.40.0.0/20"}, "tenants": [pooled(16, pool(), quotas={"gpus": 16, "pods": 40})]},
        [
            "tenants[0].gpuPools: its own subnets in '10.40.0.0/20' hold 33 addresses, fewer than its 2 nodes "
            "and 40 pods (use a larger network.cidr, or lower maxSize or quotas.pods)"
        ],
        id="own-subnets-too-small",
    ),
    pytest.param(
        {"tenants": [pooled(8, pool(maxSize=1), name=f"t{index}") for index in range(17)]},
        [
            "tenants: 17 tenants have GPU pools in subnets of their own, more than the 16 the subnet plan holds "
            "(use a second shared-cluster stack)"
        ],
        id="too-many-tenants-with-own-subnets",
    ),
    pytest.param(
        {"tenants": [pooled(32, pool(), pool())]},
        ["tenants[0].gpuPools[1].name: 'training' is used twice (pool names are unique per tenant)"],
        id="duplicate-pool-name",
    ),
    pytest.param(
        {"tenants": [pooled(16, pool("Training_Pool"))]},
        [
            "tenants[0].gpuPools[0].name: 'Training_Pool' is not a DNS label of at most 12 characters "
            "(the node group name aip-<env>-<tenant>-<pool> must fit EKS's 63)"
        ],
        id="pool-name-not-a-dns-label",
    ),
    pytest.param(
        {"tenants": [pooled(16, pool("distributed-training"))]},
        [
            "tenants[0].gpuPools[0].name: 'distributed-training' is not a DNS label of at most 12 characters "
            "(the node group name aip-<env>-<tenant>-<pool> must fit EKS's 63)"
        ],
        id="pool-name-too-long",
    ),
    pytest.param(
        {"tenants": [pooled(16, pool(instanceTypes=["g5.xlarge", "g5g.xlarge"]))]},
        [
            "tenants[0].gpuPools[0].instanceTypes: mixes arm64 and x86_64 types (a pool runs one AMI type; "
            "split them into one pool per architecture)"
        ],
        id="mixed-architectures",
    ),
    pytest.param(
        {"tenants": [pooled(16, pool(instanceTypes=[]))]},
        [
            "tenants[0].gpuPools[0].instanceTypes: no instance types (name at least one type of the GPU instance "
            "table, e.g. g6.xlarge)"
        ],
        id="no-instance-type",
    ),
    pytest.param(
        {"tenants": [pooled(16, pool(minSize=3, maxSize=2))]},
        ["tenants[0].gpuPools[0]: minSize 3 is above maxSize 2 (lower minSize or raise maxSize)"],
        id="min-above-max",
    ),
    pytest.param(
        {"tenants": [pooled(16, pool(maxSize=0))]},
        ["tenants[0].gpuPools[0].maxSize: 0 must be 1 or more (nodes)"],
        id="max-size-zero",
    ),
    pytest.param(
        {"tenants": [pooled(16, pool(minSize=-1))]},
        ["tenants[0].gpuPools[0].minSize: -1 must be 0 or more (nodes)"],
        id="negative-min-size",
    ),
    pytest.param(
        {"tenants": [pooled(16, pool(diskSizeGib=10))]},
        ["tenants[0].gpuPools[0].diskSizeGib: 10 is not from 20 to 16384 (GiB)"],
        id="disk-too-small",
    ),
    pytest.param(
        {"tenants": [pooled(16, pool(capacityType="reserved"))]},
        ["tenants[0].gpuPools[0].capacityType: 'reserved' is not allowed (use 'on-demand' or 'spot')"],
        id="unknown-capacity-type",
    ),
    pytest.param(
        {"tenants": [pooled(16, {"name": "training", "instanceTypes": ["p4d.24xlarge"]})]},
        ["tenants[0].gpuPools[0].maxSize: required (set it in the stack file; see Pulumi.yaml for its meaning)"],
        id="max-size-required",
    ),
    pytest.param(
        {"gpu": {"allowedFamilies": {"dedicated-pool": ["h100"]}}},
        ["gpu.allowedFamilies: 'h100' is not a family of the GPU instance table (use g5, g5g, g6, g6e, p4d, p5)"],
        id="unknown-family-in-config",
    ),
    pytest.param(
        {"gpu": {"allowedFamilies": {"sharded": ["g5"]}}},
        [
            "gpu.allowedFamilies.sharded.[key]: 'sharded' is not allowed "
            "(use 'shared', 'dedicated-pool' or 'single-tenant')"
        ],
        id="unknown-tier-in-config",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), BAD_CONFIGS)
def test_bad_gpu_config_is_rejected_with_key_path_and_fix(overrides: dict[str, Any], expected: list[str]) -> None:
    assert problems(**overrides) == expected


def test_every_pool_problem_of_every_tenant_is_reported_at_once() -> None:
    second = tenant(
        "vision",
        tier="dedicated-pool",
        dataClassification="restricted",
        quotas={"gpus": 2},
        gpuPools=[
            pool("serve", instanceTypes=["g6e.12xlarge"], maxSize=1),
            pool("batch", instanceTypes=["p5.48xlarge"]),
        ],
    )
    assert problems(tenants=[pooled(15), second]) == [
        "tenants[0].gpuPools: maxSize × GPUs per node comes to 16 GPUs (training: 2 × 8), above quotas.gpus 15 "
        "(lower maxSize or raise quotas.gpus to 16)",
        "tenants[1].gpuPools[1].instanceTypes: 'p5.48xlarge' is family p5, not allowed in tier 'dedicated-pool' "
        "(use g5, g5g, g6, g6e, p4d, or add p5 to gpu.allowedFamilies.dedicated-pool)",
        "tenants[1].quotas.gpus: 2 is too small for one node of pool 'serve' (g6e.12xlarge has 4 GPUs; raise "
        "quotas.gpus to at least 4 or choose a smaller instance type)",
        "tenants[1].quotas.gpus: 2 is too small for one node of pool 'batch' (p5.48xlarge has 8 GPUs; raise "
        "quotas.gpus to at least 8 or choose a smaller instance type)",
    ]
