"""A tenant's space in the shared cluster: hard namespace isolation (tier A).

Controls TEN-1..6, NET-6, NET-7, EKS-5, EKS-6, IAM-1:

- Namespace with Pod Security Admission ``restricted`` enforced, warned and audited, and the
  standard labels (the admission policies recognise a tenant's namespace by them).
- ResourceQuota: CPU, memory and pod counts from the tenant's quotas, GPUs
  (``requests.nvidia.com/gpu``, 0 unless the tenant has GPUs), and no LoadBalancer or NodePort
  Services at all.
- LimitRange: default requests and limits for containers that state none (so the quota can be
  enforced on them), and a per-container maximum of the tenant's whole allocation.
- NetworkPolicies: deny all ingress and egress, then allow DNS to kube-dns, traffic inside the
  namespace, HTTPS to the VPC (the AWS interface endpoints) and the EKS Pod Identity agent. The
  instance metadata address is never allowed (and the nodes' hop limit 1 blocks it anyway).
- The workload ServiceAccount, with token automount off, bound to the tenant's workload role by
  an EKS Pod Identity association.
- The tenant team's access (IAM-1): the Role ``tenant-team`` with the platform's reviewed rules
  (standards ``tenant_team.rules``: the team's workloads, read-only guardrails), bound in this
  namespace to the team's Kubernetes group. A team with an IAM role reaches the same group through
  an EKS access entry that maps the role to it, with no access policy: both paths land on the one
  Role. Never the built-in ``edit`` role or ``AmazonEKSEditPolicy`` (they let a team delete its
  NetworkPolicies, default-deny included), never cluster-wide rights.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from aiplatform_standards import platform

from infra import naming
from infra.components.cluster import SecureCluster
from infra.components.tenant_identity import WORKLOAD_SERVICE_ACCOUNT
from infra.config import Settings, Tenant
from infra.tags import TagScope, scoped_options, standard_labels

TYPE = "secure-ai-platform:tenant_space:TenantSpace"

_KUBERNETES = platform()["kubernetes"]
POD_SECURITY_LEVEL = "restricted"
POD_SECURITY_MODES = ("enforce", "warn", "audit")
_TEAM = platform()["tenant_team"]
# The Role a tenant team is bound to in its namespace, and its rules (reviewed in the standards data).
TEAM_ROLE: str = _TEAM["role"]
RBAC_API_GROUP = "rbac.authorization.k8s.io"
DNS_PORT = 53
HTTPS_PORT = 443
POD_IDENTITY_AGENT_PORT = 80

# Containers that state no resources get these; they count against the quota.
DEFAULT_REQUEST = {"cpu": "250m", "memory": "256Mi"}
DEFAULT_LIMIT = {"cpu": "500m", "memory": "512Mi"}


def team_group(tenant: str) -> str:
    """The Kubernetes group of a tenant's team (bound to the ``tenant-team`` Role in its namespace only)."""
    return f"{naming.PREFIX}:{tenant}:{_TEAM['group_suffix']}"


def team_role_rules() -> list[k8s.rbac.v1.PolicyRuleArgs]:
    """The tenant team's Role rules, exactly the standards' reviewed list (CONTROLS IAM-1, NET-6)."""
    return [
        k8s.rbac.v1.PolicyRuleArgs(
            api_groups=list(rule["apiGroups"]), resources=list(rule["resources"]), verbs=list(rule["verbs"])
        )
        for rule in _TEAM["rules"]
    ]


def quota_hard(tenant: Tenant) -> dict[str, str]:
    """The ResourceQuota lines of a tenant (CONTROLS TEN-3, NET-7)."""
    quotas = tenant.quotas
    memory = f"{quotas.memory_gib}Gi"
    return {
        "requests.cpu": str(quotas.cpu),
        "limits.cpu": str(quotas.cpu),
        "requests.memory": memory,
        "limits.memory": memory,
        "pods": str(quotas.pods),
        f"requests.{_KUBERNETES['gpu_resource']}": str(quotas.gpus),
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }


def limit_range_limits(tenant: Tenant) -> list[k8s.core.v1.LimitRangeItemArgs]:
    """Container defaults and maxima (CONTROLS TEN-4); no container may exceed the whole quota."""
    quotas = tenant.quotas
    return [
        k8s.core.v1.LimitRangeItemArgs(
            type="Container",
            default=dict(DEFAULT_LIMIT),
            default_request=dict(DEFAULT_REQUEST),
            max={"cpu": str(quotas.cpu), "memory": f"{quotas.memory_gib}Gi"},
        )
    ]


def _ports(protocol_ports: tuple[tuple[str, int], ...]) -> list[k8s.networking.v1.NetworkPolicyPortArgs]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(protocol=protocol, port=port) for protocol, port in protocol_ports]


def _egress_to_cidr(cidr: str, port: int) -> k8s.networking.v1.NetworkPolicyEgressRuleArgs:
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[k8s.networking.v1.NetworkPolicyPeerArgs(ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr))],
        ports=_ports((("TCP", port),)),
    )


