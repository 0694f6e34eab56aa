"""TenantIdentity: Pod Identity trust scoped to the tenant's service account, boundary, least privilege."""

from __future__ import annotations

import json
from typing import Any

import pytest
from platform_support import ACCOUNT, REGION, run, settings, statements

from infra.components.tenant_identity import TenantIdentity, TenantIdentityArgs
from infra.tags import register_standard_tags
from preflight import Preview, ResourceRecord

SETTINGS = settings()
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/aip-dev-tenant-boundary"


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        register_standard_tags(SETTINGS)
        for tenant in SETTINGS.tenants:
            TenantIdentity(tenant.name, TenantIdentityArgs(SETTINGS, tenant, "aip-dev"))

    return run(body, SETTINGS)


def trust(record: ResourceRecord) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(record.inputs["assumeRolePolicy"])
    return policy


def expected_trust(tenant: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PodIdentityForTenantWorkload",
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": ACCOUNT,
                        "aws:RequestTag/eks-cluster-name": "aip-dev",
                        "aws:RequestTag/kubernetes-namespace": tenant,
                        "aws:RequestTag/kubernetes-service-account": "workload",
                    },
                    "ArnEquals": {"aws:SourceArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/aip-dev"},
                },
            }
        ],
    }


def expected_policy(tenant: str) -> dict[str, dict[str, Any]]:
    bucket = f"aip-dev-{tenant}-models-{ACCOUNT}-{REGION}"
    return {
        "ListModelBucket": {
            "Sid": "ListModelBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
            "Resource": f"arn:aws:s3:::{bucket}",
        },
        "ReadWriteModelObjects": {
            "Sid": "ReadWriteModelObjects",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:PutObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
        "PullOwnRepositories": {
            "Sid": "PullOwnRepositories",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/dev/{tenant}/*",
        },
        "EcrRegistryToken": {
            "Sid": "EcrRegistryToken",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        "UseOwnKeysThroughS3": {
            "Sid": "UseOwnKeysThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*",
            "Condition": {
                "ForAnyValue:StringLike": {"kms:ResourceAliases": f"alias/dev/{tenant}/*"},
                "StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"},
            },
        },
    }


@pytest.mark.parametrize("tenant", ["search", "fraud"])
def test_role_name_boundary_and_tags(preview: Preview, tenant: str) -> None:
    role = preview.get(ROLE, f"{tenant}-workload")
    assert role.inputs["name"] == f"aip-dev-{tenant}-workload"
    assert role.inputs["permissionsBoundary"] == BOUNDARY
    assert role.inputs["maxSessionDuration"] == 3600
    assert role.inputs["tags"]["aiplatform:tenant"] == tenant
    assert role.inputs["tags"]["aiplatform:tier"] == "shared"
    assert role.inputs["tags"]["aiplatform:contact"] == f"{tenant}-team@example.com"
    assert "managedPolicyArns" not in role.inputs
    assert "inlinePolicies" not in role.inputs


@pytest.mark.parametrize("tenant", ["search", "fraud"])
def test_trust_is_pod_identity_for_the_tenant_workload_account_on_this_cluster(preview: Preview, tenant: str) -> None:
    assert trust(preview.get(ROLE, f"{tenant}-workload")) == expected_trust(tenant)


@pytest.mark.parametrize("tenant", ["search", "fraud"])
def test_policy_reaches_only_the_tenant_bucket_repositories_and_keys(preview: Preview, tenant: str) -> None:
    policy = preview.get(ROLE_POLICY, f"{tenant}-workload-access")
    role = preview.get(ROLE, f"{tenant}-workload")
    assert policy.inputs["role"] == role.id
    assert policy.inputs["name"] == "tenant-resources"
    assert statements(policy) == expected_policy(tenant)


def test_no_policy_names_another_tenant(preview: Preview) -> None:
    for tenant, other in (("search", "fraud"), ("fraud", "search")):
        for record in (preview.get(ROLE, f"{tenant}-workload"), preview.get(ROLE_POLICY, f"{tenant}-workload-access")):
            text = json.dumps(record.inputs)
            assert f"-{other}-" not in text, record.urn
            assert f"/{other}/" not in text, record.urn


def test_no_wildcard_actions_and_no_delete(preview: Preview) -> None:
    for record in preview.by_type(ROLE_POLICY):
        for statement in statements(record).values():
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                assert "*" not in action, (record.urn, action)
                assert "Delete" not in action, (record.urn, action)
            if statement["Resource"] == "*":
                assert actions == ["ecr:GetAuthorizationToken"], record.urn


def test_component_children(preview: Preview) -> None:
    for tenant in ("search", "fraud"):
        [component] = [
            record
            for record in preview.by_type("secure-ai-platform:tenant_identity:TenantIdentity")
            if record.name == tenant
        ]
        assert {(record.type, record.name) for record in preview.children(component.urn)} == {
            (ROLE, f"{tenant}-workload"),
            (ROLE_POLICY, f"{tenant}-workload-access"),
        }
