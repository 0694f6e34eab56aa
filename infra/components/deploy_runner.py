"""DeployRunner: the in-VPC CodeBuild project that applies a cluster stack's Kubernetes objects (issue 11, items 3-4).

The cluster's API endpoint is private and its security group admits only the VPC's CIDR, so a
cluster stack is deployed in two runs of the same program (docs/deploy.md):

1. outside the VPC, CI (the deployer role, GitHub OIDC) runs ``pulumi up --exclude
   '**pulumi:providers:kubernetes::**' --exclude-dependents``: every AWS resource, this runner among them;
2. this runner runs ``pulumi preview`` (the policy pack is the gate) and ``pulumi up --target
   '**pulumi:providers:kubernetes::**' --target-dependents``: the Kubernetes objects and the AWS
   resources that depend on them (the tenants' EKS Pod Identity associations).

What it is:

- a CodeBuild project (``privilegedMode`` false, no artifacts) in the VPC's workload subnets, with a
  security group of its own that admits nothing and allows only HTTPS egress: to the VPC CIDR (the
  interface endpoints and the EKS API's private endpoint) and to the S3 gateway endpoint's prefix
  list. Security groups do not filter DNS to the Amazon-provided resolver (Amazon VPC User Guide,
  "Security group rules"), so no DNS rule is needed. Its source is an S3 object in the state
  bucket (``deploy-runner/<stack>/source.zip``, a ``git archive`` of the commit CI uploads) and its
  buildspec is inline: which stack and which commands is decided by the program, not by the zip;
- its image in a private ECR repository of its own (immutable tags, scanned on push, the owner's
  registry key), tagged with the digest of the files it is built from
  (``tools/deploy-runner/Dockerfile`` and ``requirements.lock``): the project always names the image
  built from the source being deployed (CI pushes it before starting a build);
- its log group (the owner's logs key, the environment's retention);
- its service role ``aip-<env>-<owner>-deploy-runner``, trusted by CodeBuild for this project only
  (``aws:SourceAccount``, ``aws:SourceArn``), with the tenant permissions boundary (the deployer may
  create no other kind of role) and exactly what the in-VPC run uses (``runner_permissions``).

The cluster gives this role its one non-human cluster-admin access entry (infra.components.cluster).
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pulumi
import pulumi_aws as aws
import yaml

from infra import iam, naming
from infra.components.cluster import DEPLOY_RUNNER_ROLE, LOG_RETENTION_DAYS
from infra.components.network import IsolatedNetwork, https_egress, s3_gateway_egress
from infra.components.registry import PULL_ACTIONS, PUSH_ACTIONS, platform_repository
from infra.components.state_backend import (
    METADATA_KEY,
    SOURCE_READ_ACTIONS,
    STATE_KEY_USE_THROUGH_S3,
    STATE_OBJECT_ACTIONS,
    source_key,
    stack_state_objects,
)
from infra.config import Settings, StateBackend
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:deploy_runner:DeployRunner"

ROLE = DEPLOY_RUNNER_ROLE
# The one glob both runs use, exactly as the CLI matches it (pkg/resource/deploy/deployment.go getMatcher):
# every Kubernetes provider, explicit or default, whatever its parent.
KUBERNETES_PROVIDERS = "**pulumi:providers:kubernetes::**"
# What run 2 selects: the Kubernetes providers and everything that depends on them. Its policy gate (inside_preview)
# and its update (inside_up) take the same selection, so the gate judges exactly what the update applies.
RUN_2_SELECTION = ("--target", KUBERNETES_PROVIDERS, "--target-dependents")
POLICY_PACK = "policy_packs/ai-guardrails"
# The image's virtual environment (tools/deploy-runner/Dockerfile): the project's .venv points at it.
IMAGE_VENV = "/opt/deploy-runner/venv"
REPOSITORY = "deploy-runner"
# A medium build host (7 GB): the program and the policy pack of platform-prod fit with room to spare.
COMPUTE_TYPE = "BUILD_GENERAL1_MEDIUM"
BUILD_TIMEOUT_MINUTES = 120
QUEUED_TIMEOUT_MINUTES = 60
CODEBUILD = "codebuild.amazonaws.com"

_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = _ROOT / "tools" / "deploy-runner" / "Dockerfile"
PACK_PROJECT = _ROOT / POLICY_PACK / "PulumiPolicy.yaml"
LOCK_FILE = _ROOT / "requirements.lock"

# What every run of the program reads through the AWS provider, whichever resources it targets: the
# engine runs the whole program, so every invoke runs in the in-VPC run too. By invoke token, the IAM
# actions the provider's call needs: sts:GetCallerIdentity needs no permission (AWS STS API Reference,
# GetCallerIdentity: "No permissions are required to perform this operation"), and getRegion is answered
# from the provider's own configuration. tests/infra/test_deploy_runner.py holds this to the invokes the
# reference stacks make.
PROGRAM_READS: dict[str, tuple[str, ...]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": ("ec2:DescribeAvailabilityZones",),
    # Which zones offer the stack's instance types (infra.components.network).
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": ("ec2:DescribeInstanceTypeOfferings",),
    "aws:index/getCallerIdentity:getCallerIdentity": (),
    "aws:index/getRegion:getRegion": (),
    # The managed add-ons' most recent version for the cluster's Kubernetes version (infra.components.cluster).
    "aws:eks/getAddonVersion:getAddonVersion": ("eks:DescribeAddonVersions",),
}
# The AWS resources the targeted run creates, updates and deletes: the tenants' EKS Pod Identity
# associations, which depend on their ServiceAccount (infra.components.tenant_space). By the EKS
# Service Authorization Reference, Create acts on the cluster, the rest on the association; tags are
# written on create and by TagResource/UntagResource on update.
POD_IDENTITY_CLUSTER_ACTIONS = ("eks:CreatePodIdentityAssociation",)
POD_IDENTITY_ACTIONS = (
    "eks:DeletePodIdentityAssociation",
    "eks:DescribePodIdentityAssociation",
    "eks:TagResource",
    "eks:UntagResource",
    "eks:UpdatePodIdentityAssociation",
)
# CodeBuild in a VPC creates the build's network interface with the service role (CodeBuild User
# Guide, "Allow CodeBuild access to AWS services required to create a VPC network interface").
VPC_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)


@cache
def image_tag() -> str:
    """The runner image's tag: the first 16 hex digits of sha256(Dockerfile ‖ requirements.lock).

    CI computes the same with ``cat tools/deploy-runner/Dockerfile requirements.lock | sha256sum | cut -c1-16``.
    """
    digest = hashlib.sha256(DOCKERFILE.read_bytes() + LOCK_FILE.read_bytes()).hexdigest()
    return digest[:16]


def pack_virtualenv() -> str | None:
    """The pack's ``virtualenv`` option (PulumiPolicy.yaml), relative to the pack: the CLI runs the pack with it."""
    project = yaml.safe_load(PACK_PROJECT.read_text(encoding="utf-8"))
    runtime = project.get("runtime")
    options = runtime.get("options") if isinstance(runtime, dict) else None
    virtualenv = options.get("virtualenv") if isinstance(options, dict) else None
    return str(virtualenv) if virtualenv else None


