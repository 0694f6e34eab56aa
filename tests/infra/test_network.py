"""IsolatedNetwork: subnet plan, endpoints, routes per egress mode, firewall allowlist, flow logs."""

from __future__ import annotations

import json

import pytest
from platform_support import ACCOUNT, REGION, dependency_records, document, run, settings

from infra.components.key_ring import KeyRing, KeyRingArgs
from infra.components.network import IsolatedNetwork, NetworkArgs
from infra.config import Settings, subnet_plan
from preflight import Preview, ResourceRecord
from preflight.model import Mode

DEV = settings("dev", network={"cidr": "10.40.0.0/16"})
PROD = settings(
    "prod",
    network={"cidr": "10.50.0.0/16", "egress": {"mode": "firewall", "allowedDomains": ["pypi.org", ".huggingface.co"]}},
)
INTERFACE = {
    "ecr.api",
    "ecr.dkr",
    "sts",
    "kms",
    "logs",
    "ec2",
    "eks",
    "eks-auth",
    "elasticloadbalancing",
    "autoscaling",
    "ssm",
    "ssmmessages",
    "ec2messages",
}
ROUTE = "aws:ec2/route:Route"


def network(settings: Settings, mode: Mode = "update") -> Preview:
    def body() -> None:
        keys = KeyRing("platform-keys", KeyRingArgs(settings, "platform", ("logs",), []))
        IsolatedNetwork("network", NetworkArgs(settings, "platform", keys.arns["logs"]))

    return run(body, settings, mode)


@pytest.fixture(scope="module")
def dev() -> Preview:
    return network(DEV)


@pytest.fixture(scope="module")
def prod() -> Preview:
    # A first preview: the firewall's endpoints are cloud values, so the routes to them are
    # unknown and their property dependencies name the firewall.
    return network(PROD, "first-preview")


def name_of(preview: Preview, record: ResourceRecord, prop: str) -> str:
    [dependency] = dependency_records(preview, record, prop)
    return dependency.name


def routes(preview: Preview) -> set[tuple[str, str, str, str]]:
    """(route table, destination, target kind, target) of every route; a firewall endpoint is
    named ``<firewall>@<subnet>``, the firewall subnet whose endpoint it is."""
    result = set()
    for route in preview.by_type(ROUTE):
        [target] = {"gatewayId", "natGatewayId", "vpcEndpointId"} & set(route.property_dependencies)
        names = sorted(r.name for r in dependency_records(preview, route, target))
        resource = "@".join(names) if len(names) > 1 else names[0]
        table = name_of(preview, route, "routeTableId")
        result.add((table, route.inputs["destinationCidrBlock"], target, resource))
    return result


def test_subnet_plan_is_deterministic_and_keeps_workload_subnets_across_modes() -> None:
    assert subnet_plan("10.40.0.0/16", 2, "none").private == ("10.40.0.0/20", "10.40.16.0/20")
    firewalled = subnet_plan("10.40.0.0/16", 3, "firewall")
    assert firewalled.private == ("10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20")
    assert firewalled.firewall == ("10.40.64.0/20", "10.40.80.0/20", "10.40.96.0/20")
    assert firewalled.public == ("10.40.128.0/20", "10.40.144.0/20", "10.40.160.0/20")
    assert subnet_plan("172.20.0.0/20", 2, "none").private == ("172.20.0.0/24", "172.20.1.0/24")


def test_vpc_has_dns_and_a_closed_default_security_group(dev: Preview) -> None:
    [vpc] = dev.by_type("aws:ec2/vpc:Vpc")
    assert vpc.inputs["cidrBlock"] == "10.40.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True
    [default] = dev.by_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert set(default.inputs) - {"tags", "__defaults"} == {"vpcId"}, default.inputs


