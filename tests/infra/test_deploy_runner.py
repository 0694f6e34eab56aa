"""DeployRunner: the in-VPC CodeBuild project of every cluster stack (issue 11, items 3 and 4; docs/deploy.md).

Rules relied on, with their sources:

- CodeBuild in a VPC: the service role creates the build's network interface
  (``ec2:CreateNetworkInterface`` …, ``ec2:CreateNetworkInterfacePermission`` with
  ``ec2:AuthorizedService``), CodeBuild User Guide, "Using identity-based policies for AWS CodeBuild",
  https://docs.aws.amazon.com/codebuild/latest/userguide/auth-and-access-control-iam-identity-based-access-control.html;
  VPC endpoints serve their own region only ("Use VPC endpoints",
  https://docs.aws.amazon.com/codebuild/latest/userguide/use-vpc-endpoints-with-codebuild.html).
- An ECR repository encrypted with a KMS key is decrypted through ECR's own grant on pull ("Encryption at
  rest", https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html): the runner needs
  no KMS permission on the registry key.
- Security groups do not filter traffic to the Amazon-provided DNS server (Amazon VPC User Guide,
  "Security group rules"): the runner's group needs no DNS rule.
- The Pulumi DIY backend's object layout and calls: pulumi/pulumi v3.274.1 pkg/backend/diy (store.go,
  state.go, lock.go, stack_tags.go); the awskms secrets manager decrypts the stack's data key on every run
  (pkg/secrets/cloud/manager.go ``newCloudSecretsManager``).
- An EKS Pod Identity association passes its role: ``iam:PassRole`` (AccessDenied on PassRole when creating
  one, aws-samples/appmod-blueprints#816), to ``pods.eks.amazonaws.com``.
- ``sts:GetCallerIdentity`` needs no permission (AWS STS API Reference, GetCallerIdentity).
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import subprocess
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import parliament
import pytest
import yaml
from platform_support import settings, state_backend

from infra.components import deploy_runner
from infra.components.network import GATEWAY_ENDPOINTS, INTERFACE_ENDPOINTS
from infra.config import ConfigError, parse_settings
from preflight import Preview, ResourceRecord, cloud, preview_program

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_STACKS = ("platform-dev", "platform-prod", "tenant-clinical-prod")
DEV = "111122223333"
PROD = "444455556666"
TENANT = "555566667777"
PROJECT = "aws:codebuild/project:Project"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
GLOB = "**pulumi:providers:kubernetes::**"


@cache
def stack(name: str) -> Preview:
    return preview_program(ROOT, name, mode="update")


def runner_record(preview: Preview, type_: str) -> ResourceRecord:
    [component] = preview.by_type(deploy_runner.TYPE)
    [record] = [r for r in preview.children(component.urn) if r.type == type_]
    return record


def policy(record: ResourceRecord, key: str = "policy") -> dict[str, dict[str, Any]]:
    document = json.loads(record.inputs[key])
    assert document["Version"] == "2012-10-17"
    return {statement["Sid"]: statement for statement in document["Statement"]}


# --- the project ---------------------------------------------------------------------------------


def test_project_runs_in_the_workload_subnets_unprivileged_from_its_own_image_and_s3_source() -> None:
    preview = stack("platform-dev")
    project = runner_record(preview, PROJECT)
    group = runner_record(preview, "aws:ec2/securityGroup:SecurityGroup")
    private = sorted(
        (r for r in preview.by_type("aws:ec2/subnet:Subnet") if "-private-" in r.name), key=lambda r: r.name
    )
    [vpc] = preview.by_type("aws:ec2/vpc:Vpc")
    inputs = json.loads(json.dumps({key: value for key, value in project.inputs.items() if key != "tags"}))
    buildspec = inputs["source"].pop("buildspec")
    assert inputs == {
        "name": "aip-dev-platform-deploy-runner",
        "description": "In-VPC run of stack platform-dev: its Kubernetes objects and what depends on them",
        "serviceRole": f"arn:aws:iam::{DEV}:role/aip-dev-platform-deploy-runner",
        "artifacts": {"type": "NO_ARTIFACTS"},
        "environment": {
            "type": "LINUX_CONTAINER",
            "computeType": "BUILD_GENERAL1_MEDIUM",
            "image": f"{DEV}.dkr.ecr.us-east-1.amazonaws.com/dev/platform/deploy-runner:{deploy_runner.image_tag()}",
            "imagePullCredentialsType": "SERVICE_ROLE",
            "privilegedMode": False,
        },
        "source": {
            "type": "S3",
            "location": f"aip-dev-platform-state-{DEV}-us-east-1/deploy-runner/platform-dev/source.zip",
        },
        "vpcConfig": {
            "vpcId": vpc.id,
            "subnets": [subnet.id for subnet in private],
            "securityGroupIds": [group.id],
        },
        "logsConfig": {
            "cloudwatchLogs": {"status": "ENABLED", "groupName": "/aip/dev/platform/deploy-runner"},
            "s3Logs": {"status": "DISABLED"},
        },
        "buildTimeout": 120,
        "queuedTimeout": 60,
        "concurrentBuildLimit": 1,
    }
    assert len(private) == 2
    assert isinstance(buildspec, str)
    # CodeBuild validates the role's VPC permissions when it creates the project.
    permissions = runner_record(preview, ROLE_POLICY)
    assert permissions.urn in project.dependencies


@pytest.mark.parametrize(("name", "environment", "bucket", "cluster"), [
    ("platform-dev", "dev", f"aip-dev-platform-state-{DEV}-us-east-1", "aip-dev"),
    ("platform-prod", "prod", f"aip-prod-platform-state-{PROD}-us-east-1", "aip-prod"),
    ("tenant-clinical-prod", "prod", f"aip-prod-platform-state-{PROD}-us-east-1", "aip-prod-clinical"),
])  # fmt: skip
def test_buildspec_runs_the_gate_then_exactly_the_targeted_up(
    name: str, environment: str, bucket: str, cluster: str
) -> None:
    document = yaml.safe_load(runner_record(stack(name), PROJECT).inputs["source"]["buildspec"])
    pack = ["--policy-pack", "policy_packs/ai-guardrails", "--policy-pack-config"]
    pack.append(f"policy_packs/ai-guardrails/config/{environment}.json")
    assert document == {
        "version": 0.2,
        "env": {
            "shell": "bash",
            "variables": {
                "PULUMI_BACKEND_URL": f"s3://{bucket}?region=us-east-1",
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            },
        },
        "phases": {
            "pre_build": {
                "commands": [
                    # Pulumi.yaml's and PulumiPolicy.yaml's virtualenv options, both the image's venv.
                    "ln -sfn /opt/deploy-runner/venv .venv",
                    "ln -sfn /opt/deploy-runner/venv policy_packs/ai-guardrails/venv",
                    'export PYTHONPATH="$CODEBUILD_SRC_DIR:$CODEBUILD_SRC_DIR/policy_packs/ai-guardrails/standards"',
                    f"aws eks wait cluster-active --name {cluster} --region us-east-1",
                ]
            },
            "build": {
                "commands": [
                    f"pulumi preview --stack {name} --target '{GLOB}' --target-dependents {shlex.join(pack)} "
                    "--non-interactive",
                    f"pulumi up --stack {name} --target '{GLOB}' --target-dependents {shlex.join(pack)} "
                    "--yes --non-interactive",
                ]
            },
        },
    }
    # What the shell hands the CLI: the glob unexpanded, as one argument.
    assert shlex.split(document["phases"]["build"]["commands"][1])[:7] == [
        "pulumi",
        "up",
        "--stack",
        name,
        "--target",
        GLOB,
        "--target-dependents",
    ]


def test_the_venv_links_follow_the_projects_own_virtualenv_options() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    pack = yaml.safe_load((ROOT / "policy_packs/ai-guardrails/PulumiPolicy.yaml").read_text())
    assert deploy_runner.venv_links() == [
        project["runtime"]["options"]["virtualenv"],
        f"policy_packs/ai-guardrails/{pack['runtime']['options']['virtualenv']}",
    ]


def test_outside_run_is_the_exclude_twin_of_the_inside_run() -> None:
    config = settings()
    assert deploy_runner.outside_up(config, "platform-dev") == [
        "pulumi", "up", "--stack", "platform-dev", "--exclude", GLOB, "--exclude-dependents",
        "--policy-pack", "policy_packs/ai-guardrails", "--policy-pack-config",
        "policy_packs/ai-guardrails/config/dev.json", "--yes", "--non-interactive",
    ]  # fmt: skip
    inside = deploy_runner.inside_up(config, "platform-dev")
    assert [arg.replace("--target", "--exclude") for arg in inside] == deploy_runner.outside_up(config, "platform-dev")


# --- network -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CLUSTER_STACKS)
def test_security_group_admits_nothing_and_allows_only_https_to_the_vpc_and_s3(name: str) -> None:
    preview = stack(name)
    group = runner_record(preview, "aws:ec2/securityGroup:SecurityGroup")
    # The VPC's own S3 gateway endpoint (a dedicated pool's own subnets have one of their own).
    [s3] = [r for r in preview.by_type("aws:ec2/vpcEndpoint:VpcEndpoint") if r.name.endswith("network-endpoint-s3")]
    [vpc] = preview.by_type("aws:ec2/vpc:Vpc")
    assert group.inputs["ingress"] == []
    assert sorted(group.inputs["egress"], key=lambda rule: rule["description"]) == [
        {
            "description": "Interface endpoints and the EKS API's private endpoint",
            "protocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "cidrBlocks": [vpc.inputs["cidrBlock"]],
        },
        {
            "description": "S3 (source, state, image layers) through the gateway endpoint",
            "protocol": "tcp",
            "fromPort": 443,
            "toPort": 443,
            "prefixListIds": [s3.outputs["prefixListId"]],
        },
    ]
    # The control plane admits the whole VPC CIDR on 443, the runner's subnets included.
    [rule] = [r for r in preview.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
              if r.name.endswith("control-plane-https")]  # fmt: skip
    assert (rule.inputs["cidrIpv4"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
        vpc.inputs["cidrBlock"],
        443,
        443,
    )


# Which VPC endpoint serves each AWS service the in-VPC run calls. ``sts``: the AWS provider's
# GetCallerIdentity at configure time (and, in a tier C tenant account, AssumeRole); ``ecr.dkr`` and the
# S3 gateway: image layers. ec2 actions that CodeBuild makes with the role to attach the build's
# interface are CodeBuild's calls, not the build's.
ENDPOINTS_OF_SERVICE = {
    "s3": {"s3"},
    "kms": {"kms"},
    "logs": {"logs"},
    "ecr": {"ecr.api", "ecr.dkr", "s3"},
    "eks": {"eks"},
    "ec2": {"ec2"},
    "sts": {"sts"},
}
CODEBUILD_CALLS = {"CreateBuildNetworkInterfaces", "AuthorizeBuildNetworkInterfaces"}
NO_CALL = {"iam:PassRole"}  # a permission EKS checks, not an API the runner calls


@pytest.mark.parametrize("name", CLUSTER_STACKS)
def test_every_aws_service_the_runner_calls_has_an_endpoint_in_its_vpc(name: str) -> None:
    preview = stack(name)
    services = {
        r.inputs["serviceName"].removeprefix("com.amazonaws.us-east-1.")
        for r in preview.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert services == {*INTERFACE_ENDPOINTS, *GATEWAY_ENDPOINTS}
    called = {"sts"}
    for sid, statement in policy(runner_record(preview, ROLE_POLICY)).items():
        if sid in CODEBUILD_CALLS:
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        called |= {action.split(":")[0] for action in actions if action not in NO_CALL}
    assert called <= set(ENDPOINTS_OF_SERVICE), called
    needed = set().union(*(ENDPOINTS_OF_SERVICE[service] for service in called))
    assert needed <= services, needed - services
    assert {"s3", "ecr.api", "ecr.dkr", "logs", "sts", "kms", "eks"} <= needed


def test_every_invoke_the_program_makes_is_granted_to_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-VPC run executes the whole program: every invoke of it needs the runner's (or the tenant role's) rights."""
    calls: set[str] = set()
    answer = cloud.invoke

    def recording(token: str, args: Any, region: str) -> dict[str, Any]:
        calls.add(token)
        return answer(token, args, region)

    monkeypatch.setattr(cloud, "invoke", recording)
    for name in CLUSTER_STACKS:
        preview_program(ROOT, name, mode="first-preview")
    assert calls == set(deploy_runner.PROGRAM_READS)
    granted = policy(runner_record(stack("platform-prod"), ROLE_POLICY))["ProgramReads"]["Action"]
    assert granted == sorted({a for actions in deploy_runner.PROGRAM_READS.values() for a in actions})


