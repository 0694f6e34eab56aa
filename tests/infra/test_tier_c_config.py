"""Tier C config (issue 7, item 6): bad configs rejected with their exact messages, good ones accepted.

The tier rules (a regulated tenant only in tier single-tenant, any other classification there too),
the Dedicated Host family and Nitro Enclaves checks against the GPU instance table, the enclave
measurements, the tenant account, one single-tenant tenant per tier C stack, and the VPC block that
no other reference stack uses (read from the stack files themselves).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aiplatform_standards import gpu_instances
from platform_support import state_backend

from infra.config import (
    ConfigError,
    EnclaveAttestation,
    dedicated_host_families,
    parse_settings,
    reference_stack_cidrs,
)

ACCOUNT = "555566667777"
SHA = "ab" * 48
OTHER_SHA = "cd" * 48
STACK = "tenant-acme-prod"


def roles(account: str = ACCOUNT) -> dict[str, str]:
    prefix = f"arn:aws:iam::{account}"
    return {
        "platformAdmin": f"{prefix}:role/aip-prod-platform-platform-admin",
        "breakGlass": f"{prefix}:role/aip-prod-platform-break-glass",
        "deployer": f"{prefix}:role/aip-prod-platform-deployer",
        "ci": f"{prefix}:role/aip-prod-platform-ci",
        "tenantBoundary": f"{prefix}:policy/aip-prod-tenant-boundary",
    }


def tenant(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "acme",
        "tier": "single-tenant",
        "dataClassification": "regulated",
        "owner": "acme-ml@example.com",
        "costCenter": "cc-acme",
        "monthlyBudgetUsd": 10000,
        **overrides,
    }


def cluster_stack(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "environment": "prod",
        "deployment": "single-tenant-cluster",
        "region": "us-east-1",
        "costCenter": "cc-platform",
        "contact": "ml-platform@example.com",
        "roles": roles(),
        "network": {"cidr": "10.90.0.0/16"},
        "tenants": [tenant()],
        "tenantAccount": {"accountId": ACCOUNT, "roleName": "aip-prod-platform-deployer", "externalId": "acme-42"},
    }
    raw.update(copy.deepcopy(overrides))
    # The platform prod account's bootstrap outputs: a tier C cluster stack's runner keeps its state there.
    if raw["deployment"] in ("shared-cluster", "single-tenant-cluster"):
        raw.setdefault("stateBackend", state_backend("444455556666", "prod", raw["region"]))
    return raw


def hosts(instance_type: str = "g5.12xlarge", **overrides: Any) -> dict[str, Any]:
    return {"instanceType": instance_type, "image": {"ssmParameter": "/aip/prod/acme/gpu-host/ami"}, **overrides}


def hosts_stack(**overrides: Any) -> dict[str, Any]:
    raw = cluster_stack(
        deployment="dedicated-hosts",
        hosts=hosts(count=2, enclaveAttestation={"imageSha384": SHA, "pcrs": {"8": OTHER_SHA}}),
        confidential=True,
    )
    raw.update(copy.deepcopy(overrides))
    return raw


def problems(raw: dict[str, Any], stack: str = STACK) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, stack)
    return caught.value.problems


def test_valid_tier_c_stacks_parse() -> None:
    cluster = parse_settings(cluster_stack(), STACK)
    assert cluster.tenant_account is not None
    assert (
        cluster.tenant_account.role_arn(cluster.partition) == f"arn:aws:iam::{ACCOUNT}:role/aip-prod-platform-deployer"
    )
    assert cluster.hosts is None
    assert cluster.confidential is False
    hosts = parse_settings(hosts_stack(), "hosts-acme-prod")
    assert hosts.hosts is not None
    assert hosts.confidential
    assert hosts.hosts.count == 2
    assert hosts.hosts.volume_size_gib == 200
    assert hosts.hosts.enclave_attestation == EnclaveAttestation(image_sha384=SHA, pcrs={8: OTHER_SHA})


def test_attestation_conditions_name_kms_recipient_attestation_keys() -> None:
    attestation = EnclaveAttestation(image_sha384=SHA, pcrs={8: OTHER_SHA, 1: OTHER_SHA})
    assert attestation.conditions() == {
        "kms:RecipientAttestation:ImageSha384": SHA,
        "kms:RecipientAttestation:PCR1": OTHER_SHA,
        "kms:RecipientAttestation:PCR8": OTHER_SHA,
    }


def test_a_non_regulated_tenant_may_ask_for_tier_c() -> None:
    settings = parse_settings(cluster_stack(tenants=[tenant(dataClassification="internal")]), STACK)
    assert settings.tenants[0].tier == "single-tenant"
    assert settings.tenants[0].data_classification == "internal"


@pytest.mark.parametrize(
    ("deployment", "tier", "expected"),
    [
        ("shared-cluster", "shared", "regulated data may not live in tier 'shared' (use tier 'single-tenant')"),
        (
            "shared-cluster",
            "dedicated-pool",
            "regulated data may not live in tier 'dedicated-pool' (use tier 'single-tenant')",
        ),
    ],
)
def test_a_regulated_tenant_asking_for_tier_a_or_b_is_rejected(deployment: str, tier: str, expected: str) -> None:
    raw = cluster_stack(deployment=deployment, tenants=[tenant(tier=tier)])
    del raw["tenantAccount"]
    assert problems(raw) == [f"tenants[0].dataClassification: {expected}"]


DH = " or ".join(dedicated_host_families())
BAD_CONFIGS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "family without Dedicated Host support",
        hosts_stack(hosts=hosts("g6.12xlarge"), confidential=False),
        [
            "hosts.instanceType: 'g6.12xlarge' is family g6, which EC2 Dedicated Hosts do not support (use a type of "
            "family g5 or p4d; the GPU instance table records dedicated_hosts per type)"
        ],
    ),
    (
        "an instance type the GPU table does not list",
        hosts_stack(hosts=hosts("x2gd.large"), confidential=False),
        [
            "hosts.instanceType: 'x2gd.large' is not in the GPU instance table (use a type of family g5 or p4d, "
            "whose Dedicated Hosts the table records; policy_packs/ai-guardrails/standards/aiplatform_standards/data/gpu_instances.yaml)"
        ],
    ),
    (
        "confidential on an instance type without enclaves",
        hosts_stack(hosts=hosts("g5g.4xlarge", enclaveAttestation={"imageSha384": SHA})),
        [
            "hosts.instanceType: 'g5g.4xlarge' is family g5g, which EC2 Dedicated Hosts do not support (use a type "
            "of family g5 or p4d; the GPU instance table records dedicated_hosts per type)",
            "confidential: 'g5g.4xlarge' cannot be a Nitro Enclaves parent instance (use a type of family g5 or p4d, "
            "which the GPU instance table records with Dedicated Hosts and Nitro Enclaves, or set confidential false)",
        ],
    ),
    (
        "confidential without the enclave's measurements",
        hosts_stack(hosts=hosts()),
        [
            "hosts.enclaveAttestation: required with confidential true (the data key admits decrypt only to the "
            "measured enclave image; set imageSha384, the PCR0 that nitro-cli build-enclave prints)"
        ],
    ),
    (
        "measurements without confidential",
        hosts_stack(confidential=False),
        [
            "hosts.enclaveAttestation: set but confidential is false (the measurements bind the data key to an "
            "enclave; set confidential true or remove them)"
        ],
    ),
    (
        "a PCR that depends on the instance",
        hosts_stack(hosts=hosts(enclaveAttestation={"imageSha384": SHA, "pcrs": {"4": OTHER_SHA}})),
        [
            "hosts.enclaveAttestation.pcrs: PCR4 cannot be pinned (use PCR1, PCR2, PCR3, PCR8; PCR0 is imageSha384, "
            "PCR4 is the instance's id)"
        ],
    ),
    (
        "a measurement that is not SHA-384",
        hosts_stack(hosts=hosts(enclaveAttestation={"imageSha384": SHA.upper()})),
        [
            "hosts.enclaveAttestation.imageSha384: is not a SHA-384 measurement (96 lowercase hexadecimal digits: "
            "PCR0 as `nitro-cli build-enclave` prints it)"
        ],
    ),
    (
        "an image typed in as an id instead of a source (issue 11, item 14)",
        hosts_stack(hosts={"instanceType": "g5.12xlarge", "imageId": "ami-0a1b2c3d4e5f60789"}, confidential=False),
        [
            "hosts.image: required (set it in the stack file; see Pulumi.yaml for its meaning)",
            "hosts.imageId: unknown key (see Pulumi.yaml for the keys this project reads)",
        ],
    ),
    (
        "an image parameter that is not a parameter path",
        hosts_stack(hosts=hosts(image={"ssmParameter": "gpu-host-ami"}), confidential=False),
        [
            "hosts.image.ssmParameter: 'gpu-host-ami' is not a Systems Manager parameter name (use its full path, "
            "e.g. /aip/prod/<tenant>/gpu-host/ami)"
        ],
    ),
    (
        "an image lookup without a pinned owner",
        hosts_stack(hosts=hosts(image={"namePattern": "acme-gpu-host-*"}), confidential=False),
        [
            "hosts.image: set ssmParameter (the parameter your image pipeline publishes the AMI id under), or both "
            "owner and namePattern (e.g. owner: '444455556666', namePattern: 'genomics-gpu-host-*')"
        ],
    ),
    (
        "an image lookup whose owner is not an account",
        hosts_stack(hosts=hosts(image={"owner": "amazon", "namePattern": "acme-gpu-host-*"}), confidential=False),
        ["hosts.image.owner: 'amazon' is not an AWS account id (pin the 12-digit account that builds the image)"],
    ),
    (
        "two image sources",
        hosts_stack(
            hosts=hosts(image={"ssmParameter": "/a/b", "owner": "444455556666", "namePattern": "x-*"}),
            confidential=False,
        ),
        ["hosts.image: set either ssmParameter or owner and namePattern, not both"],
    ),
    (
        "no hosts in the dedicated-hosts deployment",
        cluster_stack(deployment="dedicated-hosts"),
        ["hosts: required (set instanceType, count and image; see Pulumi.yaml)"],
    ),
    (
        "hosts and confidential outside the dedicated-hosts deployment",
        cluster_stack(hosts=hosts("g5.xlarge"), confidential=True),
        [
            "hosts: only the dedicated-hosts deployment reads it (remove it from this stack)",
            "confidential: only the dedicated-hosts deployment reads it (Nitro Enclaves run on its hosts' instances) "
            "(remove it from this stack)",
        ],
    ),
    (
        "GPU pools in the dedicated-hosts deployment",
        hosts_stack(
            tenants=[
                tenant(quotas={"gpus": 4}, gpuPools=[{"name": "train", "instanceTypes": ["g5.12xlarge"], "maxSize": 1}])
            ]
        ),
        [
            "tenants[0].gpuPools: deployment dedicated-hosts runs no cluster (its GPU capacity is hosts.count hosts "
            "of hosts.instanceType; remove gpuPools)"
        ],
    ),
    (
        "GPU pools in a single-tenant cluster",
        cluster_stack(
            tenants=[
                tenant(quotas={"gpus": 4}, gpuPools=[{"name": "serve", "instanceTypes": ["g5.xlarge"], "maxSize": 4}])
            ]
        ),
        [
            "tenants[0].gpuPools: deployment single-tenant-cluster builds no GPU pools yet (GpuNodePool binds tier "
            "dedicated-pool tenants only; run the GPU capacity on dedicated hosts, deployment dedicated-hosts)"
        ],
    ),
    (
        "a tier B tenant in a tier C deployment",
        cluster_stack(tenants=[tenant(tier="dedicated-pool", dataClassification="restricted")]),
        [
            "tenants[0].tier: 'dedicated-pool' is not built by deployment single-tenant-cluster, which builds tier "
            "'single-tenant' (tiers 'shared' and 'dedicated-pool' live in the shared cluster, stack platform-prod)"
        ],
    ),
    (
        "two tenants in one tier C stack",
        cluster_stack(tenants=[tenant(), tenant(name="other")]),
        [
            "tenants: deployment single-tenant-cluster builds exactly one tenant's platform, found 2 (one stack per "
            "tenant: tenant-<tenant>-prod)"
        ],
    ),
    (
        "a tenant account other than the roles'",
        cluster_stack(roles=roles("111122223333")),
        [
            f"tenantAccount.accountId: '{ACCOUNT}' is not the account of roles ('111122223333'): a stack in the "
            "tenant's account takes the roles of that account's own baseline stack (pulumi stack output roles --json "
            "-s <its baseline stack>)"
        ],
    ),
    (
        "a tenant account on the shared cluster",
        cluster_stack(deployment="shared-cluster", tenants=[tenant(tier="shared", dataClassification="internal")]),
        [
            "tenantAccount: only the single-tenant-cluster and dedicated-hosts deployments read it (remove it from "
            "this stack)"
        ],
    ),
    (
        "a malformed tenant account",
        cluster_stack(tenantAccount={"accountId": "5555", "roleName": "role/with/path", "externalId": "x"}),
        [
            "tenantAccount.accountId: '5555' is not an AWS account id (12 digits, quoted in YAML)",
            "tenantAccount.roleName: 'role/with/path' is not an IAM role name (1 to 64 letters, digits and "
            "+=,.@_-; no path, no ARN)",
            "tenantAccount.externalId: is not an external id (2 to 1224 letters, digits and +=,.@:/_-; the one the "
            "role's trust policy requires in sts:ExternalId)",
        ],
    ),
    (
        # Fits the models bucket (every tier's limit) but not the tier C stack's own access-log bucket.
        "a tenant name too long for its access-log bucket",
        cluster_stack(environment="staging", region="eu-central-1", tenants=[tenant(name="a" * 14)]),
        [
            f"tenants[0].name: '{'a' * 14}' is too long for deployment single-tenant-cluster: access-log bucket name "
            f"'aip-staging-{'a' * 14}-access-logs-123456789012-eu-central-1' has 64 characters, over 63 (use at most "
            "13 characters)"
        ],
    ),
    (
        "a VPC block that overlaps the shared platform's",
        cluster_stack(network={"cidr": "10.50.0.0/16"}),
        [
            "network.cidr: '10.50.0.0/16' overlaps '10.50.0.0/16' of stack platform-prod (every stack's VPC gets a "
            "block of its own, so that their networks can be routed to one another; choose a block that no file in "
            "stacks/ uses)"
        ],
    ),
    (
        "a VPC block inside another tier C stack's",
        cluster_stack(network={"cidr": "10.70.16.0/20"}),
        [
            "network.cidr: '10.70.16.0/20' overlaps '10.70.0.0/16' of stack hosts-genomics-prod (every stack's VPC "
            "gets a block of its own, so that their networks can be routed to one another; choose a block that no "
            "file in stacks/ uses)"
        ],
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [(raw, expected) for _, raw, expected in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_tier_c_config_is_rejected_with_its_key_path_and_fix(raw: dict[str, Any], expected: list[str]) -> None:
    assert problems(raw) == expected


def test_every_tier_c_problem_is_reported_at_once() -> None:
    raw = hosts_stack(
        network={"cidr": "10.40.0.0/16"},
        tenants=[tenant(), tenant(name="other")],
        hosts=hosts("g6.xlarge"),
    )
    assert [problem.split(":", 1)[0] for problem in problems(raw)] == [
        "tenants",
        "hosts.instanceType",
        "hosts.enclaveAttestation",
        "network.cidr",
    ]


def test_a_stack_is_not_compared_with_its_own_file() -> None:
    cidrs = reference_stack_cidrs()
    raw = cluster_stack(network={"cidr": cidrs["tenant-clinical-prod"]})
    parse_settings(raw, "tenant-clinical-prod")
    assert problems(raw, "tenant-clinical-copy-prod")[0].startswith("network.cidr: '10.60.0.0/16' overlaps")


def test_the_stack_files_are_the_one_record_of_their_cidrs() -> None:
    assert reference_stack_cidrs() == {
        "hosts-genomics-prod": "10.70.0.0/16",
        "platform-dev": "10.40.0.0/16",
        "platform-prod": "10.50.0.0/16",
        "tenant-clinical-prod": "10.60.0.0/16",
    }


def test_the_dedicated_host_families_come_from_the_gpu_table() -> None:
    table = gpu_instances()
    assert dedicated_host_families() == ("g5", "p4d")
    assert DH == "g5 or p4d"
    assert all(table[name].nitro_enclaves for name in table if table[name].family in dedicated_host_families())
