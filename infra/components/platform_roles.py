"""PlatformRoles: the account's platform roles and the two permissions boundaries (CONTROLS IAM-2..4).

Every platform stack relies on roles it must not create itself. This component creates them once
per account, each with a trust policy scoped to who may assume it and a permissions boundary:

- ``platform-admin`` (humans, MFA): deploys the account baseline; ``AdministratorAccess``.
- ``break-glass`` (humans, MFA): emergency access; ``AdministratorAccess``; its use raises an
  alert (infra.components.security_alerts).
- ``deployer`` (GitHub Actions through the account's OIDC provider, one repository and its
  configured branches): runs ``pulumi up`` for the platform, tenant and host stacks;
  ``PowerUserAccess`` plus IAM rights limited to the platform stacks' own names, and it may create
  a role only with the tenant boundary attached.
- ``ci`` (GitHub Actions, the CI repository's branches): pushes images to tenant repositories.
- ``audit`` (humans with MFA, or the deployer's workflows): read-only, what the live audit reads.
- ``tenant-deployment``, in a tier C tenant's own account only (``baseline.tenantDeployment``): the platform
  account's deployer assumes it, with the tier C stack's external id, to deploy that tenant's stacks there, and
  so does the tier C cluster stack's in-VPC deploy runner in this account (run 2), with the same external id;
  the deployer's permissions, nothing more (``aip-<env>-tenant-deployment``, path ``/``: the tier C stacks
  name it by ``tenantAccount.roleName``, and STS matches the whole ARN, path included).

The boundaries are managed policies:

- the tenant boundary, which every tenant role must carry: no IAM changes, no KMS key
  administration, keys of this account only (in a tier C tenant's account, plus the platform's two
  bootstrap keys for the tier C cluster stack's deploy runner alone), and no access to resources
  tagged for another tenant (``aws:ResourceTag`` / ``aws:RequestTag`` against ``aws:PrincipalTag``);
- the platform boundary, carried by every role of the baseline: no long-lived IAM credentials,
  keys of this account only, audit evidence (trail, log bucket and group, detector, analyzers,
  the break-glass alarm) never destroyed by anyone, and the baseline changed only by
  platform-admin or break-glass.

Neither boundary grants anything: a boundary caps what identity policies grant. Both are written
as ``Allow`` of everything outside a few services (``NotAction``) plus scoped statements and
explicit denies, so that no statement allows ``*`` on ``*`` or a whole service (IAM-2) and no
statement allows ``kms:Decrypt`` on ``*`` (KMS-4).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import pulumi
import pulumi_aws as aws

from infra import iam, naming
from infra.components.state_backend import RUNNER_SECRETS_ACTIONS, STATE_KEY_USE_THROUGH_S3
from infra.config import BaselineConfig, DeployRunnerAccess, GithubTrust, Settings, TenantDeployment
from infra.config import PlatformRoles as RoleArns
from infra.tags import PLATFORM

TYPE = "secure-ai-platform:platform_roles:PlatformRoles"

# The baseline's roles and policies live under their own IAM path, so that the deployer's IAM
# rights (``role/aip-<env>-*``) never reach them.
PATH = "/aip-baseline/"
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
SESSION_SECONDS = 3600
TENANT_TAG = "aiplatform:tenant"

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
POWER_USER_ACCESS = "arn:aws:iam::aws:policy/PowerUserAccess"

ROLES = ("platform-admin", "break-glass", "deployer", "ci", "audit")
# The role the platform account's deployer assumes in a tier C tenant's own account.
TENANT_DEPLOYMENT = "tenant-deployment"
# The role ECR assumes to apply KMS and tags to the repositories a pull-through cache creates. It
# lives here because the registry key's policy names it, so it must exist before the keys; its
# permissions, which name the key, are attached by infra.components.registry_baseline.
ECR_TEMPLATES = "ecr-templates"

# IAM changes a tenant role may never make (every write action of IAM, by verb).
IAM_WRITE_ACTIONS = (
    "iam:Add*",
    "iam:Attach*",
    "iam:Change*",
    "iam:Create*",
    "iam:Deactivate*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:Enable*",
    "iam:Put*",
    "iam:Remove*",
    "iam:Reset*",
    "iam:Resync*",
    "iam:Set*",
    "iam:Tag*",
    "iam:Untag*",
    "iam:Update*",
    "iam:Upload*",
)
KMS_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:ConnectCustomKeyStore",
    "kms:CreateAlias",
    "kms:CreateCustomKeyStore",
    "kms:CreateKey",
    "kms:DeleteAlias",
    "kms:DeleteCustomKeyStore",
    "kms:DeleteImportedKeyMaterial",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:DisconnectCustomKeyStore",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:ImportKeyMaterial",
    "kms:PutKeyPolicy",
    "kms:ReplicateKey",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateCustomKeyStore",
    "kms:UpdateKeyDescription",
    "kms:UpdatePrimaryRegion",
)
KMS_USE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*")
# KMS actions that act on the account rather than a key or alias (IAM takes only ``*`` for them).
KMS_ACCOUNT_ACTIONS = (
    "kms:ConnectCustomKeyStore",
    "kms:CreateCustomKeyStore",
    "kms:CreateKey",
    "kms:DeleteCustomKeyStore",
    "kms:DisconnectCustomKeyStore",
    "kms:GenerateRandom",
    "kms:ListAliases",
    "kms:ListKeys",
    "kms:UpdateCustomKeyStore",
)
LONG_LIVED_CREDENTIALS = (
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:CreateServiceSpecificCredential",
    "iam:CreateUser",
    "iam:UpdateLoginProfile",
)
# Services the platform never manages from an account: the organization and the account itself.
OUTSIDE_PLATFORM = ("account:*", "organizations:*")

ECR_PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
# What the live audit reads: configuration of every resource type in the control catalog, never data.


@dataclass(frozen=True)
class AuditEvidence:
    """ARNs of the baseline resources that hold or raise audit evidence (the platform boundary protects them)."""

    trail_arn: str
    bucket_arn: str
    log_group_arn: str
    alert_topic_arn: str
    alarm_rule_arn: str


@dataclass
class PlatformRolesArgs:
    """The stack, its baseline config, and the evidence the platform boundary protects."""

    settings: Settings
    baseline: BaselineConfig
    evidence: AuditEvidence


def role_name(environment: str, role: str) -> str:
    """e.g. ``aip-prod-platform-deployer``."""
    return naming.role_name(environment, PLATFORM, role)


def role_arn(account_id: str, environment: str, role: str) -> str:
    return f"arn:aws:iam::{account_id}:role{PATH}{role_name(environment, role)}"


def policy_name(environment: str, purpose: str) -> str:
    """e.g. ``aip-prod-tenant-boundary``."""
    return f"{naming.PREFIX}-{environment}-{purpose}"


def policy_arn(account_id: str, environment: str, purpose: str) -> str:
    return f"arn:aws:iam::{account_id}:policy{PATH}{policy_name(environment, purpose)}"


def tenant_deployment_role_name(environment: str) -> str:
    """``aip-<env>-tenant-deployment``: what the tier C stacks name in ``tenantAccount.roleName``."""
    return f"{naming.PREFIX}-{environment}-{TENANT_DEPLOYMENT}"


def tenant_deployment_role_arn(account_id: str, environment: str) -> str:
    """Path ``/``, as ``TenantAccount.role_arn`` builds it from the role name alone."""
    return f"arn:aws:iam::{account_id}:role/{tenant_deployment_role_name(environment)}"


def github_provider_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_OIDC_HOST}"


def baseline_roles(account_id: str, environment: str) -> RoleArns:
    """What the baseline's outputs will be, known before it is deployed (names are derived)."""
    return RoleArns(
        platform_admin=role_arn(account_id, environment, "platform-admin"),
        break_glass=role_arn(account_id, environment, "break-glass"),
        deployer=role_arn(account_id, environment, "deployer"),
        ci=role_arn(account_id, environment, "ci"),
        tenant_boundary=policy_arn(account_id, environment, "tenant-boundary"),
    )


