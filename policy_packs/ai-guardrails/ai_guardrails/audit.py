"""Audit and governance (CONTROLS H): the trail, data events, log groups, standard tags, classification."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from aiplatform_standards import classification_rank, taggable_aws_types

from ai_guardrails.core import (
    HIGH,
    MEDIUM,
    Config,
    Finding,
    Outcome,
    Resource,
    Stack,
    Undecided,
    expect,
    number,
    resource_policy,
    shown,
    stack_policy,
    string_list,
)
from ai_guardrails.tags import (
    CLASSIFICATION,
    ENVIRONMENT,
    EXPIRES_AT,
    PLATFORM_OWNER,
    PLATFORM_TIER,
    STACK,
    STANDARDS,
    TAG_STANDARD,
    TENANT,
    TIER,
    classification,
    effective_tags,
    owner,
    tier,
)
from ai_guardrails.values import as_bool, as_number, get, is_unknown, items, strings

TRAIL = "aws:cloudtrail/trail:Trail"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
_S3_OBJECT = "AWS::S3::Object"
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def is_taggable(token: str) -> bool:
    return token in taggable_aws_types()


@resource_policy(
    "cloudtrail-hardened",
    description=(
        "The trail is multi-region, includes global events, validates log files, is KMS-encrypted and feeds "
        "CloudWatch Logs."
    ),
    controls=["AUD-1"],
    severity=HIGH,
    remediation=(
        "Set isMultiRegionTrail, includeGlobalServiceEvents and enableLogFileValidation to True, kmsKeyId to the "
        "logs key and cloudWatchLogsGroupArn."
    ),
    tokens=[TRAIL],
)
def cloudtrail_hardened(r: Resource, config: Config) -> Iterator[Outcome]:
    """`isMultiRegionTrail` (absent = false), `includeGlobalServiceEvents` (absent = true), `enableLogFileValidation`
    (absent = false) true; `kmsKeyId` and `cloudWatchLogsGroupArn` set.
    """
    for flag, default in (
        ("isMultiRegionTrail", False),
        ("includeGlobalServiceEvents", True),
        ("enableLogFileValidation", False),
    ):
        yield from expect(
            as_bool(r.get(flag)),
            flag,
            (True, None) if default else (True,),
            "true",
            f"set {flag}=True",
            absent=str(default).lower(),
        )
    for prop in ("kmsKeyId", "cloudWatchLogsGroupArn"):
        if r.get(prop) in (None, ""):
            yield Finding(prop, "is absent", "set", f"set {prop}")


def _selects_s3_objects(r: Resource) -> bool:
    for selector in items(r.get("eventSelectors")):
        if any(get(d, "type") == _S3_OBJECT for d in items(get(selector, "dataResources"))):
            return True
    for selector in items(r.get("advancedEventSelectors")):
        for field in items(get(selector, "fieldSelectors")):
            if get(field, "field") == "resources.type" and _S3_OBJECT in strings(get(field, "equals")):
                return True
    return False


@resource_policy(
    "cloudtrail-data-events",
    description="The trail records S3 object data events for the model and data buckets.",
    controls=["AUD-2"],
    severity=MEDIUM,
    remediation=(
        "Add an advanced event selector with resources.type = AWS::S3::Object and resources.ARN startsWith the "
        "platform's bucket ARNs."
    ),
    tokens=[TRAIL],
)
def cloudtrail_data_events(r: Resource, config: Config) -> Iterator[Outcome]:
    """`eventSelectors[].dataResources[].type` or an advanced selector's `resources.type` is `AWS::S3::Object`."""
    if is_unknown(r.get("eventSelectors")) or is_unknown(r.get("advancedEventSelectors")):
        yield Undecided("advancedEventSelectors")
    elif not _selects_s3_objects(r):
        yield Finding(
            "advancedEventSelectors",
            "select no S3 object data events",
            f"a selector on {_S3_OBJECT}",
            "add an S3 data event selector",
        )


