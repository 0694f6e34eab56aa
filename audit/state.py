"""A stack's Pulumi state (``pulumi stack export``), to tell unmanaged and missing resources.

A resource that carries the stack's tag but is not in its state is unmanaged (made or copied by
hand); a resource of an audited type that the state holds but discovery did not find no longer
exists (or lost its tag).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from audit.model import (
    ECR_REPOSITORY,
    EKS_CLUSTER,
    INSTANCE,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    S3_BUCKET,
    SECURITY_GROUP,
    TRAIL,
    VPC,
)

# Pulumi resource tokens of the audited types (and their aliases).
TOKEN_TYPES = {
    "aws:kms/key:Key": KMS_KEY,
    "aws:s3/bucket:Bucket": S3_BUCKET,
    "aws:s3/bucketV2:BucketV2": S3_BUCKET,
    "aws:ecr/repository:Repository": ECR_REPOSITORY,
    "aws:eks/cluster:Cluster": EKS_CLUSTER,
    "aws:ec2/launchTemplate:LaunchTemplate": LAUNCH_TEMPLATE,
    "aws:ec2/instance:Instance": INSTANCE,
    "aws:ec2/securityGroup:SecurityGroup": SECURITY_GROUP,
    "aws:ec2/vpc:Vpc": VPC,
    "aws:cloudtrail/trail:Trail": TRAIL,
}


@dataclass(frozen=True)
class StateResource:
    """One cloud resource of the state."""

    urn: str
    type: str | None  # the audit's resource type, when it is an audited one
    id: str
    arn: str | None
    # What the stack last recorded (Pulumi outputs, camelCase): what it configured.
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StackState:
    """The cloud resources a stack's state holds."""

    resources: tuple[StateResource, ...]

    @classmethod
    def load(cls, path: str | Path) -> StackState:
        return cls.parse(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def parse(cls, document: dict[str, Any]) -> StackState:
        deployment = document.get("deployment", document)
        found = []
        for resource in deployment.get("resources") or []:
            token = str(resource.get("type", ""))
            if not resource.get("custom", True) or token.startswith("pulumi:") or not resource.get("id"):
                continue
            outputs = resource.get("outputs") or {}
            arn = outputs.get("arn")
            found.append(
                StateResource(
                    urn=str(resource.get("urn", "")),
                    type=TOKEN_TYPES.get(token),
                    id=str(resource["id"]),
                    arn=arn if isinstance(arn, str) else None,
                    outputs=outputs,
                )
            )
        return cls(tuple(found))

    @cached_property
    def _arns(self) -> frozenset[str]:
        return frozenset(held.arn for held in self.resources if held.arn)

    @cached_property
    def _ids(self) -> frozenset[tuple[str | None, str]]:
        return frozenset((held.type, held.id) for held in self.resources)

    def holds(self, resource_type: str, arn: str, resource_id: str) -> bool:
        return arn in self._arns or (resource_type, resource_id) in self._ids

    def outputs_of(self, resource_type: str, arn: str, resource_id: str) -> Mapping[str, Any] | None:
        """What the state recorded for a resource, if it holds it."""
        for held in self.resources:
            if held.arn == arn or (held.type == resource_type and held.id == resource_id):
                return held.outputs
        return None
