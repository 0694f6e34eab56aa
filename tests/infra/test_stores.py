"""PrivateRegistry, ModelStore and LogBucket: encryption, hardening, lifecycle and exact policies."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from platform_support import ACCOUNT, REGION, dependency_records, output, run, settings, statements

from infra.components.key_ring import KeyRing, KeyRingArgs
from infra.components.log_bucket import LogBucket, LogBucketArgs
from infra.components.model_store import ModelStore, ModelStoreArgs
from infra.components.registry import PrivateRegistry, RegistryArgs
from preflight import Preview

SETTINGS = settings()
SEARCH, FRAUD = SETTINGS.tenant("search"), SETTINGS.tenant("fraud")
CI = f"arn:aws:iam::{ACCOUNT}:role/aip-dev-platform-ci"
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/aip-dev-platform-break-glass"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/aip-dev-platform-platform-admin"
MODELS_BUCKET = f"aip-dev-search-models-{ACCOUNT}-{REGION}"
LOG_BUCKET = f"aip-dev-platform-access-logs-{ACCOUNT}-{REGION}"
# A tier C tenant's own log bucket, named for the tenant: no collision with the platform's in one account.
TENANT_LOG_BUCKET = f"aip-dev-search-access-logs-{ACCOUNT}-{REGION}"
REPOSITORY = "aws:ecr/repository:Repository"


def role(name: str) -> aws.iam.Role:
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    return aws.iam.Role(name, name=name, assume_role_policy=trust)


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        search, fraud, nodes = role("aip-dev-search-workload"), role("aip-dev-fraud-workload"), role("aip-dev-nodes")
        keys = KeyRing("search-keys", KeyRingArgs(SETTINGS, "search", ("registry", "models"), [search.arn]))
        KeyRing("platform-keys", KeyRingArgs(SETTINGS, "platform", ("logs",), []))
        logs = LogBucket("access-logs", LogBucketArgs(SETTINGS))
        LogBucket("search-access-logs", LogBucketArgs(SETTINGS, owner="search"))
        ModelStore(
            "search-models", ModelStoreArgs(SETTINGS, SEARCH, keys.arns["models"], [search.arn], logs.bucket_name)
        )
        registry = PrivateRegistry(
            "search-registry",
            RegistryArgs(SETTINGS, SEARCH, keys.arns["registry"], [search.arn, nodes.arn], [fraud.arn]),
        )
        pulumi.export("urls", registry.repository_urls)

    return run(body, SETTINGS)


def role_arn(preview: Preview, name: str) -> str:
    arn: str = output(preview, "aws:iam/role:Role", name, "arn")
    return arn


def one(preview: Preview, token: str, name: str) -> dict[str, Any]:
    return preview.get(token, name).inputs


def test_repositories_are_immutable_scanned_and_encrypted_with_the_tenant_registry_key(preview: Preview) -> None:
    repositories = {r.inputs["name"]: r for r in preview.by_type(REPOSITORY)}
    assert set(repositories) == {"dev/search/inference", "dev/search/training"}
    for repository in repositories.values():
        inputs = repository.inputs
        assert inputs["imageTagMutability"] == "IMMUTABLE", repository.urn
        assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}, repository.urn
        [encryption] = inputs["encryptionConfigurations"]
        assert encryption["encryptionType"] == "KMS"
        assert encryption["kmsKey"] == output(preview, "aws:kms/key:Key", "search-keys-registry", "arn")
        [key] = dependency_records(preview, repository, "encryptionConfigurations")
        assert key.name == "search-keys-registry"
        assert inputs["forceDelete"] is False


def test_every_repository_has_the_lifecycle_policy(preview: Preview) -> None:
    policies = preview.by_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert sorted(p.inputs["repository"] for p in policies) == ["dev/search/inference", "dev/search/training"]
    for policy in policies:
        rules = json.loads(policy.inputs["policy"])["rules"]
        assert [(r["rulePriority"], r["selection"], r["action"]) for r in rules] == [
            (
                1,
                {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
                {"type": "expire"},
            ),
            (2, {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 200}, {"type": "expire"}),
        ]


def test_repository_policy_pull_by_tenant_and_nodes_push_by_ci_deny_other_tenants(preview: Preview) -> None:
    pullers = sorted([role_arn(preview, "aip-dev-search-workload"), role_arn(preview, "aip-dev-nodes")])
    expected = {
        "TenantPull": {
            "Sid": "TenantPull",
            "Effect": "Allow",
            "Principal": {"AWS": pullers},
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        },
        "CiPush": {
            "Sid": "CiPush",
            "Effect": "Allow",
            "Principal": {"AWS": CI},
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:CompleteLayerUpload",
                "ecr:InitiateLayerUpload",
                "ecr:PutImage",
                "ecr:UploadLayerPart",
            ],
        },
        "DenyOtherTenants": {
            "Sid": "DenyOtherTenants",
            "Effect": "Deny",
            "Principal": {"AWS": role_arn(preview, "aip-dev-fraud-workload")},
            "Action": "ecr:*",
        },
    }
    policies = preview.by_type("aws:ecr/repositoryPolicy:RepositoryPolicy")
    assert sorted(p.inputs["repository"] for p in policies) == ["dev/search/inference", "dev/search/training"]
    for policy in policies:
        assert statements(policy) == expected, policy.urn


def test_repository_urls_are_exported(preview: Preview) -> None:
    assert preview.outputs["urls"] == {
        "inference": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/dev/search/inference",
        "training": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/dev/search/training",
    }


@pytest.mark.parametrize("name", ["search-models", "access-logs", "search-access-logs"])
def test_buckets_block_public_access_disable_acls_and_version(preview: Preview, name: str) -> None:
    block = one(preview, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name)
    assert {flag: value for flag, value in block.items() if flag != "bucket"} == {
        "blockPublicAcls": True,
        "blockPublicPolicy": True,
        "ignorePublicAcls": True,
        "restrictPublicBuckets": True,
    }
    ownership = one(preview, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", name)
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    versioning = one(preview, "aws:s3/bucketVersioning:BucketVersioning", name)
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}
    for token in (
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketPolicy:BucketPolicy",
    ):
        [bucket] = dependency_records(preview, preview.get(token, name), "bucket")
        assert (bucket.type, bucket.name) == ("aws:s3/bucket:Bucket", name)


def test_model_bucket_uses_sse_kms_with_the_tenant_models_key_and_bucket_keys(preview: Preview) -> None:
    assert one(preview, "aws:s3/bucket:Bucket", "search-models")["bucket"] == MODELS_BUCKET
    record = preview.get(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "search-models"
    )
    [rule] = record.inputs["rules"]
    assert rule == {
        "applyServerSideEncryptionByDefault": {
            "sseAlgorithm": "aws:kms",
            "kmsMasterKeyId": output(preview, "aws:kms/key:Key", "search-keys-models", "arn"),
        },
        "bucketKeyEnabled": True,
    }
    assert {r.name for r in dependency_records(preview, record, "rules")} == {"search-keys-models"}


def test_model_bucket_logs_to_the_platform_log_bucket(preview: Preview) -> None:
    logging = one(preview, "aws:s3/bucketLogging:BucketLogging", "search-models")
    assert logging["targetBucket"] == LOG_BUCKET
    assert logging["targetPrefix"] == f"{MODELS_BUCKET}/"


def test_model_bucket_policy_denies_plain_http_foreign_principals_and_encryption_overrides(preview: Preview) -> None:
    arn = f"arn:aws:s3:::{MODELS_BUCKET}"
    assert statements(preview.get("aws:s3/bucketPolicy:BucketPolicy", "search-models")) == {
        "DenyInsecureTransport": {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        "DenyDataAccessOutsideTenant": {
            "Sid": "DenyDataAccessOutsideTenant",
            "Effect": "Deny",
            "Principal": "*",
            "Action": [
                "s3:AbortMultipartUpload",
                "s3:DeleteObject*",
                "s3:GetObject*",
                "s3:ListBucket*",
                "s3:ListMultipartUploadParts",
                "s3:PutObject*",
                "s3:ReplicateObject",
                "s3:RestoreObject",
            ],
            "Resource": [arn, f"{arn}/*"],
            "Condition": {
                "ArnNotEquals": {
                    "aws:PrincipalArn": sorted([role_arn(preview, "aip-dev-search-workload"), BREAK_GLASS])
                }
            },
        },
        "DenyEncryptionOverrides": {
            "Sid": "DenyEncryptionOverrides",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{arn}/*",
            "Condition": {"Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}},
        },
        "DenyNonKmsEncryption": {
            "Sid": "DenyNonKmsEncryption",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{arn}/*",
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        },
    }


def test_log_bucket_uses_sse_s3_and_expires_logs(preview: Preview) -> None:
    assert one(preview, "aws:s3/bucket:Bucket", "access-logs")["bucket"] == LOG_BUCKET
    encryption = preview.get(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "access-logs"
    )
    # SSE-S3 is the only default encryption S3 supports on a server access log destination.
    assert encryption.inputs["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    assert dependency_records(preview, encryption, "rules") == []
    # No key admits S3 log delivery: the logs key's policy is exactly that of a logs key without it.
    assert list(statements(preview.get("aws:kms/key:Key", "platform-keys-logs"))) == [
        "AccountAdministration",
        "BreakGlass",
        "CloudWatchLogsForOwnerLogGroups",
    ]
    [rule] = one(preview, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "access-logs")["rules"]
    assert rule["status"] == "Enabled"
    assert rule["expiration"] == {"days": 90}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


def log_delivery(bucket_arn: str, sources: str) -> dict[str, Any]:
    """The statement that lets S3 deliver access logs of this account's ``sources`` buckets into the bucket."""
    return {
        "Sid": "S3ServerAccessLogDelivery",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": sources}},
    }


