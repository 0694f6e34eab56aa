"""The audit against the seeded emulator: a compliant stack reports nothing; each drift reports
exactly its findings.

Drifts are applied in groups that share one seeded environment and one audit run (a seed and an
audit cost about a second each): within a group every drift touches other (check, resource)
pairs, so the exact union of the findings still attributes each finding to one drift. Every
registered check has at least one drift that fails it (a meta-test keeps it so).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from audit_emulator import ACCOUNT, REGION, EksExtras
from audit_seed import (
    AMI,
    CLUSTER,
    ENVIRONMENT,
    LIFECYCLE,
    PLATFORM,
    Environment,
    bucket_arn,
    document,
    ec2_arn,
    role_arn,
    statement,
    tag_list,
    tags,
)
from audit_state import export
from audit_support import finding_set

from audit.registry import checks
from audit.runner import stack_urn
from audit.state import StackState

# (check, resource) -> a fragment the finding's message must contain
Expected = dict[tuple[str, str], str]


@dataclass(frozen=True)
class Drift:
    """One change made behind the stack's back, and the checks it must fail."""

    name: str
    group: str
    checks: tuple[str, ...]
    apply: Callable[[Environment], Expected]


DRIFTS: list[Drift] = []


def drift(
    group: str, *check_ids: str
) -> Callable[[Callable[[Environment], Expected]], Callable[[Environment], Expected]]:
    def register(function: Callable[[Environment], Expected]) -> Callable[[Environment], Expected]:
        DRIFTS.append(Drift(function.__name__, group, check_ids, function))
        return function

    return register


# --- keys and registries -------------------------------------------------------------------------


@drift("keys-and-registries", "kms-rotation")
def rotation_turned_off(env: Environment) -> Expected:
    key = env.keys[("fraud", "models")]
    env.client("kms").disable_key_rotation(KeyId=key)
    return {("kms-rotation", key): "rotation is off"}


@drift("keys-and-registries", "kms-not-pending-deletion")
def key_scheduled_for_deletion(env: Environment) -> Expected:
    key = env.keys[("vision-ml", "models")]
    # moto wants the key id here, not the ARN.
    env.client("kms").schedule_key_deletion(KeyId=key.rsplit("/", 1)[-1], PendingWindowInDays=7)
    return {("kms-not-pending-deletion", key): "PendingDeletion"}


