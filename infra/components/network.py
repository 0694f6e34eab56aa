"""IsolatedNetwork: a VPC whose workloads reach AWS through endpoints and nothing else unless allowed.

- Private (workload) subnets in ``settings.az_count`` AZs, from the subnet plan in
  ``infra.config.subnet_plan``; no public IPs; one route table per AZ with no internet route in
  egress mode ``none``.
- AZs chosen by zone ID, never by name: a name maps to a different physical zone in each account of
  the older regions ("AZ IDs", AWS Regions and Availability Zones), and what a zone supports is a
  property of the physical zone. Of the region's available zones that need no opt-in, a cluster
  stack drops those EKS does not support (platform.yaml ``eks_unsupported_zone_ids``), and a stack
  with GPU node pools or Dedicated Hosts keeps only zones that offer every configured instance type
  (``aws.ec2.get_instance_type_offerings`` by availability-zone-id); the lowest zone IDs of what
  remains are used, so every account of a stack's region gets the same physical zones.
- VPC endpoints: S3 as a gateway on the workload route tables; the standards' interface endpoints
  (required, cluster and SSM lists) in the workload subnets with private DNS, behind a security
  group that admits 443 from the VPC CIDR only (CONTROLS NET-5, NET-2).
- Egress mode ``firewall``: per AZ a firewall subnet and a public subnet with a NAT gateway. The
  workload default route goes to the AZ's AWS Network Firewall endpoint, the firewall subnet's to
  the NAT gateway, the public subnet's to the internet gateway, and the public subnet sends
  replies for the workload subnet back through the firewall (symmetric inspection). The firewall
  policy drops every established flow that its stateful domain ALLOWLIST does not match (NET-3).
- Flow logs of ALL traffic to a log group encrypted with the owner's logs key (NET-4, AUD-3),
  delivered through a role with the tenant permissions boundary (IAM-3), the only kind of role
  the deployer may create; it needs only CloudWatch Logs, which the boundary leaves alone.
- The default security group managed with no rules (NET-1).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from aiplatform_standards import platform

from infra import iam, naming
from infra.config import Settings

TYPE = "secure-ai-platform:network:IsolatedNetwork"

_ENDPOINTS = platform()["vpc_endpoints"]
EKS_UNSUPPORTED_ZONE_IDS: frozenset[str] = frozenset(platform()["eks_unsupported_zone_ids"])
CLUSTER_DEPLOYMENTS = ("shared-cluster", "single-tenant-cluster")
INTERFACE_ENDPOINTS: tuple[str, ...] = (
    *_ENDPOINTS["required_interface"],
    *_ENDPOINTS["cluster_interface"],
    *_ENDPOINTS["ssm_interface"],
)
GATEWAY_ENDPOINTS: tuple[str, ...] = tuple(_ENDPOINTS["gateway"])
ANYWHERE = "0.0.0.0/0"
HTTPS = 443
# Network Firewall rule group capacity cannot change after creation: room for a long allowlist.
RULE_GROUP_CAPACITY = 1000


@dataclass
class NetworkArgs:
    """The owner whose VPC this is, and the key its logs are encrypted with."""

    settings: Settings
    owner: str
    logs_key_arn: pulumi.Input[str]


class ZoneSelectionError(ValueError):
    """The region has fewer zones that meet the stack's requirements than ``network.azCount``."""


@dataclass(frozen=True)
class ZoneRequirements:
    """What the stack's zones must support: how many, which zone IDs never, which instance types."""

    count: int
    excluded_zone_ids: frozenset[str]
    instance_types: tuple[str, ...]

    @classmethod
    def of(cls, settings: Settings) -> ZoneRequirements:
        """A cluster stack avoids EKS's unsupported zones; GPU pools and hosts need their types offered."""
        types = {t for tenant in settings.tenants for pool in tenant.gpu_pools for t in pool.instance_types}
        if settings.hosts is not None:
            types.add(settings.hosts.instance_type)
        excluded = EKS_UNSUPPORTED_ZONE_IDS if settings.deployment in CLUSTER_DEPLOYMENTS else frozenset()
        return cls(settings.az_count, excluded, tuple(sorted(types)))


@dataclass(frozen=True)
class Zone:
    """An availability zone: its name in this account, and its ID (the same physical zone in every account)."""

    name: str
    zone_id: str


def https_egress(
    description: str,
    cidr_blocks: Sequence[str] | None = None,
    prefix_list_ids: Sequence[pulumi.Input[str]] | None = None,
) -> aws.ec2.SecurityGroupEgressArgs:
    """A security group egress rule that allows HTTPS (TCP 443) only, to ``cidr_blocks`` or ``prefix_list_ids``."""
    return aws.ec2.SecurityGroupEgressArgs(
        description=description,
        protocol="tcp",
        from_port=HTTPS,
        to_port=HTTPS,
        cidr_blocks=cidr_blocks,
        prefix_list_ids=prefix_list_ids,
    )


