"""Proof: every principal a policy names exists by the time the policy is written (issue 11).

AWS rejects a resource policy or trust policy that names a principal which does not exist: KMS for key policies
(CreateKey, ``Policy``: "The principals in the key policy must exist and be visible to KMS",
https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html), IAM for trust policies and S3 and ECR for
bucket and repository policies ("Invalid principal in policy", AWS IAM User Guide, "AWS JSON policy elements:
Principal", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html: an IAM role
or user principal must exist when the policy is saved).

For every reference stack, run whole in update mode, every key policy, bucket policy, repository policy and role
trust policy is walked, and each principal it names is proved to be one of:

- an AWS service principal (``<service>.amazonaws.com``), or an account root (``arn:aws:iam::<account>:root``);
- created earlier in the same stack: by a resource the policy's resource depends on, directly or transitively (the
  engine creates a resource only after its dependencies);
- created by an earlier stack in the deployment order (infra/deploy_order.py: bootstrap, account baseline, shared
  cluster, tier C tenant accounts' baselines, tier C stacks);
- a principal outside the platform that the stack's config names as existing (``baseline.humanPrincipals`` and
  ``baseline.breakGlassPrincipals``: the identity account's roles the operators sign in with).

A principal that is none of these fails with the policy's URN and the principal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from reference_support import ReferenceStack, reference_stacks

from preflight import Preview, ResourceRecord

# The policy documents AWS checks for principals when it stores them, by resource type.
POLICY_DOCUMENTS = {
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
}
SERVICE_LINKED_ROLE = "aws:iam/serviceLinkedRole:ServiceLinkedRole"
# The name of each service's default service-linked role, from AWS's documentation ("Service-linked roles for
# Amazon EC2 Auto Scaling": AWSServiceRoleForAutoScaling, path /aws-service-role/autoscaling.amazonaws.com/).
SERVICE_LINKED_ROLE_NAMES = {"autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling"}
_SERVICE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com$")
_ROOT = re.compile(r"^(arn:aws:iam::\d{12}:root|\d{12})$")


@dataclass(frozen=True)
class Proof:
    """How one principal of one policy is known to exist (``how``), or why it is not (``missing``)."""

    stack: str
    urn: str
    kind: str
    principal: str
    how: str
    missing: bool = False

    def __str__(self) -> str:
        return f"{self.stack}: {self.urn}: {self.kind} principal {self.principal} {self.how}"


def policy_principals(document: Any) -> Iterator[tuple[str, str]]:
    """(kind, value) of every principal the document's statements name; ``*`` (anyone) names no principal."""
    parsed = json.loads(document) if isinstance(document, str) else document
    for statement in parsed["Statement"]:
        principal = statement.get("Principal")
        if principal is None or principal == "*":
            continue
        for kind, values in principal.items():
            for value in values if isinstance(values, list) else [values]:
                if value != "*":
                    yield kind, value


def created_principals(stack: ReferenceStack) -> dict[str, str]:
    """Principal ARN -> URN of the resource that creates it in ``stack`` (roles, OIDC providers, service roles)."""
    created: dict[str, str] = {}
    for record in stack.preview.resources:
        if record.type in ("aws:iam/role:Role", "aws:iam/openIdConnectProvider:OpenIdConnectProvider"):
            created[str(record.outputs["arn"])] = record.urn
        elif record.type == SERVICE_LINKED_ROLE:
            service = record.inputs["awsServiceName"]
            name = SERVICE_LINKED_ROLE_NAMES[service]
            created[f"arn:aws:iam::{stack.account}:role/aws-service-role/{service}/{name}"] = record.urn
    return created


def dependencies(preview: Preview, record: ResourceRecord) -> set[str]:
    """Every resource the engine creates before ``record``: its dependencies, transitively."""
    seen: set[str] = set()
    pending = [record]
    while pending:
        current = pending.pop()
        direct = set(current.dependencies)
        for urns in current.property_dependencies.values():
            direct.update(urns)
        for urn in direct - seen:
            seen.add(urn)
            found = preview.find(urn)
            if found is not None:
                pending.append(found)
    return seen


