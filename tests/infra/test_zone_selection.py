"""Availability zones are chosen by zone ID (issue 11, item 11).

A zone's name maps to a different physical zone in each account of the older regions, while its
ID is the same physical zone everywhere ("AZ IDs", AWS Regions and Availability Zones,
https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html). EKS creates no
cluster with a subnet in use1-az3, usw1-az2 or cac1-az3 (Amazon EKS User Guide, "View Amazon EKS
networking requirements for VPC and subnets", https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html;
platform.yaml ``eks_unsupported_zone_ids``), and GPU instance types and Dedicated Hosts are offered
in some zones only (``aws.ec2.get_instance_type_offerings`` with location type availability-zone-id,
EC2 DescribeInstanceTypeOfferings). So the network picks zones by ID: available, no opt-in, EKS's for
a cluster stack, offering every configured GPU or host type, the lowest IDs first.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aiplatform_standards import platform

from infra.components.network import (
    EKS_UNSUPPORTED_ZONE_IDS,
    Zone,
    ZoneRequirements,
    ZoneSelectionError,
    select_zones,
)
from preflight import Preview, ProgramError, cloud, preview_program

ROOT = Path(__file__).resolve().parents[2]
SUBNET = "aws:ec2/subnet:Subnet"
HOST = "aws:ec2/dedicatedHost:DedicatedHost"
OFFERINGS = "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings"
US_EAST_1 = ["use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"]
# One account's mapping of us-east-1 names to IDs (as in AWS, a permutation).
NAMES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]
IDS = ["use1-az6", "use1-az3", "use1-az1", "use1-az5", "use1-az2", "use1-az4"]


@cache
def reference(stack: str) -> Preview:
    return preview_program(ROOT, stack, mode="update")


def private_zone_ids(preview: Preview) -> list[str]:
    subnets = sorted((r for r in preview.by_type(SUBNET) if "-network-private-" in f"-{r.name}"), key=lambda r: r.name)
    return [subnet.inputs["availabilityZoneId"] for subnet in subnets]


def test_eks_unsupported_zone_ids_come_from_the_standards() -> None:
    assert frozenset({"use1-az3", "usw1-az2", "cac1-az3"}) == EKS_UNSUPPORTED_ZONE_IDS
    assert platform()["eks_unsupported_zone_ids"] == ["use1-az3", "usw1-az2", "cac1-az3"]


def test_a_cluster_stack_skips_the_zone_eks_rejects_and_takes_the_lowest_ids() -> None:
    requirements = ZoneRequirements(3, EKS_UNSUPPORTED_ZONE_IDS, ())
    assert select_zones("us-east-1", NAMES, IDS, {}, requirements) == [
        Zone("us-east-1c", "use1-az1"),
        Zone("us-east-1e", "use1-az2"),
        Zone("us-east-1f", "use1-az4"),
    ]
    # Without EKS (a hosts stack) use1-az3 is an ordinary zone.
    assert [z.zone_id for z in select_zones("us-east-1", NAMES, IDS, {}, ZoneRequirements(3, frozenset(), ()))] == [
        "use1-az1",
        "use1-az2",
        "use1-az3",
    ]


def test_every_configured_instance_type_must_be_offered_in_the_chosen_zones() -> None:
    offered = {
        "g6.xlarge": {"use1-az2", "use1-az4", "use1-az5", "use1-az6"},
        "p4d.24xlarge": set(US_EAST_1) - {"use1-az5"},
    }
    requirements = ZoneRequirements(2, EKS_UNSUPPORTED_ZONE_IDS, ("g6.xlarge", "p4d.24xlarge"))
    assert select_zones("us-east-1", NAMES, IDS, offered, requirements) == [
        Zone("us-east-1e", "use1-az2"),
        Zone("us-east-1f", "use1-az4"),
    ]


def test_too_few_zones_offering_a_type_is_an_error_naming_the_type_and_region() -> None:
    offered = {"g6.xlarge": set(US_EAST_1), "p5.48xlarge": {"use1-az3", "use1-az6"}}
    requirements = ZoneRequirements(2, EKS_UNSUPPORTED_ZONE_IDS, ("g6.xlarge", "p5.48xlarge"))
    with pytest.raises(ZoneSelectionError) as caught:
        select_zones("us-east-1", NAMES, IDS, offered, requirements)
    assert str(caught.value) == (
        "network.azCount: 2 availability zones are needed, but p5.48xlarge is offered in only 1 usable zone(s) of "
        "us-east-1 (use1-az6); lower network.azCount, or choose an instance type offered in more zones there"
    )


def test_too_few_zones_at_all_is_an_error() -> None:
    with pytest.raises(ZoneSelectionError) as caught:
        select_zones(
            "us-west-1",
            ["us-west-1a", "us-west-1c"],
            ["usw1-az1", "usw1-az2"],
            {},
            ZoneRequirements(2, EKS_UNSUPPORTED_ZONE_IDS, ()),
        )
    assert str(caught.value) == (
        "network.azCount: 2 availability zones are needed, but us-west-1 has only 1 usable (usw1-az1); "
        "lower network.azCount"
    )


@pytest.mark.parametrize(
    ("stack", "zone_ids"),
    [
        # EKS: use1-az3 never, whatever the account calls it.
        ("platform-dev", ["use1-az1", "use1-az2"]),
        ("platform-prod", ["use1-az1", "use1-az2", "use1-az4"]),
        ("tenant-clinical-prod", ["use1-az1", "use1-az2", "use1-az4"]),
        # No cluster, but g5.12xlarge is not offered in use1-az3 (no Nitro there, in the offline cloud).
        ("hosts-genomics-prod", ["use1-az1", "use1-az2", "use1-az4"]),
    ],
)
def test_reference_stacks_place_their_subnets_by_zone_id(stack: str, zone_ids: list[str]) -> None:
    assert private_zone_ids(reference(stack)) == zone_ids


def test_the_same_physical_zones_have_other_names_in_another_account() -> None:
    platform_names = {
        r.inputs["availabilityZoneId"]: r.outputs["availabilityZone"]
        for r in reference("platform-prod").by_type(SUBNET)
        if "availabilityZoneId" in r.inputs
    }
    tenant_names = {
        r.inputs["availabilityZoneId"]: r.outputs["availabilityZone"]
        for r in reference("hosts-genomics-prod").by_type(SUBNET)
    }
    assert set(platform_names) == set(tenant_names)
    assert platform_names != tenant_names
    # The hosts are placed by name (DedicatedHost takes no zone ID): the tenant account's names of the chosen IDs.
    hosts = sorted(reference("hosts-genomics-prod").by_type(HOST), key=lambda r: r.name)
    assert [host.inputs["availabilityZone"] for host in hosts] == [tenant_names["use1-az1"], tenant_names["use1-az2"]]


def test_a_stack_fails_when_its_gpu_type_is_offered_in_too_few_zones(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = cloud.INVOKES[OFFERINGS]

    def only_use1_az4(args: Mapping[str, Any], region: str) -> dict[str, Any]:
        out = answer(args, region)
        kept = [i for i, location in enumerate(out["locations"]) if location == "use1-az4"]
        return {**out, **{key: [out[key][i] for i in kept] for key in ("instanceTypes", "locations", "locationTypes")}}

    monkeypatch.setitem(cloud.INVOKES, OFFERINGS, only_use1_az4)
    with pytest.raises(ProgramError) as caught:
        preview_program(ROOT, "platform-dev")
    assert str(caught.value).splitlines()[-1] == (
        "ValueError has risen: network.azCount: 2 availability zones are needed, but g6.xlarge is offered in only 1 "
        "usable zone(s) of us-east-1 (use1-az4); lower network.azCount, or choose an instance type offered in more "
        "zones there"
    )


def test_the_offline_cloud_answers_zones_and_offerings_per_account() -> None:
    with cloud.in_account("444455556666"):
        zones = cloud.invoke("aws:index/getAvailabilityZones:getAvailabilityZones", {"state": "available"}, "us-east-1")
        offered = cloud.invoke(
            OFFERINGS,
            {"locationType": "availability-zone-id", "filters": [{"name": "instance-type", "values": ["g5.12xlarge"]}]},
            "us-east-1",
        )
    assert sorted(zones["zoneIds"]) == US_EAST_1
    assert zones["names"] == NAMES
    assert sorted(offered["locations"]) == ["use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"]
    assert set(offered["instanceTypes"]) == {"g5.12xlarge"}
    # eu-central-1 maps names to IDs the same way in every account.
    with cloud.in_account("444455556666"):
        frankfurt = cloud.zone_map("eu-central-1")
    assert (
        frankfurt
        == cloud.zone_map("eu-central-1")
        == [
            ("eu-central-1a", "euc1-az2"),
            ("eu-central-1b", "euc1-az3"),
            ("eu-central-1c", "euc1-az1"),
        ]
    )
