"""The stack config, read once into a typed, validated model.

Every key is documented in ``Pulumi.yaml``. Validation runs before any resource is registered and
reports every problem at once, one line each, naming the key path as written in the stack file
and the fix, e.g. ``tenants[2].name: 'Fraud_Model' is not a DNS label (use lowercase letters,
digits and '-')``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import pulumi
import yaml
from aiplatform_standards import GpuInstanceType, allowed_tiers, gpu_allowed_families, gpu_instances, platform
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from infra import naming
from infra.components import service_linked_roles

PROJECT = "secure-ai-platform"
_STANDARDS = platform()

Environment = Literal["dev", "staging", "prod"]
DeploymentKind = Literal["bootstrap", "account-baseline", "shared-cluster", "single-tenant-cluster", "dedicated-hosts"]
Tier = Literal["shared", "dedicated-pool", "single-tenant"]
Classification = Literal["public", "internal", "confidential", "restricted", "regulated"]
EgressMode = Literal["none", "firewall"]

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_IAM_ROLE_ARN = re.compile(r"^arn:aws[-a-z]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_IAM_POLICY_ARN = re.compile(r"^arn:aws[-a-z]*:iam::\d{12}:policy/[\w+=,.@/-]+$")
_DOMAIN = re.compile(r"^\.?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")
# The VPC is carved into 16 subnets of prefix + 4 (subnet_plan below), so /16 to /20.
_VPC_PREFIXES = range(16, 21)
_SUBNET_BITS = 4
# Where each subnet role starts among the 16 blocks; one block per AZ (at most 4). Blocks 12-15
# stay free for later subnet roles (e.g. dedicated pools' own subnets).
_SUBNET_ROLE_OFFSETS = {"private": 0, "firewall": 4, "public": 8}
# Addresses AWS reserves in every subnet.
_AWS_RESERVED_ADDRESSES = 5
# Addresses a private subnet keeps for nodes and system pods beyond the tenants' pod quotas.
_SYSTEM_ADDRESSES_PER_SUBNET = 64


class ConfigError(Exception):
    """Stack config that the platform rejects; the message lists every problem with its fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid stack config ({len(problems)} problem(s)):\n{lines}")