# --- identity ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "account", "owner"), [
    ("platform-dev", DEV, "platform"), ("platform-prod", PROD, "platform"), ("tenant-clinical-prod", TENANT, "clinical")
])  # fmt: skip
def test_role_is_codebuilds_for_this_project_only_with_the_tenant_boundary(name: str, account: str, owner: str) -> None:
    role = runner_record(stack(name), "aws:iam/role:Role")
    env = name.rsplit("-", 1)[1]
    project = f"aip-{env}-{owner}-deploy-runner"
    assert role.inputs["name"] == project
    assert role.inputs["permissionsBoundary"] == f"arn:aws:iam::{account}:policy/aip-baseline/aip-{env}-tenant-boundary"
    # CodeBuild acts for a project with the project's ARN as aws:SourceArn: AWS CodeBuild User Guide, "Cross-service
    # confused deputy prevention"
    # (https://docs.aws.amazon.com/codebuild/latest/userguide/cross-service-confused-deputy-prevention.html), which
    # pins a service role's trust to arn:aws:codebuild:<region>:<account>:project/<project-name>, and "Amazon ECR
    # sample for CodeBuild" (https://docs.aws.amazon.com/codebuild/latest/userguide/sample-ecr.html), which admits
    # codebuild.amazonaws.com with StringEquals on aws:SourceAccount and that same project ARN. So exactly that ARN:
    # no build ARN pattern, which nothing CodeBuild sends would match.
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {
            "Sid": "CodeBuildForThisProject",
            "Effect": "Allow",
            "Principal": {"Service": "codebuild.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {
                    "aws:SourceAccount": account,
                    "aws:SourceArn": f"arn:aws:codebuild:us-east-1:{account}:project/{project}",
                }
            },
        }
    ]