def configured_external_principals(stack: ReferenceStack) -> set[str]:
    baseline = stack.settings.baseline
    if baseline is None:
        return set()
    return {*baseline.human_principals, *baseline.break_glass_principals}


def prove(stacks: Iterable[ReferenceStack], ignored_types: frozenset[str] = frozenset()) -> list[Proof]:
    """A proof (or a missing one) for every principal of every policy, walking the stacks in deployment order.

    ``ignored_types``: resource types whose principals count as not created (to show what the proof catches).
    """
    stacks = list(stacks)
    proofs: list[Proof] = []
    for stack in stacks:
        earlier: dict[str, str] = {}
        for other in stacks:
            if other.stage < stack.stage:
                earlier.update({arn: other.name for arn in _created(other, ignored_types)})
        own = _created(stack, ignored_types)
        external = configured_external_principals(stack)
        for record in stack.preview.resources:
            if record.type not in POLICY_DOCUMENTS:
                continue
            document = record.inputs[POLICY_DOCUMENTS[record.type]]
            before = dependencies(stack.preview, record)
            for kind, principal in policy_principals(document):
                how, missing = _how(kind, principal, own, before, earlier, external)
                proofs.append(Proof(stack.name, record.urn, kind, principal, how, missing))
    return proofs


def _created(stack: ReferenceStack, ignored_types: frozenset[str]) -> dict[str, str]:
    return {
        arn: urn
        for arn, urn in created_principals(stack).items()
        if stack.preview.by_urn(urn).type not in ignored_types
    }


def _how(
    kind: str, principal: str, own: dict[str, str], before: set[str], earlier: dict[str, str], external: set[str]
) -> tuple[str, bool]:
    if kind == "Service":
        if _SERVICE.match(principal):
            return "is an AWS service principal", False
        return "is not an AWS service principal", True
    if kind == "AWS" and _ROOT.match(principal):
        return "is an account root", False
    if principal in own:
        if own[principal] in before:
            return f"is created earlier in the same stack by {own[principal]}", False
        return f"is created in the same stack by {own[principal]}, but not before the policy (no dependency)", True
    if principal in earlier:
        return f"is created by the earlier stack {earlier[principal]}", False
    if kind == "AWS" and principal in external:
        return "is named by the stack's config as an existing principal outside the platform", False
    return "is created by no earlier stack, and not before the policy in this one", True


@pytest.fixture(scope="module")
def proofs() -> list[Proof]:
    return prove(reference_stacks().values())


@pytest.mark.slow
def test_every_principal_of_every_policy_exists_by_the_time_it_is_used(proofs: list[Proof]) -> None:
    missing = [str(proof) for proof in proofs if proof.missing]
    assert missing == []
    # Every stack that writes a policy is walked.
    walked = {proof.stack for proof in proofs}
    assert walked == set(reference_stacks()), sorted(set(reference_stacks()) - walked)


@pytest.mark.slow
def test_auto_scalings_role_comes_from_the_accounts_baseline(proofs: list[Proof]) -> None:
    """Item 5: the volume keys of every stack name a service-linked role its account's baseline created."""
    found = {
        (proof.stack, proof.principal.split(":")[4], proof.how)
        for proof in proofs
        if proof.principal.endswith("/AWSServiceRoleForAutoScaling")
    }
    baseline_key = "urn:pulumi:{0}::secure-ai-platform::secure-ai-platform:service_linked_roles:ServiceLinkedRoles$"
    same = (
        "is created earlier in the same stack by "
        + baseline_key
        + ("aws:iam/serviceLinkedRole:ServiceLinkedRole::baseline-service-roles-autoscaling")
    )
    assert found == {
        ("baseline-dev", "111122223333", same.format("baseline-dev")),
        ("baseline-prod", "444455556666", same.format("baseline-prod")),
        ("baseline-clinical-prod", "555566667777", same.format("baseline-clinical-prod")),
        ("baseline-genomics-prod", "666677778888", same.format("baseline-genomics-prod")),
        ("platform-dev", "111122223333", "is created by the earlier stack baseline-dev"),
        ("platform-prod", "444455556666", "is created by the earlier stack baseline-prod"),
        ("tenant-clinical-prod", "555566667777", "is created by the earlier stack baseline-clinical-prod"),
        ("hosts-genomics-prod", "666677778888", "is created by the earlier stack baseline-genomics-prod"),
    }


