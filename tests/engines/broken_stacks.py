"""Stack and project files broken the way a user breaks them, with the real Pulumi CLI's message for each.

Shared by tests/engines/test_real_cli.py (which runs the real CLI on each case) and by preflight's
tests (which must fail the same input with the same message). A case names a reference stack,
patches applied to parsed copies of ``Pulumi.yaml`` and of that stack's file, the CLI command that
stops, and the CLI's error text after its ``error: `` prefix.

Every message comes from the CLI's source, pulumi/pulumi v3.274.1:
- ``validating stack config: %w``: pkg/cmd/pulumi/operations/preview.go ``NewPreviewCmd``, around
  the error of pkg/workspace/config.go ``ValidateStackConfigAndApplyProjectConfig``;
- a key of the wrong type: pkg/workspace/config.go ``validateStackConfigValue`` ("Stack '%v' with
  configuration key '%v' must be of type '%v'", the type as ``workspace.InferFullTypeName`` names it);
- a required key missing (declared without ``default`` or ``value``): pkg/workspace/config.go
  ``mergeConfig`` and ``missingStackConfigurationKeysError`` ("Stack '%v' is missing configuration
  value %v", the key as Pulumi.yaml spells it);
- another namespace's key declared with a type: sdk/go/common/workspace/project.go
  ``(*Project).Validate`` ("Configuration key '%v' is not namespaced by the project and should not
  define a type"), wrapped by sdk/go/common/workspace/loaders.go ``LoadProjectBytes`` ("could not
  unmarshal '%s': %w", the project file's path). Loading the project fails, so ``pulumi stack
  init`` already stops there.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

REPO = Path(__file__).resolve().parents[2]
PROJECT_FILE = "Pulumi.yaml"

Patch = Callable[[dict[str, Any]], None]


def _set(key: str, value: Any) -> Patch:
    def patch(document: dict[str, Any]) -> None:
        document["config"][key] = value

    return patch


def _delete(key: str) -> Patch:
    def patch(document: dict[str, Any]) -> None:
        del document["config"][key]

    return patch


@dataclass(frozen=True)
class BrokenStack:
    """One user mistake: what is changed, where the CLI stops, and the CLI's own message."""

    description: str
    stack: str
    project_patch: Patch | None
    stack_patch: Patch | None
    fails_at: Literal["stack init", "preview"]
    # The CLI's message after "error: "; {stack} is the stack's name, {project_file} the absolute
    # path of the Pulumi.yaml the CLI loaded.
    message: str

    @property
    def stack_file(self) -> str:
        return f"stacks/Pulumi.{self.stack}.yaml"

    def files(self, repo: Path = REPO) -> dict[str, str]:
        """The broken copies, by path relative to the project: only the files a patch changes."""
        result = {}
        for relative, patch in ((PROJECT_FILE, self.project_patch), (self.stack_file, self.stack_patch)):
            if patch is not None:
                document = copy.deepcopy(yaml.safe_load((repo / relative).read_text()))
                patch(document)
                result[relative] = yaml.safe_dump(document, sort_keys=False)
        return result

    def expected(self, project_file: Path) -> str:
        return self.message.format(stack=self.stack, project_file=project_file)


BROKEN_STACKS: tuple[BrokenStack, ...] = (
    BrokenStack(
        description="a boolean key given a word: confidential: 'yes'",
        stack="hosts-genomics-prod",
        project_patch=None,
        stack_patch=_set("secure-ai-platform:confidential", "yes"),
        fails_at="preview",
        message=(
            "validating stack config: Stack '{stack}' with configuration key "
            "'secure-ai-platform:confidential' must be of type 'boolean'"
        ),
    ),
    BrokenStack(
        description="a string key given a list: two contacts instead of one",
        stack="platform-dev",
        project_patch=None,
        stack_patch=_set("secure-ai-platform:contact", ["ml-platform@example.com", "oncall@example.com"]),
        fails_at="preview",
        message=(
            "validating stack config: Stack '{stack}' with configuration key "
            "'secure-ai-platform:contact' must be of type 'string'"
        ),
    ),
    BrokenStack(
        description="a required key missing: no secure-ai-platform:environment",
        stack="tenant-clinical-prod",
        project_patch=None,
        stack_patch=_delete("secure-ai-platform:environment"),
        fails_at="preview",
        message="validating stack config: Stack '{stack}' is missing configuration value 'secure-ai-platform:environment'",
    ),
    BrokenStack(
        description="Pulumi.yaml declares the AWS provider's aws:region with a type",
        stack="baseline-dev",
        project_patch=_set("aws:region", {"type": "string", "description": "AWS region of the stack."}),
        stack_patch=None,
        fails_at="stack init",
        message=(
            "could not unmarshal '{project_file}': Configuration key 'aws:region' is not namespaced "
            "by the project and should not define a type"
        ),
    ),
)
