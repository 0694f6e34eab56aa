"""Deployment ``shared-cluster``: tiers ``shared`` and ``dedicated-pool`` of one environment.

The platform first: its key ring, the isolated network, the access-log bucket, the budget alert
topic, the in-VPC deploy runner, the EKS cluster and the priority classes. Then every tenant: its workload identity (all
tenants' identities first, so that each tenant's repository policy can deny every other tenant's
role), then every tenant's key ring and the dedicated-pool tenants' GPU node pools (so that each
tenant's repository policy can also deny every other tenant's GPU node role), then per tenant its
registry, model store, namespace and budget. Every tenant component is created with the tenant's
tag scope, so all its resources carry that tenant's standard tags. The cluster always gets the
tenant admission policy; with GPU pools, also the NVIDIA device plugin.

Stack outputs: ``clusterName``, ``deployRunner`` (the in-VPC run's project, image and source location), and
``tenants``: per tenant its namespace, repository URLs, model bucket name and key ARNs.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra import iam, naming
from infra.components.admission import TenantAdmissionPolicy, TenantAdmissionPolicyArgs
from infra.components.alert_topic import AlertTopic, AlertTopicArgs
from infra.components.budget import TenantBudget, TenantBudgetArgs
from infra.components.cluster import SecureCluster, SecureClusterArgs
from infra.components.deploy_runner import DeployRunner, DeployRunnerArgs
from infra.components.device_plugin import NvidiaDevicePlugin, NvidiaDevicePluginArgs
from infra.components.gpu_pool import NODE_ROLE, GpuNodePool, GpuNodePoolArgs
from infra.components.key_ring import KeyRing, KeyRingArgs
from infra.components.log_bucket import LogBucket, LogBucketArgs
from infra.components.model_store import ModelStore, ModelStoreArgs
from infra.components.network import IsolatedNetwork, NetworkArgs
from infra.components.priority_classes import PriorityClasses, PriorityClassesArgs
from infra.components.registry import PrivateRegistry, RegistryArgs
from infra.components.tenant_identity import TenantIdentity, TenantIdentityArgs
from infra.components.tenant_space import TenantSpace, TenantSpaceArgs
from infra.config import Settings, Tenant
from infra.tags import PLATFORM, TagScope, scoped_options

# The roles the tenant components' policies name (TenantIdentity's and SecureCluster's role names).
WORKLOAD_ROLE = "workload"
SYSTEM_NODE_ROLE = "system-nodes"
PLATFORM_PURPOSES = ("cluster-secrets", "volumes", "registry", "models", "data", "logs")
TENANT_PURPOSES = ("registry", "models", "data", "logs")


def tenant_purposes(tenant: Tenant) -> tuple[str, ...]:
    """A dedicated-pool tenant's nodes have volumes of their own, encrypted with its own key."""
    return (*TENANT_PURPOSES, "volumes") if tenant.tier == "dedicated-pool" else TENANT_PURPOSES


@dataclass
class Platform:
    """The shared infrastructure every tenant builds on."""

    keys: KeyRing
    network: IsolatedNetwork
    log_bucket: LogBucket
    alerts: AlertTopic
    runner: DeployRunner
    cluster: SecureCluster


def build(settings: Settings) -> None:
    platform = build_platform(settings)
    identities = {
        tenant.name: TenantIdentity(
            f"{tenant.name}-identity",
            TenantIdentityArgs(settings, tenant, naming.cluster_name(settings.environment)),
            opts=scoped_options(settings, TagScope.for_tenant(settings, tenant.name)),
        )
        for tenant in settings.tenants
    }
    keys = {tenant.name: tenant_keys(settings, tenant, identities) for tenant in settings.tenants}
    pools = build_gpu_pools(settings, platform, keys)
    outputs = {
        tenant.name: build_tenant(settings, platform, tenant, identities, keys[tenant.name], pools)
        for tenant in settings.tenants
    }
    pulumi.export("clusterName", platform.cluster.cluster_name)
    pulumi.export("deployRunner", platform.runner.outputs)
    pulumi.export("tenants", outputs)