def common_statements(stack_name: str, account: str, env: str, owner: str, cluster: str, keys: dict[str, str]) -> dict:
    bucket = f"arn:aws:s3:::aip-prod-platform-state-{PROD}-us-east-1" if env == "prod" else (
        f"arn:aws:s3:::aip-dev-platform-state-{DEV}-us-east-1"
    )  # fmt: skip
    group = f"arn:aws:logs:us-east-1:{account}:log-group:/aip/{env}/{owner}/deploy-runner"
    return {
        "ReadSourceAndStateMetadata": {
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": [f"{bucket}/deploy-runner/{stack_name}/source.zip", f"{bucket}/.pulumi/meta.yaml"],
        },
        "ReadWriteThisStacksState": {
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": [
                f"{bucket}/.pulumi/stacks/secure-ai-platform/{stack_name}.*",
                f"{bucket}/.pulumi/history/secure-ai-platform/{stack_name}/*",
                f"{bucket}/.pulumi/backups/secure-ai-platform/{stack_name}/*",
                f"{bucket}/.pulumi/locks/organization/secure-ai-platform/{stack_name}/*",
            ],
        },
        "ListStateBucket": {"Action": "s3:ListBucket", "Resource": bucket},
        "StateKeyThroughS3": {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": keys["stateKeyArn"],
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        },
        "DecryptStackDataKey": {"Action": "kms:Decrypt", "Resource": keys["secretsKeyArn"]},
        "WriteBuildLogs": {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": [group, f"{group}:*"]},
        "RegistryLogin": {"Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        "PullRunnerImage": {
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": f"arn:aws:ecr:us-east-1:{account}:repository/{env}/{owner}/deploy-runner",
        },
        "DescribeItsCluster": {"Action": "eks:DescribeCluster", "Resource": f"arn:aws:eks:us-east-1:{account}:cluster/{cluster}"},
        "CreateBuildNetworkInterfaces": {"Action": list(deploy_runner.VPC_INTERFACE_ACTIONS), "Resource": "*"},
        "AuthorizeBuildNetworkInterfaces": {
            "Action": "ec2:CreateNetworkInterfacePermission",
            "Resource": f"arn:aws:ec2:us-east-1:{account}:network-interface/*",
            "Condition": {"StringEquals": {"ec2:AuthorizedService": "codebuild.amazonaws.com"}},
        },
    }  # fmt: skip


