"""Helpers for the IAM policy documents the components write: key, bucket, repository and topic policies.

Documents are plain JSON built from the component's inputs (``Output.all(...).apply(json.dumps)``),
not ``aws.iam.getPolicyDocument`` invokes, so that a preview shows them as ordinary inputs that
the policy pack reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi

from infra import naming
from infra.config import Settings

Statement = dict[str, Any]

VERSION = "2012-10-17"


def document(statements: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps({"Version": VERSION, "Statement": list(statements)})


def policy(
    build: Callable[[list[str]], Sequence[Statement]], principals: Sequence[pulumi.Input[str]]
) -> pulumi.Output[str]:
    """A policy document whose statements name ``principals`` once they are known."""
    return pulumi.Output.all(*principals).apply(lambda arns: document(build([str(arn) for arn in arns])))


def account_root(settings: Settings) -> str:
    return account_root_of(settings.partition, settings.account_id)


def account_root_of(partition: str, account_id: str) -> str:
    """An account's root principal: always exists, so a policy may name it before any role of the account does."""
    return f"arn:{partition}:iam::{account_id}:root"


def role_arn_in(partition: str, account_id: str, name: str) -> str:
    """The ARN of the role ``name`` (path ``/``) in ``account_id``, e.g. a tier C tenant's runner, seen from outside."""
    return f"arn:{partition}:iam::{account_id}:role/{name}"


def role_arn(settings: Settings, owner: str, role: str) -> str:
    """The ARN of an owner's role, from its deterministic name (naming.role_name, path ``/``).

    Policies name roles by these ARNs rather than by the role resources' ``arn`` outputs so that
    they are complete in a first preview, where the policy pack reads them; the resource that
    writes such a policy depends on the role explicitly (KMS, S3 and ECR reject a policy that
    names a principal that does not exist yet).
    """
    return role_arn_in(settings.partition, settings.account_id, naming.role_name(settings.environment, owner, role))


def regional_arn(settings: Settings, service: str, resource: str) -> str:
    """The ARN of a regional resource of this stack's account, e.g. ``regional_arn(s, "eks", "cluster/c")``."""
    return f"arn:{settings.partition}:{service}:{settings.region}:{settings.account_id}:{resource}"


def bucket_arn(settings: Settings, bucket: str) -> str:
    """An S3 bucket's ARN (bucket ARNs carry neither region nor account)."""
    return f"arn:{settings.partition}:s3:::{bucket}"


def service_principal(service: str) -> str:
    return f"{service}.amazonaws.com"


def regional_service(settings: Settings, service: str) -> str:
    """The regional endpoint name of a service, as ``kms:ViaService`` and regional principals use it."""
    return f"{service}.{settings.region}.amazonaws.com"


def principals(arns: Sequence[str]) -> str | list[str]:
    """An ``AWS`` principal value: a single ARN as a string, several as a sorted, de-duplicated list."""
    unique = sorted(set(arns))
    return unique[0] if len(unique) == 1 else unique
