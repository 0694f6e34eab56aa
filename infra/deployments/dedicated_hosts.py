"""Deployment ``dedicated-hosts``: one tier single-tenant tenant's GPU instances on EC2 Dedicated Hosts (issue 7).

Items 2 and 3: the tenant's own hardware. The stack builds, for its one tenant:

- the host instances' identity (``HostIdentity``) first: the keys, bucket and repositories name it;
- the tenant's base, as a single-tenant cluster builds it (``single_tenant_cluster.build_base``):
  key ring (volumes, registry, models, data, logs), its own private VPC with the same egress
  controls and the SSM endpoints its operators come through, access-log bucket, alert topic;
- ``DedicatedHosts`` of the configured GPU type (auto placement off, host recovery on), spread
  over the VPC's AZs, and ``HostInstances``: one instance per host through the hardened launch
  template, tenancy ``host``, targeting its host by id, no public IP, no key pair;
- the registry, model store and budget (``single_tenant_cluster.build_stores``), which only the
  instances' role and CI may use.

With ``confidential: true`` the launch template and the instances enable Nitro Enclaves, and the
data key (and the instances' role) admit plaintext only to an enclave whose attestation document
carries ``hosts.enclaveAttestation``'s measurements. ``tenantAccount`` works as in the
single-tenant cluster: every component through a provider in the tenant's own account.

Stack outputs: ``tenant``: its account, VPC, repository URLs, model bucket, key ARNs, host ids and
instance ids.
"""

from __future__ import annotations

import pulumi

from infra.components.dedicated_hosts import DedicatedHosts, DedicatedHostsArgs
from infra.components.host_identity import HostIdentity, HostIdentityArgs
from infra.components.host_instances import HostInstances, HostInstancesArgs
from infra.config import HostsConfig, Settings
from infra.deployments.single_tenant_cluster import build_base, build_stores, tenant_of, tenant_options

# No cluster: no cluster-secrets key; volumes for the instances' root volumes, data for the enclave.
PURPOSES = ("volumes", "registry", "models", "data", "logs")


def hosts_config(settings: Settings) -> HostsConfig:
    """The stack's hosts (config validation requires them in this deployment)."""
    if settings.hosts is None:
        raise ValueError("deployment dedicated-hosts needs the hosts config")
    return settings.hosts


def build(settings: Settings) -> None:
    tenant, config = tenant_of(settings), hosts_config(settings)
    name = tenant.name
    opts = tenant_options(settings, tenant)
    attestation = config.enclave_attestation.conditions() if config.enclave_attestation is not None else {}
    identity = HostIdentity(f"{name}-host-identity", HostIdentityArgs(settings, tenant, attestation), opts=opts)
    base = build_base(settings, tenant, opts, PURPOSES, [identity.role_arn], [identity.role], attestation=attestation)
    hosts = DedicatedHosts(
        f"{name}-hosts",
        DedicatedHostsArgs(
            instance_type=config.instance_type,
            count=config.count,
            # The zones the network chose (by ID, so offering the host type), in this account's names.
            availability_zones=base.network.zone_names,
        ),
        opts=opts,
    )
    instances = HostInstances(
        f"{name}-gpu",
        HostInstancesArgs(
            settings,
            tenant,
            hosts,
            base.network,
            config,
            instance_profile_name=identity.instance_profile.name,
            volumes_key_arn=base.keys.arns["volumes"],
            nitro_enclaves=settings.confidential,
        ),
        opts=opts,
    )
    outputs = build_stores(
        settings, base, pullers=[identity.role_arn], users=[identity.role_arn], depends_on=[identity.role]
    )
    pulumi.export(
        "tenant",
        {
            **outputs,
            "hostIds": hosts.host_ids,
            "instanceIds": [instance.id for instance in instances.instances],
        },
    )
