"""DedicatedHosts: a tier single-tenant tenant's EC2 Dedicated Hosts (issue 7, item 2; CONTROLS NODE-8).

A Dedicated Host is a physical server allocated to one account: no other AWS customer's instance,
and in this platform no other tenant's, ever runs on it. Per host:

- one instance type (``instanceType``, not a family): the host is sized for exactly the GPU
  instances the tenant runs, from a family whose Dedicated Hosts the GPU instance table records
  (config validation rejects the others before anything is created);
- auto placement ``off``: the host accepts only instances that name it by host id, so an instance
  launched with tenancy ``host`` but without a target can never land on it by accident;
- host recovery ``on``: when the host fails, EC2 moves its instances to a replacement host of the
  same account, keeping them on single-tenant hardware;
- the AZ of one of the tenant's private subnets, round-robin, so the instances spread over AZs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from aiplatform_standards import gpu_instances

TYPE = "secure-ai-platform:dedicated_hosts:DedicatedHosts"

AUTO_PLACEMENT = "off"
HOST_RECOVERY = "on"


@dataclass
class DedicatedHostsArgs:
    """Which instance type, how many hosts, and the AZs they may use (one per private subnet).

    Whose hosts they are comes from the tag scope in ``opts`` (``scoped_options``).
    """

    instance_type: str
    count: int
    # The AZs of the tenant's private subnets, in subnet order; host i goes to zone i modulo their number.
    availability_zones: Sequence[pulumi.Input[str]]


def zone_index(host: int, zones: int) -> int:
    """The AZ (index into the private subnets) of host ``host``: round-robin."""
    return host % zones


class DedicatedHosts(pulumi.ComponentResource):
    """The tenant's Dedicated Hosts, each accepting only instances that target it."""

    hosts: list[aws.ec2.DedicatedHost]
    host_ids: list[pulumi.Output[str]]
    zone_indexes: list[int]

    def __init__(self, name: str, args: DedicatedHostsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        row = gpu_instances().get(args.instance_type)
        if row is None or not row.dedicated_hosts:
            raise ValueError(f"{name}: {args.instance_type} has no Dedicated Host configuration in the GPU table")
        if args.count < 1 or not args.availability_zones:
            raise ValueError(f"{name}: needs at least one host and one availability zone")
        super().__init__(TYPE, name, None, opts)
        zones = len(args.availability_zones)
        self.hosts, self.zone_indexes = [], []
        for index in range(args.count):
            zone = zone_index(index, zones)
            resource = f"{name}-{index}"
            self.hosts.append(
                aws.ec2.DedicatedHost(
                    resource,
                    instance_type=args.instance_type,
                    availability_zone=args.availability_zones[zone],
                    auto_placement=AUTO_PLACEMENT,
                    host_recovery=HOST_RECOVERY,
                    tags={"Name": resource},
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
            self.zone_indexes.append(zone)
        self.host_ids = [host.id for host in self.hosts]
        self.register_outputs({"hostIds": self.host_ids})
