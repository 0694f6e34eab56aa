"""The shipped IAM policy is read-only, and exactly what the audit calls (least privilege).

Every test that audits through the ``audit_session`` fixture also asserts, at teardown, that each
call it recorded is read-only and allowed by the policy (tests/audit/conftest.py).
"""

from __future__ import annotations

from typing import Any

import boto3
from audit_emulator import ACCOUNT, deny
from audit_seed import CLUSTER, Environment
from audit_support import CallRecorder

from audit.permissions import READ_ONLY_ACTION_PREFIXES, allowed, iam_action, policy, policy_actions


def test_policy_is_read_only_and_names_every_action() -> None:
    document = policy()
    assert document["Version"] == "2012-10-17"
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert set(statement) == {"Sid", "Effect", "Action", "Resource"}
    for action in policy_actions():
        service, _, name = action.partition(":")
        assert "*" not in action, f"{action}: name actions, no wildcards"
        assert name.startswith(READ_ONLY_ACTION_PREFIXES), f"{action} is not a read action"
        assert service == service.lower()
    assert len(set(policy_actions())) == len(policy_actions())


def test_api_operations_map_to_their_iam_actions() -> None:
    assert iam_action("s3", "ListBuckets") == "s3:ListAllMyBuckets"
    assert iam_action("s3", "GetBucketEncryption") == "s3:GetEncryptionConfiguration"
    assert iam_action("budgets", "DescribeBudgets") == "budgets:ViewBudget"
    assert iam_action("resourcegroupstaggingapi", "GetResources") == "tag:GetResources"
    assert iam_action("kms", "GetKeyPolicy") == "kms:GetKeyPolicy"
    assert allowed("kms:getkeypolicy")
    assert not allowed("kms:ScheduleKeyDeletion")


def test_the_policy_is_exactly_what_the_audit_uses(
    env: Environment, audit_session: boto3.Session, audit: Any, recorder: CallRecorder
) -> None:
    """Least privilege: a compliant run, plus one where the Tagging API is denied (the listings then
    read tags one by one), a repository not scanned on push (the registry's scanning rules are read)
    and an access entry of an unknown principal (the entry is described for its ARN) together call
    every action the policy allows, and nothing else."""
    env.client("ecr").put_image_scanning_configuration(
        repositoryName="dev/fraud/inference", imageScanningConfiguration={"scanOnPush": False}
    )
    env.extras.add_access_entry(CLUSTER, f"arn:aws:iam::{ACCOUNT}:role/someone-by-hand")
    audit()
    deny(audit_session.events, "resource-groups-tagging-api", "GetResources")
    audit()
    assert recorder.actions == set(policy_actions())
