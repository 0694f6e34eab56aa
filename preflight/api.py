"""The Python API: preview a program directory, or a function as if it were a program's body."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from . import engine
from .model import Mode, Preview, UsageError
from .policy import evaluate_policies
from .project import Project, StackConfig, find_project, load_stack_config

DEFAULT_PROJECT = "secure-ai-platform"
MODES: tuple[Mode, ...] = ("first-preview", "update")
PolicyConfigInput = Mapping[str, Any] | Path | Sequence[Path] | None


def preview_program(
    program_dir: Path,
    stack: str,
    *,
    config: Mapping[str, Any] | None = None,
    stack_config_file: Path | None = None,
    mode: Mode = "first-preview",
    policy_packs: Sequence[Path] | None = None,
    policy_config: PolicyConfigInput = None,
    exact: bool = False,
) -> Preview:
    """Preview the Pulumi Python program in ``program_dir`` (or its project) for ``stack``.

    ``config`` (namespaced keys to values; wrap secrets in ``preflight.Secret``) replaces the stack
    file; without it the stack file is ``stack_config_file`` or ``Pulumi.<stack>.yaml`` in the
    project's ``stackConfigDir``, and a missing file means an empty config. ``policy_packs`` are
    evaluated (none when ``None``); ``policy_config`` is in the CLI's ``--policy-pack-config``
    format and applies to every pack (a path to such a file works too, and a list of paths gives one
    file per pack, as the CLI pairs them), otherwise each pack's ``config/<environment>.json`` is
    used when it exists. ``exact`` runs each pack in its own process over the analyzer protocol.
    Raises ``ProgramError`` when the program or its config fails.
    """
    _check_mode(mode)
    project = find_project(Path(program_dir))
    stack_config = load_stack_config(
        project, stack, stack_config_file=stack_config_file, overrides=config, require_file=False
    )
    body = engine.program_body(project.main_dir)
    return _preview(
        body,
        project=project.name,
        stack=stack,
        stack_config=stack_config,
        mode=mode,
        policy_packs=policy_packs,
        policy_config=policy_config,
        exact=exact,
        project_info=project,
    )


def preview_function(
    fn: Callable[[], None],
    *,
    project: str = DEFAULT_PROJECT,
    stack: str = "test-dev",
    config: Mapping[str, Any] | None = None,
    mode: Mode = "first-preview",
    policy_packs: Sequence[Path] | None = None,
    policy_config: PolicyConfigInput = None,
    exact: bool = False,
) -> Preview:
    """Run ``fn`` as if it were a program's body (same engine, transforms applied, graph recorded)."""
    _check_mode(mode)
    values: dict[str, Any] = {}
    for key, value in (config or {}).items():
        values[key if ":" in key else f"{project}:{key}"] = value
    synthetic = Project(
        name=project,
        root=Path.cwd(),
        main_dir=Path.cwd(),
        stack_config_dir=Path.cwd(),
        project_file=Path.cwd() / "Pulumi.yaml",
    )
    stack_config = load_stack_config(synthetic, stack, overrides=values)
    return _preview(
        fn,
        project=project,
        stack=stack,
        stack_config=stack_config,
        mode=mode,
        policy_packs=policy_packs,
        policy_config=policy_config,
        exact=exact,
        project_info=None,
    )


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")


def _preview(
    body: Callable[[], None],
    *,
    project: str,
    stack: str,
    stack_config: StackConfig,
    mode: Mode,
    policy_packs: Sequence[Path] | None,
    policy_config: PolicyConfigInput,
    exact: bool,
    project_info: Project | None,
) -> Preview:
    started = time.perf_counter()
    result = engine.run(
        body,
        project=project,
        stack=stack,
        config=stack_config,
        mode=mode,
        main_dir=project_info.main_dir if project_info else None,
        root_dir=project_info.root if project_info else None,
    )
    preview = Preview(
        project=project,
        stack=stack,
        mode=mode,
        resources=result.resources,
        outputs=result.outputs,
        invokes=result.invokes,
        diagnostics=result.diagnostics,
        program_seconds=result.seconds,
        exact=exact,
        program_dir=project_info.main_dir if project_info else None,
        stack_file=stack_config.file,
        config=stack_config.plain(),
    )
    if policy_packs:
        policy_started = time.perf_counter()
        evaluate_policies(
            preview,
            [Path(pack) for pack in policy_packs],
            stack_config=stack_config,
            policy_config=policy_config,
            exact=exact,
        )
        preview.policy_seconds = time.perf_counter() - policy_started
    preview.seconds = time.perf_counter() - started
    return preview