def s3_gateway_egress(network: IsolatedNetwork, description: str) -> aws.ec2.SecurityGroupEgressArgs:
    """HTTPS to S3 in the VPC's region through its gateway endpoint (the endpoint's prefix list)."""
    return https_egress(description, prefix_list_ids=[network.gateway_endpoints["s3"].prefix_list_id])


def _zone_number(zone_id: str) -> tuple[int, str]:
    number = zone_id.rsplit("-az", 1)[-1]
    return (int(number), zone_id) if number.isdigit() else (10**6, zone_id)


def select_zones(
    region: str,
    names: list[str],
    zone_ids: list[str],
    offered: dict[str, set[str]],
    requirements: ZoneRequirements,
) -> list[Zone]:
    """The ``requirements.count`` lowest zone IDs that meet the requirements; else ``ZoneSelectionError``, saying why.

    ``names``/``zone_ids``: the region's available zones in this account (parallel lists);
    ``offered``: for each required instance type, the zone IDs that offer it.
    """
    candidates = [Zone(n, i) for n, i in zip(names, zone_ids, strict=True) if i not in requirements.excluded_zone_ids]
    for instance_type in requirements.instance_types:
        offering = [zone for zone in candidates if zone.zone_id in offered.get(instance_type, set())]
        if len(offering) < requirements.count:
            have = ", ".join(sorted((z.zone_id for z in offering), key=_zone_number)) or "none"
            raise ZoneSelectionError(
                f"network.azCount: {requirements.count} availability zones are needed, but {instance_type} is "
                f"offered in only {len(offering)} usable zone(s) of {region} ({have}); lower network.azCount, "
                f"or choose an instance type offered in more zones there"
            )
        candidates = offering
    if len(candidates) < requirements.count:
        usable = ", ".join(sorted((z.zone_id for z in candidates), key=_zone_number))
        raise ZoneSelectionError(
            f"network.azCount: {requirements.count} availability zones are needed, but {region} has only "
            f"{len(candidates)} usable ({usable}); lower network.azCount"
        )
    return sorted(candidates, key=lambda zone: _zone_number(zone.zone_id))[: requirements.count]


def _nth(index: int, field: str) -> Callable[[list[Zone]], str]:
    def pick(zones: list[Zone]) -> str:
        return str(getattr(zones[index], field))

    return pick


def _endpoint_in_subnet(statuses: Any, subnet_id: str) -> str | None:
    """The firewall endpoint that AWS placed in a firewall subnet (from the firewall's sync states).

    Inside ``Output.all`` the SDK hands nested outputs over as plain dicts (snake_case keys), not
    as its output classes; those subclass dict, so item access reads both.
    """
    for status in statuses or []:
        for state in status.get("sync_states") or []:
            for attachment in state.get("attachments") or []:
                if attachment.get("subnet_id") == subnet_id:
                    return str(attachment["endpoint_id"])
    return None


