"""The real Pulumi CLI (built from its Go module by `make engines`) accepts our project and stack files.

The CLI runs in a throwaway workspace (tools/real_preview.py): file backend, temporary PULUMI_HOME,
empty passphrase, no plugin downloads. The Python language host cannot be built here (its Go
module is refused by the module proxy; docs/engines.md), so a preview stops where the CLI launches
the `python` language plugin. Getting there proves that the CLI loaded Pulumi.yaml and validated
the stack's config against it: pkg/cmd/pulumi/operations/preview.go (v3.274.1) ``NewPreviewCmd``
validates the stack config (``ValidateStackConfigAndApplyProjectConfig``) before it runs the update
whose first step loads the language plugin.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from broken_stacks import BROKEN_STACKS, BrokenStack

from tools.real_preview import PULUMI, CliWorkspace, cli_workspace, pinned_pulumi_version, reference_stacks

TIMEOUT = 180

# The CLI's error when no `pulumi-language-python` is installed: pkg/engine/plugins.go (v3.274.1)
# ``GetRequiredPlugins``/``gatherPackagesFromProgram`` ("failed to load language plugin %s: %w") around
# sdk/go/common/workspace/plugins.go ``(*MissingError).Error`` ("no %[1]s plugin 'pulumi-%[1]s-%[2]s'
# found in the workspace%[3]s%[4]s", with " or on your $PATH" for a plugin the CLI also looks for there).
REPO = Path(__file__).resolve().parents[2]
MISSING_LANGUAGE_HOST = (
    "error: failed to load language plugin python: no language plugin 'pulumi-language-python' "
    "found in the workspace or on your $PATH"
)


@pytest.fixture(scope="module")
def real_cli() -> Path:
    if not PULUMI.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{PULUMI} is missing: CI must run `make engines` before `make test`")
        pytest.skip(f"{PULUMI} is not built: run `make engines` to run the real CLI's tests")
    return PULUMI


@pytest.fixture
def workspace(real_cli: Path) -> Iterator[CliWorkspace]:
    with cli_workspace(pulumi=real_cli) as ws:
        yield ws


def lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_version_is_the_pinned_one(workspace: CliWorkspace) -> None:
    result = workspace.run(["version"], timeout=TIMEOUT)
    assert (result.returncode, result.stdout) == (0, pinned_pulumi_version() + "\n")


@pytest.mark.slow
@pytest.mark.parametrize("stack", reference_stacks())
def test_preview_gets_past_project_and_stack_config_to_the_language_host(workspace: CliWorkspace, stack: str) -> None:
    init = workspace.run(["stack", "init", stack], timeout=TIMEOUT)
    assert (init.returncode, lines(init.stdout)) == (0, [f"Created stack '{stack}'"])

    preview = workspace.run(["preview", "--stack", stack], timeout=TIMEOUT)
    assert (preview.returncode, lines(preview.stdout)) == (1, [f"Previewing update ({stack}):", MISSING_LANGUAGE_HOST])


@pytest.mark.slow
def test_real_preview_prints_the_cli_output_and_exit_code_unchanged(real_cli: Path) -> None:
    # What `make real-preview STACK=platform-dev` runs: stack init, then preview with the pack and
    # its dev config; the CLI's lines reach the terminal as they are, nothing added or hidden.
    result = subprocess.run(
        [sys.executable, "tools/real_preview.py", "platform-dev"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert (result.returncode, lines(result.stdout)) == (
        1,
        ["Created stack 'platform-dev'", "Previewing update (platform-dev):", MISSING_LANGUAGE_HOST],
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", BROKEN_STACKS, ids=[case.description for case in BROKEN_STACKS])
def test_broken_stack_fails_with_the_cli_message(real_cli: Path, case: BrokenStack) -> None:
    with cli_workspace(overrides=case.files(), pulumi=real_cli) as ws:
        expected = ["error: " + case.expected(ws.project / "Pulumi.yaml")]
        init = ws.run(["stack", "init", case.stack], timeout=TIMEOUT)
        if case.fails_at == "stack init":
            assert (init.returncode, lines(init.stdout)) == (1, expected)
            return
        assert (init.returncode, lines(init.stdout)) == (0, [f"Created stack '{case.stack}'"])
        preview = ws.run(["preview", "--stack", case.stack], timeout=TIMEOUT)
        assert (preview.returncode, lines(preview.stdout)) == (1, expected)
