"""preflight on the project's own reference stacks: every stack covered, Kubernetes objects valid,
and the fast policy path reporting exactly what the unmodified pack reports over the analyzer protocol.

Whether the stacks pass their policies is tests/policies' business; here only preflight's fidelity.
"""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from preflight import Preview, cli, preview_program
from preflight.kubernetes import is_object, render
from preflight.policy import discover_packs

REPO = Path(__file__).resolve().parents[2]
STACKS = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in (REPO / "stacks").glob("Pulumi.*.yaml"))
PACKS = discover_packs(REPO / "policy_packs")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not STACKS or not PACKS, reason="the project has no reference stacks or policy packs yet"),
]


@cache
def fast(stack: str) -> Preview:
    return preview_program(REPO, stack, policy_packs=PACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_fast_path_matches_the_pack_over_the_analyzer_protocol(stack: str) -> None:
    exact = preview_program(REPO, stack, policy_packs=PACKS, exact=True)
    assert fast(stack).policy_outcome() == exact.policy_outcome()


def _cluster_version(stack: str) -> str | None:
    document = yaml.safe_load((REPO / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    cluster = (document.get("config") or {}).get("secure-ai-platform:cluster") or {}
    version = cluster.get("version") if isinstance(cluster, dict) else None
    return str(version) if version else None


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_kubernetes_objects_validate_strictly(stack: str, tmp_path: Path) -> None:
    preview = fast(stack)
    objects = [record for record in preview.resources if is_object(record)]
    version = _cluster_version(stack)
    if version is None:
        assert not objects, "Kubernetes objects in a stack without a cluster"
        return
    written = render(preview, tmp_path)
    assert len(written) == len(objects) > 0
    problems = []
    for path in written:
        try:
            kubernetes_validate.validate(yaml.safe_load(path.read_text()), version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{path.name}: {exc.message}")
    assert not problems, problems


def test_all_covers_every_reference_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(["--all", "--format", "json"], stdout=out, stderr=err)
    documents = json.loads(out.getvalue())
    assert [document["stack"] for document in documents] == STACKS
    assert all("summary" in document for document in documents), err.getvalue()
    assert code in (0, 1)
