"""The reference stacks platform-dev and platform-prod, each run whole once through preflight.

Counts by resource type, the standard tags on every taggable resource, stack outputs, and the
isolation matrix: no tenant's key, bucket or repository policy names another tenant's principal
outside a Deny statement, and every resource that uses a key uses one of its own owner and of the
purpose its kind needs (decided through property dependencies, as the policy pack does).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiplatform_standards import platform, taggable_aws_types
from platform_support import walk_strings

from infra.config import Settings, settings_from_stack_file
from infra.deployments.shared_cluster import tenant_purposes
from preflight import Preview, ResourceRecord, preview_program

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("platform-dev", "platform-prod")
PLATFORM = "platform"
KEY = "aws:kms/key:Key"
POLICIES = {
    KEY: "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
}
# The purpose of the key each kind of consumer must use (CONTROLS KMS-5).
KEY_PURPOSE = {
    "aws:ecr/repository:Repository": "registry",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "models",
    "aws:cloudwatch/logGroup:LogGroup": "logs",
    "aws:sns/topic:Topic": "logs",
    "aws:eks/cluster:Cluster": "cluster-secrets",
    "aws:ec2/launchTemplate:LaunchTemplate": "volumes",
}
# Resources that name a key only to deny every other key (the model bucket's policy).
KEY_REFERENCES = {"aws:s3/bucketPolicy:BucketPolicy", "aws:kms/alias:Alias"}

EXPECTED_COUNTS: dict[str, dict[str, int]] = {
    "platform-dev": {
        "aws:budgets/budget:Budget": 4,
        "aws:cloudwatch/logGroup:LogGroup": 3,
        "aws:codebuild/project:Project": 1,
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
        "aws:ec2/flowLog:FlowLog": 1,
        "aws:ec2/launchTemplate:LaunchTemplate": 2,
        "aws:ec2/routeTable:RouteTable": 2,
        "aws:ec2/routeTableAssociation:RouteTableAssociation": 2,
        "aws:ec2/securityGroup:SecurityGroup": 4,
        "aws:ec2/subnet:Subnet": 2,
        "aws:ec2/vpc:Vpc": 1,
        "aws:ec2/vpcEndpoint:VpcEndpoint": 14,
        "aws:ecr/lifecyclePolicy:LifecyclePolicy": 10,
        "aws:ecr/repository:Repository": 10,
        "aws:ecr/repositoryPolicy:RepositoryPolicy": 10,
        "aws:eks/accessEntry:AccessEntry": 2,
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": 2,
        "aws:eks/addon:Addon": 4,
        "aws:eks/cluster:Cluster": 1,
        "aws:eks/nodeGroup:NodeGroup": 2,
        "aws:eks/podIdentityAssociation:PodIdentityAssociation": 4,
        "aws:iam/role:Role": 9,
        "aws:iam/rolePolicy:RolePolicy": 7,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 6,
        "aws:kms/alias:Alias": 23,
        "aws:kms/key:Key": 23,
        "aws:s3/bucket:Bucket": 5,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
        "aws:s3/bucketLogging:BucketLogging": 4,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 5,
        "aws:s3/bucketPolicy:BucketPolicy": 5,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 5,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 5,
        "aws:s3/bucketVersioning:BucketVersioning": 5,
        "aws:sns/topic:Topic": 1,
        "aws:sns/topicPolicy:TopicPolicy": 1,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 3,
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": 1,
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": 1,
        "kubernetes:apps/v1:DaemonSet": 1,
        "kubernetes:core/v1:LimitRange": 4,
        "kubernetes:core/v1:Namespace": 4,
        "kubernetes:core/v1:ResourceQuota": 4,
        "kubernetes:core/v1:ServiceAccount": 4,
        "kubernetes:networking.k8s.io/v1:NetworkPolicy": 20,
        "kubernetes:rbac.authorization.k8s.io/v1:Role": 4,
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 4,
        "kubernetes:scheduling.k8s.io/v1:PriorityClass": 3,
        "pulumi:providers:aws": 1,
        "pulumi:providers:kubernetes": 1,
        "pulumi:pulumi:Stack": 1,
        "secure-ai-platform:admission:TenantAdmissionPolicy": 1,
        "secure-ai-platform:alert_topic:AlertTopic": 1,
        "secure-ai-platform:budget:TenantBudget": 4,
        "secure-ai-platform:cluster:SecureCluster": 1,
        "secure-ai-platform:deploy_runner:DeployRunner": 1,
        "secure-ai-platform:device_plugin:NvidiaDevicePlugin": 1,
        "secure-ai-platform:gpu_pool:GpuNodePool": 1,
        "secure-ai-platform:key_ring:KeyRing": 5,
        "secure-ai-platform:launch_template:LaunchTemplate": 2,
        "secure-ai-platform:log_bucket:LogBucket": 1,
        "secure-ai-platform:model_store:ModelStore": 4,
        "secure-ai-platform:network:IsolatedNetwork": 1,
        "secure-ai-platform:priority_classes:PriorityClasses": 1,
        "secure-ai-platform:registry:PrivateRegistry": 4,
        "secure-ai-platform:tenant_identity:TenantIdentity": 4,
        "secure-ai-platform:tenant_space:TenantSpace": 4,
    },
    "platform-prod": {
        "aws:budgets/budget:Budget": 5,
        "aws:cloudwatch/logGroup:LogGroup": 4,
        "aws:codebuild/project:Project": 1,
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
        "aws:ec2/eip:Eip": 3,
        "aws:ec2/flowLog:FlowLog": 1,
        "aws:ec2/internetGateway:InternetGateway": 1,
        "aws:ec2/launchTemplate:LaunchTemplate": 3,
        "aws:ec2/natGateway:NatGateway": 3,
        "aws:ec2/route:Route": 12,
        "aws:ec2/routeTable:RouteTable": 15,
        "aws:ec2/routeTableAssociation:RouteTableAssociation": 15,
        "aws:ec2/securityGroup:SecurityGroup": 5,
        "aws:ec2/subnet:Subnet": 15,
        "aws:ec2/vpc:Vpc": 1,
        "aws:ec2/vpcEndpoint:VpcEndpoint": 16,
        "aws:ecr/lifecyclePolicy:LifecyclePolicy": 12,
        "aws:ecr/repository:Repository": 12,
        "aws:ecr/repositoryPolicy:RepositoryPolicy": 12,
        "aws:eks/accessEntry:AccessEntry": 2,
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": 2,
        "aws:eks/addon:Addon": 4,
        "aws:eks/cluster:Cluster": 1,
        "aws:eks/nodeGroup:NodeGroup": 3,
        "aws:eks/podIdentityAssociation:PodIdentityAssociation": 5,
        "aws:iam/role:Role": 11,
        "aws:iam/rolePolicy:RolePolicy": 9,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 8,
        "aws:kms/alias:Alias": 28,
        "aws:kms/key:Key": 28,
        "aws:networkfirewall/firewall:Firewall": 1,
        "aws:networkfirewall/firewallPolicy:FirewallPolicy": 1,
        "aws:networkfirewall/loggingConfiguration:LoggingConfiguration": 1,
        "aws:networkfirewall/ruleGroup:RuleGroup": 1,
        "aws:s3/bucket:Bucket": 6,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
        "aws:s3/bucketLogging:BucketLogging": 5,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 6,
        "aws:s3/bucketPolicy:BucketPolicy": 6,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 6,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 6,
        "aws:s3/bucketVersioning:BucketVersioning": 6,
        "aws:sns/topic:Topic": 1,
        "aws:sns/topicPolicy:TopicPolicy": 1,
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": 5,
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": 1,
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": 1,
        "kubernetes:apps/v1:DaemonSet": 1,
        "kubernetes:core/v1:LimitRange": 5,
        "kubernetes:core/v1:Namespace": 5,
        "kubernetes:core/v1:ResourceQuota": 5,
        "kubernetes:core/v1:ServiceAccount": 5,
        "kubernetes:networking.k8s.io/v1:NetworkPolicy": 25,
        "kubernetes:rbac.authorization.k8s.io/v1:Role": 5,
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": 5,
        "kubernetes:scheduling.k8s.io/v1:PriorityClass": 3,
        "pulumi:providers:aws": 1,
        "pulumi:providers:kubernetes": 1,
        "pulumi:pulumi:Stack": 1,
        "secure-ai-platform:admission:TenantAdmissionPolicy": 1,
        "secure-ai-platform:alert_topic:AlertTopic": 1,
        "secure-ai-platform:budget:TenantBudget": 5,
        "secure-ai-platform:cluster:SecureCluster": 1,
        "secure-ai-platform:deploy_runner:DeployRunner": 1,
        "secure-ai-platform:device_plugin:NvidiaDevicePlugin": 1,
        "secure-ai-platform:gpu_pool:GpuNodePool": 2,
        "secure-ai-platform:key_ring:KeyRing": 6,
        "secure-ai-platform:launch_template:LaunchTemplate": 3,
        "secure-ai-platform:log_bucket:LogBucket": 1,
        "secure-ai-platform:model_store:ModelStore": 5,
        "secure-ai-platform:network:IsolatedNetwork": 1,
        "secure-ai-platform:priority_classes:PriorityClasses": 1,
        "secure-ai-platform:registry:PrivateRegistry": 5,
        "secure-ai-platform:tenant_identity:TenantIdentity": 5,
        "secure-ai-platform:tenant_space:TenantSpace": 5,
    },
}


class Stack:
    """One reference stack's preview with its settings and who owns each resource."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.preview = preview_program(ROOT, name, mode="update")
        self.settings = self._settings()
        self.tenants = [tenant.name for tenant in self.settings.tenants]

    def _settings(self) -> Settings:
        raw = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{self.name}.yaml").read_text())["config"]
        return settings_from_stack_file(raw, self.name)

    def owner(self, record: ResourceRecord) -> str:
        """The tenant whose component the resource belongs to, or ``platform``."""
        chain = [record, *self.preview.ancestors(record)]
        top = [r for r in chain if r.parent == self.preview.stack_urn]
        if not top:
            return PLATFORM
        matches = [t for t in self.tenants if top[0].name.startswith(f"{t}-")]
        return max(matches, key=len) if matches else PLATFORM

    def role_arn(self, record: ResourceRecord) -> str:
        """The role's ARN as the cloud computes it, in the stack's account."""
        arn: str = record.outputs["arn"]
        path = record.inputs.get("path", "/")
        assert arn == f"arn:aws:iam::{self.settings.account_id}:role{path}{record.inputs['name']}", arn
        return arn

    def roles_of(self, tenant: str) -> set[str]:
        return {self.role_arn(r) for r in self.preview.by_type("aws:iam/role:Role") if self.owner(r) == tenant}


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> Stack:
    return Stack(request.param)


