"""Tier B in the reference stacks: the isolation matrix, the quota arithmetic and the pools' figures.

For every ordered pair of tenants X ≠ Y of a stack (platform-prod: 5 tenants, 20 pairs;
platform-dev: 4 tenants, 12 pairs):

- no node group of X admits Y's pods: every pod the cluster's admission policy admits in Y's
  namespace fails to tolerate X's taints, and every pod that would tolerate them (or select X's
  nodes) is denied there;
- no node role of X can pull Y's images: X's pull policy names none of Y's repositories, and Y's
  repository policies deny X's node role and grant it nothing (the same for X's workload role);
- no node role of X can use Y's keys: no statement of Y's key policies allows it, X's node role
  has no KMS rights at all, and X's launch templates take only X's volumes key.

The stacks run whole through preflight (update mode: the cloud's values are known), the CEL is
the registered policy's, evaluated with cel-python (see test_admission_cel).
"""

from __future__ import annotations

import itertools
import json
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiplatform_standards import gpu_instances
from test_admission_cel import GPU_TOLERATION, Policy, namespace, pod, tenant_toleration

from infra.config import Settings, settings_from_stack_file
from infra.deployments.shared_cluster import tenant_purposes
from preflight import ResourceRecord, preview_program

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("platform-dev", "platform-prod")
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
KEY = "aws:kms/key:Key"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
VAP = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
QUOTA = "kubernetes:core/v1:ResourceQuota"
EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def stack_settings(stack: str) -> Settings:
    raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return settings_from_stack_file(raw, stack)


PAIRS = [
    (stack, x, y)
    for stack in STACKS
    for x, y in itertools.permutations([t.name for t in stack_settings(stack).tenants], 2)
]


class TierB:
    """One reference stack's preview, indexed by tenant."""

    def __init__(self, stack: str) -> None:
        self.settings = stack_settings(stack)
        self.preview = preview_program(ROOT, stack, mode="update")
        self.tenants = [tenant.name for tenant in self.settings.tenants]
        self.policy = Policy(
            self.preview.get(VAP, "admission-policy").inputs["spec"],
            self.preview.get(BINDING, "admission-binding").inputs["spec"],
        )

    def owner(self, record: ResourceRecord) -> str:
        """The tenant whose top-level component holds the record (``platform`` otherwise)."""
        chain = [record, *self.preview.ancestors(record)]
        top = next(r for r in chain if r.parent == self.preview.stack_urn)
        matches = [t for t in self.tenants if top.name.startswith(f"{t}-")]
        return max(matches, key=len) if matches else "platform"

    def owned(self, token: str, tenant: str) -> list[ResourceRecord]:
        return [record for record in self.preview.by_type(token) if self.owner(record) == tenant]

    def node_groups(self, tenant: str) -> list[ResourceRecord]:
        return self.owned(NODE_GROUP, tenant)

    def role_arn(self, tenant: str, suffix: str) -> str | None:
        name = f"aip-{self.settings.environment}-{tenant}-{suffix}"
        arns = [r.outputs["arn"] for r in self.preview.by_type(ROLE) if r.inputs["name"] == name]
        return arns[0] if arns else None

    def role_statements(self, role_arn: str) -> list[dict[str, Any]]:
        role = next(r for r in self.preview.by_type(ROLE) if r.outputs["arn"] == role_arn)
        found: list[dict[str, Any]] = []
        for policy in self.preview.by_type(ROLE_POLICY):
            if role.urn in policy.property_dependencies.get("role", []):
                found.extend(json.loads(policy.inputs["policy"])["Statement"])
        return found

    def repository_arns(self, tenant: str) -> list[str]:
        return [r.outputs["arn"] for r in self.owned(REPOSITORY, tenant)]


@cache
def tier_b(stack: str) -> TierB:
    return TierB(stack)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal", {})
    return as_list(principal.get("AWS", [])) if isinstance(principal, dict) else as_list(principal)


def tolerates(toleration: dict[str, Any], taint: dict[str, str]) -> bool:
    """Kubernetes' rule: does this toleration tolerate this taint?"""
    effect = EFFECTS[taint["effect"]]
    if toleration.get("effect") not in (None, "", effect):
        return False
    key, operator = toleration.get("key", ""), toleration.get("operator", "Equal")
    if key == "":
        return operator == "Exists"
    if key != taint["key"]:
        return False
    return operator == "Exists" or toleration.get("value", "") == taint.get("value", "")


