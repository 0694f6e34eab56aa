"""In an update (values known), egress routes reach the firewall endpoint AWS puts in their AZ.

A first preview cannot show this: the firewall's sync states are computed by AWS. Update mode runs
the program's ``apply`` over them, as ``pulumi up`` does, so this test fails on code that would
only break during a real deployment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight import Preview, preview_program

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def prod() -> Preview:
    return preview_program(ROOT, "platform-prod", mode="update")


def _endpoint_of_subnet(prod: Preview) -> dict[str, str]:
    (firewall,) = prod.by_type("aws:networkfirewall/firewall:Firewall")
    (status,) = firewall.outputs["firewallStatuses"]
    return {
        attachment["subnetId"]: attachment["endpointId"]
        for state in status["syncStates"]
        for attachment in state["attachments"]
    }


def test_each_azs_egress_and_return_routes_use_that_azs_firewall_endpoint(prod: Preview) -> None:
    endpoints = _endpoint_of_subnet(prod)
    firewall_subnets = {
        record.name.rsplit("-", 1)[-1]: record.id
        for record in prod.by_type("aws:ec2/subnet:Subnet")
        if record.name.startswith("network-firewall-")
    }
    assert sorted(firewall_subnets) == ["a", "b", "c"]
    routes = {record.name: record.inputs.get("vpcEndpointId") for record in prod.by_type("aws:ec2/route:Route")}
    for letter, subnet in firewall_subnets.items():
        assert routes[f"network-private-{letter}-egress"] == endpoints[subnet]
        assert routes[f"network-public-{letter}-return"] == endpoints[subnet]


def test_gpu_pool_security_groups_reach_s3_through_the_s3_prefix_list(prod: Preview) -> None:
    gateways = [
        record
        for record in prod.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if record.inputs.get("vpcEndpointType") == "Gateway"
    ]
    # The shared network's and each own-subnet tenant's S3 gateway share the region's S3 prefix list.
    assert sorted(r.name for r in gateways) == [
        "claims-assistant-gpu-endpoint-s3",
        "network-endpoint-s3",
        "risk-models-gpu-endpoint-s3",
    ]
    (prefix_list,) = {record.outputs["prefixListId"] for record in gateways}
    assert prefix_list.startswith("pl-")
    pools = [r for r in prod.by_type("aws:ec2/securityGroup:SecurityGroup") if r.name.endswith("-gpu-nodes")]
    assert sorted(r.name for r in pools) == ["claims-assistant-gpu-nodes", "risk-models-gpu-nodes"]
    for pool in pools:
        assert [rule.get("prefixListIds") for rule in pool.inputs["egress"] if rule.get("prefixListIds")] == [
            [prefix_list]
        ]