# --- trust policies ---------------------------------------------------------------------------


def ecr_templates_trust(account_id: str) -> iam.Statement:
    """ECR of this account only (``aws:SourceAccount``)."""
    return {
        "Sid": "EcrOfThisAccount",
        "Effect": "Allow",
        "Principal": {"Service": iam.service_principal("ecr")},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
    }


def tenant_runner_arn(settings: Settings, runner: DeployRunnerAccess) -> str:
    """The tier C cluster stack's in-VPC deploy runner role in this account (naming.deploy_runner_role_name)."""
    name = naming.deploy_runner_role_name(settings.environment, runner.tenant)
    return iam.role_arn_in(settings.partition, settings.account_id, name)


def tenant_deployment_trust(settings: Settings, deployment: TenantDeployment) -> list[iam.Statement]:
    """Who assumes the tenant deployment role, each only with the tier C stack's external id (``sts:ExternalId``).

    - the platform account's deployer (run 1 of the tier C stacks, from CI);
    - with ``deployRunner``, the tier C cluster stack's deploy runner in this account (run 2: the program's
      provider assumes this role with the runner's credentials, docs/deploy.md). That stack creates the runner,
      after this role, so the principal is the account root narrowed by ``aws:PrincipalArn`` (IAM rejects a trust
      policy naming a role that does not exist; for a role session ``aws:PrincipalArn`` is the role's ARN, AWS IAM
      User Guide, "AWS global condition context keys"). A same-account root principal also requires the runner's
      own policy to allow the call, which its ``AssumeTenantDeploymentRole`` statement does.
    """
    statements: list[iam.Statement] = [
        {
            "Sid": "PlatformDeployerWithExternalId",
            "Effect": "Allow",
            "Principal": {"AWS": deployment.deployer_role_arn},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": deployment.external_id}},
        }
    ]
    if deployment.deploy_runner is not None:
        statements.append(
            {
                "Sid": "TenantDeployRunnerWithExternalId",
                "Effect": "Allow",
                "Principal": {"AWS": iam.account_root(settings)},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"sts:ExternalId": deployment.external_id},
                    "ArnLike": {"aws:PrincipalArn": tenant_runner_arn(settings, deployment.deploy_runner)},
                },
            }
        )
    return statements


