"""Run 2 of a tier C cluster stack in a tenant's own account: its runner reaches the state in the platform's bucket.

``tenant-clinical-prod`` keeps its resources in 555566667777 and its Pulumi state in bootstrap-prod's bucket and keys
in 444455556666; its in-VPC deploy runner (``aip-prod-clinical-deploy-runner``) runs in 555566667777. Every call its
run 2 makes on the state, and the assumption of the tenant deployment role its provider makes, is evaluated here
against the documents the reference stacks write (tests/infra/iam_evaluation.py: AWS's evaluation rules, cited
there), from the runner's side (its own policy, the tenant account's tenant boundary) and the resource's side (the
bucket policy, the key policies, the role's trust policy). And what must stay refused, is.

The calls, from pulumi/pulumi pkg/backend/diy (v3.274.1): ``meta.go`` reads ``.pulumi/meta.yaml``; ``state.go`` and
``store.go`` read and write the stack's checkpoint (``.json``, its ``.bak``), history and backups; ``lock.go`` lists,
writes and deletes the stack's lock; every write goes without an encryption header (gocloud.dev blob/s3blob sets one
only with the URL's ``ssetype``), S3 encrypting with the bucket default (SSE-KMS with the state key, S3 Bucket Keys),
calling KMS ``GenerateDataKey``/``Decrypt`` with the caller's permissions, ``kms:ViaService`` s3; and the CLI
decrypts the stack's data key with the secrets key (pkg/secrets/cloud/manager.go ``newCloudSecretsManager``).
CodeBuild reads the source archive with the project's service role.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from iam_evaluation import Request, Statement, allowed, document, effect

from infra import naming
from infra.components import deploy_runner, state_backend
from infra.deploy_order import reference_stacks, stack_config_dir
from preflight import Preview, ResourceRecord, preview_program

REPO = Path(__file__).resolve().parents[2]
PLATFORM, TENANT = "444455556666", "555566667777"
STACK = "tenant-clinical-prod"
BUCKET = f"aip-prod-platform-state-{PLATFORM}-us-east-1"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
RUNNER = f"arn:aws:iam::{TENANT}:role/aip-prod-clinical-deploy-runner"
# Another role of the tenant's account, which must get none of it (the tenant's workloads).
WORKLOAD = f"arn:aws:iam::{TENANT}:role/aip-prod-clinical-workload"
TENANT_DEPLOYMENT = f"arn:aws:iam::{TENANT}:role/aip-prod-tenant-deployment"
VIA_S3 = {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
TLS = {"aws:SecureTransport": "true"}


@cache
def stack(name: str) -> Preview:
    return preview_program(REPO, name, mode="update")


def _one(preview: Preview, type_: str, name: str) -> ResourceRecord:
    return preview.get(type_, name)


def _policy(record: ResourceRecord, key: str = "policy") -> list[Statement]:
    return document(record.inputs[key])


@cache
def runner_identity() -> list[Statement]:
    [component] = stack(STACK).by_type(deploy_runner.TYPE)
    [policy] = [r for r in stack(STACK).children(component.urn) if r.type == "aws:iam/rolePolicy:RolePolicy"]
    return _policy(policy)


def runner_tags() -> dict[str, str]:
    [component] = stack(STACK).by_type(deploy_runner.TYPE)
    [role] = [r for r in stack(STACK).children(component.urn) if r.type == "aws:iam/role:Role"]
    assert role.outputs["arn"] == RUNNER
    return {f"aws:PrincipalTag/{key}": value for key, value in role.inputs["tags"].items()}


@cache
def tenant_boundary() -> list[Statement]:
    return _policy(_one(stack("baseline-clinical-prod"), "aws:iam/policy:Policy", "baseline-roles-tenant-boundary"))


@cache
def tenant_deployment_trust() -> list[Statement]:
    role = _one(stack("baseline-clinical-prod"), "aws:iam/role:Role", "baseline-roles-tenant-deployment")
    assert role.outputs["arn"] == TENANT_DEPLOYMENT
    return _policy(role, "assumeRolePolicy")


def bucket_policy() -> list[Statement]:
    return _policy(_one(stack("bootstrap-prod"), "aws:s3/bucketPolicy:BucketPolicy", "state"))


def key(purpose: str) -> tuple[str, list[Statement], dict[str, str]]:
    """A bootstrap key's ARN, policy and resource tags (as condition keys)."""
    record = _one(stack("bootstrap-prod"), "aws:kms/key:Key", f"state-{purpose}")
    tags = {f"aws:ResourceTag/{k}": v for k, v in record.inputs["tags"].items()}
    return str(record.outputs["arn"]), _policy(record), tags


