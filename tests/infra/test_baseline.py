"""The account baseline's contract: both reference stacks, previewed offline as the CLI would run them.

Every security-relevant input is asserted exactly: the account defaults, the trail and its
bucket and log group, GuardDuty and the analyzers, the registry settings, the alert path of the
break-glass role, and the stack outputs the platform stacks read.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from platform_support import statements

from preflight import UNKNOWN, Preview, preview_program

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy_packs" / "ai-guardrails"
ACCOUNTS = {"dev": "111122223333", "prod": "444455556666"}
STACKS = ("baseline-dev", "baseline-prod")

EXPECTED_COUNTS = {
    "aws:accessanalyzer/analyzer:Analyzer": 2,
    "aws:cloudtrail/trail:Trail": 1,
    "aws:cloudwatch/eventRule:EventRule": 1,
    "aws:cloudwatch/eventTarget:EventTarget": 1,
    "aws:cloudwatch/logGroup:LogGroup": 1,
    "aws:costexplorer/costAllocationTag:CostAllocationTag": 7,
    "aws:ebs/defaultKmsKey:DefaultKmsKey": 1,
    "aws:ebs/encryptionByDefault:EncryptionByDefault": 1,
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule": 2,
    "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration": 1,
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": 2,
    "aws:guardduty/detector:Detector": 1,
    "aws:guardduty/detectorFeature:DetectorFeature": 2,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 1,
    "aws:iam/policy:Policy": 2,
    "aws:iam/role:Role": 7,
    "aws:iam/rolePolicy:RolePolicy": 5,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 3,
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": 1,
    "aws:kms/alias:Alias": 3,
    "aws:kms/key:Key": 3,
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": 1,
    "aws:s3/bucket:Bucket": 1,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": 1,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
    "aws:s3/bucketPolicy:BucketPolicy": 1,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
    "aws:s3/bucketVersioning:BucketVersioning": 1,
    "aws:sns/topic:Topic": 1,
    "aws:sns/topicPolicy:TopicPolicy": 1,
    "aws:sns/topicSubscription:TopicSubscription": 1,
    "pulumi:providers:aws": 1,
    "pulumi:pulumi:Stack": 1,
    "secure-ai-platform:account_defaults:AccountDefaults": 1,
    "secure-ai-platform:audit_trail:AuditTrail": 1,
    "secure-ai-platform:key_ring:KeyRing": 1,
    "secure-ai-platform:platform_roles:PlatformRoles": 1,
    "secure-ai-platform:registry_baseline:RegistryBaseline": 1,
    "secure-ai-platform:security_alerts:SecurityAlerts": 1,
    "secure-ai-platform:service_linked_roles:ServiceLinkedRoles": 1,
    "secure-ai-platform:threat_detection:ThreatDetection": 1,
}


def _packs() -> list[Path] | None:
    """The policy pack once it is buildable; until then the stacks are previewed without it."""
    return [PACK] if (PACK / "PulumiPolicy.yaml").exists() and (PACK / "__main__.py").exists() else None


@pytest.fixture(scope="module", params=STACKS)
def preview(request: pytest.FixtureRequest) -> Preview:
    return preview_program(REPO, request.param, policy_packs=_packs())


@pytest.fixture(scope="module")
def dev() -> Preview:
    return preview_program(REPO, "baseline-dev")


@pytest.fixture(scope="module")
def prod() -> Preview:
    return preview_program(REPO, "baseline-prod")


def env(preview: Preview) -> str:
    return preview.stack.removeprefix("baseline-")


def dependency_names(preview: Preview, record: Any, prop: str) -> list[str]:
    return [preview.by_urn(urn).name for urn in record.property_dependencies.get(prop, [])]


def one(preview: Preview, token: str) -> Any:
    records = preview.by_type(token)
    assert len(records) == 1, f"{preview.stack}: {len(records)} {token}"
    return records[0]


# Mandatory violations that only a change to the ai-guardrails pack removes (the baseline is right and
# the pack's allowlists predate it); each names the change. When the pack changes, its entry must go.
PENDING_PACK_CHANGES: dict[tuple[str, str], str] = {}


@pytest.mark.slow
def test_stack_passes_preflight_but_for_pending_pack_changes(preview: Preview) -> None:
    assert preview.errors == []
    assert preview.advisory == []
    if _packs() is None:
        assert preview.mandatory == []
        return
    violating = {(v.policy, preview.by_urn(v.urn).name) for v in preview.mandatory}
    assert violating == set(PENDING_PACK_CHANGES)


def test_resource_counts(preview: Preview) -> None:
    assert dict(Counter(record.type for record in preview.resources)) == EXPECTED_COUNTS


def test_ebs_encryption_by_default_with_the_baseline_default_volumes_key(preview: Preview) -> None:
    assert one(preview, "aws:ebs/encryptionByDefault:EncryptionByDefault").inputs == {"enabled": True}
    default_key = one(preview, "aws:ebs/defaultKmsKey:DefaultKmsKey")
    assert default_key.inputs == {"keyArn": UNKNOWN}
    assert dependency_names(preview, default_key, "keyArn") == ["baseline-keys-default-volumes"]
    key = preview.get("aws:kms/key:Key", "baseline-keys-default-volumes")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["description"].startswith(f"alias/{env(preview)}/platform/default-volumes:")


def test_account_public_access_block_has_all_four_flags(preview: Preview) -> None:
    assert one(preview, "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock").inputs == {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }


def test_standard_tags_are_cost_allocation_tags(preview: Preview) -> None:
    tags = {
        record.inputs["tagKey"]: record.inputs["status"]
        for record in preview.by_type("aws:costexplorer/costAllocationTag:CostAllocationTag")
    }
    assert tags == {
        key: "Active"
        for key in (
            "aiplatform:environment",
            "aiplatform:tier",
            "aiplatform:tenant",
            "aiplatform:data-classification",
            "aiplatform:cost-center",
            "aiplatform:contact",
            "aiplatform:stack",
        )
    }


def test_trail_is_multi_region_validated_encrypted_and_delivered_to_logs(preview: Preview) -> None:
    e, account = env(preview), ACCOUNTS[env(preview)]
    trail = one(preview, "aws:cloudtrail/trail:Trail")
    bucket = f"aip-{e}-platform-audit-{account}-us-east-1"
    inputs = {key: value for key, value in trail.inputs.items() if key != "tags"}
    assert inputs == {
        "name": f"aip-{e}-platform-audit",
        "s3BucketName": bucket,
        "isMultiRegionTrail": True,
        "includeGlobalServiceEvents": True,
        "enableLogFileValidation": True,
        "enableLogging": True,
        "kmsKeyId": UNKNOWN,
        "cloudWatchLogsGroupArn": f"arn:aws:logs:us-east-1:{account}:log-group:/aip/{e}/platform/cloudtrail:*",
        "cloudWatchLogsRoleArn": UNKNOWN,
        "advancedEventSelectors": [
            {"name": "All management events", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]},
            {
                "name": "Model and dataset bucket objects",
                "fieldSelectors": [
                    {"field": "eventCategory", "equals": ["Data"]},
                    {"field": "resources.type", "equals": ["AWS::S3::Object"]},
                    {
                        "field": "resources.ARN",
                        "startsWiths": [f"arn:aws:s3:::aip-{e}-"],
                        "notStartsWiths": [f"arn:aws:s3:::{bucket}/"],
                    },
                ],
            },
        ],
    }
    assert dependency_names(preview, trail, "kmsKeyId") == ["baseline-keys-audit"]
    assert dependency_names(preview, trail, "cloudWatchLogsRoleArn") == ["baseline-audit-delivery"]
    # The trail waits for its bucket policy, log group and delivery permissions.
    waits = {preview.by_urn(urn).type for urn in trail.dependencies}
    assert {"aws:s3/bucketPolicy:BucketPolicy", "aws:cloudwatch/logGroup:LogGroup"} <= waits


def test_trail_log_group_is_encrypted_with_retention(preview: Preview) -> None:
    group = one(preview, "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == f"/aip/{env(preview)}/platform/cloudtrail"
    assert group.inputs["retentionInDays"] == (365 if env(preview) == "prod" else 90)
    assert dependency_names(preview, group, "kmsKeyId") == ["baseline-keys-audit"]


@pytest.mark.parametrize(("stack", "mode", "days"), [("dev", "GOVERNANCE", 90), ("prod", "COMPLIANCE", 365)])
def test_log_bucket_object_lock_per_environment(dev: Preview, prod: Preview, stack: str, mode: str, days: int) -> None:
    preview = {"dev": dev, "prod": prod}[stack]
    bucket = one(preview, "aws:s3/bucket:Bucket")
    assert bucket.inputs["objectLockEnabled"] is True
    assert bucket.inputs["forceDestroy"] is False
    lock = one(preview, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert lock.inputs["objectLockEnabled"] == "Enabled"
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": mode, "days": days}}


def test_log_bucket_is_hardened(preview: Preview) -> None:
    assert one(preview, "aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"] == {
        "status": "Enabled"
    }
    assert one(preview, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"
    }
    block = one(preview, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[flag] is True
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    sse = one(preview, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"] == [
        {
            "applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": UNKNOWN},
            "bucketKeyEnabled": True,
        }
    ]
    assert dependency_names(preview, sse, "rules") == ["baseline-keys-audit"]
    lifecycle = one(preview, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    days = 365 if env(preview) == "prod" else 90
    assert lifecycle.inputs["rules"] == [
        {
            "id": "archive-audit-logs",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "transitions": [{"days": 90, "storageClass": "GLACIER_IR"}],
            "noncurrentVersionExpiration": {"noncurrentDays": days},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7},
        }
    ]


def test_log_bucket_policy_admits_only_the_trail_and_the_auditors(preview: Preview) -> None:
    e, account = env(preview), ACCOUNTS[env(preview)]
    arn = f"arn:aws:s3:::aip-{e}-platform-audit-{account}-us-east-1"
    trail = f"arn:aws:cloudtrail:us-east-1:{account}:trail/aip-{e}-platform-audit"
    by_sid = statements(one(preview, "aws:s3/bucketPolicy:BucketPolicy"))
    assert by_sid == {
        "DenyInsecureTransport": {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        "CloudTrailChecksAcl": {
            "Sid": "CloudTrailChecksAcl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": arn,
            "Condition": {"StringEquals": {"aws:SourceArn": trail}},
        },
        "CloudTrailDelivers": {
            "Sid": "CloudTrailDelivers",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{arn}/AWSLogs/{account}/*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail, "s3:x-amz-acl": "bucket-owner-full-control"}},
        },
        "DenyWritesOutsideCloudTrail": {
            "Sid": "DenyWritesOutsideCloudTrail",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject*",
            "Resource": f"{arn}/*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalServiceName": "cloudtrail.amazonaws.com"}},
        },
        "DenyLogAccessOutsideAuditors": {
            "Sid": "DenyLogAccessOutsideAuditors",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:DeleteObject*", "s3:GetObject*", "s3:ListBucket*", "s3:RestoreObject"],
            "Resource": [arn, f"{arn}/*"],
            "Condition": {
                "ArnNotEquals": {
                    "aws:PrincipalArn": [
                        f"arn:aws:iam::{account}:role/aip-baseline/aip-{e}-platform-audit",
                        f"arn:aws:iam::{account}:role/aip-baseline/aip-{e}-platform-break-glass",
                    ]
                }
            },
        },
    }


def test_trail_delivery_role_writes_only_its_log_group(preview: Preview) -> None:
    e, account = env(preview), ACCOUNTS[env(preview)]
    role = preview.get("aws:iam/role:Role", "baseline-audit-delivery")
    assert role.inputs["name"] == f"aip-{e}-platform-cloudtrail-logs"
    assert role.inputs["path"] == "/aip-baseline/"
    assert dependency_names(preview, role, "permissionsBoundary") == ["baseline-roles-platform-boundary"]
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {
            "Sid": "ThisTrailOnly",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {
                    "aws:SourceArn": f"arn:aws:cloudtrail:us-east-1:{account}:trail/aip-{e}-platform-audit",
                    "aws:SourceAccount": account,
                }
            },
        }
    ]
    assert statements(preview.get("aws:iam/rolePolicy:RolePolicy", "baseline-audit-delivery")) == {
        "WriteTrailLogGroup": {
            "Sid": "WriteTrailLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"arn:aws:logs:us-east-1:{account}:log-group:/aip/{e}/platform/cloudtrail:log-stream:*",
        }
    }


def test_guardduty_with_eks_audit_logs_and_runtime_monitoring(preview: Preview) -> None:
    detector = one(preview, "aws:guardduty/detector:Detector")
    assert detector.inputs["enable"] is True
    assert detector.inputs["findingPublishingFrequency"] == "FIFTEEN_MINUTES"
    features = {
        record.inputs["name"]: {key: value for key, value in record.inputs.items() if key != "name"}
        for record in preview.by_type("aws:guardduty/detectorFeature:DetectorFeature")
    }
    assert features == {
        "EKS_AUDIT_LOGS": {"detectorId": UNKNOWN, "status": "ENABLED"},
        "RUNTIME_MONITORING": {
            "detectorId": UNKNOWN,
            "status": "ENABLED",
            "additionalConfigurations": [{"name": "EKS_ADDON_MANAGEMENT", "status": "ENABLED"}],
        },
    }
    for record in preview.by_type("aws:guardduty/detectorFeature:DetectorFeature"):
        assert dependency_names(preview, record, "detectorId") == ["baseline-threats"]


def test_access_analyzers_external_and_internal(preview: Preview) -> None:
    e = env(preview)
    analyzers = {
        record.inputs["analyzerName"]: {k: v for k, v in record.inputs.items() if k not in ("analyzerName", "tags")}
        for record in preview.by_type("aws:accessanalyzer/analyzer:Analyzer")
    }
    assert analyzers == {
        f"aip-{e}-platform-external-access": {"type": "ACCOUNT"},
        f"aip-{e}-platform-internal-access": {
            "type": "ACCOUNT_INTERNAL_ACCESS",
            "configuration": {
                "internalAccess": {
                    "analysisRule": {
                        "inclusions": [{"resourceTypes": ["AWS::S3::Bucket", "AWS::S3Express::DirectoryBucket"]}]
                    }
                }
            },
        },
    }


def test_registry_scanning_is_enhanced_for_every_repository(preview: Preview) -> None:
    frequency = "CONTINUOUS_SCAN" if env(preview) == "prod" else "SCAN_ON_PUSH"
    assert one(preview, "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration").inputs == {
        "scanType": "ENHANCED",
        "rules": [{"scanFrequency": frequency, "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}],
    }


def test_pull_through_caches_for_the_configured_upstreams(preview: Preview) -> None:
    rules = {
        record.inputs["ecrRepositoryPrefix"]: record.inputs
        for record in preview.by_type("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    }
    assert rules == {
        "ecr-public": {"ecrRepositoryPrefix": "ecr-public", "upstreamRegistryUrl": "public.ecr.aws"},
        "k8s": {"ecrRepositoryPrefix": "k8s", "upstreamRegistryUrl": "registry.k8s.io"},
    }
    assert preview.outputs["pullThroughCachePrefixes"] == ["ecr-public", "k8s"]


def test_creation_templates_give_cached_repositories_kms_tags_and_lifecycle(preview: Preview) -> None:
    e = env(preview)
    templates = preview.by_type("aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate")
    assert sorted(record.inputs["prefix"] for record in templates) == ["ecr-public", "k8s"]
    for record in templates:
        assert record.inputs["appliedFors"] == ["PULL_THROUGH_CACHE"], record.urn
        assert record.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": UNKNOWN}], record.urn
        assert dependency_names(preview, record, "encryptionConfigurations") == ["baseline-keys-registry-cache"]
        assert dependency_names(preview, record, "customRoleArn") == ["baseline-roles-ecr-templates"]
        # Pull-through caches update tags in place: mutable by AWS design (REG-2).
        assert record.inputs["imageTagMutability"] == "MUTABLE"
        assert record.inputs["resourceTags"] == {
            "aiplatform:environment": e,
            "aiplatform:tier": "platform",
            "aiplatform:tenant": "platform",
            "aiplatform:data-classification": "internal",
            "aiplatform:cost-center": "cc-ml-platform",
            "aiplatform:contact": "ml-platform@example.com",
            "aiplatform:stack": f"baseline-{e}",
        }
        rules = json.loads(record.inputs["lifecyclePolicy"])["rules"]
        assert [(rule["selection"]["tagStatus"], rule["selection"]["countType"]) for rule in rules] == [
            ("untagged", "sinceImagePushed"),
            ("any", "imageCountMoreThan"),
        ]


def test_template_role_may_only_create_cached_repositories_with_the_registry_key(preview: Preview) -> None:
    e, account = env(preview), ACCOUNTS[env(preview)]
    policy = preview.get("aws:iam/rolePolicy:RolePolicy", "baseline-registry-templates")
    assert dependency_names(preview, policy, "role") == ["baseline-roles-ecr-templates"]
    assert "baseline-keys-registry-cache" in {preview.by_urn(urn).name for urn in policy.dependencies}
    registry = f"arn:aws:ecr:us-east-1:{account}:repository"
    assert statements(policy) == {
        "CreateCachedRepositories": {
            "Sid": "CreateCachedRepositories",
            "Effect": "Allow",
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource"],
            "Resource": [f"{registry}/ecr-public/*", f"{registry}/k8s/*"],
        },
        "EncryptWithRegistryKey": {
            "Sid": "EncryptWithRegistryKey",
            "Effect": "Allow",
            "Action": ["kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant"],
            "Resource": f"arn:aws:kms:us-east-1:{account}:key/*",
            "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": f"alias/{e}/platform/registry-cache"}},
        },
    }


def test_break_glass_use_alerts_the_encrypted_topic(preview: Preview) -> None:
    e, account = env(preview), ACCOUNTS[env(preview)]
    topic = one(preview, "aws:sns/topic:Topic")
    assert topic.inputs["name"] == f"aip-{e}-platform-security-alerts"
    assert dependency_names(preview, topic, "kmsMasterKeyId") == ["baseline-keys-audit"]
    topic_arn = f"arn:aws:sns:us-east-1:{account}:aip-{e}-platform-security-alerts"
    rule_arn = f"arn:aws:events:us-east-1:{account}:rule/aip-{e}-platform-break-glass-used"
    assert statements(one(preview, "aws:sns/topicPolicy:TopicPolicy")) == {
        "SecurityRulesPublish": {
            "Sid": "SecurityRulesPublish",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        },
        "DenyInsecureTransport": {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    }
    rule = one(preview, "aws:cloudwatch/eventRule:EventRule")
    assert rule.inputs["name"] == f"aip-{e}-platform-break-glass-used"
    assert rule.inputs["state"] == "ENABLED"
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.sts"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {
            "eventSource": ["sts.amazonaws.com"],
            "eventName": ["AssumeRole"],
            "requestParameters": {
                "roleArn": [f"arn:aws:iam::{account}:role/aip-baseline/aip-{e}-platform-break-glass"]
            },
        },
    }
    target = one(preview, "aws:cloudwatch/eventTarget:EventTarget")
    assert dependency_names(preview, target, "arn") == ["baseline-alerts"]
    assert dependency_names(preview, target, "rule") == ["baseline-alerts-break-glass"]
    subscription = one(preview, "aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["protocol"] == "email"
    assert subscription.inputs["endpoint"] == "security-oncall@example.com"


def test_baseline_keys_have_purposes_of_their_own(preview: Preview) -> None:
    """The platform stack of the same account creates alias/<env>/platform/{volumes,logs,registry} (KMS-5)."""
    e = env(preview)
    aliases = {record.name: record.inputs["name"] for record in preview.by_type("aws:kms/alias:Alias")}
    assert aliases == {
        f"baseline-keys-{purpose}": f"alias/{e}/platform/{purpose}"
        for purpose in ("audit", "default-volumes", "registry-cache")
    }
    # Renamed from the purposes the keys had: the same keys, updated in place, so nothing under them is lost.
    renamed = {record.name: record.options["aliases"] for record in preview.by_type("aws:kms/key:Key")}
    assert renamed == {
        "baseline-keys-audit": [{"name": "baseline-keys-logs"}],
        "baseline-keys-default-volumes": [{"name": "baseline-keys-volumes"}],
        "baseline-keys-registry-cache": [{"name": "baseline-keys-registry"}],
    }


def test_baseline_keys_admit_the_trail_and_eventbridge(preview: Preview) -> None:
    e, account = env(preview), ACCOUNTS[env(preview)]
    template = f"arn:aws:iam::{account}:role/aip-baseline/aip-{e}-platform-ecr-templates"
    deployer = f"arn:aws:iam::{account}:role/aip-baseline/aip-{e}-platform-deployer"
    policies = {
        purpose: statements(preview.get("aws:kms/key:Key", f"baseline-keys-{purpose}"))
        for purpose in ("audit", "default-volumes", "registry-cache")
    }
    common = ["AccountAdministration", "BreakGlass", "OwnerUseThroughAwsServices"]
    assert {purpose: list(policy) for purpose, policy in policies.items()} == {
        "audit": [
            *common,
            "CloudWatchLogsForOwnerLogGroups",
            "CloudTrailEncryptsAuditLogs",
            "CloudTrailDescribesKey",
            "EventBridgePublishesToAlertTopic",
        ],
        "default-volumes": [*common, "AutoScalingVolumes", "AutoScalingGrantsForVolumes"],
        "registry-cache": [*common, "DeployerGrantsForAwsResources"],
    }
    audit, registry = policies["audit"], policies["registry-cache"]
    trail = f"arn:aws:cloudtrail:us-east-1:{account}:trail/aip-{e}-platform-audit"
    assert audit["CloudWatchLogsForOwnerLogGroups"]["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": [f"arn:aws:logs:us-east-1:{account}:log-group:/aip/{e}/platform/*"]
        }
    }
    assert audit["CloudTrailEncryptsAuditLogs"]["Condition"] == {
        "StringEquals": {"aws:SourceArn": trail},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{account}:trail/*"},
    }
    assert audit["CloudTrailDescribesKey"]["Condition"] == {"StringEquals": {"aws:SourceArn": trail}}
    assert audit["EventBridgePublishesToAlertTopic"]["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
    assert registry["DeployerGrantsForAwsResources"]["Principal"] == {"AWS": sorted([deployer, template])}
    assert registry["DeployerGrantsForAwsResources"]["Condition"] == {
        "Bool": {"kms:GrantIsForAWSResource": "true"},
        "StringEquals": {"kms:ViaService": "ecr.us-east-1.amazonaws.com"},
    }
    # KMS rejects a policy naming a role that does not exist yet: the keys wait for the roles.
    roles = {
        record.name for record in preview.by_type("aws:iam/role:Role") if record.name.startswith("baseline-roles-")
    }
    assert len(roles) == 6
    for key in preview.by_type("aws:kms/key:Key"):
        waits = {preview.by_urn(urn).name for urn in key.dependencies}
        assert roles <= waits, key.urn


def test_outputs_are_what_the_platform_stacks_read(preview: Preview) -> None:
    assert set(preview.outputs) == {
        "roles",
        "auditRoleArn",
        "alertTopicArn",
        "platformBoundaryArn",
        "trailArn",
        "auditBucketName",
        "pullThroughCachePrefixes",
        "keyArns",
    }
    assert set(preview.outputs["roles"]) == {"platformAdmin", "breakGlass", "deployer", "ci", "tenantBoundary"}
    assert set(preview.outputs["keyArns"]) == {"audit", "default-volumes", "registry-cache"}
