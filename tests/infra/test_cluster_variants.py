"""SecureCluster variants: a prod single-tenant cluster with an allowlisted public endpoint, on 1.35.

Run as a first preview, where nothing the cloud computes is known yet: the security-relevant
inputs must not depend on it.
"""

from __future__ import annotations

import pytest
from platform_support import ACCOUNT, REGION, deploy_runner_role, run, settings

from infra.components.cluster import SecureCluster, SecureClusterArgs, SystemNodes
from preflight import UNKNOWN, Preview

PROD = settings(
    "prod",
    cluster={"version": "1.35", "endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
)
VOLUMES_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/44444444-4444-4444-4444-444444444444"
CLUSTER = "aws:eks/cluster:Cluster"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        SecureCluster(
            "fraud",
            SecureClusterArgs(
                settings=PROD,
                vpc_id="vpc-0a1b2c3d4e5f60009",
                subnet_ids=["subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012", "subnet-0a1b2c3d4e5f60013"],
                vpc_cidr="10.50.0.0/16",
                secrets_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/55555555-5555-5555-5555-555555555555",
                volumes_key_arn=VOLUMES_KEY,
                logs_key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/66666666-6666-6666-6666-666666666666",
                deploy_runner_role=deploy_runner_role(PROD, "fraud"),
                owner="fraud",
                system_nodes=SystemNodes(instance_types=("m7i.xlarge",), volume_size_gib=100),
            ),
        )

    return run(body, PROD, mode="first-preview")


def test_public_endpoint_only_for_the_configured_cidrs(preview: Preview) -> None:
    vpc = preview.get(CLUSTER, "fraud-eks").inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]


def test_prod_cluster_is_protected_and_keeps_logs_a_year(preview: Preview) -> None:
    cluster = preview.get(CLUSTER, "fraud-eks")
    assert cluster.inputs["name"] == "aip-prod-fraud"
    assert cluster.inputs["version"] == "1.35"
    assert cluster.inputs["deletionProtection"] is True
    logs = preview.get("aws:cloudwatch/logGroup:LogGroup", "fraud-control-plane-logs")
    assert logs.inputs["name"] == "/aws/eks/aip-prod-fraud/cluster"
    assert logs.inputs["retentionInDays"] == 365


def test_add_ons_follow_the_kubernetes_version(preview: Preview) -> None:
    addons = {
        record.inputs["addonName"]: record.inputs["addonVersion"] for record in preview.by_type("aws:eks/addon:Addon")
    }
    # EKS's most recent versions for 1.35, as the offline cloud answers aws.eks.get_addon_version.
    assert addons == {
        "vpc-cni": "v1.20.1-eksbuild.3",
        "kube-proxy": "v1.35.3-eksbuild.2",
        "coredns": "v1.13.2-eksbuild.4",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
    }


def test_owner_names_roles_and_node_group_and_one_node_per_az(preview: Preview) -> None:
    roles = {
        record.name: record.inputs["name"]
        for record in preview.by_type("aws:iam/role:Role")
        if record.name != "deploy-runner-role"  # the test's stand-in for the runner's role
    }
    assert roles == {
        "fraud-cluster-role": "aip-prod-fraud-eks-cluster",
        "fraud-system-node-role": "aip-prod-fraud-system-nodes",
    }
    # The tenant's own runner is its cluster's one non-human admin.
    assert {record.inputs["principalArn"] for record in preview.by_type("aws:eks/accessEntry:AccessEntry")} == {
        PROD.required_roles.platform_admin,
        f"arn:aws:iam::{ACCOUNT}:role/aip-prod-fraud-deploy-runner",
    }
    nodes = preview.get("aws:eks/nodeGroup:NodeGroup", "fraud-system-nodes").inputs
    assert nodes["nodeGroupName"] == "aip-prod-fraud-system"
    assert nodes["instanceTypes"] == ["m7i.xlarge"]
    assert nodes["scalingConfig"] == {"minSize": 3, "desiredSize": 3, "maxSize": 6}
    assert "remoteAccess" not in nodes


def test_launch_template_is_hardened_before_anything_is_known(preview: Preview) -> None:
    inputs = preview.get(LAUNCH_TEMPLATE, "fraud-system-lt").inputs
    assert inputs["metadataOptions"]["httpTokens"] == "required"
    assert inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    [device] = inputs["blockDeviceMappings"]
    assert device["ebs"]["encrypted"] == "true"
    assert device["ebs"]["kmsKeyId"] == VOLUMES_KEY
    assert device["ebs"]["volumeSize"] == 100
    [interface] = inputs["networkInterfaces"]
    assert interface["associatePublicIpAddress"] == "false"
    # The cluster security group exists only once EKS has created the cluster.
    assert interface["securityGroups"] == [UNKNOWN]


def test_launch_template_stamps_the_owner_tags(preview: Preview) -> None:
    specifications = preview.get(LAUNCH_TEMPLATE, "fraud-system-lt").inputs["tagSpecifications"]
    assert [spec["resourceType"] for spec in specifications] == ["instance", "volume", "network-interface"]
    for spec in specifications:
        assert spec["tags"]["aiplatform:tenant"] == "fraud"
        assert spec["tags"]["aiplatform:tier"] == "shared"
        assert spec["tags"]["aiplatform:environment"] == "prod"
        assert spec["tags"]["aiplatform:contact"] == "fraud-team@example.com"


def test_provider_config_is_unknown_until_the_cluster_exists(preview: Preview) -> None:
    provider = preview.get("pulumi:providers:kubernetes", "fraud-k8s")
    assert provider.inputs["kubeconfig"] is UNKNOWN
