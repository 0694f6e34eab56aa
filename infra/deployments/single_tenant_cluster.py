"""Deployment ``single-tenant-cluster``: one tier single-tenant tenant's whole platform, alone (issue 7, item 1).

Pattern C of the guide (§9): for high-value models and regulated data nothing is shared with another
tenant. The stack builds, for its one tenant and from the same components as the shared cluster:
its workload identity, key ring (every purpose, the tenant's own), VPC with the same egress controls,
access-log bucket and budget alert topic (both named for the tenant), in-VPC deploy runner, EKS
cluster (the tenant owns the cluster: its roles, keys, node group and log group carry the tenant's
name and tags), priority
classes, the admission policy that admits only the tenant's own images, registry, model store,
namespace and budget. Every component gets the tenant's tag scope, so every resource is tagged tier
``single-tenant`` with the tenant's classification.

With ``tenantAccount`` every component (and so every resource and invoke below it) goes through an
explicit AWS provider that assumes the configured role in the tenant's own account, with the
configured external id and that account as the only one allowed: the platform's account holds none
of the tenant's resources. The stack's ``roles`` are then that account's own baseline roles.

Stack outputs: ``clusterName``, ``deployRunner`` (the in-VPC run's project, image and source location) and
``tenant``: its account, VPC, namespace, repository URLs, model bucket and key ARNs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import iam, naming
from infra.components.admission import TenantAdmissionPolicy, TenantAdmissionPolicyArgs
from infra.components.alert_topic import AlertTopic, AlertTopicArgs
from infra.components.budget import TenantBudget, TenantBudgetArgs
from infra.components.cluster import SecureCluster, SecureClusterArgs
from infra.components.deploy_runner import DeployRunner, DeployRunnerArgs
from infra.components.key_ring import KeyRing, KeyRingArgs
from infra.components.log_bucket import LogBucket, LogBucketArgs
from infra.components.model_store import ModelStore, ModelStoreArgs
from infra.components.network import IsolatedNetwork, NetworkArgs
from infra.components.priority_classes import PriorityClasses, PriorityClassesArgs
from infra.components.registry import PrivateRegistry, RegistryArgs
from infra.components.tenant_identity import TenantIdentity, TenantIdentityArgs
from infra.components.tenant_space import TenantSpace, TenantSpaceArgs
from infra.config import Settings, Tenant
from infra.tags import TagScope, scoped_options

# The tenant owns every key purpose: it runs its own cluster, nodes and logs.
PURPOSES = ("cluster-secrets", "volumes", "registry", "models", "data", "logs")
# Roles the tenant's policies name (TenantIdentity's and SecureCluster's role name suffixes).
WORKLOAD_ROLE = "workload"
SYSTEM_NODE_ROLE = "system-nodes"


@dataclass
class TenantBase:
    """What every tier C stack builds for its tenant before the compute: keys, network, logs, alerts."""

    tenant: Tenant
    opts: pulumi.ResourceOptions
    keys: KeyRing
    network: IsolatedNetwork
    log_bucket: LogBucket
    alerts: AlertTopic


def tenant_of(settings: Settings) -> Tenant:
    """The stack's one tenant (config validation guarantees exactly one, of tier single-tenant)."""
    return settings.tenants[0]


def tenant_account_provider(settings: Settings, tenant: Tenant) -> aws.Provider | None:
    """The provider in the tenant's own account, or None to deploy with the stack's ambient credentials."""
    account = settings.tenant_account
    if account is None:
        return None
    return aws.Provider(
        f"{tenant.name}-account",
        region=settings.region,
        allowed_account_ids=[account.account_id],
        assume_roles=[
            aws.ProviderAssumeRoleArgs(
                role_arn=account.role_arn(settings.partition),
                external_id=pulumi.Output.secret(account.external_id),
                session_name=naming.resource_name(settings.environment, tenant.name, "deploy"),
            )
        ],
    )


def tenant_options(settings: Settings, tenant: Tenant) -> pulumi.ResourceOptions:
    """The tenant's tag scope and, with ``tenantAccount``, the provider in its account: for every component."""
    provider = tenant_account_provider(settings, tenant)
    own = pulumi.ResourceOptions(providers=[provider]) if provider is not None else None
    return scoped_options(settings, TagScope.for_tenant(settings, tenant.name), own)