def schedulable(subject: dict[str, Any], group: ResourceRecord) -> bool:
    """Every NoSchedule taint of the node group is tolerated and the nodeSelector matches its labels."""
    tolerations = subject["spec"].get("tolerations", [])
    taints = [t for t in group.inputs["taints"] if t["effect"] == "NO_SCHEDULE"]
    tolerated = all(any(tolerates(t, taint) for t in tolerations) for taint in taints)
    labels = group.inputs.get("labels", {})
    selected = all(labels.get(k) == v for k, v in subject["spec"].get("nodeSelector", {}).items())
    return tolerated and selected


def candidate_pods(x: str, y: str, settings: Settings) -> list[dict[str, Any]]:
    """Pods a user of tenant Y could submit: the legitimate ones and every way to reach X's nodes."""
    own_image = f"{settings.account_id}.dkr.ecr.{settings.region}.amazonaws.com/{settings.environment}/{y}/training:1"
    return [
        pod(images=(own_image,)),
        pod(images=(own_image,), tolerations=[GPU_TOLERATION], gpus=1),
        pod(images=(own_image,), tolerations=[GPU_TOLERATION, tenant_toleration(y)], gpus=1),
        pod(images=(own_image,), tolerations=[GPU_TOLERATION, tenant_toleration(x)], gpus=1),
        pod(images=(own_image,), tolerations=[GPU_TOLERATION, tenant_toleration("", "Exists")], gpus=1),
        pod(images=(own_image,), tolerations=[{"operator": "Exists"}], gpus=1),
        pod(
            images=(own_image,),
            tolerations=[GPU_TOLERATION, tenant_toleration(x)],
            node_selector={"aiplatform.io/tenant": x},
            gpus=1,
        ),
    ]


@pytest.mark.parametrize(("stack", "x", "y"), PAIRS, ids=[f"{s}:{x}->{y}" for s, x, y in PAIRS])
def test_no_node_group_of_x_admits_a_pod_of_y(stack: str, x: str, y: str) -> None:
    b = tier_b(stack)
    groups = b.node_groups(x)
    candidates = candidate_pods(x, y, b.settings)
    admitted = [c for c in candidates if not b.policy.denials(c, namespace(y, y))]
    # The legitimate pods (no GPU, GPU, own pool) are admitted: the binding is not a blanket deny.
    assert len(admitted) == 3, [c["spec"]["tolerations"] for c in admitted]
    for group in groups:
        for candidate in admitted:
            assert not schedulable(candidate, group), (group.name, candidate["spec"])
    # Every candidate that could land on X's nodes is one the policy denies in Y's namespace.
    reaching = [c for c in candidates if any(schedulable(c, g) for g in groups)]
    assert all(b.policy.denials(c, namespace(y, y)) for c in reaching)
    if groups:
        assert reaching, "the attack pods would reach X's pool without the admission policy"


@pytest.mark.parametrize(("stack", "x", "y"), PAIRS, ids=[f"{s}:{x}->{y}" for s, x, y in PAIRS])
def test_no_role_of_x_can_pull_images_of_y(stack: str, x: str, y: str) -> None:
    b = tier_b(stack)
    theirs = b.repository_arns(y)
    assert len(theirs) == 2
    roles = [arn for arn in (b.role_arn(x, "gpu-nodes"), b.role_arn(x, "workload")) if arn]
    policies = b.owned(REPOSITORY_POLICY, y)
    assert len(policies) == 2
    for role in roles:
        for statement in b.role_statements(role):
            actions = [
                a for a in as_list(statement["Action"]) if a.startswith("ecr:") and a != "ecr:GetAuthorizationToken"
            ]
            if statement["Effect"] != "Allow" or not actions:
                continue
            for pattern in as_list(statement["Resource"]):
                assert not [arn for arn in theirs if fnmatchcase(arn, pattern)], (role, pattern)
        for policy in policies:
            statements = json.loads(policy.inputs["policy"])["Statement"]
            assert not [s for s in statements if s["Effect"] == "Allow" and role in principals(s)], (role, policy.urn)
            denies = [s for s in statements if s["Effect"] == "Deny" and role in principals(s)]
            assert [s["Action"] for s in denies] == ["ecr:*"], (role, policy.urn)


