"""SecureCluster: endpoint, encryption, logs, access entries, pinned add-ons, system nodes, provider."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiplatform_standards import platform
from platform_support import ACCOUNT, REGION, deploy_runner_role, run, settings

from infra.components.cluster import SecureCluster, SecureClusterArgs
from infra.tags import register_standard_tags
from preflight import Preview, ResourceRecord

SETTINGS = settings()
VPC_CIDR = "10.40.0.0/16"
SUBNETS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
SECRETS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111"
VOLUMES_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/22222222-2222-2222-2222-222222222222"
LOGS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/33333333-3333-3333-3333-333333333333"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/aip-dev-platform-platform-admin"
RUNNER = f"arn:aws:iam::{ACCOUNT}:role/aip-dev-platform-deploy-runner"
CLUSTER_ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
# The deployer may create a role only with the tenant boundary (platform_roles.deployer_permissions).
TENANT_BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/aip-dev-tenant-boundary"

CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def cluster_args() -> SecureClusterArgs:
    """Call inside a program body: the runner's role is a resource."""
    return SecureClusterArgs(
        settings=SETTINGS,
        vpc_id="vpc-0a1b2c3d4e5f60000",
        subnet_ids=SUBNETS,
        vpc_cidr=VPC_CIDR,
        secrets_key_arn=SECRETS_KEY,
        volumes_key_arn=VOLUMES_KEY,
        logs_key_arn=LOGS_KEY,
        deploy_runner_role=deploy_runner_role(SETTINGS),
    )


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        register_standard_tags(SETTINGS)
        SecureCluster("shared", cluster_args())

    return run(body, SETTINGS)


def trust(record: ResourceRecord) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(record.inputs["assumeRolePolicy"])
    return policy


def depends_on(preview: Preview, record: ResourceRecord) -> set[str]:
    return {preview.by_urn(urn).name for urn in record.dependencies}


def test_component_tree(preview: Preview) -> None:
    [component] = preview.by_type("secure-ai-platform:cluster:SecureCluster")
    children = {(record.type, record.name) for record in preview.children(component.urn)}
    assert children == {
        (ROLE, "shared-cluster-role"),
        (ATTACHMENT, "shared-cluster-role-policy"),
        ("aws:ec2/securityGroup:SecurityGroup", "shared-control-plane-sg"),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "shared-control-plane-https"),
        ("aws:cloudwatch/logGroup:LogGroup", "shared-control-plane-logs"),
        (CLUSTER, "shared-eks"),
        (ACCESS_ENTRY, "shared-access-platform-admin"),
        (ACCESS_ENTRY, "shared-access-deploy-runner"),
        (ASSOCIATION, "shared-access-platform-admin-admin"),
        (ASSOCIATION, "shared-access-deploy-runner-admin"),
        (ROLE, "shared-system-node-role"),
        (ATTACHMENT, "shared-system-node-AmazonEKSWorkerNodePolicy"),
        (ATTACHMENT, "shared-system-node-AmazonEKS_CNI_Policy"),
        (ATTACHMENT, "shared-system-node-AmazonEC2ContainerRegistryPullOnly"),
        (ADDON, "shared-addon-vpc-cni"),
        (ADDON, "shared-addon-kube-proxy"),
        (ADDON, "shared-addon-eks-pod-identity-agent"),
        (ADDON, "shared-addon-coredns"),
        ("secure-ai-platform:launch_template:LaunchTemplate", "shared-system"),
        (NODE_GROUP, "shared-system-nodes"),
        ("pulumi:providers:kubernetes", "shared-k8s"),
    }


def test_endpoint_is_private_and_reached_through_the_control_plane_group(preview: Preview) -> None:
    cluster = preview.get(CLUSTER, "shared-eks")
    group = preview.get("aws:ec2/securityGroup:SecurityGroup", "shared-control-plane-sg")
    assert cluster.inputs["name"] == "aip-dev"
    assert cluster.inputs["version"] == "1.34"
    assert cluster.inputs["vpcConfig"] == {
        "subnetIds": SUBNETS,
        "securityGroupIds": [group.id],
        "endpointPrivateAccess": True,
        "endpointPublicAccess": False,
    }