def without_effect(statements: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    assert {statement["Effect"] for statement in statements.values()} == {"Allow"}
    return {sid: {k: v for k, v in s.items() if k not in ("Sid", "Effect")} for sid, s in statements.items()}


def test_platform_runner_permissions_are_exactly_the_in_vpc_runs_needs() -> None:
    preview = stack("platform-dev")
    keys = preview.config["secure-ai-platform:stateBackend"]
    tenants = [t["name"] for t in preview.config["secure-ai-platform:tenants"]]
    cluster = f"arn:aws:eks:us-east-1:{DEV}:cluster/aip-dev"
    assert without_effect(policy(runner_record(preview, ROLE_POLICY))) == {
        **common_statements("platform-dev", DEV, "dev", "platform", "aip-dev", keys),
        "ProgramReads": {
            "Action": [
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeInstanceTypeOfferings",
                "eks:DescribeAddonVersions",
            ],
            "Resource": "*",
        },
        "CreatePodIdentityAssociations": {"Action": ["eks:CreatePodIdentityAssociation"], "Resource": cluster},
        "ManagePodIdentityAssociations": {
            "Action": list(deploy_runner.POD_IDENTITY_ACTIONS),
            "Resource": f"arn:aws:eks:us-east-1:{DEV}:podidentityassociation/aip-dev/*",
        },
        "PassWorkloadRolesToPodIdentity": {
            "Action": "iam:PassRole",
            "Resource": sorted(f"arn:aws:iam::{DEV}:role/aip-dev-{t}-workload" for t in tenants),
            "Condition": {"StringEquals": {"iam:PassedToService": "pods.eks.amazonaws.com"}},
        },
    }


def test_tier_c_runner_assumes_the_tenant_deployment_role_for_every_aws_call_of_the_program() -> None:
    """In the tenant's account, the program's AWS calls (invokes, Pod Identity) go through the provider
    that assumes the tenant deployment role; the state stays in the platform prod account's bucket."""
    preview = stack("tenant-clinical-prod")
    keys = preview.config["secure-ai-platform:stateBackend"]
    assert without_effect(policy(runner_record(preview, ROLE_POLICY))) == {
        **common_statements("tenant-clinical-prod", TENANT, "prod", "clinical", "aip-prod-clinical", keys),
        "AssumeTenantDeploymentRole": {
            "Action": "sts:AssumeRole",
            "Resource": f"arn:aws:iam::{TENANT}:role/aip-prod-tenant-deployment",
        },
    }
    [tenant_provider] = preview.by_type("pulumi:providers:aws")
    [component] = preview.by_type(deploy_runner.TYPE)
    for record in preview.children(component.urn):
        assert record.provider == tenant_provider.urn, record.urn


@pytest.mark.parametrize(("name", "account", "owner", "registry_key"), [
    ("platform-dev", DEV, "platform", "platform-keys-registry"),
    ("tenant-clinical-prod", TENANT, "clinical", "clinical-keys-registry"),
])  # fmt: skip
def test_image_repository_and_log_group(name: str, account: str, owner: str, registry_key: str) -> None:
    preview = stack(name)
    env = name.rsplit("-", 1)[1]
    repository = runner_record(preview, "aws:ecr/repository:Repository")
    key = preview.get("aws:kms/key:Key", registry_key)
    assert repository.inputs["name"] == f"{env}/{owner}/deploy-runner"
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key.outputs["arn"]}]
    statements = without_effect(policy(runner_record(preview, "aws:ecr/repositoryPolicy:RepositoryPolicy")))
    assert statements == {
        "RunnerPull": {
            "Principal": {"AWS": f"arn:aws:iam::{account}:role/aip-{env}-{owner}-deploy-runner"},
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        },
        "CiPush": {
            "Principal": {"AWS": preview.config["secure-ai-platform:roles"]["ci"]},
            "Action": [
                "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
                "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
            ],
        },
    }  # fmt: skip
    assert preview.config["secure-ai-platform:roles"]["ci"].split(":")[4] == account  # its own account's CI
    assert (
        runner_record(preview, "aws:iam/role:Role").urn
        in runner_record(preview, "aws:ecr/repositoryPolicy:RepositoryPolicy").dependencies
    )
    logs = runner_record(preview, "aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["name"] == f"/aip/{env}/{owner}/deploy-runner"
    assert (
        logs.inputs["kmsKeyId"]
        == preview.get("aws:kms/key:Key", registry_key.replace("registry", "logs")).outputs["arn"]
    )
    assert logs.inputs["retentionInDays"] == {"dev": 30, "prod": 365}[env]


# --- cluster access and the provider, per reference stack ----------------------------------------


@pytest.mark.parametrize("name", CLUSTER_STACKS)
def test_cluster_admins_are_platform_admin_and_the_runner_and_the_token_is_the_ambient_one(name: str) -> None:
    preview = stack(name)
    config = preview.config
    env, owner = name.rsplit("-", 1)[1], ("clinical" if name.startswith("tenant-") else "platform")
    account = config["secure-ai-platform:roles"]["deployer"].split(":")[4]
    runner = f"arn:aws:iam::{account}:role/aip-{env}-{owner}-deploy-runner"
    admin = config["secure-ai-platform:roles"]["platformAdmin"]
    assert {r.inputs["principalArn"] for r in preview.by_type("aws:eks/accessEntry:AccessEntry")} == {admin, runner}
    assert {
        (r.inputs["principalArn"], r.inputs["policyArn"], r.inputs["accessScope"]["type"])
        for r in preview.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    } == {
        (principal, "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "cluster")
        for principal in (admin, runner)
    }
    [provider] = preview.by_type("pulumi:providers:kubernetes")
    [user] = json.loads(provider.inputs["kubeconfig"])["users"]
    cluster = "aip-prod-clinical" if owner == "clinical" else f"aip-{env}"
    assert user["user"]["exec"]["command"] == "aws"
    assert user["user"]["exec"]["args"] == [
        "eks", "get-token", "--cluster-name", cluster, "--region", "us-east-1", "--output", "json"
    ]  # fmt: skip


# --- the image -----------------------------------------------------------------------------------


def test_image_tag_is_the_digest_of_the_files_the_image_is_built_from() -> None:
    dockerfile = (ROOT / "tools/deploy-runner/Dockerfile").read_bytes()
    lock = (ROOT / "requirements.lock").read_bytes()
    assert deploy_runner.image_tag() == hashlib.sha256(dockerfile + lock).hexdigest()[:16]
    # The command the runbook gives CI computes the same.
    shell = subprocess.run(
        ["bash", "-c", "cat tools/deploy-runner/Dockerfile requirements.lock | sha256sum | cut -c1-16"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    assert shell.stdout.strip() == deploy_runner.image_tag()


def test_dockerfile_installs_the_pinned_cli_and_the_plugins_the_sdks_require() -> None:
    text = (ROOT / "tools/deploy-runner/Dockerfile").read_text()
    [cli] = re.findall(r"^ARG PULUMI_VERSION=(\S+)$", text, re.MULTILINE)
    # The CLI whose source the tests cite and whose engine judges them (tools/engines/pulumi/go.mod).
    assert f"github.com/pulumi/pulumi/pkg/v3 v{cli}" in (ROOT / "tools/engines/pulumi/go.mod").read_text()
    for package, module in (("pulumi_aws", "pulumi_aws"), ("pulumi_kubernetes", "pulumi_kubernetes")):
        assert f"sed -n 's/^{package}==//p' /opt/deploy-runner/requirements.lock" in text
        extracted = subprocess.run(
            ["sed", "-n", f"s/^{package}==//p", "requirements.lock"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        assert extracted == version(module), package
    assert "privileged" not in text.lower()
    assert "pip install --no-cache-dir -r /opt/deploy-runner/requirements.lock" in text


# --- config --------------------------------------------------------------------------------------


def test_reference_stacks_take_the_bootstrap_outputs_of_their_state_account() -> None:
    bootstrap = {env: preview_program(ROOT, f"bootstrap-{env}", mode="update").outputs for env in ("dev", "prod")}
    for name, env in (("platform-dev", "dev"), ("platform-prod", "prod"), ("tenant-clinical-prod", "prod")):
        outputs = bootstrap[env]
        assert stack(name).config["secure-ai-platform:stateBackend"] == {
            "bucket": outputs["stateBucketName"],
            "stateKeyArn": outputs["stateKeyArn"],
            "secretsKeyArn": outputs["secretsKeyArn"],
        }, name


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    return caught.value.problems


def test_cluster_deployments_require_the_state_backend_and_others_refuse_it() -> None:
    raw = settings().model_dump(by_alias=True, exclude_none=True)
    del raw["stateBackend"]
    assert problems(raw) == [
        "stateBackend: required (set bucket, stateKeyArn and secretsKeyArn to the bootstrap stack's stateBucketName, "
        "stateKeyArn and secretsKeyArn outputs: pulumi stack output --json -s bootstrap-<env>; docs/deploy.md)"
    ]
    baseline = {
        "environment": "dev", "deployment": "account-baseline", "region": "us-east-1", "costCenter": "cc",
        "contact": "ml@example.com", "baseline": {"accountId": DEV, "deployer": {"repository": "o/r"}},
        "stateBackend": state_backend(),
    }  # fmt: skip
    assert problems(baseline) == [
        "stateBackend: only the shared-cluster and single-tenant-cluster deployments read it (their in-VPC deploy "
        "runner logs in to it; remove it from this stack)"
    ]
    # {} is Pulumi.yaml's default for a stack that does not set the key: not set.
    assert parse_settings({**baseline, "stateBackend": {}}).state_backend is None


def test_state_backend_keys_must_be_key_arns_of_the_stacks_region() -> None:
    raw = settings().model_dump(by_alias=True, exclude_none=True)
    raw["stateBackend"] = {
        **state_backend(),
        "stateKeyArn": f"arn:aws:kms:eu-west-1:{DEV}:key/0a0a0a0a-0000-4000-8000-000000000001",
    }
    assert problems(raw) == [
        "stateBackend.stateKeyArn: the key is in eu-west-1, not the stack's region us-east-1 (the deploy runner "
        "reaches S3 and KMS through this VPC's endpoints, which serve their own region only; use the outputs of this "
        "region's bootstrap stack)"
    ]
    raw["stateBackend"] = {**state_backend(), "secretsKeyArn": "alias/dev/platform/stack-secrets"}
    assert problems(raw) == [
        "stateBackend.secretsKeyArn: 'alias/dev/platform/stack-secrets' is not a KMS key ARN (use "
        "arn:aws:kms:<region>:<account>:key/<id>, the bootstrap stack's secretsKeyArn output; an alias cannot scope "
        "an IAM policy)"
    ]


def test_every_action_the_runner_is_granted_exists() -> None:
    """Each action is in the IAM service reference as parliament's bundled database records it (a typo grants nothing)."""
    database = json.loads((Path(parliament.__file__).parent / "iam_definition.json").read_text())
    known = {f"{svc['prefix']}:{priv['privilege']}".lower() for svc in database for priv in svc["privileges"]}
    for name in ("platform-dev", "tenant-clinical-prod"):
        for statement in policy(runner_record(stack(name), ROLE_POLICY)).values():
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                assert action.lower() in known, (name, action)


@pytest.mark.parametrize(("name", "project", "bucket"), [
    ("platform-prod", "aip-prod-platform-deploy-runner", f"aip-prod-platform-state-{PROD}-us-east-1"),
    ("tenant-clinical-prod", "aip-prod-clinical-deploy-runner", f"aip-prod-platform-state-{PROD}-us-east-1"),
])  # fmt: skip
def test_stack_output_is_what_the_runbook_takes(name: str, project: str, bucket: str) -> None:
    preview = stack(name)
    record = runner_record(preview, PROJECT)
    assert preview.outputs["deployRunner"] == {
        "project": project,
        "image": record.inputs["environment"]["image"],
        "sourceBucket": bucket,
        "sourceKey": f"deploy-runner/{name}/source.zip",
    }
    assert record.inputs["source"]["location"] == f"{bucket}/deploy-runner/{name}/source.zip"