def network_policy_specs(vpc_cidr: str) -> dict[str, k8s.networking.v1.NetworkPolicySpecArgs]:
    """The tenant namespace's NetworkPolicy specs by policy name (CONTROLS NET-6)."""
    spec = k8s.networking.v1.NetworkPolicySpecArgs
    every_pod = k8s.meta.v1.LabelSelectorArgs()
    kube_dns = k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": "kube-system"}),
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
    )
    same_namespace = k8s.networking.v1.NetworkPolicyPeerArgs(pod_selector=every_pod)
    return {
        "default-deny": spec(pod_selector=every_pod, policy_types=["Ingress", "Egress"]),
        "allow-dns": spec(
            pod_selector=every_pod,
            policy_types=["Egress"],
            egress=[
                k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[kube_dns], ports=_ports((("UDP", DNS_PORT), ("TCP", DNS_PORT)))
                )
            ],
        ),
        "allow-same-namespace": spec(
            pod_selector=every_pod,
            policy_types=["Ingress", "Egress"],
            ingress=[k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=[same_namespace])],
            egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[same_namespace])],
        ),
        "allow-vpc-endpoints": spec(
            pod_selector=every_pod, policy_types=["Egress"], egress=[_egress_to_cidr(vpc_cidr, HTTPS_PORT)]
        ),
        "allow-pod-identity-agent": spec(
            pod_selector=every_pod,
            policy_types=["Egress"],
            egress=[_egress_to_cidr(_KUBERNETES["pod_identity_agent_cidr"], POD_IDENTITY_AGENT_PORT)],
        ),
    }


@dataclass
class TenantSpaceArgs:
    """Inputs of a tenant's space: the cluster it lives in and the role its workloads assume."""

    settings: Settings
    tenant: Tenant
    cluster: SecureCluster
    workload_role: aws.iam.Role
    # The tenant team's IAM role, mapped to the team's Kubernetes group by an EKS access entry. None:
    # the team's members reach the group through another authenticator; the Role and binding are the same.
    team_role_arn: str | None = None


class TenantSpace(pulumi.ComponentResource):
    """A tenant's namespace, quotas, network isolation, workload identity and team access."""

    namespace: k8s.core.v1.Namespace
    namespace_name: str
    resource_quota: k8s.core.v1.ResourceQuota
    limit_range: k8s.core.v1.LimitRange
    network_policies: dict[str, k8s.networking.v1.NetworkPolicy]
    service_account: k8s.core.v1.ServiceAccount
    pod_identity: aws.eks.PodIdentityAssociation
    team_role: k8s.rbac.v1.Role
    team_binding: k8s.rbac.v1.RoleBinding
    team_access_entry: aws.eks.AccessEntry | None

    def __init__(self, name: str, args: TenantSpaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        settings, tenant, cluster = args.settings, args.tenant, args.cluster
        scope = TagScope.for_tenant(settings, tenant.name)
        own = pulumi.ResourceOptions(providers=[cluster.provider])
        super().__init__(TYPE, name, None, scoped_options(settings, scope, pulumi.ResourceOptions.merge(opts, own)))
        self.namespace_name = naming.namespace(tenant.name)
        ns = self.namespace_name

        labels = dict(standard_labels(scope))
        for mode in POD_SECURITY_MODES:
            labels[f"pod-security.kubernetes.io/{mode}"] = POD_SECURITY_LEVEL
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ns, labels=labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])

        self.resource_quota = k8s.core.v1.ResourceQuota(
            f"{name}-quota",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="tenant-quota", namespace=ns),
            spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=quota_hard(tenant)),
            opts=in_namespace,
        )
        self.limit_range = k8s.core.v1.LimitRange(
            f"{name}-limits",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="tenant-limits", namespace=ns),
            spec=k8s.core.v1.LimitRangeSpecArgs(limits=limit_range_limits(tenant)),
            opts=in_namespace,
        )
        self.network_policies = {
            policy: k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{policy}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=policy, namespace=ns),
                spec=spec,
                opts=in_namespace,
            )
            for policy, spec in network_policy_specs(cluster.vpc_cidr).items()
        }

        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-workload-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=WORKLOAD_SERVICE_ACCOUNT, namespace=ns),
            automount_service_account_token=False,
            opts=in_namespace,
        )
        self.pod_identity = aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity",
            cluster_name=cluster.cluster_name,
            namespace=ns,
            service_account=WORKLOAD_SERVICE_ACCOUNT,
            role_arn=args.workload_role.arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.service_account]),
        )

        # The team's rights: the reviewed Role, bound to the team's group in this namespace only.
        self.team_role = k8s.rbac.v1.Role(
            f"{name}-team-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=TEAM_ROLE, namespace=ns),
            rules=team_role_rules(),
            opts=in_namespace,
        )
        self.team_binding = k8s.rbac.v1.RoleBinding(
            f"{name}-team-binding",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=TEAM_ROLE, namespace=ns),
            role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC_API_GROUP, kind="Role", name=TEAM_ROLE),
            subjects=[k8s.rbac.v1.SubjectArgs(api_group=RBAC_API_GROUP, kind="Group", name=team_group(tenant.name))],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.team_role]),
        )
        # A team with an IAM role: EKS authenticates the role as a member of the team's group, and
        # Kubernetes RBAC alone authorizes it, through the binding above. No access policy is
        # associated: one would add EKS's own authorization on top of the Role (Amazon EKS User Guide,
        # "Create an access entry using Kubernetes groups",
        # https://docs.aws.amazon.com/eks/latest/userguide/create-k8s-group-access-entry.html; EKS API
        # CreateAccessEntry, kubernetesGroups). The entry is an AWS resource of the stack's first run and
        # needs no Kubernetes object: until the binding exists the group grants nothing.
        self.team_access_entry = None
        if args.team_role_arn is not None:
            self.team_access_entry = aws.eks.AccessEntry(
                f"{name}-team-access",
                cluster_name=cluster.cluster_name,
                principal_arn=args.team_role_arn,
                type="STANDARD",
                kubernetes_groups=[team_group(tenant.name)],
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.register_outputs(
            {
                "namespace": self.namespace_name,
                "service_account": WORKLOAD_SERVICE_ACCOUNT,
                "pod_identity_association_id": self.pod_identity.association_id,
            }
        )
