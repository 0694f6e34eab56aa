"""GpuNodePool: the exact contract of a tenant's GPU node groups, node role, security group and subnets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from platform_support import ACCOUNT, REGION, dependency_records, deploy_runner_role, run, settings, statements, tenant

from infra.components.cluster import SecureCluster, SecureClusterArgs
from infra.components.gpu_pool import GpuNodePool, GpuNodePoolArgs
from infra.components.network import IsolatedNetwork, NetworkArgs
from infra.tags import register_standard_tags
from preflight import Preview, ResourceRecord

SETTINGS = settings(
    "prod",
    tenants=[
        tenant(
            "fraud",
            tier="dedicated-pool",
            dataClassification="confidential",
            quotas={"gpus": 24},
            gpuPools=[
                {"name": "training", "instanceTypes": ["p4d.24xlarge"], "maxSize": 2, "diskSizeGib": 500},
                {"name": "inference", "instanceTypes": ["g6.xlarge", "g6.2xlarge"], "minSize": 1, "maxSize": 8},
            ],
        ),
        tenant(
            "vision",
            tier="dedicated-pool",
            quotas={"gpus": 4},
            gpuPools=[{"name": "edge", "instanceTypes": ["g5g.xlarge"], "maxSize": 4, "capacityType": "spot"}],
        ),
        tenant("search"),
    ],
)
PLATFORM_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
VOLUME_KEYS = {
    "fraud": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111",
    "vision": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/22222222-2222-2222-2222-222222222222",
}
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
ROLE = "aws:iam/role:Role"
SUBNET = "aws:ec2/subnet:Subnet"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
COMPONENT = "secure-ai-platform:gpu_pool:GpuNodePool"


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        register_standard_tags(SETTINGS)
        network = IsolatedNetwork("network", NetworkArgs(SETTINGS, "platform", PLATFORM_KEY))
        cluster = SecureCluster(
            "cluster",
            SecureClusterArgs(
                SETTINGS,
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                vpc_cidr=network.cidr,
                secrets_key_arn=PLATFORM_KEY,
                volumes_key_arn=PLATFORM_KEY,
                logs_key_arn=PLATFORM_KEY,
                deploy_runner_role=deploy_runner_role(SETTINGS),
            ),
        )
        for name, key in VOLUME_KEYS.items():
            GpuNodePool(f"{name}-gpu", GpuNodePoolArgs(SETTINGS, SETTINGS.tenant(name), cluster, network, key))

    return run(body, SETTINGS)


def component_records(preview: Preview, component: str) -> list[ResourceRecord]:
    root = preview.get(COMPONENT, component).urn
    children: list[ResourceRecord] = []
    frontier = {root}
    while frontier:
        found = [record for record in preview.resources if record.parent in frontier]
        children.extend(found)
        frontier = {record.urn for record in found}
    return children


def test_one_node_group_per_pool_and_nothing_else_of_a_tenant(preview: Preview) -> None:
    assert sorted(record.name for record in preview.by_type(NODE_GROUP)) == [
        "cluster-system-nodes",
        "fraud-gpu-inference",
        "fraud-gpu-training",
        "vision-gpu-edge",
    ]
    assert sorted((r.type, r.name) for r in component_records(preview, "vision-gpu") if r.custom) == sorted(
        [
            (LAUNCH_TEMPLATE, "vision-gpu-edge-lt"),
            (NODE_GROUP, "vision-gpu-edge"),
            ("aws:iam/rolePolicy:RolePolicy", "vision-gpu-node-pull"),
            ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "vision-gpu-node-AmazonEKSWorkerNodePolicy"),
            ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "vision-gpu-node-AmazonEKS_CNI_Policy"),
            (ROLE, "vision-gpu-node-role"),
            (SECURITY_GROUP, "vision-gpu-nodes"),
            (INGRESS_RULE, "vision-gpu-dns-tcp"),
            (INGRESS_RULE, "vision-gpu-dns-udp"),
        ]
    )


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        (
            "fraud-gpu-training",
            {
                "nodeGroupName": "aip-prod-fraud-training",
                "amiType": "AL2023_x86_64_NVIDIA",
                "capacityType": "ON_DEMAND",
                "instanceTypes": ["p4d.24xlarge"],
                "scalingConfig": {"minSize": 0, "desiredSize": 0, "maxSize": 2},
                "labels": {"aiplatform.io/tenant": "fraud", "aiplatform.io/pool": "training"},
            },
        ),
        (
            "fraud-gpu-inference",
            {
                "nodeGroupName": "aip-prod-fraud-inference",
                "amiType": "AL2023_x86_64_NVIDIA",
                "capacityType": "ON_DEMAND",
                "instanceTypes": ["g6.xlarge", "g6.2xlarge"],
                "scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 8},
                "labels": {"aiplatform.io/tenant": "fraud", "aiplatform.io/pool": "inference"},
            },
        ),
        (
            "vision-gpu-edge",
            {
                "nodeGroupName": "aip-prod-vision-edge",
                "amiType": "AL2023_ARM_64_NVIDIA",
                "capacityType": "SPOT",
                "instanceTypes": ["g5g.xlarge"],
                "scalingConfig": {"minSize": 0, "desiredSize": 0, "maxSize": 4},
                "labels": {"aiplatform.io/tenant": "vision", "aiplatform.io/pool": "edge"},
            },
        ),
    ],
)
def test_node_group_contract(preview: Preview, group: str, expected: dict[str, Any]) -> None:
    record = preview.get(NODE_GROUP, group)
    inputs = record.inputs
    owner = expected["labels"]["aiplatform.io/tenant"]
    assert {key: inputs[key] for key in expected} == expected
    assert inputs["clusterName"] == "aip-prod"
    assert inputs["version"] == SETTINGS.cluster.version
    assert inputs["taints"] == [
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"},
        {"key": "aiplatform.io/tenant", "value": owner, "effect": "NO_SCHEDULE"},
    ]
    assert inputs["updateConfig"] == {"maxUnavailable": 1}
    for absent in ("remoteAccess", "diskSize", "releaseVersion"):
        assert absent not in inputs
    assert record.options["ignore_changes"] == ["scalingConfig.desiredSize"]
    assert inputs["tags"]["aiplatform:tenant"] == owner
    assert inputs["tags"]["aiplatform:tier"] == "dedicated-pool"
    assert [r.name for r in dependency_records(preview, record, "nodeRoleArn")] == [f"{owner}-gpu-node-role"]
    pool = group.removeprefix(f"{owner}-gpu-")
    assert [r.name for r in dependency_records(preview, record, "launchTemplate")] == [f"{owner}-gpu-{pool}-lt"]


def test_launch_template_is_the_hardened_one_with_the_tenants_volume_key(preview: Preview) -> None:
    for name, size, owner in (
        ("fraud-gpu-training-lt", 500, "fraud"),
        ("fraud-gpu-inference-lt", 100, "fraud"),
        ("vision-gpu-edge-lt", 100, "vision"),
    ):
        inputs = preview.get(LAUNCH_TEMPLATE, name).inputs
        assert inputs["metadataOptions"] == {
            "httpEndpoint": "enabled",
            "httpTokens": "required",
            "httpPutResponseHopLimit": 1,
            "instanceMetadataTags": "disabled",
        }
        [device] = inputs["blockDeviceMappings"]
        assert device["ebs"] == {
            "volumeType": "gp3",
            "volumeSize": size,
            "encrypted": "true",
            "kmsKeyId": VOLUME_KEYS[owner],
            "deleteOnTermination": "true",
        }
        [interface] = inputs["networkInterfaces"]
        assert interface["associatePublicIpAddress"] == "false"
        assert "keyName" not in inputs
        assert {spec["resourceType"] for spec in inputs["tagSpecifications"]} == {
            "instance",
            "volume",
            "network-interface",
        }
        for spec in inputs["tagSpecifications"]:
            assert spec["tags"]["aiplatform:tenant"] == owner
            assert spec["tags"]["aiplatform:data-classification"] == SETTINGS.tenant(owner).data_classification
        groups = dependency_records(preview, preview.get(LAUNCH_TEMPLATE, name), "networkInterfaces")
        assert [record.name for record in groups if record.type == SECURITY_GROUP] == [f"{owner}-gpu-nodes"]


def test_node_role_is_the_tenants_own_with_a_scoped_pull_policy(preview: Preview) -> None:
    for owner in ("fraud", "vision"):
        role = preview.get(ROLE, f"{owner}-gpu-node-role")
        assert role.inputs["name"] == f"aip-prod-{owner}-gpu-nodes"
        assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": ["sts:AssumeRole"]}
        ]
        assert role.inputs["permissionsBoundary"] == SETTINGS.required_roles.tenant_boundary
        assert role.inputs["tags"]["aiplatform:tenant"] == owner
        attached = sorted(
            record.inputs["policyArn"]
            for record in preview.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if record.name.startswith(f"{owner}-gpu-")
        )
        assert attached == [
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        ]
        pull = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        assert statements(preview.get("aws:iam/rolePolicy:RolePolicy", f"{owner}-gpu-node-pull")) == {
            "RegistryLogin": {
                "Sid": "RegistryLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*",
            },
            "PullTenantAndPlatformImages": {
                "Sid": "PullTenantAndPlatformImages",
                "Effect": "Allow",
                "Action": pull,
                "Resource": [
                    f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/prod/{owner}/*",
                    f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/prod/platform/*",
                ],
            },
            "PullThroughCaches": {
                "Sid": "PullThroughCaches",
                "Effect": "Allow",
                "Action": [*pull, "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
                "Resource": [f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/ecr-public/*"],
            },
            "PullEksAddOnImages": {
                "Sid": "PullEksAddOnImages",
                "Effect": "Allow",
                "Action": pull,
                "Resource": f"arn:aws:ecr:{REGION}:602401143452:repository/*",
            },
        }


def test_security_group_admits_only_its_own_nodes_and_the_control_plane(preview: Preview) -> None:
    cluster = preview.get("aws:eks/cluster:Cluster", "cluster-eks").outputs["vpcConfig"]["clusterSecurityGroupId"]
    for owner in ("fraud", "vision"):
        group = preview.get(SECURITY_GROUP, f"{owner}-gpu-nodes")
        assert group.inputs["ingress"] == [
            {"description": "Own nodes and pods", "protocol": "-1", "fromPort": 0, "toPort": 0, "self": True},
            {
                "description": "Kubelet from the control plane",
                "protocol": "tcp",
                "fromPort": 10250,
                "toPort": 10250,
                "securityGroups": [cluster],
            },
            {
                "description": "Webhooks from the control plane",
                "protocol": "tcp",
                "fromPort": 443,
                "toPort": 443,
                "securityGroups": [cluster],
            },
        ]
        egress = group.inputs["egress"]
        assert egress[0] == {
            "description": "Inside the VPC: API endpoint, interface endpoints, DNS, own nodes",
            "protocol": "-1",
            "fromPort": 0,
            "toPort": 0,
            "cidrBlocks": ["10.40.0.0/16"],
        }
        assert {key: value for key, value in egress[1].items() if key != "prefixListIds"} == {
            "description": "S3 (ECR image layers, model store) through the gateway endpoint",
            "protocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
        }
        assert len(egress) == 2
        # The S3 prefix list comes from the VPC's S3 gateway endpoint (its id is the cloud's to compute).
        sources = {record.name for record in dependency_records(preview, group, "egress")}
        assert sources == {"network-endpoint-s3"}
        assert {record.name for record in dependency_records(preview, group, "ingress")} == {"cluster-eks"}
        for protocol in ("udp", "tcp"):
            rule = preview.get(INGRESS_RULE, f"{owner}-gpu-dns-{protocol}")
            assert rule.inputs["securityGroupId"] == cluster
            assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (protocol, 53, 53)
            assert [r.name for r in dependency_records(preview, rule, "referencedSecurityGroupId")] == [
                f"{owner}-gpu-nodes"
            ]


def test_confidential_tenant_gets_own_subnets_without_any_default_route(preview: Preview) -> None:
    subnets = [preview.get(SUBNET, f"fraud-gpu-subnet-{letter}") for letter in "abc"]
    assert [subnet.inputs["cidrBlock"] for subnet in subnets] == ["10.40.192.0/24", "10.40.193.0/24", "10.40.194.0/24"]
    assert SETTINGS.own_subnet_cidrs("fraud") == ("10.40.192.0/24", "10.40.193.0/24", "10.40.194.0/24")
    shared = [preview.get(SUBNET, f"network-private-{letter}") for letter in "abc"]
    for own, platform_subnet in zip(subnets, shared, strict=True):
        assert own.inputs["mapPublicIpOnLaunch"] is False
        assert own.inputs["availabilityZone"] == platform_subnet.outputs["availabilityZone"]
        assert own.inputs["tags"]["aiplatform:tenant"] == "fraud"
    tables = [preview.get(ROUTE_TABLE, f"fraud-gpu-subnet-{letter}") for letter in "abc"]
    for table in tables:
        assert "routes" not in table.inputs or table.inputs["routes"] == []
        assert not [
            route
            for route in preview.by_type("aws:ec2/route:Route")
            if table.urn in route.property_dependencies.get("routeTableId", [])
        ]
    endpoint = preview.get("aws:ec2/vpcEndpoint:VpcEndpoint", "fraud-gpu-endpoint-s3")
    assert endpoint.inputs["serviceName"] == f"com.amazonaws.{REGION}.s3"
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    assert sorted(r.name for r in dependency_records(preview, endpoint, "routeTableIds")) == [
        "fraud-gpu-subnet-a",
        "fraud-gpu-subnet-b",
        "fraud-gpu-subnet-c",
    ]
    for group in ("fraud-gpu-training", "fraud-gpu-inference"):
        used = dependency_records(preview, preview.get(NODE_GROUP, group), "subnetIds")
        assert sorted(record.name for record in used) == [f"fraud-gpu-subnet-{letter}" for letter in "abc"]


def test_internal_tenant_pools_use_the_shared_private_subnets(preview: Preview) -> None:
    assert SETTINGS.own_subnet_cidrs("vision") == ()
    used = dependency_records(preview, preview.get(NODE_GROUP, "vision-gpu-edge"), "subnetIds")
    assert sorted(record.name for record in used) == [f"network-private-{letter}" for letter in "abc"]


def test_every_resource_of_the_pool_carries_its_tenants_tags(preview: Preview) -> None:
    for owner in ("fraud", "vision"):
        for record in component_records(preview, f"{owner}-gpu"):
            tags = record.inputs.get("tags")
            if record.custom and tags is not None:
                assert tags["aiplatform:tenant"] == owner, record.urn
                assert tags["aiplatform:tier"] == "dedicated-pool", record.urn


def test_a_tenant_without_dedicated_pools_is_refused() -> None:
    args = GpuNodePoolArgs(SETTINGS, SETTINGS.tenant("search"), None, None, "")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not a dedicated-pool tenant with GPU pools"):
        GpuNodePool("search-gpu", args)
