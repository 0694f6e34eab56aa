"""Find the stack's deployed resources.

By the ``aiplatform:stack`` tag, twice over: the Resource Groups Tagging API (every tagged type it
covers) and each audited service's own listing, filtered by the tag (the Tagging API does not cover
every resource type in every region, nor does an emulator). Untagged resources that belong to a
cluster (EKS access entries, pod identity associations) are found by the EKS checks through their
cluster. Every listing is paginated. A listing that fails leaves a gap: the checks of that type are
reported as not evaluated for the resources it could not see.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from audit.api import ApiError
from audit.context import AuditContext
from audit.identity import Arn, tag_map
from audit.model import (
    ECR_REPOSITORY,
    EKS_CLUSTER,
    INSTANCE,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    S3_BUCKET,
    SECURITY_GROUP,
    STACK,
    STACK_TAG,
    TAGGED,
    TRAIL,
    VPC,
    Resource,
)

Known = dict[str, dict[str, str]]
# What a listing says of one resource: its ARN, its id, and its description (when it has one).
Listed = tuple[str, str, dict[str, Any]]
Source = Callable[[AuditContext, Known], list[Resource]]
_SOURCES: dict[str, Source] = {}
# Instances in these states can run (again) with what they were launched with.
_LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped"]
# ListTags takes at most this many trail ARNs a call.
_TRAIL_TAGS_BATCH = 20


@dataclass(frozen=True)
class Gap:
    """A listing that failed: checks on ``types`` are not evaluated for what it would have found."""

    types: tuple[str, ...]
    resource: str
    reason: str

    def covers(self, resource_types: tuple[str, ...]) -> bool:
        """Whether a check on ``resource_types`` missed resources because of this gap: the Tagging
        API's gap covers every type that no service listing finds."""
        return any(
            kind in self.types or (TAGGED in self.types and kind not in _SOURCES and kind != STACK)
            for kind in resource_types
        )


@dataclass
class Inventory:
    """What discovery found."""

    # Resources of the audited types, each found by its service's listing.
    by_type: dict[str, list[Resource]] = field(default_factory=dict)
    # Every resource carrying the stack's tag, whatever its type.
    tagged: list[Resource] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)

    @cached_property
    def by_arn(self) -> dict[str, Resource]:
        return {resource.arn: resource for resource in self.tagged}

    def of_type(self, resource_type: str) -> list[Resource]:
        """The resources of a type: from its service's listing where there is one (nothing when that
        listing failed: a gap says so), else those the Tagging API returned."""
        if resource_type in _SOURCES:
            return self.by_type.get(resource_type, [])
        return [resource for resource in self.tagged if resource.type == resource_type]


def source(resource_type: str) -> Callable[[Source], Source]:
    def register(function: Source) -> Source:
        _SOURCES[resource_type] = function
        return function

    return register


def resource_type_of(arn: str) -> str:
    """``service:type`` of an ARN, as the Tagging API's resource type filters name it."""
    parsed = Arn.parse(arn)
    if parsed is None:
        return "unknown"
    if parsed.service == "s3" and "/" not in parsed.resource and ":" not in parsed.resource:
        return S3_BUCKET
    kind = parsed.resource.replace(":", "/").split("/")[0]
    return f"{parsed.service}:{kind}"


def _stack_tag_filter(ctx: AuditContext) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{STACK_TAG}", "Values": [ctx.stack]}]


def _in_stack(ctx: AuditContext, tags: dict[str, str]) -> bool:
    return tags.get(STACK_TAG) == ctx.stack


def discover(ctx: AuditContext, pool: Executor) -> Inventory:
    """Everything the stack's tag finds; the service listings run concurrently on ``pool``."""
    inventory = Inventory()
    known: Known = {}
    try:
        for mapping in ctx.api.items(
            "resourcegroupstaggingapi",
            "GetResources",
            "ResourceTagMappingList",
            TagFilters=[{"Key": STACK_TAG, "Values": [ctx.stack]}],
        ):
            known[mapping["ResourceARN"]] = tag_map(mapping.get("Tags"))
    except ApiError as error:
        inventory.gaps.append(Gap((TAGGED,), ctx.arn("tag", "*"), error.reason))

    def listing(resource_type: str, find: Source) -> list[Resource] | Gap:
        try:
            return find(ctx, known)
        except ApiError as error:
            return Gap((resource_type,), _wildcard(ctx, resource_type), error.reason)

    for resource_type, found in zip(_SOURCES, pool.map(listing, _SOURCES, _SOURCES.values()), strict=True):
        if isinstance(found, Gap):
            inventory.gaps.append(found)
        else:
            inventory.by_type[resource_type] = found
    typed = {resource.arn: resource for found in inventory.by_type.values() for resource in found}
    generic = [
        Resource(resource_type_of(arn), arn, arn.rsplit("/", 1)[-1], tags)
        for arn, tags in known.items()
        if arn not in typed
    ]
    inventory.tagged = sorted([*typed.values(), *generic], key=lambda resource: resource.arn)
    return inventory


def _wildcard(ctx: AuditContext, resource_type: str) -> str:
    service, kind = resource_type.split(":")
    if service == "s3":
        return f"arn:{ctx.partition}:s3:::*"
    return ctx.arn(service, f"{kind}/*", region=service != "iam")


# Tags of one resource from its own service, for what the Tagging API did not return.
def _key_tags(ctx: AuditContext, arn: str) -> dict[str, str]:
    return tag_map(ctx.api.items("kms", "ListResourceTags", "Tags", KeyId=arn))