def venv_links() -> list[str]:
    """Where the CLI looks for the program's and the pack's virtualenvs, each linked to the image's one.

    One venv serves both: the pack's requirements.txt pins the set requirements.lock holds.
    """
    project = yaml.safe_load((_ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    links = [str(project["runtime"]["options"]["virtualenv"])]
    pack = pack_virtualenv()
    if pack is not None:
        links.append(f"{POLICY_PACK}/{pack}")
    return links


def project_name(settings: Settings, owner: str) -> str:
    """e.g. ``aip-prod-platform-deploy-runner``."""
    return naming.resource_name(settings.environment, owner, REPOSITORY)


def pack_config(settings: Settings) -> str:
    return f"{POLICY_PACK}/config/{settings.environment}.json"


def _pack_args(settings: Settings) -> list[str]:
    return ["--policy-pack", POLICY_PACK, "--policy-pack-config", pack_config(settings)]


def outside_up(settings: Settings, stack: str) -> list[str]:
    """Run 1, from CI outside the VPC: every resource but the Kubernetes providers' dependents."""
    return [
        "pulumi",
        "up",
        "--stack",
        stack,
        "--exclude",
        KUBERNETES_PROVIDERS,
        "--exclude-dependents",
        *_pack_args(settings),
        "--yes",
        "--non-interactive",
    ]


def inside_preview(settings: Settings, stack: str) -> list[str]:
    """Run 2's gate: the policy pack over the targeted preview."""
    return [
        "pulumi",
        "preview",
        "--stack",
        stack,
        *RUN_2_SELECTION,
        *_pack_args(settings),
        "--non-interactive",
    ]


def inside_up(settings: Settings, stack: str) -> list[str]:
    """Run 2, in the runner: the Kubernetes providers and everything that depends on them."""
    return [
        "pulumi",
        "up",
        "--stack",
        stack,
        *RUN_2_SELECTION,
        *_pack_args(settings),
        "--yes",
        "--non-interactive",
    ]


def backend_url(settings: Settings, backend: StateBackend) -> str:
    return f"s3://{backend.bucket}?region={settings.region}"


def buildspec(settings: Settings, stack: str, cluster_name: str, backend: StateBackend) -> str:
    """The runner's buildspec: the project's venv from the image, then the gate and the targeted up.

    - The program's and the pack's virtualenvs (``venv_links``) link to the image's venv, installed
      from the pinned ``requirements.lock``; the project's own packages (``infra``, ``aiplatform_standards``) come from
      the source archive through ``PYTHONPATH``, never from a copy baked into the image.
    - No plugin download (the image carries the pinned plugins), no update check, no listing of the
      whole state bucket for legacy stacks (``PULUMI_DIY_BACKEND_NO_LEGACY_WARNING``; pkg/backend/diy
      backend.go ``New``): the role may read only this stack's state.
    - ``aws eks wait cluster-active`` fails fast, with AWS's message, when run 1 has not created the cluster.
    """
    document = {
        "version": 0.2,
        "env": {
            "shell": "bash",
            "variables": {
                "PULUMI_BACKEND_URL": backend_url(settings, backend),
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            },
        },
        "phases": {
            "pre_build": {
                "commands": [
                    *(shlex.join(["ln", "-sfn", IMAGE_VENV, link]) for link in venv_links()),
                    'export PYTHONPATH="$CODEBUILD_SRC_DIR:$CODEBUILD_SRC_DIR/policy_packs/ai-guardrails/standards"',
                    shlex.join(
                        ["aws", "eks", "wait", "cluster-active", "--name", cluster_name, "--region", settings.region]
                    ),
                ]
            },
            "build": {
                "commands": [shlex.join(inside_preview(settings, stack)), shlex.join(inside_up(settings, stack))]
            },
        },
    }
    return yaml.safe_dump(document, sort_keys=False, width=1000)


# --- the role's policy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunnerScope:
    """Everything ``runner_permissions`` names, all known before anything exists (deterministic names)."""

    stack: str
    owner: str
    cluster_name: str
    backend: StateBackend
    # Roles the in-VPC run passes to EKS Pod Identity associations (the tenants' workload roles).
    pod_identity_role_arns: tuple[str, ...] = ()


def log_group_name(settings: Settings, owner: str) -> str:
    return naming.log_group_name(settings.environment, owner, REPOSITORY)


def repository_name(settings: Settings, owner: str) -> str:
    return naming.repository_name(settings.environment, owner, REPOSITORY)


def runner_permissions(settings: Settings, scope: RunnerScope) -> list[iam.Statement]:
    """The runner role's permissions, each statement for one need of the in-VPC run (docs/deploy.md)."""
    bucket = iam.bucket_arn(settings, scope.backend.bucket)
    group = iam.regional_arn(settings, "logs", f"log-group:{log_group_name(settings, scope.owner)}")
    cluster = iam.regional_arn(settings, "eks", f"cluster/{scope.cluster_name}")
    statements: list[iam.Statement] = [
        {
            # The source archive (CodeBuild's S3 source reads a given version of it) and the backend's
            # metadata file.
            "Sid": "ReadSourceAndStateMetadata",
            "Effect": "Allow",
            "Action": list(SOURCE_READ_ACTIONS),
            "Resource": [f"{bucket}/{source_key(scope.stack)}", f"{bucket}/{METADATA_KEY}"],
        },
        {
            # The DIY backend's objects of this one stack (infra.components.state_backend.stack_state_objects).
            "Sid": "ReadWriteThisStacksState",
            "Effect": "Allow",
            "Action": list(STATE_OBJECT_ACTIONS),
            "Resource": stack_state_objects(bucket, scope.stack),
        },
        {
            # Listing finds the stack's checkpoint and locks; without it S3 answers a missing optional
            # object (the stack's tags file) with 403 instead of 404 (Amazon S3 API Reference, GetObject),
            # which the backend treats as an error (pkg/backend/diy stack_tags.go loadStackTags).
            "Sid": "ListStateBucket",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket,
        },
        {
            # The bucket is SSE-KMS with the state key: S3 decrypts reads and generates data keys for writes
            # with the caller's permission, which the key policy admits only through S3
            # (infra.components.state_backend).
            "Sid": "StateKeyThroughS3",
            "Effect": "Allow",
            "Action": list(STATE_KEY_USE_THROUGH_S3),
            "Resource": scope.backend.state_key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": iam.regional_service(settings, "s3")}},
        },
        {
            # The awskms:// secrets provider decrypts the stack's data key on every run; only a stack that
            # takes a new secrets provider encrypts one (pulumi/pulumi pkg/secrets/cloud/manager.go,
            # newCloudSecretsManager and generateNewDataKey, v3.274.1), and that happens at stack init.
            "Sid": "DecryptStackDataKey",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": scope.backend.secrets_key_arn,
        },
        {
            "Sid": "WriteBuildLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [group, f"{group}:*"],
        },
        {
            # GetAuthorizationToken acts on the registry, never on a repository (ECR User Guide).
            "Sid": "RegistryLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "PullRunnerImage",
            "Effect": "Allow",
            "Action": list(PULL_ACTIONS),
            "Resource": iam.regional_arn(settings, "ecr", f"repository/{repository_name(settings, scope.owner)}"),
        },
        {
            # aws eks wait cluster-active, before the run.
            "Sid": "DescribeItsCluster",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": cluster,
        },
        {
            "Sid": "CreateBuildNetworkInterfaces",
            "Effect": "Allow",
            "Action": list(VPC_INTERFACE_ACTIONS),
            "Resource": "*",
        },
        {
            # Only CodeBuild may attach the interface. The guide's example also names the subnets
            # (ec2:Subnet); their ids exist only after the VPC does, which would leave this whole document
            # unknown in a first preview, where the policy pack must read it. The role serves this one
            # project (its trust), whose VPC configuration CodeBuild uses, so the subnets are fixed anyway.
            "Sid": "AuthorizeBuildNetworkInterfaces",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkInterfacePermission",
            "Resource": iam.regional_arn(settings, "ec2", "network-interface/*"),
            "Condition": {"StringEquals": {"ec2:AuthorizedService": CODEBUILD}},
        },
    ]
    account = settings.tenant_account
    if account is not None:
        # Every AWS call of the program goes through the provider that assumes this role in the tenant's
        # account (infra.deployments.single_tenant_cluster): the runner needs only to assume it.
        statements.append(
            {
                "Sid": "AssumeTenantDeploymentRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": account.role_arn(settings.partition),
            }
        )
        return statements
    reads = sorted({action for actions in PROGRAM_READS.values() for action in actions})
    statements += [
        {"Sid": "ProgramReads", "Effect": "Allow", "Action": reads, "Resource": "*"},
        {
            "Sid": "CreatePodIdentityAssociations",
            "Effect": "Allow",
            "Action": list(POD_IDENTITY_CLUSTER_ACTIONS),
            "Resource": cluster,
        },
        {
            "Sid": "ManagePodIdentityAssociations",
            "Effect": "Allow",
            "Action": list(POD_IDENTITY_ACTIONS),
            "Resource": iam.regional_arn(settings, "eks", f"podidentityassociation/{scope.cluster_name}/*"),
        },
    ]
    if scope.pod_identity_role_arns:
        statements.append(
            {
                # An association passes its role to EKS Pod Identity, and to nothing else.
                "Sid": "PassWorkloadRolesToPodIdentity",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": sorted(scope.pod_identity_role_arns),
                "Condition": {"StringEquals": {"iam:PassedToService": "pods.eks.amazonaws.com"}},
            }
        )
    return statements


def trust_policy(settings: Settings, name: str) -> list[iam.Statement]:
    """CodeBuild, for this project of this account only (confused-deputy conditions).

    CodeBuild acts for a project with the project's ARN as ``aws:SourceArn``, never a build's: the CodeBuild User
    Guide's "Cross-service confused deputy prevention" page pins a service role's trust to
    ``arn:aws:codebuild:<region>:<account>:project/<project-name>``, and its "Amazon ECR sample for CodeBuild"
    admits ``codebuild.amazonaws.com`` pulling a project's image with ``StringEquals`` on that same project ARN and
    ``aws:SourceAccount``. So the condition is that one ARN, exactly, with the account it names; a ``build/…``
    pattern matched nothing CodeBuild sends.
    """
    return [
        {
            "Sid": "CodeBuildForThisProject",
            "Effect": "Allow",
            "Principal": {"Service": CODEBUILD},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {
                    "aws:SourceAccount": settings.account_id,
                    "aws:SourceArn": iam.regional_arn(settings, "codebuild", f"project/{name}"),
                }
            },
        }
    ]


def repository_policy(settings: Settings, runner_role_arn: str) -> list[iam.Statement]:
    """The runner pulls its image, CI pushes it; nobody else is named."""
    return [
        {"Sid": "RunnerPull", "Effect": "Allow", "Principal": {"AWS": runner_role_arn}, "Action": list(PULL_ACTIONS)},
        {
            "Sid": "CiPush",
            "Effect": "Allow",
            "Principal": {"AWS": settings.required_roles.ci},
            "Action": list(PUSH_ACTIONS),
        },
    ]


# --- the component --------------------------------------------------------------------------------


@dataclass
class DeployRunnerArgs:
    """The stack, the VPC to run in, the owner's keys, and what the targeted run passes to EKS."""

    settings: Settings
    network: IsolatedNetwork
    logs_key_arn: pulumi.Input[str]
    registry_key_arn: pulumi.Input[str]
    # None for the shared cluster; the tenant for a single-tenant cluster (tier C).
    owner: str | None = None
    pod_identity_role_arns: Sequence[str] = field(default_factory=tuple)


class DeployRunner(pulumi.ComponentResource):
    """The CodeBuild project, its role, image repository, log group and security group."""

    role: aws.iam.Role
    project: aws.codebuild.Project
    repository: aws.ecr.Repository
    log_group: aws.cloudwatch.LogGroup
    security_group: aws.ec2.SecurityGroup
    project_name: str
    image: str

    def __init__(self, name: str, args: DeployRunnerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings, network = args.settings, args.network
        backend = settings.state_backend
        if backend is None:
            raise ValueError(f"{name}: the deploy runner needs stateBackend (config validation requires it)")
        owner = args.owner or PLATFORM
        stack = pulumi.get_stack()
        child = pulumi.ResourceOptions(parent=self)
        self.project_name = project_name(settings, owner)
        scope = RunnerScope(
            stack=stack,
            owner=owner,
            cluster_name=naming.cluster_name(settings.environment, args.owner),
            backend=backend,
            pod_identity_role_arns=tuple(args.pod_identity_role_arns),
        )
        role_arn = iam.role_arn(settings, owner, ROLE)

        self.role = aws.iam.Role(
            f"{name}-role",
            name=naming.role_name(settings.environment, owner, ROLE),
            description=f"CodeBuild project {self.project_name}: the in-VPC pulumi up of stack {stack}",
            assume_role_policy=iam.document(trust_policy(settings, self.project_name)),
            permissions_boundary=settings.required_roles.tenant_boundary,
            opts=child,
        )
        permissions = aws.iam.RolePolicy(
            f"{name}-permissions",
            name=f"{naming.role_name(settings.environment, owner, ROLE)}-permissions",
            role=self.role.id,
            policy=iam.document(runner_permissions(settings, scope)),
            opts=child,
        )
        subnet_ids = list(network.private_subnet_ids)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name(settings, owner),
            kms_key_id=args.logs_key_arn,
            retention_in_days=LOG_RETENTION_DAYS[settings.environment],
            opts=child,
        )

        self.repository = platform_repository(
            f"{name}-image", repository_name(settings, owner), args.registry_key_arn, child
        )
        aws.ecr.RepositoryPolicy(
            f"{name}-image",
            repository=self.repository.name,
            policy=iam.document(repository_policy(settings, role_arn)),
            # ECR rejects a policy naming a principal that does not exist yet.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role]),
        )
        registry = f"{settings.account_id}.dkr.ecr.{settings.region}.amazonaws.com"
        self.image = f"{registry}/{repository_name(settings, owner)}:{image_tag()}"

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=network.vpc_id,
            description=f"Deploy runner {self.project_name}: HTTPS to the VPC (endpoints, EKS API) and S3 only",
            ingress=[],
            egress=[
                https_egress("Interface endpoints and the EKS API's private endpoint", cidr_blocks=[network.cidr]),
                s3_gateway_egress(network, "S3 (source, state, image layers) through the gateway endpoint"),
            ],
            opts=child,
        )

        self.project = aws.codebuild.Project(
            f"{name}-project",
            name=self.project_name,
            description=f"In-VPC run of stack {stack}: its Kubernetes objects and what depends on them",
            service_role=self.role.arn,
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "compute_type": COMPUTE_TYPE,
                "image": self.image,
                "image_pull_credentials_type": "SERVICE_ROLE",
                "privileged_mode": False,
            },
            source={
                "type": "S3",
                "location": f"{backend.bucket}/{source_key(stack)}",
                "buildspec": buildspec(settings, stack, scope.cluster_name, backend),
            },
            vpc_config={
                "vpc_id": network.vpc_id,
                "subnets": subnet_ids,
                "security_group_ids": [self.security_group.id],
            },
            logs_config={
                "cloudwatch_logs": {"status": "ENABLED", "group_name": self.log_group.name},
                "s3_logs": {"status": "DISABLED"},
            },
            build_timeout=BUILD_TIMEOUT_MINUTES,
            queued_timeout=QUEUED_TIMEOUT_MINUTES,
            # One run at a time: two would only race for the stack's lock.
            concurrent_build_limit=1,
            # CodeBuild checks the role's VPC permissions when the project is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permissions]),
        )
        # What the runbook's commands take (README, "Deploy"): where to push the image, upload the source
        # archive, and which project to start.
        self.outputs: dict[str, str] = {
            "project": self.project_name,
            "image": self.image,
            "sourceBucket": backend.bucket,
            "sourceKey": source_key(stack),
        }
        self.register_outputs(dict(self.outputs))