@resource_policy(
    "log-group-encrypted-retained",
    description="Log groups are encrypted with the logs key and expire after a set retention.",
    controls=["AUD-3"],
    severity=MEDIUM,
    remediation="Set kmsKeyId to the owner's logs key and retentionInDays to at least the minimum.",
    tokens=[LOG_GROUP],
    config={
        "minRetentionDays": {
            "type": "integer",
            "minimum": 1,
            "default": 365,
            "description": "Shortest retention accepted (days).",
        },
    },
)
def log_group_encrypted_retained(r: Resource, config: Config) -> Iterator[Outcome]:
    """`kmsKeyId` set; `retentionInDays` set (absent = never expire) and ≥ `minRetentionDays`."""
    if r.get("kmsKeyId") in (None, ""):
        yield Finding("kmsKeyId", "is absent", "the owner's logs key", "set kmsKeyId")
    days = as_number(r.get("retentionInDays"))
    if is_unknown(days):
        yield Undecided("retentionInDays")
    elif days is None or days == 0:
        yield Finding(
            "retentionInDays",
            "is absent (logs never expire)",
            f"≥ {number(config['minRetentionDays'])}",
            "set retentionInDays",
        )
    elif days < config["minRetentionDays"]:
        yield Finding(
            "retentionInDays",
            "is below the minimum",
            f"≥ {number(config['minRetentionDays'])}",
            "raise retentionInDays",
        )


_TIERS = [*STANDARDS["tiers"], PLATFORM_TIER]


def _tag_value_problem(key: str, value: str, stack: str) -> str | None:
    if key == ENVIRONMENT and value not in STANDARDS["environments"]:
        return "is not an environment"
    if key == TIER and value not in _TIERS:
        return "is not a tier"
    if key == CLASSIFICATION and value not in STANDARDS["classifications"]:
        return "is not a classification"
    if key == TENANT and not _DNS_LABEL.match(value):
        return "is not a DNS label"
    if key == STACK and stack and value != stack:
        return "is not this stack's name"
    if key == EXPIRES_AT:
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return "is not a YYYY-MM-DD date"
    return None


@resource_policy(
    "standard-tags",
    description="Every taggable AWS resource carries the platform's standard tags with valid values.",
    controls=["AUD-4"],
    severity=MEDIUM,
    remediation=(
        "Create resources through the program, whose transform adds the standard tags; never override them with "
        "invalid values."
    ),
    tokens=[],
    tokens_label="every taggable aws:* token (aws_taggable_types.json)",
    predicate=is_taggable,
    config={"requiredTags": string_list(TAG_STANDARD["required"], "Tag keys every taggable resource carries.")},
)
def standard_tags(r: Resource, config: Config) -> Iterator[Outcome]:
    """`tags` holds every `requiredTags` key; environment, tier, classification, tenant, stack (= this stack) and
    expires-at values are valid.
    """
    tags = effective_tags(r.props, r.type)
    if is_unknown(tags):
        yield Undecided("tags")
        return
    for key in config["requiredTags"]:
        value = tags.get(key)
        if value is None:
            yield Finding(f"tags.{key}", "is absent", "the standard value", "let the program's tag transform set it")
    for key, value in tags.items():
        if isinstance(value, str) and key.startswith(TAG_STANDARD["prefix"]):
            problem = _tag_value_problem(key, value, config.stack)
            if problem:
                yield Finding(f"tags.{key}", problem, "a value of the tag standard", "fix the tag value")


