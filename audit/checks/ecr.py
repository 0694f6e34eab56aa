"""ECR repositories: tags, scanning, encryption, policy and lifecycle (CONTROLS REG-1..5, KMS-5)."""

from __future__ import annotations

import fnmatch
from typing import Any

from audit.context import AuditContext
from audit.identity import CI_ROLE, key_problems, resource_owner
from audit.model import ECR_REPOSITORY, Outcome, Resource
from audit.policy import Admission, foreign_principals, statements
from audit.registry import check

# What pulling an image takes; any other ECR action in a repository policy writes.
_PULL_ACTIONS = frozenset(
    {
        "ecr:batchgetimage",
        "ecr:getdownloadurlforlayer",
        "ecr:batchchecklayeravailability",
        "ecr:describeimages",
        "ecr:describerepositories",
        "ecr:listimages",
        "ecr:describeimagescanfindings",
    }
)
_SCANNING_FREQUENCIES = ("SCAN_ON_PUSH", "CONTINUOUS_SCAN")


def _repository_setting(ctx: AuditContext, repository: Resource, operation: str, absent: str) -> dict[str, Any] | None:
    """A repository's policy or lifecycle policy; ``None`` when it has none."""
    return ctx.api.call(
        "ecr",
        operation,
        absent=(absent,),
        repositoryName=repository.id,
        registryId=repository.data.get("registryId", ctx.account),
    )


@check(
    "ecr-immutable-tags",
    title="Repository tags are immutable",
    controls=("REG-2",),
    severity="high",
    resource_types=(ECR_REPOSITORY,),
    remediation="aws ecr put-image-tag-mutability --image-tag-mutability IMMUTABLE, then reconcile the stack.",
)
def ecr_immutable_tags(ctx: AuditContext, repository: Resource) -> Outcome:
    mutability = repository.data.get("imageTagMutability")
    return [] if mutability == "IMMUTABLE" else [f"image tags are {mutability}"]


def _registry_scans(ctx: AuditContext, repository: Resource) -> bool:
    configuration = (ctx.api.call("ecr", "GetRegistryScanningConfiguration") or {}).get("scanningConfiguration", {})
    for rule in configuration.get("rules", []):
        if rule.get("scanFrequency") not in _SCANNING_FREQUENCIES:
            continue
        for repository_filter in rule.get("repositoryFilters", []):
            if fnmatch.fnmatchcase(repository.id, repository_filter.get("filter", "")):
                return True
    return False


@check(
    "ecr-scanning",
    title="Images are scanned on push, or by enhanced scanning",
    controls=("REG-1",),
    severity="medium",
    resource_types=(ECR_REPOSITORY,),
    remediation="Turn on scanOnPush for the repository, or a registry scanning rule that covers it.",
)
def ecr_scanning(ctx: AuditContext, repository: Resource) -> Outcome:
    if repository.data.get("imageScanningConfiguration", {}).get("scanOnPush") or _registry_scans(ctx, repository):
        return []
    return ["images are not scanned on push and no registry scanning rule covers the repository"]


@check(
    "ecr-kms-encryption",
    title="The repository is encrypted with its owner's registry key",
    controls=("REG-4", "KMS-5"),
    severity="high",
    resource_types=(ECR_REPOSITORY,),
    remediation=(
        "Encryption cannot change after creation: recreate the repository with encryptionType KMS and the "
        "owner's alias/<env>/<owner>/registry key, and move the images."
    ),
)
def ecr_kms_encryption(ctx: AuditContext, repository: Resource) -> Outcome:
    encryption = repository.data.get("encryptionConfiguration", {})
    if encryption.get("encryptionType") not in ("KMS", "KMS_DSSE"):
        return [f"encryption is {encryption.get('encryptionType', 'AES256')}, not KMS"]
    return key_problems(ctx, encryption.get("kmsKey"), resource_owner(repository), "registry")


@check(
    "ecr-repository-policy",
    title="The repository policy lets only the owner's and the platform's roles pull, and only CI push",
    controls=("REG-5",),
    severity="critical",
    resource_types=(ECR_REPOSITORY,),
    remediation="Remove the foreign principal or the push grant from the repository policy (set it in the stack).",
)
def ecr_repository_policy(ctx: AuditContext, repository: Resource) -> Outcome:
    response = _repository_setting(ctx, repository, "GetRepositoryPolicy", "RepositoryPolicyNotFoundException")
    owner = resource_owner(repository)
    problems = []
    for statement in statements((response or {}).get("policyText")):
        pull_only = all(action.lower() in _PULL_ACTIONS for action in statement.actions) and statement.actions
        # The kubelet pulls with its node's role, which is the platform's on shared nodes.
        admit = Admission(any_platform_role=True) if pull_only else Admission(only_platform_roles=(CI_ROLE,))
        problems += foreign_principals(ctx, statement, owner, admit)
    return problems


@check(
    "ecr-lifecycle-policy",
    title="The repository has a lifecycle policy",
    controls=("REG-3",),
    severity="low",
    resource_types=(ECR_REPOSITORY,),
    remediation="Add the platform's lifecycle policy to the repository in the stack.",
)
def ecr_lifecycle_policy(ctx: AuditContext, repository: Resource) -> Outcome:
    response = _repository_setting(ctx, repository, "GetLifecyclePolicy", "LifecyclePolicyNotFoundException")
    return [] if response and response.get("lifecyclePolicyText") else ["the repository has no lifecycle policy"]