def test_counts_by_resource_type(stack: Stack) -> None:
    counts = Counter(record.type for record in stack.preview.resources)
    assert dict(sorted(counts.items())) == EXPECTED_COUNTS[stack.name]


def expected_tags(stack: Stack, owner: str) -> dict[str, str]:
    settings = stack.settings
    if owner == PLATFORM:
        tier, classification = "platform", settings.highest_classification()
        cost_center, contact = settings.cost_center, settings.contact
    else:
        tenant = settings.tenant(owner)
        tier, classification = tenant.tier, tenant.data_classification
        cost_center, contact = tenant.cost_center, tenant.owner
    return {
        "aiplatform:environment": settings.environment,
        "aiplatform:tier": tier,
        "aiplatform:tenant": owner,
        "aiplatform:data-classification": classification,
        "aiplatform:cost-center": cost_center,
        "aiplatform:contact": contact,
        "aiplatform:stack": stack.name,
    }


def test_every_taggable_resource_carries_its_owner_standard_tags(stack: Stack) -> None:
    taggable = taggable_aws_types()
    required = set(platform()["tags"]["required"])
    checked = 0
    for record in stack.preview.resources:
        if record.type not in taggable:
            continue
        tags = record.inputs.get("tags") or {}
        standard = {key: value for key, value in tags.items() if key in required}
        assert standard == expected_tags(stack, stack.owner(record)), record.urn
        checked += 1
    assert checked == sum(n for token, n in EXPECTED_COUNTS[stack.name].items() if token in taggable)


