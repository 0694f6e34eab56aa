"""GpuNodePool: a tier dedicated-pool tenant's GPU node groups, bound to that tenant (issue 6, item 2).

CONTROLS NODE-1..7, COST-2, KMS-8, REG-5, NET-2/3. One component per tenant; for each of its
``gpuPools`` one EKS managed node group:

- the EKS-optimised AL2023 NVIDIA AMI of the pool's architecture (``AL2023_x86_64_NVIDIA`` or
  ``AL2023_ARM_64_NVIDIA``); the NVIDIA device plugin DaemonSet serves it;
- the platform's hardened launch template (``LaunchTemplate``): IMDSv2 only with hop limit 1, no
  public IP, no key pair, the root volume (on AL2023 also the data volume: containerd's images
  and the pods' emptyDirs live on it) encrypted with the tenant's own volumes key, the standard
  tags of the tenant on the instances, volumes and network interfaces it launches;
- taints ``nvidia.com/gpu`` and ``aiplatform.io/tenant=<tenant>``, both NoSchedule, and labels
  ``aiplatform.io/tenant``, ``aiplatform.io/pool``: the taints keep every other pod off, the
  cluster's admission policy (``TenantAdmissionPolicy``) admits the tenant toleration only in the
  tenant's own namespace;
- scaling from config; config validation keeps max nodes × GPUs per node within the GPU quota.

Per tenant, shared by its pools:

- a node role of its own: the worker and CNI managed policies and an inline pull policy scoped
  to the tenant's repositories, the platform's (the device plugin mirror) and the EKS add-on
  images; not the account-wide ECR read-only policy, which could pull every tenant's images. It
  carries the tenant permissions boundary like every tenant role;
- a security group of its own: ingress only from its own nodes and, for the kubelet and
  webhooks, from the cluster security group (the control plane); egress to the VPC and to S3 (ECR
  image layers) over the gateway endpoint. No other tenant's pool is admitted, and the cluster
  security group admits the pools only for DNS (CoreDNS runs on the system nodes);
- for confidential and restricted tenants, subnets of their own (``Settings.own_subnet_cidrs``)
  with a route table per AZ that has no default route at all: AWS APIs through the VPC's
  interface endpoints, S3 through a gateway endpoint of the tenant's own.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from aiplatform_standards import platform

from infra import iam, naming
from infra.components.admission import pull_through_prefixes
from infra.components.cluster import SecureCluster, managed_policy_arn, service_trust_policy
from infra.components.launch_template import LaunchTemplate, LaunchTemplateArgs
from infra.components.network import HTTPS, IsolatedNetwork, s3_gateway_egress
from infra.components.registry import PULL_ACTIONS
from infra.config import GpuPool, Settings, Tenant
from infra.tags import PLATFORM, TagScope, scoped_options

TYPE = "secure-ai-platform:gpu_pool:GpuNodePool"

_KUBERNETES = platform()["kubernetes"]
TENANT_LABEL: str = _KUBERNETES["labels"]["tenant"]
POOL_LABEL: str = _KUBERNETES["labels"]["pool"]
TENANT_TAINT: str = _KUBERNETES["tenant_taint_key"]
GPU_TAINT: str = _KUBERNETES["gpu_taint_key"]
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy")
NODE_ROLE = "gpu-nodes"
CAPACITY_TYPES = {"on-demand": "ON_DEMAND", "spot": "SPOT"}
# The account that serves the EKS add-on images (VPC CNI, kube-proxy, Pod Identity agent) in the
# platform's approved regions (docs.aws.amazon.com/eks/latest/userguide/add-ons-images.html).
EKS_ADDON_REGISTRY_ACCOUNT = "602401143452"
# From the control plane (cluster security group) to the nodes: the kubelet, and webhooks.
KUBELET_PORT = 10250
DNS = 53


def node_role_name(settings: Settings, tenant: str) -> str:
    """e.g. ``aip-prod-fraud-gpu-nodes``: the other tenants' repository policies deny it by name."""
    return naming.role_name(settings.environment, tenant, NODE_ROLE)


