"""The README's deploy runbook and docs/deploy.md say exactly what the program does (issue 11, items 4 and 10)."""

from __future__ import annotations

import re
import shlex
from functools import cache
from pathlib import Path

import yaml

from infra.components import deploy_runner
from infra.config import settings_from_stack_file
from preflight import Preview, preview_program

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DEPLOY_DOC = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
STACK = "platform-prod"


@cache
def preview() -> Preview:
    return preview_program(ROOT, STACK, mode="update")


def bash_commands(markdown: str) -> list[str]:
    """Every command of the ```bash blocks, continuation lines joined, comments dropped, in document order."""
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            code = line.split("  #", 1)[0].strip()
            if code and not code.startswith("#"):
                commands.append(code)
    return commands


def pulumi_invocations(command: str) -> list[list[str]]:
    """The ``pulumi …`` invocations in a line, those in ``$(…)`` substitutions included, as words."""
    found = []
    for match in re.finditer(r"(?:^|[\s(])pulumi ([^()|;&]*)", command):
        words = re.findall(r"'[^']*'|\"[^\"]*\"|\S+", match.group(1))
        found.append(["pulumi", *(word.strip("'\"") for word in words)])
    return found


def test_no_command_names_a_stack_before_it_is_created() -> None:
    """``-s <stack>`` on a stack nobody created fails (the CLI looks the stack up in the backend); the runbook
    creates each stack with ``pulumi stack init`` before any command names it."""
    created: set[str] = set()
    named = []
    for command in bash_commands(README):
        for words in pulumi_invocations(command):
            if words[1:3] == ["stack", "init"]:
                created.add(words[3])
                continue
            for flag in ("-s", "--stack"):
                if flag in words:
                    stack = words[words.index(flag) + 1]
                    named.append(stack)
                    assert stack in created, f"{command!r} names {stack} before pulumi stack init {stack}"
    assert {"bootstrap-prod", "baseline-prod", STACK} <= set(named)


def cli_options(words: list[str]) -> list[str]:
    """A pulumi command's flags and values, ``-s`` spelled ``--stack``, order-insensitive."""
    return sorted("--stack" if word == "-s" else word for word in words[2:])


def readme_invocation(verb: str, flag: str) -> list[str]:
    [found] = [
        words
        for command in bash_commands(README)
        for words in pulumi_invocations(command)
        if words[1] == verb and flag in words
    ]
    return found


def test_the_readme_runs_exactly_the_programs_two_runs() -> None:
    settings = settings_from_stack_file(
        yaml.safe_load((ROOT / f"stacks/Pulumi.{STACK}.yaml").read_text())["config"], STACK
    )
    outside = deploy_runner.outside_up(settings, STACK)
    assert cli_options(readme_invocation("up", "--exclude")) == cli_options(
        [word for word in outside if word != "--non-interactive"]
    )
    preview_words = readme_invocation("preview", "--exclude")
    assert cli_options(preview_words) == cli_options(
        ["preview" if w == "up" else w for w in outside if w not in ("--yes", "--non-interactive")]
    )
    # Run 2 is the buildspec's, quoted in both documents as the CLI gets it.
    inside = shlex.join(["pulumi", "up", "-s", STACK, *deploy_runner.inside_up(settings, STACK)[4:7]])
    assert inside in " ".join(README.split())


def test_the_runbook_reads_the_runners_stack_outputs() -> None:
    keys = set(re.findall(r"\$\(runner (\w+)\)", README))
    assert keys == set(preview().outputs["deployRunner"])  # every output it needs, and only those
    assert "cat tools/deploy-runner/Dockerfile requirements.lock | sha256sum | cut -c1-16" in README


def test_the_buildspec_in_docs_is_the_programs() -> None:
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", DEPLOY_DOC, re.DOTALL) if "version: 0.2" in b]
    text = re.sub(r"^  ", "", block, flags=re.MULTILINE)
    record = next(r for r in preview().by_type("aws:codebuild/project:Project"))
    backend = preview().config["secure-ai-platform:stateBackend"]
    for placeholder, value in {
        "<state bucket>": backend["bucket"],
        "<region>": "us-east-1",
        "<cluster>": "aip-prod",
        "<stack>": STACK,
        "<env>": "prod",
    }.items():
        text = text.replace(placeholder, value)
    assert yaml.safe_load(text) == yaml.safe_load(record.inputs["source"]["buildspec"])


def test_the_docs_permission_table_names_every_statement_of_the_runners_role() -> None:
    for name in ("platform-prod", "tenant-clinical-prod"):
        stack = preview_program(ROOT, name, mode="update")
        [policy] = [
            r for r in stack.by_type("aws:iam/rolePolicy:RolePolicy") if r.name.endswith("deploy-runner-permissions")
        ]
        for sid in re.findall(r'"Sid": "(\w+)"', policy.inputs["policy"]):
            assert f"`{sid}`" in DEPLOY_DOC, (name, sid)