def test_stack_outputs_name_the_cluster_and_each_tenant_resources(stack: Stack) -> None:
    env = stack.settings.environment
    account, region = stack.settings.account_id, stack.settings.region
    outputs = stack.preview.outputs
    # The program derives bucket names from the stack's account; repository URLs are what the cloud returns.
    assert outputs["clusterName"] == f"aip-{env}"
    assert set(outputs["tenants"]) == set(stack.tenants)
    for tenant, values in outputs["tenants"].items():
        assert values["namespace"] == tenant
        assert values["bucketName"] == f"aip-{env}-{tenant}-models-{account}-{region}"
        assert values["repositoryUrls"] == {
            repo: f"{account}.dkr.ecr.{region}.amazonaws.com/{env}/{tenant}/{repo}"
            for repo in ("inference", "training")
        }
        keys = {r.outputs["arn"] for r in stack.preview.by_type(KEY) if stack.owner(r) == tenant}
        assert set(values["keyArns"]) == set(tenant_purposes(stack.settings.tenant(tenant)))
        assert set(values["keyArns"].values()) == keys


def policy_statements(record: ResourceRecord) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = json.loads(record.inputs[POLICIES[record.type]])["Statement"]
    return statements


def test_no_tenant_policy_names_another_tenant_principal_outside_a_deny(stack: Stack) -> None:
    env = stack.settings.environment
    checked = 0
    for record in stack.preview.resources:
        owner = stack.owner(record)
        if record.type not in POLICIES or owner == PLATFORM:
            continue
        others = [t for t in stack.tenants if t != owner]
        foreign = {arn for other in others for arn in stack.roles_of(other)}
        foreign_names = [f":role/aip-{env}-{other}-" for other in others]
        for statement in policy_statements(record):
            text = json.dumps(statement)
            if statement["Effect"] == "Deny":
                continue
            assert not [arn for arn in foreign if arn in text], (record.urn, statement)
            assert not [name for name in foreign_names if name in text], (record.urn, statement)
        checked += 1
    # Per tenant: its keys (4, or 5 with GPU volumes), 1 bucket policy, 2 repository policies.
    assert checked == sum(len(tenant_purposes(tenant)) + 3 for tenant in stack.settings.tenants)


