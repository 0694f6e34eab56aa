"""KeyRing: one key per (environment, owner, purpose), rotation, deletion window, exact key policies."""

from __future__ import annotations

from typing import Any

import pytest
from platform_support import ACCOUNT, REGION, run, settings, statements

from infra.components.key_ring import KeyRing, KeyRingArgs, deletion_window_days
from preflight import Preview, ProgramError

SETTINGS = settings()
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/aip-dev-platform-break-glass"
DEPLOYER = f"arn:aws:iam::{ACCOUNT}:role/aip-dev-platform-deployer"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/aip-dev-platform-platform-admin"
WORKLOAD = f"arn:aws:iam::{ACCOUNT}:role/aip-dev-search-workload"
AUTOSCALING = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
TENANT_PURPOSES = ("registry", "models", "data", "logs", "volumes")
KEY = "aws:kms/key:Key"

ADMINISTRATION = {
    "Sid": "AccountAdministration",
    "Effect": "Allow",
    "Principal": {"AWS": ROOT},
    "Action": [
        "kms:CancelKeyDeletion",
        "kms:CreateAlias",
        "kms:DeleteAlias",
        "kms:Describe*",
        "kms:Disable*",
        "kms:Enable*",
        "kms:Get*",
        "kms:List*",
        "kms:PutKeyPolicy",
        "kms:RevokeGrant",
        "kms:RotateKeyOnDemand",
        "kms:ScheduleKeyDeletion",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:Update*",
    ],
    "Resource": "*",
}
BREAK_GLASS_STATEMENT = {
    "Sid": "BreakGlass",
    "Effect": "Allow",
    "Principal": {"AWS": BREAK_GLASS},
    "Action": "kms:*",
    "Resource": "*",
}
USE = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]


def use_through(principal: str, service: str) -> dict[str, Any]:
    return {
        "Sid": "OwnerUseThroughAwsServices",
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": USE,
        "Resource": "*",
        "Condition": {
            "StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": f"{service}.{REGION}.amazonaws.com"}
        },
    }


def logs_service(*prefixes: str) -> dict[str, Any]:
    return {
        "Sid": "CloudWatchLogsForOwnerLogGroups",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
        "Action": ["kms:Decrypt*", "kms:Describe*", "kms:Encrypt*", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
        "Resource": "*",
        "Condition": {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": [
                    f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{prefix}*" for prefix in prefixes
                ]
            }
        },
    }


def grants(principal: str, service: str) -> dict[str, Any]:
    return {
        "Sid": "DeployerGrantsForAwsResources",
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
        "Resource": "*",
        "Condition": {
            "Bool": {"kms:GrantIsForAWSResource": "true"},
            "StringEquals": {"kms:ViaService": f"{service}.{REGION}.amazonaws.com"},
        },
    }


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        KeyRing("search-keys", KeyRingArgs(SETTINGS, "search", TENANT_PURPOSES, [WORKLOAD]))
        KeyRing(
            "platform-keys",
            KeyRingArgs(
                SETTINGS,
                "platform",
                ("cluster-secrets", "logs"),
                [ADMIN],
                extra_log_group_prefixes=("/aws/eks/aip-dev/",),
                budget_alerts=True,
            ),
        )

    return run(body, SETTINGS)


def test_one_key_and_alias_per_owner_and_purpose(preview: Preview) -> None:
    aliases = {record.inputs["name"] for record in preview.by_type("aws:kms/alias:Alias")}
    assert aliases == {f"alias/dev/search/{p}" for p in TENANT_PURPOSES} | {
        "alias/dev/platform/cluster-secrets",
        "alias/dev/platform/logs",
    }
    keys = {record.name for record in preview.by_type(KEY)}
    assert keys == {f"search-keys-{p}" for p in TENANT_PURPOSES} | {
        "platform-keys-cluster-secrets",
        "platform-keys-logs",
    }
    for alias in preview.by_type("aws:kms/alias:Alias"):
        [target] = alias.property_dependencies["targetKeyId"]
        assert preview.by_urn(target).name == alias.name, alias.urn


def test_keys_rotate_and_have_the_environment_deletion_window(preview: Preview) -> None:
    for key in preview.by_type(KEY):
        inputs = key.inputs
        assert inputs["enableKeyRotation"] is True, key.urn
        assert inputs["rotationPeriodInDays"] == 365, key.urn
        assert inputs["deletionWindowInDays"] == 7, key.urn
        assert inputs["bypassPolicyLockoutSafetyCheck"] is False, key.urn
        assert inputs["keyUsage"] == "ENCRYPT_DECRYPT", key.urn
        assert inputs["customerMasterKeySpec"] == "SYMMETRIC_DEFAULT", key.urn


@pytest.mark.parametrize(("environment", "days"), [("dev", 7), ("staging", 30), ("prod", 30)])
def test_deletion_window_per_environment(environment: str, days: int) -> None:
    assert deletion_window_days(settings(environment)) == days


