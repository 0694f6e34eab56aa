"""The ai-guardrails pack is publishable: its directory alone installs and runs (issue 11, items 6 and 7).

`pulumi policy publish` uploads the pack's directory and nothing else: a .tgz of it minus what
.gitignore files exclude (pulumi/pulumi pkg/backend/httpstate/policypack.go (v3.274.1),
``cloudPolicyPack.Publish`` → ``archive.TGZ``; sdk/go/common/util/archive/archive.go
``addDirectoryToTar``). Whoever enforces it then installs it with the pack's directory as the root
and program directory (``installRequiredPolicy``: ``plugin.NewProgramInfo(finalDir, finalDir, ...)``),
and the Python language host runs pip there: ``pip install -r requirements.txt`` with
``pipCmd.Dir`` = the program directory (pulumi/pulumi sdk/python/toolchain/pip.go
``InstallDependencies``). pip resolves a relative requirement such as ``./standards`` against its
working directory (pip ``_internal/req/constructors.py`` ``parse_req_from_line``:
``os.path.abspath(name)``), so the standards must live inside the pack.

Here, as a publisher's CI would: copy only ``policy_packs/ai-guardrails/`` to an empty directory,
create its virtualenv where ``PulumiPolicy.yaml`` says, from its own ``requirements.txt`` with that
directory as pip's working directory, and run it through ``preflight --policy-pack <copy> --exact``
(its own process, with its own interpreter, over the analyzer protocol) on every reference stack.
The results must equal the in-tree pack's. The virtualenv is built once per session (~30 s).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from preflight import cli
from preflight.policy.clients import pack_python

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "policy_packs" / "ai-guardrails"
STACKS = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in (REPO / "stacks").glob("Pulumi.*.yaml"))
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)$")

pytestmark = pytest.mark.slow


def _normalised(name: str) -> str:
    """PEP 503 name normalisation: PyYAML, pyyaml and py_yaml are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[_normalised(match.group(1))] = match.group(2)
    return pins


def _ignored_by_the_copy(copy: Path, relative: list[str]) -> set[str]:
    """The files the copy's own .gitignore excludes (git's matcher, as the CLI's archive applies it)."""
    subprocess.run(["git", "init", "-q", str(copy)], check=True)
    result = subprocess.run(
        ["git", "-C", str(copy), "check-ignore", "--no-index", "--stdin"],
        input="\n".join(relative),
        capture_output=True,
        text=True,
        check=False,
    )
    shutil.rmtree(copy / ".git")
    return set(result.stdout.splitlines())


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Only the pack's directory, in an empty place, with its virtualenv built from its own requirements."""
    copy = tmp_path_factory.mktemp("publish") / "ai-guardrails"
    shutil.copytree(PACK, copy, ignore=shutil.ignore_patterns("venv", "__pycache__", "*.egg-info", "build"))
    runtime = yaml.safe_load((copy / "PulumiPolicy.yaml").read_text(encoding="utf-8"))["runtime"]
    venv = copy / runtime["options"]["virtualenv"]
    # What the Python language host does (pip.go InstallDependencies): `python -m venv <venv>`, then pip
    # in the venv with the pack's directory as its working directory. (The host also upgrades pip,
    # setuptools and wheel first; that step installs whatever is newest, so the test leaves it out to
    # stay pinned.)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
        cwd=copy,
        check=True,
        timeout=600,
        env={key: value for key, value in os.environ.items() if not key.startswith("PYTHON")},
    )
    return copy


def test_the_pack_names_its_own_virtualenv() -> None:
    # `pulumi policy new` sets virtualenv: venv on every Python pack that lacks it (pulumi/pulumi
    # pkg/cmd/pulumi/policy/policy_new.go, "Workaround for python"), and the CLI hands these runtime
    # options to the language host that installs and runs the pack (sdk/go/common/resource/plugin/
    # plugin.go: NewProgramInfo(pluginDir, pluginDir, ".", runtimeInfo.Options()) for RunPlugin).
    document = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert document["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}


def test_requirements_pin_the_versions_the_project_locks() -> None:
    lines = [line for line in (PACK / "requirements.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    requirements = [line for line in lines if not line.startswith("#")]
    assert requirements[-1] == "./standards"
    pins = _pins(PACK / "requirements.txt")
    assert len(pins) == len(requirements) - 1, "every requirement but ./standards is pinned with =="
    locked = _pins(REPO / "requirements.lock")
    assert {name: locked.get(name) for name in pins} == pins


def test_the_copy_installs_exactly_its_pins_and_its_own_standards(published: Path) -> None:
    python = published / "venv" / "bin" / "python"
    assert pack_python(published) == str(python)
    frozen = subprocess.run(
        [str(python), "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    pins = {f"{name}=={version}" for name, version in _pins(published / "requirements.txt").items()}
    assert {f"{_normalised(line.split('==')[0])}=={line.split('==')[1]}" for line in frozen if "==" in line} == pins
    assert [line for line in frozen if "==" not in line] == [
        f"aiplatform-standards @ {(published / 'standards').as_uri()}"
    ]
    where = subprocess.run(
        [str(python), "-c", "import aiplatform_standards; print(aiplatform_standards.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    ).stdout.strip()
    assert Path(where).is_relative_to(published / "venv"), where


def test_the_published_archive_carries_the_standards_and_no_virtualenv(published: Path) -> None:
    files = sorted(str(path.relative_to(published)) for path in published.rglob("*") if path.is_file())
    archived = set(files) - _ignored_by_the_copy(published, files)
    data = {
        f"standards/aiplatform_standards/data/{name}"
        for name in ("controls.yaml", "platform.yaml", "gpu_instances.yaml", "aws_taggable_types.json")
    }
    assert {"PulumiPolicy.yaml", "requirements.txt", "__main__.py", "standards/pyproject.toml", *data} <= archived
    assert not [name for name in archived if name.startswith(("venv/", "standards/build/")) or ".egg-info" in name]


@pytest.mark.parametrize("stack", STACKS)
def test_the_copy_reports_what_the_in_tree_pack_reports(
    published: Path, stack: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def report(*pack: str) -> dict[str, Any]:
        out, err = io.StringIO(), io.StringIO()
        code = cli.run([stack, *pack, "--exact", "--format", "json"], stdout=out, stderr=err)
        assert code == 0, err.getvalue()
        document = json.loads(out.getvalue())
        del document["summary"]["seconds"]  # wall time, the one field two runs never share
        # Resources register in the order their inputs resolve (invoke answers among them), which two
        # runs need not share; the report is the same set.
        for key in ("resources", "violations", "errors"):
            document[key] = sorted(document[key], key=lambda item: json.dumps(item, sort_keys=True))
        return document

    monkeypatch.chdir(REPO)
    assert report("--policy-pack", str(published)) == report()
