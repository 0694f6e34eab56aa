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
from typing import Annotated, Any, Literal

import pulumi
from aiplatform_standards import allowed_tiers, platform
from pydantic import (
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

PROJECT = "secure-ai-platform"
_STANDARDS = platform()

Environment = Literal["dev", "staging", "prod"]
DeploymentKind = Literal["account-baseline", "shared-cluster", "single-tenant-cluster", "dedicated-hosts"]
Tier = Literal["shared", "dedicated-pool", "single-tenant"]
Classification = Literal["public", "internal", "confidential", "restricted", "regulated"]
EgressMode = Literal["none", "firewall"]

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_IAM_ROLE_ARN = re.compile(r"^arn:aws[-a-z]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_IAM_POLICY_ARN = re.compile(r"^arn:aws[-a-z]*:iam::\d{12}:policy/[\w+=,.@/-]+$")
_DOMAIN = re.compile(r"^\.?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$")
# The VPC is carved into subnets of prefix + 4 (infra/components/network.py), so /16 to /20.
_VPC_PREFIXES = range(16, 21)


class ConfigError(Exception):
    """Stack config that the platform rejects; the message lists every problem with its fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid stack config ({len(problems)} problem(s)):\n{lines}")


def _problem(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError("platform", message, context)


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


class ClusterConfig(_Model):
    """The EKS cluster."""

    version: str = "1.34"
    endpoint_public_access: bool = False
    public_access_cidrs: tuple[str, ...] = ()

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
        return self


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
        if value < 0:
            raise _problem("{value} must be 0 or more (GPUs)", value=value)
        return value

    @field_validator("cpu", "memory_gib", "pods")
    @classmethod
    def _positive_quota(cls, value: int) -> int:
        return int(_positive(value, "a quota"))


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

    @field_validator("name")
    @classmethod
    def _dns_label(cls, value: str) -> str:
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


def max_tenant_name_length() -> int:
    """The longest tenant name whose derived names all fit (documented in Pulumi.yaml)."""
    length = 1
    while not _derived_names_too_long("a" * (length + 1)):
        length += 1
    return length


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

    @model_validator(mode="after")
    def _stack_rules(self) -> Settings:
        problems: list[str] = []
        seen: set[str] = set()
        for index, tenant in enumerate(self.tenants):
            if tenant.name in seen:
                problems.append(f"tenants[{index}].name: '{tenant.name}' is used twice (tenant names are unique)")
            seen.add(tenant.name)
        if self.deployment != "account-baseline" and self.roles is None:
            problems.append("roles: required (set the baseline stack's role and boundary ARNs; see README)")
        if problems:
            raise _problem("\n".join(problems))
        return self

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
        if not self.tenants:
            return "internal"
        return max((tenant.data_classification for tenant in self.tenants), key=order.index)


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


def parse_settings(raw: Mapping[str, Any]) -> Settings:
    """Validate raw config (stack-file keys without the project namespace) or raise ConfigError."""
    try:
        return Settings.model_validate(dict(raw))
    except ValidationError as error:
        problems = []
        for item in error.errors():
            path = _key_path(tuple(part for part in item["loc"] if part != "__root__"))
            # A stack-level rule reports several problems, each naming its own key path.
            for message in _message(item).split("\n"):
                problems.append(f"{path}: {message}" if path else message)
        raise ConfigError(problems) from None


_KEYS = ("environment", "deployment", "costCenter", "contact", "roles", "network", "cluster", "tenants")


def load_settings() -> Settings:
    """Read this project's stack config as the Pulumi engine hands it to the program."""
    config = pulumi.Config(PROJECT)
    raw: dict[str, Any] = {}
    for key in _KEYS:
        value = config.get_object(key)
        if value is not None:
            raw[key] = value
    region = pulumi.Config("aws").get("region")
    if region is not None:
        raw["region"] = region
    elif "region" not in raw:
        raise ConfigError(["aws:region: required (set the stack's AWS region, e.g. us-east-1)"])
    return parse_settings(raw)