def _problem(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError("platform", message, context)


def _reject_repeated(values: list[str], message: str) -> None:
    """A list whose entries must be unique: ``message`` names the repeated ones in ``{repeated}``, sorted."""
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise _problem(message, repeated=", ".join(repeated))


class _Model(BaseModel):
    """Config models: camelCase keys as in the stack file, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, loc_by_alias=True
    )


def _role_arn(value: str) -> str:
    if not _IAM_ROLE_ARN.match(value):
        raise _problem(
            "'{value}' is not an IAM role ARN (use arn:aws:iam::<account>:role/<name>, "
            "from the baseline stack's outputs)",
            value=value,
        )
    return value


RoleArn = Annotated[str, Field(min_length=1)]


class PlatformRoles(_Model):
    """The roles and boundary the account baseline creates (its stack outputs)."""

    platform_admin: RoleArn
    break_glass: RoleArn
    deployer: RoleArn
    ci: RoleArn
    tenant_boundary: str

    @field_validator("platform_admin", "break_glass", "deployer", "ci")
    @classmethod
    def _is_role_arn(cls, value: str) -> str:
        return _role_arn(value)

    @field_validator("tenant_boundary")
    @classmethod
    def _is_policy_arn(cls, value: str) -> str:
        if not _IAM_POLICY_ARN.match(value):
            raise _problem(
                "'{value}' is not an IAM managed policy ARN (use the baseline stack's tenantBoundaryArn output)",
                value=value,
            )
        return value


class EgressConfig(_Model):
    """Workload egress: endpoints only, or through AWS Network Firewall's domain allowlist."""

    mode: EgressMode = "none"
    allowed_domains: tuple[str, ...] = ()

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for domain in value:
            if not _DOMAIN.match(domain):
                raise _problem(
                    "'{domain}' is not a domain name (use e.g. 'pypi.org' or '.huggingface.co' "
                    "for a domain and its subdomains)",
                    domain=domain,
                )
        return value

    @model_validator(mode="after")
    def _allowlist_needs_firewall(self) -> EgressConfig:
        if self.allowed_domains and self.mode != "firewall":
            raise _problem("allowedDomains needs mode 'firewall' (mode 'none' allows no internet egress at all)")
        if self.mode == "firewall" and not self.allowed_domains:
            raise _problem(
                "mode 'firewall' needs allowedDomains (list the domains workloads may reach, "
                "or use mode 'none' for no internet egress)"
            )
        return self


class NetworkConfig(_Model):
    """The isolated VPC."""

    cidr: str = "10.40.0.0/16"
    az_count: int | None = None
    egress: EgressConfig = EgressConfig()

    @field_validator("cidr")
    @classmethod
    def _private_cidr(cls, value: str) -> str:
        try:
            if "/" not in value:
                raise ValueError(value)
            network = ipaddress.IPv4Network(value)
        except ValueError:
            raise _problem("'{value}' is not an IPv4 CIDR block (use e.g. '10.40.0.0/16')", value=value) from None
        if not network.is_private:
            raise _problem(
                "'{value}' is not a private range (use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)",
                value=value,
            )
        if network.prefixlen not in _VPC_PREFIXES:
            raise _problem(
                "'{value}' is /{prefix}: the subnet plan needs a block from /16 to /20",
                value=value,
                prefix=network.prefixlen,
            )
        return value

    @field_validator("az_count")
    @classmethod
    def _az_count(cls, value: int | None) -> int | None:
        if value is not None and value not in (2, 3):
            raise _problem("{value} is not 2 or 3 (private subnets span 2 AZs, 3 in prod)", value=value)
        return value


# The EKS managed add-ons every cluster runs (infra.components.cluster installs them in this set).
EKS_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns")
# An EKS add-on version as `aws eks describe-addon-versions` reports it, e.g. v1.34.6-eksbuild.2.
_ADDON_VERSION = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")


class ClusterConfig(_Model):
    """The EKS cluster."""

    version: str = "1.34"
    endpoint_public_access: bool = False
    public_access_cidrs: tuple[str, ...] = ()
    # Per add-on pins; an add-on without one gets EKS's most recent version for the cluster version,
    # resolved at deploy time (aws.eks.get_addon_version).
    addon_versions: dict[str, str] = Field(default_factory=dict)

    @field_validator("addon_versions")
    @classmethod
    def _known_addons(cls, value: dict[str, str]) -> dict[str, str]:
        for addon, version in value.items():
            if addon not in EKS_ADDONS:
                raise _problem(
                    "'{addon}' is not an add-on the platform manages (pin one of {addons})",
                    addon=addon,
                    addons=", ".join(EKS_ADDONS),
                )
            if not _ADDON_VERSION.match(version):
                raise _problem(
                    "{addon}: '{version}' is not an EKS add-on version (use v<major>.<minor>.<patch>-eksbuild.<n> "
                    "from aws eks describe-addon-versions --addon-name {addon} --kubernetes-version <version>)",
                    addon=addon,
                    version=version,
                )
        return value

    @field_validator("version")
    @classmethod
    def _supported(cls, value: str) -> str:
        supported = _STANDARDS["kubernetes_versions"]
        if value not in supported:
            raise _problem(
                "'{value}' is not a supported EKS version (use one of {supported})",
                value=value,
                supported=", ".join(supported),
            )
        return value

    @field_validator("public_access_cidrs")
    @classmethod
    def _no_internet_wide_cidr(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            try:
                network = ipaddress.ip_network(cidr)
            except ValueError:
                raise _problem("'{cidr}' is not a CIDR block (use e.g. '203.0.113.0/24')", cidr=cidr) from None
            if network.prefixlen == 0:
                raise _problem(
                    "'{cidr}' opens the API to the internet (list your runners' and VPN's CIDRs instead)", cidr=cidr
                )
        return value

    @model_validator(mode="after")
    def _public_endpoint_needs_allowlist(self) -> ClusterConfig:
        if self.endpoint_public_access and not self.public_access_cidrs:
            raise _problem(
                "endpointPublicAccess true needs publicAccessCidrs (list the CIDRs that may reach "
                "the API; 0.0.0.0/0 is never allowed)"
            )
        if self.public_access_cidrs and not self.endpoint_public_access:
            raise _problem("publicAccessCidrs is set but endpointPublicAccess is false (remove one)")
        # kube-proxy's minor version is the cluster's (EKS User Guide, "Manage kube-proxy": one
        # kube-proxy version line per Kubernetes version).
        kube_proxy = self.addon_versions.get("kube-proxy")
        if kube_proxy is not None and not kube_proxy.startswith(f"v{self.version}."):
            raise _problem(
                "addonVersions.kube-proxy: '{pin}' is not for Kubernetes {version} (pin a v{version}.<patch> build, "
                "or remove the pin to get the most recent one)",
                pin=kube_proxy,
                version=self.version,
            )
        return self


@dataclass(frozen=True)
class SubnetPlan:
    """The VPC's subnets by role, one CIDR per AZ in AZ order."""

    private: tuple[str, ...]
    firewall: tuple[str, ...]
    public: tuple[str, ...]

    @property
    def private_addresses(self) -> int:
        """Addresses usable in one private subnet."""
        return ipaddress.IPv4Network(self.private[0]).num_addresses - _AWS_RESERVED_ADDRESSES


def subnet_plan(cidr: str, az_count: int, egress_mode: EgressMode) -> SubnetPlan:
    """The one deterministic subnet plan: block ``offset(role) + az`` of the VPC's prefix+4 blocks.

    Workload (private) subnets always exist; with egress through the firewall, each AZ also gets a
    firewall subnet and a public subnet for its NAT gateway. A block never moves when the egress
    mode changes, so switching modes adds subnets without replacing the workload ones.
    """
    blocks = list(ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=_SUBNET_BITS))

    def role(name: str) -> tuple[str, ...]:
        return tuple(str(blocks[_SUBNET_ROLE_OFFSETS[name] + az]) for az in range(az_count))

    firewalled = egress_mode == "firewall"
    return SubnetPlan(
        private=role("private"),
        firewall=role("firewall") if firewalled else (),
        public=role("public") if firewalled else (),
    )


# The VPC's last quarter (blocks 12-15 of the plan) holds the own subnets of dedicated pools: 64
# slots, four per tenant (one per AZ the stack may use), so 16 tenants at most. A tenant's slots
# follow its place among the tenants that have own subnets, in config order: append such tenants.
_DEDICATED_BLOCK = 12
_DEDICATED_SLOT_BITS = 6
_MAX_AZS = 4
DEDICATED_SUBNET_TENANTS_MAX = 2**_DEDICATED_SLOT_BITS // _MAX_AZS
# Data classifications whose dedicated pools run in subnets with a route table of their own (DESIGN.md).
OWN_SUBNET_CLASSIFICATIONS = ("confidential", "restricted")


def dedicated_subnet_cidrs(cidr: str, az_count: int, slot: int) -> tuple[str, ...]:
    """The own subnets, one per AZ, of the ``slot``-th tenant whose dedicated pools have them."""
    first = list(ipaddress.IPv4Network(cidr).subnets(prefixlen_diff=_SUBNET_BITS))[_DEDICATED_BLOCK]
    quarter = first.supernet(prefixlen_diff=2)
    slots = list(quarter.subnets(prefixlen_diff=_DEDICATED_SLOT_BITS))
    return tuple(str(slots[slot * _MAX_AZS + az]) for az in range(az_count))


def _at_least(value: int, minimum: int, unit: str) -> int:
    if value < minimum:
        raise _problem("{value} must be {minimum} or more ({unit})", value=value, minimum=minimum, unit=unit)
    return value


def _positive(value: float, unit: str) -> float:
    if value <= 0:
        raise _problem("{value} must be greater than 0 ({unit})", value=value, unit=unit)
    return value


class Quotas(_Model):
    """A tenant's namespace allocation."""

    gpus: int = 0
    cpu: int = Field(default=8, description="cores")
    memory_gib: int = 32
    pods: int = 50

    @field_validator("gpus")
    @classmethod
    def _gpus(cls, value: int) -> int:
        return _at_least(value, 0, "GPUs")

    @field_validator("cpu", "memory_gib", "pods")
    @classmethod
    def _positive_quota(cls, value: int) -> int:
        return int(_positive(value, "a quota"))


CapacityType = Literal["on-demand", "spot"]
# EKS managed node group disk sizes (GiB) the pools accept.
_POOL_DISK_GIB = range(20, 16385)
# The EKS AMI type of a GPU pool per architecture: AL2023 with NVIDIA drivers (the device plugin
# DaemonSet serves it; Bottlerocket's NVIDIA variants bundle a plugin of their own).
GPU_AMI_TYPES = {"x86_64": "AL2023_x86_64_NVIDIA", "arm64": "AL2023_ARM_64_NVIDIA"}


def _disk_gib(value: int) -> int:
    """A node or host root volume size EBS accepts for gp3 (GiB)."""
    if value not in _POOL_DISK_GIB:
        raise _problem("{value} is not from 20 to 16384 (GiB)", value=value)
    return value


class GpuPool(_Model):
    """One dedicated GPU node group of a tier dedicated-pool tenant (issue 6)."""

    name: str
    instance_types: tuple[str, ...]
    capacity_type: CapacityType = "on-demand"
    min_size: int = 0
    max_size: int
    disk_size_gib: int = 100

    @field_validator("name")
    @classmethod
    def _pool_name(cls, value: str) -> str:
        if not _DNS_LABEL.match(value) or len(value) > POOL_NAME_MAX:
            raise _problem(
                "'{value}' is not a DNS label of at most {limit} characters (the node group name "
                "aip-<env>-<tenant>-<pool> must fit EKS's 63)",
                value=value,
                limit=POOL_NAME_MAX,
            )
        return value

    @field_validator("instance_types")
    @classmethod
    def _known_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        table = gpu_instances()
        if not value:
            raise _problem("no instance types (name at least one type of the GPU instance table, e.g. g6.xlarge)")
        for instance_type in value:
            if instance_type not in table:
                family = instance_type.split(".")[0]
                same_family = [name for name, row in table.items() if row.family == family]
                hint = (
                    f"use one of {', '.join(same_family)}"
                    if same_family
                    else f"use a type of family {', '.join(sorted({row.family for row in table.values()}))}"
                )
                raise _problem(
                    "'{value}' is not in the GPU instance table ({hint}; the table is "
                    "policy_packs/ai-guardrails/standards/aiplatform_standards/data/gpu_instances.yaml)",
                    value=instance_type,
                    hint=hint,
                )
        architectures = sorted({table[instance_type].architecture for instance_type in value})
        if len(architectures) > 1:
            raise _problem(
                "mixes {architectures} types (a pool runs one AMI type; split them into one pool per architecture)",
                architectures=" and ".join(architectures),
            )
        return value

    @field_validator("min_size")
    @classmethod
    def _min_size(cls, value: int) -> int:
        return _at_least(value, 0, "nodes")

    @field_validator("max_size")
    @classmethod
    def _max_size(cls, value: int) -> int:
        return _at_least(value, 1, "nodes")

    @field_validator("disk_size_gib")
    @classmethod
    def _disk_size(cls, value: int) -> int:
        return _disk_gib(value)

    @model_validator(mode="after")
    def _sizes(self) -> GpuPool:
        if self.min_size > self.max_size:
            raise _problem(
                "minSize {min_size} is above maxSize {max_size} (lower minSize or raise maxSize)",
                min_size=self.min_size,
                max_size=self.max_size,
            )
        return self

    @property
    def gpus_per_node(self) -> int:
        """The most GPUs one node of the pool can have (its largest instance type)."""
        return max(gpu_instances()[instance_type].gpus for instance_type in self.instance_types)

    @property
    def largest_type(self) -> str:
        return max(self.instance_types, key=lambda instance_type: gpu_instances()[instance_type].gpus)

    @property
    def max_gpus(self) -> int:
        """GPUs the pool can hold at most: max nodes × GPUs per node."""
        return self.max_size * self.gpus_per_node

    @property
    def architecture(self) -> str:
        return gpu_instances()[self.instance_types[0]].architecture

    @property
    def ami_type(self) -> str:
        return GPU_AMI_TYPES[self.architecture]


def _default_gpu_families() -> dict[Tier, tuple[str, ...]]:
    # The standards data is keyed by tier name; the tiers are the Tier literal's values.
    return cast(dict[Tier, tuple[str, ...]], gpu_allowed_families())


class GpuConfig(_Model):
    """Which GPU families each tier may use; tiers the stack does not name keep the secure default."""

    allowed_families: dict[Tier, tuple[str, ...]] = Field(default_factory=_default_gpu_families)

    @field_validator("allowed_families")
    @classmethod
    def _known_families(cls, value: dict[Tier, tuple[str, ...]]) -> dict[Tier, tuple[str, ...]]:
        known = sorted({row.family for row in gpu_instances().values()})
        for families in value.values():
            for family in families:
                if family not in known:
                    raise _problem(
                        "'{family}' is not a family of the GPU instance table (use {known})",
                        family=family,
                        known=", ".join(known),
                    )
        return {**_default_gpu_families(), **value}


class Tenant(_Model):
    """A team or product hosted by the platform, with its tier and data classification."""

    name: str
    tier: Tier
    data_classification: Classification
    owner: str = Field(min_length=3, description="the tenant team's contact")
    cost_center: str = Field(min_length=1)
    quotas: Quotas = Quotas()
    monthly_budget_usd: float
    priority_class: str = "experimentation"
    gpu_pools: tuple[GpuPool, ...] = ()

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        return _tenant_name(value)

    @field_validator("monthly_budget_usd")
    @classmethod
    def _budget(cls, value: float) -> float:
        return _positive(value, "USD per month")

    @field_validator("priority_class")
    @classmethod
    def _priority_class(cls, value: str) -> str:
        names = [pc["name"] for pc in _STANDARDS["priority_classes"]]
        if value not in names:
            raise _problem(
                "'{value}' is not a priority class (use one of {names})", value=value, names=", ".join(names)
            )
        return value

    @field_validator("data_classification")
    @classmethod
    def _classification_fits_tier(cls, value: Classification, info: ValidationInfo) -> Classification:
        tier = info.data.get("tier")
        tiers = allowed_tiers(value)
        if tier is not None and tier not in tiers:
            raise _problem(
                "{classification} data may not live in tier '{tier}' (use tier {tiers})",
                tier=tier,
                classification=value,
                tiers=" or ".join(f"'{t}'" for t in tiers),
            )
        return value

    @property
    def max_pool_gpus(self) -> int:
        """GPUs the tenant's dedicated pools can hold at most (what its GPU quota must cover)."""
        return sum(pool.max_gpus for pool in self.gpu_pools)

    @property
    def own_subnets(self) -> bool:
        """Its GPU pools run in subnets with a route table of their own (confidential and restricted data)."""
        return (
            self.tier == "dedicated-pool"
            and bool(self.gpu_pools)
            and self.data_classification in OWN_SUBNET_CLASSIFICATIONS
        )


def _derived_names(tenant: str) -> dict[str, tuple[str, int]]:
    """The longest name of each kind derived from a tenant name, with AWS's limit for it."""
    limits = _STANDARDS["name_limits"]
    env = "staging"  # the longest environment name
    account, region = naming.ACCOUNT_ID_PLACEHOLDER, naming.REGION_PLACEHOLDER
    longest_purpose = max(_STANDARDS["kms"]["purposes"], key=len)
    return {
        "S3 bucket": (naming.bucket_name(env, tenant, "models", account, region), limits["s3_bucket"]),
        "IAM role": (naming.role_name(env, tenant, "workload"), limits["iam_role"]),
        "EKS node group": (naming.node_group_name(env, tenant, "x" * POOL_NAME_MAX), limits["eks_node_group"]),
        "KMS alias": (naming.kms_alias(env, tenant, longest_purpose), limits["kms_alias"]),
    }


POOL_NAME_MAX = 12


def _derived_names_too_long(tenant: str) -> list[str]:
    return [
        f"{kind} name {name!r} has {len(name)} characters, over {limit}"
        for kind, (name, limit) in _derived_names(tenant).items()
        if len(name) > limit
    ]


def _tier_c_log_bucket_too_long(environment: str, region: str, tenant: str) -> str | None:
    """A tier C stack names its access-log bucket for its tenant, a name longer than its model bucket's."""
    limit = _STANDARDS["name_limits"]["s3_bucket"]
    name = naming.bucket_name(environment, tenant, naming.ACCESS_LOGS, naming.ACCOUNT_ID_PLACEHOLDER, region)
    if len(name) <= limit:
        return None
    return (
        f"access-log bucket name {name!r} has {len(name)} characters, over {limit} (use at most "
        f"{limit - len(name) + len(tenant)} characters)"
    )


def max_tenant_name_length() -> int:
    """The longest tenant name whose derived names all fit (documented in Pulumi.yaml)."""
    length = 1
    while not _derived_names_too_long("a" * (length + 1)):
        length += 1
    return length


def _tenant_name(value: str) -> str:
    """A tenant's name: a DNS label, not the platform's, short enough for every name derived from it."""
    if not _DNS_LABEL.match(value):
        raise _problem("'{value}' is not a DNS label (use lowercase letters, digits and '-')", value=value)
    if value in _STANDARDS["kubernetes"]["system_namespaces"] or value == _STANDARDS["tags"]["platform_owner"]:
        raise _problem("'{value}' is reserved for the platform (choose another name)", value=value)
    too_long = _derived_names_too_long(value)
    if too_long:
        raise _problem(
            "'{value}' is too long: {names} (use at most {limit} characters)",
            value=value,
            names="; ".join(too_long),
            limit=max_tenant_name_length(),
        )
    return value


# A tier C tenant named by another stack's config (the tenant's own Tenant entry validates ``name`` the same way).
TenantName = Annotated[str, AfterValidator(_tenant_name)]


# --- account baseline (deployment account-baseline; infra/deployments/account_baseline.py) ---

_ACCOUNT_ID = re.compile(r"^\d{12}$")
# Who may be trusted to assume the human roles: an account (its root: IAM principals there whose own
# policies allow it), or one IAM role or user. Never a wildcard.
_TRUSTED_PRINCIPAL = re.compile(r"^arn:aws[-a-z]*:iam::\d{12}:(root|role/[\w+=,.@/-]+|user/[\w+=,.@/-]+)$")
_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9._-]+$")
# A git branch name or glob ('release/*'); a pattern must name something before its first '*'.
_BRANCH_PATTERN = re.compile(r"^[A-Za-z0-9._-][A-Za-z0-9._/*-]*$")
_BUCKET_PREFIX = re.compile(r"^[a-z0-9][a-z0-9.-]{2,62}$")
_ECR_PREFIX = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_PULL_THROUGH_SECRET = re.compile(r"^arn:aws[-a-z]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:ecr-pullthroughcache/.+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


def _account_id(value: str) -> str:
    if not _ACCOUNT_ID.match(value):
        raise _problem("'{value}' is not an AWS account id (12 digits, quoted in YAML)", value=value)
    return value


# An AWS account id, wherever the config names one.
AccountId = Annotated[str, AfterValidator(_account_id)]

# The upstream registries ECR pull-through cache supports that the platform approves, with their URL
# and whether ECR needs a Secrets Manager credential for them (infra/components/registry_baseline.py).
UPSTREAM_REGISTRIES: dict[str, tuple[str, bool]] = {
    "ecr-public": ("public.ecr.aws", False),
    "k8s": ("registry.k8s.io", False),
    "quay": ("quay.io", False),
    "docker-hub": ("registry-1.docker.io", True),
    "github-container-registry": ("ghcr.io", True),
    "gitlab-container-registry": ("registry.gitlab.com", True),
}
Upstream = Literal["ecr-public", "k8s", "quay", "docker-hub", "github-container-registry", "gitlab-container-registry"]
ObjectLockMode = Literal["GOVERNANCE", "COMPLIANCE"]
# CloudTrail log objects are locked for this long by default; COMPLIANCE in prod cannot be shortened.
_LOCK_DEFAULTS: dict[str, tuple[ObjectLockMode, int]] = {
    "dev": ("GOVERNANCE", 90),
    "staging": ("GOVERNANCE", 180),
    "prod": ("COMPLIANCE", 365),
}
_MFA_AGE_SECONDS = range(300, 43_201)


def _trusted_principal(value: str) -> str:
    if not _TRUSTED_PRINCIPAL.match(value):
        raise _problem(
            "'{value}' is not an account root, IAM role or IAM user ARN (use e.g. "
            "arn:aws:iam::111122223333:root or arn:aws:iam::111122223333:role/Admins; no wildcards)",
            value=value,
        )
    return value


class GithubTrust(_Model):
    """Which GitHub Actions workflows may assume a CI role: one repository, some branches."""

    repository: str
    branches: tuple[str, ...] = ("main",)

    @field_validator("repository")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not _GITHUB_REPOSITORY.match(value):
            raise _problem("'{value}' is not a GitHub repository (use '<owner>/<name>', no wildcards)", value=value)
        return value

    @field_validator("branches")
    @classmethod
    def _branches(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise _problem("no branches (name at least one, e.g. 'main')")
        for branch in value:
            if not _BRANCH_PATTERN.match(branch) or "**" in branch:
                raise _problem(
                    "'{branch}' is not a branch name or pattern (use e.g. 'main' or 'release/*'; a pattern "
                    "may not start with '*': it would admit every branch anyone can push)",
                    branch=branch,
                )
        return value


class PullThroughCache(_Model):
    """One ECR pull-through cache rule for an approved upstream registry."""

    upstream: Upstream
    prefix: str | None = None
    credential_arn: str | None = None

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is not None and (not 2 <= len(value) <= 30 or not _ECR_PREFIX.match(value)):
            raise _problem(
                "'{value}' is not an ECR repository prefix (2 to 30 lowercase letters, digits, '.', '_', '-')",
                value=value,
            )
        if value in _STANDARDS["environments"]:
            raise _problem("'{value}' is the namespace of tenant repositories (choose another prefix)", value=value)
        return value

    @model_validator(mode="after")
    def _credential(self) -> PullThroughCache:
        needs = UPSTREAM_REGISTRIES[self.upstream][1]
        if needs and self.credential_arn is None:
            raise _problem(
                "upstream '{upstream}' needs credentialArn (a Secrets Manager secret named ecr-pullthroughcache/…)",
                upstream=self.upstream,
            )
        if not needs and self.credential_arn is not None:
            raise _problem("upstream '{upstream}' takes no credentialArn (remove it)", upstream=self.upstream)
        if self.credential_arn is not None and not _PULL_THROUGH_SECRET.match(self.credential_arn):
            raise _problem(
                "credentialArn '{value}' is not a Secrets Manager secret ARN whose name starts with "
                "ecr-pullthroughcache/ (ECR reads only such secrets)",
                value=self.credential_arn,
            )
        return self

    @property
    def repository_prefix(self) -> str:
        return self.prefix or self.upstream

    @property
    def upstream_url(self) -> str:
        return UPSTREAM_REGISTRIES[self.upstream][0]


# The bootstrap stack's keys, as a tenant account's deploy runner access and a cluster's stateBackend name them.
_KMS_KEY_ARN = re.compile(r"^arn:aws[-a-z]*:kms:([a-z0-9-]+):(\d{12}):key/[0-9a-f-]+$")


def _bootstrap_key_arn(value: str, info: ValidationInfo) -> str:
    """A bootstrap key's ARN (``stateKeyArn`` or ``secretsKeyArn``): IAM policies scope by key ARN, never by alias."""
    if not _KMS_KEY_ARN.match(value):
        output = "stateKeyArn" if info.field_name == "state_key_arn" else "secretsKeyArn"
        raise _problem(
            "'{value}' is not a KMS key ARN (use arn:aws:kms:<region>:<account>:key/<id>, the bootstrap stack's "
            "{output} output; an alias cannot scope an IAM policy)",
            value=value,
            output=output,
        )
    return value


# The field of the bootstrap stack's stateKeyArn or secretsKeyArn output (the field's name says which).
BootstrapKeyArn = Annotated[str, AfterValidator(_bootstrap_key_arn)]


class DeployRunnerAccess(_Model):
    """The tier C cluster stack whose in-VPC deploy runner runs in this account, and the platform's bootstrap keys it
    uses: its state lives in the platform account's bootstrap bucket (the platform prod bootstrap stack's
    ``stateKeyArn`` and ``secretsKeyArn`` outputs, as that stack's ``stateBackend`` names them)."""

    tenant: TenantName
    state_key_arn: BootstrapKeyArn
    secrets_key_arn: BootstrapKeyArn


class TenantDeployment(_Model):
    """A tier C tenant's account: the role that the platform account's deployer assumes there (platform_roles).

    ``deploy_runner``: when a tier C cluster stack (``tenant-<tenant>-<env>``) deploys to this account, its in-VPC
    deploy runner (``aip-<env>-<tenant>-deploy-runner``) runs here and assumes the same role with the same external
    id, and the account's tenant boundary lets it use exactly the two bootstrap keys. Default none: only the
    deployer (an account with dedicated hosts only has no runner).
    """

    deployer_role_arn: str
    external_id: str
    deploy_runner: DeployRunnerAccess | None = None

    @field_validator("deployer_role_arn")
    @classmethod
    def _deployer(cls, value: str) -> str:
        return _role_arn(value)

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, value: str) -> str:
        return _sts_external_id(value, "the tier C stack's tenantAccount.externalId")


class BaselineConfig(_Model):
    """What the account baseline needs to know; every default is the secure one."""

    account_id: AccountId
    deployer: GithubTrust
    ci: GithubTrust | None = None
    human_principals: tuple[str, ...] = ()
    break_glass_principals: tuple[str, ...] = ()
    mfa_max_age_seconds: int = 3600
    pull_through_caches: tuple[PullThroughCache, ...] = (PullThroughCache(upstream="ecr-public"),)
    data_event_bucket_prefixes: tuple[str, ...] | None = None
    object_lock_mode: ObjectLockMode | None = None
    object_lock_days: int | None = None
    alert_emails: tuple[str, ...] = ()
    tenant_deployment: TenantDeployment | None = None
    existing_service_linked_roles: tuple[str, ...] = ()

    @field_validator("existing_service_linked_roles")
    @classmethod
    def _existing_service_linked_roles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = sorted(service_linked_roles.NAMED_BY_POLICIES)
        for service in value:
            if service not in known:
                raise _problem(
                    "'{service}' is not a service whose service-linked role the baseline creates (use {known})",
                    service=service,
                    known=", ".join(known),
                )
        return value

    @field_validator("human_principals", "break_glass_principals")
    @classmethod
    def _principals(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for principal in value:
            _trusted_principal(principal)
        return value

    @field_validator("mfa_max_age_seconds")
    @classmethod
    def _mfa_age(cls, value: int) -> int:
        if value not in _MFA_AGE_SECONDS:
            raise _problem("{value} is not between 300 and 43200 seconds", value=value)
        return value

    @field_validator("data_event_bucket_prefixes")
    @classmethod
    def _bucket_prefixes(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return value
        if not value:
            raise _problem(
                "empty (omit the key for the environment's bucket prefix; model and dataset buckets need data events)"
            )
        for prefix in value:
            if not _BUCKET_PREFIX.match(prefix):
                raise _problem(
                    "'{prefix}' is not a bucket name prefix (at least 3 lowercase letters, digits, '.', '-')",
                    prefix=prefix,
                )
        return value

    @field_validator("object_lock_days")
    @classmethod
    def _lock_days(cls, value: int | None) -> int | None:
        if value is not None and not 1 <= value <= 3650:
            raise _problem("{value} is not between 1 and 3650 days", value=value)
        return value

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for email in value:
            if not _EMAIL.match(email):
                raise _problem("'{email}' is not an email address", email=email)
        return value

    @model_validator(mode="after")
    def _tenant_deployment_from_another_account(self) -> BaselineConfig:
        deployment = self.tenant_deployment
        if deployment is None:
            return self
        platform_account = _arn_account(deployment.deployer_role_arn)
        if platform_account == self.account_id:
            raise _problem(
                "tenantDeployment.deployerRoleArn: '{arn}' is in this account (name the platform account's deployer, "
                "the roles.deployer output of its baseline stack, e.g. baseline-prod)",
                arn=deployment.deployer_role_arn,
            )
        runner = deployment.deploy_runner
        keys = (("stateKeyArn", runner.state_key_arn), ("secretsKeyArn", runner.secrets_key_arn)) if runner else ()
        for key, arn in keys:
            if _arn_account(arn) != platform_account:
                raise _problem(
                    "tenantDeployment.deployRunner.{key}: '{arn}' is not in the platform account {account} of "
                    "deployerRoleArn (the tier C stacks' state lives in that account's bootstrap bucket: use its "
                    "bootstrap stack's {key} output)",
                    key=key,
                    arn=arn,
                    account=platform_account,
                )
        return self

    @model_validator(mode="after")
    def _unique_cache_prefixes(self) -> BaselineConfig:
        _reject_repeated(
            [cache.repository_prefix for cache in self.pull_through_caches],
            "pullThroughCaches: prefix {repeated} is used twice (prefixes are unique per account and region)",
        )
        return self

    @property
    def ci_trust(self) -> GithubTrust:
        """The CI push role's workflows: the deployer's unless set."""
        return self.ci or self.deployer

    def account_root(self) -> str:
        return f"arn:aws:iam::{self.account_id}:root"

    def trusted_humans(self) -> tuple[str, ...]:
        """Who may assume platform-admin: the listed principals, or this account's IAM principals."""
        return self.human_principals or (self.account_root(),)

    def trusted_break_glass(self) -> tuple[str, ...]:
        return self.break_glass_principals or self.trusted_humans()

    def data_event_prefixes(self, environment: str) -> tuple[str, ...]:
        """Bucket name prefixes whose object events the trail records: the environment's buckets by default."""
        return self.data_event_bucket_prefixes or (naming.bucket_prefix(environment),)

    def lock_mode(self, environment: str) -> ObjectLockMode:
        return self.object_lock_mode or _LOCK_DEFAULTS[environment][0]

    def lock_days(self, environment: str) -> int:
        return self.object_lock_days or _LOCK_DEFAULTS[environment][1]


# --- bootstrap (deployment bootstrap; infra/deployments/bootstrap.py) ---


class TenantStateAccount(_Model):
    """A tier C tenant whose cluster stack keeps its state in this bucket, and the account its deploy runner runs in."""

    tenant: TenantName
    account_id: AccountId


class BootstrapConfig(_Model):
    """The account whose Pulumi state bucket and secrets key the bootstrap stack creates.

    ``tenant_accounts``: the tier C tenants whose cluster stack (``tenant-<tenant>-<env>``) keeps its state here
    while its in-VPC deploy runner runs in the tenant's own account; the bucket and key policies admit exactly
    those runners (infra.components.state_backend). Default none: the account's own principals only.
    """

    account_id: AccountId
    # The state holds every stack's resource properties (tier C tenants' too, in the platform's prod account):
    # its resources carry the highest classification unless the account never holds such data.
    data_classification: Classification = "regulated"
    tenant_accounts: tuple[TenantStateAccount, ...] = ()

    @model_validator(mode="after")
    def _tenant_accounts(self) -> BootstrapConfig:
        _reject_repeated(
            [entry.tenant for entry in self.tenant_accounts],
            "tenantAccounts: tenant {repeated} is listed twice (one entry per tier C tenant)",
        )
        for index, entry in enumerate(self.tenant_accounts):
            if entry.account_id == self.account_id:
                raise _problem(
                    "tenantAccounts[{index}].accountId: '{account}' is this bootstrap's own account (its principals "
                    "are admitted already; list only tier C tenants' own accounts)",
                    index=index,
                    account=entry.account_id,
                )
        return self


# --- tier C (deployments single-tenant-cluster and dedicated-hosts) ---

# The deployments that build one tenant's whole platform alone (tier single-tenant, pattern C).
TIER_C_DEPLOYMENTS = ("single-tenant-cluster", "dedicated-hosts")
# The stack each tier C deployment is for, by DESIGN.md's naming (``<prefix>-<tenant>-<env>``).
TIER_C_STACK_PREFIXES = {"single-tenant-cluster": "tenant", "dedicated-hosts": "hosts"}
# Deployments that build a VPC: each reference stack's block (stacks/Pulumi.<stack>.yaml) is the
# one record of that stack's CIDR, and tier C stacks must not overlap any of them.
VPC_DEPLOYMENTS = ("shared-cluster", *TIER_C_DEPLOYMENTS)
_PROJECT_ROOT = Path(__file__).resolve().parents[1]
_IAM_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
# sts:AssumeRole's ExternalId: 2 to 1224 characters of this set.
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")


def _sts_external_id(value: str, where_from: str) -> str:
    """An sts:AssumeRole external id; ``where_from`` tells the user where to find the right one (no braces)."""
    if not _EXTERNAL_ID.match(value):
        raise _problem(f"is not an external id (2 to 1224 letters, digits and +=,.@:/_-; {where_from})")
    return value


# A Systems Manager parameter name (fully qualified): what a tenant publishes its image id under.
_SSM_PARAMETER = re.compile(r"^(/[\w.-]+)+$")
# A SHA-384 measurement as KMS compares it: 96 hexadecimal digits (lowercase, as nitro-cli prints them).
_SHA384 = re.compile(r"^[0-9a-f]{96}$")
# PCRs an attestation condition may pin besides PCR0 (ImageSha384): kernel and boot (1), application
# (2), the parent's IAM role (3) and the image's signing certificate (8). PCR4 is the parent
# instance's id, unknown before launch.
ATTESTATION_PCRS = (1, 2, 3, 8)
ATTESTATION_KEY_PREFIX = "kms:RecipientAttestation:"
# Tier C config keys: the deployments that read each, and why the others reject it.
TIER_C_KEYS: dict[str, tuple[tuple[str, ...], str]] = {
    "tenantAccount": (TIER_C_DEPLOYMENTS, "only the single-tenant-cluster and dedicated-hosts deployments read it"),
    "hosts": (("dedicated-hosts",), "only the dedicated-hosts deployment reads it"),
    "confidential": (
        ("dedicated-hosts",),
        "only the dedicated-hosts deployment reads it (Nitro Enclaves run on its hosts' instances)",
    ),
}


class TenantAccount(_Model):
    """The tenant's own AWS account: the stack deploys there through a provider that assumes a role."""

    account_id: AccountId
    role_name: str
    external_id: str

    @field_validator("role_name")
    @classmethod
    def _role_name(cls, value: str) -> str:
        if not _IAM_ROLE_NAME.match(value):
            raise _problem(
                "'{value}' is not an IAM role name (1 to 64 letters, digits and +=,.@_-; no path, no ARN)",
                value=value,
            )
        return value

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, value: str) -> str:
        return _sts_external_id(value, "the one the role's trust policy requires in sts:ExternalId")

    def role_arn(self, partition: str) -> str:
        return f"arn:{partition}:iam::{self.account_id}:role/{self.role_name}"


class EnclaveAttestation(_Model):
    """Measurements of the enclave image that alone may decrypt with the tenant's data key."""

    image_sha384: str
    pcrs: dict[int, str] = Field(default_factory=dict)

    @field_validator("image_sha384")
    @classmethod
    def _image(cls, value: str) -> str:
        if not _SHA384.match(value):
            raise _problem(
                "is not a SHA-384 measurement (96 lowercase hexadecimal digits: PCR0 as `nitro-cli "
                "build-enclave` prints it)"
            )
        return value

    @field_validator("pcrs")
    @classmethod
    def _pcrs(cls, value: dict[int, str]) -> dict[int, str]:
        for index, measurement in value.items():
            if index not in ATTESTATION_PCRS:
                raise _problem(
                    "PCR{index} cannot be pinned (use {allowed}; PCR0 is imageSha384, PCR4 is the instance's id)",
                    index=index,
                    allowed=", ".join(f"PCR{n}" for n in ATTESTATION_PCRS),
                )
            if not _SHA384.match(measurement):
                raise _problem("PCR{index} is not a SHA-384 measurement (96 lowercase hexadecimal digits)", index=index)
        return value

    def conditions(self) -> dict[str, str]:
        """The key policy condition: the attestation document's measurements (``StringEqualsIgnoreCase``)."""
        conditions = {f"{ATTESTATION_KEY_PREFIX}ImageSha384": self.image_sha384}
        for index in sorted(self.pcrs):
            conditions[f"{ATTESTATION_KEY_PREFIX}PCR{index}"] = self.pcrs[index]
        return conditions


def dedicated_host_families() -> tuple[str, ...]:
    """GPU families whose Dedicated Hosts the GPU instance table records."""
    return tuple(sorted({row.family for row in gpu_instances().values() if row.dedicated_hosts}))


def enclave_types() -> tuple[str, ...]:
    """GPU instance types that can be Nitro Enclaves parents (the GPU instance table)."""
    return tuple(name for name, row in gpu_instances().items() if row.nitro_enclaves)


class HostImage(_Model):
    """Where the hosts' AMI comes from, resolved when the program runs (a preview too: invokes answer then).

    Exactly one source: ``ssmParameter``, the parameter the tenant's image pipeline publishes the AMI id
    under (in the account the hosts run in), or ``owner`` and ``namePattern``, the most recent available
    image of that architecture whose name matches, owned by exactly that account (never "any owner": a
    public AMI of the same name from another account must not match).
    """

    ssm_parameter: str | None = None
    owner: str | None = None
    name_pattern: str | None = None

    @field_validator("ssm_parameter")
    @classmethod
    def _parameter(cls, value: str | None) -> str | None:
        if value is not None and not _SSM_PARAMETER.match(value):
            raise _problem(
                "'{value}' is not a Systems Manager parameter name (use its full path, e.g. "
                "/aip/prod/<tenant>/gpu-host/ami)",
                value=value,
            )
        return value

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT_ID.match(value):
            raise _problem(
                "'{value}' is not an AWS account id (pin the 12-digit account that builds the image)", value=value
            )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> HostImage:
        lookup = (self.owner, self.name_pattern)
        if self.ssm_parameter is not None and any(v is not None for v in lookup):
            raise _problem("set either ssmParameter or owner and namePattern, not both")
        if self.ssm_parameter is None and None in lookup:
            raise _problem(
                "set ssmParameter (the parameter your image pipeline publishes the AMI id under), or both owner "
                "and namePattern (e.g. owner: '444455556666', namePattern: 'genomics-gpu-host-*')"
            )
        return self


class HostsConfig(_Model):
    """The tenant's EC2 Dedicated Hosts and the one GPU instance each runs (deployment dedicated-hosts)."""

    instance_type: str
    count: int = 1
    image: HostImage
    volume_size_gib: int = 200
    enclave_attestation: EnclaveAttestation | None = None

    @field_validator("instance_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in gpu_instances():
            raise _problem(
                "'{value}' is not in the GPU instance table (use a type of family {families}, whose Dedicated "
                "Hosts the table records; "
                "policy_packs/ai-guardrails/standards/aiplatform_standards/data/gpu_instances.yaml)",
                value=value,
                families=" or ".join(dedicated_host_families()),
            )
        return value

    @field_validator("count")
    @classmethod
    def _count(cls, value: int) -> int:
        return _at_least(value, 1, "hosts")

    @field_validator("volume_size_gib")
    @classmethod
    def _volume(cls, value: int) -> int:
        return _disk_gib(value)

    @property
    def row(self) -> GpuInstanceType:
        return gpu_instances()[self.instance_type]


# --- the deploy runner's state backend (cluster deployments; infra/components/deploy_runner.py) ---

# The deployments whose Kubernetes objects the in-VPC deploy runner applies (docs/deploy.md).
RUNNER_DEPLOYMENTS = ("shared-cluster", "single-tenant-cluster")
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class StateBackend(_Model):
    """Where the stack's Pulumi state and secrets live: the bootstrap stack's outputs (infra/deployments/bootstrap.py).

    The in-VPC deploy runner reads and writes the state in this bucket (SSE-KMS with the state key) and
    decrypts the stack's data key with the secrets key, through the VPC's S3 gateway and KMS interface
    endpoints, which serve their own region only.
    """

    bucket: str
    state_key_arn: BootstrapKeyArn
    secrets_key_arn: BootstrapKeyArn

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET_NAME.match(value) or ".." in value:
            raise _problem(
                "'{value}' is not an S3 bucket name (3 to 63 lowercase letters, digits, '.' and '-'; the bootstrap "
                "stack's stateBucketName output)",
                value=value,
            )
        return value

    def key_regions(self) -> dict[str, str]:
        """Each key's region, by its config key name."""
        regions = {}
        for key, arn in (("stateKeyArn", self.state_key_arn), ("secretsKeyArn", self.secrets_key_arn)):
            match = _KMS_KEY_ARN.match(arn)
            if match is not None:  # validated above
                regions[key] = match.group(1)
        return regions


@cache
def reference_stack_cidrs() -> dict[str, str]:
    """Every reference stack that builds a VPC, with its block, read from the stack files themselves.

    The stack files are the one record of each stack's CIDR (no second list to keep in step);
    ``network.cidr`` absent means the default block.
    """
    project = _PROJECT_ROOT / "Pulumi.yaml"
    if not project.is_file():
        return {}
    directory = _PROJECT_ROOT / str(yaml.safe_load(project.read_text(encoding="utf-8")).get("stackConfigDir", "."))
    cidrs: dict[str, str] = {}
    for path in sorted(directory.glob("Pulumi.*.yaml")):
        config = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
        if config.get(f"{PROJECT}:deployment") not in VPC_DEPLOYMENTS:
            continue
        network = config.get(f"{PROJECT}:network") or {}
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        cidrs[stack] = str(network.get("cidr", NetworkConfig().cidr))
    return cidrs


class Settings(_Model):
    """One stack's whole config."""

    environment: Environment
    deployment: DeploymentKind
    region: str
    cost_center: str = Field(min_length=1)
    contact: str = Field(min_length=3)
    roles: PlatformRoles | None = None
    network: NetworkConfig = NetworkConfig()
    cluster: ClusterConfig = ClusterConfig()
    tenants: tuple[Tenant, ...] = ()
    baseline: BaselineConfig | None = None
    bootstrap: BootstrapConfig | None = None
    gpu: GpuConfig = GpuConfig()
    tenant_account: TenantAccount | None = None
    hosts: HostsConfig | None = None
    confidential: bool = False
    state_backend: StateBackend | None = None

    @field_validator("region")
    @classmethod
    def _allowed_region(cls, value: str) -> str:
        allowed = _STANDARDS["allowed_regions"]
        if value not in allowed:
            raise _problem(
                "'{value}' is not an approved region (use one of {allowed})",
                value=value,
                allowed=", ".join(allowed),
            )
        return value

    @model_validator(mode="before")
    @classmethod
    def _empty_object_is_unset(cls, data: Any) -> Any:
        """An optional object key set to ``{}`` is not set.

        The Pulumi CLI requires every key Pulumi.yaml declares without a default on every stack, so
        Pulumi.yaml gives each optional object key the default ``{}`` and the program receives it on
        every stack that does not set the key (pulumi/pulumi pkg/workspace/config.go, mergeConfig,
        v3.274.1).
        """
        if not isinstance(data, dict):
            return data
        optional = {field.alias or name for name, field in cls.model_fields.items() if field.default is None}
        return {key: value for key, value in data.items() if not (key in optional and value == {})}

    @model_validator(mode="after")
    def _stack_rules(self, info: ValidationInfo) -> Settings:
        problems: list[str] = []
        seen: set[str] = set()
        for index, tenant in enumerate(self.tenants):
            if tenant.name in seen:
                problems.append(f"tenants[{index}].name: '{tenant.name}' is used twice (tenant names are unique)")
            seen.add(tenant.name)
            if self.deployment == "shared-cluster" and tenant.tier == "single-tenant":
                problems.append(
                    f"tenants[{index}].tier: 'single-tenant' tenants get a stack of their own (deployment "
                    f"single-tenant-cluster, stack tenant-{tenant.name}-{self.environment}), not the shared cluster"
                )
        if self.deployment not in ("account-baseline", "bootstrap") and self.roles is None:
            problems.append("roles: required (set the baseline stack's role and boundary ARNs; see README)")
        problems.extend(self._bootstrap_problems())
        if self.deployment == "account-baseline" and self.baseline is None:
            problems.append("baseline: required (set at least accountId and deployer.repository; see Pulumi.yaml)")
        if self.deployment != "account-baseline" and self.baseline is not None:
            problems.append("baseline: only the account-baseline deployment reads it (remove it from this stack)")
        problems.extend(self._role_account_problems())
        problems.extend(self._address_capacity_problems())
        problems.extend(self._gpu_pool_problems())
        problems.extend(self._tier_c_problems((info.context or {}).get("stack")))
        problems.extend(self._state_backend_problems())
        if problems:
            raise _problem("\n".join(problems))
        return self

    def _bootstrap_problems(self) -> list[str]:
        """The bootstrap deployment runs first in an account: before any baseline role or tenant exists."""
        if self.deployment != "bootstrap":
            if self.bootstrap is not None:
                return ["bootstrap: only the bootstrap deployment reads it (remove it from this stack)"]
            return []
        problems = []
        if self.bootstrap is None:
            problems.append("bootstrap: required (set accountId, quoted; see Pulumi.yaml)")
        if self.roles is not None:
            problems.append(
                "roles: the bootstrap deployment runs before the account baseline and names no role (remove it from "
                "this stack)"
            )
        if self.tenants:
            problems.append(
                "tenants: the bootstrap deployment hosts no tenant (remove them; set bootstrap.dataClassification for "
                "the state's classification)"
            )
        return problems

    def _state_backend_problems(self) -> list[str]:
        """The cluster deployments' deploy runner needs the state backend; no other deployment reads it."""
        backend = self.state_backend
        if self.deployment not in RUNNER_DEPLOYMENTS:
            if backend is None:
                return []
            return [
                f"stateBackend: only the {' and '.join(RUNNER_DEPLOYMENTS)} deployments read it (their in-VPC deploy "
                "runner logs in to it; remove it from this stack)"
            ]
        if backend is None:
            return [
                "stateBackend: required (set bucket, stateKeyArn and secretsKeyArn to the bootstrap stack's "
                "stateBucketName, stateKeyArn and secretsKeyArn outputs: pulumi stack output --json -s "
                "bootstrap-<env>; docs/deploy.md)"
            ]
        return [
            f"stateBackend.{key}: the key is in {region}, not the stack's region {self.region} (the deploy runner "
            "reaches S3 and KMS through this VPC's endpoints, which serve their own region only; use the outputs of "
            "this region's bootstrap stack)"
            for key, region in backend.key_regions().items()
            if region != self.region
        ]

    def _tier_c_problems(self, stack: str | None) -> list[str]:
        """Tier C (issue 7): one single-tenant tenant per stack, its hosts, enclaves, account and own VPC block."""
        deployment = self.deployment
        present = {"tenantAccount": self.tenant_account is not None, "hosts": self.hosts is not None}
        present["confidential"] = self.confidential
        problems = [
            f"{key}: {why} (remove it from this stack)"
            for key, (readers, why) in TIER_C_KEYS.items()
            if present[key] and deployment not in readers
        ]
        if deployment not in TIER_C_DEPLOYMENTS:
            return problems
        if len(self.tenants) != 1:
            problems.append(
                f"tenants: deployment {deployment} builds exactly one tenant's platform, found {len(self.tenants)} "
                f"(one stack per tenant: {TIER_C_STACK_PREFIXES[deployment]}-<tenant>-{self.environment})"
            )
        for index, tenant in enumerate(self.tenants):
            if tenant.tier != "single-tenant":
                problems.append(
                    f"tenants[{index}].tier: '{tenant.tier}' is not built by deployment {deployment}, which builds "
                    f"tier 'single-tenant' (tiers 'shared' and 'dedicated-pool' live in the shared cluster, stack "
                    f"platform-{self.environment})"
                )
            too_long = _tier_c_log_bucket_too_long(self.environment, self.region, tenant.name)
            if too_long:
                problems.append(
                    f"tenants[{index}].name: '{tenant.name}' is too long for deployment {deployment}: {too_long}"
                )
            if deployment == "dedicated-hosts" and tenant.gpu_pools:
                problems.append(
                    f"tenants[{index}].gpuPools: deployment dedicated-hosts runs no cluster (its GPU capacity is "
                    "hosts.count hosts of hosts.instanceType; remove gpuPools)"
                )
            elif tenant.gpu_pools:
                # Rejected rather than ignored: GpuNodePool (infra/components/gpu_pool.py) builds pools of tier
                # dedicated-pool tenants only.
                problems.append(
                    f"tenants[{index}].gpuPools: deployment single-tenant-cluster builds no GPU pools yet (GpuNodePool "
                    "binds tier dedicated-pool tenants only; run the GPU capacity on dedicated hosts, deployment "
                    "dedicated-hosts)"
                )
        if deployment == "dedicated-hosts":
            problems.extend(self._hosts_problems())
        if self.tenant_account is not None and self.roles is not None:
            roles_account = _arn_account(self.roles.deployer)
            if self.tenant_account.account_id != roles_account:
                problems.append(
                    f"tenantAccount.accountId: '{self.tenant_account.account_id}' is not the account of roles "
                    f"('{roles_account}'): a stack in the tenant's account takes the roles of that account's own "
                    "baseline stack (pulumi stack output roles --json -s <its baseline stack>)"
                )
        mine = ipaddress.IPv4Network(self.network.cidr)
        for other, cidr in reference_stack_cidrs().items():
            if other != stack and mine.overlaps(ipaddress.IPv4Network(cidr)):
                problems.append(
                    f"network.cidr: '{self.network.cidr}' overlaps '{cidr}' of stack {other} (every stack's VPC gets "
                    "a block of its own, so that their networks can be routed to one another; choose a block that no "
                    "file in stacks/ uses)"
                )
        return problems

    def _hosts_problems(self) -> list[str]:
        """The dedicated hosts' family (Dedicated Hosts, tier, region) and the confidential option's enclaves."""
        hosts = self.hosts
        if hosts is None:
            return ["hosts: required (set instanceType, count and image; see Pulumi.yaml)"]
        row, problems = hosts.row, []
        if not row.dedicated_hosts:
            problems.append(
                f"hosts.instanceType: '{row.name}' is family {row.family}, which EC2 Dedicated Hosts do not support "
                f"(use a type of family {' or '.join(dedicated_host_families())}; the GPU instance table records "
                "dedicated_hosts per type)"
            )
        allowed = self.gpu.allowed_families["single-tenant"]
        if row.family not in allowed:
            problems.append(
                f"hosts.instanceType: '{row.name}' is family {row.family}, not allowed in tier 'single-tenant' (use "
                f"{', '.join(allowed) or 'no GPU family'}, or add {row.family} to gpu.allowedFamilies.single-tenant)"
            )
        elif self.region not in row.hourly_usd:
            problems.append(
                f"hosts.instanceType: '{row.name}' is not offered in {self.region} (the GPU table has no price there)"
            )
        if self.confidential and not row.nitro_enclaves:
            both = sorted({gpu_instances()[name].family for name in enclave_types()} & set(dedicated_host_families()))
            problems.append(
                f"confidential: '{row.name}' cannot be a Nitro Enclaves parent instance (use a type of family "
                f"{' or '.join(both)}, which the GPU instance table records with Dedicated Hosts and Nitro Enclaves, "
                "or set confidential false)"
            )
        if self.confidential and hosts.enclave_attestation is None:
            problems.append(
                "hosts.enclaveAttestation: required with confidential true (the data key admits decrypt only to the "
                "measured enclave image; set imageSha384, the PCR0 that nitro-cli build-enclave prints)"
            )
        if not self.confidential and hosts.enclave_attestation is not None:
            problems.append(
                "hosts.enclaveAttestation: set but confidential is false (the measurements bind the data key to an "
                "enclave; set confidential true or remove them)"
            )
        return problems

    def _role_account_problems(self) -> list[str]:
        if self.roles is None:
            return []
        accounts = {_arn_account(arn) for arn in self.roles.model_dump().values()}
        if len(accounts) > 1:
            return [
                f"roles: the ARNs name accounts {', '.join(sorted(accounts))} (every role and the boundary "
                "come from this account's baseline stack)"
            ]
        return []

    def _address_capacity_problems(self) -> list[str]:
        per_subnet = self.subnets.private_addresses - _SYSTEM_ADDRESSES_PER_SUBNET
        available = self.az_count * per_subnet
        pods = sum(tenant.quotas.pods for tenant in self.tenants)
        if pods > available:
            return [
                f"network.cidr: '{self.network.cidr}' leaves {available} pod addresses in its "
                f"{self.az_count} private subnets, fewer than the tenants' {pods} pods (use a larger "
                "block or lower quotas.pods)"
            ]
        return []

    def _gpu_pool_problems(self) -> list[str]:
        """Tier, family, region and quota rules of the tenants' GPU pools (CONTROLS NODE-7, COST-2)."""
        table = gpu_instances()
        problems: list[str] = []
        for index, tenant in enumerate(self.tenants):
            if not tenant.gpu_pools:
                continue
            path = f"tenants[{index}]"
            if tenant.tier == "shared":
                problems.append(
                    f"{path}.gpuPools: tier 'shared' tenants share nodes and have no GPU pools "
                    "(use tier 'dedicated-pool', or remove gpuPools)"
                )
                continue
            allowed = self.gpu.allowed_families[tenant.tier]
            names: set[str] = set()
            for pool_index, pool in enumerate(tenant.gpu_pools):
                pool_path = f"{path}.gpuPools[{pool_index}]"
                if pool.name in names:
                    problems.append(f"{pool_path}.name: '{pool.name}' is used twice (pool names are unique per tenant)")
                names.add(pool.name)
                for instance_type in pool.instance_types:
                    row = table[instance_type]
                    if row.family not in allowed:
                        problems.append(
                            f"{pool_path}.instanceTypes: '{instance_type}' is family {row.family}, not allowed in "
                            f"tier '{tenant.tier}' (use {', '.join(allowed) or 'no GPU family'}, or add "
                            f"{row.family} to gpu.allowedFamilies.{tenant.tier})"
                        )
                    elif self.region not in row.hourly_usd:
                        offered = sorted(
                            {r.family for r in table.values() if self.region in r.hourly_usd} & set(allowed)
                        )
                        problems.append(
                            f"{pool_path}.instanceTypes: '{instance_type}' is not offered in {self.region} (the GPU "
                            f"table has no price there; families offered there: {', '.join(offered)})"
                        )
            too_small = [pool for pool in tenant.gpu_pools if pool.gpus_per_node > tenant.quotas.gpus]
            for pool in too_small:
                problems.append(
                    f"{path}.quotas.gpus: {tenant.quotas.gpus} is too small for one node of pool '{pool.name}' "
                    f"({pool.largest_type} has {pool.gpus_per_node} GPUs; raise quotas.gpus to at least "
                    f"{pool.gpus_per_node} or choose a smaller instance type)"
                )
            if not too_small and tenant.max_pool_gpus > tenant.quotas.gpus:
                terms = ", ".join(f"{pool.name}: {pool.max_size} × {pool.gpus_per_node}" for pool in tenant.gpu_pools)
                problems.append(
                    f"{path}.gpuPools: maxSize × GPUs per node comes to {tenant.max_pool_gpus} GPUs ({terms}), "
                    f"above quotas.gpus {tenant.quotas.gpus} (lower maxSize or raise quotas.gpus to "
                    f"{tenant.max_pool_gpus})"
                )
        return problems + self._own_subnet_problems()

    @property
    def _own_subnet_tenants(self) -> list[str]:
        """The tenants whose GPU pools have subnets of their own, in config order (their slots)."""
        return [tenant.name for tenant in self.tenants if tenant.own_subnets]

    def _own_subnet_problems(self) -> list[str]:
        owners = self._own_subnet_tenants
        if len(owners) > DEDICATED_SUBNET_TENANTS_MAX:
            return [
                f"tenants: {len(owners)} tenants have GPU pools in subnets of their own, more than the "
                f"{DEDICATED_SUBNET_TENANTS_MAX} the subnet plan holds (use a second shared-cluster stack)"
            ]
        problems = []
        for tenant in map(self.tenant, owners):
            cidrs = self.own_subnet_cidrs(tenant.name)
            addresses = len(cidrs) * (ipaddress.IPv4Network(cidrs[0]).num_addresses - _AWS_RESERVED_ADDRESSES)
            nodes = sum(pool.max_size for pool in tenant.gpu_pools)
            if nodes + tenant.quotas.pods > addresses:
                problems.append(
                    f"tenants[{self.tenants.index(tenant)}].gpuPools: its own subnets in '{self.network.cidr}' "
                    f"hold {addresses} addresses, fewer than its {nodes} nodes and {tenant.quotas.pods} pods (use a "
                    "larger network.cidr, or lower maxSize or quotas.pods)"
                )
        return problems

    def own_subnet_cidrs(self, tenant_name: str) -> tuple[str, ...]:
        """The CIDRs of a tenant's own GPU pool subnets, one per AZ (empty when its pools share subnets)."""
        owners = self._own_subnet_tenants
        if tenant_name not in owners:
            return ()
        return dedicated_subnet_cidrs(self.network.cidr, self.az_count, owners.index(tenant_name))

    @property
    def account_id(self) -> str:
        """The stack's AWS account: the bootstrap's configured one, else the baseline roles' (validated to agree)."""
        if self.bootstrap is not None:
            return self.bootstrap.account_id
        return _arn_account(self.required_roles.deployer)

    @property
    def partition(self) -> str:
        # Every approved region is in the aws partition; other stacks take it from their roles' ARNs.
        if self.bootstrap is not None:
            return "aws"
        return self.required_roles.deployer.split(":")[1]

    @property
    def subnets(self) -> SubnetPlan:
        """This stack's subnet plan."""
        return subnet_plan(self.network.cidr, self.az_count, self.network.egress.mode)

    @property
    def log_retention_days(self) -> int:
        """CloudWatch retention of the platform's log groups: a year in prod, 90 days elsewhere."""
        return 365 if self.environment == "prod" else 90

    @property
    def az_count(self) -> int:
        """2 AZs, 3 in prod, unless the stack sets network.azCount."""
        if self.network.az_count is not None:
            return self.network.az_count
        return 3 if self.environment == "prod" else 2

    @property
    def required_roles(self) -> PlatformRoles:
        """The baseline's roles; validation guarantees them outside the baseline stack."""
        if self.roles is None:
            raise ConfigError(["roles: required (set the baseline stack's role and boundary ARNs; see README)"])
        return self.roles

    def tenant(self, name: str) -> Tenant:
        return next(tenant for tenant in self.tenants if tenant.name == name)

    def highest_classification(self) -> Classification:
        """What platform resources carry: the highest classification among the tenants served."""
        order = list(_STANDARDS["classifications"])
        if self.bootstrap is not None:
            return self.bootstrap.data_classification
        if not self.tenants:
            return "internal"
        return max((tenant.data_classification for tenant in self.tenants), key=order.index)


def _arn_account(arn: str) -> str:
    return arn.split(":")[4]


def _key_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(error: Mapping[str, Any]) -> str:
    kind, message = error["type"], error["msg"]
    if kind == "missing":
        return "required (set it in the stack file; see Pulumi.yaml for its meaning)"
    if kind == "extra_forbidden":
        return "unknown key (see Pulumi.yaml for the keys this project reads)"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{error['input']!r} is not allowed (use {expected})"
    if kind == "platform":
        return str(message)
    return f"{message} (got {error['input']!r})"


def parse_settings(raw: Mapping[str, Any], stack: str | None = None) -> Settings:
    """Validate raw config (stack-file keys without the project namespace) or raise ConfigError.

    ``stack`` is the stack's name: rules that compare it with the other reference stacks skip its own file.
    """
    try:
        return Settings.model_validate(dict(raw), context={"stack": stack})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            path = _key_path(tuple(part for part in item["loc"] if part != "__root__"))
            # A stack-level rule reports several problems, each naming its own key path.
            for message in _message(item).split("\n"):
                problems.append(f"{path}: {message}" if path else message)
        raise ConfigError(problems) from None


_SCALAR_KEYS = ("environment", "deployment", "costCenter", "contact")
_KEYS = (
    "environment",
    "deployment",
    "costCenter",
    "contact",
    "roles",
    "network",
    "cluster",
    "tenants",
    "baseline",
    "bootstrap",
    "gpu",
    "tenantAccount",
    "hosts",
    "confidential",
    "stateBackend",
)


def settings_from_stack_file(config: Mapping[str, Any], stack: str | None = None) -> Settings:
    """Validate a stack file's ``config:`` block (namespaced keys) exactly as the program reads it.

    Provider keys (``aws:allowedAccountIds``, ...) belong to the provider, not to the platform's
    model; only this project's keys and ``aws:region`` are read.
    """
    prefix = f"{PROJECT}:"
    raw = {key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix)}
    if "aws:region" in config:
        raw["region"] = config["aws:region"]
    return parse_settings(raw, stack)


def load_settings() -> Settings:
    """Read this project's stack config as the Pulumi engine hands it to the program."""
    config = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    for key in _KEYS:
        # Plain strings are not JSON: only structured keys are read as objects.
        value = config.get(key) if key in _SCALAR_KEYS else config.get_object(key)
        if value is not None:
            raw[key] = value
    region = pulumi.Config("aws").get("region")
    if region is not None:
        raw["region"] = region
    elif "region" not in raw:
        raise ConfigError(["aws:region: required (set the stack's AWS region, e.g. us-east-1)"])
    return parse_settings(raw, pulumi.get_stack())