def test_control_plane_group_admits_https_from_the_vpc_only(preview: Preview) -> None:
    group = preview.get("aws:ec2/securityGroup:SecurityGroup", "shared-control-plane-sg")
    assert "ingress" not in group.inputs
    assert "egress" not in group.inputs
    rule = preview.get("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "shared-control-plane-https")
    assert {key: value for key, value in rule.inputs.items() if key not in ("tags", "description")} == {
        "securityGroupId": group.id,
        "cidrIpv4": VPC_CIDR,
        "ipProtocol": "tcp",
        "fromPort": 443,
        "toPort": 443,
    }


def test_secrets_are_envelope_encrypted_with_the_cluster_secrets_key(preview: Preview) -> None:
    cluster = preview.get(CLUSTER, "shared-eks")
    assert cluster.inputs["encryptionConfig"] == {"resources": ["secrets"], "provider": {"keyArn": SECRETS_KEY}}


def test_all_five_log_types_into_an_encrypted_pre_created_log_group(preview: Preview) -> None:
    cluster = preview.get(CLUSTER, "shared-eks")
    assert cluster.inputs["enabledClusterLogTypes"] == [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ]
    assert set(cluster.inputs["enabledClusterLogTypes"]) == set(platform()["eks_log_types"])
    logs = preview.get("aws:cloudwatch/logGroup:LogGroup", "shared-control-plane-logs")
    assert logs.inputs["name"] == "/aws/eks/aip-dev/cluster"
    assert logs.inputs["kmsKeyId"] == LOGS_KEY
    assert logs.inputs["retentionInDays"] == 30
    assert "shared-control-plane-logs" in depends_on(preview, cluster)


def test_access_entries_only_creator_not_admin(preview: Preview) -> None:
    cluster = preview.get(CLUSTER, "shared-eks")
    assert cluster.inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    assert cluster.inputs["bootstrapSelfManagedAddons"] is False
    assert cluster.inputs["upgradePolicy"] == {"supportType": "STANDARD"}
    assert cluster.inputs["deletionProtection"] is False


def test_cluster_role_trusts_eks_only(preview: Preview) -> None:
    role = preview.get(ROLE, "shared-cluster-role")
    assert role.inputs["name"] == "aip-dev-platform-eks-cluster"
    assert role.inputs["permissionsBoundary"] == TENANT_BOUNDARY
    assert trust(role)["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ]
    attachment = preview.get(ATTACHMENT, "shared-cluster-role-policy")
    assert attachment.inputs == {
        "role": "aip-dev-platform-eks-cluster",
        "policyArn": "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
    }
    assert preview.get(CLUSTER, "shared-eks").inputs["roleArn"] == role.outputs["arn"]


def test_platform_admin_and_the_deploy_runner_are_the_only_cluster_admins(preview: Preview) -> None:
    """Issue 11, item 3: the runner applies every Kubernetes object; the deployer, outside the VPC, has no entry.

    EKS rejects an access entry whose principal does not exist, so the runner's entry waits for its role.
    """
    entries = {record.inputs["principalArn"]: record for record in preview.by_type(ACCESS_ENTRY)}
    assert set(entries) == {ADMIN, RUNNER}
    for entry in entries.values():
        assert entry.inputs["clusterName"] == "aip-dev", entry.urn
        assert entry.inputs["type"] == "STANDARD", entry.urn
        assert "kubernetesGroups" not in entry.inputs, entry.urn
    associations = preview.by_type(ASSOCIATION)
    assert {
        (record.inputs["principalArn"], record.inputs["policyArn"], json.dumps(record.inputs["accessScope"]))
        for record in associations
    } == {
        (ADMIN, CLUSTER_ADMIN, '{"type": "cluster"}'),
        (RUNNER, CLUSTER_ADMIN, '{"type": "cluster"}'),
    }
    assert len(associations) == 2
    for association in associations:
        assert association.inputs["clusterName"] == "aip-dev", association.urn
    assert "deploy-runner-role" in depends_on(preview, preview.get(ACCESS_ENTRY, "shared-access-deploy-runner"))
    assert "shared-access-deploy-runner" in depends_on(
        preview, preview.get(ASSOCIATION, "shared-access-deploy-runner-admin")
    )


def test_add_ons_at_eks_most_recent_versions_with_network_policy_enforcement(preview: Preview) -> None:
    # Resolved at deploy time (tests/infra/test_addon_versions.py): the offline cloud's answers for 1.34.
    addons = {record.inputs["addonName"]: record.inputs for record in preview.by_type(ADDON)}
    assert {name: inputs["addonVersion"] for name, inputs in addons.items()} == {
        "vpc-cni": "v1.20.1-eksbuild.3",
        "kube-proxy": "v1.34.6-eksbuild.2",
        "coredns": "v1.13.2-eksbuild.4",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
    }
    assert json.loads(addons["vpc-cni"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
    for name, inputs in addons.items():
        assert inputs["clusterName"] == "aip-dev", name
        assert inputs["resolveConflictsOnCreate"] == "OVERWRITE", name
        assert inputs["resolveConflictsOnUpdate"] == "OVERWRITE", name
        if name != "vpc-cni":
            assert "configurationValues" not in inputs, name
        assert "serviceAccountRoleArn" not in inputs, name


def test_node_agents_come_before_nodes_and_coredns_after(preview: Preview) -> None:
    nodes = preview.get(NODE_GROUP, "shared-system-nodes")
    assert {
        "shared-addon-vpc-cni",
        "shared-addon-kube-proxy",
        "shared-addon-eks-pod-identity-agent",
        "shared-system-node-AmazonEKSWorkerNodePolicy",
        "shared-system-node-AmazonEKS_CNI_Policy",
        "shared-system-node-AmazonEC2ContainerRegistryPullOnly",
    } <= depends_on(preview, nodes)
    assert "shared-system-nodes" in depends_on(preview, preview.get(ADDON, "shared-addon-coredns"))
    for addon in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent"):
        assert "shared-system-nodes" not in depends_on(preview, preview.get(ADDON, f"shared-addon-{addon}")), addon


def test_system_node_group_has_no_remote_access_and_runs_on_the_launch_template(preview: Preview) -> None:
    nodes = preview.get(NODE_GROUP, "shared-system-nodes")
    template = preview.get(LAUNCH_TEMPLATE, "shared-system-lt")
    role = preview.get(ROLE, "shared-system-node-role")
    inputs = {key: value for key, value in nodes.inputs.items() if key != "tags"}
    assert inputs == {
        "clusterName": "aip-dev",
        "nodeGroupName": "aip-dev-platform-system",
        "nodeRoleArn": role.outputs["arn"],
        "subnetIds": SUBNETS,
        "version": "1.34",
        "amiType": "AL2023_x86_64_STANDARD",
        "capacityType": "ON_DEMAND",
        "instanceTypes": ["m6i.large"],
        "scalingConfig": {"minSize": 2, "desiredSize": 2, "maxSize": 4},
        "updateConfig": {"maxUnavailable": 1},
        "launchTemplate": {"id": template.id, "version": str(template.outputs["latestVersion"])},
        "labels": {"aiplatform.io/pool": "system"},
    }
    assert "remoteAccess" not in nodes.inputs
    assert "diskSize" not in nodes.inputs


def test_launch_template_hardening(preview: Preview) -> None:
    template = preview.get(LAUNCH_TEMPLATE, "shared-system-lt")
    cluster = preview.get(CLUSTER, "shared-eks")
    inputs = template.inputs
    assert inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
        "instanceMetadataTags": "disabled",
    }
    assert inputs["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "ebs": {
                "volumeType": "gp3",
                "volumeSize": 50,
                "encrypted": "true",
                "kmsKeyId": VOLUMES_KEY,
                "deleteOnTermination": "true",
            },
        }
    ]
    assert inputs["networkInterfaces"] == [
        {
            "deviceIndex": 0,
            "associatePublicIpAddress": "false",
            "deleteOnTermination": "true",
            "securityGroups": [cluster.outputs["vpcConfig"]["clusterSecurityGroupId"]],
        }
    ]
    assert inputs["updateDefaultVersion"] is True
    for absent in ("keyName", "iamInstanceProfile", "vpcSecurityGroupIds", "placement", "enclaveOptions", "imageId"):
        assert absent not in inputs, absent


def test_launch_template_stamps_the_platform_tags_on_what_it_launches(preview: Preview) -> None:
    template = preview.get(LAUNCH_TEMPLATE, "shared-system-lt")
    expected = {
        "aiplatform:environment": "dev",
        "aiplatform:tier": "platform",
        "aiplatform:tenant": "platform",
        "aiplatform:data-classification": "internal",
        "aiplatform:cost-center": "cc-platform",
        "aiplatform:contact": "ml-platform@example.com",
        "aiplatform:stack": "platform-dev",
    }
    assert template.inputs["tagSpecifications"] == [
        {"resourceType": kind, "tags": expected} for kind in ("instance", "volume", "network-interface")
    ]


def test_system_node_role_trusts_ec2_with_worker_cni_and_pull_policies(preview: Preview) -> None:
    role = preview.get(ROLE, "shared-system-node-role")
    assert role.inputs["name"] == "aip-dev-platform-system-nodes"
    assert role.inputs["permissionsBoundary"] == TENANT_BOUNDARY
    assert trust(role)["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": ["sts:AssumeRole"]}
    ]
    attached = {
        record.inputs["policyArn"]
        for record in preview.by_type(ATTACHMENT)
        if record.inputs["role"] == "aip-dev-platform-system-nodes"
    }
    assert attached == {
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    }
    assert "inlinePolicies" not in role.inputs
    assert "managedPolicyArns" not in role.inputs


