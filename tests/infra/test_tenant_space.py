"""TenantSpace: PSA labels, quota lines, limit range, every network policy rule, identity, team access.

Two tenants in one program: ``search`` (no GPUs, its team's group reached through another
authenticator) and ``fraud`` (GPUs, its team's IAM role mapped to the group by an EKS access entry).
Both teams get the same reviewed Role in their namespace, bound to their group.
"""

from __future__ import annotations

from typing import Any

import pytest
from platform_support import ACCOUNT, REGION, deploy_runner_role, run, settings, tenant

from infra.components.cluster import SecureCluster, SecureClusterArgs
from infra.components.tenant_identity import TenantIdentity, TenantIdentityArgs
from infra.components.tenant_space import TenantSpace, TenantSpaceArgs
from infra.tags import register_standard_tags
from preflight import Preview, ResourceRecord

SETTINGS = settings(
    tenants=[
        tenant("search"),
        tenant(
            "fraud",
            dataClassification="public",
            monthlyBudgetUsd=2000,
            quotas={"gpus": 2, "cpu": 16, "memoryGib": 64, "pods": 80},
        ),
    ]
)
VPC_CIDR = "10.40.0.0/16"
TEAM_ROLE = f"arn:aws:iam::{ACCOUNT}:role/fraud-ml-engineers"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
RBAC = "rbac.authorization.k8s.io"
ROLE = f"kubernetes:{RBAC}/v1:Role"
ROLE_BINDING = f"kubernetes:{RBAC}/v1:RoleBinding"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
TENANTS = ("search", "fraud")
EVERY_POD: dict[str, Any] = {}


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        register_standard_tags(SETTINGS)
        cluster = SecureCluster(
            "shared",
            SecureClusterArgs(
                settings=SETTINGS,
                vpc_id="vpc-0a1b2c3d4e5f60000",
                subnet_ids=["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
                vpc_cidr=VPC_CIDR,
                secrets_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111",
                volumes_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/22222222-2222-2222-2222-222222222222",
                logs_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/33333333-3333-3333-3333-333333333333",
                deploy_runner_role=deploy_runner_role(SETTINGS),
            ),
        )
        for owner in SETTINGS.tenants:
            identity = TenantIdentity(owner.name, TenantIdentityArgs(SETTINGS, owner, "aip-dev"))
            TenantSpace(
                f"{owner.name}-space",
                TenantSpaceArgs(
                    SETTINGS,
                    owner,
                    cluster,
                    identity.workload_role,
                    team_role_arn=TEAM_ROLE if owner.name == "fraud" else None,
                ),
            )

    return run(body, SETTINGS)


def in_namespace(preview: Preview, type_: str, namespace: str) -> list[ResourceRecord]:
    return [record for record in preview.by_type(type_) if record.inputs["metadata"].get("namespace") == namespace]


def labels(tenant: str) -> dict[str, str]:
    classification = {"search": "internal", "fraud": "public"}[tenant]
    return {
        "aiplatform.io/tenant": tenant,
        "aiplatform.io/tier": "shared",
        "aiplatform.io/data-classification": classification,
    }


@pytest.mark.parametrize("tenant", TENANTS)
def test_namespace_enforces_restricted_pod_security_and_carries_the_standard_labels(
    preview: Preview, tenant: str
) -> None:
    namespace = preview.get(NAMESPACE, f"{tenant}-space-namespace")
    assert namespace.inputs["metadata"] == {
        "name": tenant,
        "labels": {
            **labels(tenant),
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
        },
    }


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_kubernetes_object_uses_the_cluster_provider_and_the_tenant_labels(preview: Preview, tenant: str) -> None:
    provider = preview.get("pulumi:providers:kubernetes", "shared-k8s")
    [component] = [
        r for r in preview.by_type("secure-ai-platform:tenant_space:TenantSpace") if r.name == f"{tenant}-space"
    ]
    kubernetes = [record for record in preview.children(component.urn) if record.type.startswith("kubernetes:")]
    # Namespace, quota, limit range, five network policies, service account, the team's Role and RoleBinding.
    assert len(kubernetes) == 11
    for record in kubernetes:
        assert record.provider is not None, record.urn
        assert record.provider.startswith(provider.urn), record.urn
        assert record.inputs["metadata"]["labels"].items() >= labels(tenant).items(), record.urn
        if record.type != NAMESPACE:
            assert record.inputs["metadata"]["namespace"] == tenant, record.urn


def test_quota_lines_without_gpus(preview: Preview) -> None:
    quota = preview.get("kubernetes:core/v1:ResourceQuota", "search-space-quota")
    assert quota.inputs["metadata"]["name"] == "tenant-quota"
    assert quota.inputs["spec"] == {
        "hard": {
            "requests.cpu": "8",
            "limits.cpu": "8",
            "requests.memory": "32Gi",
            "limits.memory": "32Gi",
            "pods": "50",
            "requests.nvidia.com/gpu": "0",
            "services.loadbalancers": "0",
            "services.nodeports": "0",
        }
    }


def test_quota_lines_with_gpus(preview: Preview) -> None:
    quota = preview.get("kubernetes:core/v1:ResourceQuota", "fraud-space-quota")
    assert quota.inputs["spec"] == {
        "hard": {
            "requests.cpu": "16",
            "limits.cpu": "16",
            "requests.memory": "64Gi",
            "limits.memory": "64Gi",
            "pods": "80",
            "requests.nvidia.com/gpu": "2",
            "services.loadbalancers": "0",
            "services.nodeports": "0",
        }
    }


@pytest.mark.parametrize(("tenant", "cpu", "memory"), [("search", "8", "32Gi"), ("fraud", "16", "64Gi")])
def test_limit_range_defaults_and_maxima(preview: Preview, tenant: str, cpu: str, memory: str) -> None:
    limits = preview.get("kubernetes:core/v1:LimitRange", f"{tenant}-space-limits")
    assert limits.inputs["metadata"]["name"] == "tenant-limits"
    assert limits.inputs["spec"] == {
        "limits": [
            {
                "type": "Container",
                "default": {"cpu": "500m", "memory": "512Mi"},
                "defaultRequest": {"cpu": "250m", "memory": "256Mi"},
                "max": {"cpu": cpu, "memory": memory},
            }
        ]
    }


@pytest.mark.parametrize("tenant", TENANTS)
def test_network_policies_rule_by_rule(preview: Preview, tenant: str) -> None:
    policies = {
        record.inputs["metadata"]["name"]: record.inputs["spec"]
        for record in in_namespace(preview, NETWORK_POLICY, tenant)
    }
    assert policies == {
        "default-deny": {"podSelector": EVERY_POD, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": EVERY_POD,
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
        "allow-same-namespace": {
            "podSelector": EVERY_POD,
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": EVERY_POD}]}],
            "egress": [{"to": [{"podSelector": EVERY_POD}]}],
        },
        "allow-vpc-endpoints": {
            "podSelector": EVERY_POD,
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": VPC_CIDR}}], "ports": [{"protocol": "TCP", "port": 443}]}],
        },
        "allow-pod-identity-agent": {
            "podSelector": EVERY_POD,
            "policyTypes": ["Egress"],
            "egress": [
                {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}
            ],
        },
    }


def test_instance_metadata_is_never_reachable(preview: Preview) -> None:
    for record in preview.by_type(NETWORK_POLICY):
        for rule in record.inputs["spec"].get("egress", []):
            for peer in rule.get("to", []):
                block = peer.get("ipBlock")
                if block is not None:
                    assert not block["cidr"].startswith("169.254.169."), record.urn
                    assert block["cidr"] not in ("0.0.0.0/0", "169.254.0.0/16"), record.urn


@pytest.mark.parametrize("tenant", TENANTS)
def test_workload_service_account_without_token_automount_bound_by_pod_identity(preview: Preview, tenant: str) -> None:
    account = preview.get("kubernetes:core/v1:ServiceAccount", f"{tenant}-space-workload-sa")
    assert account.inputs["metadata"]["name"] == "workload"
    assert account.inputs["metadata"]["namespace"] == tenant
    assert account.inputs["automountServiceAccountToken"] is False
    association = preview.get(POD_IDENTITY, f"{tenant}-space-pod-identity")
    role = preview.get("aws:iam/role:Role", f"{tenant}-workload")
    assert {key: value for key, value in association.inputs.items() if key != "tags"} == {
        "clusterName": "aip-dev",
        "namespace": tenant,
        "serviceAccount": "workload",
        "roleArn": role.outputs["arn"],
    }
    assert association.inputs["tags"]["aiplatform:tenant"] == tenant


# Every verb a team has on what it writes (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac/
# bootstrappolicy/policy.go (v1.34.4) calls the same list ReadWrite).
READ_WRITE = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
READ = ["get", "list", "watch"]
# The team's reviewed rules, written out: a change to the standards' list must change this test too.
TEAM_RULES = [
    {
        "apiGroups": [""],
        "resources": ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims"],
        "verbs": READ_WRITE,
    },
    {"apiGroups": [""], "resources": ["pods/exec", "pods/portforward"], "verbs": ["get", "create"]},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets", "replicasets"], "verbs": READ_WRITE},
    {
        "apiGroups": ["apps"],
        "resources": ["deployments/scale", "statefulsets/scale", "replicasets/scale"],
        "verbs": ["get", "update", "patch"],
    },
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": READ_WRITE},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": READ_WRITE},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": READ_WRITE},
    {"apiGroups": [""], "resources": ["resourcequotas", "limitranges", "serviceaccounts", "events"], "verbs": READ},
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": READ},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": READ},
]


