"""EC2: launch templates and instances (IMDSv2, hop limit, volumes, public IPs), security groups and
VPCs (CONTROLS NODE-1..3, KMS-8, NET-1..4).

A launch template is judged on its default and its latest version: the default is what node groups
launch unless told otherwise, the latest is what a console edit or a drifted update just made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from audit.context import AuditContext
from audit.identity import key_problems, resource_owner
from audit.model import INSTANCE, LAUNCH_TEMPLATE, PLATFORM_OWNER, SECURITY_GROUP, VPC, Outcome, Resource
from audit.registry import check

_OPEN_IPV4, _OPEN_IPV6 = "0.0.0.0/0", "::/0"


@dataclass(frozen=True)
class NodeConfiguration:
    """What a node launches with: one launch template version, or a running instance."""

    label: str
    metadata: Mapping[str, Any]
    interfaces: Sequence[Mapping[str, Any]]
    block_devices: Sequence[Mapping[str, Any]]
    public_ip: str | None = None
    key_name: str | None = None


def node_configurations(ctx: AuditContext, resource: Resource) -> list[NodeConfiguration]:
    if resource.type == INSTANCE:
        data = resource.data
        return [
            NodeConfiguration(
                "the instance",
                data.get("MetadataOptions", {}),
                data.get("NetworkInterfaces", []),
                data.get("BlockDeviceMappings", []),
                data.get("PublicIpAddress"),
                data.get("KeyName"),
            )
        ]
    roles: dict[str, list[str]] = {}
    roles.setdefault(str(resource.data["DefaultVersionNumber"]), []).append("default")
    roles.setdefault(str(resource.data["LatestVersionNumber"]), []).append("latest")
    versions = ctx.api.items(
        "ec2",
        "DescribeLaunchTemplateVersions",
        "LaunchTemplateVersions",
        LaunchTemplateId=resource.id,
        Versions=sorted(roles),
    )
    configurations = []
    for version in sorted(versions, key=lambda version: version["VersionNumber"]):
        number = str(version["VersionNumber"])
        data = version.get("LaunchTemplateData", {})
        configurations.append(
            NodeConfiguration(
                f"version {number} ({', '.join(roles.get(number, []))})",
                data.get("MetadataOptions", {}),
                data.get("NetworkInterfaces", []),
                data.get("BlockDeviceMappings", []),
                key_name=data.get("KeyName"),
            )
        )
    return configurations


def _imds_disabled(configuration: NodeConfiguration) -> bool:
    return configuration.metadata.get("HttpEndpoint") == "disabled"


@check(
    "imdsv2-required",
    title="Nodes require IMDSv2 (session tokens)",
    controls=("NODE-1",),
    severity="high",
    resource_types=(LAUNCH_TEMPLATE, INSTANCE),
    remediation=(
        "Set MetadataOptions.HttpTokens to required in a new default launch template version "
        "(instances: aws ec2 modify-instance-metadata-options --http-tokens required)."
    ),
)
def imdsv2_required(ctx: AuditContext, resource: Resource) -> Outcome:
    return [
        f"{configuration.label}: HttpTokens is {configuration.metadata.get('HttpTokens', 'not set (optional)')}"
        for configuration in node_configurations(ctx, resource)
        if not _imds_disabled(configuration) and configuration.metadata.get("HttpTokens") != "required"
    ]


@check(
    "imds-hop-limit",
    title="The metadata response hop limit is 1, so pods cannot reach node credentials",
    controls=("NODE-2",),
    severity="high",
    resource_types=(LAUNCH_TEMPLATE, INSTANCE),
    remediation="Set MetadataOptions.HttpPutResponseHopLimit to 1.",
)
def imds_hop_limit(ctx: AuditContext, resource: Resource) -> Outcome:
    return [
        f"{configuration.label}: the hop limit is "
        f"{configuration.metadata.get('HttpPutResponseHopLimit', 'not set (the AMI default, 2 on AL2023)')}"
        for configuration in node_configurations(ctx, resource)
        if not _imds_disabled(configuration) and configuration.metadata.get("HttpPutResponseHopLimit") != 1
    ]


@check(
    "node-volumes-encrypted",
    title="Launch template volumes are encrypted with the owner's volumes key",
    controls=("KMS-8", "KMS-5"),
    severity="high",
    resource_types=(LAUNCH_TEMPLATE,),
    remediation="Set Encrypted true and the owner's alias/<env>/<owner>/volumes key on every EBS block device mapping.",
)
def node_volumes_encrypted(ctx: AuditContext, template: Resource) -> Outcome:
    problems = []
    for configuration in node_configurations(ctx, template):
        volumes = [mapping for mapping in configuration.block_devices if "Ebs" in mapping]
        if not volumes:
            problems.append(f"{configuration.label}: no EBS block device mapping sets encryption")
        for mapping in volumes:
            ebs = mapping["Ebs"]
            if not ebs.get("Encrypted"):
                problems.append(f"{configuration.label}: {mapping.get('DeviceName')} is not encrypted")
            else:
                problems += [
                    f"{configuration.label}: {mapping.get('DeviceName')}: {problem}"
                    for problem in key_problems(ctx, ebs.get("KmsKeyId"), resource_owner(template), "volumes")
                ]
    return problems


@check(
    "no-public-ip",
    title="Nodes get no public IP address",
    controls=("NODE-3",),
    severity="high",
    resource_types=(LAUNCH_TEMPLATE, INSTANCE),
    remediation="Set AssociatePublicIpAddress false and launch nodes only in private subnets.",
)
def no_public_ip(ctx: AuditContext, resource: Resource) -> Outcome:
    problems = []
    for configuration in node_configurations(ctx, resource):
        if configuration.public_ip:
            problems.append(f"{configuration.label} has the public IP {configuration.public_ip}")
        if any(interface.get("AssociatePublicIpAddress") for interface in configuration.interfaces):
            problems.append(f"{configuration.label} associates a public IP address")
    return problems


@check(
    "no-ssh-key",
    title="Nodes carry no SSH key pair (access is through SSM)",
    controls=("NODE-4",),
    severity="medium",
    resource_types=(LAUNCH_TEMPLATE, INSTANCE),
    remediation="Remove KeyName from the launch template (a new default version); reach nodes through SSM.",
)
def no_ssh_key(ctx: AuditContext, resource: Resource) -> Outcome:
    return [
        f"{configuration.label} has the key pair {configuration.key_name}"
        for configuration in node_configurations(ctx, resource)
        if configuration.key_name
    ]


def _open_ranges(permissions: Sequence[Mapping[str, Any]]) -> list[str]:
    found = []
    for permission in permissions:
        ports = (
            "all ports"
            if permission.get("IpProtocol") == "-1"
            else f"{permission.get('IpProtocol')} {permission.get('FromPort')}-{permission.get('ToPort')}"
        )
        cidrs = [item.get("CidrIp") for item in permission.get("IpRanges", []) if item.get("CidrIp") == _OPEN_IPV4]
        cidrs += [
            item.get("CidrIpv6") for item in permission.get("Ipv6Ranges", []) if item.get("CidrIpv6") == _OPEN_IPV6
        ]
        found += [f"{cidr} on {ports}" for cidr in cidrs]
    return found


def _default_group(group: Resource) -> bool:
    # The default group is held to NET-1 (no rules at all) through its VPC.
    return group.data.get("GroupName") == "default"


@check(
    "sg-no-open-ingress",
    title="No security group admits ingress from 0.0.0.0/0 or ::/0",
    controls=("NET-2",),
    severity="high",
    resource_types=(SECURITY_GROUP,),
    remediation="Revoke the open ingress rule; admit only the sources the workload needs.",
)
def sg_no_open_ingress(ctx: AuditContext, group: Resource) -> Outcome:
    if _default_group(group):
        return None
    return [f"ingress from {opening}" for opening in _open_ranges(group.data.get("IpPermissions", []))]


@check(
    "sg-workload-egress",
    title="Tenant workload security groups have no unrestricted egress",
    controls=("NET-3",),
    severity="high",
    resource_types=(SECURITY_GROUP,),
    remediation=(
        "Replace the 0.0.0.0/0 egress rule with the allowlisted destinations (VPC endpoints, the firewall path)."
    ),
)
def sg_workload_egress(ctx: AuditContext, group: Resource) -> Outcome:
    # Platform groups (endpoints, firewall, control plane) are the egress path; tenant groups are not.
    if _default_group(group) or group.tenant in (None, PLATFORM_OWNER):
        return None
    return [f"egress to {opening}" for opening in _open_ranges(group.data.get("IpPermissionsEgress", []))]


@check(
    "vpc-default-sg-closed",
    title="Each VPC's default security group has no rules",
    controls=("NET-1",),
    severity="medium",
    resource_types=(VPC,),
    remediation=(
        "Revoke every ingress and egress rule of the VPC's default security group (aws:ec2/defaultSecurityGroup)."
    ),
)
def vpc_default_sg_closed(ctx: AuditContext, vpc: Resource) -> Outcome:
    defaults = ctx.api.items(
        "ec2", "DescribeSecurityGroups", "SecurityGroups", Filters=[{"Name": "group-name", "Values": ["default"]}]
    )
    group = next((group for group in defaults if group.get("VpcId") == vpc.id), None)
    if group is None:
        return None
    rules = len(group.get("IpPermissions", [])) + len(group.get("IpPermissionsEgress", []))
    return [f"the default security group {group['GroupId']} has {rules} rule(s)"] if rules else []


@check(
    "vpc-flow-logs",
    title="Every VPC has a flow log of all traffic",
    controls=("NET-4",),
    severity="medium",
    resource_types=(VPC,),
    remediation="Add a flow log with trafficType ALL to the VPC (in the stack).",
)
def vpc_flow_logs(ctx: AuditContext, vpc: Resource) -> Outcome:
    flow_logs = [log for log in ctx.api.items("ec2", "DescribeFlowLogs", "FlowLogs") if log.get("ResourceId") == vpc.id]
    if any(log.get("TrafficType") == "ALL" for log in flow_logs):
        return []
    kinds = ", ".join(sorted({str(log.get("TrafficType")) for log in flow_logs}))
    return [f"flow logs capture only {kinds} traffic" if flow_logs else "the VPC has no flow log"]
