"""The session's real Kubernetes control planes: one etcd, and per cluster stack an API server.

Started once per test session (lazily, at the first test of each stack), stopped at its end, also
when a test or the bring-up fails. Without the engines the tests are skipped; in CI (``CI`` set)
they fail instead, telling to run ``make engines``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from kube_apiserver import missing_engines, running_etcd
from kube_platform import Clusters, Rendering, cluster_stacks


@pytest.fixture(scope="session")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clusters]:
    missing = missing_engines()
    if missing:
        names = ", ".join(str(path) for path in missing)
        if os.environ.get("CI"):
            pytest.fail(f"{names} missing: CI must run `make engines` before `make test`")
        pytest.skip(f"{names} not built: run `make engines` to run the admission tests")
    root = tmp_path_factory.mktemp("kube")
    stacks = cluster_stacks()
    with ExitStack() as exits:
        rendering = Rendering(list(stacks), root / "rendered")
        exits.callback(rendering.stop)
        etcd = exits.enter_context(running_etcd(root / "etcd"))
        yield Clusters(stacks, etcd, rendering, root, exits)