class IsolatedNetwork(pulumi.ComponentResource):
    """The VPC, its subnets, endpoints, egress path and flow logs."""

    vpc: aws.ec2.Vpc
    vpc_id: pulumi.Output[str]
    cidr: str
    private_subnets: list[aws.ec2.Subnet]
    private_subnet_ids: list[pulumi.Output[str]]
    # The chosen AZs, by AZ index: their IDs (what the subnets name) and this account's names for them.
    zone_ids: list[pulumi.Output[str]]
    zone_names: list[pulumi.Output[str]]
    private_route_tables: list[aws.ec2.RouteTable]
    endpoint_security_group: aws.ec2.SecurityGroup
    # By service (``s3``): node security groups outside this component allow egress to their prefix lists.
    gateway_endpoints: dict[str, aws.ec2.VpcEndpoint]
    flow_log: aws.ec2.FlowLog
    firewall: aws.networkfirewall.Firewall | None

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        self._name, self._args = name, args
        settings = args.settings
        plan = settings.subnets
        self.cidr = settings.network.cidr
        self._child = pulumi.ResourceOptions(parent=self)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=self.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": name},
            opts=self._child,
        )
        self.vpc_id = self.vpc.id
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=self.vpc.id, opts=self._child)

        chosen = self._select_zones(ZoneRequirements.of(settings))
        # Per AZ index, in the order of the subnet plan: the zone ID decides, the name is this account's.
        self.zone_ids = [chosen.apply(_nth(az, "zone_id")) for az in range(settings.az_count)]
        self.zone_names = [chosen.apply(_nth(az, "name")) for az in range(settings.az_count)]

        self.private_subnets = [
            self._subnet("private", az, cidr, {"kubernetes.io/role/internal-elb": "1"})
            for az, cidr in enumerate(plan.private)
        ]
        self.private_subnet_ids = [subnet.id for subnet in self.private_subnets]
        self.private_route_tables = [
            self._route_table("private", az, subnet) for az, subnet in enumerate(self.private_subnets)
        ]
        self.endpoint_security_group = self._endpoints()
        self.flow_log = self._flow_logs()
        self.firewall = self._firewall_egress() if settings.network.egress.mode == "firewall" else None

        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "privateSubnetIds": self.private_subnet_ids,
                "endpointSecurityGroupId": self.endpoint_security_group.id,
                "firewallArn": self.firewall.arn if self.firewall is not None else None,
            }
        )

    def _select_zones(self, requirements: ZoneRequirements) -> pulumi.Output[list[Zone]]:
        """The zones of this account and region that meet ``requirements`` (invokes answer during previews)."""
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = self._args.settings.region
        zones = aws.get_availability_zones_output(
            state="available", filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}], opts=invoke
        )
        offerings = [
            aws.ec2.get_instance_type_offerings_output(
                location_type="availability-zone-id",
                filters=[{"name": "instance-type", "values": [instance_type]}],
                opts=invoke,
            ).locations
            for instance_type in requirements.instance_types
        ]

        def select(values: list[Any]) -> list[Zone]:
            names, ids, *locations = values
            offered = {t: set(where) for t, where in zip(requirements.instance_types, locations, strict=True)}
            return select_zones(region, list(names), list(ids), offered, requirements)

        return pulumi.Output.all(zones.names, zones.zone_ids, *offerings).apply(select)

    def _letter(self, az: int) -> str:
        return string.ascii_lowercase[az]

    def _subnet(self, role: str, az: int, cidr: str, tags: dict[str, str] | None = None) -> aws.ec2.Subnet:
        return aws.ec2.Subnet(
            f"{self._name}-{role}-{self._letter(az)}",
            vpc_id=self.vpc.id,
            cidr_block=cidr,
            availability_zone_id=self.zone_ids[az],
            map_public_ip_on_launch=False,
            tags={"Name": f"{self._name}-{role}-{self._letter(az)}", **(tags or {})},
            opts=self._child,
        )

    def _route_table(self, role: str, az: int, subnet: aws.ec2.Subnet) -> aws.ec2.RouteTable:
        resource = f"{self._name}-{role}-{self._letter(az)}"
        table = aws.ec2.RouteTable(resource, vpc_id=self.vpc.id, tags={"Name": resource}, opts=self._child)
        aws.ec2.RouteTableAssociation(resource, subnet_id=subnet.id, route_table_id=table.id, opts=self._child)
        return table

    def _route(self, name: str, table: aws.ec2.RouteTable, destination: str, **target: Any) -> aws.ec2.Route:
        return aws.ec2.Route(
            name, route_table_id=table.id, destination_cidr_block=destination, **target, opts=self._child
        )

    def _endpoints(self) -> aws.ec2.SecurityGroup:
        settings, name = self._args.settings, self._name
        group = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            description="Interface VPC endpoints: HTTPS from inside the VPC only",
            vpc_id=self.vpc.id,
            ingress=[
                {
                    "description": "HTTPS from the VPC",
                    "protocol": "tcp",
                    "from_port": HTTPS,
                    "to_port": HTTPS,
                    "cidr_blocks": [self.cidr],
                }
            ],
            egress=[],
            opts=self._child,
        )
        self.gateway_endpoints = {}
        for service in GATEWAY_ENDPOINTS:
            self.gateway_endpoints[service] = aws.ec2.VpcEndpoint(
                f"{name}-endpoint-{service}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{settings.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[table.id for table in self.private_route_tables],
                opts=self._child,
            )
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-endpoint-{service.replace('.', '-')}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{settings.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=self.private_subnet_ids,
                security_group_ids=[group.id],
                opts=self._child,
            )
        return group

    def _log_group(self, purpose: str) -> aws.cloudwatch.LogGroup:
        settings = self._args.settings
        return aws.cloudwatch.LogGroup(
            f"{self._name}-{purpose}",
            name=naming.log_group_name(settings.environment, self._args.owner, purpose),
            kms_key_id=self._args.logs_key_arn,
            retention_in_days=settings.log_retention_days,
            opts=self._child,
        )

    def _flow_logs(self) -> aws.ec2.FlowLog:
        settings, name = self._args.settings, self._name
        account = settings.account_id
        group_name = naming.log_group_name(settings.environment, self._args.owner, "vpc-flow-logs")
        group = self._log_group("vpc-flow-logs")
        trust = iam.document(
            [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": iam.service_principal("vpc-flow-logs")},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {
                            "aws:SourceArn": f"arn:{settings.partition}:ec2:{settings.region}:{account}:vpc-flow-log/*"
                        },
                    },
                }
            ]
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            name=naming.role_name(settings.environment, self._args.owner, "flow-logs"),
            assume_role_policy=trust,
            permissions_boundary=settings.required_roles.tenant_boundary,
            opts=self._child,
        )
        # The group's ARN from its name, so that the policy is complete in a first preview.
        group_arn = f"arn:{settings.partition}:logs:{settings.region}:{account}:log-group:{group_name}"
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=iam.document(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                        "Resource": [group_arn, f"{group_arn}:*"],
                    }
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[group]),
        )
        return aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            opts=self._child,
        )

    def _firewall_egress(self) -> aws.networkfirewall.Firewall:
        settings, name = self._args.settings, self._name
        plan = settings.subnets
        firewall_subnets = [self._subnet("firewall", az, cidr) for az, cidr in enumerate(plan.firewall)]
        public_subnets = [self._subnet("public", az, cidr) for az, cidr in enumerate(plan.public)]
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, opts=self._child)
        firewall = self._firewall(firewall_subnets)

        for az, (firewall_subnet, public_subnet) in enumerate(zip(firewall_subnets, public_subnets, strict=True)):
            letter = self._letter(az)
            endpoint = pulumi.Output.all(firewall.firewall_statuses, firewall_subnet.id).apply(
                lambda values: _endpoint_in_subnet(values[0], values[1])
            )
            eip = aws.ec2.Eip(f"{name}-nat-{letter}", domain="vpc", opts=self._child)
            nat = aws.ec2.NatGateway(
                f"{name}-nat-{letter}",
                allocation_id=eip.allocation_id,
                subnet_id=public_subnet.id,
                connectivity_type="public",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
            )
            public_table = self._route_table("public", az, public_subnet)
            self._route(f"{name}-public-{letter}-internet", public_table, ANYWHERE, gateway_id=gateway.id)
            self._route(f"{name}-public-{letter}-return", public_table, plan.private[az], vpc_endpoint_id=endpoint)
            firewall_table = self._route_table("firewall", az, firewall_subnet)
            self._route(f"{name}-firewall-{letter}-nat", firewall_table, ANYWHERE, nat_gateway_id=nat.id)
            self._route(
                f"{name}-private-{letter}-egress", self.private_route_tables[az], ANYWHERE, vpc_endpoint_id=endpoint
            )
        return firewall

    def _firewall(self, subnets: list[aws.ec2.Subnet]) -> aws.networkfirewall.Firewall:
        settings, name, owner = self._args.settings, self._name, self._args.owner
        env = settings.environment
        rules = aws.networkfirewall.RuleGroup(
            f"{name}-egress-allowlist",
            name=naming.resource_name(env, owner, "egress-allowlist"),
            description="Domains workloads may reach; everything else is dropped",
            type="STATEFUL",
            capacity=RULE_GROUP_CAPACITY,
            rule_group={
                "rule_variables": {"ip_sets": [{"key": "HOME_NET", "ip_set": {"definitions": [self.cidr]}}]},
                "rules_source": {
                    "rules_source_list": {
                        "generated_rules_type": "ALLOWLIST",
                        "target_types": ["HTTP_HOST", "TLS_SNI"],
                        "targets": list(settings.network.egress.allowed_domains),
                    }
                },
                "stateful_rule_options": {"rule_order": "STRICT_ORDER"},
            },
            opts=self._child,
        )
        policy = aws.networkfirewall.FirewallPolicy(
            f"{name}-egress",
            name=naming.resource_name(env, owner, "egress"),
            firewall_policy={
                "stateless_default_actions": ["aws:forward_to_sfe"],
                "stateless_fragment_default_actions": ["aws:forward_to_sfe"],
                "stateful_engine_options": {"rule_order": "STRICT_ORDER"},
                "stateful_default_actions": ["aws:drop_established", "aws:alert_established"],
                "stateful_rule_group_references": [{"priority": 1, "resource_arn": rules.arn}],
            },
            opts=self._child,
        )
        firewall = aws.networkfirewall.Firewall(
            f"{name}-egress",
            name=naming.resource_name(env, owner, "egress"),
            vpc_id=self.vpc.id,
            firewall_policy_arn=policy.arn,
            subnet_mappings=[{"subnet_id": subnet.id} for subnet in subnets],
            delete_protection=env == "prod",
            opts=self._child,
        )
        alerts = self._log_group("egress-firewall-alerts")
        aws.networkfirewall.LoggingConfiguration(
            f"{name}-egress",
            firewall_arn=firewall.arn,
            logging_configuration={
                "log_destination_configs": [
                    {
                        "log_destination": {"logGroup": alerts.name},
                        "log_destination_type": "CloudWatchLogs",
                        "log_type": "ALERT",
                    }
                ]
            },
            opts=self._child,
        )
        return firewall
