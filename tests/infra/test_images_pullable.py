"""Proof: every image a stack deploys is pullable when `up` applies it (issue 11, item 8).

Nodes pull from the platform's private ECR registry only. An image is pullable at deploy time when it is either

- under a pull-through cache prefix that the stack's account baseline creates (an earlier stack,
  infra/deploy_order.py; ECR creates the cached repository on the first pull: "Sync an upstream registry with an
  Amazon ECR private registry", https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html), in
  the stack's account and region; or
- on the mirror list (infra/mirror.py), in a repository the stack itself creates in its first run (an AWS resource
  that depends on no Kubernetes provider, so `pulumi up --exclude '**pulumi:providers:kubernetes::**'
  --exclude-dependents` creates it: pulumi/pulumi pkg/resource/deploy/step_generator.go (v3.274.1), excluded
  dependents), which the runbook's mirror step fills (``python -m infra.mirror <stack>``) before the second run
  applies the Kubernetes objects.

Every container image of every Kubernetes object of every reference stack (the objects `--render-k8s` writes) is
held to that, and each stack's mirror step copies exactly the mirrored images the stack deploys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from reference_support import ReferenceStack, account_baseline, reference_stacks

from infra import mirror
from infra.components.admission import registry_host
from preflight import Preview, ResourceRecord
from preflight.kubernetes import is_object, manifest

REPOSITORY = "aws:ecr/repository:Repository"
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def images(value: Any) -> Iterator[str]:
    """Every container image of a pod spec anywhere in an object (pods, workload templates, job templates)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in CONTAINER_LISTS and isinstance(item, list):
                yield from (container["image"] for container in item if isinstance(container, dict))
            else:
                yield from images(item)
    elif isinstance(value, list):
        for item in value:
            yield from images(item)


def deployed_images(preview: Preview) -> list[tuple[ResourceRecord, str]]:
    return [(record, image) for record in preview.resources if is_object(record) for image in images(manifest(record))]


def _depends_on_kubernetes(preview: Preview, record: ResourceRecord) -> bool:
    pending, seen = [record], set()
    while pending:
        current = pending.pop()
        for urn in {*current.dependencies, *(u for urns in current.property_dependencies.values() for u in urns)}:
            if urn in seen:
                continue
            seen.add(urn)
            found = preview.find(urn)
            if found is None:
                continue
            if found.type == "pulumi:providers:kubernetes" or (found.provider or "").startswith(
                "urn:pulumi:" + preview.stack + "::" + preview.project + "::pulumi:providers:kubernetes::"
            ):
                return True
            pending.append(found)
    return False


def why_not_pullable(stack: ReferenceStack, image: str) -> str | None:
    """None when ``image`` is pullable when the stack's Kubernetes objects are applied, else why not."""
    registry = registry_host(stack.settings)
    if not image.startswith(f"{registry}/"):
        return f"image {image} is not in the stack's private registry {registry}"
    path = image.removeprefix(f"{registry}/")
    baseline = account_baseline(stack)
    prefixes = baseline.preview.outputs["pullThroughCachePrefixes"]
    if any(path.startswith(f"{prefix}/") for prefix in prefixes):
        return None
    mirrored = [entry for entry in mirror.IMAGES if mirror.target(stack.settings, entry) == image]
    if not mirrored:
        return (
            f"image {image} is under no pull-through cache prefix of {baseline.name} ({', '.join(prefixes)}) and "
            "not on the mirror list (infra/mirror.py)"
        )
    [entry] = mirrored
    name = mirror.repository(stack.settings, entry)
    created = [record for record in stack.preview.by_type(REPOSITORY) if record.inputs["name"] == name]
    if not created:
        return f"image {image} is on the mirror list, but the stack does not create its repository {name}"
    if _depends_on_kubernetes(stack.preview, created[0]):
        return f"repository {name} waits for the Kubernetes provider: the first run cannot create it"
    if entry not in mirror.deployed(stack.settings):
        return f"image {image} is deployed, but the stack's mirror step does not copy it"
    return None


@pytest.mark.slow
def test_every_image_of_every_stack_is_pullable_at_deploy_time() -> None:
    problems = [
        f"{stack.name}: {record.urn}: {reason}"
        for stack in reference_stacks().values()
        for record, image in deployed_images(stack.preview)
        if (reason := why_not_pullable(stack, image)) is not None
    ]
    assert problems == []


