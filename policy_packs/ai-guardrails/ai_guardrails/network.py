"""Network and egress (CONTROLS E): security groups, firewall allowlists, routes, flow logs, endpoints."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from ai_guardrails.core import (
    CRITICAL,
    HIGH,
    MEDIUM,
    Config,
    Finding,
    Outcome,
    Resource,
    Stack,
    Undecided,
    expect,
    resource_policy,
    shown,
    stack_policy,
    string_list,
)
from ai_guardrails.joins import VPC
from ai_guardrails.kube import NETWORK_POLICY, SERVICE, SYSTEM_NAMESPACES_SCHEMA, is_system, namespace_of
from ai_guardrails.tags import K8S, STANDARDS
from ai_guardrails.values import as_bool, get, is_unknown, items, strings

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
RULE_GROUP = "aws:networkfirewall/ruleGroup:RuleGroup"
FIREWALL = "aws:networkfirewall/firewall:Firewall"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE_TABLE_ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
INTERNET_GATEWAY = "aws:ec2/internetGateway:InternetGateway"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
SUBNET = "aws:ec2/subnet:Subnet"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
INSTANCE = "aws:ec2/instance:Instance"

_ANYWHERE = ("0.0.0.0/0", "::/0")
_IMDS = ipaddress.ip_network(K8S["instance_metadata_cidr"])
ENDPOINTS = STANDARDS["vpc_endpoints"]


def sg_rules(r: Resource, direction: str) -> list[tuple[str, dict[str, Any]]]:
    """The rules of one direction a security-group token expresses, normalised to {cidrs, protocol,
    fromPort, toPort}.
    """
    if r.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        found = []
        for index, rule in enumerate(items(r.get(direction))):
            cidrs = [*strings(get(rule, "cidrBlocks")), *strings(get(rule, "ipv6CidrBlocks"))]
            found.append(
                (
                    f"{direction}[{index}]",
                    {
                        "cidrs": cidrs,
                        "protocol": get(rule, "protocol"),
                        "fromPort": get(rule, "fromPort"),
                        "toPort": get(rule, "toPort"),
                    },
                )
            )
        return found
    if r.type == SECURITY_GROUP_RULE:
        if r.get("type") != direction:
            return []
        cidrs = [*strings(r.get("cidrBlocks")), *strings(r.get("ipv6CidrBlocks"))]
        return [
            (
                "cidrBlocks",
                {
                    "cidrs": cidrs,
                    "protocol": r.get("protocol"),
                    "fromPort": r.get("fromPort"),
                    "toPort": r.get("toPort"),
                },
            )
        ]
    if (r.type == INGRESS_RULE and direction == "ingress") or (r.type == EGRESS_RULE and direction == "egress"):
        cidrs = [c for c in (r.get("cidrIpv4"), r.get("cidrIpv6")) if isinstance(c, str)]
        return [
            (
                "cidrIpv4",
                {
                    "cidrs": cidrs,
                    "protocol": r.get("ipProtocol"),
                    "fromPort": r.get("fromPort"),
                    "toPort": r.get("toPort"),
                },
            )
        ]
    return []


def _all_ports(rule: dict[str, Any]) -> bool:
    protocol = str(rule.get("protocol"))
    return protocol in ("-1", "all") or (rule.get("fromPort") in (0, None) and rule.get("toPort") in (65535, None))


@resource_policy(
    "default-security-group-closed",
    description="Default security groups have no ingress and no egress rules.",
    controls=["NET-1"],
    severity=HIGH,
    remediation="Declare aws.ec2.DefaultSecurityGroup with no ingress and no egress blocks.",
    tokens=[DEFAULT_SECURITY_GROUP],
)
def default_security_group_closed(r: Resource, config: Config) -> Iterator[Outcome]:
    """`ingress` and `egress` are empty (absent = Pulumi removes every rule)."""
    for direction in ("ingress", "egress"):
        yield from expect(
            r.get(direction),
            direction,
            lambda rules: not items(rules),
            "no rules",
            f"remove the {direction} rules",
            problem="has rules",
        )


@resource_policy(
    "no-open-ingress",
    description="Security groups and standalone ingress rules never admit 0.0.0.0/0 or ::/0.",
    controls=["NET-2"],
    severity=CRITICAL,
    remediation="Admit only the VPC CIDR, a prefix list or another security group.",
    tokens=[SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE],
)
def no_open_ingress(r: Resource, config: Config) -> Iterator[Outcome]:
    """`ingress[].cidrBlocks`/`ipv6CidrBlocks`, ingress `SecurityGroupRule` CIDRs and
    `SecurityGroupIngressRule.cidrIpv4`/`cidrIpv6` exclude `0.0.0.0/0` and `::/0`.
    """
    if is_unknown(r.get("ingress")):
        yield Undecided("ingress")
        return
    for path, rule in sg_rules(r, "ingress"):
        open_to = [c for c in rule["cidrs"] if c in _ANYWHERE]
        if open_to:
            yield Finding(
                path,
                f"admits {', '.join(open_to)}",
                "private sources only",
                "narrow the source to the VPC or a security group",
            )


@resource_policy(
    "no-unrestricted-egress",
    description="Security groups never allow all traffic to the internet; open egress is limited to named ports.",
    controls=["NET-3"],
    severity=HIGH,
    remediation=(
        "Limit egress to the VPC CIDR and endpoints; where the firewall path is used, to TCP 443 (and 80) only."
    ),
    tokens=[SECURITY_GROUP, SECURITY_GROUP_RULE, EGRESS_RULE],
)
def no_unrestricted_egress(r: Resource, config: Config) -> Iterator[Outcome]:
    """Egress to `0.0.0.0/0` or `::/0` never covers all protocols or all ports (`protocol` -1, or ports 0–65535)."""
    if is_unknown(r.get("egress")):
        yield Undecided("egress")
        return
    for path, rule in sg_rules(r, "egress"):
        if any(c in _ANYWHERE for c in rule["cidrs"]) and _all_ports(rule):
            yield Finding(
                path,
                "allows all traffic to the internet",
                "specific ports toward the firewall path, or private destinations",
                "limit the egress rule",
            )


@resource_policy(
    "firewall-domain-allowlist",
    description="Network Firewall domain rule groups are allowlists.",
    controls=["NET-3"],
    severity=HIGH,
    remediation="Set ruleGroup.rulesSource.rulesSourceList.generatedRulesType='ALLOWLIST'.",
    tokens=[RULE_GROUP],
)
def firewall_domain_allowlist(r: Resource, config: Config) -> Iterator[Outcome]:
    """`ruleGroup.rulesSource.rulesSourceList.generatedRulesType` is `ALLOWLIST` wherever a domain list is used."""
    source = r.get("ruleGroup", "rulesSource", "rulesSourceList")
    if is_unknown(source):
        yield Undecided("ruleGroup.rulesSource.rulesSourceList")
    elif isinstance(source, dict) and source.get("generatedRulesType") != "ALLOWLIST":
        yield Finding(
            "ruleGroup.rulesSource.rulesSourceList.generatedRulesType",
            f"is {shown(source.get('generatedRulesType'), ['DENYLIST', 'REJECTLIST', 'ALERTLIST'])}",
            "'ALLOWLIST'",
            "make the domain list an allowlist",
        )


@resource_policy(
    "flow-log-all-traffic",
    description="VPC flow logs capture all traffic.",
    controls=["NET-4"],
    severity=MEDIUM,
    remediation="Set trafficType='ALL'.",
    tokens=[FLOW_LOG],
)
def flow_log_all_traffic(r: Resource, config: Config) -> Iterator[Outcome]:
    """`trafficType` is `ALL`."""
    yield from expect(
        r.get("trafficType"), "trafficType", ("ALL",), "'ALL'", "set trafficType='ALL'", vocabulary=["ACCEPT", "REJECT"]
    )


@resource_policy(
    "vpc-endpoint-private-dns",
    description="Interface VPC endpoints enable private DNS so AWS API calls stay in the VPC.",
    controls=["NET-5"],
    severity=MEDIUM,
    remediation="Set privateDnsEnabled=True on interface endpoints.",
    tokens=[VPC_ENDPOINT],
)
def vpc_endpoint_private_dns(r: Resource, config: Config) -> Iterator[Outcome]:
    """Endpoints with `vpcEndpointType` `Interface` have `privateDnsEnabled` true (absent = false)."""
    if r.get("vpcEndpointType") != "Interface":
        return
    yield from expect(
        as_bool(r.get("privateDnsEnabled")),
        "privateDnsEnabled",
        (True,),
        "true",
        "set privateDnsEnabled=True",
        absent="false",
    )


def _covers_imds(cidr: Any, excepts: list[str]) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except (TypeError, ValueError):
        return False
    if network.version != 4 or not _IMDS.subnet_of(network):  # type: ignore[arg-type]
        return False
    for entry in excepts:
        try:
            if _IMDS.subnet_of(ipaddress.ip_network(entry, strict=False)):  # type: ignore[arg-type]
                return False
        except (TypeError, ValueError):
            continue
    return True


@resource_policy(
    "k8s-network-policy-no-imds",
    description="Kubernetes network policies never allow egress to the instance metadata service.",
    controls=["NET-6"],
    severity=CRITICAL,
    remediation="Add 169.254.169.254/32 to the except list of every ipBlock that would include it.",
    tokens=[NETWORK_POLICY],
)
def k8s_network_policy_no_imds(r: Resource, config: Config) -> Iterator[Outcome]:
    """Every `spec.egress[].to[].ipBlock.cidr` that contains `169.254.169.254` lists it in `except`."""
    egress = r.get("spec", "egress")
    if is_unknown(egress):
        yield Undecided("spec.egress")
        return
    for i, rule in enumerate(items(egress)):
        for j, peer in enumerate(items(get(rule, "to"))):
            block = get(peer, "ipBlock")
            if isinstance(block, dict) and _covers_imds(block.get("cidr"), strings(block.get("except"))):
                yield Finding(
                    f"spec.egress[{i}].to[{j}].ipBlock",
                    "reaches 169.254.169.254",
                    "except: ['169.254.169.254/32']",
                    "exclude the instance metadata address",
                )


@resource_policy(
    "k8s-no-tenant-load-balancers",
    description="Tenant Services are never LoadBalancer or NodePort.",
    controls=["NET-7"],
    severity=HIGH,
    remediation="Use ClusterIP Services; expose tenants only through the platform's ingress.",
    tokens=[SERVICE],
    config={"systemNamespaces": SYSTEM_NAMESPACES_SCHEMA},
)
def k8s_no_tenant_load_balancers(r: Resource, config: Config) -> Iterator[Outcome]:
    """Services outside system namespaces have `spec.type` other than `LoadBalancer` and `NodePort`."""
    if is_system(namespace_of(r), config):
        return
    exposing = ["LoadBalancer", "NodePort"]
    yield from expect(
        r.get("spec", "type"),
        "spec.type",
        lambda kind: kind not in exposing,
        "'ClusterIP'",
        "use a ClusterIP Service",
        vocabulary=exposing,
    )


# --- stack policies -------------------------------------------------------------------------


def vpc_of(stack: Stack, resource: Resource) -> Resource | None:
    sources = stack.sources(resource, "vpcId", VPC)
    if sources:
        return sources[0]
    vpcs = stack.of(VPC)
    return vpcs[0] if len(vpcs) == 1 else None


@stack_policy(
    "vpc-flow-logs",
    description="Every VPC has a flow log capturing all traffic.",
    controls=["NET-4"],
    severity=MEDIUM,
    remediation="Add an aws.ec2.FlowLog with vpcId=<vpc>.id and trafficType='ALL'.",
    tokens=[VPC, FLOW_LOG],
)
def vpc_flow_logs(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `Vpc` is the `vpcId` (property dependency) of a `FlowLog` with `trafficType` `ALL`."""
    covered = {
        vpc.urn
        for log in stack.of(FLOW_LOG)
        if log.get("trafficType") == "ALL"
        for vpc in stack.sources(log, "vpcId", VPC)
    }
    for vpc in stack.of(VPC):
        if vpc.urn not in covered:
            yield Finding("(flow logs)", "are missing", "a FlowLog with trafficType 'ALL'", "add a flow log", vpc)


