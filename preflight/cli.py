"""``python -m preflight``: an offline ``pulumi preview`` with the policy packs enforced.

Exit codes: 0 no mandatory violation; 1 mandatory violations or policy errors; 2 the program or
its config failed, or the command line is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from . import kubernetes, reports
from .api import MODES, preview_program
from .model import PreflightError, Preview, ProgramError, UsageError
from .policy import discover_packs
from .project import Project, find_project
from .reports import Failed, Outcome

FORMATS = ("text", "json", "sarif", "markdown")
EXIT_PASSED, EXIT_VIOLATIONS, EXIT_FAILED = 0, 1, 2


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m preflight",
        description="Offline `pulumi preview` of a Pulumi Python program with the policy packs enforced.",
    )
    p.add_argument("stacks", nargs="*", metavar="STACK", help="stack(s) to preview (stacks/Pulumi.<STACK>.yaml)")
    p.add_argument("--all", action="store_true", help="preview every stack in the project's stack config directory")
    p.add_argument("--program", type=Path, help="a Pulumi Python program directory (default: this project)")
    p.add_argument("--stack-config", type=Path, help="the stack config file to use (one stack only)")
    p.add_argument(
        "--policy-pack",
        type=Path,
        action="append",
        default=[],
        dest="policy_packs",
        metavar="DIR",
        help="a policy pack directory; repeatable (default: every pack under policy_packs/)",
    )
    p.add_argument(
        "--policy-pack-config",
        type=Path,
        action="append",
        default=[],
        dest="policy_pack_configs",
        metavar="FILE",
        help="policy config in the CLI's format, one per --policy-pack (default: <pack>/config/<environment>.json)",
    )
    p.add_argument(
        "--mode", choices=MODES, default="first-preview", help="first-preview: cloud values unknown; update: known"
    )
    p.add_argument("--exact", action="store_true", help="run each pack in its own process over the analyzer protocol")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--output", type=Path, help="write the report here instead of stdout")
    p.add_argument(
        "--render-k8s", type=Path, metavar="DIR", help="write each Kubernetes object as YAML under DIR/<stack>/"
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks of program and policy failures")
    return p


def _stack_name(path: Path) -> str:
    name = path.name
    if name.startswith("Pulumi.") and name.endswith((".yaml", ".yml")):
        return name[len("Pulumi.") :].rsplit(".", 1)[0]
    return path.stem


def _packs(args: argparse.Namespace, project: Project) -> list[Path]:
    if args.policy_packs:
        missing = [str(p) for p in args.policy_packs if not (p / "PulumiPolicy.yaml").is_file()]
        if missing:
            raise UsageError(f"not a policy pack (no PulumiPolicy.yaml): {', '.join(missing)}")
        return [p.resolve() for p in args.policy_packs]
    for root in (project.root / "policy_packs", Path.cwd() / "policy_packs"):
        found = discover_packs(root)
        if found:
            return found
    return []


def _stacks(args: argparse.Namespace, project: Project) -> list[str]:
    if args.all:
        if args.stacks or args.stack_config:
            raise UsageError("--all takes no STACK and no --stack-config")
        stacks = project.stacks()
        if not stacks:
            raise UsageError(f"no stack files (Pulumi.<stack>.yaml) in {project.stack_config_dir}")
        return stacks
    if args.stacks:
        if args.stack_config and len(args.stacks) > 1:
            raise UsageError("--stack-config applies to one stack only")
        return list(dict.fromkeys(args.stacks))
    if args.stack_config:
        return [_stack_name(args.stack_config)]
    if args.program:
        return ["dev"]
    raise UsageError("name a STACK, or use --all")


class _Progress:
    """One line per stack on stderr, only when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()

    def start(self, stack: str, index: int, total: int) -> None:
        if self.enabled:
            self.stream.write(f"preflight: previewing {stack} ({index}/{total})…\n")
            self.stream.flush()


def run(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = parser().parse_args(argv)
    try:
        return _run(args, out, err)
    except PreflightError as exc:
        message = exc.location_message() if isinstance(exc, ProgramError) else str(exc)
        err.write(f"preflight: error: {message}\n")
        if args.debug and isinstance(exc, ProgramError) and exc.detail:
            err.write(exc.detail)
        return EXIT_FAILED


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    program = args.program or Path.cwd()
    project = find_project(program)
    stacks = _stacks(args, project)
    packs = _packs(args, project)
    if args.policy_pack_configs and len(args.policy_pack_configs) != max(len(packs), 1):
        raise UsageError("give one --policy-pack-config per --policy-pack, in the same order")
    for config_file in args.policy_pack_configs:
        if not config_file.is_file():
            raise UsageError(f"policy pack config {config_file} does not exist")
    require_file = args.program is None and args.stack_config is None
    outcomes: list[Outcome] = []
    progress = _Progress(err)
    for index, stack in enumerate(stacks, start=1):
        progress.start(stack, index, len(stacks))
        stack_file = args.stack_config
        if require_file and not project.stack_file(stack).is_file():
            raise UsageError(f"no stack file for '{stack}': {project.stack_file(stack)} does not exist")
        try:
            preview = preview_program(
                program,
                stack,
                stack_config_file=stack_file,
                mode=args.mode,
                policy_packs=packs,
                policy_config=list(args.policy_pack_configs) or None,
                exact=args.exact,
            )
        except ProgramError as exc:
            outcomes.append(Failed(project.name, stack, exc))
            continue
        outcomes.append(preview)
        if args.render_k8s:
            kubernetes.render(preview, args.render_k8s)
    report = _render(outcomes, args, single=not args.all and len(stacks) == 1)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(report, encoding="utf-8")
        if args.format != "text":
            out.write("\n".join(reports.stack_line(o) for o in outcomes) + "\n")
    else:
        out.write(report)
    for outcome in outcomes:
        if isinstance(outcome, Failed):
            err.write(f"preflight: {outcome.stack}: error: {outcome.error.location_message()}\n")
            if args.debug and outcome.error.detail:
                err.write(outcome.error.detail)
    return _exit_code(outcomes)


def _render(outcomes: Sequence[Outcome], args: argparse.Namespace, *, single: bool) -> str:
    if args.format == "json":
        return reports.json_report(outcomes, single=single)
    if args.format == "sarif":
        return json.dumps(reports.sarif(outcomes, base=Path.cwd()), indent=2) + "\n"
    if args.format == "markdown":
        return reports.markdown(outcomes)
    return reports.text(outcomes, debug=args.debug)


def _exit_code(outcomes: Sequence[Outcome]) -> int:
    if any(isinstance(o, Failed) for o in outcomes):
        return EXIT_FAILED
    if any(isinstance(o, Preview) and not o.passed for o in outcomes):
        return EXIT_VIOLATIONS
    return EXIT_PASSED


def main() -> None:
    sys.exit(run())