def test_dev_has_private_subnets_in_two_zones_without_public_ips(dev: Preview) -> None:
    # Placed by zone ID, the lowest EKS accepts (tests/infra/test_zone_selection.py).
    subnets = {s.name: s.inputs for s in dev.by_type("aws:ec2/subnet:Subnet")}
    assert {name: (i["cidrBlock"], i["availabilityZoneId"]) for name, i in subnets.items()} == {
        "network-private-a": ("10.40.0.0/20", "use1-az1"),
        "network-private-b": ("10.40.16.0/20", "use1-az2"),
    }
    assert not [name for name, inputs in subnets.items() if "availabilityZone" in inputs]
    for inputs in subnets.values():
        assert inputs["mapPublicIpOnLaunch"] is False
        assert inputs["tags"]["kubernetes.io/role/internal-elb"] == "1"


def test_endpoints_cover_the_standard_services_with_private_dns(dev: Preview) -> None:
    endpoints = dev.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    interface = {e.inputs["serviceName"]: e for e in endpoints if e.inputs["vpcEndpointType"] == "Interface"}
    assert set(interface) == {f"com.amazonaws.{REGION}.{service}" for service in INTERFACE}
    for endpoint in interface.values():
        assert endpoint.inputs["privateDnsEnabled"] is True, endpoint.urn
        assert sorted(r.name for r in dependency_records(dev, endpoint, "subnetIds")) == [
            "network-private-a",
            "network-private-b",
        ]
        assert [r.name for r in dependency_records(dev, endpoint, "securityGroupIds")] == ["network-endpoints"]
    [gateway] = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Gateway"]
    assert gateway.inputs["serviceName"] == f"com.amazonaws.{REGION}.s3"
    assert sorted(r.name for r in dependency_records(dev, gateway, "routeTableIds")) == [
        "network-private-a",
        "network-private-b",
    ]


