"""Deployment bootstrap (issue 11, "a deploy path that works from zero"): the Pulumi state bucket and the awskms:// key.

Both reference stacks (bootstrap-dev, bootstrap-prod) are run whole, as the CLI would run them, with the policy
pack: exactly the state backend, no policy naming a principal that could not exist before the account baseline,
the bucket hardened, the outputs exactly what `pulumi login` and `--secrets-provider` take.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pulumi_aws as aws
import pytest
import yaml
from platform_support import statements

from infra import s3
from infra.components.key_ring import ADMIN_ACTIONS, USE_ACTIONS
from infra.components.state_backend import STACK_SECRETS, StateBackend, StateBackendArgs
from infra.config import ConfigError, parse_settings
from infra.tags import register_standard_tags
from preflight import Preview, preview_function, preview_program

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy_packs" / "ai-guardrails"
ACCOUNTS = {"bootstrap-dev": "111122223333", "bootstrap-prod": "444455556666"}
# The tier C tenants whose cluster stack keeps its state in each bootstrap's bucket (bootstrap.tenantAccounts):
# their runners' access is tests/infra/test_tier_c_state_access.py's.
TENANT_RUNNER_STATEMENTS = {
    "bootstrap-dev": set(),
    "bootstrap-prod": {
        "ClinicalDeployRunnerReadsSource",
        "ClinicalDeployRunnerState",
        "ClinicalDeployRunnerLists",
    },
}
KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"

EXPECTED_COUNTS = {
    "aws:kms/alias:Alias": 2,
    "aws:kms/key:Key": 2,
    "aws:s3/bucket:Bucket": 1,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
    "aws:s3/bucketPolicy:BucketPolicy": 1,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
    "aws:s3/bucketVersioning:BucketVersioning": 1,
    "pulumi:providers:aws": 1,
    "pulumi:pulumi:Stack": 1,
    "secure-ai-platform:state_backend:StateBackend": 1,
}


@pytest.fixture(scope="module", params=sorted(ACCOUNTS))
def preview(request: pytest.FixtureRequest) -> Preview:
    return preview_program(REPO, request.param, mode="update", policy_packs=[PACK])


def _env(preview: Preview) -> str:
    return preview.stack.rsplit("-", 1)[1]


def test_bootstrap_creates_exactly_the_state_backend(preview: Preview) -> None:
    assert preview.errors == []
    assert dict(Counter(record.type for record in preview.resources)) == EXPECTED_COUNTS


@pytest.mark.parametrize("mode", ["first-preview", "update"])
@pytest.mark.parametrize("stack", sorted(ACCOUNTS))
def test_the_pack_passes_both_stacks_in_both_modes(stack: str, mode: str) -> None:
    result = preview_program(REPO, stack, mode=mode, policy_packs=[PACK])
    assert result.errors == []
    assert [(v.policy, v.urn) for v in result.violations] == []


def test_state_key_is_used_only_through_s3_by_the_accounts_iam_principals(preview: Preview) -> None:
    """The account root is the only principal: no role exists yet (KMS rejects a policy naming a missing one)."""
    account, env = ACCOUNTS[preview.stack], _env(preview)
    root = f"arn:aws:iam::{account}:root"
    key = preview.get(KEY, "state-state")
    policy = statements(key)
    tenants = {"bootstrap-dev": set(), "bootstrap-prod": {"TenantDeployRunnersThroughS3"}}[preview.stack]
    assert set(policy) - {"AccountAdministration", "AccountPrincipalsThroughS3"} == tenants
    assert {sid: policy[sid] for sid in ("AccountAdministration", "AccountPrincipalsThroughS3")} == {
        "AccountAdministration": {
            "Sid": "AccountAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": list(ADMIN_ACTIONS),
            "Resource": "*",
        },
        "AccountPrincipalsThroughS3": {
            "Sid": "AccountPrincipalsThroughS3",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": list(USE_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": account, "kms:ViaService": "s3.us-east-1.amazonaws.com"}
            },
        },
    }
    assert key.inputs["description"] == f"alias/{env}/platform/state: state of platform in {env}"


def test_secrets_key_admits_what_the_cli_calls_for_stack_secrets(preview: Preview) -> None:
    """pulumi/pulumi pkg/secrets/cloud/manager.go (v3.274.1): ``generateNewDataKey`` calls the keeper's Encrypt,
    ``newCloudSecretsManager`` its Decrypt, directly (no AWS service in between, so no kms:ViaService)."""
    account = ACCOUNTS[preview.stack]
    root = f"arn:aws:iam::{account}:root"
    policy = statements(preview.get(KEY, "state-stack-secrets"))
    tenants = {"bootstrap-dev": set(), "bootstrap-prod": {"TenantDeployRunnersDecryptStackSecrets"}}[preview.stack]
    assert set(policy) == {"AccountAdministration", "AccountPrincipalsEncryptStackSecrets", *tenants}
    assert policy["AccountAdministration"]["Principal"] == {"AWS": root}
    assert policy["AccountAdministration"]["Action"] == list(ADMIN_ACTIONS)
    assert policy["AccountPrincipalsEncryptStackSecrets"] == {
        "Sid": "AccountPrincipalsEncryptStackSecrets",
        "Effect": "Allow",
        "Principal": {"AWS": root},
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": account}},
    }


def test_keys_rotate_keep_their_window_and_never_bypass_the_lockout_check(preview: Preview) -> None:
    window = {"bootstrap-dev": 7, "bootstrap-prod": 30}[preview.stack]
    for key in preview.by_type(KEY):
        assert key.inputs["enableKeyRotation"] is True
        assert key.inputs["rotationPeriodInDays"] == 365
        assert key.inputs["deletionWindowInDays"] == window
        assert key.inputs["bypassPolicyLockoutSafetyCheck"] is False
        assert key.inputs["keyUsage"] == "ENCRYPT_DECRYPT"
    aliases = {record.inputs["name"]: record for record in preview.by_type("aws:kms/alias:Alias")}
    env = _env(preview)
    assert set(aliases) == {f"alias/{env}/platform/state", f"alias/{env}/platform/stack-secrets"}
    for purpose in ("state", "stack-secrets"):
        target = aliases[f"alias/{env}/platform/{purpose}"].property_dependencies["targetKeyId"]
        assert target == [preview.get(KEY, f"state-{purpose}").urn]


def test_state_bucket_is_versioned_encrypted_private_and_tls_only(preview: Preview) -> None:
    account, env = ACCOUNTS[preview.stack], _env(preview)
    name = f"aip-{env}-platform-state-{account}-us-east-1"
    bucket = preview.get(BUCKET, "state")
    assert bucket.inputs["bucket"] == name
    assert bucket.inputs["forceDestroy"] is False
    block = preview.get("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "state").inputs
    assert all(block[flag] is True for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"))
    assert block["restrictPublicBuckets"] is True
    ownership = preview.get("aws:s3/bucketOwnershipControls:BucketOwnershipControls", "state").inputs
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    versioning = preview.get("aws:s3/bucketVersioning:BucketVersioning", "state").inputs
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}
    sse = preview.get("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "state")
    [rule] = sse.inputs["rules"]
    assert rule["bucketKeyEnabled"] is True
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert sse.property_dependencies["rules"] == [preview.get(KEY, "state-state").urn]
    arn = f"arn:aws:s3:::{name}"
    policy = statements(preview.get("aws:s3/bucketPolicy:BucketPolicy", "state"))
    assert policy["DenyInsecureTransport"] == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert policy["DenyEncryptionOverrides"]["Condition"] == {
        "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}
    }
    # Only a header that is present and names another encryption is refused: the CLI sends none (the bucket default
    # applies), and a negated or IfExists operator is true on an absent key (IAM User Guide, "IAM JSON policy
    # elements: Condition operators"); tests/infra/test_tier_c_state_access.py evaluates the CLI's writes.
    assert policy["DenyNonKmsEncryption"]["Condition"] == {
        "Null": {"s3:x-amz-server-side-encryption": "false"},
        "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
    }
    assert set(policy) == {
        "DenyInsecureTransport",
        "DenyEncryptionOverrides",
        "DenyNonKmsEncryption",
        *TENANT_RUNNER_STATEMENTS[preview.stack],
    }
    lifecycle = preview.get("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "state").inputs
    days = {"bootstrap-dev": 90, "bootstrap-prod": 365}[preview.stack]
    assert lifecycle["rules"] == [
        {
            "id": "expire-superseded-state",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrentVersionExpiration": {"noncurrentDays": days},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 1},
        }
    ]


def test_keys_and_bucket_are_protected_from_destroy(preview: Preview) -> None:
    protected = sorted(record.name for record in preview.resources if record.options.get("protect"))
    assert protected == ["state", "state-stack-secrets", "state-state"]


def test_every_resource_carries_the_states_classification(preview: Preview) -> None:
    expected = {"bootstrap-dev": "internal", "bootstrap-prod": "regulated"}[preview.stack]
    tagged = [record for record in preview.resources if "tags" in record.inputs]
    assert sorted(record.type for record in tagged) == [KEY, KEY, BUCKET]
    for record in tagged:
        tags: dict[str, Any] = record.inputs["tags"]
        assert tags["aiplatform:data-classification"] == expected
        assert (tags["aiplatform:tenant"], tags["aiplatform:tier"]) == ("platform", "platform")
        assert tags["aiplatform:stack"] == preview.stack


def test_outputs_are_what_the_cli_takes(preview: Preview) -> None:
    """`pulumi login` reads the bucket URL's ``region`` (gocloud.dev aws/aws.go ``V2ConfigFromURLParams``, which
    ignores ``awssdk``); the awskms keeper joins the URL's host and path and trims the leading ``/`` into the key id
    (gocloud.dev secrets/awskms/kms.go ``OpenKeeperURL``; an ARN's ``:`` cannot stand in a URL's host, hence
    ``awskms:///<ARN>``), and the key id is the alias ARN, the form KMS accepts from another account too (AWS KMS
    API Reference, Encrypt, ``KeyId``: "To specify a KMS key in a different AWS account, you must use the key ARN
    or alias ARN")."""
    account, env = ACCOUNTS[preview.stack], _env(preview)
    bucket = f"aip-{env}-platform-state-{account}-us-east-1"
    outputs = dict(preview.outputs)
    assert outputs.pop("stateKeyArn").startswith(f"arn:aws:kms:us-east-1:{account}:key/")
    assert outputs.pop("secretsKeyArn").startswith(f"arn:aws:kms:us-east-1:{account}:key/")
    assert outputs == {
        "stateBucketName": bucket,
        "secretsKeyAlias": f"alias/{env}/platform/stack-secrets",
        "backendUrl": f"s3://{bucket}?region=us-east-1&awssdk=v2",
        "secretsProvider": f"awskms:///arn:aws:kms:us-east-1:{account}:alias/{env}/platform/stack-secrets"
        "?region=us-east-1",
    }


BOOTSTRAP = {
    "environment": "prod",
    "deployment": "bootstrap",
    "region": "us-east-1",
    "costCenter": "cc-ml-platform",
    "contact": "ml-platform@example.com",
    "bootstrap": {"accountId": "444455556666"},
}


def test_the_pack_judges_the_state_resources_by_their_purposes() -> None:
    """The pack knows `state` and `stack-secrets` from the standards data (kms.purposes): a state bucket encrypted
    with the stack-secrets key is a KMS-5 violation."""
    settings = parse_settings(BOOTSTRAP)

    def body() -> None:
        register_standard_tags(settings)
        backend = StateBackend("state", StateBackendArgs(settings))
        aws.s3.BucketServerSideEncryptionConfiguration(
            "wrong-key", bucket=backend.bucket.id, rules=[s3.kms_encryption(backend.keys[STACK_SECRETS].arn)]
        )

    result = preview_function(
        body,
        stack="bootstrap-prod",
        config={"secure-ai-platform:environment": "prod", "aws:region": "us-east-1"},
        mode="update",
        policy_packs=[PACK],
    )
    assert [(v.policy, v.urn.rsplit("::", 1)[1], v.message.splitlines()[1]) for v in result.violations] == [
        (
            "kms-key-partitioning",
            "wrong-key",
            "BucketServerSideEncryptionConfiguration 'wrong-key': rules uses a key for stack-secrets; expected a key "
            "for state. Fix: pass the key of the matching purpose",
        )
    ]


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        ({"bootstrap": None}, ["bootstrap: required (set accountId, quoted; see Pulumi.yaml)"]),
        (
            {"roles": {"platformAdmin": "x"}},
            [
                "roles.platformAdmin: 'x' is not an IAM role ARN (use arn:aws:iam::<account>:role/<name>, from the "
                "baseline stack's outputs)",
                "roles.breakGlass: required (set it in the stack file; see Pulumi.yaml for its meaning)",
                "roles.deployer: required (set it in the stack file; see Pulumi.yaml for its meaning)",
                "roles.ci: required (set it in the stack file; see Pulumi.yaml for its meaning)",
                "roles.tenantBoundary: required (set it in the stack file; see Pulumi.yaml for its meaning)",
            ],
        ),
        (
            {"bootstrap": {"accountId": 444455556666}},
            ["bootstrap.accountId: Input should be a valid string (got 444455556666)"],
        ),
        (
            {"bootstrap": {"accountId": "4444"}},
            ["bootstrap.accountId: '4444' is not an AWS account id (12 digits, quoted in YAML)"],
        ),
        (
            {"bootstrap": {"accountId": "444455556666", "dataClassification": "secret"}},
            [
                "bootstrap.dataClassification: 'secret' is not allowed (use 'public', 'internal', 'confidential', "
                "'restricted' or 'regulated')"
            ],
        ),
        (
            {"bootstrap": {"accountId": "444455556666", "tenantAccounts": [{"tenant": "Clinical", "accountId": "1"}]}},
            [
                "bootstrap.tenantAccounts[0].tenant: 'Clinical' is not a DNS label (use lowercase letters, digits "
                "and '-')",
                "bootstrap.tenantAccounts[0].accountId: '1' is not an AWS account id (12 digits, quoted in YAML)",
            ],
        ),
        (
            {
                "bootstrap": {
                    "accountId": "444455556666",
                    "tenantAccounts": [
                        {"tenant": "clinical", "accountId": "555566667777"},
                        {"tenant": "clinical", "accountId": "666677778888"},
                    ],
                }
            },
            ["bootstrap: tenantAccounts: tenant clinical is listed twice (one entry per tier C tenant)"],
        ),
        (
            {
                "bootstrap": {
                    "accountId": "444455556666",
                    "tenantAccounts": [{"tenant": "clinical", "accountId": "444455556666"}],
                }
            },
            [
                "bootstrap: tenantAccounts[0].accountId: '444455556666' is this bootstrap's own account (its "
                "principals are admitted already; list only tier C tenants' own accounts)"
            ],
        ),
    ],
)
def test_bad_bootstrap_config_names_the_key_and_the_fix(change: dict[str, Any], problems: list[str]) -> None:
    raw = {key: value for key, value in {**BOOTSTRAP, **change}.items() if value is not None}
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    assert caught.value.problems == problems