def external_id() -> str:
    return str(stack(STACK).config["secure-ai-platform:tenantAccount"]["externalId"])


def s3(principal: str, action: str, key_name: str, **context: str) -> Request:
    resource = BUCKET_ARN if action == "s3:ListBucket" else f"{BUCKET_ARN}/{key_name}"
    return Request(principal, action, resource, {**TLS, **context})


# What run 2 does with the state bucket (module docstring), each as the CLI and CodeBuild send it.
STATE_CALLS = [
    ("s3:GetObject", f"deploy-runner/{STACK}/source.zip"),
    ("s3:GetObjectVersion", f"deploy-runner/{STACK}/source.zip"),
    ("s3:GetObject", ".pulumi/meta.yaml"),
    ("s3:ListBucket", ""),
    ("s3:GetObject", f".pulumi/stacks/secure-ai-platform/{STACK}.json"),
    ("s3:PutObject", f".pulumi/stacks/secure-ai-platform/{STACK}.json"),
    ("s3:PutObject", f".pulumi/stacks/secure-ai-platform/{STACK}.json.bak"),
    ("s3:GetObject", f".pulumi/stacks/secure-ai-platform/{STACK}.json.tags"),
    ("s3:PutObject", f".pulumi/history/secure-ai-platform/{STACK}/{STACK}-1767225600000000000.history.json"),
    ("s3:PutObject", f".pulumi/backups/secure-ai-platform/{STACK}/{STACK}.1767225600000000000.json"),
    ("s3:PutObject", f".pulumi/locks/organization/secure-ai-platform/{STACK}/0b6a1f6e.json"),
    ("s3:DeleteObject", f".pulumi/locks/organization/secure-ai-platform/{STACK}/0b6a1f6e.json"),
]


@pytest.mark.parametrize(("action", "key_name"), STATE_CALLS)
def test_the_tier_c_runner_reads_and_writes_its_stacks_state_across_accounts(action: str, key_name: str) -> None:
    request = s3(RUNNER, action, key_name, **runner_tags())
    assert allowed(request, runner_identity(), bucket_policy(), tenant_boundary())


def test_the_runner_uses_the_state_key_through_s3_and_decrypts_its_data_key() -> None:
    state_arn, state_policy, state_tags = key("state")
    secrets_arn, secrets_policy, secrets_tags = key("stack-secrets")
    caller = {"kms:CallerAccount": TENANT, **runner_tags()}
    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        request = Request(RUNNER, action, state_arn, {**VIA_S3, **caller, **state_tags})
        assert allowed(request, runner_identity(), state_policy, tenant_boundary()), action
    request = Request(RUNNER, "kms:Decrypt", secrets_arn, {**caller, **secrets_tags})
    assert allowed(request, runner_identity(), secrets_policy, tenant_boundary())


def test_the_runner_assumes_the_tenant_deployment_role_with_the_external_id() -> None:
    """Run 2's provider assumes the role with the runner's credentials, as run 1's does with the deployer's."""
    request = Request(RUNNER, "sts:AssumeRole", TENANT_DEPLOYMENT, {"sts:ExternalId": external_id(), **runner_tags()})
    assert allowed(request, runner_identity(), tenant_deployment_trust(), tenant_boundary())
    without = Request(RUNNER, "sts:AssumeRole", TENANT_DEPLOYMENT, runner_tags())
    assert not allowed(without, runner_identity(), tenant_deployment_trust(), tenant_boundary())
    wrong = Request(RUNNER, "sts:AssumeRole", TENANT_DEPLOYMENT, {"sts:ExternalId": "guessed", **runner_tags()})
    assert not allowed(wrong, runner_identity(), tenant_deployment_trust(), tenant_boundary())


# --- what stays refused ---------------------------------------------------------------------------------------------

EVERYTHING: list[Statement] = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]


@pytest.mark.parametrize(
    ("action", "key_name"),
    [
        ("s3:GetObject", ".pulumi/stacks/secure-ai-platform/platform-prod.json"),
        ("s3:PutObject", ".pulumi/stacks/secure-ai-platform/baseline-clinical-prod.json"),
        ("s3:GetObject", "deploy-runner/platform-prod/source.zip"),
        ("s3:DeleteObject", f".pulumi/history/secure-ai-platform/{STACK}-other/x.history.json"),
    ],
)
def test_the_bucket_admits_the_runner_to_nothing_but_its_stack(action: str, key_name: str) -> None:
    """Even were its own policy to allow everything, the bucket policy limits it to its stack's objects."""
    assert effect(bucket_policy(), s3(RUNNER, action, key_name), resource_policy=True) is None
    assert not allowed(s3(RUNNER, action, key_name), EVERYTHING, bucket_policy())