@pytest.mark.slow
def test_the_images_the_stacks_deploy() -> None:
    """Not vacuous: the stacks with GPU pools deploy the device plugin from their account's mirror."""
    found = {
        stack.name: sorted({image for _, image in deployed_images(stack.preview)})
        for stack in reference_stacks().values()
    }
    assert {name: found_images for name, found_images in found.items() if found_images} == {
        "platform-dev": [
            "111122223333.dkr.ecr.us-east-1.amazonaws.com/dev/platform/mirror/nvidia/k8s-device-plugin:v0.17.1"
        ],
        "platform-prod": [
            "444455556666.dkr.ecr.us-east-1.amazonaws.com/prod/platform/mirror/nvidia/k8s-device-plugin:v0.17.1"
        ],
    }


@pytest.mark.slow
def test_each_stacks_mirror_step_copies_exactly_the_mirrored_images_it_deploys() -> None:
    for stack in reference_stacks().values():
        deployed = {image for _, image in deployed_images(stack.preview)}
        expected = {mirror.target(stack.settings, entry) for entry in mirror.deployed(stack.settings)}
        assert {
            image for image in deployed if any(image == mirror.target(stack.settings, e) for e in mirror.IMAGES)
        } == (expected), stack.name
        script = mirror.script(stack.name, stack.settings)
        for entry in mirror.deployed(stack.settings):
            name = mirror.repository(stack.settings, entry)
            assert f'  crane copy {entry.source}:{entry.tag} "$registry/{name}:{entry.tag}"' in script.splitlines()
            assert f"registry={registry_host(stack.settings)}" in script.splitlines()


def test_the_mirror_step_of_a_stack_with_gpu_pools() -> None:
    stack = reference_stacks()["platform-prod"]
    assert mirror.script("platform-prod", stack.settings) == "\n".join(
        [
            "#!/bin/sh",
            "# Mirror step of stack platform-prod (infra/mirror.py): after the first pulumi up created the mirror",
            "# repositories, before the second applies the Kubernetes objects. Needs the AWS CLI v2 and crane.",
            "set -eu",
            "registry=444455556666.dkr.ecr.us-east-1.amazonaws.com",
            'aws ecr get-login-password --region us-east-1 | crane auth login "$registry" -u AWS --password-stdin',
            "# nvcr.io/nvidia/k8s-device-plugin:v0.17.1: NVIDIA publishes releases on nvcr.io only, which ECR "
            "pull-through cache does not support",
            "if aws ecr describe-images --region us-east-1 --repository-name prod/platform/mirror/nvidia/"
            "k8s-device-plugin --image-ids imageTag=v0.17.1 >/dev/null 2>&1; then",
            '  echo "present: $registry/prod/platform/mirror/nvidia/k8s-device-plugin:v0.17.1"',
            "else",
            '  crane copy nvcr.io/nvidia/k8s-device-plugin:v0.17.1 "$registry/prod/platform/mirror/nvidia/'
            'k8s-device-plugin:v0.17.1"',
            "fi",
            "",
        ]
    )


def test_a_stack_without_mirrored_images_has_nothing_to_copy() -> None:
    stack = reference_stacks()["tenant-clinical-prod"]
    assert mirror.deployed(stack.settings) == ()
    assert mirror.script("tenant-clinical-prod", stack.settings).splitlines()[-1] == (
        'echo "tenant-clinical-prod: no image to mirror"'
    )


def test_what_the_proof_refuses() -> None:
    stack = reference_stacks()["platform-prod"]
    registry = "444455556666.dkr.ecr.us-east-1.amazonaws.com"
    assert why_not_pullable(stack, "nvcr.io/nvidia/k8s-device-plugin:v0.17.1") == (
        f"image nvcr.io/nvidia/k8s-device-plugin:v0.17.1 is not in the stack's private registry {registry}"
    )
    assert why_not_pullable(stack, f"{registry}/quay/prometheus/node-exporter:v1.8.2") == (
        f"image {registry}/quay/prometheus/node-exporter:v1.8.2 is under no pull-through cache prefix of baseline-prod "
        "(ecr-public, k8s) and not on the mirror list (infra/mirror.py)"
    )
    assert why_not_pullable(stack, f"{registry}/k8s/pause:3.10") is None
    clinical = reference_stacks()["tenant-clinical-prod"]
    target = mirror.target(clinical.settings, mirror.NVIDIA_DEVICE_PLUGIN)
    assert why_not_pullable(clinical, target) == (
        f"image {target} is on the mirror list, but the stack does not create its repository "
        "prod/platform/mirror/nvidia/k8s-device-plugin"
    )