def node_pull_policy(settings: Settings, tenant: str) -> list[iam.Statement]:
    """The node role's only ECR rights: its tenant's and the platform's repositories, the pull-through caches
    (which the admission policy approves for every tenant), and the EKS add-on images.
    """
    partition, region, account, env = settings.partition, settings.region, settings.account_id, settings.environment
    repositories = f"arn:{partition}:ecr:{region}:{account}:repository/"
    return [
        # Registry login: ecr:GetAuthorizationToken has no resource to scope it to.
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "PullTenantAndPlatformImages",
            "Effect": "Allow",
            "Action": list(PULL_ACTIONS),
            "Resource": [
                f"{repositories}{naming.repository_prefix(env, tenant)}*",
                f"{repositories}{naming.repository_prefix(env, PLATFORM)}*",
            ],
        },
        {
            # The first pull of an upstream image through a cache creates its repository.
            "Sid": "PullThroughCaches",
            "Effect": "Allow",
            "Action": [*PULL_ACTIONS, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
            "Resource": [f"{repositories}{prefix}*" for prefix in pull_through_prefixes()],
        },
        {
            "Sid": "PullEksAddOnImages",
            "Effect": "Allow",
            "Action": list(PULL_ACTIONS),
            "Resource": f"arn:{partition}:ecr:{region}:{EKS_ADDON_REGISTRY_ACCOUNT}:repository/*",
        },
    ]


def node_labels(tenant: str, pool: GpuPool) -> dict[str, str]:
    return {TENANT_LABEL: tenant, POOL_LABEL: pool.name}


def node_taints(tenant: str) -> list[dict[str, str]]:
    """The GPU taint (NODE-5) and the tenant taint (NODE-6), as EKS node group taints."""
    return [
        {"key": GPU_TAINT, "value": "true", "effect": "NO_SCHEDULE"},
        {"key": TENANT_TAINT, "value": tenant, "effect": "NO_SCHEDULE"},
    ]


@dataclass
class GpuNodePoolArgs:
    """A tenant with GPU pools, the cluster and network they join, and the tenant's volumes key."""

    settings: Settings
    tenant: Tenant
    cluster: SecureCluster
    network: IsolatedNetwork
    # The tenant's own volumes key (alias/<env>/<tenant>/volumes).
    volumes_key_arn: pulumi.Input[str]


