"""The two runs of a cluster stack partition it, as the Pulumi CLI computes them (issue 11, item 4; docs/deploy.md).

Run 1 (CI, outside the VPC): ``pulumi up --exclude '**pulumi:providers:kubernetes::**' --exclude-dependents``.
Run 2 (the deploy runner, inside the VPC): ``pulumi up --target '**pulumi:providers:kubernetes::**'
--target-dependents``. Both sets are computed here from preflight's resource graph of every cluster
reference stack, with the CLI's rules, read in pulumi/pulumi v3.274.1:

- pkg/resource/deploy/deployment.go, ``NewUrnTargets``: an argument containing ``*`` is a glob;
  ``UrnTargets.getMatcher``: the glob is split on ``**`` (joined back as ``.*``), each piece on ``*``
  (joined as ``[^:]*``), every piece quoted, and the whole anchored ``^…$``; ``Contains`` matches
  literals, then globs.
- pkg/resource/deploy/step_generator.go: ``isExcludedFromUpdate`` / ``isTargetedForUpdate``: a
  resource is excluded (targeted) when ``Excludes`` (``Targets``) contains its URN, or, with
  ``--exclude-dependents`` (``--target-dependents``), when ``excludesActual`` (``targetsActual``),
  which starts as a clone of the flags' set (``newStepGenerator``), contains its provider's URN or
  any URN of ``GetAllDependencies``. ``recordActualTargeting`` adds each resource so decided, in
  registration order (topological), so dependents propagate transitively. Providers and the root
  stack are implicitly targeted in every run (``continueStepsFromImport``: ``isImplicitlyTargetedResource``)
  and so never join the actual sets through a dependency.
- pkg/resource/state.go, ``State.GetAllDependencies``: the parent, ``Dependencies``, every property
  dependency, ``DeletedWith`` and ``ReplaceWith``, plus the provider reference.

preflight records parents, dependencies, property dependencies, ``deleted_with`` and providers; it does
not record ``replace_with``, so a test below proves the program never sets it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import pytest
from google.protobuf import struct_pb2

from infra.components import deploy_runner
from infra.components.network import GATEWAY_ENDPOINTS, INTERFACE_ENDPOINTS
from preflight import Preview, ResourceRecord, preview_program
from preflight.policy import evaluate_policies
from preflight.project import find_project, load_stack_config

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_STACKS = ("platform-dev", "platform-prod", "tenant-clinical-prod")
STACK_TYPE = "pulumi:pulumi:Stack"
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
# The AWS API each AWS resource of run 2 calls, by the provider's module, and the VPC endpoint that serves it.
ENDPOINT_OF_MODULE = {"eks": "eks"}


def glob_matcher(glob: str) -> re.Pattern[str]:
    """``UrnTargets.getMatcher`` (pkg/resource/deploy/deployment.go, v3.274.1), in Python's regex syntax.

    Go's ``regexp.QuoteMeta`` and Python's ``re.escape`` both quote every metacharacter; ``\\Z`` is Go's
    ``$`` without the multi-line flag (the end of the text, never before a final newline).
    """
    segments = ["[^:]*".join(re.escape(part) for part in segment.split("*")) for segment in glob.split("**")]
    return re.compile("^" + ".*".join(segments) + r"\Z")


class UrnSet:
    """``UrnTargets``: literals plus globs; ``contains`` is ``UrnTargets.Contains``."""

    def __init__(self, urns_or_globs: Iterable[str]) -> None:
        self.literals: set[str] = set()
        self.globs: list[re.Pattern[str]] = []
        for value in urns_or_globs:
            if "*" in value:
                self.globs.append(glob_matcher(value))
            else:
                self.literals.add(value)

    def contains(self, urn: str) -> bool:
        return urn in self.literals or any(glob.match(urn) for glob in self.globs)


def all_dependencies(record: ResourceRecord) -> list[str]:
    """``State.GetAllDependencies`` without the provider (pkg/resource/state.go)."""
    found = [record.parent] if record.parent else []
    found += record.dependencies
    found += [urn for urns in record.property_dependencies.values() for urn in urns]
    if record.options.get("deleted_with"):
        found.append(record.options["deleted_with"])
    return [urn for urn in found if urn]


def implicitly_targeted(record: ResourceRecord) -> bool:
    return record.is_provider or record.type == STACK_TYPE


def actual_set(preview: Preview, flag_values: Iterable[str]) -> set[str]:
    """The resources ``--exclude … --exclude-dependents`` excludes (or ``--target … --target-dependents``
    targets): the same computation, over ``excludesActual`` or ``targetsActual``."""
    actual = UrnSet(flag_values)
    decided: set[str] = set()
    for record in preview.resources:  # registration order, as the step generator sees them
        if implicitly_targeted(record):
            continue
        provider = record.provider
        if (
            actual.contains(record.urn)
            or (provider is not None and actual.contains(provider))
            or any(actual.contains(dep) for dep in all_dependencies(record))
        ):
            actual.literals.add(record.urn)
            decided.add(record.urn)
    return decided


@cache
def graph(stack: str) -> Preview:
    return preview_program(ROOT, stack, mode="update")


def ancestry(preview: Preview, record: ResourceRecord) -> Iterator[ResourceRecord]:
    """Everything a resource needs, transitively: parents, dependencies of every kind, providers."""
    seen: set[str] = set()
    pending = [record.urn]
    while pending:
        current = preview.by_urn(pending.pop())
        for urn in [*all_dependencies(current), *([current.provider] if current.provider else [])]:
            if urn not in seen:
                seen.add(urn)
                pending.append(urn)
                yield preview.by_urn(urn)


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_registration_order_is_topological(stack: str) -> None:
    """The CLI decides dependents in one pass because dependencies come first; so does ``actual_set``."""
    preview = graph(stack)
    position = {record.urn: index for index, record in enumerate(preview.resources)}
    for index, record in enumerate(preview.resources):
        for urn in [*all_dependencies(record), *([record.provider] if record.provider else [])]:
            assert position[urn] < index, (record.urn, urn)


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_the_runs_partition_the_stack(stack: str) -> None:
    preview = graph(stack)
    glob = deploy_runner.KUBERNETES_PROVIDERS
    run_1_excludes = actual_set(preview, [glob])
    run_2_targets = actual_set(preview, [glob])
    # The same rule from the same glob: what run 1 leaves out is exactly what run 2 does.
    assert run_1_excludes == run_2_targets
    every = {record.urn for record in preview.resources if not implicitly_targeted(record)}
    run_1 = every - run_1_excludes
    assert run_1 | run_2_targets == every
    assert not run_1 & run_2_targets
    kubernetes = {record.urn for record in preview.resources if record.type.startswith("kubernetes:")}
    assert kubernetes, stack
    assert kubernetes <= run_2_targets


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_nothing_in_run_1_needs_a_kubernetes_provider(stack: str) -> None:
    """Run 1 reaches only public AWS APIs: no resource of it has a Kubernetes provider anywhere in what it needs."""
    preview = graph(stack)
    inside = actual_set(preview, [deploy_runner.KUBERNETES_PROVIDERS])
    for record in preview.resources:
        if record.urn in inside or implicitly_targeted(record):
            continue
        assert not record.type.startswith("kubernetes:"), record.urn
        needs = [needed.type for needed in ancestry(preview, record)]
        assert KUBERNETES_PROVIDER not in needs, record.urn


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_the_runner_and_everything_it_needs_come_from_run_1(stack: str) -> None:
    preview = graph(stack)
    inside = actual_set(preview, [deploy_runner.KUBERNETES_PROVIDERS])
    [runner] = preview.by_type(deploy_runner.TYPE)
    runner_resources = [record for record in preview.resources if runner in preview.ancestors(record)]
    admission = [
        record
        for record in preview.resources
        if record.type.startswith("aws:eks/access") and record.name.split("-access-")[-1].startswith("deploy-runner")
    ]
    assert len(admission) == 2  # the runner's access entry and its cluster-admin association
    endpoints = preview.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    [cluster] = preview.by_type("aws:eks/cluster:Cluster")
    needed = [runner, *runner_resources, *admission, *endpoints, cluster]
    for record in list(needed):
        needed.extend(ancestry(preview, record))
    assert {record.type for record in runner_resources} >= {"aws:codebuild/project:Project", "aws:iam/role:Role"}
    assert not {record.urn for record in needed} & inside


def expected_pod_identities(preview: Preview) -> set[str]:
    """One Pod Identity association per tenant: the one AWS resource that depends on a Kubernetes object."""
    tenants = preview.config["secure-ai-platform:tenants"]
    return {f"{tenant['name']}-space-pod-identity" for tenant in tenants}


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_the_aws_resources_of_run_2_are_the_pod_identity_associations_behind_a_vpc_endpoint(stack: str) -> None:
    preview = graph(stack)
    inside = actual_set(preview, [deploy_runner.KUBERNETES_PROVIDERS])
    aws = [preview.by_urn(urn) for urn in inside if preview.by_urn(urn).type.startswith("aws:")]
    assert {(record.type, record.name) for record in aws} == {
        (POD_IDENTITY, name) for name in expected_pod_identities(preview)
    }
    services = {
        record.inputs["serviceName"].removeprefix(f"com.amazonaws.{preview.config['aws:region']}.")
        for record in preview.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    }
    assert services == {*INTERFACE_ENDPOINTS, *GATEWAY_ENDPOINTS}
    for record in aws:
        module = record.type.split(":")[1].split("/")[0]
        assert ENDPOINT_OF_MODULE[module] in services, record.urn
    # The runner may manage exactly those: the statements for Pod Identity associations name its cluster.
    [policy] = [
        r for r in preview.by_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("deploy-runner-permissions")
    ]
    if preview.config.get("secure-ai-platform:tenantAccount"):
        assert "ManagePodIdentityAssociations" not in policy.inputs["policy"]  # the assumed tenant role does it
    else:
        assert "ManagePodIdentityAssociations" in policy.inputs["policy"]


def test_the_glob_matches_as_the_cli_does() -> None:
    """getMatcher: ``**`` crosses ``:`` (the parent chain of the URN), ``*`` does not."""
    matcher = glob_matcher(deploy_runner.KUBERNETES_PROVIDERS)
    parented = "urn:pulumi:s::p::secure-ai-platform:cluster:SecureCluster$pulumi:providers:kubernetes::cluster-k8s"
    default = "urn:pulumi:s::p::pulumi:providers:kubernetes::default_4_34_2"
    assert matcher.match(parented)
    assert matcher.match(default)
    assert not matcher.match("urn:pulumi:s::p::pulumi:providers:aws::default_7_51_1")
    assert not matcher.match("urn:pulumi:s::p::kubernetes:core/v1:Namespace::ns")
    assert not glob_matcher("*pulumi:providers:kubernetes::*").match(parented)


def test_the_program_never_sets_replace_with() -> None:
    """``ReplaceWith`` is a dependency the CLI follows that preflight does not record; the program sets none."""
    sources = [path for path in (ROOT / "infra").rglob("*.py")]
    assert sources
    assert not [path for path in sources if "replace_with" in path.read_text(encoding="utf-8")]


def run_1_as_analysed(stack: str) -> Preview:
    """Run 1's first ``up`` as the engine hands it to the policy pack: every resource run 2 will create is
    still analysed, with the old inputs it does not have yet, so with no property at all
    (pkg/resource/deploy/step_generator.go ``continueStepsFromImport``: Check stubbed with ``oldInputs`` when
    not targeted, then ``analyzeAll``; ``NewSkippedCreateStep`` keeps it among the ``news`` that
    ``AnalyzeResources`` hands to AnalyzeStack, with those empty properties as outputs)."""
    preview = preview_program(ROOT, stack, mode="first-preview")
    left_out = actual_set(preview, [deploy_runner.KUBERNETES_PROVIDERS])
    empty = struct_pb2.Struct().SerializeToString()
    preview.resources = [
        dataclasses.replace(record, input_bytes=empty, output_bytes=empty) if record.urn in left_out else record
        for record in preview.resources
    ]
    preview.__post_init__()
    project = find_project(ROOT)
    evaluate_policies(preview, [ROOT / deploy_runner.POLICY_PACK], stack_config=load_stack_config(project, stack))
    return preview


@pytest.mark.parametrize("stack", CLUSTER_STACKS)
def test_run_1s_first_up_passes_the_policy_pack(stack: str) -> None:
    """The pack judges a left-out registration in the run that creates it (ai_guardrails.core
    ``Resource.placeholder``); a presence check that needs one is undecided (advisory), never a violation."""
    preview = run_1_as_analysed(stack)
    assert preview.errors == []
    assert preview.mandatory == []
    pools = any(t.get("gpuPools") for t in preview.config["secure-ai-platform:tenants"])
    assert {(v.policy, v.enforcement_level) for v in preview.violations} == (
        {("dedicated-pool-admission-bound", "advisory")} if pools else set()
    )
