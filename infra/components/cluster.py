"""The secure EKS cluster (CONTROLS EKS-1..4, NODE-1..4, AUD-3).

- API endpoint private; public only when the stack configures it, and then only for the CIDRs it
  lists (config validation refuses 0.0.0.0/0). A control-plane security group admits 443 from
  the VPC only, which is how a deploy runner inside the VPC reaches the endpoint.
- Secrets envelope-encrypted with the platform's cluster-secrets key.
- All five control-plane log types, into a log group created here first (so that EKS does not
  create it unencrypted and without retention), encrypted with the logs key.
- Authentication mode API (access entries only, no aws-auth ConfigMap), no admin rights for the
  identity that happens to create the cluster; explicit access entries with the cluster-admin
  access policy for exactly two roles: platform-admin (humans, MFA) and the in-VPC deploy runner
  (``deploy_runner_role``), which applies every Kubernetes object. The deployer has no entry:
  it runs the outside run, which creates no Kubernetes object (docs/deploy.md), and the EKS API
  calls it makes (clusters, node groups, add-ons, access entries, Pod Identity associations) are
  authorised by IAM, not by the cluster.
- Managed add-ons (``infra.config.EKS_ADDONS``) at EKS's most recent version for the cluster's
  Kubernetes version, resolved at deploy time (``aws.eks.get_addon_version``), or at the version
  ``cluster.addonVersions`` pins; the VPC CNI enforces NetworkPolicies; EKS installs no unmanaged
  default add-ons.
- A system (non-GPU) managed node group on the hardened launch template, one node per AZ.
- The cluster role and the system node role carry the tenant permissions boundary (IAM-3): the
  deployer that runs ``pulumi up`` may create a role only with it (platform_roles), whether the
  cluster is the platform's or a single tenant's. The boundary caps neither role's managed
  policies in what they need (EC2, ELB, Auto Scaling, ECR pulls, ``kms:DescribeKey`` on this
  account's keys); it refuses IAM writes, so the legacy cloud provider's
  ``iam:CreateServiceLinkedRole`` for Elastic Load Balancing does not work from the cluster role
  (no tenant may create a load balancer Service, NET-7).
- A Kubernetes provider built from the cluster's outputs that authenticates with the ambient
  credentials of wherever it runs: ``aws eks get-token --cluster-name <c> --region <r>`` through
  the kubeconfig's exec plugin, with no ``--role-arn``. It runs in the in-VPC deploy runner
  (infra.components.deploy_runner), whose role holds the cluster-admin entry; the deployer could
  not be assumed there anyway (its trust admits only GitHub's web identity).

What the in-VPC run needs where it runs (the deploy runner in the workload subnets, inside the VPC
CIDR that the control-plane security group admits): the AWS CLI on ``PATH`` (the provider runs it
for every token; kubectl is not needed), credentials of a principal with an access entry, and a
path to the private API endpoint on 443. ``aws eks get-token`` presigns an STS request locally; the
API server, not the runner, sends it to STS. Nothing is written to a kubeconfig file; the provider
holds it in the stack state, without credentials.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from aiplatform_standards import platform

from infra import iam, naming
from infra.components.launch_template import LaunchTemplate, LaunchTemplateArgs
from infra.config import EKS_ADDONS, Settings
from infra.tags import PLATFORM, TagScope

if TYPE_CHECKING:
    from infra.components.key_ring import KeyRing
    from infra.components.network import IsolatedNetwork

TYPE = "secure-ai-platform:cluster:SecureCluster"

_STANDARDS = platform()

# Add-on configuration (the add-on's JSON schema): the VPC CNI's network policy agent enforces
# the tenants' NetworkPolicies (CONTROLS NET-6).
ADDON_CONFIGURATION: dict[str, dict[str, str]] = {"vpc-cni": {"enableNetworkPolicy": "true"}}
# Node agents that must run before nodes can become Ready; CoreDNS needs nodes to schedule on.
ADDONS_AFTER_NODES = ("coredns",)
ADDONS_BEFORE_NODES = tuple(addon for addon in EKS_ADDONS if addon not in ADDONS_AFTER_NODES)

# Control-plane log retention per environment (CONTROLS AUD-3).
LOG_RETENTION_DAYS = {"dev": 30, "staging": 90, "prod": 365}

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
# The role the in-VPC deploy runner runs as (infra.components.deploy_runner names it the same way).
DEPLOY_RUNNER_ROLE = naming.DEPLOY_RUNNER_ROLE
SYSTEM_AMI_TYPE = "AL2023_x86_64_STANDARD"
_NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")
_API_PORT = 443


def partition_of(arn: str) -> str:
    """The partition of an ARN (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    return arn.split(":")[1]


def access_policy_arn(partition: str, policy: str) -> str:
    """An EKS access policy, e.g. ``arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy``."""
    return f"arn:{partition}:eks::aws:cluster-access-policy/{policy}"


def managed_policy_arn(partition: str, policy: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{policy}"


def service_trust_policy(service: str, actions: Sequence[str] = ("sts:AssumeRole",)) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)}],
        }
    )


