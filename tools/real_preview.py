"""Run the real Pulumi CLI (built by `make engines`) on this project, offline and without side effects.

Usage: python tools/real_preview.py <stack>      (what `make real-preview STACK=<stack>` runs)

The CLI runs in a throwaway workspace: a temporary directory holds a file backend (``file://``), a
``PULUMI_HOME`` and a copy of the project whose ``Pulumi.yaml`` and ``stacks/`` are copied (the
CLI writes to them: ``pulumi stack init`` adds the passphrase ``encryptionsalt`` to the stack file)
and whose other entries are symbolic links to the repository (the program, its ``.venv``, the
policy pack). The passphrase is empty (``PULUMI_CONFIG_PASSPHRASE=""``), and the CLI neither
checks for updates nor downloads plugins: the machines reach no plugin server, so a missing plugin
must fail with the CLI's own "not found" error rather than a download error.

Every line the CLI prints is its own; this module adds none to a run's output. Tests reuse
:class:`CliWorkspace` (tests/engines).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
ENGINES_BIN = REPO / ".engines" / "bin"
PULUMI = ENGINES_BIN / "pulumi"
PULUMI_GO_MOD = REPO / "tools" / "engines" / "pulumi" / "go.mod"
POLICY_PACK = REPO / "policy_packs" / "ai-guardrails"
# Entries of the project that the CLI may write to, and so are copied rather than linked.
COPIED = ("Pulumi.yaml", "stacks")
# Entries never worth linking into the workspace: state of this repository and of tools.
NOT_LINKED = frozenset({".git", ".engines", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".preflight"})
ENVIRONMENT_KEY = "secure-ai-platform:environment"


def reference_stacks() -> list[str]:
    """The stacks the repository ships: every stacks/Pulumi.<stack>.yaml."""
    return sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (REPO / "stacks").glob("Pulumi.*.yaml"))


def pinned_pulumi_version() -> str:
    """The CLI version `make engines` builds: pkg/v3's version in tools/engines/pulumi/go.mod."""
    match = re.search(r"^\s*github\.com/pulumi/pulumi/pkg/v3 (v\S+)", PULUMI_GO_MOD.read_text(), re.MULTILINE)
    if match is None:
        raise ValueError(f"{PULUMI_GO_MOD}: no requirement on github.com/pulumi/pulumi/pkg/v3")
    return match.group(1)


def stack_environment(stack_file: Path) -> str:
    """The stack's ``secure-ai-platform:environment``, which names the policy pack's config file."""
    config = (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {}
    environment = config.get(ENVIRONMENT_KEY)
    if not isinstance(environment, str):
        raise ValueError(f"{stack_file}: config {ENVIRONMENT_KEY} must be set (dev, staging or prod)")
    return environment


def policy_pack_args(environment: str) -> list[str]:
    """The CLI flags that enforce the ai-guardrails pack with the environment's config."""
    config = POLICY_PACK / "config" / f"{environment}.json"
    if not config.is_file():
        raise ValueError(f"{config}: no ai-guardrails config for environment {environment!r}")
    return ["--policy-pack", str(POLICY_PACK), "--policy-pack-config", str(config)]


@dataclass(frozen=True)
class CliWorkspace:
    """A throwaway project copy, file backend and PULUMI_HOME in which the real CLI runs."""

    root: Path
    pulumi: Path = PULUMI

    @property
    def project(self) -> Path:
        return self.root / "project"

    def stack_file(self, stack: str) -> Path:
        return self.project / "stacks" / f"Pulumi.{stack}.yaml"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env.update(
            PULUMI_HOME=str(self.root / "home"),
            PULUMI_BACKEND_URL=(self.root / "state").as_uri(),
            PULUMI_CONFIG_PASSPHRASE="",
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        )
        return env

    def command(self, args: Sequence[str]) -> list[str]:
        return [str(self.pulumi), *args, "--non-interactive", "--cwd", str(self.project)]

    def run(self, args: Sequence[str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run the CLI, capturing stdout and stderr together (the order a person sees them in)."""
        return subprocess.run(  # noqa: S603 - the command is our own built CLI and fixed arguments
            self.command(args),
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )

    def stream(self, args: Sequence[str]) -> int:
        """Run the CLI with its output going straight to this process's stdout and stderr."""
        return subprocess.run(self.command(args), env=self.env(), check=False).returncode  # noqa: S603


@contextmanager
def cli_workspace(
    source: Path = REPO, overrides: Mapping[str, str] | None = None, pulumi: Path = PULUMI
) -> Iterator[CliWorkspace]:
    """A workspace over the project at ``source``; ``overrides`` replaces copied files by relative path."""
    if not pulumi.is_file():
        raise FileNotFoundError(f"{pulumi}: the real Pulumi CLI is not built; run `make engines`")
    with tempfile.TemporaryDirectory(prefix="real-pulumi-") as tmp:
        workspace = CliWorkspace(Path(tmp), pulumi)
        project = workspace.project
        project.mkdir()
        (workspace.root / "home").mkdir()
        (workspace.root / "state").mkdir()
        for entry in sorted(source.iterdir()):
            if entry.name in COPIED:
                copy = shutil.copytree if entry.is_dir() else shutil.copy2
                copy(entry, project / entry.name)
            elif entry.name not in NOT_LINKED:
                (project / entry.name).symlink_to(entry)
        for relative, text in (overrides or {}).items():
            target = project / relative
            if not any(Path(relative).parts[0] == name for name in COPIED):
                raise ValueError(f"{relative}: only copies of {', '.join(COPIED)} may be overridden")
            target.write_text(text)
        yield workspace


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1:
        print("usage: python tools/real_preview.py <stack>", file=sys.stderr)
        return 2
    stack = argv[0]
    stack_file = REPO / "stacks" / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        print(f"{stack_file}: no such stack file; reference stacks: {', '.join(reference_stacks())}", file=sys.stderr)
        return 2
    pack = policy_pack_args(stack_environment(stack_file))
    with cli_workspace() as workspace:
        code = workspace.stream(["stack", "init", stack])
        if code != 0:
            return code
        return workspace.stream(["preview", "--stack", stack, "--diff", *pack])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