def test_no_other_role_of_the_tenants_account_gets_the_state_or_the_keys() -> None:
    for action, key_name in STATE_CALLS:
        assert not allowed(s3(WORKLOAD, action, key_name), EVERYTHING, bucket_policy()), (action, key_name)
    for purpose in ("state", "stack-secrets"):
        arn, policy, _ = key(purpose)
        request = Request(WORKLOAD, "kms:Decrypt", arn, {**VIA_S3, "kms:CallerAccount": TENANT})
        assert not allowed(request, EVERYTHING, policy), purpose
    request = Request(WORKLOAD, "sts:AssumeRole", TENANT_DEPLOYMENT, {"sts:ExternalId": external_id()})
    assert not allowed(request, EVERYTHING, tenant_deployment_trust())


def test_the_state_key_serves_the_runner_only_through_s3() -> None:
    arn, policy, tags = key("state")
    direct = Request(RUNNER, "kms:Decrypt", arn, {"kms:CallerAccount": TENANT, **tags, **runner_tags()})
    assert effect(policy, direct, resource_policy=True) is None
    assert effect(tenant_boundary(), direct) is None
    assert not allowed(direct, runner_identity(), policy, tenant_boundary())


def test_the_tenant_boundary_admits_the_runner_to_the_two_bootstrap_keys_alone() -> None:
    """Another key of the platform account, or the same keys for another role, stay outside the boundary."""
    state_arn, _, tags = key("state")
    other_key = f"arn:aws:kms:us-east-1:{PLATFORM}:key/6f3e0a52-0000-4000-8000-000000000000"
    for arn in (other_key,):
        request = Request(RUNNER, "kms:Decrypt", arn, {**VIA_S3, **tags, **runner_tags()})
        assert effect(tenant_boundary(), request) is None
    workload = Request(WORKLOAD, "kms:Decrypt", state_arn, {**VIA_S3, **tags, **runner_tags()})
    assert effect(tenant_boundary(), workload) is None


def test_the_clis_state_writes_pass_the_bucket_policy_in_the_platform_account_too() -> None:
    """The CLI sends no encryption header; a header naming another encryption or key is refused (for everyone)."""
    [component] = stack("platform-prod").by_type(deploy_runner.TYPE)
    [policy] = [r for r in stack("platform-prod").children(component.urn) if r.type == "aws:iam/rolePolicy:RolePolicy"]
    platform_runner = f"arn:aws:iam::{PLATFORM}:role/aip-prod-platform-deploy-runner"
    write = ".pulumi/stacks/secure-ai-platform/platform-prod.json"
    assert allowed(
        s3(platform_runner, "s3:PutObject", write), _policy(policy), bucket_policy(), resource_must_allow=False
    )
    aes = s3(platform_runner, "s3:PutObject", write, **{"s3:x-amz-server-side-encryption": "AES256"})
    assert effect(bucket_policy(), aes, resource_policy=True) == "Deny"
    other_key = s3(
        RUNNER,
        "s3:PutObject",
        f".pulumi/stacks/secure-ai-platform/{STACK}.json",
        **{"s3:x-amz-server-side-encryption": "aws:kms", "s3:x-amz-server-side-encryption-aws-kms-key-id": "k"},
    )
    assert effect(bucket_policy(), other_key, resource_policy=True) == "Deny"


# --- the statements themselves, and the config that names them ------------------------------------------------------


def test_the_bootstraps_tenant_statements_name_account_roots_narrowed_to_the_runner() -> None:
    """No role as a principal (KMS and S3 reject a principal that does not exist, and the runner comes with the tier C
    stack, long after the bootstrap): the tenant's account root, narrowed by ``aws:PrincipalArn``."""
    runner = {"ArnLike": {"aws:PrincipalArn": RUNNER}}
    root = {"AWS": f"arn:aws:iam::{TENANT}:root"}
    tenant = {s["Sid"]: s for s in bucket_policy() if s["Sid"].startswith("Clinical")}
    objects = state_backend.stack_state_objects(BUCKET_ARN, STACK)
    assert tenant == {
        "ClinicalDeployRunnerReadsSource": {
            "Sid": "ClinicalDeployRunnerReadsSource",
            "Effect": "Allow",
            "Principal": root,
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"{BUCKET_ARN}/deploy-runner/{STACK}/source.zip", f"{BUCKET_ARN}/.pulumi/meta.yaml"],
            "Condition": runner,
        },
        "ClinicalDeployRunnerState": {
            "Sid": "ClinicalDeployRunnerState",
            "Effect": "Allow",
            "Principal": root,
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": objects,
            "Condition": runner,
        },
        "ClinicalDeployRunnerLists": {
            "Sid": "ClinicalDeployRunnerLists",
            "Effect": "Allow",
            "Principal": root,
            "Action": "s3:ListBucket",
            "Resource": BUCKET_ARN,
            "Condition": runner,
        },
    }
    _, state_policy, _ = key("state")
    _, secrets_policy, _ = key("stack-secrets")
    assert [s for s in state_policy if s["Sid"] == "TenantDeployRunnersThroughS3"] == [
        {
            "Sid": "TenantDeployRunnersThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{TENANT}:root"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": VIA_S3, "ArnLike": {"aws:PrincipalArn": [RUNNER]}},
        }
    ]
    assert [s for s in secrets_policy if s["Sid"] == "TenantDeployRunnersDecryptStackSecrets"] == [
        {
            "Sid": "TenantDeployRunnersDecryptStackSecrets",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{TENANT}:root"},
            "Action": ["kms:Decrypt"],
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": [RUNNER]}},
        }
    ]