@pytest.mark.parametrize(("purpose", "service"), [("models", "s3"), ("data", "s3")])
def test_data_keys_admit_only_root_admin_break_glass_and_owner_through_s3(
    preview: Preview, purpose: str, service: str
) -> None:
    policy = statements(preview.get(KEY, f"search-keys-{purpose}"))
    assert list(policy.values()) == [ADMINISTRATION, BREAK_GLASS_STATEMENT, use_through(WORKLOAD, service)]


def test_tenant_registry_key_delegates_ecr_grants_to_the_account_not_to_a_platform_role(preview: Preview) -> None:
    policy = statements(preview.get(KEY, "search-keys-registry"))
    assert list(policy.values()) == [
        ADMINISTRATION,
        BREAK_GLASS_STATEMENT,
        use_through(WORKLOAD, "ecr"),
        grants(ROOT, "ecr"),
    ]


def test_volumes_key_admits_the_auto_scaling_service_linked_role_through_ec2(preview: Preview) -> None:
    policy = statements(preview.get(KEY, "search-keys-volumes"))
    assert list(policy.values()) == [
        ADMINISTRATION,
        BREAK_GLASS_STATEMENT,
        use_through(WORKLOAD, "ec2"),
        {
            "Sid": "AutoScalingVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": AUTOSCALING},
            "Action": USE,
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": f"ec2.{REGION}.amazonaws.com"}
            },
        },
        {
            "Sid": "AutoScalingGrantsForVolumes",
            "Effect": "Allow",
            "Principal": {"AWS": AUTOSCALING},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
    ]


def test_tenant_logs_key_encrypts_only_the_tenant_log_groups(preview: Preview) -> None:
    policy = statements(preview.get(KEY, "search-keys-logs"))
    assert list(policy.values()) == [
        ADMINISTRATION,
        BREAK_GLASS_STATEMENT,
        use_through(WORKLOAD, "logs"),
        logs_service("/aip/dev/search/"),
    ]


def test_platform_logs_key_admits_the_eks_log_group_and_budget_alerts(preview: Preview) -> None:
    policy = statements(preview.get(KEY, "platform-keys-logs"))
    assert list(policy.values()) == [
        ADMINISTRATION,
        BREAK_GLASS_STATEMENT,
        use_through(ADMIN, "logs"),
        logs_service("/aip/dev/platform/", "/aws/eks/aip-dev/"),
        {
            "Sid": "BudgetsPublishToAlertTopic",
            "Effect": "Allow",
            "Principal": {"Service": "budgets.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        },
    ]


def test_cluster_secrets_key_lets_the_deployer_grant_eks_only(preview: Preview) -> None:
    policy = statements(preview.get(KEY, "platform-keys-cluster-secrets"))
    assert list(policy.values()) == [
        ADMINISTRATION,
        BREAK_GLASS_STATEMENT,
        use_through(ADMIN, "eks"),
        grants(DEPLOYER, "eks"),
    ]


def test_no_key_policy_has_a_wildcard_principal(preview: Preview) -> None:
    for key in preview.by_type(KEY):
        for statement in statements(key).values():
            assert statement["Principal"] != "*", key.urn
            for value in statement["Principal"].values():
                assert "*" not in (value if isinstance(value, list) else [value]), key.urn


def test_account_root_cannot_use_keys_or_create_grants() -> None:
    actions = set(ADMINISTRATION["Action"])
    assert not actions & {
        "kms:*",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:CreateGrant",
        "kms:Create*",
        "kms:GenerateDataKey*",
    }


def test_unknown_purpose_is_rejected() -> None:
    with pytest.raises(ProgramError, match=r"ValueError: KeyRing bad: unknown purposes \['secrets'\]"):
        run(lambda: KeyRing("bad", KeyRingArgs(SETTINGS, "search", ("secrets",), [WORKLOAD])), SETTINGS)


def test_audit_uses_need_the_audit_purpose() -> None:
    """The trail and the security alert topic are the account baseline's, under its audit key, never a logs key."""
    args = KeyRingArgs(SETTINGS, "platform", ("logs",), [ADMIN], security_alerts=True)
    with pytest.raises(ProgramError, match=r"KeyRing bad: audit_trail_arn and security_alerts need the audit purpose"):
        run(lambda: KeyRing("bad", args), SETTINGS)


def test_renamed_purposes_must_be_purposes_of_the_ring() -> None:
    args = KeyRingArgs(SETTINGS, "platform", ("audit",), [ADMIN], renamed_purposes={"default-volumes": "volumes"})
    with pytest.raises(ProgramError, match=r"renamed_purposes names \['default-volumes'\], which are not among"):
        run(lambda: KeyRing("bad", args), SETTINGS)