def human_trust(principals: Sequence[str], mfa_max_age_seconds: int) -> iam.Statement:
    """Humans, only with MFA used within ``mfa_max_age_seconds``; they may set a source identity."""
    return {
        "Sid": "HumansWithRecentMfa",
        "Effect": "Allow",
        "Principal": {"AWS": iam.principals(principals)},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
        "Condition": {
            "Bool": {"aws:MultiFactorAuthPresent": "true"},
            "NumericLessThan": {"aws:MultiFactorAuthAge": str(mfa_max_age_seconds)},
        },
    }


def github_subjects(trust: GithubTrust) -> list[str]:
    """The ``sub`` claims GitHub issues for workflows on these branches of the repository."""
    return [f"repo:{trust.repository}:ref:refs/heads/{branch}" for branch in trust.branches]


def github_trust(account_id: str, trust: GithubTrust) -> iam.Statement:
    """GitHub Actions workflows of one repository's branches, through the account's OIDC provider."""
    return {
        "Sid": "GithubActionsWorkflows",
        "Effect": "Allow",
        "Principal": {"Federated": github_provider_arn(account_id)},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {f"{GITHUB_OIDC_HOST}:aud": GITHUB_AUDIENCE},
            "StringLike": {f"{GITHUB_OIDC_HOST}:sub": github_subjects(trust)},
        },
    }