@drift("keys-and-registries", "kms-key-policy-principals")
def key_policy_grants_another_tenants_role(env: Environment) -> Expected:
    key = env.keys[("fraud", "registry")]
    policy = json.loads(env.client("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    # The vision-ml role carries no tenant tag: the audit knows it by the naming rule.
    policy["Statement"].append(statement("Manual", {"AWS": role_arn("vision-ml", "workload")}, "kms:Decrypt"))
    env.client("kms").put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    return {("kms-key-policy-principals", key): "a role of tenant vision-ml (dev), not of tenant fraud (dev)"}


@drift("keys-and-registries", "kms-grants")
def grant_to_another_tenant(env: Environment) -> Expected:
    key = env.keys[("vision-ml", "registry")]
    env.client("kms").create_grant(KeyId=key, GranteePrincipal=role_arn("fraud", "workload"), Operations=["Decrypt"])
    return {("kms-grants", key): "a role of tenant fraud (dev)"}


@drift("keys-and-registries", "ecr-immutable-tags")
def repository_made_mutable(env: Environment) -> Expected:
    name = f"{ENVIRONMENT}/fraud/inference"
    env.client("ecr").put_image_tag_mutability(repositoryName=name, imageTagMutability="MUTABLE")
    return {("ecr-immutable-tags", env.repositories["fraud"]): "MUTABLE"}


@drift("keys-and-registries", "ecr-scanning")
def scan_on_push_turned_off(env: Environment) -> Expected:
    name = f"{ENVIRONMENT}/vision-ml/inference"
    env.client("ecr").put_image_scanning_configuration(
        repositoryName=name, imageScanningConfiguration={"scanOnPush": False}
    )
    return {("ecr-scanning", env.repositories["vision-ml"]): "not scanned on push"}


@drift("keys-and-registries", "ecr-lifecycle-policy")
def lifecycle_policy_deleted(env: Environment) -> Expected:
    env.client("ecr").delete_lifecycle_policy(repositoryName=f"{ENVIRONMENT}/fraud/inference")
    return {("ecr-lifecycle-policy", env.repositories["fraud"]): "no lifecycle policy"}


@drift("keys-and-registries", "ecr-repository-policy")
def repository_policy_lets_another_tenant_pull(env: Environment) -> Expected:
    env.client("ecr").set_repository_policy(
        repositoryName=f"{ENVIRONMENT}/vision-ml/inference",
        policyText=document(
            statement(
                "OwnerPull",
                {"AWS": [role_arn("vision-ml", "workload"), role_arn("fraud", "workload")]},
                ["ecr:BatchGetImage"],
            )
        ),
    )
    return {("ecr-repository-policy", env.repositories["vision-ml"]): "a role of tenant fraud (dev)"}


@drift("keys-and-registries", "ecr-kms-encryption")
def repository_encrypted_with_another_tenants_key(env: Environment) -> Expected:
    ecr = env.client("ecr")
    name = f"{ENVIRONMENT}/fraud/batch"
    arn = ecr.create_repository(
        repositoryName=name,
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": env.keys[("vision-ml", "registry")]},
        tags=tag_list(tags("fraud")),
    )["repository"]["repositoryArn"]
    ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(LIFECYCLE))
    return {("ecr-kms-encryption", arn): "belongs to tenant vision-ml (dev), not to tenant fraud (dev)"}


# --- buckets -------------------------------------------------------------------------------------


@drift("buckets", "s3-public-access-block")
def public_access_block_removed(env: Environment) -> Expected:
    env.client("s3").delete_public_access_block(Bucket=env.buckets["fraud"])
    return {("s3-public-access-block", bucket_arn(env.buckets["fraud"])): "no public access block"}


@drift("buckets", "s3-default-encryption")
def bucket_key_turned_off(env: Environment) -> Expected:
    name = env.buckets["vision-ml"]
    env.client("s3").put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": env.keys[("vision-ml", "registry")],
                    },
                    "BucketKeyEnabled": False,
                }
            ]
        },
    )
    return {("s3-default-encryption", bucket_arn(name)): "bucket key is off; arn:aws:kms"}


@drift("buckets", "s3-versioning")
def versioning_suspended(env: Environment) -> Expected:
    name = env.buckets["fraud"]
    env.client("s3").put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    return {("s3-versioning", bucket_arn(name)): "Suspended"}


@drift("buckets", "s3-ownership-enforced")
def acls_enabled(env: Environment) -> Expected:
    name = env.buckets["vision-ml"]
    env.client("s3").put_bucket_ownership_controls(
        Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    )
    return {("s3-ownership-enforced", bucket_arn(name)): "ObjectWriter"}


@drift("buckets", "s3-bucket-policy")
def bucket_policy_without_tls_and_with_another_tenant(env: Environment) -> Expected:
    name = env.buckets["fraud"]
    env.client("s3").put_bucket_policy(
        Bucket=name,
        Policy=document(
            statement(
                "Shared", {"AWS": role_arn("vision-ml", "workload")}, "s3:GetObject", Resource=f"{bucket_arn(name)}/*"
            )
        ),
    )
    return {
        ("s3-bucket-policy", bucket_arn(name)): "no statement denies requests without TLS; statement 'Shared' allows"
    }


@drift("buckets", "s3-access-logging")
def access_logging_turned_off(env: Environment) -> Expected:
    name = env.buckets["vision-ml"]
    env.client("s3").put_bucket_logging(Bucket=name, BucketLoggingStatus={})
    return {("s3-access-logging", bucket_arn(name)): "logging is off"}


