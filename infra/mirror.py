"""Images the platform mirrors into its own ECR repositories: the one list the runbook's mirror step and the tests read.

Nodes pull only from the platform's private registry, through the VPC's ECR endpoints. An image whose upstream ECR
pull-through cache supports (Amazon ECR Public, the Kubernetes registry, Quay, Docker Hub, GitHub and GitLab
Container Registry, Azure Container Registry: "Sync an upstream registry with an Amazon ECR private registry",
https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache.html) comes through a cache rule the
account baseline creates (infra.components.registry_baseline), so it is pullable before any cluster stack runs.
Any other image is listed here and copied, pinned by tag, into a repository the cluster stack creates under the
platform's prefix (``<env>/platform/mirror/...``, immutable tags):

- a cluster stack is deployed in two runs (README, "Deploy"): the first creates every AWS resource, the mirror
  repositories among them; the second applies the Kubernetes objects. Between the two, the mirror step runs with
  the deployer's session, where the internet is reachable:
  ``.venv/bin/python -m infra.mirror <stack> | sh``
  which copies each image the stack deploys (``crane copy``: every platform of a multi-platform image) unless
  the tag is already there (the repository's tags are immutable).

The NVIDIA device plugin is the one such image: NVIDIA publishes its releases on nvcr.io (NVIDIA/k8s-device-plugin,
deployments/static/nvidia-device-plugin.yml: ``nvcr.io/nvidia/k8s-device-plugin:v0.17.1``), a registry pull-through
cache does not support; its GitHub Container Registry images are CI builds tagged by commit (its
.github/workflows/ci.yaml passes basic-checks.yaml's ``version``, "The short SHA to use as a version string", to
image.yaml, which pushes ``ghcr.io/nvidia/k8s-device-plugin``), not releases.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from infra import naming
from infra.components.admission import registry_host
from infra.config import Settings, settings_from_stack_file
from infra.deploy_order import stack_config_dir
from infra.tags import PLATFORM


def _gpu_pools(settings: Settings) -> bool:
    """The shared cluster builds GPU pools for its dedicated-pool tenants (infra.deployments.shared_cluster)."""
    return settings.deployment == "shared-cluster" and any(
        tenant.tier == "dedicated-pool" and tenant.gpu_pools for tenant in settings.tenants
    )


@dataclass(frozen=True)
class MirroredImage:
    """An upstream image, pinned by tag, the repository below ``<env>/platform/`` that holds it, and who deploys it."""

    source: str
    tag: str
    repository: str
    why: str
    # Whether a stack with these settings deploys the image (and so creates its repository).
    deployed_by: Callable[[Settings], bool]


NVIDIA_DEVICE_PLUGIN = MirroredImage(
    source="nvcr.io/nvidia/k8s-device-plugin",
    tag="v0.17.1",
    repository="mirror/nvidia/k8s-device-plugin",
    why="NVIDIA publishes releases on nvcr.io only, which ECR pull-through cache does not support",
    deployed_by=_gpu_pools,
)
IMAGES: tuple[MirroredImage, ...] = (NVIDIA_DEVICE_PLUGIN,)


def repository(settings: Settings, image: MirroredImage) -> str:
    """e.g. ``prod/platform/mirror/nvidia/k8s-device-plugin``: the platform's own prefix, which admission allows."""
    return naming.repository_name(settings.environment, PLATFORM, image.repository)


def target(settings: Settings, image: MirroredImage) -> str:
    """The image reference the stack deploys: the mirror in the stack's account and region, same tag."""
    return f"{registry_host(settings)}/{repository(settings, image)}:{image.tag}"


def deployed(settings: Settings) -> tuple[MirroredImage, ...]:
    """The mirrored images a stack with these settings deploys."""
    return tuple(image for image in IMAGES if image.deployed_by(settings))


def script(stack: str, settings: Settings) -> str:
    """The POSIX shell script of the mirror step for ``stack`` (run with the deployer's session)."""
    images = deployed(settings)
    lines = [
        "#!/bin/sh",
        f"# Mirror step of stack {stack} (infra/mirror.py): after the first pulumi up created the mirror",
        "# repositories, before the second applies the Kubernetes objects. Needs the AWS CLI v2 and crane.",
        "set -eu",
    ]
    if not images:
        return "\n".join([*lines, f'echo "{stack}: no image to mirror"', ""])
    region, registry = settings.region, registry_host(settings)
    lines += [
        f"registry={registry}",
        f'aws ecr get-login-password --region {region} | crane auth login "$registry" -u AWS --password-stdin',
    ]
    for image in images:
        name = repository(settings, image)
        source = f"{image.source}:{image.tag}"
        lines += [
            f"# {source}: {image.why}",
            f"if aws ecr describe-images --region {region} --repository-name {shlex.quote(name)} "
            f"--image-ids imageTag={shlex.quote(image.tag)} >/dev/null 2>&1; then",
            f'  echo "present: $registry/{name}:{image.tag}"',
            "else",
            f'  crane copy {shlex.quote(source)} "$registry/{name}:{image.tag}"',
            "fi",
        ]
    return "\n".join([*lines, ""])


def _stack_settings(stack: str) -> Settings:
    path = stack_config_dir() / f"Pulumi.{stack}.yaml"
    config: dict[str, Any] = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
    return settings_from_stack_file(config, stack)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m infra.mirror <stack>   (prints the mirror step's shell script)", file=sys.stderr)
        return 2
    print(script(argv[0], _stack_settings(argv[0])), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
