"""The baseline's roles: who may assume each (principals and conditions), its boundary, its permissions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from platform_support import state_backend, statements

from infra.components import platform_roles, registry_baseline
from infra.config import BaselineConfig, ConfigError, PullThroughCache, parse_settings
from infra.deployments.account_baseline import baseline_settings
from preflight import Preview, preview_program

ROOT = Path(__file__).resolve().parents[2]

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "111122223333"
IDENTITY = "999988887777"
PATH = f"arn:aws:iam::{ACCOUNT}:role/aip-baseline"
GITHUB = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
BASE = {
    "environment": "dev",
    "deployment": "account-baseline",
    "region": "us-east-1",
    "costCenter": "cc-ml-platform",
    "contact": "ml-platform@example.com",
}


@pytest.fixture(scope="module")
def dev() -> Preview:
    return preview_program(REPO, "baseline-dev")


def role(preview: Preview, name: str) -> Any:
    return preview.get("aws:iam/role:Role", f"baseline-roles-{name}")


def trust(preview: Preview, name: str) -> list[dict[str, Any]]:
    statements_: list[dict[str, Any]] = json.loads(role(preview, name).inputs["assumeRolePolicy"])["Statement"]
    return statements_


def mfa(principals: str | list[str], max_age: str = "3600") -> dict[str, Any]:
    return {
        "Sid": "HumansWithRecentMfa",
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
        "Condition": {
            "Bool": {"aws:MultiFactorAuthPresent": "true"},
            "NumericLessThan": {"aws:MultiFactorAuthAge": max_age},
        },
    }


def github(subjects: list[str]) -> dict[str, Any]:
    return {
        "Sid": "GithubActionsWorkflows",
        "Effect": "Allow",
        "Principal": {"Federated": GITHUB},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
            "StringLike": {"token.actions.githubusercontent.com:sub": subjects},
        },
    }


DEPLOYER_SUBJECTS = ["repo:example-org/secure-ai-platform:ref:refs/heads/main"]


def test_human_roles_require_recent_mfa_from_the_configured_principals(dev: Preview) -> None:
    assert trust(dev, "platform-admin") == [mfa(f"arn:aws:iam::{IDENTITY}:role/platform-administrators")]
    assert trust(dev, "break-glass") == [mfa(f"arn:aws:iam::{IDENTITY}:role/security-oncall")]


def test_deployer_is_github_actions_of_the_platform_repository_main_branch(dev: Preview) -> None:
    assert trust(dev, "deployer") == [github(DEPLOYER_SUBJECTS)]
    assert "baseline-roles-github" in {dev.by_urn(urn).name for urn in role(dev, "deployer").dependencies}


def test_ci_is_github_actions_of_the_workloads_repository(dev: Preview) -> None:
    assert trust(dev, "ci") == [
        github(
            [
                "repo:example-org/ml-workloads:ref:refs/heads/main",
                "repo:example-org/ml-workloads:ref:refs/heads/release/*",
            ]
        )
    ]


def test_audit_is_humans_with_mfa_or_the_deployer_workflows(dev: Preview) -> None:
    assert trust(dev, "audit") == [
        mfa(f"arn:aws:iam::{IDENTITY}:role/platform-administrators"),
        github(DEPLOYER_SUBJECTS),
    ]


def test_ecr_templates_role_is_ecr_of_this_account(dev: Preview) -> None:
    assert trust(dev, "ecr-templates") == [
        {
            "Sid": "EcrOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "ecr.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ]


def test_github_oidc_provider(dev: Preview) -> None:
    provider = dev.get("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "baseline-roles-github")
    assert provider.inputs["url"] == "https://token.actions.githubusercontent.com"
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]


@pytest.mark.parametrize("name", ["platform-admin", "break-glass", "deployer", "ci", "audit", "ecr-templates"])
def test_every_role_has_the_platform_boundary_and_a_derived_name(dev: Preview, name: str) -> None:
    record = role(dev, name)
    assert record.inputs["name"] == f"aip-dev-platform-{name}"
    assert record.inputs["path"] == "/aip-baseline/"
    assert record.inputs["maxSessionDuration"] == 3600
    assert [dev.by_urn(urn).name for urn in record.property_dependencies["permissionsBoundary"]] == [
        "baseline-roles-platform-boundary"
    ]


def test_managed_policies_attached(dev: Preview) -> None:
    attached = {
        (dev.by_urn(record.property_dependencies["role"][0]).name, record.inputs["policyArn"])
        for record in dev.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    }
    assert attached == {
        ("baseline-roles-platform-admin", "arn:aws:iam::aws:policy/AdministratorAccess"),
        ("baseline-roles-break-glass", "arn:aws:iam::aws:policy/AdministratorAccess"),
        ("baseline-roles-deployer", "arn:aws:iam::aws:policy/PowerUserAccess"),
    }


def test_tenant_boundary_denies_iam_changes_key_administration_and_other_tenants(dev: Preview) -> None:
    policy = dev.get("aws:iam/policy:Policy", "baseline-roles-tenant-boundary")
    assert policy.inputs["name"] == "aip-dev-tenant-boundary"
    assert policy.inputs["path"] == "/aip-baseline/"
    by_sid = statements(policy)
    assert list(by_sid) == [
        "AllowOutsideIdentityAndKeys",
        "AllowPassingPlatformStackRoles",
        "AllowUsingAccountKeys",
        "AllowGrantsForAwsResources",
        "DenyIamChanges",
        "DenyKeyAdministration",
        "DenyOtherTenantsResources",
        "DenyTaggingForOtherTenants",
        "DenyRetaggingTenantResources",
    ]
    assert by_sid["AllowOutsideIdentityAndKeys"]["NotAction"] == ["iam:*", "kms:*", "account:*", "organizations:*"]
    assert by_sid["AllowPassingPlatformStackRoles"]["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/aip-dev-*"
    assert by_sid["AllowUsingAccountKeys"]["Resource"] == [f"arn:aws:kms:*:{ACCOUNT}:key/*"]
    assert "kms:Decrypt" in by_sid["AllowUsingAccountKeys"]["Action"]
    assert by_sid["AllowGrantsForAwsResources"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    assert by_sid["DenyIamChanges"] == {
        "Sid": "DenyIamChanges",
        "Effect": "Deny",
        "Action": list(platform_roles.IAM_WRITE_ACTIONS),
        "Resource": "*",
    }
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:CreateKey", "kms:DisableKey"} <= set(
        by_sid["DenyKeyAdministration"]["Action"]
    )
    assert by_sid["DenyOtherTenantsResources"] == {
        "Sid": "DenyOtherTenantsResources",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "Null": {"aws:ResourceTag/aiplatform:tenant": "false"},
            "StringNotEquals": {
                "aws:ResourceTag/aiplatform:tenant": ["${aws:PrincipalTag/aiplatform:tenant}", "platform"],
                "aws:PrincipalTag/aiplatform:tenant": "platform",
            },
        },
    }
    assert by_sid["DenyTaggingForOtherTenants"]["Condition"] == {
        "Null": {"aws:RequestTag/aiplatform:tenant": "false"},
        "StringNotEquals": {
            "aws:RequestTag/aiplatform:tenant": "${aws:PrincipalTag/aiplatform:tenant}",
            "aws:PrincipalTag/aiplatform:tenant": "platform",
        },
    }
    assert by_sid["DenyRetaggingTenantResources"]["Condition"] == {
        "Null": {"aws:ResourceTag/aiplatform:tenant": "false"},
        "ForAnyValue:StringEquals": {"aws:TagKeys": ["aiplatform:tenant"]},
        "StringNotEquals": {"aws:PrincipalTag/aiplatform:tenant": "platform"},
    }


def test_no_statement_allows_everything_or_decrypt_on_every_key(dev: Preview) -> None:
    """IAM-2 and KMS-4 over every IAM document the baseline writes."""
    documents = [statements(record) for record in dev.by_type("aws:iam/policy:Policy")]
    documents += [
        statements(record)
        for record in dev.by_type("aws:iam/rolePolicy:RolePolicy")
        if isinstance(record.inputs["policy"], str)
    ]
    for by_sid in documents:
        for statement in by_sid.values():
            if statement["Effect"] != "Allow" or "Action" not in statement:
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions, statement
            assert not [action for action in actions if action.endswith(":*")], statement
            if statement["Resource"] == "*":
                assert not {"kms:Decrypt", "kms:ReEncrypt*", "kms:ReEncryptFrom"} & set(actions), statement


def test_platform_boundary_protects_audit_evidence_and_the_baseline(dev: Preview) -> None:
    by_sid = statements(dev.get("aws:iam/policy:Policy", "baseline-roles-platform-boundary"))
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/aip-dev-platform-audit"
    bucket = f"arn:aws:s3:::aip-dev-platform-audit-{ACCOUNT}-us-east-1"
    destruction = by_sid["DenyAuditEvidenceDestruction"]
    assert "Condition" not in destruction
    assert {
        "cloudtrail:StopLogging",
        "cloudtrail:DeleteTrail",
        "guardduty:DeleteDetector",
        "s3:BypassGovernanceRetention",
    } <= set(destruction["Action"])
    assert {trail, bucket, f"{bucket}/*"} <= set(destruction["Resource"])
    changes = by_sid["DenyBaselineChangesOutsideOperators"]
    assert changes["Condition"] == {
        "ArnNotLike": {
            "aws:PrincipalArn": [f"{PATH}/aip-dev-platform-platform-admin", f"{PATH}/aip-dev-platform-break-glass"]
        }
    }
    assert {f"arn:aws:iam::{ACCOUNT}:role/aip-baseline/*", f"arn:aws:iam::{ACCOUNT}:policy/aip-baseline/*"} <= set(
        changes["Resource"]
    )
    assert by_sid["DenyDisablingAccountDefaults"]["Action"] == [
        "ec2:DisableEbsEncryptionByDefault",
        "iam:DeleteRolePermissionsBoundary",
    ]
    assert set(by_sid["AllowOutsideKeysAndLongLivedCredentials"]["NotAction"]) >= {
        "kms:*",
        "iam:CreateUser",
        "iam:CreateAccessKey",
    }
    assert by_sid["AllowAccountKeys"]["Resource"] == [
        f"arn:aws:kms:*:{ACCOUNT}:key/*",
        f"arn:aws:kms:*:{ACCOUNT}:alias/*",
    ]


def test_deployer_creates_roles_only_with_the_tenant_boundary(dev: Preview) -> None:
    by_sid = statements(dev.get("aws:iam/rolePolicy:RolePolicy", "baseline-roles-deployer"))
    assert by_sid["CreateRolesWithTenantBoundary"] == {
        "Sid": "CreateRolesWithTenantBoundary",
        "Effect": "Allow",
        "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
        "Resource": f"arn:aws:iam::{ACCOUNT}:role/aip-dev-*",
        "Condition": {
            "ArnEquals": {
                "iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/aip-baseline/aip-dev-tenant-boundary"
            }
        },
    }
    # Nothing the deployer may touch in IAM is under the baseline's path.
    for statement in by_sid.values():
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert all("/aip-dev-" in resource or "oidc.eks." in resource for resource in resources), statement


def test_ci_pushes_only_to_the_environment_tenant_repositories(dev: Preview) -> None:
    assert statements(dev.get("aws:iam/rolePolicy:RolePolicy", "baseline-roles-ci")) == {
        "RegistryLogin": {
            "Sid": "RegistryLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        "PushTenantImages": {
            "Sid": "PushTenantImages",
            "Effect": "Allow",
            "Action": list(platform_roles.ECR_PUSH_ACTIONS),
            "Resource": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/dev/*",
        },
    }


def test_audit_role_gets_exactly_the_audits_shipped_policy(dev: Preview) -> None:
    shipped = json.loads((ROOT / "audit" / "iam-policy.json").read_text())["Statement"]
    assert list(statements(dev.get("aws:iam/rolePolicy:RolePolicy", "baseline-roles-audit")).values()) == shipped


def test_audit_reads_configuration_never_data(dev: Preview) -> None:
    for statement in statements(dev.get("aws:iam/rolePolicy:RolePolicy", "baseline-roles-audit")).values():
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        assert all(":" in action and "*" not in action for action in actions)
        assert not [a for a in actions if a in ("s3:GetObject", "secretsmanager:GetSecretValue", "logs:GetLogEvents")]
        assert not [a for a in actions if a.split(":")[1].startswith(("Put", "Create", "Delete", "Update"))]


def test_template_permissions_name_only_the_cache_prefixes_and_the_registry_key() -> None:
    stack, baseline = baseline_settings(
        parse_settings({**BASE, "baseline": {"accountId": ACCOUNT, "deployer": {"repository": "o/r"}}})
    )
    caches = [PullThroughCache(upstream="ecr-public"), PullThroughCache(upstream="quay", prefix="quay-io")]
    assert registry_baseline.template_permissions(stack, caches)[0]["Resource"] == [
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/ecr-public/*",
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/quay-io/*",
    ]
    assert baseline.pull_through_caches == (PullThroughCache(upstream="ecr-public"),)


# --- the baseline config: secure defaults and validation --------------------------------------


def baseline(**overrides: Any) -> BaselineConfig:
    raw = {"accountId": ACCOUNT, "deployer": {"repository": "example-org/secure-ai-platform"}, **overrides}
    config = parse_settings({**BASE, "baseline": raw}).baseline
    assert config is not None
    return config


def test_defaults_are_the_secure_ones() -> None:
    config = baseline()
    assert config.trusted_humans() == (f"arn:aws:iam::{ACCOUNT}:root",)
    assert config.trusted_break_glass() == (f"arn:aws:iam::{ACCOUNT}:root",)
    assert config.deployer.branches == ("main",)
    assert config.ci_trust == config.deployer
    assert config.mfa_max_age_seconds == 3600
    assert [cache.repository_prefix for cache in config.pull_through_caches] == ["ecr-public"]
    assert config.data_event_prefixes("dev") == ("aip-dev-",)
    assert (config.lock_mode("dev"), config.lock_days("dev")) == ("GOVERNANCE", 90)
    assert (config.lock_mode("staging"), config.lock_days("staging")) == ("GOVERNANCE", 180)
    assert (config.lock_mode("prod"), config.lock_days("prod")) == ("COMPLIANCE", 365)
    assert config.alert_emails == ()


def test_derived_role_arns_are_the_config_other_stacks_take() -> None:
    roles = platform_roles.baseline_roles(ACCOUNT, "prod")
    assert roles.model_dump(by_alias=True) == {
        "platformAdmin": f"{PATH}/aip-prod-platform-platform-admin",
        "breakGlass": f"{PATH}/aip-prod-platform-break-glass",
        "deployer": f"{PATH}/aip-prod-platform-deployer",
        "ci": f"{PATH}/aip-prod-platform-ci",
        "tenantBoundary": f"arn:aws:iam::{ACCOUNT}:policy/aip-baseline/aip-prod-tenant-boundary",
    }
    # The platform stacks validate exactly this shape.
    parse_settings(
        {
            **BASE,
            "deployment": "shared-cluster",
            "roles": roles.model_dump(by_alias=True),
            "stateBackend": state_backend(ACCOUNT, "prod"),
        }
    )


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"accountId": "12345"}, "baseline.accountId: '12345' is not an AWS account id (12 digits, quoted in YAML)"),
        (
            {"humanPrincipals": ["arn:aws:iam::*:root"]},
            "baseline.humanPrincipals: 'arn:aws:iam::*:root' is not an account root, IAM role or IAM user ARN "
            "(use e.g. arn:aws:iam::111122223333:root or arn:aws:iam::111122223333:role/Admins; no wildcards)",
        ),
        (
            {"deployer": {"repository": "example-org/*"}},
            "baseline.deployer.repository: 'example-org/*' is not a GitHub repository (use '<owner>/<name>', no wildcards)",
        ),
        (
            {"deployer": {"repository": "o/r", "branches": ["*"]}},
            "baseline.deployer.branches: '*' is not a branch name or pattern (use e.g. 'main' or 'release/*'; a "
            "pattern may not start with '*': it would admit every branch anyone can push)",
        ),
        ({"mfaMaxAgeSeconds": 86400}, "baseline.mfaMaxAgeSeconds: 86400 is not between 300 and 43200 seconds"),
        (
            {"pullThroughCaches": [{"upstream": "docker-hub"}]},
            "baseline.pullThroughCaches[0]: upstream 'docker-hub' needs credentialArn (a Secrets Manager secret "
            "named ecr-pullthroughcache/…)",
        ),
        (
            {"pullThroughCaches": [{"upstream": "ecr-public"}, {"upstream": "quay", "prefix": "ecr-public"}]},
            "baseline: pullThroughCaches: prefix ecr-public is used twice (prefixes are unique per account and region)",
        ),
        (
            {"pullThroughCaches": [{"upstream": "k8s", "prefix": "prod"}]},
            "baseline.pullThroughCaches[0].prefix: 'prod' is the namespace of tenant repositories (choose another prefix)",
        ),
        (
            {"dataEventBucketPrefixes": []},
            "baseline.dataEventBucketPrefixes: empty (omit the key for the environment's bucket prefix; model and "
            "dataset buckets need data events)",
        ),
        (
            {"objectLockMode": "NONE"},
            "baseline.objectLockMode: 'NONE' is not allowed (use 'GOVERNANCE' or 'COMPLIANCE')",
        ),
    ],
)
def test_bad_baseline_config_is_rejected_with_its_fix(overrides: dict[str, Any], problem: str) -> None:
    raw = {"accountId": ACCOUNT, "deployer": {"repository": "example-org/secure-ai-platform"}, **overrides}
    with pytest.raises(ConfigError) as error:
        parse_settings({**BASE, "baseline": raw})
    assert error.value.problems == [problem]


def test_baseline_section_belongs_to_the_baseline_deployment_only() -> None:
    with pytest.raises(ConfigError) as error:
        parse_settings(BASE)
    assert error.value.problems == [
        "baseline: required (set at least accountId and deployer.repository; see Pulumi.yaml)"
    ]