def build_base(
    settings: Settings,
    tenant: Tenant,
    opts: pulumi.ResourceOptions,
    purposes: Sequence[str],
    users: Sequence[str],
    depends_on: Sequence[pulumi.Resource],
    extra_log_group_prefixes: Sequence[str] = (),
    attestation: Mapping[str, str] | None = None,
) -> TenantBase:
    """The tenant's keys (used by ``users``, roles that must exist first), VPC, log bucket and alert topic."""
    name = tenant.name
    keys = KeyRing(
        f"{name}-keys",
        KeyRingArgs(
            settings,
            name,
            purposes,
            list(users),
            budget_alerts=True,
            extra_log_group_prefixes=list(extra_log_group_prefixes),
            depends_on=list(depends_on),
            attestation=dict(attestation or {}),
        ),
        opts=opts,
    )
    network = IsolatedNetwork(f"{name}-network", NetworkArgs(settings, name, keys.arns["logs"]), opts=opts)
    # Named for the tenant: another stack in the same account (platform-<env>, another tier C tenant) has its own.
    log_bucket = LogBucket(f"{name}-access-logs", LogBucketArgs(settings, owner=name), opts=opts)
    alerts = AlertTopic(f"{name}-budget-alerts", AlertTopicArgs(settings, keys.arns["logs"], owner=name), opts=opts)
    return TenantBase(tenant, opts, keys, network, log_bucket, alerts)


def build_stores(
    settings: Settings,
    base: TenantBase,
    pullers: Sequence[str],
    users: Sequence[str],
    depends_on: Sequence[pulumi.Resource],
) -> dict[str, object]:
    """The tenant's registry, model store and budget; returns the tenant's stack outputs."""
    tenant, opts, keys = base.tenant, base.opts, base.keys
    name = tenant.name
    registry = PrivateRegistry(
        f"{name}-registry",
        # No other tenant in the stack: nobody to deny by name; the policy admits only these roles and CI.
        RegistryArgs(settings, tenant, keys.arns["registry"], list(pullers), [], depends_on=list(depends_on)),
        opts=opts,
    )
    store = ModelStore(
        f"{name}-models",
        ModelStoreArgs(
            settings,
            tenant,
            keys.arns["models"],
            list(users),
            base.log_bucket.bucket_name,
            depends_on=list(depends_on),
        ),
        opts=opts,
    )
    TenantBudget(f"{name}-budget", TenantBudgetArgs(settings, tenant, base.alerts.topic_arn), opts=opts)
    return {
        "accountId": settings.account_id,
        "vpcId": base.network.vpc_id,
        "repositoryUrls": registry.repository_urls,
        "bucketName": store.bucket_name,
        "keyArns": keys.arns,
    }


def build(settings: Settings) -> None:
    tenant = tenant_of(settings)
    name, env = tenant.name, settings.environment
    opts = tenant_options(settings, tenant)
    cluster_name = naming.cluster_name(env, name)
    identity = TenantIdentity(f"{name}-identity", TenantIdentityArgs(settings, tenant, cluster_name), opts=opts)
    workload = iam.role_arn(settings, name, WORKLOAD_ROLE)
    base = build_base(
        settings,
        tenant,
        opts,
        PURPOSES,
        [workload],
        [identity.workload_role],
        extra_log_group_prefixes=[f"/aws/eks/{cluster_name}/"],
    )
    keys, network = base.keys, base.network
    # In the tenant's VPC (and account): it applies the Kubernetes objects and the Pod Identity association.
    runner = DeployRunner(
        f"{name}-deploy-runner",
        DeployRunnerArgs(settings, network, keys.arns["logs"], keys.arns["registry"], name, [workload]),
        opts=opts,
    )
    cluster_args = SecureClusterArgs.in_network(settings, network, keys, runner.role, owner=name)
    cluster = SecureCluster(f"{name}-cluster", cluster_args, opts=opts)
    PriorityClasses(f"{name}-priority-classes", PriorityClassesArgs(provider=cluster.provider), opts=opts)
    # Alone in its cluster, the tenant still runs only its own images (and the platform's approved prefixes).
    TenantAdmissionPolicy(
        f"{name}-admission",
        TenantAdmissionPolicyArgs(settings, cluster.cluster_name, cluster.provider),
        opts=opts,
    )
    outputs = build_stores(
        settings,
        base,
        pullers=[workload, iam.role_arn(settings, name, SYSTEM_NODE_ROLE)],
        users=[workload],
        depends_on=[identity.workload_role, cluster.node_role],
    )
    space = TenantSpace(f"{name}-space", TenantSpaceArgs(settings, tenant, cluster, identity.workload_role), opts=opts)
    pulumi.export("clusterName", cluster.cluster_name)
    pulumi.export("deployRunner", runner.outputs)
    pulumi.export("tenant", {**outputs, "namespace": space.namespace_name})
