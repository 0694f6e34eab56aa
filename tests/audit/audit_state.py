"""A ``pulumi stack export`` of the seeded environment, for the --state tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audit_seed import STACK, Environment, seeding_client

from audit.discovery import resource_type_of
from audit.model import STACK_TAG
from audit.state import TOKEN_TYPES

_TOKENS = {resource_type: token for token, resource_type in reversed(TOKEN_TYPES.items())}


# Outputs the checks compare with the live resource (what the stack configured).
_CONFIGURED: dict[str, dict[str, Any]] = {
    "eks:cluster": {
        "vpcConfig": {"endpointPublicAccess": False, "endpointPrivateAccess": True, "publicAccessCidrs": []}
    }
}


def _id(resource_type: str, arn: str) -> str:
    if resource_type == "s3:bucket":
        return arn.rsplit(":", 1)[-1]
    if resource_type == "ecr:repository":
        return arn.split(":repository/", 1)[1]
    return arn.rsplit("/", 1)[-1]


def export(env: Environment) -> dict[str, Any]:
    """What ``pulumi stack export`` holds for the seeded stack: every resource it tagged."""
    tagging = seeding_client(env.endpoint_url, "resourcegroupstaggingapi")
    arns = {
        mapping["ResourceARN"]
        for page in tagging.get_paginator("get_resources").paginate(TagFilters=[{"Key": STACK_TAG, "Values": [STACK]}])
        for mapping in page["ResourceTagMappingList"]
    }
    arns |= set(env.arns.values())
    resources = []
    for arn in sorted(arns):
        resource_type = resource_type_of(arn)
        token = _TOKENS.get(resource_type, f"aws:{resource_type.replace(':', '/')}:Resource")
        resources.append(
            {
                "urn": f"urn:pulumi:{STACK}::secure-ai-platform::{token}::{_id(resource_type, arn)}",
                "custom": True,
                "type": token,
                "id": _id(resource_type, arn),
                "outputs": {"arn": arn, **_CONFIGURED.get(resource_type, {})},
            }
        )
    return {"version": 3, "deployment": {"manifest": {"time": "2026-06-01T00:00:00Z"}, "resources": resources}}


def write_export(env: Environment, path: Path) -> Path:
    path.write_text(json.dumps(export(env), indent=2), encoding="utf-8")
    return path