@drift("buckets", "kms-key-policy-principals")
def key_policy_open_to_everyone(env: Environment) -> Expected:
    key = env.keys[(PLATFORM, "volumes")]
    policy = json.loads(env.client("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    policy["Statement"].append(statement("Everyone", "*", "kms:Decrypt"))
    env.client("kms").put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    return {("kms-key-policy-principals", key): "Principal '*' without a condition"}


# --- the cluster ---------------------------------------------------------------------------------


@drift("cluster", "eks-endpoint-private", "eks-control-plane-logs")
def endpoint_opened_and_logs_reduced(env: Environment) -> Expected:
    eks = env.client("eks")
    eks.update_cluster_config(
        name=CLUSTER,
        resourcesVpcConfig={
            "endpointPublicAccess": True,
            "endpointPrivateAccess": True,
            "publicAccessCidrs": ["0.0.0.0/0"],
        },
    )
    eks.update_cluster_config(name=CLUSTER, logging={"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]})
    return {
        ("eks-endpoint-private", env.cluster_arn): "open to 0.0.0.0/0",
        ("eks-control-plane-logs", env.cluster_arn): "authenticator, controllerManager, scheduler",
    }


@drift("cluster", "eks-authentication-mode")
def config_map_authentication(env: Environment) -> Expected:
    env.extras.access_config[CLUSTER] = {
        "authenticationMode": "API_AND_CONFIG_MAP",
        "bootstrapClusterCreatorAdminPermissions": True,
    }
    return {("eks-authentication-mode", env.cluster_arn): "API_AND_CONFIG_MAP, not API; the cluster creator"}


@drift("cluster", "eks-access-entries-scoped")
def tenant_made_cluster_admin(env: Environment) -> Expected:
    admin = {
        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        "accessScope": {"type": "cluster", "namespaces": []},
    }
    entry = env.extras.add_access_entry(CLUSTER, role_arn("fraud", "workload"), [admin])
    return {("eks-access-entries-scoped", entry): "AmazonEKSClusterAdminPolicy is associated"}


@drift("cluster", "eks-pod-identity-scoped")
def pod_identity_across_tenants(env: Environment) -> Expected:
    association = env.extras.add_pod_identity(CLUSTER, "fraud", "trainer", role_arn("vision-ml", "workload"))
    role = role_arn("vision-ml", "workload")
    return {
        ("eks-pod-identity-scoped", association): "a role of tenant vision-ml (dev), not of tenant fraud (dev)",
        ("eks-pod-identity-scoped", role): "namespaces of fraud, vision-ml",
    }


@drift("cluster", "eks-version", "eks-secrets-encryption")
def old_cluster_made_by_hand(env: Environment) -> Expected:
    name = f"{CLUSTER}-legacy"
    arn = env.client("eks").create_cluster(
        name=name,
        version="1.29",
        roleArn=role_arn(PLATFORM, "cluster"),
        resourcesVpcConfig={"subnetIds": [env.subnet], "endpointPublicAccess": False, "endpointPrivateAccess": True},
        logging={
            "clusterLogging": [
                {"types": ["api", "audit", "authenticator", "controllerManager", "scheduler"], "enabled": True}
            ]
        },
        tags=tags(PLATFORM),
    )["cluster"]["arn"]
    env.extras.access_config[name] = {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    return {("eks-version", arn): "1.29", ("eks-secrets-encryption", arn): "not envelope-encrypted"}


# --- nodes and network ---------------------------------------------------------------------------


@drift("nodes-and-network", "imdsv2-required")
def launch_template_version_with_imdsv1(env: Environment) -> Expected:
    ec2 = env.client("ec2")
    # moto does not merge SourceVersion into the new version: copy version 1 whole.
    data = ec2.describe_launch_template_versions(LaunchTemplateId=env.launch_template, Versions=["1"])[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    data["MetadataOptions"] = {"HttpTokens": "optional", "HttpPutResponseHopLimit": 1}
    ec2.create_launch_template_version(LaunchTemplateId=env.launch_template, LaunchTemplateData=data)
    return {("imdsv2-required", env.arns["launch-template"]): "version 2 (latest): HttpTokens is optional"}


@drift("nodes-and-network", "imds-hop-limit")
def instance_hop_limit_raised(env: Environment) -> Expected:
    # moto resets the options not given, so HttpTokens is given again.
    env.client("ec2").modify_instance_metadata_options(
        InstanceId=env.instance, HttpTokens="required", HttpPutResponseHopLimit=2
    )
    return {("imds-hop-limit", env.arns["instance"]): "the hop limit is 2"}


@drift("nodes-and-network", "sg-no-open-ingress")
def ssh_open_to_the_world(env: Environment) -> Expected:
    group = env.security_groups[PLATFORM]
    env.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    return {("sg-no-open-ingress", ec2_arn("security-group", group)): "0.0.0.0/0 on tcp 22-22"}


@drift("nodes-and-network", "sg-workload-egress")
def workload_egress_opened(env: Environment) -> Expected:
    group = env.security_groups["fraud"]
    env.client("ec2").authorize_security_group_egress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}]
    )
    return {("sg-workload-egress", ec2_arn("security-group", group)): "::/0 on all ports"}


@drift("nodes-and-network", "vpc-default-sg-closed")
def default_group_reopened(env: Environment) -> Expected:
    ec2 = env.client("ec2")
    default = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [env.vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=default,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}],
    )
    return {("vpc-default-sg-closed", env.arns["vpc"]): "has 1 rule(s)"}


@drift("nodes-and-network", "vpc-flow-logs")
def flow_log_deleted(env: Environment) -> Expected:
    ec2 = env.client("ec2")
    ids = [log["FlowLogId"] for log in ec2.describe_flow_logs()["FlowLogs"]]
    ec2.delete_flow_logs(FlowLogIds=ids)
    return {("vpc-flow-logs", env.arns["vpc"]): "no flow log"}


# --- governance ----------------------------------------------------------------------------------


@drift("governance", "node-volumes-encrypted", "no-public-ip", "no-ssh-key")
def launch_template_version_unencrypted_and_public(env: Environment) -> Expected:
    env.client("ec2").create_launch_template_version(
        LaunchTemplateId=env.launch_template,
        LaunchTemplateData={
            "ImageId": AMI,
            "MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": False, "VolumeSize": 50}}],
            "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": True}],
            "KeyName": "someones-laptop",
        },
    )
    template = env.arns["launch-template"]
    return {
        ("node-volumes-encrypted", template): "version 2 (latest): /dev/xvda is not encrypted",
        ("no-public-ip", template): "version 2 (latest) associates a public IP",
        ("no-ssh-key", template): "version 2 (latest) has the key pair someones-laptop",
    }