def test_log_bucket_policy_admits_s3_logging_of_this_account_only(preview: Preview) -> None:
    arn = f"arn:aws:s3:::{LOG_BUCKET}"
    policy = statements(preview.get("aws:s3/bucketPolicy:BucketPolicy", "access-logs"))
    assert list(policy) == [
        "DenyInsecureTransport",
        "S3ServerAccessLogDelivery",
        "DenyLogAccessOutsidePlatformOperators",
    ]
    assert policy["S3ServerAccessLogDelivery"] == log_delivery(arn, "arn:aws:s3:::aip-dev-*")
    assert policy["DenyLogAccessOutsidePlatformOperators"] == {
        "Sid": "DenyLogAccessOutsidePlatformOperators",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:DeleteObject*", "s3:GetObject*", "s3:ListBucket*", "s3:RestoreObject"],
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [BREAK_GLASS, ADMIN]}},
    }
    assert policy["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_a_tenant_log_bucket_is_named_for_the_tenant_and_admits_only_its_buckets_logs(preview: Preview) -> None:
    arn = f"arn:aws:s3:::{TENANT_LOG_BUCKET}"
    assert one(preview, "aws:s3/bucket:Bucket", "search-access-logs")["bucket"] == TENANT_LOG_BUCKET
    encryption = one(
        preview,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "search-access-logs",
    )
    assert encryption["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
    policy = statements(preview.get("aws:s3/bucketPolicy:BucketPolicy", "search-access-logs"))
    assert list(policy) == [
        "DenyInsecureTransport",
        "S3ServerAccessLogDelivery",
        "DenyLogAccessOutsidePlatformOperators",
    ]
    assert policy["S3ServerAccessLogDelivery"] == log_delivery(arn, "arn:aws:s3:::aip-dev-search-*")
    assert policy["DenyLogAccessOutsidePlatformOperators"]["Resource"] == [arn, f"{arn}/*"]
