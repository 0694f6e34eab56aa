"""Fixture programs for the AWS policies (encryption, registry, cluster, nodes, network, identity, audit, cost)."""

from __future__ import annotations

import pulumi_aws as aws
from guardrails_cases import ACCOUNT, KEY_ARN, PLATFORM, case, doc, role_arn, tags

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
SEARCH_ROLE = role_arn("aip-dev-search-workload")
OTHER_ROLE = role_arn("aip-dev-forecasting-workload")


# --- encryption -------------------------------------------------------------------------------


@case("kms-key-rotation")
def _kms_rotation() -> None:
    aws.kms.Key("ok-rotating", enable_key_rotation=True, tags=tags())
    aws.kms.Key("ok-asymmetric", customer_master_key_spec="RSA_2048", key_usage="SIGN_VERIFY", tags=tags())
    aws.kms.Key("absent-bad-rotation", tags=tags())
    aws.kms.Key("bad-long-period", enable_key_rotation=True, rotation_period_in_days=400, tags=tags())


@case("kms-key-deletion-window")
def _kms_window() -> None:
    aws.kms.Key("absent-ok-window", enable_key_rotation=True)
    aws.kms.Key("ok-30", enable_key_rotation=True, deletion_window_in_days=30)
    aws.kms.Key("bad-7", enable_key_rotation=True, deletion_window_in_days=7)
    other = aws.kms.Key("source", enable_key_rotation=True)
    aws.kms.Key("unknown-ok-window", deletion_window_in_days=other.arn.apply(lambda _: 30))


@case("kms-key-deletion-window", environment="dev")
def _kms_window_dev() -> None:
    aws.kms.Key("ok-7-in-dev", enable_key_rotation=True, deletion_window_in_days=7)
    aws.kms.Key("bad-6-in-dev", enable_key_rotation=True, deletion_window_in_days=6)


@case("kms-key-lockout-check")
def _kms_lockout() -> None:
    key = aws.kms.Key("ok-key", enable_key_rotation=True)
    aws.kms.Key("bad-bypass", enable_key_rotation=True, bypass_policy_lockout_safety_check=True)
    aws.kms.KeyPolicy("bad-policy-bypass", key_id=key.key_id, policy=doc(), bypass_policy_lockout_safety_check=True)


_ADMIN = {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}


