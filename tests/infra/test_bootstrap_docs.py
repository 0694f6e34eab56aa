"""docs/bootstrap.md and the README's "0. Bootstrap the account" say what the code and the CLI do.

- The order table is infra/deploy_order.py's, verbatim: the docs read the one record of the order.
- Every ``pulumi`` command of their shell blocks is a command of the CLI with flags it defines, checked against the
  CLI's source (pulumi/pulumi pkg/cmd/pulumi, v3.274.1, in the Go module cache: the file that defines each command
  and the literal that declares each flag), and the outputs they read are the bootstrap stack's.
- The URLs shown are the bootstrap-prod stack's own outputs.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from reference_support import reference_stacks

from infra import deploy_order

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "bootstrap.md"
README = REPO / "README.md"
CLI_SOURCE = Path("/root/go/pkg/mod/github.com/pulumi/pulumi/pkg/v3@v3.274.1/cmd/pulumi")
STACK = '"stack", "s"'
# Each command the docs use: the CLI source file that defines it, the literal naming it (its Use or an alias), and
# the literal that declares each flag the docs pass.
COMMANDS: dict[tuple[str, ...], tuple[str, str, dict[str, str]]] = {
    ("login",): ("auth/login.go", 'Use:   "login"', {"--local": '"local", "l"'}),
    ("stack", "init"): (
        "stack/stack_new.go",
        'Aliases: []string{"init"',
        {"--secrets-provider": '"secrets-provider"', "-s": STACK},
    ),
    ("stack", "export"): ("stack/stack_export.go", 'Use:   "export"', {"-s": STACK, "--file": '"file"'}),
    ("stack", "import"): ("stack/stack_import.go", 'Use:   "import"', {"-s": STACK, "--file": '"file"'}),
    ("stack", "change-secrets-provider"): (
        "stack/stack_change_secrets_provider.go",
        'Use:   "change-secrets-provider"',
        {"-s": STACK},
    ),
    ("stack", "output"): ("stack/stack_output.go", 'Use:   "output"', {"-s": STACK, "--json": '"json", "j"'}),
    ("stack", "rm"): (
        "stack/stack_remove.go",
        'Aliases: []string{"rm"',
        {"--force": '"force", "f"', "--preserve-config": '"preserve-config"', "--yes": '"yes", "y"', "-s": STACK},
    ),
    ("stack", "migrate"): (
        "stack/stack_migrate.go",
        'Use:   "migrate <url> [stack-name]"',
        {"--secrets-provider": '"secrets-provider"'},
    ),
    ("up",): (
        "operations/up.go",
        'Use:        "up"',
        {"-s": STACK, "--policy-pack": '"policy-pack"', "--policy-pack-config": '"policy-pack-config"'},
    ),
    ("preview",): ("operations/preview.go", 'Use:        "preview"', {"-s": STACK}),
    ("destroy",): ("operations/destroy.go", 'Use:        "destroy"', {}),
}


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", markdown, flags=re.S)


def readme_bootstrap_section() -> str:
    text = README.read_text()
    start = text.index("## 0. Bootstrap the account\n")
    return text[start : text.index("\n## ", start + 1)]


def pulumi_commands(block: str) -> list[list[str]]:
    """Every pulumi invocation of a shell block (continuations joined, ``$(...)`` included), as words."""
    joined = block.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        for inner in re.findall(r"\$\((pulumi [^)]*)\)", line):
            commands.append(shlex.split(inner))
        words = shlex.split(line, comments=True)
        while words and "=" in words[0] and not words[0].startswith("-"):
            words = words[1:]  # environment assignments before the command
        if words and words[0] == "pulumi":
            commands.append(words)
    return commands


def command_key(words: list[str]) -> tuple[str, ...]:
    return (words[1], words[2]) if words[1] in ("stack", "config") else (words[1],)


def documented_commands() -> list[list[str]]:
    """The shell blocks' commands, and those quoted inline (`` `pulumi ...` ``) in docs/bootstrap.md."""
    blocks = shell_blocks(DOC.read_text()) + shell_blocks(readme_bootstrap_section())
    inline = [shlex.split(span) for span in re.findall(r"`(pulumi [^`]*)`", DOC.read_text())]
    return [words for block in blocks for words in pulumi_commands(block)] + inline


def test_the_order_table_is_the_recorded_order() -> None:
    assert deploy_order.markdown_table() in DOC.read_text()


def test_the_readme_bootstraps_before_it_deploys() -> None:
    text = README.read_text()
    assert text.index("## 0. Bootstrap the account\n") < text.index("## Deploy\n")
    assert text.index("## 0. Bootstrap the account\n") > text.index("## Prerequisites (real cloud)\n")
    assert "(docs/bootstrap.md)" in readme_bootstrap_section()


def test_every_command_is_one_the_docs_know() -> None:
    used = {command_key(words) for words in documented_commands()}
    assert used == set(COMMANDS)


@pytest.mark.skipif(not CLI_SOURCE.is_dir(), reason="the Pulumi CLI's Go source is not in the module cache")
def test_every_command_and_flag_is_the_clis() -> None:
    problems = []
    for words in documented_commands():
        source, declaration, flags = COMMANDS[command_key(words)]
        text = (CLI_SOURCE / source).read_text()
        if declaration not in text:
            problems.append(f"{' '.join(words[:3])}: {source} has no {declaration}")
        for flag in (word.split("=", 1)[0] for word in words if word.startswith("-")):
            literal = flags.get(flag)
            if literal is None or literal not in text:
                problems.append(f"{' '.join(words[:3])}: {flag} is not declared in {source}")
    assert problems == []


@pytest.mark.slow
def test_the_outputs_the_docs_read_are_the_bootstrap_stacks() -> None:
    outputs = reference_stacks()["bootstrap-prod"].preview.outputs
    read = {
        words[words.index("output") + 1]
        for words in documented_commands()
        if command_key(words) == ("stack", "output") and "bootstrap-prod" in words
    }
    assert read == {"backendUrl", "secretsProvider"}
    assert read <= set(outputs)
    text = DOC.read_text()
    assert f"# {outputs['backendUrl']}\n" in text
    assert f"# {outputs['secretsProvider']}\n" in text
    # A tier C tenant account's baseline keeps its state in the platform's prod bucket, under its prod key.
    assert f'pulumi login "{outputs["backendUrl"]}&profile=platform-prod"' in text
    assert f'--secrets-provider "{outputs["secretsProvider"]}&profile=platform-prod"' in text


def test_the_documented_stacks_exist() -> None:
    stacks = {path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in (REPO / "stacks").glob("Pulumi.*")}
    named = {
        word for words in documented_commands() for word in words if re.fullmatch(r"(bootstrap|baseline)-[a-z-]+", word)
    }
    assert named == {"bootstrap-prod", "baseline-clinical-prod", "baseline-prod"}
    assert named <= stacks
