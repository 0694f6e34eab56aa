"""The reference clusters in a real API server: which stacks, their rendered objects, and bring-up.

Each shared- or single-tenant cluster stack of ``stacks/`` is its own cluster, so each gets its own
kube-apiserver (and kube-controller-manager), all on one etcd under a prefix per stack: the stacks'
objects share names (namespaces, the admission policy, the priority classes), as they would in
separate clusters.

The objects are those ``python -m preflight <stacks> --mode update --render-k8s <dir>`` writes, in
update mode because a first preview leaves the values the cloud computes unknown (the admission
policy names its cluster by the EKS cluster's name output), and a manifest with ``[unknown]`` in
it is not one the server could be given.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiplatform_standards import platform
from kube_apiserver import (
    REPO,
    Answer,
    EngineError,
    Etcd,
    Identity,
    KubeApi,
    running_apiserver,
    running_controller_manager,
    wait_until,
)

from infra import naming
from infra.components.admission import POLICY_NAME
from infra.components.tenant_identity import WORKLOAD_SERVICE_ACCOUNT
from infra.components.tenant_space import team_group
from infra.config import Settings, Tenant, settings_from_stack_file

CLUSTER_DEPLOYMENTS = ("shared-cluster", "single-tenant-cluster")
RENDER_TIMEOUT = 900.0
READY_TIMEOUT = 60.0
UNKNOWN = "[unknown]"  # preflight/kubernetes.py renders an unknown value so
# Creation order: what an object refers to exists before it (the namespace before what lives in it,
# a priority class before a pod template names it, the policy before its binding). A rendered kind
# missing here fails the bring-up, so that a new kind gets its place deliberately.
KIND_ORDER = (
    "Namespace",
    "PriorityClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "ServiceAccount",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "DaemonSet",
    "Deployment",
)
EDIT_CLUSTER_ROLE = "edit"
QUOTA_DENIAL = "exceeded quota: "

_KUBERNETES = platform()["kubernetes"]
TENANT_LABEL: str = _KUBERNETES["labels"]["tenant"]
POOL_LABEL: str = _KUBERNETES["labels"]["pool"]
TENANT_TAINT: str = _KUBERNETES["tenant_taint_key"]
GPU_RESOURCE: str = _KUBERNETES["gpu_resource"]
# A non-root user id for the workloads (any but 0 meets Pod Security's restricted level).
WORKLOAD_UID = 65532
IMAGE_TAG = "1.0"


def _stack_config(path: Path) -> Mapping[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["config"]


def cluster_stacks() -> dict[str, Settings]:
    """Every stack in stacks/ whose deployment runs a cluster, with its validated settings."""
    stacks: dict[str, Settings] = {}
    for path in sorted((REPO / "stacks").glob("Pulumi.*.yaml")):
        name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        config = _stack_config(path)
        if config.get("secure-ai-platform:deployment") in CLUSTER_DEPLOYMENTS:
            stacks[name] = settings_from_stack_file(config, name)
    return stacks


def registry(settings: Settings) -> str:
    """The stack account's private ECR registry: ``<account>.dkr.ecr.<region>.amazonaws.com`` (Amazon
    ECR User Guide, "Private registry concepts": the registry URL)."""
    return f"{settings.account_id}.dkr.ecr.{settings.region}.amazonaws.com"


@dataclass(frozen=True)
class TenantView:
    """A tenant of a stack as its team sees the cluster: its namespace, identity, images and pods."""

    settings: Settings
    tenant: Tenant

    @property
    def name(self) -> str:
        return self.tenant.name

    @property
    def namespace(self) -> str:
        return naming.namespace(self.name)

    @property
    def identity(self) -> Identity:
        """A member of the team: the group the program binds to the ``tenant-team`` Role in the tenant's namespace."""
        return Identity(f"{self.name}-engineer", (team_group(self.name),))

    def image(self, repository: str = "inference", *, owner: str | None = None) -> str:
        """An image in ``owner``'s (default: this tenant's) repository of the stack's registry."""
        name = naming.repository_name(self.settings.environment, owner or self.name, repository)
        return f"{registry(self.settings)}/{name}:{IMAGE_TAG}"

    def own_pool_placement(self) -> dict[str, Any]:
        """Tolerations and node selector that put a pod on this tenant's first GPU pool."""
        pool = self.tenant.gpu_pools[0]
        return {
            "tolerations": [{"key": TENANT_TAINT, "operator": "Equal", "value": self.name, "effect": "NoSchedule"}],
            "nodeSelector": {TENANT_LABEL: self.name, POOL_LABEL: pool.name},
        }

    def pod(
        self, *, name: str = "workload", image: str | None = None, gpus: int | None = None, namespace: str | None = None
    ) -> dict[str, Any]:
        """The tenant's ordinary workload: its own image, its workload ServiceAccount and priority class,
        Pod Security's restricted level met, resources left to the LimitRange (GPUs as limits: an
        extended resource's request defaults to its limit)."""
        container: dict[str, Any] = {
            "name": "main",
            "image": image or self.image(),
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        }
        if gpus is not None:
            container["resources"] = {"limits": {GPU_RESOURCE: str(gpus)}}
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace or self.namespace},
            "spec": {
                "serviceAccountName": WORKLOAD_SERVICE_ACCOUNT,
                "priorityClassName": self.tenant.priority_class,
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": WORKLOAD_UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": [container],
            },
        }


