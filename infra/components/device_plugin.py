"""The NVIDIA device plugin as a plain DaemonSet (issue 6, item 3; CONTROLS TEN-2 allowlist).

A DaemonSet rather than a Helm release, so the policy pack sees the pod spec in a preview: the
plugin needs a hostPath (the kubelet's device-plugin socket directory), which the pack admits only
for the reviewed platform components in system namespaces.

- ``kube-system``: the ``system-node-critical`` priority class is admitted there only.
- Pinned: the upstream image (``nvcr.io``, a registry that ECR pull-through cache rules do not
  support) is on the platform's mirror list (infra.mirror, ``NVIDIA_DEVICE_PLUGIN``). This component
  creates the mirror repository (``<env>/platform/mirror/nvidia/k8s-device-plugin``, immutable tags)
  in the stack's first run, the runbook's mirror step (``python -m infra.mirror <stack> | sh``) copies
  the pinned tag into it, and the second run applies the DaemonSet: with a pool whose ``minSize`` is 1
  its pods find the image and become ready. Nodes pull only from the mirror, through the ECR VPC
  endpoints.
- Only on GPU nodes: required node affinity to the instance types of the GPU table, tolerating
  the GPU taint and the tenant taint key (it serves every tenant's pool). The pools run the
  EKS-optimised AL2023 NVIDIA AMIs, which ship the driver but not the plugin; Bottlerocket's
  NVIDIA variants bundle their own plugin, which is why the pools do not use them.
- Least privilege: no service account token (the plugin talks only to the kubelet's socket), no
  privilege escalation, every capability dropped, read-only root filesystem, RuntimeDefault
  seccomp. It runs as root because the kubelet's socket directory is root's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from aiplatform_standards import gpu_instances, platform

from infra import iam, mirror
from infra.components.registry import platform_repository, repository_policy
from infra.config import Settings

TYPE = "secure-ai-platform:device_plugin:NvidiaDevicePlugin"

_KUBERNETES = platform()["kubernetes"]
NAME = "nvidia-device-plugin"
NAMESPACE = "kube-system"
# Upstream release, where it comes from, and its mirror below the platform's prefix: the mirror list's entry.
VERSION = mirror.NVIDIA_DEVICE_PLUGIN.tag
UPSTREAM_IMAGE = mirror.NVIDIA_DEVICE_PLUGIN.source
MIRROR_REPOSITORY = mirror.NVIDIA_DEVICE_PLUGIN.repository
DEVICE_PLUGIN_DIR = "/var/lib/kubelet/device-plugins"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
_SELECTOR = {"app.kubernetes.io/name": NAME}


def daemonset_spec(image: str) -> dict[str, Any]:
    """The DaemonSet's spec (camelCase, as the policy pack sees it)."""
    return {
        "selector": {"matchLabels": dict(_SELECTOR)},
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
        "template": {
            "metadata": {"labels": {**_SELECTOR, "app.kubernetes.io/version": VERSION}},
            "spec": {
                "priorityClassName": "system-node-critical",
                "automountServiceAccountToken": False,
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "tolerations": [
                    {"key": _KUBERNETES["gpu_taint_key"], "operator": "Exists", "effect": "NoSchedule"},
                    {"key": _KUBERNETES["tenant_taint_key"], "operator": "Exists", "effect": "NoSchedule"},
                ],
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {
                                            "key": INSTANCE_TYPE_LABEL,
                                            "operator": "In",
                                            "values": sorted(gpu_instances()),
                                        }
                                    ]
                                }
                            ]
                        }
                    }
                },
                "containers": [
                    {
                        "name": NAME,
                        "image": image,
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True,
                            "privileged": False,
                        },
                        "resources": {
                            "requests": {"cpu": "50m", "memory": "64Mi"},
                            "limits": {"memory": "128Mi"},
                        },
                        "volumeMounts": [{"name": "device-plugins", "mountPath": DEVICE_PLUGIN_DIR}],
                    }
                ],
                "volumes": [{"name": "device-plugins", "hostPath": {"path": DEVICE_PLUGIN_DIR, "type": "Directory"}}],
            },
        },
    }


def mirror_repository(settings: Settings) -> str:
    """The mirror repository's name, e.g. ``prod/platform/mirror/nvidia/k8s-device-plugin``."""
    return mirror.repository(settings, mirror.NVIDIA_DEVICE_PLUGIN)


def image(settings: Settings) -> str:
    """The pinned image in the mirror; known before anything exists, so a preview shows it."""
    return mirror.target(settings, mirror.NVIDIA_DEVICE_PLUGIN)


@dataclass
class NvidiaDevicePluginArgs:
    """The cluster's Kubernetes provider, the platform's registry key and who pulls the mirror."""

    settings: Settings
    provider: k8s.Provider
    # The platform's registry key (alias/<env>/platform/registry).
    registry_key_arn: pulumi.Input[str]
    # The node roles of the GPU pools: the kubelet pulls the plugin's image with them.
    pull_role_arns: Sequence[pulumi.Input[str]]
    # The roles the repository policy names, when it names them by ARN (ECR rejects unknown principals).
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)


class NvidiaDevicePlugin(pulumi.ComponentResource):
    """The NVIDIA device plugin DaemonSet on every GPU node, from the platform's mirror repository."""

    repository: aws.ecr.Repository
    daemonset: k8s.apps.v1.DaemonSet
    image: str

    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not args.pull_role_arns:
            raise ValueError(f"{name}: the device plugin serves GPU pools; pass their node roles as pull_role_arns")
        super().__init__(
            TYPE, name, None, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[args.provider]))
        )
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        # Same rules as the tenants' repositories (REG-1..5): immutable tags, so a mirrored version
        # can never be replaced; scanned; the platform's registry key; CI pushes, pools pull.
        self.repository = platform_repository(
            f"{name}-mirror", mirror_repository(settings), args.registry_key_arn, child
        )
        pullers = list(args.pull_role_arns)
        aws.ecr.RepositoryPolicy(
            f"{name}-mirror",
            repository=self.repository.name,
            policy=iam.policy(lambda arns: repository_policy(settings, arns, []), pullers),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )

        self.image = image(settings)
        self.daemonset = k8s.apps.v1.DaemonSet(
            f"{name}-daemonset",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=NAMESPACE, labels=dict(_SELECTOR)),
            # A camelCase dict goes to the engine unchanged, as the policy pack reads it.
            spec=cast(Any, daemonset_spec(self.image)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.repository]),
        )
        self.register_outputs({"image": self.image, "repository_url": self.repository.repository_url})
