"""EKS add-on versions are resolved at deploy time, or pinned per add-on in config (issue 11, item 12).

Each managed add-on gets ``aws.eks.get_addon_version(addon_name, kubernetes_version, most_recent=True)``
(the provider's ``aws:eks/getAddonVersion:getAddonVersion``, which asks EKS's DescribeAddonVersions;
most recent rather than EKS's default version), unless ``cluster.addonVersions`` pins it. The
versions the earlier hard-coded table carried did not match what EKS publishes (for example
kube-proxy ``v1.34.6-eksbuild.21``, where the EKS User Guide's "Manage kube-proxy" table lists
``v1.34.6-eksbuild.2`` as the latest build for 1.34).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from platform_support import run, settings
from test_cluster import cluster_args

from infra.components.cluster import ADDONS_AFTER_NODES, ADDONS_BEFORE_NODES, SecureCluster
from infra.config import EKS_ADDONS, ConfigError, Settings
from infra.tags import register_standard_tags
from preflight import Preview, cloud

ADDON = "aws:eks/addon:Addon"
GET_ADDON_VERSION = "aws:eks/getAddonVersion:getAddonVersion"


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every getAddonVersion invoke the program makes, with its arguments as the provider receives them."""
    calls: list[dict[str, Any]] = []
    answer = cloud.INVOKES[GET_ADDON_VERSION]

    def recording(args: Mapping[str, Any], region: str) -> dict[str, Any]:
        calls.append(dict(args))
        return answer(args, region)

    monkeypatch.setitem(cloud.INVOKES, GET_ADDON_VERSION, recording)
    return calls


def _cluster(stack_settings: Settings) -> Preview:
    def body() -> None:
        register_standard_tags(stack_settings)
        SecureCluster("shared", dataclasses.replace(cluster_args(), settings=stack_settings))

    return run(body, stack_settings, mode="first-preview")


def _versions(preview: Preview) -> dict[str, str]:
    return {record.inputs["addonName"]: record.inputs["addonVersion"] for record in preview.by_type(ADDON)}


def test_every_managed_add_on_is_installed_in_its_phase() -> None:
    assert (*ADDONS_BEFORE_NODES, *ADDONS_AFTER_NODES) == EKS_ADDONS


def test_unpinned_add_ons_get_the_most_recent_version_eks_reports(asked: list[dict[str, Any]]) -> None:
    preview = _cluster(settings(cluster={"version": "1.33"}))
    assert sorted(asked, key=lambda call: call["addonName"]) == [
        {"addonName": addon, "kubernetesVersion": "1.33", "mostRecent": True} for addon in sorted(EKS_ADDONS)
    ]
    # Known in a first preview: invokes answer during previews.
    assert _versions(preview) == {
        "vpc-cni": "v1.20.1-eksbuild.3",
        "kube-proxy": "v1.33.10-eksbuild.2",
        "coredns": "v1.13.2-eksbuild.4",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
    }


def test_a_pinned_add_on_keeps_its_version_and_the_others_are_resolved(asked: list[dict[str, Any]]) -> None:
    pins = {"coredns": "v1.12.4-eksbuild.1", "kube-proxy": "v1.34.1-eksbuild.2"}
    preview = _cluster(settings(cluster={"version": "1.34", "addonVersions": pins}))
    assert sorted(call["addonName"] for call in asked) == ["eks-pod-identity-agent", "vpc-cni"]
    assert _versions(preview) == {
        "vpc-cni": "v1.20.1-eksbuild.3",
        "kube-proxy": "v1.34.1-eksbuild.2",
        "coredns": "v1.12.4-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
    }


@pytest.mark.parametrize(
    ("cluster", "problem"),
    [
        (
            {"addonVersions": {"aws-ebs-csi-driver": "v1.40.0-eksbuild.1"}},
            "cluster.addonVersions: 'aws-ebs-csi-driver' is not an add-on the platform manages (pin one of "
            "vpc-cni, kube-proxy, eks-pod-identity-agent, coredns)",
        ),
        (
            {"addonVersions": {"coredns": "1.13.2"}},
            "cluster.addonVersions: coredns: '1.13.2' is not an EKS add-on version (use "
            "v<major>.<minor>.<patch>-eksbuild.<n> from aws eks describe-addon-versions --addon-name coredns "
            "--kubernetes-version <version>)",
        ),
        (
            {"version": "1.35", "addonVersions": {"kube-proxy": "v1.34.6-eksbuild.2"}},
            "cluster: addonVersions.kube-proxy: 'v1.34.6-eksbuild.2' is not for Kubernetes 1.35 (pin a "
            "v1.35.<patch> build, or remove the pin to get the most recent one)",
        ),
    ],
)
def test_a_bad_pin_is_refused_with_its_key_path_and_fix(cluster: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(cluster=cluster)
    assert caught.value.problems == [problem]


def test_the_offline_cloud_refuses_an_add_on_eks_does_not_offer() -> None:
    with pytest.raises(cloud.AddonVersionNotFound) as caught:
        cloud.invoke(GET_ADDON_VERSION, {"addonName": "vpc-cni", "kubernetesVersion": "1.29"}, "us-east-1")
    assert str(caught.value) == "no version of EKS add-on 'vpc-cni' is compatible with Kubernetes 1.29 (offline cloud)"