def object_key(obj: Mapping[str, Any]) -> str:
    metadata = obj["metadata"]
    where = f"{metadata['namespace']}/" if metadata.get("namespace") else ""
    return f"{obj['kind']} {where}{metadata['name']}"


class Rendering:
    """One preflight run that renders every cluster stack's objects, started before the servers."""

    def __init__(self, stacks: list[str], directory: Path) -> None:
        self.directory = directory
        self.log = directory.parent / "preflight-render.log"
        command = [sys.executable, "-m", "preflight", *stacks, "--mode", "update", "--render-k8s", str(directory)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        self._finished = False

    def objects(self, stack: str) -> list[dict[str, Any]]:
        """The stack's objects in creation order; the rendering must have succeeded."""
        if not self._finished:
            try:
                code = self.process.wait(RENDER_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
            self._finished = True
            # 0: passed, 1: mandatory violations (still rendered); 2 is a program error.
            if code not in (0, 1):
                raise EngineError(f"preflight --render-k8s failed ({code}):\n{self.log.read_text(encoding='utf-8')}")
        files = sorted((self.directory / stack).glob("*.yaml"))
        if not files:
            raise EngineError(f"preflight rendered no Kubernetes object for {stack}:\n{self.log.read_text()}")
        objects = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in files]
        unknown = [object_key(obj) for obj in objects if UNKNOWN in yaml.safe_dump(obj)]
        if unknown:
            raise EngineError(f"{stack}: values unknown in update mode: {unknown}")
        strange = sorted({obj["kind"] for obj in objects} - set(KIND_ORDER))
        if strange:
            raise EngineError(f"{stack}: give these kinds a place in KIND_ORDER: {strange}")
        return sorted(objects, key=lambda obj: KIND_ORDER.index(obj["kind"]))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@dataclass
class Cluster:
    """One reference stack's cluster: its settings, the administrator's client, and what creating
    each rendered object answered (by ``object_key``)."""

    stack: str
    settings: Settings
    api: KubeApi
    objects: list[dict[str, Any]]
    created: dict[str, Answer] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]


def _edit_role_aggregated(api: KubeApi) -> bool:
    answer = api.request("GET", f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{EDIT_CLUSTER_ROLE}")
    return answer.status == 200 and bool(answer.body.get("rules"))


def _quotas_synced(api: KubeApi, quotas: list[dict[str, Any]]) -> bool:
    for quota in quotas:
        answer = api.get(quota)
        if answer.status != 200 or answer.body.get("status", {}).get("hard") != answer.body["spec"]["hard"]:
            return False
    return True


def _policies_observed(api: KubeApi, policies: list[dict[str, Any]]) -> bool:
    for policy in policies:
        body = api.get(policy).body
        if body.get("status", {}).get("observedGeneration") != body.get("metadata", {}).get("generation"):
            return False
    return True


def _service_account_exists(api: KubeApi, namespace: str, name: str) -> bool:
    return api.request("GET", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}").status == 200


def _authorized(api: KubeApi, view: TenantView) -> bool:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": view.identity.user,
            "groups": list(view.identity.groups),
            "resourceAttributes": {"namespace": view.namespace, "verb": "create", "resource": "pods"},
        },
    }
    answer = api.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", body=review)
    return answer.status == 201 and answer.body["status"].get("allowed") is True