def token_command(cluster_name: str, region: str) -> list[str]:
    """The exec plugin's arguments: a token for ``cluster_name`` with the ambient AWS credentials.

    No ``--role-arn``: that would be an ``sts:AssumeRole`` of another role, and the only principal
    that runs the Kubernetes provider is the deploy runner, which authenticates as itself.
    """
    return ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"]


def kubeconfig(*, cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig whose exec plugin gets a token with the ambient credentials (the AWS CLI, no kubectl)."""
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": token_command(cluster_name, region),
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }
    return json.dumps(document)


@dataclass
class SystemNodes:
    """The system node group: platform add-ons and the shared tier's pods (no GPUs)."""

    instance_types: tuple[str, ...] = ("m6i.large",)
    # None: one node per AZ at least, twice that at most.
    min_size: int | None = None
    max_size: int | None = None
    volume_size_gib: int = 50


@dataclass
class SecureClusterArgs:
    """Inputs of the secure cluster: the isolated network and the platform's keys."""

    settings: Settings
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    # The VPC's CIDR: the only source admitted to the API endpoint, and the tenants' endpoint egress.
    vpc_cidr: str
    secrets_key_arn: pulumi.Input[str]
    volumes_key_arn: pulumi.Input[str]
    logs_key_arn: pulumi.Input[str]
    # The deploy runner's role (named ``naming.role_name(env, owner, DEPLOY_RUNNER_ROLE)``): the one
    # non-human cluster admin, since it applies every Kubernetes object of the stack.
    deploy_runner_role: aws.iam.Role
    # None for the shared cluster; a tenant name for a single-tenant cluster (tier C).
    owner: str | None = None
    system_nodes: SystemNodes = field(default_factory=SystemNodes)

    @classmethod
    def in_network(
        cls,
        settings: Settings,
        network: IsolatedNetwork,
        keys: KeyRing,
        deploy_runner_role: aws.iam.Role,
        owner: str | None = None,
    ) -> SecureClusterArgs:
        """A cluster in ``network``'s private subnets, with the key ring's cluster-secrets, volumes and logs keys.

        The one wiring both the shared and the single-tenant deployments use.
        """
        return cls(
            settings,
            vpc_id=network.vpc_id,
            subnet_ids=network.private_subnet_ids,
            vpc_cidr=network.cidr,
            secrets_key_arn=keys.arns["cluster-secrets"],
            volumes_key_arn=keys.arns["volumes"],
            logs_key_arn=keys.arns["logs"],
            deploy_runner_role=deploy_runner_role,
            owner=owner,
        )


def cluster_admins(settings: Settings, owner: str | None) -> dict[str, str]:
    """The principals with a cluster-admin access entry, by entry name: platform-admin and the deploy runner.

    The runner's ARN is derived from its deterministic name (as policies name roles, infra/iam.py), so
    the policy pack reads a complete principal in a first preview.
    """
    return {
        "platform-admin": settings.required_roles.platform_admin,
        DEPLOY_RUNNER_ROLE: iam.role_arn(settings, owner or PLATFORM, DEPLOY_RUNNER_ROLE),
    }


class SecureCluster(pulumi.ComponentResource):
    """An EKS cluster with a private endpoint, encrypted secrets, full audit logs and access entries."""

    cluster: aws.eks.Cluster
    cluster_name: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    provider: k8s.Provider
    node_role: aws.iam.Role
    cluster_role: aws.iam.Role
    control_plane_security_group: aws.ec2.SecurityGroup
    log_group: aws.cloudwatch.LogGroup
    access_entries: dict[str, aws.eks.AccessEntry]
    addons: dict[str, aws.eks.Addon]
    launch_template: LaunchTemplate
    system_node_group: aws.eks.NodeGroup
    vpc_cidr: str

    def __init__(self, name: str, args: SecureClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings, cluster_config = args.settings, args.settings.cluster
        self._settings = settings
        roles = settings.required_roles
        partition = partition_of(roles.deployer)
        owner = args.owner or PLATFORM
        physical_name = naming.cluster_name(settings.environment, args.owner)
        self.vpc_cidr = args.vpc_cidr

        self.cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            name=naming.role_name(settings.environment, owner, "eks-cluster"),
            description=f"EKS control plane of {physical_name}",
            assume_role_policy=service_trust_policy("eks.amazonaws.com", ("sts:AssumeRole", "sts:TagSession")),
            permissions_boundary=roles.tenant_boundary,
            opts=pulumi.ResourceOptions(parent=self),
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-role-policy",
            role=self.cluster_role.name,
            policy_arn=managed_policy_arn(partition, "AmazonEKSClusterPolicy"),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.control_plane_security_group = aws.ec2.SecurityGroup(
            f"{name}-control-plane-sg",
            vpc_id=args.vpc_id,
            description=f"EKS API of {physical_name}: HTTPS from inside the VPC only",
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-control-plane-https",
            security_group_id=self.control_plane_security_group.id,
            description="Kubernetes API from the VPC (nodes, deploy runner)",
            cidr_ipv4=args.vpc_cidr,
            ip_protocol="tcp",
            from_port=_API_PORT,
            to_port=_API_PORT,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{physical_name}/cluster",
            kms_key_id=args.logs_key_arn,
            retention_in_days=LOG_RETENTION_DAYS[settings.environment],
            opts=pulumi.ResourceOptions(parent=self),
        )

        public = cluster_config.endpoint_public_access
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=physical_name,
            version=cluster_config.version,
            role_arn=self.cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.subnet_ids),
                security_group_ids=[self.control_plane_security_group.id],
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(cluster_config.public_access_cidrs) if public else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.secrets_key_arn),
            ),
            enabled_cluster_log_types=list(_STANDARDS["eks_log_types"]),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            # The managed add-ons below replace EKS's unmanaged defaults, so nothing runs unpinned.
            bootstrap_self_managed_addons=False,
            # Standard support only: no silent extended-support charges on an outdated version.
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=settings.environment == "prod",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, cluster_policy]),
        )
        self.cluster_name = self.cluster.name
        self.cluster_arn = self.cluster.arn
        self.cluster_security_group_id = self.cluster.vpc_config.apply(lambda vpc: vpc.cluster_security_group_id or "")

        self.access_entries = {}
        admin_associations: dict[str, aws.eks.AccessPolicyAssociation] = {}
        # EKS rejects an access entry whose principal does not exist: the runner's role comes first.
        principal_exists = {DEPLOY_RUNNER_ROLE: [args.deploy_runner_role]}
        for role, arn in cluster_admins(settings, args.owner).items():
            entry = aws.eks.AccessEntry(
                f"{name}-access-{role}",
                cluster_name=self.cluster.name,
                principal_arn=arn,
                type="STANDARD",
                opts=pulumi.ResourceOptions(parent=self, depends_on=principal_exists.get(role, [])),
            )
            admin_associations[role] = aws.eks.AccessPolicyAssociation(
                f"{name}-access-{role}-admin",
                cluster_name=self.cluster.name,
                principal_arn=arn,
                policy_arn=access_policy_arn(partition, CLUSTER_ADMIN_POLICY),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
            )
            self.access_entries[role] = entry

        self.node_role = aws.iam.Role(
            f"{name}-system-node-role",
            name=naming.role_name(settings.environment, owner, "system-nodes"),
            description=f"System nodes of {physical_name}",
            assume_role_policy=service_trust_policy("ec2.amazonaws.com"),
            permissions_boundary=roles.tenant_boundary,
            opts=pulumi.ResourceOptions(parent=self),
        )
        node_policies = [
            aws.iam.RolePolicyAttachment(
                f"{name}-system-node-{policy}",
                role=self.node_role.name,
                policy_arn=managed_policy_arn(partition, policy),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for policy in _NODE_POLICIES
        ]

        self.addons = {}
        for addon in ADDONS_BEFORE_NODES:
            self.addons[addon] = self._addon(name, addon, depends_on=[])

        scope = TagScope.for_tenant(settings, args.owner) if args.owner else TagScope.for_platform(settings)
        self.launch_template = LaunchTemplate(
            f"{name}-system",
            LaunchTemplateArgs(
                settings=settings,
                scope=scope,
                volumes_key_arn=args.volumes_key_arn,
                security_group_ids=[self.cluster_security_group_id],
                volume_size_gib=args.system_nodes.volume_size_gib,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        nodes = args.system_nodes
        min_size = nodes.min_size if nodes.min_size is not None else settings.az_count
        max_size = nodes.max_size if nodes.max_size is not None else 2 * min_size
        self.system_node_group = aws.eks.NodeGroup(
            f"{name}-system-nodes",
            cluster_name=self.cluster.name,
            node_group_name=naming.node_group_name(settings.environment, owner, "system"),
            node_role_arn=self.node_role.arn,
            subnet_ids=list(args.subnet_ids),
            version=cluster_config.version,
            ami_type=SYSTEM_AMI_TYPE,
            capacity_type="ON_DEMAND",
            instance_types=list(nodes.instance_types),
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=min_size, desired_size=min_size, max_size=max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version
            ),
            labels={_STANDARDS["kubernetes"]["labels"]["pool"]: "system"},
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*node_policies, *(self.addons[a] for a in ADDONS_BEFORE_NODES)]
            ),
        )
        for addon in ADDONS_AFTER_NODES:
            self.addons[addon] = self._addon(name, addon, depends_on=[self.system_node_group])

        # Output.all unwraps output types into plain dicts, so the CA data is lifted first.
        ca_data = self.cluster.certificate_authority.apply(lambda ca: ca.data or "")
        config = pulumi.Output.all(self.cluster.endpoint, ca_data).apply(
            lambda values: kubeconfig(
                cluster_name=physical_name,
                endpoint=values[0],
                ca_data=values[1],
                region=settings.region,
            )
        )
        # The provider authenticates as whoever runs it; only the deploy runner does, once its entry exists.
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=config,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.access_entries[DEPLOY_RUNNER_ROLE], admin_associations[DEPLOY_RUNNER_ROLE]],
            ),
        )

        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_arn": self.cluster_arn,
                "cluster_security_group_id": self.cluster_security_group_id,
                "node_role_arn": self.node_role.arn,
                "log_group_name": self.log_group.name,
            }
        )

    def _addon_version(self, addon: str) -> pulumi.Input[str]:
        """The stack's pin, else EKS's most recent version of the add-on for the cluster's Kubernetes version.

        Resolved when the program runs (a preview too: invokes answer during previews), so a new
        add-on build reaches the cluster on the next ``up`` and a pin holds an add-on back on purpose.
        """
        cluster_config = self._settings.cluster
        pinned = cluster_config.addon_versions.get(addon)
        if pinned is not None:
            return pinned
        return aws.eks.get_addon_version_output(
            addon_name=addon,
            kubernetes_version=cluster_config.version,
            most_recent=True,
            opts=pulumi.InvokeOutputOptions(parent=self),
        ).version

    def _addon(self, name: str, addon: str, depends_on: Sequence[pulumi.Resource]) -> aws.eks.Addon:
        configuration = ADDON_CONFIGURATION.get(addon)
        return aws.eks.Addon(
            f"{name}-addon-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            addon_version=self._addon_version(addon),
            configuration_values=json.dumps(configuration) if configuration else None,
            # Pulumi is the source of truth for add-on settings: overwrite drift on create and update.
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )
