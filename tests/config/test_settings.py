"""Stack config validation: every bad input is named by its key path, with its fix, all at once."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiplatform_standards import platform

from infra.config import ConfigError, Settings, max_tenant_name_length, parse_settings, settings_from_stack_file

ROOT = Path(__file__).resolve().parents[2]

ROLES = {
    "platformAdmin": "arn:aws:iam::111122223333:role/aip-dev-platform-platform-admin",
    "breakGlass": "arn:aws:iam::111122223333:role/aip-dev-platform-break-glass",
    "deployer": "arn:aws:iam::111122223333:role/aip-dev-platform-deployer",
    "ci": "arn:aws:iam::111122223333:role/aip-dev-platform-ci",
    "tenantBoundary": "arn:aws:iam::111122223333:policy/aip-dev-tenant-boundary",
}


# The bootstrap stack's outputs, which the cluster deployments' deploy runner needs (stateBackend).
STATE_BACKEND = {
    "bucket": "aip-dev-platform-state-111122223333-us-east-1",
    "stateKeyArn": "arn:aws:kms:us-east-1:111122223333:key/0a0a0a0a-0000-4000-8000-000000000001",
    "secretsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/0a0a0a0a-0000-4000-8000-000000000002",
}


def tenant(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "search",
        "tier": "shared",
        "dataClassification": "internal",
        "owner": "search-team@example.com",
        "costCenter": "cc-search",
        "monthlyBudgetUsd": 500,
        **overrides,
    }


def valid(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "environment": "dev",
        "deployment": "shared-cluster",
        "region": "us-east-1",
        "costCenter": "cc-platform",
        "contact": "ml-platform@example.com",
        "roles": copy.deepcopy(ROLES),
        "stateBackend": copy.deepcopy(STATE_BACKEND),
        "tenants": [tenant()],
    }
    raw.update(overrides)
    return raw


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    return caught.value.problems


def test_valid_config_has_secure_defaults() -> None:
    settings = parse_settings(valid())
    assert settings.network.egress.mode == "none"
    assert settings.network.egress.allowed_domains == ()
    assert settings.cluster.endpoint_public_access is False
    assert settings.cluster.public_access_cidrs == ()
    assert settings.az_count == 2
    assert settings.tenants[0].quotas.gpus == 0
    assert settings.tenants[0].priority_class == "experimentation"


def test_prod_spans_three_azs() -> None:
    assert parse_settings(valid(environment="prod")).az_count == 3


BAD_CONFIGS = [
    (
        {"tenants": [tenant(name="Fraud_Model")]},
        ["tenants[0].name: 'Fraud_Model' is not a DNS label (use lowercase letters, digits and '-')"],
    ),
    (
        {"tenants": [tenant(name="kube-system")]},
        ["tenants[0].name: 'kube-system' is reserved for the platform (choose another name)"],
    ),
    (
        {"tenants": [tenant(name="a" * 19)]},
        [
            f"tenants[0].name: '{'a' * 19}' is too long: S3 bucket name "
            f"'aip-staging-{'a' * 19}-models-123456789012-eu-central-1' has 64 characters, over 63 "
            "(use at most 18 characters)"
        ],
    ),
    (
        {"tenants": [tenant(), tenant()]},
        ["tenants[1].name: 'search' is used twice (tenant names are unique)"],
    ),
    (
        {"tenants": [tenant(tier="sharded")]},
        ["tenants[0].tier: 'sharded' is not allowed (use 'shared', 'dedicated-pool' or 'single-tenant')"],
    ),
    (
        {"tenants": [tenant(dataClassification="secret")]},
        [
            "tenants[0].dataClassification: 'secret' is not allowed "
            "(use 'public', 'internal', 'confidential', 'restricted' or 'regulated')"
        ],
    ),
    (
        {"tenants": [tenant(dataClassification="confidential")]},
        [
            "tenants[0].dataClassification: confidential data may not live in tier 'shared' "
            "(use tier 'dedicated-pool' or 'single-tenant')"
        ],
    ),
    (
        {"tenants": [tenant(tier="dedicated-pool", dataClassification="regulated")]},
        [
            "tenants[0].dataClassification: regulated data may not live in tier 'dedicated-pool' "
            "(use tier 'single-tenant')"
        ],
    ),
    (
        {"network": {"cidr": "10.40.0.0"}},
        ["network.cidr: '10.40.0.0' is not an IPv4 CIDR block (use e.g. '10.40.0.0/16')"],
    ),
    (
        {"network": {"cidr": "54.0.0.0/16"}},
        ["network.cidr: '54.0.0.0/16' is not a private range (use 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)"],
    ),
    (
        {"network": {"cidr": "10.40.0.0/24"}},
        ["network.cidr: '10.40.0.0/24' is /24: the subnet plan needs a block from /16 to /20"],
    ),
    (
        {"region": "ap-south-1"},
        ["region: 'ap-south-1' is not an approved region (use one of us-east-1, us-west-2, eu-west-1, eu-central-1)"],
    ),
    (
        {"tenants": [tenant(quotas={"gpus": -1, "cpu": 0})]},
        [
            "tenants[0].quotas.gpus: -1 must be 0 or more (GPUs)",
            "tenants[0].quotas.cpu: 0 must be greater than 0 (a quota)",
        ],
    ),
    (
        {"tenants": [tenant(monthlyBudgetUsd=0)]},
        ["tenants[0].monthlyBudgetUsd: 0.0 must be greater than 0 (USD per month)"],
    ),
    (
        {"cluster": {"version": "1.27"}},
        ["cluster.version: '1.27' is not a supported EKS version (use one of 1.33, 1.34, 1.35)"],
    ),
    (
        {"cluster": {"endpointPublicAccess": True}},
        [
            "cluster: endpointPublicAccess true needs publicAccessCidrs (list the CIDRs that may reach the API; "
            "0.0.0.0/0 is never allowed)"
        ],
    ),
    (
        {"cluster": {"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}},
        [
            "cluster.publicAccessCidrs: '0.0.0.0/0' opens the API to the internet (list your runners' and VPN's CIDRs instead)"
        ],
    ),
    (
        {"network": {"egress": {"mode": "none", "allowedDomains": ["pypi.org"]}}},
        ["network.egress: allowedDomains needs mode 'firewall' (mode 'none' allows no internet egress at all)"],
    ),
    ({"roles": None}, ["roles: required (set the baseline stack's role and boundary ARNs; see README)"]),
    (
        {"roles": {**ROLES, "deployer": "aip-deployer"}},
        [
            "roles.deployer: 'aip-deployer' is not an IAM role ARN (use arn:aws:iam::<account>:role/<name>, "
            "from the baseline stack's outputs)"
        ],
    ),
    ({"tenants": [tenant(gpus=4)]}, ["tenants[0].gpus: unknown key (see Pulumi.yaml for the keys this project reads)"]),
    ({"environment": None}, ["environment: 'None' is not allowed (use 'dev', 'staging' or 'prod')"]),
]


@pytest.mark.parametrize(("overrides", "expected"), BAD_CONFIGS, ids=[e[0] for _, e in BAD_CONFIGS])
def test_bad_config_is_rejected_with_its_key_path_and_fix(overrides: dict[str, Any], expected: list[str]) -> None:
    raw = valid(**overrides)
    if raw.get("roles") is None:
        raw.pop("roles")
    if raw.get("environment") is None:
        raw.pop("environment")
        expected = ["environment: required (set it in the stack file; see Pulumi.yaml for its meaning)"]
    assert problems(raw) == expected


def test_every_problem_is_reported_at_once() -> None:
    raw = valid(
        region="mars-1",
        network={"cidr": "8.8.8.0/20"},
        tenants=[tenant(name="Bad Name"), tenant(name="ok", monthlyBudgetUsd=-5)],
    )
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    assert [line.split(":")[0] for line in caught.value.problems] == [
        "region",
        "network.cidr",
        "tenants[0].name",
        "tenants[1].monthlyBudgetUsd",
    ]
    assert str(caught.value).startswith("invalid stack config (4 problem(s)):\n  - region: 'mars-1'")


def test_longest_allowed_tenant_name_fits_every_derived_name() -> None:
    assert max_tenant_name_length() == 18
    parse_settings(valid(tenants=[tenant(name="a" * 18)]))


def _documented_keys() -> set[str]:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    return {key.split(":", 1)[1] for key in project["config"] if key.startswith("secure-ai-platform:")}


def test_pulumi_yaml_documents_every_key_the_program_reads() -> None:
    read = {field.alias or name for name, field in Settings.model_fields.items()} - {"region"}
    assert _documented_keys() == read


def test_pulumi_yaml_describes_every_key() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    undocumented = [key for key, spec in project["config"].items() if not spec.get("description")]
    assert undocumented == []


def _declarations() -> dict[str, dict[str, Any]]:
    return dict(yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"])


def test_pulumi_yaml_requires_exactly_the_keys_the_model_requires() -> None:
    """A key declared without `default` is required on every stack by the CLI (pulumi/pulumi
    pkg/workspace/config.go, mergeConfig, v3.274.1), so only the keys the model requires of every
    stack may lack one; `region` comes from aws:region, which Pulumi.yaml cannot declare."""
    without_default = {key.split(":", 1)[1] for key, spec in _declarations().items() if "default" not in spec}
    required = {field.alias or name for name, field in Settings.model_fields.items() if field.is_required()}
    assert without_default == required - {"region"} == {"environment", "deployment", "costCenter", "contact"}


def _reference_stacks() -> dict[str, dict[str, Any]]:
    directory = ROOT / yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["stackConfigDir"]
    return {
        path.name.removeprefix("Pulumi.").removesuffix(".yaml"): yaml.safe_load(path.read_text())["config"]
        for path in sorted(directory.glob("Pulumi.*.yaml"))
    }


def _outcome(config: dict[str, Any], stack: str) -> Settings | list[str]:
    try:
        return settings_from_stack_file(config, stack)
    except ConfigError as error:
        return error.problems


@pytest.mark.parametrize("stack", sorted(_reference_stacks()))
def test_pulumi_yaml_defaults_mean_the_models_defaults(stack: str) -> None:
    """The CLI hands the program a declared key's default on every stack that does not set it
    (mergeConfig); each default must mean exactly what the key's absence means to the model."""
    config = _reference_stacks()[stack]
    defaults = {key: spec["default"] for key, spec in _declarations().items() if "default" in spec}
    assert set(defaults) == {key for key in _declarations() if key.split(":", 1)[1] not in _REQUIRED_EVERYWHERE}
    unset = {key: value for key, value in defaults.items() if key not in config}
    assert unset, f"{stack} sets every optional key: nothing to compare"
    without = _outcome(config, stack)
    for key, value in unset.items():
        assert _outcome({**config, key: copy.deepcopy(value)}, stack) == without, key


_REQUIRED_EVERYWHERE = {"environment", "deployment", "costCenter", "contact"}


def test_pulumi_yaml_documents_aws_region_in_its_comment_not_as_a_declaration() -> None:
    """The CLI rejects a declared key of another namespace with a type or a default (pulumi/pulumi
    sdk/go/common/workspace/project.go, Project.Validate, v3.274.1), so aws:region is documented in
    the comment block, with exactly the approved regions."""
    text = (ROOT / "Pulumi.yaml").read_text()
    assert "aws:region" not in _declarations()
    comment = " ".join(line.strip().lstrip("#").strip() for line in text.splitlines() if line.strip().startswith("#"))
    allowed = platform()["allowed_regions"]
    assert (
        f"aws:region (required): the stack's AWS region, one of the approved regions {', '.join(allowed)}." in comment
    )