@case("kms-key-policy-not-public")
def _kms_public() -> None:
    aws.kms.Key("ok-owner", enable_key_rotation=True, policy=doc(_ADMIN, {"Effect": "Allow", "Principal": {"AWS": SEARCH_ROLE}, "Action": "kms:Decrypt", "Resource": "*"}))
    aws.kms.Key(
        "ok-conditioned-star",
        enable_key_rotation=True,
        policy=doc({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}}),
    )
    aws.kms.Key(
        "ok-logs-service",
        enable_key_rotation=True,
        policy=doc({"Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"}, "Action": "kms:Encrypt*", "Resource": "*", "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*"}}}),
    )
    aws.kms.Key("bad-public", enable_key_rotation=True, policy=doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}))
    aws.kms.Key("bad-service", enable_key_rotation=True, policy=doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}))
    aws.kms.Key("bad-unconditioned-service", enable_key_rotation=True, policy=doc({"Effect": "Allow", "Principal": {"Service": "budgets.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*"}))
    key = aws.kms.Key("absent-ok-policy", enable_key_rotation=True)
    aws.kms.KeyPolicy("bad-keypolicy-public", key_id=key.key_id, policy=doc({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}))
    aws.kms.KeyPolicy("unknown-ok-keypolicy", key_id=key.key_id, policy=key.arn.apply(lambda arn: doc({"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": arn})))


@case("kms-grant-scoped")
def _kms_grant() -> None:
    key = aws.kms.Key("key", enable_key_rotation=True)
    role = aws.iam.Role("role", assume_role_policy=doc())
    aws.kms.Grant("ok-grant", key_id=key.key_id, grantee_principal=SEARCH_ROLE, operations=["Decrypt"])
    aws.kms.Grant("unknown-ok-grantee", key_id=key.key_id, grantee_principal=role.arn, operations=["Decrypt"])
    aws.kms.Grant("bad-star", key_id=key.key_id, grantee_principal="*", operations=["Decrypt"])
    aws.kms.Grant("bad-regrant", key_id=key.key_id, grantee_principal=SEARCH_ROLE, operations=["Decrypt", "CreateGrant"])


_DECRYPT_ALL = {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "*"}


@case("iam-no-decrypt-on-all-keys")
def _decrypt_all() -> None:
    aws.iam.Policy("ok-scoped", policy=doc({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY_ARN}))
    aws.iam.Policy("bad-star", policy=doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}))
    aws.iam.RolePolicy("bad-role-policy", role="r", policy=doc(_DECRYPT_ALL))
    aws.iam.Role("bad-inline", assume_role_policy=doc(), inline_policies=[{"name": "p", "policy": doc({"Effect": "Allow", "Action": "kms:ReEncrypt*", "Resource": "*"})}])
    aws.iam.Role("absent-ok-role", assume_role_policy=doc())
    aws.iam.Policy("ok-deny", policy=doc({"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}))


_VPC = {"subnet_ids": ["subnet-1"], "endpoint_private_access": True, "endpoint_public_access": False}


def _cluster(name: str, **overrides: object) -> aws.eks.Cluster:
    args: dict[str, object] = {
        "role_arn": role_arn("aip-dev-platform-cluster"),
        "version": "1.34",
        "vpc_config": _VPC,
        "enabled_cluster_log_types": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
        "access_config": {"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False},
        "encryption_config": {"resources": ["secrets"], "provider": {"key_arn": KEY_ARN}},
        "tags": PLATFORM,
    }
    args.update(overrides)
    return aws.eks.Cluster(name, **args)  # type: ignore[arg-type]


@case("eks-secrets-envelope-encryption")
def _eks_secrets() -> None:
    key = aws.kms.Key("key", enable_key_rotation=True)
    _cluster("ok-cluster")
    _cluster("unknown-ok-key", encryption_config={"resources": ["secrets"], "provider": {"key_arn": key.arn}})
    _cluster("absent-bad-encryption", encryption_config=None)
    _cluster("bad-aws-key", encryption_config={"resources": ["secrets"], "provider": {"key_arn": "alias/aws/eks"}})


@case("ebs-encryption-by-default")
def _ebs_default() -> None:
    aws.ebs.EncryptionByDefault("ok-enabled", enabled=True)
    aws.ebs.EncryptionByDefault("absent-ok-default")
    aws.ebs.EncryptionByDefault("bad-disabled", enabled=False)


@case("ebs-default-key-customer-managed")
def _ebs_key() -> None:
    aws.ebs.DefaultKmsKey("ok-cmk", key_arn=KEY_ARN)
    aws.ebs.DefaultKmsKey("bad-aws-managed", key_arn="arn:aws:kms:us-east-1:111122223333:alias/aws/ebs")


_EBS = {"device_name": "/dev/xvda", "ebs": {"encrypted": "true", "kms_key_id": KEY_ARN, "volume_size": 50}}


@case("volumes-encrypted")
def _volumes() -> None:
    aws.ec2.LaunchTemplate("ok-template", block_device_mappings=[_EBS])
    aws.ec2.LaunchTemplate("absent-bad-template")
    aws.ec2.LaunchTemplate("bad-unencrypted", block_device_mappings=[{"device_name": "/dev/xvda", "ebs": {"volume_size": 50}}])
    aws.ec2.LaunchTemplate("bad-aws-key", block_device_mappings=[{"device_name": "/dev/xvda", "ebs": {"encrypted": "true"}}])
    aws.ebs.Volume("ok-volume", availability_zone="us-east-1a", size=10, encrypted=True, kms_key_id=KEY_ARN)
    aws.ebs.Volume("bad-volume", availability_zone="us-east-1a", size=10)
    aws.ec2.Instance("ok-instance", ami="ami-1", instance_type="m6i.large", root_block_device={"encrypted": True, "kms_key_id": KEY_ARN})
    aws.ec2.Instance("absent-bad-instance", ami="ami-1", instance_type="m6i.large")


_SSE_OK = {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY_ARN}, "bucket_key_enabled": True}


@case("s3-sse-kms")
def _sse() -> None:
    aws.s3.BucketServerSideEncryptionConfiguration("ok-sse", bucket="b", rules=[_SSE_OK])
    aws.s3.BucketServerSideEncryptionConfigurationV2(
        "bad-aes-v2", bucket="b", rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        "bad-no-bucket-key", bucket="b", rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": KEY_ARN}}]
    )
    aws.s3.Bucket("absent-ok-bucket")
    aws.s3.Bucket(
        "bad-inline", server_side_encryption_configuration={"rule": {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}}
    )


def _bucket(name: str, owner: str = "search", purpose: str = "models") -> aws.s3.Bucket:
    return aws.s3.Bucket(name, bucket=f"aip-dev-{owner}-{purpose}-{ACCOUNT}-us-east-1", tags=tags(owner))


def _key(name: str, owner: str, purpose: str) -> aws.kms.Key:
    key = aws.kms.Key(name, enable_key_rotation=True, tags=tags(owner) if owner != "platform" else PLATFORM)
    aws.kms.Alias(f"alias-for-{name}", name=f"alias/dev/{owner}/{purpose}", target_key_id=key.key_id)
    return key


def _sse_with(name: str, bucket: aws.s3.Bucket, key: aws.kms.Key) -> None:
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": key.arn}, "bucket_key_enabled": True}],
    )


@case("kms-key-partitioning")
def _partitioning() -> None:
    # Used for the search bucket (models) and, wrongly, for a repository: one key, two purposes.
    search_models = _key("bad-search-models-shared", "search", "models")
    search_registry = _key("search-registry", "search", "registry")
    other_models = _key("forecasting-models", "forecasting", "models")
    _sse_with("ok-own-key", _bucket("search-bucket"), search_models)
    _sse_with("bad-foreign-key", _bucket("search-bucket-2", purpose="models"), other_models)
    aws.ecr.Repository("ok-repo", encryption_configurations=[{"encryption_type": "KMS", "kms_key": search_registry.arn}], tags=tags())
    aws.ecr.Repository("bad-wrong-purpose", encryption_configurations=[{"encryption_type": "KMS", "kms_key": search_models.arn}], tags=tags())
    aws.cloudwatch.LogGroup("ok-literal-alias", kms_key_id="alias/dev/search/logs", retention_in_days=30, tags=tags())


@case("kms-key-principals-owner")
def _principals_owner() -> None:
    aws.kms.Key(
        "ok-own-principals",
        enable_key_rotation=True,
        tags=tags(),
        policy=doc(_ADMIN, {"Effect": "Allow", "Principal": {"AWS": [SEARCH_ROLE, role_arn("aip-dev-platform-break-glass")]}, "Action": "kms:Decrypt", "Resource": "*"}),
    )
    aws.kms.Key(
        "bad-foreign-principal",
        enable_key_rotation=True,
        tags=tags(),
        policy=doc({"Effect": "Allow", "Principal": {"AWS": OTHER_ROLE}, "Action": "kms:Decrypt", "Resource": "*"}),
    )
    search_key = aws.kms.Key("search-key", enable_key_rotation=True, tags=tags())
    search_role = aws.iam.Role("search-role", assume_role_policy=doc(), tags=tags())
    other_role = aws.iam.Role("forecasting-role", assume_role_policy=doc(), tags=tags("forecasting"))
    aws.kms.Grant("ok-grant", key_id=search_key.key_id, grantee_principal=search_role.arn, operations=["Decrypt"])
    aws.kms.Grant("bad-grant", key_id=search_key.key_id, grantee_principal=other_role.arn, operations=["Decrypt"])


@case("s3-bucket-encrypted")
def _bucket_encrypted() -> None:
    key = _key("key", "search", "models")
    _sse_with("sse", _bucket("ok-bucket"), key)
    aws.s3.Bucket("ok-inline", server_side_encryption_configuration={"rule": _SSE_OK})
    _bucket("bad-bucket", purpose="data")