@stack_policy(
    "vpc-required-endpoints",
    description="Every VPC has the interface and gateway endpoints the platform needs.",
    controls=["NET-5"],
    severity=HIGH,
    remediation=(
        "Add the missing aws.ec2.VpcEndpoint resources (interface endpoints with private DNS, S3 as a gateway)."
    ),
    tokens=[VPC, VPC_ENDPOINT, INSTANCE],
    config={
        "interfaceEndpoints": string_list(
            ENDPOINTS["required_interface"], "Interface endpoint services every VPC needs."
        ),
        "gatewayEndpoints": string_list(ENDPOINTS["gateway"], "Gateway endpoint services every VPC needs."),
        "ssmEndpoints": string_list(
            ENDPOINTS["ssm_interface"],
            "Interface endpoints needed where the stack has EC2 instances reached through SSM.",
        ),
    },
)
def vpc_required_endpoints(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `Vpc` has `VpcEndpoint`s (joined through `vpcId`) whose `serviceName` ends in each
    required interface service (`Interface`) and gateway service (`Gateway`); SSM endpoints too
    where the stack has instances.
    """
    required = [(s, "Interface") for s in config["interfaceEndpoints"]] + [
        (s, "Gateway") for s in config["gatewayEndpoints"]
    ]
    if stack.of(INSTANCE):
        required += [(s, "Interface") for s in config["ssmEndpoints"]]
    endpoints = [(vpc_of(stack, e), e) for e in stack.of(VPC_ENDPOINT)]
    for vpc in stack.of(VPC):
        present = set()
        for owner_vpc, endpoint in endpoints:
            name = endpoint.get("serviceName")
            if owner_vpc is vpc and isinstance(name, str):
                present.add((name.split(".", 3)[-1], endpoint.get("vpcEndpointType") or "Gateway"))
        missing = [f"{service} ({kind})" for service, kind in required if (service, kind) not in present]
        if missing:
            yield Finding(
                "(endpoints)", f"lack {', '.join(missing)}", "every required endpoint", "add the VPC endpoints", vpc
            )


def _sg_of(stack: Stack, resource: Resource) -> Resource | None:
    if resource.type == SECURITY_GROUP:
        return resource
    groups = stack.sources(resource, "securityGroupId", SECURITY_GROUP)
    return groups[0] if groups else None


@stack_policy(
    "open-egress-only-via-firewall",
    description="Egress to the internet is allowed only in VPCs whose default route goes through the Network Firewall.",
    controls=["NET-3"],
    severity=HIGH,
    remediation="Remove 0.0.0.0/0 egress, or deploy the network in firewall egress mode with a domain allowlist.",
    tokens=[SECURITY_GROUP, SECURITY_GROUP_RULE, EGRESS_RULE, VPC, FIREWALL],
)
def open_egress_only_via_firewall(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Security-group egress to `0.0.0.0/0`/`::/0` (inline, `SecurityGroupRule`, `SecurityGroupEgressRule`) is allowed
    only when its group's VPC (through `vpcId`) has a `Firewall`.
    """
    firewalled = {vpc.urn for fw in stack.of(FIREWALL) if (vpc := vpc_of(stack, fw)) is not None}
    for resource in stack.of(SECURITY_GROUP, SECURITY_GROUP_RULE, EGRESS_RULE):
        for path, rule in sg_rules(resource, "egress"):
            if not any(c in _ANYWHERE for c in rule["cidrs"]):
                continue
            group = _sg_of(stack, resource)
            vpc = vpc_of(stack, group) if group is not None else None
            if vpc is None or vpc.urn not in firewalled:
                yield Finding(
                    path,
                    "allows egress to the internet from a VPC without the firewall path",
                    "private destinations only",
                    "remove the rule or use firewall egress mode",
                    resource,
                )


def _public_subnets(stack: Stack) -> set[str]:
    return {subnet.urn for nat in stack.of(NAT_GATEWAY) for subnet in stack.sources(nat, "subnetId", SUBNET)}


@stack_policy(
    "no-internet-route-for-workloads",
    description="No workload route table sends 0.0.0.0/0 to an internet gateway.",
    controls=["NET-3"],
    severity=CRITICAL,
    remediation=(
        "Route workload subnets' default route to the firewall endpoint (or none); only NAT subnets route to the "
        "internet gateway."
    ),
    tokens=[ROUTE, ROUTE_TABLE, ROUTE_TABLE_ASSOCIATION, INTERNET_GATEWAY, NAT_GATEWAY, SUBNET],
)
def no_internet_route_for_workloads(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `0.0.0.0/0` (or `::/0`) route to an `InternetGateway` (through `gatewayId`, or a literal `igw-` id;
    standalone or inline in `RouteTable.routes`) belongs to a route table associated only with subnets that host a NAT
    gateway.
    """
    public = _public_subnets(stack)
    for table in stack.of(ROUTE_TABLE):
        subnets = [
            subnet.urn
            for association in stack.dependents(table, "routeTableId", ROUTE_TABLE_ASSOCIATION)
            for subnet in stack.sources(association, "subnetId", SUBNET)
        ]
        workload = any(urn not in public for urn in subnets)
        internet_routes: list[tuple[Resource, str]] = []
        for route in stack.dependents(table, "routeTableId", ROUTE):
            destination = route.get("destinationCidrBlock") or route.get("destinationIpv6CidrBlock")
            to_igw = stack.sources(route, "gatewayId", INTERNET_GATEWAY) or str(
                route.get("gatewayId") or ""
            ).startswith("igw-")
            if destination in _ANYWHERE and to_igw:
                internet_routes.append((route, "destinationCidrBlock"))
        inline_igw = stack.sources(table, "routes", INTERNET_GATEWAY)
        for index, route in enumerate(items(table.get("routes"))):
            if get(route, "cidrBlock") in _ANYWHERE and (
                inline_igw or str(get(route, "gatewayId") or "").startswith("igw-")
            ):
                internet_routes.append((table, f"routes[{index}]"))
        if workload:
            for subject, path in internet_routes:
                yield Finding(
                    path,
                    "sends the default route of a workload subnet to an internet gateway",
                    "the firewall endpoint or no default route",
                    "remove the route",
                    subject,
                )
