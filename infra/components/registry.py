"""PrivateRegistry: a tenant's ECR repositories (CONTROLS REG-1..REG-5).

Every tenant gets the repositories in ``REPOSITORIES`` under its prefix
(``<env>/<tenant>/``, naming.repository_prefix, which admission policies allow):

- ``inference``: serving images;
- ``training``: training and fine-tuning job images.

Each is IMMUTABLE, scanned on push, encrypted with the tenant's registry key, expires untagged
images and keeps a bounded number of tagged ones (lifecycle policy), and has a repository policy:

- ``TenantPull``: pull only by the tenant's workload role and the node roles that run its pods
  (the kubelet pulls with the node's credentials);
- ``CiPush``: push only by the platform's CI role;
- ``DenyOtherTenants``: every action denied to every other tenant's roles.

Pull-through cache rules are account-wide and belong to the account baseline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import iam, naming
from infra.config import Settings, Tenant

TYPE = "secure-ai-platform:registry:PrivateRegistry"

REPOSITORIES = ("inference", "training")
PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
UNTAGGED_DAYS = 7
TAGGED_IMAGES_KEPT = 200


def lifecycle_policy(untagged_days: int = UNTAGGED_DAYS, images_kept: int = TAGGED_IMAGES_KEPT) -> dict[str, Any]:
    """An ECR lifecycle policy: expire untagged images after some days, keep the newest images only."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images after {untagged_days} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the newest {images_kept} images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": images_kept},
                "action": {"type": "expire"},
            },
        ]
    }


@dataclass
class RegistryArgs:
    """Whose repositories, their key, who pulls, and which other tenants' roles are denied."""

    settings: Settings
    tenant: Tenant
    registry_key_arn: pulumi.Input[str]
    # The tenant's workload role and the node roles that run its pods.
    pull_role_arns: Sequence[pulumi.Input[str]]
    # Every role of every other tenant in the stack.
    denied_role_arns: Sequence[pulumi.Input[str]]
    # The roles the repository policy names, which must exist before it (ECR rejects unknown principals).
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)


def platform_repository(
    resource: str, repository_name: str, registry_key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.ecr.Repository:
    """An ECR repository under the registry rules (REG-1..5) with its lifecycle policy: every repository the
    platform creates (the tenants', the device plugin's mirror, the deploy runner's image) is one.

    Immutable tags, so a pushed version can never be replaced; scanned on push; the platform's registry key.
    """
    repository = aws.ecr.Repository(
        resource,
        name=repository_name,
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[{"encryption_type": "KMS", "kms_key": registry_key_arn}],
        force_delete=False,
        opts=opts,
    )
    aws.ecr.LifecyclePolicy(resource, repository=repository.name, policy=json.dumps(lifecycle_policy()), opts=opts)
    return repository


def repository_policy(settings: Settings, pullers: Sequence[str], denied: Sequence[str]) -> list[iam.Statement]:
    statements: list[iam.Statement] = [
        {
            "Sid": "TenantPull",
            "Effect": "Allow",
            "Principal": {"AWS": iam.principals(pullers)},
            "Action": list(PULL_ACTIONS),
        },
        {
            "Sid": "CiPush",
            "Effect": "Allow",
            "Principal": {"AWS": settings.required_roles.ci},
            "Action": list(PUSH_ACTIONS),
        },
    ]
    if denied:
        statements.append(
            {
                "Sid": "DenyOtherTenants",
                "Effect": "Deny",
                "Principal": {"AWS": iam.principals(denied)},
                "Action": "ecr:*",
            }
        )
    return statements


class PrivateRegistry(pulumi.ComponentResource):
    """The tenant's repositories, each with its lifecycle and repository policy."""

    repositories: dict[str, aws.ecr.Repository]
    repository_urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings, tenant = args.settings, args.tenant
        child = pulumi.ResourceOptions(parent=self)
        pullers, denied = list(args.pull_role_arns), list(args.denied_role_arns)
        policy = pulumi.Output.all(*pullers, *denied).apply(
            lambda arns: iam.document(repository_policy(settings, arns[: len(pullers)], arns[len(pullers) :]))
        )
        self.repositories = {}
        for repository in REPOSITORIES:
            resource = f"{name}-{repository}"
            repo = platform_repository(
                resource,
                naming.repository_name(settings.environment, tenant.name, repository),
                args.registry_key_arn,
                child,
            )
            aws.ecr.RepositoryPolicy(
                resource,
                repository=repo.name,
                policy=policy,
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
            )
            self.repositories[repository] = repo
        self.repository_urls = {repository: repo.repository_url for repository, repo in self.repositories.items()}
        self.register_outputs({"repositoryUrls": self.repository_urls})