def test_repository_policies_deny_exactly_every_other_tenant_role(stack: Stack) -> None:
    for record in stack.preview.by_type("aws:ecr/repositoryPolicy:RepositoryPolicy"):
        owner = stack.owner(record)
        if owner == PLATFORM:  # the device plugin's mirror: only GPU node roles pull, nobody is denied
            continue
        [deny] = [s for s in policy_statements(record) if s["Effect"] == "Deny"]
        denied = deny["Principal"]["AWS"]
        expected = sorted(arn for other in stack.tenants if other != owner for arn in stack.roles_of(other))
        assert (denied if isinstance(denied, list) else [denied]) == expected, record.urn


def key_of(stack: Stack, record: ResourceRecord) -> list[ResourceRecord]:
    urns = {urn for deps in record.property_dependencies.values() for urn in deps}
    return [stack.preview.by_urn(urn) for urn in urns if stack.preview.by_urn(urn).type == KEY]


def test_every_resource_uses_only_keys_of_its_own_owner_and_purpose(stack: Stack) -> None:
    users: dict[str, set[str]] = {}
    for record in stack.preview.resources:
        for key in key_of(stack, record):
            owner = stack.owner(record)
            assert stack.owner(key) == owner, f"{record.urn} uses {key.urn}"
            users.setdefault(key.urn, set()).add(owner)
            if record.type not in KEY_REFERENCES:
                purpose = KEY_PURPOSE[record.type]
                assert key.name.endswith(f"-keys-{purpose}"), f"{record.urn} uses {key.urn}, not a {purpose} key"
    assert all(len(owners) == 1 for owners in users.values())
    used = {stack.preview.by_urn(urn).name for urn in users}
    for tenant in stack.tenants:
        assert {f"{tenant}-keys-registry", f"{tenant}-keys-models"} <= used


def test_one_key_per_owner_and_purpose(stack: Stack) -> None:
    aliases = sorted(r.inputs["name"] for r in stack.preview.by_type("aws:kms/alias:Alias"))
    env = stack.settings.environment
    platform_keys = [
        f"alias/{env}/platform/{p}" for p in ("cluster-secrets", "volumes", "registry", "models", "data", "logs")
    ]
    tenant_keys = [f"alias/{env}/{t.name}/{p}" for t in stack.settings.tenants for p in tenant_purposes(t)]
    assert aliases == sorted(platform_keys + tenant_keys)


def test_every_role_a_policy_names_exists(stack: Stack) -> None:
    """Policies name roles by deterministic ARNs: each must be a role of the stack or of the baseline."""
    roles = settings_roles(stack.settings) | {stack.role_arn(r) for r in stack.preview.by_type("aws:iam/role:Role")}
    account = stack.settings.account_id
    service_linked = f"arn:aws:iam::{account}:role/aws-service-role/"
    for record in stack.preview.resources:
        if record.type not in POLICIES:
            continue
        for statement in policy_statements(record):
            for value in walk_strings(statement):
                if ":role/" in value and not value.startswith(service_linked):
                    assert value in roles, (record.urn, value)


def settings_roles(settings: Settings) -> set[str]:
    roles = settings.required_roles
    return {roles.platform_admin, roles.break_glass, roles.deployer, roles.ci}


@pytest.fixture(scope="module")
def first_preview() -> Preview:
    return preview_program(ROOT, "platform-dev", mode="first-preview")


def test_policies_are_complete_in_a_first_preview(first_preview: Preview) -> None:
    """What the policy pack reads before anything exists: every key, bucket, repository and topic policy."""
    tokens = {*POLICIES, "aws:sns/topicPolicy:TopicPolicy"}
    records = [record for record in first_preview.resources if record.type in tokens]
    # Keys: 6 platform, 4 per tier A tenant, 5 for the tier B one; bucket policies: the access-log bucket
    # and one per tenant; repository policies: 2 per tenant, the device plugin mirror and the deploy runner's
    # image; the alert topic.
    assert len(records) == 23 + 5 + 10 + 1
    for record in records:
        assert isinstance(record.inputs["policy"], str), record.urn
        json.loads(record.inputs["policy"])