class GpuNodePool(pulumi.ComponentResource):
    """One tenant's dedicated GPU node groups with their node role, security group and subnets."""

    node_role: aws.iam.Role
    node_role_arn: pulumi.Output[str]
    security_group: aws.ec2.SecurityGroup
    subnets: list[aws.ec2.Subnet]
    route_tables: list[aws.ec2.RouteTable]
    subnet_ids: Sequence[pulumi.Input[str]]
    launch_templates: dict[str, LaunchTemplate]
    node_groups: dict[str, aws.eks.NodeGroup]

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        settings, tenant, cluster, network = args.settings, args.tenant, args.cluster, args.network
        if tenant.tier != "dedicated-pool" or not tenant.gpu_pools:
            raise ValueError(f"{name}: tenant '{tenant.name}' is not a dedicated-pool tenant with GPU pools")
        scope = TagScope.for_tenant(settings, tenant.name)
        super().__init__(TYPE, name, None, scoped_options(settings, scope, opts))
        child = pulumi.ResourceOptions(parent=self)
        partition = settings.partition

        self.node_role = aws.iam.Role(
            f"{name}-node-role",
            name=node_role_name(settings, tenant.name),
            description=f"GPU nodes of {tenant.name} ({settings.environment})",
            assume_role_policy=service_trust_policy("ec2.amazonaws.com"),
            permissions_boundary=settings.required_roles.tenant_boundary,
            opts=child,
        )
        self.node_role_arn = self.node_role.arn
        grants: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=self.node_role.name,
                policy_arn=managed_policy_arn(partition, policy),
                opts=child,
            )
            for policy in NODE_POLICIES
        ]
        grants.append(
            aws.iam.RolePolicy(
                f"{name}-node-pull",
                role=self.node_role.name,
                name="pull-tenant-images",
                policy=iam.document(node_pull_policy(settings, tenant.name)),
                opts=child,
            )
        )

        self.security_group = self._security_group(name, tenant.name, cluster, network)
        own = settings.own_subnet_cidrs(tenant.name)
        if own:
            self._own_subnets(name, settings, network, own)
        else:
            self.subnets, self.route_tables = [], []
            self.subnet_ids = network.private_subnet_ids

        self.launch_templates, self.node_groups = {}, {}
        for pool in tenant.gpu_pools:
            template = LaunchTemplate(
                f"{name}-{pool.name}",
                LaunchTemplateArgs(
                    settings=settings,
                    scope=scope,
                    volumes_key_arn=args.volumes_key_arn,
                    security_group_ids=[self.security_group.id],
                    volume_size_gib=pool.disk_size_gib,
                ),
                opts=child,
            )
            self.launch_templates[pool.name] = template
            self.node_groups[pool.name] = aws.eks.NodeGroup(
                f"{name}-{pool.name}",
                cluster_name=cluster.cluster_name,
                node_group_name=naming.node_group_name(settings.environment, tenant.name, pool.name),
                node_role_arn=self.node_role.arn,
                subnet_ids=list(self.subnet_ids),
                version=settings.cluster.version,
                ami_type=pool.ami_type,
                capacity_type=CAPACITY_TYPES[pool.capacity_type],
                instance_types=list(pool.instance_types),
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=pool.min_size, desired_size=pool.min_size, max_size=pool.max_size
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version),
                labels=node_labels(tenant.name, pool),
                taints=[aws.eks.NodeGroupTaintArgs(**taint) for taint in node_taints(tenant.name)],
                # The autoscaler, not Pulumi, moves desired size between min and max.
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=grants, ignore_changes=["scalingConfig.desiredSize"]
                ),
            )

        self.register_outputs(
            {
                "node_role_arn": self.node_role_arn,
                "security_group_id": self.security_group.id,
                "node_groups": {pool: group.node_group_name for pool, group in self.node_groups.items()},
            }
        )

    def _security_group(
        self, name: str, tenant: str, cluster: SecureCluster, network: IsolatedNetwork
    ) -> aws.ec2.SecurityGroup:
        control_plane = cluster.cluster_security_group_id
        group = aws.ec2.SecurityGroup(
            f"{name}-nodes",
            vpc_id=network.vpc_id,
            description=f"GPU nodes of {tenant}: only from themselves and the control plane",
            ingress=[
                {"description": "Own nodes and pods", "protocol": "-1", "from_port": 0, "to_port": 0, "self": True},
                {
                    "description": "Kubelet from the control plane",
                    "protocol": "tcp",
                    "from_port": KUBELET_PORT,
                    "to_port": KUBELET_PORT,
                    "security_groups": [control_plane],
                },
                {
                    "description": "Webhooks from the control plane",
                    "protocol": "tcp",
                    "from_port": HTTPS,
                    "to_port": HTTPS,
                    "security_groups": [control_plane],
                },
            ],
            egress=[
                {
                    "description": "Inside the VPC: API endpoint, interface endpoints, DNS, own nodes",
                    "protocol": "-1",
                    "from_port": 0,
                    "to_port": 0,
                    "cidr_blocks": [network.cidr],
                },
                s3_gateway_egress(network, "S3 (ECR image layers, model store) through the gateway endpoint"),
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        for protocol in ("udp", "tcp"):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-dns-{protocol}",
                security_group_id=control_plane,
                referenced_security_group_id=group.id,
                description=f"DNS ({protocol}) from the GPU nodes of {tenant} to CoreDNS",
                ip_protocol=protocol,
                from_port=DNS,
                to_port=DNS,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return group

    def _own_subnets(self, name: str, settings: Settings, network: IsolatedNetwork, cidrs: Sequence[str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        self.subnets, self.route_tables = [], []
        for az, cidr in enumerate(cidrs):
            letter = string.ascii_lowercase[az]
            resource = f"{name}-subnet-{letter}"
            subnet = aws.ec2.Subnet(
                resource,
                vpc_id=network.vpc_id,
                cidr_block=cidr,
                # The AZ of the shared private subnet of the same letter.
                availability_zone=network.private_subnets[az].availability_zone,
                map_public_ip_on_launch=False,
                tags={"Name": resource},
                opts=child,
            )
            # Local routes only: no default route, whatever the VPC's egress mode.
            table = aws.ec2.RouteTable(resource, vpc_id=network.vpc_id, tags={"Name": resource}, opts=child)
            aws.ec2.RouteTableAssociation(resource, subnet_id=subnet.id, route_table_id=table.id, opts=child)
            self.subnets.append(subnet)
            self.route_tables.append(table)
        aws.ec2.VpcEndpoint(
            f"{name}-endpoint-s3",
            vpc_id=network.vpc_id,
            service_name=f"com.amazonaws.{settings.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in self.route_tables],
            opts=child,
        )
        self.subnet_ids = [subnet.id for subnet in self.subnets]
