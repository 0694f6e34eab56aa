"""NvidiaDevicePlugin: a pinned DaemonSet on GPU nodes only, from the platform's immutable mirror."""

from __future__ import annotations

import json

import aiplatform_standards as standards
import pulumi_kubernetes as k8s
import pytest
from platform_support import ACCOUNT, REGION, dependency_records, run, settings, statements

from infra.components.device_plugin import VERSION, NvidiaDevicePlugin, NvidiaDevicePluginArgs
from infra.components.registry import lifecycle_policy
from infra.tags import register_standard_tags
from preflight import Preview

SETTINGS = settings("prod")
REGISTRY_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/44444444-4444-4444-4444-444444444444"
POOL_ROLES = [
    f"arn:aws:iam::{ACCOUNT}:role/aip-prod-fraud-gpu-nodes",
    f"arn:aws:iam::{ACCOUNT}:role/aip-prod-vision-gpu-nodes",
]
MIRROR = "prod/platform/mirror/nvidia/k8s-device-plugin"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{MIRROR}:v0.17.1"
DAEMONSET = "kubernetes:apps/v1:DaemonSet"
REPOSITORY = "aws:ecr/repository:Repository"


@pytest.fixture(scope="module")
def preview() -> Preview:
    def body() -> None:
        register_standard_tags(SETTINGS)
        provider = k8s.Provider("cluster-k8s", kubeconfig="{}")
        NvidiaDevicePlugin("device-plugin", NvidiaDevicePluginArgs(SETTINGS, provider, REGISTRY_KEY, POOL_ROLES))

    return run(body, SETTINGS, mode="first-preview")


def test_daemonset_is_pinned_to_the_mirror_and_known_in_a_first_preview(preview: Preview) -> None:
    daemonset = preview.get(DAEMONSET, "device-plugin-daemonset")
    assert VERSION == "v0.17.1"
    assert daemonset.inputs["metadata"]["name"] == "nvidia-device-plugin"
    assert daemonset.inputs["metadata"]["namespace"] == "kube-system"
    [container] = daemonset.inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"] == IMAGE
    assert preview.get(REPOSITORY, "device-plugin-mirror").urn in daemonset.dependencies
    assert "cluster-k8s" in (daemonset.provider or "")


def test_daemonset_runs_on_every_gpu_pool_and_nowhere_else(preview: Preview) -> None:
    spec = preview.get(DAEMONSET, "device-plugin-daemonset").inputs["spec"]["template"]["spec"]
    assert spec["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "aiplatform.io/tenant", "operator": "Exists", "effect": "NoSchedule"},
    ]
    assert spec["affinity"] == {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "node.kubernetes.io/instance-type",
                                "operator": "In",
                                "values": sorted(standards.gpu_instances()),
                            }
                        ]
                    }
                ]
            }
        }
    }
    assert "nodeName" not in spec
    assert "nodeSelector" not in spec
    assert spec["priorityClassName"] == "system-node-critical"


def test_daemonset_is_least_privilege_but_for_the_device_plugin_socket(preview: Preview) -> None:
    spec = preview.get(DAEMONSET, "device-plugin-daemonset").inputs["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    for host_flag in ("hostNetwork", "hostPID", "hostIPC"):
        assert host_flag not in spec
    [container] = spec["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "privileged": False,
    }
    assert container["resources"] == {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}
    assert spec["volumes"] == [
        {"name": "device-plugins", "hostPath": {"path": "/var/lib/kubelet/device-plugins", "type": "Directory"}}
    ]
    assert container["volumeMounts"] == [{"name": "device-plugins", "mountPath": "/var/lib/kubelet/device-plugins"}]


def test_selector_matches_the_pod_labels(preview: Preview) -> None:
    spec = preview.get(DAEMONSET, "device-plugin-daemonset").inputs["spec"]
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    assert labels["app.kubernetes.io/version"] == VERSION


def test_mirror_repository_follows_the_registry_rules(preview: Preview) -> None:
    repository = preview.get(REPOSITORY, "device-plugin-mirror")
    assert repository.inputs["name"] == MIRROR
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": REGISTRY_KEY}]
    assert repository.inputs["tags"]["aiplatform:tenant"] == "platform"
    lifecycle = preview.get("aws:ecr/lifecyclePolicy:LifecyclePolicy", "device-plugin-mirror")
    assert json.loads(lifecycle.inputs["policy"]) == lifecycle_policy()
    assert [record.name for record in dependency_records(preview, lifecycle, "repository")] == ["device-plugin-mirror"]


def test_only_the_gpu_pools_pull_and_only_ci_pushes(preview: Preview) -> None:
    policy = statements(preview.get("aws:ecr/repositoryPolicy:RepositoryPolicy", "device-plugin-mirror"))
    assert set(policy) == {"TenantPull", "CiPush"}
    assert policy["TenantPull"]["Principal"] == {"AWS": sorted(POOL_ROLES)}
    assert policy["CiPush"]["Principal"] == {"AWS": SETTINGS.required_roles.ci}


def test_a_device_plugin_without_gpu_pools_is_refused() -> None:
    args = NvidiaDevicePluginArgs(SETTINGS, k8s.Provider.__new__(k8s.Provider), REGISTRY_KEY, [])
    with pytest.raises(ValueError, match="pass their node roles as pull_role_arns"):
        NvidiaDevicePlugin("nothing", args)
