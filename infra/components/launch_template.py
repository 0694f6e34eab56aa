"""A hardened EC2 launch template for EKS nodes and dedicated hosts (CONTROLS NODE-1..4).

One helper for every node the platform launches (the system node group here, GPU pools and
dedicated hosts later), so the metadata, disk, network and tagging rules live in one place:

- IMDSv2 only, hop limit 1: a pod (one hop further away than its node) cannot reach the node's
  credentials; workloads get theirs from EKS Pod Identity instead (NODE-1, NODE-2);
- the root volume is gp3, encrypted with the owner's volumes key (KMS-3 admits the Auto Scaling
  service-linked role for it);
- one network interface that never gets a public IP, with the security groups given (NODE-3),
  unless each instance brings its own pre-created primary interface (``interface_in_template``
  false, infra.components.host_instances): an instance has one primary interface (device index 0),
  from the template or from the launch request, never both (EC2 API Reference,
  LaunchTemplateInstanceNetworkInterfaceSpecificationRequest, ``DeviceIndex``: a template without
  a primary interface needs one "as a launch parameter"), so the template then defines none;
- no key pair: nodes are reached through SSM, never SSH (NODE-4);
- the instances, volumes and network interfaces it launches carry the standard tags of the
  owner's scope: the stack's tag transform only sees the template's own ``tags``, not what the
  template stamps on the resources EC2 creates from it.

The AMI is left to the node group (``amiType``) unless ``image_id`` is given, and no IAM instance
profile, subnet or shutdown behaviour is set: EKS managed node groups reject those in a template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from infra.config import Settings
from infra.tags import TagScope, standard_tags

TYPE = "secure-ai-platform:launch_template:LaunchTemplate"

# The root device of the EKS-optimised Amazon Linux 2023 and Bottlerocket AMIs.
ROOT_DEVICE = "/dev/xvda"
# What EC2 stamps the standard tags on at launch.
TAGGED_AT_LAUNCH = ("instance", "volume", "network-interface")
# Instance metadata: IMDSv2 only, hop limit 1 (NODE-1, NODE-2); also what an instance launched from the
# template repeats as its own inputs (infra.components.host_instances).
METADATA_OPTIONS: aws.ec2.LaunchTemplateMetadataOptionsArgsDict = {
    "http_endpoint": "enabled",
    "http_tokens": "required",
    "http_put_response_hop_limit": 1,
    "instance_metadata_tags": "disabled",
}
Tenancy = Literal["default", "dedicated", "host"]


@dataclass
class LaunchTemplateArgs:
    """Inputs of a node launch template."""

    settings: Settings
    # Whose nodes these are: decides the tags EC2 puts on what it launches.
    scope: TagScope
    # The owner's volumes key (alias/<env>/<owner>/volumes).
    volumes_key_arn: pulumi.Input[str]
    # Security groups of the node's network interface (for EKS nodes: the cluster security group);
    # none when the instances bring their own interface.
    security_group_ids: Sequence[pulumi.Input[str]]
    volume_size_gib: int = 50
    # None: the node group picks the EKS-optimised AMI of its amiType.
    image_id: pulumi.Input[str] | None = None
    # None for managed node groups, which take their instance types themselves.
    instance_type: str | None = None
    user_data: pulumi.Input[str] | None = None
    # "dedicated" or "host" for single-tenant hardware (NODE-8).
    tenancy: Tenancy = "default"
    host_resource_group_arn: pulumi.Input[str] | None = None
    nitro_enclaves: bool = False
    # False: every instance launched from the template attaches its own pre-created primary interface,
    # which carries the subnet, security groups and (no) public IP; the template then defines none.
    interface_in_template: bool = True


class LaunchTemplate(pulumi.ComponentResource):
    """An EC2 launch template with the platform's node hardening."""

    launch_template: aws.ec2.LaunchTemplate
    id: pulumi.Output[str]
    latest_version: pulumi.Output[str]

    def __init__(self, name: str, args: LaunchTemplateArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not args.interface_in_template and args.security_group_ids:
            raise ValueError(
                f"{name}: security groups belong on the instances' own interfaces when the template defines none"
            )
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = standard_tags(args.settings, args.scope)

        placement = None
        if args.tenancy != "default":
            placement = aws.ec2.LaunchTemplatePlacementArgs(
                tenancy=args.tenancy, host_resource_group_arn=args.host_resource_group_arn
            )

        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"Hardened nodes of {args.scope.tenant} ({args.settings.environment})",
            image_id=args.image_id,
            instance_type=args.instance_type,
            user_data=args.user_data,
            update_default_version=True,
            metadata_options=METADATA_OPTIONS,
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_type="gp3",
                        volume_size=args.volume_size_gib,
                        encrypted="true",
                        kms_key_id=args.volumes_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    device_index=0,
                    associate_public_ip_address="false",
                    delete_on_termination="true",
                    security_groups=list(args.security_group_ids),
                )
            ]
            if args.interface_in_template
            else None,
            placement=placement,
            enclave_options=aws.ec2.LaunchTemplateEnclaveOptionsArgs(enabled=True) if args.nitro_enclaves else None,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags) for kind in TAGGED_AT_LAUNCH
            ],
            opts=child,
        )
        self.id = self.launch_template.id
        self.latest_version = self.launch_template.latest_version.apply(str)
        self.register_outputs({"id": self.id, "latest_version": self.latest_version})
