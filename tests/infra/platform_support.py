"""Shared helpers of the infra tests: settings, running a body through preflight, reading policies."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pulumi_aws as aws

from infra import naming
from infra.components.cluster import DEPLOY_RUNNER_ROLE
from infra.config import Settings, parse_settings
from infra.tags import PLATFORM
from preflight import Preview, ResourceRecord, preview_function
from preflight.model import Mode

ACCOUNT = "111122223333"
REGION = "us-east-1"


def roles(environment: str) -> dict[str, str]:
    prefix = f"arn:aws:iam::{ACCOUNT}"
    return {
        "platformAdmin": f"{prefix}:role/aip-{environment}-platform-platform-admin",
        "breakGlass": f"{prefix}:role/aip-{environment}-platform-break-glass",
        "deployer": f"{prefix}:role/aip-{environment}-platform-deployer",
        "ci": f"{prefix}:role/aip-{environment}-platform-ci",
        "tenantBoundary": f"{prefix}:policy/aip-{environment}-tenant-boundary",
    }


def state_backend(account: str = ACCOUNT, environment: str = "dev", region: str = REGION) -> dict[str, str]:
    """The bootstrap stack's outputs, as a cluster stack's ``stateBackend`` takes them."""
    key = f"arn:aws:kms:{region}:{account}:key"
    return {
        "bucket": f"aip-{environment}-platform-state-{account}-{region}",
        "stateKeyArn": f"{key}/0a0a0a0a-0000-4000-8000-000000000001",
        "secretsKeyArn": f"{key}/0a0a0a0a-0000-4000-8000-000000000002",
    }


def tenant(name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "name": name,
        "tier": "shared",
        "dataClassification": "internal",
        "owner": f"{name}-team@example.com",
        "costCenter": f"cc-{name}",
        "monthlyBudgetUsd": 500,
        **overrides,
    }


def settings(environment: str = "dev", **overrides: Any) -> Settings:
    raw: dict[str, Any] = {
        "environment": environment,
        "deployment": "shared-cluster",
        "region": REGION,
        "costCenter": "cc-platform",
        "contact": "ml-platform@example.com",
        "roles": roles(environment),
        "tenants": [tenant("search"), tenant("fraud")],
    }
    raw.update(copy.deepcopy(overrides))
    # The bootstrap stack of the stack's own region (the runner reaches it through the VPC's endpoints).
    raw.setdefault("stateBackend", state_backend(environment=environment, region=raw["region"]))
    return parse_settings(raw)


def run(body: Callable[[], None], settings: Settings, mode: Mode = "update") -> Preview:
    """Run ``body`` as a program of stack ``platform-<env>``; in update mode cloud values are known."""
    return preview_function(
        body,
        stack=f"platform-{settings.environment}",
        config={"secure-ai-platform:environment": settings.environment, "aws:region": settings.region},
        mode=mode,
    )


def document(record: ResourceRecord, key: str = "policy") -> dict[str, Any]:
    value = record.inputs[key]
    assert isinstance(value, str), f"{record.urn}: {key} is not a known JSON string: {value!r}"
    parsed: dict[str, Any] = json.loads(value)
    return parsed


def statements(record: ResourceRecord, key: str = "policy") -> dict[str, dict[str, Any]]:
    """A policy's statements by Sid (every statement the platform writes has one)."""
    doc = document(record, key)
    assert doc["Version"] == "2012-10-17", record.urn
    by_sid = {statement["Sid"]: statement for statement in doc["Statement"]}
    assert len(by_sid) == len(doc["Statement"]), f"{record.urn}: duplicate or missing Sids"
    return by_sid


def output(preview: Preview, type_: str, name: str, key: str) -> Any:
    return preview.get(type_, name).outputs[key]


def dependency_records(preview: Preview, record: ResourceRecord, prop: str) -> list[ResourceRecord]:
    return [preview.by_urn(urn) for urn in record.property_dependencies.get(prop, [])]


def walk_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from walk_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_strings(item)


def deploy_runner_role(settings: Settings, owner: str | None = None) -> aws.iam.Role:
    """A stand-in for the deploy runner's role (infra.components.deploy_runner), by its real name.

    For component tests of the cluster, which gives this role its cluster-admin access entry; call it
    inside a program body.
    """
    return aws.iam.Role(
        "deploy-runner-role",
        name=naming.role_name(settings.environment, owner or PLATFORM, DEPLOY_RUNNER_ROLE),
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "codebuild.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
        permissions_boundary=settings.required_roles.tenant_boundary,
    )