def build_platform(settings: Settings) -> Platform:
    roles = settings.required_roles
    keys = KeyRing(
        "platform-keys",
        KeyRingArgs(
            settings,
            PLATFORM,
            PLATFORM_PURPOSES,
            user_role_arns=[roles.platform_admin],
            extra_log_group_prefixes=[f"/aws/eks/{naming.cluster_name(settings.environment)}/"],
            budget_alerts=True,
        ),
    )
    network = IsolatedNetwork("network", NetworkArgs(settings, PLATFORM, keys.arns["logs"]))
    log_bucket = LogBucket("access-logs", LogBucketArgs(settings))
    alerts = AlertTopic("budget-alerts", AlertTopicArgs(settings, keys.arns["logs"]))
    # The runner applies the Kubernetes objects and creates the tenants' Pod Identity associations,
    # which pass the tenants' workload roles.
    runner = DeployRunner(
        "deploy-runner",
        DeployRunnerArgs(
            settings,
            network,
            keys.arns["logs"],
            keys.arns["registry"],
            pod_identity_role_arns=[iam.role_arn(settings, tenant.name, WORKLOAD_ROLE) for tenant in settings.tenants],
        ),
    )
    cluster = SecureCluster("cluster", SecureClusterArgs.in_network(settings, network, keys, runner.role))
    PriorityClasses("priority-classes", PriorityClassesArgs(provider=cluster.provider))
    TenantAdmissionPolicy("admission", TenantAdmissionPolicyArgs(settings, cluster.cluster_name, cluster.provider))
    return Platform(keys, network, log_bucket, alerts, runner, cluster)


def tenant_keys(settings: Settings, tenant: Tenant, identities: dict[str, TenantIdentity]) -> KeyRing:
    """A tenant's key ring; its workload role (the keys' user) exists first."""
    workload = iam.role_arn(settings, tenant.name, WORKLOAD_ROLE)
    return KeyRing(
        f"{tenant.name}-keys",
        KeyRingArgs(
            settings,
            tenant.name,
            tenant_purposes(tenant),
            [workload],
            depends_on=[identities[tenant.name].workload_role],
        ),
        opts=scoped_options(settings, TagScope.for_tenant(settings, tenant.name)),
    )


def build_gpu_pools(settings: Settings, platform: Platform, keys: dict[str, KeyRing]) -> dict[str, GpuNodePool]:
    """The dedicated-pool tenants' GPU node pools, and the device plugin that serves them all."""
    pools = {
        tenant.name: GpuNodePool(
            f"{tenant.name}-gpu",
            GpuNodePoolArgs(settings, tenant, platform.cluster, platform.network, keys[tenant.name].arns["volumes"]),
        )
        for tenant in settings.tenants
        if tenant.tier == "dedicated-pool" and tenant.gpu_pools
    }
    if pools:
        NvidiaDevicePlugin(
            "nvidia-device-plugin",
            NvidiaDevicePluginArgs(
                settings,
                platform.cluster.provider,
                platform.keys.arns["registry"],
                pull_role_arns=[iam.role_arn(settings, name, NODE_ROLE) for name in pools],
                depends_on=[pool.node_role for pool in pools.values()],
            ),
        )
    return pools


def node_roles(settings: Settings, tenants: list[str], pools: dict[str, GpuNodePool]) -> list[str]:
    """The GPU node role ARNs of those of ``tenants`` that have GPU pools."""
    return [iam.role_arn(settings, name, NODE_ROLE) for name in tenants if name in pools]


def build_tenant(
    settings: Settings,
    platform: Platform,
    tenant: Tenant,
    identities: dict[str, TenantIdentity],
    keys: KeyRing,
    pools: dict[str, GpuNodePool],
) -> dict[str, object]:
    """One tenant's keys, registry, model store, namespace and budget; returns its stack outputs.

    Policies name roles by their deterministic ARNs (complete in a first preview) and depend on
    the role resources, so that each policy is written after the roles it names exist.
    """
    name = tenant.name
    opts = scoped_options(settings, TagScope.for_tenant(settings, name))
    workload_role = identities[name].workload_role
    workload = iam.role_arn(settings, name, WORKLOAD_ROLE)
    others = [other for other in identities if other != name]
    registry = PrivateRegistry(
        f"{name}-registry",
        RegistryArgs(
            settings,
            tenant,
            keys.arns["registry"],
            pull_role_arns=[
                workload,
                iam.role_arn(settings, PLATFORM, SYSTEM_NODE_ROLE),
                *node_roles(settings, [name], pools),
            ],
            denied_role_arns=[
                *(iam.role_arn(settings, other, WORKLOAD_ROLE) for other in others),
                *node_roles(settings, others, pools),
            ],
            depends_on=[
                platform.cluster.node_role,
                *(identities[role_owner].workload_role for role_owner in (name, *others)),
                *(pool.node_role for pool in pools.values()),
            ],
        ),
        opts=opts,
    )
    store = ModelStore(
        f"{name}-models",
        ModelStoreArgs(
            settings,
            tenant,
            keys.arns["models"],
            [workload],
            platform.log_bucket.bucket_name,
            depends_on=[workload_role],
        ),
        opts=opts,
    )
    space = TenantSpace(f"{name}-space", TenantSpaceArgs(settings, tenant, platform.cluster, workload_role), opts=opts)
    TenantBudget(f"{name}-budget", TenantBudgetArgs(settings, tenant, platform.alerts.topic_arn), opts=opts)
    return {
        "namespace": space.namespace_name,
        "repositoryUrls": registry.repository_urls,
        "bucketName": store.bucket_name,
        "keyArns": keys.arns,
    }