@pytest.mark.parametrize("tenant", TENANTS)
def test_team_role_grants_exactly_the_reviewed_rules_in_its_namespace(preview: Preview, tenant: str) -> None:
    role = preview.get(ROLE, f"{tenant}-space-team-role")
    assert role.inputs["metadata"]["name"] == "tenant-team"
    assert role.inputs["metadata"]["namespace"] == tenant
    assert role.inputs["rules"] == TEAM_RULES
    assert {record.urn for record in preview.by_type(ROLE)} == {
        preview.get(ROLE, f"{name}-space-team-role").urn for name in TENANTS
    }


@pytest.mark.parametrize("tenant", TENANTS)
def test_team_group_is_bound_to_that_role_in_its_namespace_only(preview: Preview, tenant: str) -> None:
    binding = preview.get(ROLE_BINDING, f"{tenant}-space-team-binding")
    assert binding.inputs["metadata"]["name"] == "tenant-team"
    assert binding.inputs["metadata"]["namespace"] == tenant
    assert binding.inputs["roleRef"] == {"apiGroup": RBAC, "kind": "Role", "name": "tenant-team"}
    assert binding.inputs["subjects"] == [{"apiGroup": RBAC, "kind": "Group", "name": f"aip:{tenant}:editors"}]
    assert len(preview.by_type(ROLE_BINDING)) == len(TENANTS)
    assert not preview.by_type(f"kubernetes:{RBAC}/v1:ClusterRoleBinding")
    assert not preview.by_type(f"kubernetes:{RBAC}/v1:ClusterRole")