@pytest.mark.slow
def test_the_tenant_deployment_roles_trust_the_deployer_the_platform_baseline_created(proofs: list[Proof]) -> None:
    """Item 15b: a cross-account trust, proved against the stack order (baseline-prod before the tenants' baselines)."""
    deployer = "arn:aws:iam::444455556666:role/aip-baseline/aip-prod-platform-deployer"
    found = {(proof.stack, proof.urn.rsplit("::", 1)[1], proof.how) for proof in proofs if proof.principal == deployer}
    assert {entry for entry in found if entry[0].startswith("baseline-") and entry[0] != "baseline-prod"} == {
        ("baseline-clinical-prod", "baseline-roles-tenant-deployment", "is created by the earlier stack baseline-prod"),
        ("baseline-genomics-prod", "baseline-roles-tenant-deployment", "is created by the earlier stack baseline-prod"),
    }


@pytest.mark.slow
def test_external_principals_are_exactly_the_configured_ones(proofs: list[Proof]) -> None:
    external = {proof.principal for proof in proofs if proof.how.startswith("is named by the stack's config")}
    assert external == {
        "arn:aws:iam::999988887777:role/platform-administrators",
        "arn:aws:iam::999988887777:role/security-oncall",
    }
    assert {proof.stack for proof in proofs if proof.principal in external} == {
        "baseline-dev",
        "baseline-prod",
        "baseline-clinical-prod",
        "baseline-genomics-prod",
    }


@pytest.mark.slow
def test_without_the_baselines_service_linked_roles_every_volume_key_fails() -> None:
    """What the proof reports on the code before item 5: no stack created Auto Scaling's role."""
    proofs = prove(reference_stacks().values(), ignored_types=frozenset({SERVICE_LINKED_ROLE}))
    missing = sorted(
        (proof.stack, proof.urn.rsplit("::", 1)[1], proof.principal.split(":")[4]) for proof in proofs if proof.missing
    )
    # Each volumes key names the role twice (use, and grants for AWS resources).
    assert missing == sorted(
        2
        * [
            ("baseline-clinical-prod", "baseline-keys-default-volumes", "555566667777"),
            ("baseline-dev", "baseline-keys-default-volumes", "111122223333"),
            ("baseline-genomics-prod", "baseline-keys-default-volumes", "666677778888"),
            ("baseline-prod", "baseline-keys-default-volumes", "444455556666"),
            ("hosts-genomics-prod", "genomics-keys-volumes", "666677778888"),
            ("platform-dev", "platform-keys-volumes", "111122223333"),
            ("platform-dev", "vision-lab-keys-volumes", "111122223333"),
            ("platform-prod", "claims-assistant-keys-volumes", "444455556666"),
            ("platform-prod", "platform-keys-volumes", "444455556666"),
            ("platform-prod", "risk-models-keys-volumes", "444455556666"),
            ("tenant-clinical-prod", "clinical-keys-volumes", "555566667777"),
        ]
    )
    [message] = {str(proof) for proof in proofs if proof.missing and proof.stack == "tenant-clinical-prod"}
    assert message == (
        "tenant-clinical-prod: urn:pulumi:tenant-clinical-prod::secure-ai-platform::secure-ai-platform:key_ring:KeyRing"
        "$aws:kms/key:Key::clinical-keys-volumes: AWS principal arn:aws:iam::555566667777:role/aws-service-role/"
        "autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling is created by no earlier stack, and not before the "
        "policy in this one"
    )


def test_a_principal_created_later_in_the_same_stack_is_caught() -> None:
    assert _how("AWS", "arn:aws:iam::1:role/r", {"arn:aws:iam::1:role/r": "urn:r"}, set(), {}, set()) == (
        "is created in the same stack by urn:r, but not before the policy (no dependency)",
        True,
    )
    assert _how("Service", "not a service", {}, set(), {}, set()) == ("is not an AWS service principal", True)
    assert _how("AWS", "arn:aws:iam::123456789012:root", {}, set(), {}, set()) == ("is an account root", False)