def _bucket_tags(ctx: AuditContext, name: str) -> dict[str, str]:
    tagging = ctx.api.call("s3", "GetBucketTagging", absent=("NoSuchTagSet",), Bucket=name)
    return tag_map((tagging or {}).get("TagSet"))


def _repository_tags(ctx: AuditContext, arn: str) -> dict[str, str]:
    return tag_map((ctx.api.call("ecr", "ListTagsForResource", resourceArn=arn) or {}).get("tags"))


def _in_stack_by_tags(
    ctx: AuditContext,
    known: Known,
    resource_type: str,
    listed: list[Listed],
    read_tags: Callable[[str, str], dict[str, str]],
) -> list[Resource]:
    """The listed (ARN, id, description) that carry the stack's tag, with tags from the Tagging
    API's answer or, for what it did not return, read from the service."""
    found = []
    for arn, resource_id, data in listed:
        tags = known[arn] if arn in known else read_tags(arn, resource_id)
        if _in_stack(ctx, tags):
            found.append(Resource(resource_type, arn, resource_id, tags, data))
    return found


@source(KMS_KEY)
def _keys(ctx: AuditContext, known: Known) -> list[Resource]:
    listed: list[Listed] = [(key["KeyArn"], key["KeyId"], {}) for key in ctx.api.items("kms", "ListKeys", "Keys")]
    return _in_stack_by_tags(ctx, known, KMS_KEY, listed, lambda arn, _: _key_tags(ctx, arn))


@source(S3_BUCKET)
def _buckets(ctx: AuditContext, known: Known) -> list[Resource]:
    buckets = ctx.api.items("s3", "ListBuckets", "Buckets", BucketRegion=ctx.region)
    listed: list[Listed] = [(f"arn:{ctx.partition}:s3:::{bucket['Name']}", bucket["Name"], {}) for bucket in buckets]
    return _in_stack_by_tags(ctx, known, S3_BUCKET, listed, lambda _, name: _bucket_tags(ctx, name))


@source(ECR_REPOSITORY)
def _repositories(ctx: AuditContext, known: Known) -> list[Resource]:
    repositories = ctx.api.items("ecr", "DescribeRepositories", "repositories")
    listed = [(item["repositoryArn"], item["repositoryName"], item) for item in repositories]
    return _in_stack_by_tags(ctx, known, ECR_REPOSITORY, listed, lambda arn, _: _repository_tags(ctx, arn))


@source(EKS_CLUSTER)
def _clusters(ctx: AuditContext, known: Known) -> list[Resource]:
    found = []
    for name in ctx.api.items("eks", "ListClusters", "clusters"):
        cluster = (ctx.api.call("eks", "DescribeCluster", name=name) or {})["cluster"]
        tags = tag_map(cluster.get("tags"))
        if _in_stack(ctx, tags):
            found.append(Resource(EKS_CLUSTER, cluster["arn"], name, tags, cluster))
    return found


def _ec2_resource(ctx: AuditContext, resource_type: str, item: dict[str, Any], id_field: str) -> Resource:
    kind = resource_type.split(":")[1]
    return Resource(
        resource_type, ctx.arn("ec2", f"{kind}/{item[id_field]}"), item[id_field], tag_map(item.get("Tags")), item
    )


def _ec2_listing(resource_type: str, operation: str, result_key: str, id_field: str) -> Source:
    """An EC2 Describe call filtered on the stack tag (the filter runs server-side)."""

    def find(ctx: AuditContext, known: Known) -> list[Resource]:
        items = ctx.api.items("ec2", operation, result_key, Filters=_stack_tag_filter(ctx))
        return [_ec2_resource(ctx, resource_type, item, id_field) for item in items]

    return find


source(VPC)(_ec2_listing(VPC, "DescribeVpcs", "Vpcs", "VpcId"))
source(SECURITY_GROUP)(_ec2_listing(SECURITY_GROUP, "DescribeSecurityGroups", "SecurityGroups", "GroupId"))
source(LAUNCH_TEMPLATE)(_ec2_listing(LAUNCH_TEMPLATE, "DescribeLaunchTemplates", "LaunchTemplates", "LaunchTemplateId"))


@source(INSTANCE)
def _instances(ctx: AuditContext, known: Known) -> list[Resource]:
    filters = [*_stack_tag_filter(ctx), {"Name": "instance-state-name", "Values": _LIVE_INSTANCE_STATES}]
    return [
        _ec2_resource(ctx, INSTANCE, instance, "InstanceId")
        for reservation in ctx.api.items("ec2", "DescribeInstances", "Reservations", Filters=filters)
        for instance in reservation.get("Instances", [])
    ]


@source(TRAIL)
def _trails(ctx: AuditContext, known: Known) -> list[Resource]:
    # A multi-region trail is listed in every region; only its home region can read its tags.
    trails = {
        trail["TrailARN"]: trail
        for trail in ctx.api.items("cloudtrail", "ListTrails", "Trails")
        if trail.get("HomeRegion") == ctx.region
    }
    unknown = sorted(arn for arn in trails if arn not in known)
    tags = {arn: known[arn] for arn in trails if arn in known}
    for start in range(0, len(unknown), _TRAIL_TAGS_BATCH):
        batch = unknown[start : start + _TRAIL_TAGS_BATCH]
        for listed in ctx.api.items("cloudtrail", "ListTags", "ResourceTagList", ResourceIdList=batch):
            tags[listed["ResourceId"]] = tag_map(listed.get("TagsList"))
    return [
        Resource(TRAIL, arn, trail["Name"], tags.get(arn, {}), trail)
        for arn, trail in sorted(trails.items())
        if _in_stack(ctx, tags.get(arn, {}))
    ]