def test_the_tenant_deployment_trust_names_the_deployer_and_the_accounts_root_for_its_runner() -> None:
    assert tenant_deployment_trust() == [
        {
            "Sid": "PlatformDeployerWithExternalId",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PLATFORM}:role/aip-baseline/aip-prod-platform-deployer"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": external_id()}},
        },
        {
            "Sid": "TenantDeployRunnerWithExternalId",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{TENANT}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": external_id()}, "ArnLike": {"aws:PrincipalArn": RUNNER}},
        },
    ]


def test_the_boundary_statements_for_the_runner_are_exactly_the_two_keys() -> None:
    state_arn, _, _ = key("state")
    secrets_arn, _, _ = key("stack-secrets")
    runner = {"aws:PrincipalArn": RUNNER}
    added = [s for s in tenant_boundary() if s["Sid"].startswith("AllowDeployRunner")]
    assert added == [
        {
            "Sid": "AllowDeployRunnerStateKeyThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": state_arn,
            "Condition": {"StringEquals": VIA_S3, "ArnLike": runner},
        },
        {
            "Sid": "AllowDeployRunnerStackSecrets",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": secrets_arn,
            "Condition": {"ArnLike": runner},
        },
    ]
    # The environment's own account's boundary admits no key of another account.
    own = _policy(_one(stack("baseline-prod"), "aws:iam/policy:Policy", "baseline-roles-tenant-boundary"))
    assert not [s for s in own if s["Sid"].startswith("AllowDeployRunner")]


def test_each_bootstrap_admits_exactly_the_runners_of_the_tier_c_stacks_whose_state_it_holds() -> None:
    """bootstrap.tenantAccounts is the set of tier C cluster stacks that name its bucket from another account, and
    each tenant account's baseline admits its runner to the same two keys that stack names."""
    settings = reference_stacks(stack_config_dir())
    for name, bootstrap in settings.items():
        if bootstrap.bootstrap is None:
            continue
        bucket = state_backend.state_bucket_name(bootstrap)
        holds = {
            (stack_settings.tenants[0].name, stack_settings.tenant_account.account_id)
            for stack_settings in settings.values()
            if stack_settings.deployment == "single-tenant-cluster"
            and stack_settings.state_backend is not None
            and stack_settings.state_backend.bucket == bucket
            and stack_settings.tenant_account is not None
        }
        listed = {(entry.tenant, entry.account_id) for entry in bootstrap.bootstrap.tenant_accounts}
        assert listed == holds, name
    assert {(e.tenant, e.account_id) for e in settings["bootstrap-prod"].bootstrap.tenant_accounts} == {
        ("clinical", TENANT)
    }
    # Each tier C tenant account's baseline admits a runner exactly when a tier C cluster stack deploys there.
    runners = {
        (stack_settings.tenant_account.account_id, stack_settings.tenants[0].name): stack_settings
        for stack_settings in settings.values()
        if stack_settings.deployment == "single-tenant-cluster" and stack_settings.tenant_account is not None
    }
    admitted = {}
    for stack_settings in settings.values():
        baseline = stack_settings.baseline
        if baseline is None or baseline.tenant_deployment is None:
            continue
        access = baseline.tenant_deployment.deploy_runner
        if access is not None:
            admitted[(baseline.account_id, access.tenant)] = access
    assert set(admitted) == set(runners) == {(TENANT, "clinical")}
    for where, access in admitted.items():
        tier_c = runners[where]
        assert tier_c.state_backend is not None
        assert (access.state_key_arn, access.secrets_key_arn) == (
            tier_c.state_backend.state_key_arn,
            tier_c.state_backend.secrets_key_arn,
        )
    assert naming.deploy_runner_role_name("prod", "clinical") == RUNNER.rsplit("/", 1)[1]
