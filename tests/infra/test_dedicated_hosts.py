"""Deployment dedicated-hosts (issue 7, items 2 and 3): the reference stack hosts-genomics-prod, run whole.

The contract of the hosts (auto placement off, host recovery on, the configured Dedicated Host type,
spread over AZs), of the instances (one per host, each naming its host, tenancy host, through the
hardened launch template, IMDSv2 with hop limit 1, root volume under the tenant's volumes key, no
public IP, no key pair, Nitro Enclaves), of their network (private subnet of the host's AZ, no
ingress, HTTPS egress to the VPC and S3 only, the SSM endpoints), of their role (EC2 trust, the
tenant boundary, the tenant's bucket, repositories and keys, SSM) and of the attested data key;
the same stack without confidential computing; and the exact set of mandatory violations that remain.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from platform_support import dependency_records, statements
from tier_c_support import PACK, ROOT, counts, remaining_violations, stack_config

from infra.components.dedicated_hosts import DedicatedHosts, DedicatedHostsArgs, zone_index
from infra.components.key_ring import KeyRing, KeyRingArgs
from infra.config import settings_from_stack_file
from preflight import Preview, ProgramError, cloud, preview_function, preview_program
from preflight.model import Mode

STACK = "hosts-genomics-prod"
ACCOUNT = "666677778888"
HOST = "aws:ec2/dedicatedHost:DedicatedHost"
INSTANCE = "aws:ec2/instance:Instance"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
KEY = "aws:kms/key:Key"
IMAGE_SHA = "71a9c81017771ed41de6344e1c03fe7115be42984ce4779581435d8d41f11d732c415cf2b66220da141a6b8ee631046a"
PCR8 = "4c4bd3d4742ffd52a17fc716e84903e90bc1771152bf79dcc767cefbce1bd9ee5e2f10f2036be24537d4aa273cd3ac32"
ATTESTATION = {"kms:RecipientAttestation:ImageSha384": IMAGE_SHA, "kms:RecipientAttestation:PCR8": PCR8}
HOST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/aip-prod-genomics-hosts"

EXPECTED_COUNTS = {
    "aws:budgets/budget:Budget": 1,
    "aws:cloudwatch/logGroup:LogGroup": 1,
    "aws:ec2/dedicatedHost:DedicatedHost": 2,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
    "aws:ec2/flowLog:FlowLog": 1,
    "aws:ec2/instance:Instance": 2,
    "aws:ec2/launchTemplate:LaunchTemplate": 1,
    "aws:ec2/networkInterface:NetworkInterface": 2,
    "aws:ec2/routeTable:RouteTable": 3,
    "aws:ec2/routeTableAssociation:RouteTableAssociation": 3,
    "aws:ec2/securityGroup:SecurityGroup": 2,
    "aws:ec2/subnet:Subnet": 3,
    "aws:ec2/vpc:Vpc": 1,
    "aws:ec2/vpcEndpoint:VpcEndpoint": 14,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": 2,
    "aws:ecr/repository:Repository": 2,
    "aws:ecr/repositoryPolicy:RepositoryPolicy": 2,
    "aws:iam/instanceProfile:InstanceProfile": 1,
    "aws:iam/role:Role": 2,
    "aws:iam/rolePolicy:RolePolicy": 2,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 1,
    "aws:kms/alias:Alias": 5,
    "aws:kms/key:Key": 5,
    "aws:s3/bucket:Bucket": 2,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
    "aws:s3/bucketLogging:BucketLogging": 1,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 2,
    "aws:s3/bucketPolicy:BucketPolicy": 2,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 2,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 2,
    "aws:s3/bucketVersioning:BucketVersioning": 2,
    "aws:sns/topic:Topic": 1,
    "aws:sns/topicPolicy:TopicPolicy": 1,
    "pulumi:providers:aws": 1,
    "pulumi:pulumi:Stack": 1,
    "secure-ai-platform:alert_topic:AlertTopic": 1,
    "secure-ai-platform:budget:TenantBudget": 1,
    "secure-ai-platform:dedicated_hosts:DedicatedHosts": 1,
    "secure-ai-platform:host_identity:HostIdentity": 1,
    "secure-ai-platform:host_instances:HostInstances": 1,
    "secure-ai-platform:key_ring:KeyRing": 1,
    "secure-ai-platform:launch_template:LaunchTemplate": 1,
    "secure-ai-platform:log_bucket:LogBucket": 1,
    "secure-ai-platform:model_store:ModelStore": 1,
    "secure-ai-platform:network:IsolatedNetwork": 1,
    "secure-ai-platform:registry:PrivateRegistry": 1,
}

# As in the single-tenant cluster (tests/infra/test_single_tenant_cluster.py AWAITING): none.
AWAITING: dict[Mode, set[tuple[str, str]]] = {"first-preview": set(), "update": set()}


@pytest.fixture(scope="module")
def preview() -> Preview:
    return preview_program(ROOT, STACK, mode="update")


def names(preview: Preview, record: Any, prop: str) -> list[str]:
    return [r.name for r in dependency_records(preview, record, prop)]


def test_counts_by_resource_type(preview: Preview) -> None:
    assert counts(preview) == EXPECTED_COUNTS


def test_hosts_accept_only_instances_that_target_them_and_recover(preview: Preview) -> None:
    hosts = sorted(preview.by_type(HOST), key=lambda r: r.name)
    assert [host.name for host in hosts] == ["genomics-hosts-0", "genomics-hosts-1"]
    for index, host in enumerate(hosts):
        inputs = {k: v for k, v in host.inputs.items() if k != "tags"}
        assert inputs == {
            "instanceType": "g5.12xlarge",
            "autoPlacement": "off",
            "hostRecovery": "on",
            # The tenant account's names of use1-az1 and use1-az2 (tests/infra/test_zone_selection.py).
            "availabilityZone": f"us-east-1{'ef'[index]}",
        }


def test_each_instance_targets_its_own_host_through_the_hardened_template(preview: Preview) -> None:
    template = preview.get(TEMPLATE, "genomics-gpu-lt")
    for index in range(2):
        instance = preview.get(INSTANCE, f"genomics-gpu-{index}")
        inputs = {k: v for k, v in instance.inputs.items() if k not in ("tags", "hostId", "launchTemplate")}
        assert inputs == {
            "instanceType": "g5.12xlarge",
            "tenancy": "host",
            "iamInstanceProfile": "aip-prod-genomics-hosts",
            "primaryNetworkInterface": {
                "networkInterfaceId": instance.inputs["primaryNetworkInterface"]["networkInterfaceId"]
            },
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpTokens": "required",
                "httpPutResponseHopLimit": 1,
                "instanceMetadataTags": "disabled",
            },
            "rootBlockDevice": {
                "volumeType": "gp3",
                "volumeSize": 200,
                "encrypted": True,
                "kmsKeyId": instance.inputs["rootBlockDevice"]["kmsKeyId"],
                "deleteOnTermination": True,
            },
            "enclaveOptions": {"enabled": True},
        }
        assert names(preview, instance, "hostId") == [f"genomics-hosts-{index}"]
        assert names(preview, instance, "launchTemplate") == [template.name]
        assert names(preview, instance, "rootBlockDevice") == ["genomics-keys-volumes"]
        assert names(preview, instance, "iamInstanceProfile") == ["genomics-host-identity-profile"]
        interface = dependency_records(preview, instance, "primaryNetworkInterface")[0]
        assert names(preview, interface, "subnetId") == [f"genomics-network-private-{'abc'[zone_index(index, 3)]}"]
        assert names(preview, interface, "securityGroups") == ["genomics-gpu-sg"]
        assert "keyName" not in instance.inputs
        assert "associatePublicIpAddress" not in instance.inputs


def test_the_launch_template_places_on_hosts_with_enclaves(preview: Preview) -> None:
    template = preview.get(TEMPLATE, "genomics-gpu-lt")
    assert template.inputs["placement"] == {"tenancy": "host"}
    assert template.inputs["enclaveOptions"] == {"enabled": True}
    # The tenant's published image parameter, resolved at deploy time (tests/infra/test_host_instances.py).
    assert (
        template.inputs["imageId"]
        == cloud.invoke("aws:ssm/getParameter:getParameter", {"name": "/aip/prod/genomics/gpu-host/ami"}, "us-east-1")[
            "value"
        ]
    )
    assert template.inputs["instanceType"] == "g5.12xlarge"
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    # The instances attach their own primary interfaces: the template defines none.
    assert "networkInterfaces" not in template.inputs
    [volume] = template.inputs["blockDeviceMappings"]
    assert volume["ebs"]["encrypted"] == "true"
    assert names(preview, template, "blockDeviceMappings") == ["genomics-keys-volumes"]
    assert "keyName" not in template.inputs


def test_the_instances_take_no_ingress_and_only_https_to_aws(preview: Preview) -> None:
    group = preview.get("aws:ec2/securityGroup:SecurityGroup", "genomics-gpu-sg")
    assert group.inputs["ingress"] == []
    egress = [(rule["protocol"], rule["fromPort"], rule["toPort"]) for rule in group.inputs["egress"]]
    assert egress == [("tcp", 443, 443), ("tcp", 443, 443)]
    assert group.inputs["egress"][0]["cidrBlocks"] == ["10.70.0.0/16"]
    assert "cidrBlocks" not in group.inputs["egress"][1]
    assert names(preview, group, "egress") == ["genomics-network-endpoint-s3"]
    endpoints = {r.inputs["serviceName"].rsplit(".", 1)[-1] for r in preview.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert {"ssm", "ssmmessages", "ec2messages"} <= endpoints


def test_the_host_role_is_the_tenants_bounded_and_reached_through_ssm(preview: Preview) -> None:
    role = preview.get("aws:iam/role:Role", "genomics-host-identity-role")
    assert role.inputs["name"] == "aip-prod-genomics-hosts"
    assert role.inputs["permissionsBoundary"] == f"arn:aws:iam::{ACCOUNT}:policy/aip-baseline/aip-prod-tenant-boundary"
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": ["sts:AssumeRole"]}
    ]
    policy = statements(preview.get("aws:iam/rolePolicy:RolePolicy", "genomics-host-identity-access"))
    assert list(policy) == [
        "ListModelBucket",
        "ReadWriteModelObjects",
        "PullOwnRepositories",
        "EcrRegistryToken",
        "UseOwnKeysThroughS3",
        "AttestedEnclaveUsesDataKey",
    ]
    assert policy["ListModelBucket"]["Resource"] == f"arn:aws:s3:::aip-prod-genomics-models-{ACCOUNT}-us-east-1"
    assert policy["PullOwnRepositories"]["Resource"] == f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/prod/genomics/*"
    assert policy["AttestedEnclaveUsesDataKey"] == {
        "Sid": "AttestedEnclaveUsesDataKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*",
        "Condition": {
            "ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/prod/genomics/data"},
            "StringEqualsIgnoreCase": ATTESTATION,
        },
    }
    ssm = preview.get("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "genomics-host-identity-ssm")
    assert ssm.inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    profile = preview.get("aws:iam/instanceProfile:InstanceProfile", "genomics-host-identity-profile")
    assert profile.inputs["name"] == "aip-prod-genomics-hosts"


def test_the_data_key_yields_plaintext_only_to_the_attested_enclave(preview: Preview) -> None:
    key = statements(preview.get(KEY, "genomics-keys-data"))
    assert list(key) == [
        "AccountAdministration",
        "BreakGlass",
        "OwnerEncryptsOnly",
        "AttestedEnclaveDecrypts",
        "DenyDecryptOutsideAttestedEnclave",
    ]
    assert key["OwnerEncryptsOnly"]["Principal"] == {"AWS": HOST_ROLE}
    assert key["OwnerEncryptsOnly"]["Action"] == [
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:GenerateDataKeyWithoutPlaintext",
    ]
    assert key["AttestedEnclaveDecrypts"] == {
        "Sid": "AttestedEnclaveDecrypts",
        "Effect": "Allow",
        "Principal": {"AWS": HOST_ROLE},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyPair"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}, "StringEqualsIgnoreCase": ATTESTATION},
    }
    assert key["DenyDecryptOutsideAttestedEnclave"] == {
        "Sid": "DenyDecryptOutsideAttestedEnclave",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyPair", "kms:ReEncryptFrom"],
        "Resource": "*",
        "Condition": {"StringNotEqualsIgnoreCase": {"kms:RecipientAttestation:ImageSha384": IMAGE_SHA}},
    }
    for purpose in ("volumes", "registry", "models", "logs"):
        other = statements(preview.get(KEY, f"genomics-keys-{purpose}"))
        assert "OwnerUseThroughAwsServices" in other
        assert not [sid for sid in other if "Attest" in sid], purpose


def test_the_log_bucket_and_alert_topic_are_named_for_the_tenant(preview: Preview) -> None:
    buckets = sorted(r.inputs["bucket"] for r in preview.by_type("aws:s3/bucket:Bucket"))
    assert buckets == [
        f"aip-prod-genomics-access-logs-{ACCOUNT}-us-east-1",
        f"aip-prod-genomics-models-{ACCOUNT}-us-east-1",
    ]
    assert [r.inputs["name"] for r in preview.by_type("aws:sns/topic:Topic")] == ["aip-prod-genomics-budget-alerts"]


def test_outputs_list_the_hosts_and_instances(preview: Preview) -> None:
    tenant = preview.outputs["tenant"]
    assert tenant["accountId"] == ACCOUNT
    assert len(tenant["hostIds"]) == len(tenant["instanceIds"]) == 2
    assert set(tenant["keyArns"]) == {"volumes", "registry", "models", "data", "logs"}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["first-preview", "update"])
def test_only_the_violations_awaiting_reused_components_remain(mode: Mode) -> None:
    assert remaining_violations(STACK, mode) == AWAITING[mode]


def test_without_confidential_computing_nothing_is_attested() -> None:
    config = stack_config(STACK)
    hosts = dict(config["secure-ai-platform:hosts"])
    del hosts["enclaveAttestation"]
    config.update({"secure-ai-platform:hosts": hosts, "secure-ai-platform:confidential": False})
    config["secure-ai-platform:network"] = {"cidr": "10.92.0.0/16"}
    preview = preview_program(ROOT, "hosts-genomics-copy-prod", config=config, mode="update", policy_packs=[PACK])
    assert "enclaveOptions" not in preview.get(TEMPLATE, "genomics-gpu-lt").inputs
    assert all("enclaveOptions" not in r.inputs for r in preview.by_type(INSTANCE))
    assert "OwnerUseThroughAwsServices" in statements(preview.get(KEY, "genomics-keys-data"))
    assert "AttestedEnclaveUsesDataKey" not in statements(
        preview.get("aws:iam/rolePolicy:RolePolicy", "genomics-host-identity-access")
    )
    assert "enclave-data-key-attested" not in {v.policy for v in preview.mandatory}


def test_a_dedicated_host_type_without_a_host_configuration_is_refused() -> None:
    def body() -> None:
        DedicatedHosts(
            "hosts", DedicatedHostsArgs(instance_type="g6.12xlarge", count=1, availability_zones=["us-east-1a"])
        )

    with pytest.raises(ProgramError, match=r"g6\.12xlarge has no Dedicated Host configuration"):
        preview_function(body)


def test_attestation_needs_the_data_key_and_its_image_measurement() -> None:
    settings = settings_from_stack_file(stack_config(STACK), STACK)

    def body() -> None:
        KeyRing("keys", KeyRingArgs(settings, "genomics", ["logs"], [HOST_ROLE], attestation=ATTESTATION))

    with pytest.raises(ProgramError, match="attestation needs the data purpose"):
        preview_function(body)