def test_roles_and_tenants_are_refused_in_a_bootstrap_stack() -> None:
    roles = {
        "platformAdmin": "arn:aws:iam::444455556666:role/a",
        "breakGlass": "arn:aws:iam::444455556666:role/b",
        "deployer": "arn:aws:iam::444455556666:role/c",
        "ci": "arn:aws:iam::444455556666:role/d",
        "tenantBoundary": "arn:aws:iam::444455556666:policy/e",
    }
    tenant = {
        "name": "search",
        "tier": "shared",
        "dataClassification": "internal",
        "owner": "search@example.com",
        "costCenter": "cc-search",
        "monthlyBudgetUsd": 10,
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings({**BOOTSTRAP, "roles": roles, "tenants": [tenant]})
    assert caught.value.problems == [
        "roles: the bootstrap deployment runs before the account baseline and names no role (remove it from this "
        "stack)",
        "tenants: the bootstrap deployment hosts no tenant (remove them; set bootstrap.dataClassification for the "
        "state's classification)",
    ]


def test_only_the_bootstrap_deployment_reads_the_bootstrap_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            {
                **BOOTSTRAP,
                "deployment": "account-baseline",
                "baseline": {"accountId": "444455556666", "deployer": {"repository": "o/r"}},
            }
        )
    assert caught.value.problems == ["bootstrap: only the bootstrap deployment reads it (remove it from this stack)"]


def test_the_stack_files_pin_the_account_they_bootstrap() -> None:
    for stack, account in ACCOUNTS.items():
        config = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert config["aws:allowedAccountIds"] == [account]
        assert config["secure-ai-platform:bootstrap"]["accountId"] == account
        assert config["secure-ai-platform:deployment"] == "bootstrap"