@drift("governance", "cloudtrail-configuration")
def trail_stopped_and_unvalidated(env: Environment) -> Expected:
    cloudtrail = env.client("cloudtrail")
    cloudtrail.update_trail(Name=env.trail, EnableLogFileValidation=False)
    cloudtrail.stop_logging(Name=env.trail)
    return {("cloudtrail-configuration", env.trail): "log file validation is off; the trail is not logging"}


@drift("governance", "tenant-budget")
def budgets_deleted_or_silenced(env: Environment) -> Expected:
    budgets = env.client("budgets")
    budgets.delete_budget(AccountId=ACCOUNT, BudgetName=f"aip-{ENVIRONMENT}-vision-ml")
    name = f"aip-{ENVIRONMENT}-fraud"
    notification = budgets.describe_notifications_for_budget(AccountId=ACCOUNT, BudgetName=name)["Notifications"][0]
    budgets.delete_notification(AccountId=ACCOUNT, BudgetName=name, Notification=notification)
    return {
        ("tenant-budget", stack_urn("platform-dev")): "tenant vision-ml (dev) has no COST budget",
        ("tenant-budget", f"arn:aws:budgets::{ACCOUNT}:budget/{name}"): "no notification",
    }


@drift("governance", "log-group-encrypted-retained")
def trail_log_group_kept_forever(env: Environment) -> Expected:
    group = env.log_groups[PLATFORM]
    env.client("logs").delete_retention_policy(logGroupName=group)
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    return {("log-group-encrypted-retained", arn): "no retention is set"}


@drift("governance", "expired-experiment")
def experiment_expired(env: Environment) -> Expected:
    group = env.log_groups["fraud"]
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    env.client("logs").tag_resource(resourceArn=arn, tags={"aiplatform:expires-at": "2026-05-31"})
    return {("expired-experiment", arn): "expired on 2026-05-31"}


@drift("governance", "standard-tags")
def contact_tag_removed(env: Environment) -> Expected:
    group = env.security_groups["vision-ml"]
    ec2 = env.client("ec2")
    ec2.delete_tags(Resources=[group], Tags=[{"Key": "aiplatform:contact"}])
    ec2.create_tags(Resources=[group], Tags=[{"Key": "aiplatform:tier", "Value": "gold"}])
    return {
        ("standard-tags", ec2_arn("security-group", group)): "aiplatform:contact is missing; aiplatform:tier is 'gold'"
    }


# --- state ---------------------------------------------------------------------------------------


