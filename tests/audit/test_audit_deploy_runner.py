"""eks-access-entries-scoped knows a cluster's own in-VPC deploy runner (docs/deploy.md, "Cluster access").

A cluster stack's runner holds the cluster-admin access policy, cluster-wide: it applies every Kubernetes object of
its stack. The shared cluster's runner is a platform role (``aip-<env>-platform-deploy-runner``); a tier C cluster
is its tenant's, and so is its runner, ``aip-<env>-<tenant>-deploy-runner``, by the standards' rule
(``deploy_runner_role``, which infra/naming.py builds the name from). That one role passes on its own tenant's
cluster; on any other cluster, and any other tenant role anywhere, cluster-admin is still a finding.
"""

from __future__ import annotations

from typing import Any

from audit_seed import CLUSTER, ENVIRONMENT, PLATFORM, Environment, role_arn, tags
from audit_support import finding_set

from audit.identity import DEPLOY_RUNNER_ROLE
from audit.registry import checks
from infra import naming

CHECK = "eks-access-entries-scoped"
ADMIN = {
    "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
    "accessScope": {"type": "cluster", "namespaces": []},
}


def tier_c_cluster(env: Environment, tenant: str) -> str:
    """A single-tenant cluster owned by ``tenant``, as the tier C stack tags it; returns its ARN."""
    name = naming.cluster_name(ENVIRONMENT, tenant)
    arn = env.client("eks").create_cluster(
        name=name,
        version="1.34",
        roleArn=role_arn(tenant, "cluster"),
        resourcesVpcConfig={"subnetIds": [env.subnet], "endpointPublicAccess": False, "endpointPrivateAccess": True},
        tags=tags(tenant, **{"aiplatform:tier": "single-tenant"}),
    )["cluster"]["arn"]
    env.extras.access_config[name] = {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    return str(arn)


def test_the_rule_is_infras() -> None:
    assert naming.deploy_runner_role_name(ENVIRONMENT, "fraud") == f"aip-{ENVIRONMENT}-fraud-{DEPLOY_RUNNER_ROLE}"
    assert role_arn("fraud", DEPLOY_RUNNER_ROLE).endswith(naming.deploy_runner_role_name(ENVIRONMENT, "fraud"))


def test_a_clusters_own_runner_is_admin_there_and_nowhere_else(env: Environment, audit: Any) -> None:
    [check] = [check for check in checks() if check.id == CHECK]
    tier_c = naming.cluster_name(ENVIRONMENT, "fraud")
    tier_c_cluster(env, "fraud")
    own_runner = role_arn("fraud", DEPLOY_RUNNER_ROLE)
    # Compliant: the tier C cluster's own runner, and the platform's runner on the shared cluster.
    env.extras.add_access_entry(tier_c, own_runner, [ADMIN])
    env.extras.add_access_entry(CLUSTER, role_arn(PLATFORM, DEPLOY_RUNNER_ROLE), [ADMIN])
    # Findings: another tenant's runner on the tier C cluster, a tenant's runner on the shared cluster, and any
    # other role of the cluster's own tenant made cluster admin.
    foreign_runner = env.extras.add_access_entry(tier_c, role_arn("vision-ml", DEPLOY_RUNNER_ROLE), [ADMIN])
    runner_elsewhere = env.extras.add_access_entry(CLUSTER, own_runner, [ADMIN])
    workload = env.extras.add_access_entry(tier_c, role_arn("fraud", "workload"), [ADMIN])

    report = audit(checks=[check])
    assert finding_set(report) == {
        ("fail", CHECK, foreign_runner),
        ("fail", CHECK, runner_elsewhere),
        ("fail", CHECK, workload),
    }
    messages = {finding.resource: finding.message for finding in report.findings}
    admin = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy is associated"
    assert messages == {
        foreign_runner: f"{role_arn('vision-ml', DEPLOY_RUNNER_ROLE)} (a role of tenant vision-ml (dev)): {admin}",
        runner_elsewhere: f"{own_runner} (a role of tenant fraud (dev)): {admin}",
        workload: f"{role_arn('fraud', 'workload')} (a role of tenant fraud (dev)): {admin}",
    }