def test_kubernetes_provider_authenticates_with_ambient_credentials_through_the_aws_cli(preview: Preview) -> None:
    """Issue 11, item 3: no --role-arn, since nothing may sts:AssumeRole the deployer (its trust admits only
    sts:AssumeRoleWithWebIdentity, infra.components.platform_roles.github_trust); the in-VPC runner's own
    credentials get the token, and the runner's access entry exists before the provider is used."""
    provider = preview.get("pulumi:providers:kubernetes", "shared-k8s")
    cluster = preview.get(CLUSTER, "shared-eks")
    config = json.loads(provider.inputs["kubeconfig"])
    [entry] = config["clusters"]
    assert entry == {
        "name": "aip-dev",
        "cluster": {
            "server": cluster.outputs["endpoint"],
            "certificate-authority-data": cluster.outputs["certificateAuthority"]["data"],
        },
    }
    [user] = config["users"]
    assert user["user"] == {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": [
                "eks",
                "get-token",
                "--cluster-name",
                "aip-dev",
                "--region",
                REGION,
                "--output",
                "json",
            ],
            "interactiveMode": "Never",
        }
    }
    assert config["current-context"] == "aip-dev"
    assert depends_on(preview, provider) == {
        "shared-eks",
        "shared-access-deploy-runner",
        "shared-access-deploy-runner-admin",
    }


def test_every_aws_resource_carries_the_platform_tags(preview: Preview) -> None:
    for record in preview.resources:
        if "tags" in record.inputs:
            assert record.inputs["tags"]["aiplatform:tenant"] == "platform", record.urn
            assert record.inputs["tags"]["aiplatform:tier"] == "platform", record.urn