@drift("state", "state-unmanaged")
def untracked_security_group(env: Environment) -> Expected:
    group = env.client("ec2").create_security_group(
        GroupName="made-in-the-console",
        Description="not in the stack",
        VpcId=env.vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(tags(PLATFORM))}],
    )["GroupId"]
    return {("state-unmanaged", ec2_arn("security-group", group)): "not in the stack's state (unmanaged)"}


@drift("state", "state-missing")
def launch_template_deleted(env: Environment) -> Expected:
    env.client("ec2").delete_launch_template(LaunchTemplateId=env.launch_template)
    return {("state-missing", env.arns["launch-template"]): "is in the stack's state but was not found"}


@drift("state", "eks-endpoint-private")
def endpoint_opened_to_a_cidr_the_stack_does_not_configure(env: Environment) -> Expected:
    env.client("eks").update_cluster_config(
        name=CLUSTER,
        resourcesVpcConfig={
            "endpointPublicAccess": True,
            "endpointPrivateAccess": True,
            "publicAccessCidrs": ["203.0.113.0/24"],
        },
    )
    return {("eks-endpoint-private", env.cluster_arn): "the public endpoint is on, but the stack configures it off"}


GROUPS = sorted({drift.group for drift in DRIFTS})


def test_compliant_stack_has_no_findings(env: Environment, audit: Any) -> None:
    report = audit()
    assert report.findings == ()
    assert report.exit_code == 0
    # 22 resources of audited types, and the subnet, flow log and 3 log groups only the Tagging API finds.
    assert report.resources == 27
    assert report.checked > 100
    # ~190 tags are more than one page of the Tagging API (100 tags a page): discovery paginates.
    assert report.api_calls[("resourcegroupstaggingapi", "GetResources")] > 1


def test_compliant_stack_with_its_state_has_no_findings(env: Environment, audit: Any) -> None:
    report = audit(state=StackState.parse(export(env)))
    assert report.findings == ()


@pytest.mark.parametrize("group", GROUPS)
def test_drift_reports_exactly_its_findings(group: str, env: Environment, audit: Any, tmp_path: Path) -> None:
    options = {"state": StackState.parse(export(env))} if group == "state" else {}
    expected: Expected = {}
    for change in (drift for drift in DRIFTS if drift.group == group):
        found = change.apply(env)
        assert {check for check, _ in found} == set(change.checks), change.name
        assert not expected.keys() & found.keys(), f"{change.name} collides with another drift of {group}"
        expected |= found
    report = audit(**options)
    assert finding_set(report) == {("fail", check, resource) for check, resource in expected}
    for finding in report.findings:
        fragment = expected[(finding.check, finding.resource)]
        assert fragment in finding.message, (finding.check, finding.resource, finding.message)
    assert report.exit_code == 1


def test_every_check_has_a_drift() -> None:
    covered = {check for drift in DRIFTS for check in drift.checks}
    assert {check.id for check in checks()} - covered == set()


def test_the_emulator_lacks_what_the_handlers_answer(emulator: str, audit_session: Any, audit: Any) -> None:
    """Without the before-call handlers, moto answers the EKS access-entry and pod-identity calls
    with 404 and drops accessConfig: the audit reports not-evaluated (never a pass) and CONFIG_MAP."""
    from audit_seed import Seeder

    seeder = Seeder(emulator, EksExtras(emulator), ())
    seeder.roles()
    for purpose in ("cluster-secrets", "volumes", "logs"):
        seeder.key(PLATFORM, purpose)
    seeder.bucket(PLATFORM, "logs", seeder.env.keys[(PLATFORM, "logs")])
    seeder.network()
    seeder.cluster()
    report = audit()
    cluster = seeder.env.cluster_arn
    assert {(f.status, f.check) for f in report.findings if f.resource == cluster} == {
        ("not-evaluated", "eks-access-entries-scoped"),
        ("not-evaluated", "eks-pod-identity-scoped"),
        ("fail", "eks-authentication-mode"),
    }
    reasons = {f.check: f.message for f in report.findings if f.status == "not-evaluated"}
    assert reasons["eks-access-entries-scoped"].startswith("unsupported API on eks:ListAccessEntries")
    assert reasons["eks-pod-identity-scoped"].startswith("unsupported API on eks:ListPodIdentityAssociations")