def test_team_role_is_mapped_to_the_teams_group_with_no_access_policy(preview: Preview) -> None:
    # Amazon EKS User Guide, "Create an access entry using Kubernetes groups"
    # (https://docs.aws.amazon.com/eks/latest/userguide/create-k8s-group-access-entry.html): the entry's
    # Kubernetes groups are the subjects RBAC bindings authorize; an associated access policy would
    # add EKS's own authorization (AmazonEKSEditPolicy: edit-like rights) on top of them.
    entry = preview.get(ACCESS_ENTRY, "fraud-space-team-access")
    assert {key: value for key, value in entry.inputs.items() if key != "tags"} == {
        "clusterName": "aip-dev",
        "principalArn": TEAM_ROLE,
        "type": "STANDARD",
        "kubernetesGroups": ["aip:fraud:editors"],
    }
    assert entry.inputs["tags"]["aiplatform:tenant"] == "fraud"
    assert [r for r in preview.by_type(ASSOCIATION) if r.inputs["principalArn"] == TEAM_ROLE] == []
    # The team without an IAM role has no access entry.
    assert [r.name for r in preview.by_type(ACCESS_ENTRY) if r.inputs["principalArn"] == TEAM_ROLE] == [
        "fraud-space-team-access"
    ]
    assert not [r for r in preview.by_type(ACCESS_ENTRY) if r.name.startswith("search-space")]