@pytest.mark.parametrize(("stack", "x", "y"), PAIRS, ids=[f"{s}:{x}->{y}" for s, x, y in PAIRS])
def test_no_node_role_of_x_can_use_keys_of_y(stack: str, x: str, y: str) -> None:
    b = tier_b(stack)
    node_role = b.role_arn(x, "gpu-nodes")
    if node_role is None:
        assert not b.node_groups(x), "GPU node groups without the tenant's own node role"
        return
    assert not [s for s in b.role_statements(node_role) if any(a.startswith("kms:") for a in as_list(s["Action"]))]
    keys = b.owned(KEY, y)
    assert len(keys) == len(tenant_purposes(b.settings.tenant(y)))
    for key in keys:
        for statement in json.loads(key.inputs["policy"])["Statement"]:
            if statement["Effect"] == "Allow":
                assert node_role not in principals(statement), (key.name, statement.get("Sid"))
    for template in b.owned(LAUNCH_TEMPLATE, x):
        sources = {b.preview.by_urn(urn).name for urn in template.property_dependencies["blockDeviceMappings"]}
        assert sources == {f"{x}-keys-volumes"}, template.name


@pytest.mark.parametrize("stack", STACKS)
def test_matrix_covers_every_pair_and_every_pool(stack: str) -> None:
    b = tier_b(stack)
    pairs = [(x, y) for s, x, y in PAIRS if s == stack]
    assert len(pairs) == len(b.tenants) * (len(b.tenants) - 1) == {"platform-dev": 12, "platform-prod": 20}[stack]
    pooled = {t for t in b.tenants if b.node_groups(t)}
    assert pooled == {t.name for t in b.settings.tenants if t.gpu_pools}
    # Every node group but the system one belongs to a tenant, and only GPU pools carry tenant taints.
    assert {g.name for g in b.preview.by_type(NODE_GROUP) if b.owner(g) == "platform"} == {"cluster-system-nodes"}
    system = b.preview.get(NODE_GROUP, "cluster-system-nodes")
    assert "taints" not in system.inputs
    assert "aiplatform.io/tenant" not in system.inputs["labels"]


# ---- the quota arithmetic and the figures ------------------------------------------------------------

POOLS = {
    "platform-prod": {
        ("risk-models", "training"): ("p4d.24xlarge", 8, 2, 16),
        ("claims-assistant", "inference"): ("g6.2xlarge", 1, 4, 4),
    },
    "platform-dev": {("vision-lab", "experiments"): ("g6.xlarge", 1, 2, 2)},
}


@pytest.mark.parametrize("stack", STACKS)
def test_reference_pools_and_their_max_gpus(stack: str) -> None:
    b = tier_b(stack)
    found = {}
    for tenant in b.tenants:
        for group in b.node_groups(tenant):
            pool = group.inputs["labels"]["aiplatform.io/pool"]
            [instance_type] = group.inputs["instanceTypes"]
            gpus = next(p for p in b.settings.tenant(tenant).gpu_pools if p.name == pool).gpus_per_node
            size = group.inputs["scalingConfig"]["maxSize"]
            found[(tenant, pool)] = (instance_type, gpus, size, size * gpus)
    assert found == POOLS[stack]


@pytest.mark.parametrize("stack", STACKS)
def test_quota_carries_the_gpu_quota_and_covers_the_pools(stack: str) -> None:
    b = tier_b(stack)
    for tenant in b.settings.tenants:
        [quota] = b.owned(QUOTA, tenant.name)
        hard = int(quota.inputs["spec"]["hard"]["requests.nvidia.com/gpu"])
        assert hard == tenant.quotas.gpus, tenant.name
        per_node = {pool.name: pool.gpus_per_node for pool in tenant.gpu_pools}
        reach = sum(
            group.inputs["scalingConfig"]["maxSize"] * per_node[group.inputs["labels"]["aiplatform.io/pool"]]
            for group in b.node_groups(tenant.name)
        )
        assert reach == tenant.max_pool_gpus <= hard, tenant.name


@pytest.mark.parametrize("stack", STACKS)
def test_worst_case_monthly_gpu_spend_fits_each_budget(stack: str) -> None:
    """COST-3 as the pack computes it: max nodes × the highest price in any region × 730 hours."""
    b = tier_b(stack)
    for tenant in b.settings.tenants:
        spend = sum(
            pool.max_size * max(max(gpu_instances()[t].hourly_usd.values()) for t in pool.instance_types) * 730
            for pool in tenant.gpu_pools
        )
        assert spend <= tenant.monthly_budget_usd, (tenant.name, spend)
