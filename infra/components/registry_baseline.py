"""RegistryBaseline: the account's ECR registry settings (CONTROLS REG-1, REG-2, REG-4).

- Registry scanning: enhanced (Amazon Inspector) for every repository, continuously in prod and
  on push elsewhere.
- Pull-through cache rules for the approved upstream registries the stack lists
  (``infra.config.UPSTREAM_REGISTRIES``); their prefixes are unique per account and region,
  which is why only the baseline owns them.
- One repository creation template per cache prefix: every repository a cache creates gets the
  standard tags, KMS encryption with the baseline's registry-cache key and a lifecycle policy. Cached
  repositories stay mutable: a pull-through cache updates tags in place by AWS design (REG-2).
  ECR applies KMS and tags through a custom role (created with the platform roles), which may only
  create and tag repositories under the cache prefixes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import iam, naming
from infra.components.registry import lifecycle_policy
from infra.config import PullThroughCache, Settings
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:registry_baseline:RegistryBaseline"

# The key purpose of the repositories the caches create (standards: kms.purposes).
REGISTRY_CACHE_PURPOSE = "registry-cache"

TEMPLATE_ACTIONS = ("ecr:CreateRepository", "ecr:ReplicateImage", "ecr:TagResource")
TEMPLATE_KEY_ACTIONS = ("kms:CreateGrant", "kms:DescribeKey", "kms:RetireGrant")


@dataclass
class RegistryBaselineArgs:
    """The stack, the registry key, the caches to create, and the tags cached repositories get."""

    settings: Settings
    registry_key_arn: pulumi.Input[str]
    registry_key_alias: pulumi.Resource
    # The role ECR assumes for the templates (infra.components.platform_roles, ECR_TEMPLATES).
    template_role: aws.iam.Role
    caches: Sequence[PullThroughCache]
    repository_tags: Mapping[str, str]


def scan_frequency(settings: Settings) -> str:
    return "CONTINUOUS_SCAN" if settings.environment == "prod" else "SCAN_ON_PUSH"


def template_permissions(settings: Settings, caches: Sequence[PullThroughCache]) -> list[iam.Statement]:
    """Named through the key's alias (``kms:ResourceAliases``), so the document is known in a first preview."""
    registry = f"arn:{settings.partition}:ecr:{settings.region}:{settings.account_id}:repository"
    keys = f"arn:{settings.partition}:kms:{settings.region}:{settings.account_id}:key/*"
    alias = naming.kms_alias(settings.environment, PLATFORM, REGISTRY_CACHE_PURPOSE)
    return [
        {
            "Sid": "CreateCachedRepositories",
            "Effect": "Allow",
            "Action": list(TEMPLATE_ACTIONS),
            "Resource": [f"{registry}/{cache.repository_prefix}/*" for cache in caches],
        },
        {
            "Sid": "EncryptWithRegistryKey",
            "Effect": "Allow",
            "Action": list(TEMPLATE_KEY_ACTIONS),
            "Resource": keys,
            "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}},
        },
    ]


class RegistryBaseline(pulumi.ComponentResource):
    """Registry scanning, pull-through cache rules and their repository creation templates."""

    rules: dict[str, aws.ecr.PullThroughCacheRule]
    templates: dict[str, aws.ecr.RepositoryCreationTemplate]

    def __init__(self, name: str, args: RegistryBaselineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        aws.ecr.RegistryScanningConfiguration(
            name,
            scan_type="ENHANCED",
            rules=[
                {
                    "scan_frequency": scan_frequency(settings),
                    "repository_filters": [{"filter": "*", "filter_type": "WILDCARD"}],
                }
            ],
            opts=child,
        )

        role = args.template_role
        permissions = aws.iam.RolePolicy(
            f"{name}-templates",
            name="create-cached-repositories",
            role=role.id,
            policy=iam.document(template_permissions(settings, args.caches)),
            # The alias names the key only once the key exists.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.registry_key_alias]),
        )

        self.rules, self.templates = {}, {}
        # The same expiry as the tenants' own repositories (infra.components.registry).
        lifecycle = json.dumps(lifecycle_policy())
        for cache in args.caches:
            prefix = cache.repository_prefix
            self.rules[prefix] = aws.ecr.PullThroughCacheRule(
                f"{name}-{prefix}",
                ecr_repository_prefix=prefix,
                upstream_registry_url=cache.upstream_url,
                credential_arn=cache.credential_arn,
                opts=child,
            )
            self.templates[prefix] = aws.ecr.RepositoryCreationTemplate(
                f"{name}-{prefix}",
                prefix=prefix,
                applied_fors=["PULL_THROUGH_CACHE"],
                description=f"Repositories the {cache.upstream} pull-through cache creates",
                custom_role_arn=role.arn,
                encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.registry_key_arn}],
                image_tag_mutability="MUTABLE",
                lifecycle_policy=lifecycle,
                resource_tags=dict(args.repository_tags),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permissions]),
            )
        self.register_outputs({"cachePrefixes": sorted(self.rules)})
