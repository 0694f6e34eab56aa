"""A stack policy that cannot decide during a first preview says so (issue 11, item 13).

pulumi-policy turns an ``UnknownValueError`` raised by a resource or a stack policy into an
advisory diagnostic "can't run policy '<policy>' from policy pack '<pack>@v<version>' during
preview: <type> value at .<path> can't be known during preview" (pulumi_policy/policy.py,
``_PolicyAnalyzerServicer.Analyze`` and ``AnalyzeStack``; the message from
pulumi_policy/proxy.py ``UnknownValueError``). ai-guardrails used to drop a stack check's undecided
outcomes, so a first preview passed them silently; now they reach the SDK like a resource
policy's. The blocking gate stays the preview: on ``up`` the engine runs stack policies only after
the steps have executed (pulumi/pulumi pkg/resource/deploy/deployment_executor.go (v3.274.1),
``Execute`` → ``stepGen.AnalyzeResources``; see docs/architecture.md),
so a value that is only known then can no longer stop the change.

The fixture: a bucket whose SSE algorithm, and a log group whose key, come from a value the cloud
computes (a VPC's ARN), with no key of the stack behind the log group's key.
"""

from __future__ import annotations

from functools import cache

import pulumi_aws as aws
import pytest
from guardrails_cases import ACCOUNT, PACK, STACK, tags

from preflight import Preview, preview_function

# The SDK's own version string for a Python pack: it always reports 0.0.1 and leaves the real one to
# PulumiPolicy.yaml, which the CLI reads (pulumi_policy/policy.py, PolicyPack.__init__).
PREFIX = "can't run policy '{policy}' from policy pack 'ai-guardrails@v0.0.1' during preview: "
# preflight attributes a stack policy's diagnostic without a URN to the stack, as the CLI does.
STACK_RESOURCE = f"secure-ai-platform-{STACK}"


def _program() -> None:
    computed = aws.ec2.Vpc("computed", cidr_block="10.0.0.0/16", tags=tags())
    bucket = aws.s3.Bucket("models", bucket=f"aip-dev-search-models-{ACCOUNT}-us-east-1", tags=tags())
    aws.s3.BucketServerSideEncryptionConfiguration(
        "models",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": computed.arn.apply(lambda _: "AES256")}}],
    )
    aws.cloudwatch.LogGroup("app-logs", kms_key_id=computed.arn, retention_in_days=30, tags=tags())


@cache
def preview(mode: str, exact: bool) -> Preview:
    return preview_function(_program, stack=STACK, mode=mode, policy_packs=[PACK], exact=exact)  # type: ignore[arg-type]


def _of(preview: Preview, policies: set[str]) -> set[tuple[str, str, str | None, str]]:
    return {
        (v.policy, v.enforcement_level, (v.urn or "").rsplit("::", 1)[-1] or None, v.message)
        for v in preview.violations
        if v.policy in policies
    }


@pytest.mark.parametrize("exact", [False, True], ids=["fast", "exact"])
def test_a_first_preview_advises_what_the_stack_policies_cannot_decide(exact: bool) -> None:
    result = preview("first-preview", exact)
    assert not result.errors, result.errors
    assert _of(result, {"s3-bucket-encrypted", "kms-key-partitioning"}) == {
        (
            "s3-bucket-encrypted",
            "advisory",
            STACK_RESOURCE,
            PREFIX.format(policy="s3-bucket-encrypted")
            + "string value at .models.(server-side encryption).sseAlgorithm can't be known during preview",
        ),
        (
            "kms-key-partitioning",
            "advisory",
            STACK_RESOURCE,
            PREFIX.format(policy="kms-key-partitioning")
            + "string value at .app-logs.kmsKeyId can't be known during preview",
        ),
    }


@pytest.mark.parametrize("exact", [False, True], ids=["fast", "exact"])
def test_once_the_values_are_known_the_stack_policy_decides(exact: bool) -> None:
    result = preview("update", exact)
    assert not result.errors, result.errors
    found = _of(result, {"s3-bucket-encrypted", "kms-key-partitioning"})
    # The SSE algorithm turned out to be SSE-S3: a mandatory violation, on the bucket. The log
    # group's key is a VPC ARN, no key of the stack: nothing the partitioning policy can judge.
    assert {(policy, level, urn) for policy, level, urn, _ in found} == {("s3-bucket-encrypted", "mandatory", "models")}