@resource_policy(
    "classification-fits-tier",
    description="A tenant resource's data classification is allowed in its tier.",
    controls=["AUD-5"],
    severity=HIGH,
    remediation=(
        "Move the tenant to a tier that admits its classification (confidential/restricted: dedicated-pool or "
        "single-tenant; regulated: single-tenant)."
    ),
    tokens=[],
    tokens_label="every taggable aws:* token and every kubernetes:* object",
    predicate=lambda token: is_taggable(token) or token.startswith("kubernetes:"),
    config={
        "classificationTiers": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "default": STANDARDS["classification_tiers"],
            "description": "Tiers allowed for each data classification.",
        }
    },
)
def classification_fits_tier(r: Resource, config: Config) -> Iterator[Outcome]:
    """Resources whose tenant is not `platform`: the `aiplatform:data-classification` tag (or label) is allowed in the
    `aiplatform:tier`.
    """
    tenant = owner(r.props, r.type)
    if tenant is None or tenant == PLATFORM_OWNER:
        return
    level, tier_name = classification(r.props, r.type), tier(r.props, r.type)
    if level is None or tier_name is None:
        return
    allowed = config["classificationTiers"].get(level, [])
    if tier_name not in allowed:
        yield Finding(
            "tags.aiplatform:data-classification",
            f"is {shown(level, STANDARDS['classifications'])} in tier {shown(tier_name, _TIERS)}",
            f"a tier in {', '.join(allowed) or '(none)'}",
            "move the tenant to a stronger tier or lower the classification",
        )


def _rank(value: Any) -> int:
    try:
        return classification_rank(value)
    except ValueError:
        return -1


@stack_policy(
    "platform-classification-covers-tenants",
    description="Platform resources carry at least the highest data classification of the tenants they serve.",
    controls=["AUD-5"],
    severity=HIGH,
    remediation=(
        "Tag platform resources with the highest classification among the stack's tenants (the program's platform "
        "scope does this)."
    ),
    tokens=["aws:*", "kubernetes:*"],
)
def platform_classification_covers_tenants(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Resources tagged tenant `platform` have a classification rank ≥ the highest of the stack's tenant resources."""
    highest = max(
        (
            _rank(classification(r.props, r.type))
            for r in stack.resources
            if owner(r.props, r.type) not in (None, PLATFORM_OWNER)
        ),
        default=-1,
    )
    if highest < 0:
        return
    expected = STANDARDS["classifications"][highest]
    for resource in stack.resources:
        if owner(resource.props, resource.type) != PLATFORM_OWNER:
            continue
        level = classification(resource.props, resource.type)
        if level is not None and _rank(level) < highest:
            yield Finding(
                "tags.aiplatform:data-classification",
                f"is {shown(level, STANDARDS['classifications'])}",
                f"'{expected}' or higher",
                "tag platform resources with the highest tenant classification",
                resource,
            )


@stack_policy(
    "standard-tags-consistent",
    description="Standard tags agree across the stack: one environment, and one tier and classification per tenant.",
    controls=["AUD-4", "AUD-5"],
    severity=MEDIUM,
    remediation="Let the program's transforms tag every resource from the stack config; do not hand-tag resources.",
    tokens=["aws:*", "kubernetes:*"],
)
def standard_tags_consistent(stack: Stack, config: Config) -> Iterator[Outcome]:
    """All `aiplatform:environment` tags are equal; each tenant's resources share one `aiplatform:tier` and one
    classification.
    """
    groups: dict[tuple[str, str], list[tuple[str, Resource]]] = {}
    for resource in stack.resources:
        tags = effective_tags(resource.props, resource.type)
        if not isinstance(tags, dict):
            continue
        env = tags.get(ENVIRONMENT)
        if isinstance(env, str):
            groups.setdefault(("", ENVIRONMENT), []).append((env, resource))
        tenant = tags.get(TENANT)
        if isinstance(tenant, str) and tenant != PLATFORM_OWNER:
            for key in (TIER, CLASSIFICATION):
                value = tags.get(key)
                if isinstance(value, str):
                    groups.setdefault((tenant, key), []).append((value, resource))
    for (tenant, key), members in groups.items():
        # The value most resources carry is the tenant's (or the stack's); the others disagree.
        majority = Counter(value for value, _ in members).most_common(1)[0][0]
        for value, resource in members:
            if value == majority:
                continue
            scope = f"tenant {shown(tenant, identifier=True)}" if tenant else "the stack"
            yield Finding(
                f"tags.{key}",
                f"disagrees with the other resources of {scope}",
                f"{shown(majority, identifier=True)}, as on the rest",
                "tag from the stack config through the program's transform",
                resource,
            )
