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
with the instances' security group and never a public IP (a pre-created interface gets none), and
is the instance's only primary interface: the launch template defines none for these instances
(``interface_in_template`` false), since an instance takes its primary interface (device index 0)
from the template or from the launch request, not both (EC2 API Reference,
LaunchTemplateInstanceNetworkInterfaceSpecificationRequest, ``DeviceIndex``). The security group
admits no ingress at all (operators use SSM Session Manager through the
VPC's ssm, ssmmessages and ec2messages endpoints) and allows egress only over HTTPS: to the VPC (the
interface endpoints), to S3 through the gateway endpoint (the model store, ECR image layers), and,
when the VPC's egress goes through the firewall, to the internet, where the firewall's domain
allowlist decides.

Image: ``hosts.image`` names where the AMI comes from, never an id typed into the stack file: the
parameter the tenant's image pipeline publishes it under (``aws.ssm.get_parameter``), or the most
recent available image of the instance type's architecture with a name pattern, owned by exactly the
account config pins (``aws.ec2.get_ami``). Both resolve when the program runs, in the hosts' account,
so a new image is a launch template change that a preview shows before ``up`` applies it.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.components.dedicated_hosts import DedicatedHosts
from infra.components.launch_template import METADATA_OPTIONS, LaunchTemplate, LaunchTemplateArgs, Tenancy
from infra.components.network import ANYWHERE, IsolatedNetwork, https_egress, s3_gateway_egress
from infra.config import HostImage, HostsConfig, Settings, Tenant
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


def egress_rules(network: IsolatedNetwork, firewalled: bool) -> list[aws.ec2.SecurityGroupEgressArgs]:
    """HTTPS to the VPC and to S3; to the internet only through the firewall's allowlist."""
    rules = [
        https_egress(
            "AWS APIs through the VPC's interface endpoints (SSM, KMS, ECR, STS, logs)", cidr_blocks=[network.cidr]
        ),
        s3_gateway_egress(network, "S3 (model store, ECR image layers) through the gateway endpoint"),
    ]
    if firewalled:
        rules.append(
            https_egress("The internet, through the egress firewall's domain allowlist", cidr_blocks=[ANYWHERE])
        )
    return rules


def image_id(image: HostImage, architecture: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """The AMI id ``image`` names, looked up in the account of ``parent``'s provider."""
    opts = pulumi.InvokeOutputOptions(parent=parent)
    if image.ssm_parameter is not None:
        return aws.ssm.get_parameter_output(name=image.ssm_parameter, opts=opts).value
    return aws.ec2.get_ami_output(
        owners=[str(image.owner)],
        most_recent=True,
        filters=[
            aws.ec2.GetAmiFilterArgs(name="name", values=[str(image.name_pattern)]),
            aws.ec2.GetAmiFilterArgs(name="architecture", values=[architecture]),
            aws.ec2.GetAmiFilterArgs(name="state", values=["available"]),
        ],
        opts=opts,
    ).id


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
                security_group_ids=[],
                interface_in_template=False,
                volume_size_gib=config.volume_size_gib,
                image_id=image_id(config.image, config.row.architecture, self),
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