def trust_policies(baseline: BaselineConfig) -> dict[str, list[iam.Statement]]:
    """Each role's complete trust policy."""
    age = baseline.mfa_max_age_seconds
    account = baseline.account_id
    return {
        "platform-admin": [human_trust(baseline.trusted_humans(), age)],
        "break-glass": [human_trust(baseline.trusted_break_glass(), age)],
        "deployer": [github_trust(account, baseline.deployer)],
        "ci": [github_trust(account, baseline.ci_trust)],
        "audit": [human_trust(baseline.trusted_humans(), age), github_trust(account, baseline.deployer)],
        ECR_TEMPLATES: [ecr_templates_trust(account)],
    }


# --- boundaries -------------------------------------------------------------------------------


def _account_keys(settings: Settings) -> list[str]:
    return [f"arn:{settings.partition}:kms:*:{settings.account_id}:key/*"]


def _deny_other_tenant(sid: str, key: str, allowed: str | list[str], exempt: dict[str, str]) -> iam.Statement:
    """Deny when the resource's (or request's) tenant tag is present and names none of ``allowed``."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {
            "Null": {f"{key}/{TENANT_TAG}": "false"},
            "StringNotEquals": {f"{key}/{TENANT_TAG}": allowed, **exempt},
        },
    }


def tenant_boundary(settings: Settings, deployment: TenantDeployment | None = None) -> list[iam.Statement]:
    """The permissions boundary every tenant role carries (IAM-3).

    In a tier C tenant's account whose ``deployment`` has a ``deployRunner``, the tier C cluster stack's runner keeps
    its state in the platform account's bootstrap bucket: the boundary lets that one role (``aws:PrincipalArn``) use
    the platform's state key through S3 and decrypt with its secrets key, as its own policy does
    (infra.components.deploy_runner, ``StateKeyThroughS3``, ``DecryptStackDataKey``), and no other key of
    another account.
    """
    own_tenant = f"${{aws:PrincipalTag/{TENANT_TAG}}}"
    # Roles of the platform itself (tagged tenant=platform) serve every tenant, e.g. a cluster role.
    other_tenant = {f"aws:PrincipalTag/{TENANT_TAG}": PLATFORM}
    platform_roles = (
        f"arn:{settings.partition}:iam::{settings.account_id}:role/{naming.PREFIX}-{settings.environment}-*"
    )
    return [
        {
            "Sid": "AllowOutsideIdentityAndKeys",
            "Effect": "Allow",
            "NotAction": ["iam:*", "kms:*", *OUTSIDE_PLATFORM],
            "Resource": "*",
        },
        {
            "Sid": "AllowPassingPlatformStackRoles",
            "Effect": "Allow",
            "Action": ["iam:GetRole", "iam:PassRole"],
            "Resource": platform_roles,
        },
        {
            "Sid": "AllowUsingAccountKeys",
            "Effect": "Allow",
            "Action": list(KMS_USE_ACTIONS),
            "Resource": _account_keys(settings),
        },
        {
            "Sid": "AllowGrantsForAwsResources",
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": _account_keys(settings),
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
        },
        *_deploy_runner_state_keys(settings, deployment),
        {"Sid": "DenyIamChanges", "Effect": "Deny", "Action": list(IAM_WRITE_ACTIONS), "Resource": "*"},
        {"Sid": "DenyKeyAdministration", "Effect": "Deny", "Action": list(KMS_ADMIN_ACTIONS), "Resource": "*"},
        # Platform-owned shared resources (the cluster, shared subnets, the device-plugin mirror) stay
        # reachable: GPU node and workload roles carry this boundary and must use them, and the
        # identity policies decide how far. Only another tenant's resources are fenced off here.
        _deny_other_tenant("DenyOtherTenantsResources", "aws:ResourceTag", [own_tenant, PLATFORM], other_tenant),
        _deny_other_tenant("DenyTaggingForOtherTenants", "aws:RequestTag", own_tenant, other_tenant),
        {
            "Sid": "DenyRetaggingTenantResources",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "Null": {f"aws:ResourceTag/{TENANT_TAG}": "false"},
                "ForAnyValue:StringEquals": {"aws:TagKeys": [TENANT_TAG]},
                "StringNotEquals": other_tenant,
            },
        },
    ]


def _deploy_runner_state_keys(settings: Settings, deployment: TenantDeployment | None) -> list[iam.Statement]:
    """The platform's two bootstrap keys, for the tier C cluster stack's runner only (``tenant_boundary``)."""
    access = deployment.deploy_runner if deployment is not None else None
    if access is None:
        return []
    runner = {"aws:PrincipalArn": tenant_runner_arn(settings, access)}
    # S3 calls KMS in the bucket's region, which is the state key's (SSE-KMS keys are regional).
    key_region = access.state_key_arn.split(":")[3]
    return [
        {
            "Sid": "AllowDeployRunnerStateKeyThroughS3",
            "Effect": "Allow",
            "Action": list(STATE_KEY_USE_THROUGH_S3),
            "Resource": access.state_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{key_region}.amazonaws.com"},
                "ArnLike": runner,
            },
        },
        {
            "Sid": "AllowDeployRunnerStackSecrets",
            "Effect": "Allow",
            "Action": list(RUNNER_SECRETS_ACTIONS),
            "Resource": access.secrets_key_arn,
            "Condition": {"ArnLike": runner},
        },
    ]


def _evidence_resources(
    settings: Settings, evidence: AuditEvidence, other_baseline_roles: Sequence[str] = ()
) -> dict[str, list[str]]:
    partition, region, account = settings.partition, settings.region, settings.account_id
    return {
        "trail": [evidence.trail_arn],
        "bucket": [evidence.bucket_arn, f"{evidence.bucket_arn}/*"],
        "log_group": [evidence.log_group_arn, f"{evidence.log_group_arn}:*"],
        "detector": [f"arn:{partition}:guardduty:{region}:{account}:detector/*"],
        "analyzer": [f"arn:{partition}:access-analyzer:{region}:{account}:analyzer/*"],
        "rule": [evidence.alarm_rule_arn],
        "topic": [evidence.alert_topic_arn],
        "baseline_iam": [
            f"arn:{partition}:iam::{account}:role{PATH}*",
            f"arn:{partition}:iam::{account}:policy{PATH}*",
            *other_baseline_roles,
        ],
    }


def platform_boundary(
    settings: Settings, evidence: AuditEvidence, other_baseline_roles: Sequence[str] = ()
) -> list[iam.Statement]:
    """The permissions boundary of every role the baseline creates.

    ``other_baseline_roles``: baseline roles outside ``PATH`` (the tenant deployment role), which only the
    operators may change as well, so that no role that carries this boundary can change itself.
    """
    resources = _evidence_resources(settings, evidence, other_baseline_roles)
    operators = [
        role_arn(settings.account_id, settings.environment, role) for role in ("platform-admin", "break-glass")
    ]
    keys = _account_keys(settings)
    aliases = [f"arn:{settings.partition}:kms:*:{settings.account_id}:alias/*"]
    return [
        {
            "Sid": "AllowOutsideKeysAndLongLivedCredentials",
            "Effect": "Allow",
            "NotAction": ["kms:*", *OUTSIDE_PLATFORM, *LONG_LIVED_CREDENTIALS],
            "Resource": "*",
        },
        {
            "Sid": "AllowAccountKeys",
            "Effect": "Allow",
            "Action": sorted(
                {
                    *KMS_USE_ACTIONS,
                    *KMS_ADMIN_ACTIONS,
                    "kms:CreateGrant",
                    "kms:Get*",
                    "kms:ListGrants",
                    "kms:ListResourceTags",
                }
                - set(KMS_ACCOUNT_ACTIONS)
            ),
            "Resource": keys + aliases,
        },
        {"Sid": "AllowKeyCreation", "Effect": "Allow", "Action": list(KMS_ACCOUNT_ACTIONS), "Resource": "*"},
        {
            "Sid": "DenyAuditEvidenceDestruction",
            "Effect": "Deny",
            "Action": [
                "access-analyzer:DeleteAnalyzer",
                "cloudtrail:DeleteTrail",
                "cloudtrail:StopLogging",
                "events:DeleteRule",
                "events:DisableRule",
                "events:RemoveTargets",
                "guardduty:DeleteDetector",
                "guardduty:DisassociateFromAdministratorAccount",
                "logs:DeleteLogGroup",
                "logs:DeleteLogStream",
                "logs:DeleteRetentionPolicy",
                "s3:BypassGovernanceRetention",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "sns:DeleteTopic",
            ],
            "Resource": sorted(
                {
                    arn
                    for group in ("trail", "bucket", "log_group", "detector", "analyzer", "rule", "topic")
                    for arn in resources[group]
                }
            ),
        },
        {
            "Sid": "DenyDisablingAccountDefaults",
            "Effect": "Deny",
            "Action": ["ec2:DisableEbsEncryptionByDefault", "iam:DeleteRolePermissionsBoundary"],
            "Resource": "*",
        },
        {
            "Sid": "DenyBaselineChangesOutsideOperators",
            "Effect": "Deny",
            "Action": [
                "cloudtrail:PutEventSelectors",
                "cloudtrail:PutInsightSelectors",
                "cloudtrail:UpdateTrail",
                "events:PutRule",
                "events:PutTargets",
                "guardduty:UpdateDetector",
                "iam:Attach*",
                "iam:Create*",
                "iam:Delete*",
                "iam:Detach*",
                "iam:Put*",
                "iam:SetDefaultPolicyVersion",
                "iam:Tag*",
                "iam:Untag*",
                "iam:Update*",
                "logs:AssociateKmsKey",
                "logs:DisassociateKmsKey",
                "logs:PutRetentionPolicy",
                "s3:PutBucketObjectLockConfiguration",
                "s3:PutBucketPolicy",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
                "sns:SetTopicAttributes",
            ],
            "Resource": sorted(
                {
                    arn
                    for group in ("trail", "bucket", "log_group", "detector", "rule", "topic", "baseline_iam")
                    for arn in resources[group]
                }
            ),
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": operators}},
        },
        {
            "Sid": "DenyAccountDefaultChangesOutsideOperators",
            "Effect": "Deny",
            "Action": [
                "ce:UpdateCostAllocationTagsStatus",
                "ec2:ModifyEbsDefaultKmsKeyId",
                "ec2:ResetEbsDefaultKmsKeyId",
                "ecr:PutRegistryScanningConfiguration",
                "s3:PutAccountPublicAccessBlock",
            ],
            "Resource": "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": operators}},
        },
    ]


# --- permissions ------------------------------------------------------------------------------


def deployer_permissions(settings: Settings, tenant_boundary_arn: str) -> list[iam.Statement]:
    """IAM rights beyond PowerUserAccess: only the platform stacks' own names, roles only with the tenant boundary."""
    partition, account, env = settings.partition, settings.account_id, settings.environment
    own = f"{naming.PREFIX}-{env}-*"
    return [
        {
            "Sid": "CreateRolesWithTenantBoundary",
            "Effect": "Allow",
            "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
            "Resource": f"arn:{partition}:iam::{account}:role/{own}",
            "Condition": {"ArnEquals": {"iam:PermissionsBoundary": tenant_boundary_arn}},
        },
        {
            "Sid": "ManagePlatformStackRoles",
            "Effect": "Allow",
            "Action": [
                "iam:AttachRolePolicy",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
                "iam:ListRoleTags",
                "iam:PassRole",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
            ],
            "Resource": f"arn:{partition}:iam::{account}:role/{own}",
        },
        {
            "Sid": "ManagePlatformStackPolicies",
            "Effect": "Allow",
            "Action": [
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicyVersions",
                "iam:SetDefaultPolicyVersion",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            "Resource": f"arn:{partition}:iam::{account}:policy/{own}",
        },
        {
            "Sid": "ManagePlatformStackInstanceProfiles",
            "Effect": "Allow",
            "Action": [
                "iam:AddRoleToInstanceProfile",
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
                "iam:UntagInstanceProfile",
            ],
            "Resource": f"arn:{partition}:iam::{account}:instance-profile/{own}",
        },
        {
            "Sid": "ManageClusterOidcProviders",
            "Effect": "Allow",
            "Action": [
                "iam:CreateOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:GetOpenIDConnectProvider",
                "iam:TagOpenIDConnectProvider",
                "iam:UntagOpenIDConnectProvider",
            ],
            "Resource": f"arn:{partition}:iam::{account}:oidc-provider/oidc.eks.{settings.region}.amazonaws.com/id/*",
        },
    ]


def ci_permissions(settings: Settings) -> list[iam.Statement]:
    """Push images to the environment's tenant repositories (``<env>/<tenant>/…``), nothing else (REG-5)."""
    repositories = (
        f"arn:{settings.partition}:ecr:{settings.region}:{settings.account_id}:repository/{settings.environment}/*"
    )
    return [
        {"Sid": "RegistryLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "PushTenantImages", "Effect": "Allow", "Action": list(ECR_PUSH_ACTIONS), "Resource": repositories},
    ]


def audit_permissions() -> list[iam.Statement]:
    """The live audit's read-only view: exactly the policy the audit ships (audit/iam-policy.json).

    One source: the audit's tests prove every call it makes is allowed by that file, so the role
    that runs it on a schedule gets the same document, never a hand-kept copy.
    """
    document = json.loads(resources.files("audit").joinpath("iam-policy.json").read_text(encoding="utf-8"))
    statements: list[iam.Statement] = document["Statement"]
    return statements


def other_baseline_roles(settings: Settings, baseline: BaselineConfig) -> list[str]:
    """The baseline's roles outside ``PATH``: the tenant deployment role when the account is a tier C tenant's."""
    if baseline.tenant_deployment is None:
        return []
    return [tenant_deployment_role_arn(baseline.account_id, settings.environment)]


class PlatformRoles(pulumi.ComponentResource):
    """The platform's roles, the GitHub OIDC provider, and the tenant and platform boundaries."""

    roles: dict[str, aws.iam.Role]
    arns: dict[str, pulumi.Output[str]]
    tenant_boundary: aws.iam.Policy
    platform_boundary: aws.iam.Policy
    github_provider: aws.iam.OpenIdConnectProvider
    tenant_deployment: aws.iam.Role | None

    def __init__(self, name: str, args: PlatformRolesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings, baseline = args.settings, args.baseline
        child = pulumi.ResourceOptions(parent=self)
        env = settings.environment

        self.tenant_boundary = aws.iam.Policy(
            f"{name}-tenant-boundary",
            name=policy_name(env, "tenant-boundary"),
            path=PATH,
            description="Permissions boundary of every tenant role: no IAM changes, no key administration, "
            "no other tenant's resources",
            policy=iam.document(tenant_boundary(settings, baseline.tenant_deployment)),
            opts=child,
        )
        self.platform_boundary = aws.iam.Policy(
            f"{name}-platform-boundary",
            name=policy_name(env, "platform-boundary"),
            path=PATH,
            description="Permissions boundary of the baseline's roles: audit evidence is never destroyed, "
            "the baseline changes only through platform-admin or break-glass",
            policy=iam.document(platform_boundary(settings, args.evidence, other_baseline_roles(settings, baseline))),
            opts=child,
        )
        self.github_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-github",
            url=f"https://{GITHUB_OIDC_HOST}",
            client_id_lists=[GITHUB_AUDIENCE],
            opts=child,
        )

        trust = trust_policies(baseline)
        descriptions = {
            "platform-admin": "Platform administrators (MFA): deploy the account baseline",
            "break-glass": "Emergency access (MFA); every use raises a security alert",
            "deployer": f"GitHub Actions of {baseline.deployer.repository}: pulumi up for the platform stacks",
            "ci": f"GitHub Actions of {baseline.ci_trust.repository}: push images to tenant repositories",
            "audit": "Read-only configuration access for the live audit",
            ECR_TEMPLATES: "ECR applies KMS encryption and tags to pull-through cache repositories",
        }
        federated = {"deployer", "ci", "audit"}
        self.roles = {}
        for role in (*ROLES, ECR_TEMPLATES):
            self.roles[role] = aws.iam.Role(
                f"{name}-{role}",
                name=role_name(env, role),
                path=PATH,
                description=descriptions[role],
                assume_role_policy=iam.document(trust[role]),
                permissions_boundary=self.platform_boundary.arn,
                max_session_duration=SESSION_SECONDS,
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[self.github_provider] if role in federated else []
                ),
            )

        for role in ("platform-admin", "break-glass"):
            aws.iam.RolePolicyAttachment(
                f"{name}-{role}-administrator",
                role=self.roles[role].name,
                policy_arn=ADMINISTRATOR_ACCESS,
                opts=child,
            )
        aws.iam.RolePolicyAttachment(
            f"{name}-deployer-power-user", role=self.roles["deployer"].name, policy_arn=POWER_USER_ACCESS, opts=child
        )
        inline = {
            "deployer": iam.document(deployer_permissions(settings, settings.required_roles.tenant_boundary)),
            "ci": iam.document(ci_permissions(settings)),
            "audit": iam.document(audit_permissions()),
        }
        for role, document in inline.items():
            aws.iam.RolePolicy(
                f"{name}-{role}",
                name=f"{role_name(env, role)}-permissions",
                role=self.roles[role].id,
                policy=document,
                opts=child,
            )

        self.tenant_deployment = self._tenant_deployment(name, settings, baseline)
        self.arns = {role: resource.arn for role, resource in self.roles.items()}
        self.register_outputs(
            {
                "roleArns": self.arns,
                "tenantBoundaryArn": self.tenant_boundary.arn,
                "platformBoundaryArn": self.platform_boundary.arn,
            }
        )

    def _tenant_deployment(self, name: str, settings: Settings, baseline: BaselineConfig) -> aws.iam.Role | None:
        """In a tier C tenant's account: the role the platform's deployer assumes, with the deployer's permissions.

        The deployer's policy fits the tier C deployments exactly: they create what the platform stacks create
        (PowerUserAccess for every service but IAM, Organizations and Account), and in IAM only roles, policies
        and instance profiles named ``aip-<env>-*`` (roles only with the tenant boundary) and the EKS clusters'
        OIDC providers (tests/infra/test_tenant_account_baselines.py holds every IAM resource of the tier C
        stacks to these statements).
        """
        deployment = baseline.tenant_deployment
        if deployment is None:
            return None
        env = settings.environment
        role = aws.iam.Role(
            f"{name}-{TENANT_DEPLOYMENT}",
            name=tenant_deployment_role_name(env),
            path="/",
            description=f"The platform account's deployer ({deployment.deployer_role_arn}) deploys this tenant's "
            "tier C stacks",
            assume_role_policy=iam.document(tenant_deployment_trust(settings, deployment)),
            permissions_boundary=self.platform_boundary.arn,
            max_session_duration=SESSION_SECONDS,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self)
        aws.iam.RolePolicyAttachment(
            f"{name}-{TENANT_DEPLOYMENT}-power-user", role=role.name, policy_arn=POWER_USER_ACCESS, opts=child
        )
        aws.iam.RolePolicy(
            f"{name}-{TENANT_DEPLOYMENT}",
            name=f"{tenant_deployment_role_name(env)}-permissions",
            role=role.id,
            policy=iam.document(deployer_permissions(settings, settings.required_roles.tenant_boundary)),
            opts=child,
        )
        return role
