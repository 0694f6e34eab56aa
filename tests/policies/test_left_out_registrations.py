"""ai-guardrails judges a registration that a targeted run leaves out in the run that creates it.

pulumi/pulumi pkg/resource/deploy/step_generator.go (v3.274.1), ``continueStepsFromImport``: a resource that
``--exclude``/``--target`` leaves out is still analysed, with Check stubbed to return its old inputs; one
that does not exist yet has none, so the pack receives no property at all, and ``NewSkippedCreateStep``
keeps it, empty, among what AnalyzeStack sees. Run 1 of a cluster stack (docs/deploy.md) is such a run
for every Kubernetes object and Pod Identity association; tests/infra/test_two_run_partition.py replays it
on the reference stacks.
"""

from __future__ import annotations

import inspect
import sys

import pulumi_aws as aws
from guardrails_cases import PACK

sys.path.insert(0, str(PACK))
from ai_guardrails.core import REQUIRED_INPUT_TYPES, Resource, Stack


def resource(type_: str, props: dict[str, object]) -> Resource:
    return Resource(type_, "r", f"urn:pulumi:s::p::{type_}::r", props)


def test_only_types_that_are_never_registered_empty_count_as_left_out() -> None:
    assert resource("kubernetes:core/v1:Namespace", {}).placeholder
    assert resource("aws:eks/podIdentityAssociation:PodIdentityAssociation", {}).placeholder
    assert not resource("kubernetes:core/v1:Namespace", {"apiVersion": "v1", "kind": "Namespace"}).placeholder
    # An AWS type without required inputs may be registered empty, and is then judged as it is.
    assert not resource("aws:ec2/launchTemplate:LaunchTemplate", {}).placeholder


def test_the_aws_types_counted_as_left_out_require_inputs_in_their_sdk() -> None:
    """What makes an empty registration of them impossible: their SDK's Args take required keyword arguments."""
    classes = {
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": aws.eks.AccessPolicyAssociationArgs,
        "aws:eks/podIdentityAssociation:PodIdentityAssociation": aws.eks.PodIdentityAssociationArgs,
    }
    assert set(classes) == set(REQUIRED_INPUT_TYPES)
    for token, args in classes.items():
        parameters = inspect.signature(args.__init__).parameters.values()
        required = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is inspect.Parameter.empty]
        assert "cluster_name" in required, token


def test_a_stack_view_leaves_them_out_and_still_knows_them() -> None:
    namespace = resource("kubernetes:core/v1:Namespace", {})
    key = resource("aws:kms/key:Key", {"enableKeyRotation": True})
    stack = Stack([namespace, key])
    assert stack.resources == [key]
    assert stack.of("kubernetes:core/v1:Namespace") == []
    assert stack.left_out("kubernetes:core/v1:Namespace") == [namespace]