def test_endpoint_security_group_admits_https_from_the_vpc_only(dev: Preview) -> None:
    group = dev.get("aws:ec2/securityGroup:SecurityGroup", "network-endpoints")
    assert [
        {k: rule[k] for k in ("protocol", "fromPort", "toPort", "cidrBlocks")} for rule in group.inputs["ingress"]
    ] == [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.40.0.0/16"]}]
    assert group.inputs["egress"] == []


def test_egress_none_has_no_route_beyond_the_vpc(dev: Preview) -> None:
    assert dev.by_type(ROUTE) == []
    for token in ("internetGateway:InternetGateway", "natGateway:NatGateway", "eip:Eip"):
        assert dev.by_type(f"aws:ec2/{token}") == []
    assert [r.type for r in dev.resources if r.type.startswith("aws:networkfirewall/")] == []


def test_flow_logs_capture_all_traffic_to_an_encrypted_log_group(dev: Preview) -> None:
    [flow] = dev.by_type("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow.inputs["maxAggregationInterval"] == 60
    assert name_of(dev, flow, "logDestination") == "network-vpc-flow-logs"
    assert name_of(dev, flow, "iamRoleArn") == "network-flow-logs"
    group = dev.get("aws:cloudwatch/logGroup:LogGroup", "network-vpc-flow-logs")
    assert group.inputs["name"] == "/aip/dev/platform/vpc-flow-logs"
    assert group.inputs["retentionInDays"] == 90
    assert name_of(dev, group, "kmsKeyId") == "platform-keys-logs"


def test_flow_log_role_is_assumable_by_this_account_flow_logs_only(dev: Preview) -> None:
    role = dev.get("aws:iam/role:Role", "network-flow-logs")
    assert role.inputs["name"] == "aip-dev-platform-flow-logs"
    # The deployer may create a role only with the tenant boundary (platform_roles.deployer_permissions).
    assert role.inputs["permissionsBoundary"] == f"arn:aws:iam::{ACCOUNT}:policy/aip-dev-tenant-boundary"
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/*"},
            },
        }
    ]
    group_arn = dev.get("aws:cloudwatch/logGroup:LogGroup", "network-vpc-flow-logs").outputs["arn"]
    policy = document(dev.get("aws:iam/rolePolicy:RolePolicy", "network-flow-logs"))
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [group_arn, f"{group_arn}:*"],
        }
    ]


def test_prod_spans_three_zones_with_firewall_and_public_subnets(prod: Preview) -> None:
    subnets = {s.name: s.inputs["cidrBlock"] for s in prod.by_type("aws:ec2/subnet:Subnet")}
    assert subnets == {
        "network-private-a": "10.50.0.0/20",
        "network-private-b": "10.50.16.0/20",
        "network-private-c": "10.50.32.0/20",
        "network-firewall-a": "10.50.64.0/20",
        "network-firewall-b": "10.50.80.0/20",
        "network-firewall-c": "10.50.96.0/20",
        "network-public-a": "10.50.128.0/20",
        "network-public-b": "10.50.144.0/20",
        "network-public-c": "10.50.160.0/20",
    }
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in prod.by_type("aws:ec2/subnet:Subnet"))


def test_firewall_mode_routes_workload_egress_through_the_firewall(prod: Preview) -> None:
    expected = set()
    for az, private in zip("abc", ("10.50.0.0/20", "10.50.16.0/20", "10.50.32.0/20"), strict=True):
        expected |= {
            (f"network-private-{az}", "0.0.0.0/0", "vpcEndpointId", f"network-egress@network-firewall-{az}"),
            (f"network-firewall-{az}", "0.0.0.0/0", "natGatewayId", f"network-nat-{az}"),
            (f"network-public-{az}", "0.0.0.0/0", "gatewayId", "network-igw"),
            (f"network-public-{az}", private, "vpcEndpointId", f"network-egress@network-firewall-{az}"),
        }
    assert routes(prod) == expected
    for nat in prod.by_type("aws:ec2/natGateway:NatGateway"):
        assert nat.inputs["connectivityType"] == "public"
        assert name_of(prod, nat, "subnetId") == nat.name.replace("nat", "public")


def test_firewall_drops_everything_its_domain_allowlist_does_not_match(prod: Preview) -> None:
    [group] = prod.by_type("aws:networkfirewall/ruleGroup:RuleGroup")
    assert group.inputs["type"] == "STATEFUL"
    assert group.inputs["ruleGroup"] == {
        "ruleVariables": {"ipSets": [{"key": "HOME_NET", "ipSet": {"definitions": ["10.50.0.0/16"]}}]},
        "rulesSource": {
            "rulesSourceList": {
                "generatedRulesType": "ALLOWLIST",
                "targetTypes": ["HTTP_HOST", "TLS_SNI"],
                "targets": ["pypi.org", ".huggingface.co"],
            }
        },
        "statefulRuleOptions": {"ruleOrder": "STRICT_ORDER"},
    }
    [policy] = prod.by_type("aws:networkfirewall/firewallPolicy:FirewallPolicy")
    rules = policy.inputs["firewallPolicy"]
    assert rules["statelessDefaultActions"] == ["aws:forward_to_sfe"]
    assert rules["statelessFragmentDefaultActions"] == ["aws:forward_to_sfe"]
    assert rules["statefulDefaultActions"] == ["aws:drop_established", "aws:alert_established"]
    assert rules["statefulEngineOptions"] == {"ruleOrder": "STRICT_ORDER"}
    [reference] = rules["statefulRuleGroupReferences"]
    assert reference["priority"] == 1
    assert name_of(prod, policy, "firewallPolicy") == "network-egress-allowlist"
    [firewall] = prod.by_type("aws:networkfirewall/firewall:Firewall")
    assert firewall.inputs["deleteProtection"] is True
    assert sorted(r.name for r in dependency_records(prod, firewall, "subnetMappings")) == [
        "network-firewall-a",
        "network-firewall-b",
        "network-firewall-c",
    ]


def test_firewall_alerts_go_to_an_encrypted_log_group(prod: Preview) -> None:
    [logging] = prod.by_type("aws:networkfirewall/loggingConfiguration:LoggingConfiguration")
    [destination] = logging.inputs["loggingConfiguration"]["logDestinationConfigs"]
    assert destination["logType"] == "ALERT"
    assert destination["logDestinationType"] == "CloudWatchLogs"
    group = prod.get("aws:cloudwatch/logGroup:LogGroup", "network-egress-firewall-alerts")
    assert destination["logDestination"] == {"logGroup": group.inputs["name"]}
    assert group.inputs["name"] == "/aip/prod/platform/egress-firewall-alerts"
    assert group.inputs["retentionInDays"] == 365
    assert name_of(prod, group, "kmsKeyId") == "platform-keys-logs"