def _denied_with(api: KubeApi, pod: dict[str, Any], text: str) -> bool:
    answer = api.create(pod, dry_run=True)
    return answer.status == 403 and text in answer.message


def bring_up(
    stack: str, settings: Settings, objects: list[dict[str, Any]], *, etcd: Etcd, directory: Path, exits: ExitStack
) -> Cluster:
    """Start the stack's API server and controllers, create its objects, wait until they are in force.

    In force means: the controllers have done what a real cluster's do before any tenant acts (the
    aggregated built-in roles have their rules, every quota has its status, the admission policy's type
    checking has run, ``kube-system`` has its ``default`` ServiceAccount), and the API server's own
    caches have caught up with them (the RBAC authorizer lets each tenant team create pods in its
    namespace, and in each tenant namespace probe pods that no test sends are denied by the
    admission policy and by the quota). Every wait fails with the servers' logs after
    ``READY_TIMEOUT``.
    """
    server = exits.enter_context(running_apiserver(directory, etcd, f"/{stack}/registry"))
    controllers = exits.enter_context(running_controller_manager(directory, server.api))
    api = server.api
    cluster = Cluster(stack, settings, api, objects)
    for obj in objects:
        cluster.created[object_key(obj)] = api.create(obj)

    def wait(condition: Callable[[], bool], what: str) -> None:
        wait_until(condition, server.server, controllers, what=what, timeout=READY_TIMEOUT)

    wait(lambda: _edit_role_aggregated(api), "the edit ClusterRole is aggregated")
    wait(lambda: _quotas_synced(api, cluster.of_kind("ResourceQuota")), "every ResourceQuota has its status")
    policies = cluster.of_kind("ValidatingAdmissionPolicy")
    wait(lambda: _policies_observed(api, policies), "every ValidatingAdmissionPolicy is type-checked")
    wait(lambda: _service_account_exists(api, "kube-system", "default"), "kube-system has its default ServiceAccount")
    for tenant in settings.tenants:
        view = TenantView(settings, tenant)
        wait(functools.partial(_authorized, api, view), f"{view.identity.user} may create pods in {view.namespace}")
        outside = view.pod(name="probe", image="registry.invalid/probe:0")
        in_force = f"ValidatingAdmissionPolicy '{POLICY_NAME}'"
        wait(functools.partial(_denied_with, api, outside, in_force), f"{POLICY_NAME} is in force in {view.namespace}")
        greedy = view.pod(name="probe", gpus=tenant.quotas.gpus + 1000)
        wait(functools.partial(_denied_with, api, greedy, QUOTA_DENIAL), f"the quota is in force in {view.namespace}")
    return cluster


class Clusters:
    """Each cluster stack's control plane, brought up on first use and kept for the session."""

    def __init__(self, stacks: dict[str, Settings], etcd: Etcd, rendering: Rendering, root: Path, exits: ExitStack):
        self._stacks, self._etcd, self._rendering, self._root, self._exits = stacks, etcd, rendering, root, exits
        self._clusters: dict[str, Cluster] = {}
        self._failed: dict[str, BaseException] = {}

    def __getitem__(self, stack: str) -> Cluster:
        if stack in self._failed:
            pytest.fail(f"{stack}: the control plane did not come up: {self._failed[stack]}", pytrace=False)
        if stack not in self._clusters:
            try:
                self._clusters[stack] = bring_up(
                    stack,
                    self._stacks[stack],
                    self._rendering.objects(stack),
                    etcd=self._etcd,
                    directory=self._root / stack,
                    exits=self._exits,
                )
            except Exception as error:
                self._failed[stack] = error
                raise
        return self._clusters[stack]


def iter_tenant_pairs(names: list[str]) -> Iterator[tuple[str, str]]:
    for first in names:
        for second in names:
            if first != second:
                yield first, second
