"""HostInstances: one GPU instance on each of a tenant's Dedicated Hosts (issue 7, items 2 and 3).

Every instance is launched from the platform's hardened launch template (``LaunchTemplate``):
IMDSv2 only with hop limit 1, the root volume encrypted with the tenant's volumes key, no key pair,
tenancy ``host``, the tenant's standard tags on the instance, its volumes and network interface; and,
with confidential computing, Nitro Enclaves enabled. Each instance then names its own host by id
(``hostId``, with tenancy ``host``): the hosts' auto placement is off, so nothing else lands there.

The instance repeats the template's security settings as its own inputs (metadata options, the
encrypted root volume, the enclave option, tenancy): the policy pack judges each resource by the
inputs it declares, and a template's values are invisible on the instance in a preview.

Network: each instance's primary interface is created first, in the private subnet of its host's AZ,
with the instances' security group and never a public IP (a pre-created interface gets none; EC2
rejects an instance-level subnet next to a template's network interface, so the interface is named
instead). The security group admits no ingress at all (operators use SSM Session Manager through the
VPC's ssm, ssmmessages and ec2messages endpoints) and allows egress only over HTTPS: to the VPC (the
interface endpoints), to S3 through the gateway endpoint (the model store, ECR image layers), and,
when the VPC's egress goes through the firewall, to the internet, where the firewall's domain
allowlist decides.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.dedicated_hosts import DedicatedHosts
from infra.components.launch_template import METADATA_OPTIONS, LaunchTemplate, LaunchTemplateArgs, Tenancy
from infra.components.network import ANYWHERE, HTTPS, IsolatedNetwork
from infra.config import HostsConfig, Settings, Tenant
from infra.tags import TagScope

TYPE = "secure-ai-platform:host_instances:HostInstances"

TENANCY: Tenancy = "host"


@dataclass
class HostInstancesArgs:
    """The tenant, its hosts and network, its hosts config, the instance profile and the volumes key."""

    settings: Settings
    tenant: Tenant
    hosts: DedicatedHosts
    network: IsolatedNetwork
    config: HostsConfig
    instance_profile_name: pulumi.Input[str]
    # The tenant's own volumes key (alias/<env>/<tenant>/volumes).
    volumes_key_arn: pulumi.Input[str]
    nitro_enclaves: bool = False


def _https(
    description: str,
    cidr_blocks: Sequence[str] | None = None,
    prefix_list_ids: Sequence[pulumi.Input[str]] | None = None,
) -> aws.ec2.SecurityGroupEgressArgs:
    return aws.ec2.SecurityGroupEgressArgs(
        description=description,
        protocol="tcp",
        from_port=HTTPS,
        to_port=HTTPS,
        cidr_blocks=cidr_blocks,
        prefix_list_ids=prefix_list_ids,
    )


def egress_rules(network: IsolatedNetwork, firewalled: bool) -> list[aws.ec2.SecurityGroupEgressArgs]:
    """HTTPS to the VPC and to S3; to the internet only through the firewall's allowlist."""
    rules = [
        _https("AWS APIs through the VPC's interface endpoints (SSM, KMS, ECR, STS, logs)", cidr_blocks=[network.cidr]),
        _https(
            "S3 (model store, ECR image layers) through the gateway endpoint",
            prefix_list_ids=[network.gateway_endpoints["s3"].prefix_list_id],
        ),
    ]
    if firewalled:
        rules.append(_https("The internet, through the egress firewall's domain allowlist", cidr_blocks=[ANYWHERE]))
    return rules


class HostInstances(pulumi.ComponentResource):
    """The tenant's GPU instances, one per Dedicated Host, each targeting its host."""

    security_group: aws.ec2.SecurityGroup
    launch_template: LaunchTemplate
    network_interfaces: list[aws.ec2.NetworkInterface]
    instances: list[aws.ec2.Instance]

    def __init__(self, name: str, args: HostInstancesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings, tenant, network, config = args.settings, args.tenant, args.network, args.config
        child = pulumi.ResourceOptions(parent=self)
        firewalled = settings.network.egress.mode == "firewall"

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=network.vpc_id,
            description=f"GPU host instances of {tenant.name}: no ingress (SSM only), HTTPS egress to AWS APIs",
            ingress=[],
            egress=egress_rules(network, firewalled),
            opts=child,
        )
        self.launch_template = LaunchTemplate(
            name,
            LaunchTemplateArgs(
                settings=settings,
                scope=TagScope.for_tenant(settings, tenant.name),
                volumes_key_arn=args.volumes_key_arn,
                security_group_ids=[self.security_group.id],
                volume_size_gib=config.volume_size_gib,
                image_id=config.image_id,
                instance_type=config.instance_type,
                tenancy=TENANCY,
                nitro_enclaves=args.nitro_enclaves,
            ),
            opts=child,
        )

        self.network_interfaces, self.instances = [], []
        for index, (host, zone) in enumerate(zip(args.hosts.hosts, args.hosts.zone_indexes, strict=True)):
            resource = f"{name}-{index}"
            interface = aws.ec2.NetworkInterface(
                resource,
                subnet_id=network.private_subnet_ids[zone],
                security_groups=[self.security_group.id],
                description=f"Primary interface of {resource} (AZ {string.ascii_lowercase[zone]})",
                tags={"Name": resource},
                opts=child,
            )
            self.network_interfaces.append(interface)
            self.instances.append(
                aws.ec2.Instance(
                    resource,
                    launch_template=aws.ec2.InstanceLaunchTemplateArgs(
                        id=self.launch_template.id, version=self.launch_template.latest_version
                    ),
                    instance_type=config.instance_type,
                    tenancy=TENANCY,
                    host_id=host.id,
                    iam_instance_profile=args.instance_profile_name,
                    primary_network_interface=aws.ec2.InstancePrimaryNetworkInterfaceArgs(
                        network_interface_id=interface.id
                    ),
                    metadata_options=METADATA_OPTIONS,
                    root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                        volume_type="gp3",
                        volume_size=config.volume_size_gib,
                        encrypted=True,
                        kms_key_id=args.volumes_key_arn,
                        delete_on_termination=True,
                    ),
                    enclave_options=aws.ec2.InstanceEnclaveOptionsArgs(enabled=True) if args.nitro_enclaves else None,
                    tags={"Name": resource},
                    opts=child,
                )
            )
        self.register_outputs(
            {
                "instanceIds": [instance.id for instance in self.instances],
                "launchTemplateId": self.launch_template.id,
                "securityGroupId": self.security_group.id,
            }
        )
