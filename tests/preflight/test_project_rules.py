"""preflight holds a project and its stacks to the Pulumi CLI's rules, with the CLI's messages.

Every rule is cited from pulumi/pulumi v3.274.1 (the Go module cache), with the CLI test it mirrors;
the broken projects and stacks are the shared table in ``cli_rule_cases.py``.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from cli_rule_cases import REPO, CliRuleCase, cases, write_case

from preflight import cli, go_yaml
from preflight.config_rules import (
    CIPHERTEXT,
    ConfigRuleError,
    Declaration,
    ItemsType,
    StackValue,
    go_json_float,
    missing_values_message,
    stack_value,
    validate_config_value,
    validate_stack_config,
)
from preflight.model import ProgramError
from preflight.project import find_project, load_project, load_stack_config

CASES = cases()


def _run(stack: str, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    """``make preview STACK=<stack>``: ``python -m preflight <stack>`` in the project's directory."""
    monkeypatch.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    code = cli.run([stack], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _key_line(path: Path, key: str, project: str) -> str:
    """``:<line>`` of ``key`` (as written or namespaced) in the file's ``config:`` map, or ``""``."""
    bare = key.removeprefix(f"{project}:")
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.startswith("  ") or line.startswith("   "):
            continue
        stripped = line.strip()
        written = stripped[:-1] if stripped.endswith(":") else stripped.split(": ", 1)[0]
        if written in (key, bare, f"{project}:{bare}"):
            return f":{number}"
    return ""


def _expected_stderr_line(case: CliRuleCase, stack_file: Path, directory: Path) -> str:
    assert case.message is not None
    project = str(case.project["name"])
    if case.stage == "project":
        # LoadProjectBytes (loaders.go) wraps Project.Validate's error with the file's absolute path.
        key = re.findall(r"'([^']+)'", case.message)[0]
        project_file = (directory / "Pulumi.yaml").resolve()
        where = f"Pulumi.yaml{_key_line(project_file, key, project)}"
        return f"preflight: error: {where}: could not unmarshal '{project_file}': {case.message}"
    typed = re.search(r"with configuration key '([^']+)'", case.message)
    where = stack_file.relative_to(directory).as_posix()
    line = _key_line(stack_file, typed.group(1), project) if typed else ""
    return f"preflight: {case.stack}: error: {where}{line}: {case.message}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_preflight_fails_exactly_where_the_cli_does(
    case: CliRuleCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each case of the shared table: exit code 2 and the CLI's message before the program runs
    (a synthetic case's program raises if it runs; a repository case's program would fail with the
    model's own message instead), or a clean run where the CLI accepts the config."""
    stack_file = write_case(case, tmp_path)
    code, out, err = _run(case.stack, tmp_path, monkeypatch)
    if case.message is None:
        assert (code, err) == (0, ""), out
        return
    assert code == 2
    assert _expected_stderr_line(case, stack_file, tmp_path) in err.splitlines()
    assert "the program ran" not in err


def _real_cli_table() -> ModuleType:
    """tests/engines/broken_stacks.py: the cases the real CLI is run on (tests/engines/test_real_cli.py).

    Loaded by path under the name that test imports it by, so both engines are judged on one table.
    """
    if "broken_stacks" not in sys.modules:
        spec = importlib.util.spec_from_file_location("broken_stacks", REPO / "tests" / "engines" / "broken_stacks.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["broken_stacks"] = module
        spec.loader.exec_module(module)
    return sys.modules["broken_stacks"]


REAL_CLI_CASES = _real_cli_table().BROKEN_STACKS


@pytest.mark.parametrize("case", REAL_CLI_CASES, ids=[case.description for case in REAL_CLI_CASES])
def test_preflight_fails_the_real_cli_cases_with_the_real_cli_message(
    case: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real CLI's table: the same broken files, the same message (after the CLI's "error: "),
    from `python -m preflight <stack>` in the project directory, with exit code 2."""
    files = case.files()
    project = yaml.safe_load(files.get("Pulumi.yaml") or (REPO / "Pulumi.yaml").read_text(encoding="utf-8"))
    project["main"] = str((REPO / project["main"]).resolve())
    (tmp_path / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
    stack_file = tmp_path / case.stack_file
    stack_file.parent.mkdir(parents=True)
    stack_file.write_text(
        files.get(case.stack_file) or (REPO / case.stack_file).read_text(encoding="utf-8"), encoding="utf-8"
    )
    code, _, err = _run(case.stack, tmp_path, monkeypatch)
    expected = re.escape(case.expected((tmp_path / "Pulumi.yaml").resolve()))
    if case.fails_at == "stack init":
        pattern = rf"preflight: error: Pulumi\.yaml:\d+: {expected}"
    else:
        pattern = rf"preflight: {case.stack}: error: {re.escape(case.stack_file)}(:\d+)?: {expected}"
    assert code == 2
    assert [line for line in err.splitlines() if re.fullmatch(pattern, line)], err


@pytest.mark.parametrize("case_id", ["item-1-aws-region-typed", "item-2-missing-two-values"])
def test_make_preview_exits_2_with_the_clis_message(case_id: str, tmp_path: Path) -> None:
    """The same through the process `make preview` starts (`python -m preflight <stack>`)."""
    case = next(case for case in CASES if case.id == case_id)
    write_case(case, tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "preflight", case.stack], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert case.message is not None
    assert case.message in result.stderr


def test_the_first_broken_item_1_line_is_reported_with_its_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = next(case for case in CASES if case.id == "item-1-aws-region-typed")
    write_case(case, tmp_path)
    text = (tmp_path / "Pulumi.yaml").read_text(encoding="utf-8").splitlines()
    line = next(number for number, content in enumerate(text, start=1) if content == "  aws:region:")
    _, _, err = _run(case.stack, tmp_path, monkeypatch)
    assert err.splitlines() == [
        f"preflight: error: Pulumi.yaml:{line}: could not unmarshal '{(tmp_path / 'Pulumi.yaml').resolve()}': "
        "Configuration key 'aws:region' is not namespaced by the project and should not define a type"
    ]


@pytest.mark.parametrize("stack", find_project(REPO).stacks())
def test_every_reference_stack_meets_the_clis_rules(stack: str) -> None:
    """The repository's Pulumi.yaml loads under Project.Validate and each stack file passes
    ValidateStackConfigAndApplyProjectConfig (pkg/workspace/config.go)."""
    project = find_project(REPO)
    config = load_stack_config(project, stack, require_file=True)
    assert config.values[f"{project.name}:environment"] in ("dev", "staging", "prod")


def test_the_cli_applies_defaults_of_every_optional_key() -> None:
    """mergeConfig hands the program a declared key's default where the stack does not set it."""
    project = find_project(REPO)
    config = load_stack_config(project, "baseline-dev", require_file=True)
    assert config.values["secure-ai-platform:hosts"] == "{}"
    assert config.values["secure-ai-platform:tenants"] == "[]"
    assert config.values["secure-ai-platform:confidential"] == "false"


def test_project_name_rules(tmp_path: Path) -> None:
    """ValidateProject (project.go): the name is required, findClosestKey suggests a near miss;
    project_test.go TestProjectValidationForName and TestProjectLoadJSONInformativeErrors."""
    (tmp_path / "__main__.py").write_text("")
    project_file = tmp_path / "Pulumi.yaml"
    for text, message in [
        ("Name: project\nruntime: python\n", "project is missing a 'name' attribute; found 'Name' instead"),
        ("runtime: python\n", "project is missing a 'name' attribute"),
        ("name: ''\nruntime: python\n", "project is missing a non-empty string 'name' attribute"),
        ("name: 12\nruntime: python\n", "project is missing a non-empty string 'name' attribute"),
        ("- name\n", "expected project to be an object, was '[]interface {}'"),
    ]:
        project_file.write_text(text)
        with pytest.raises(ProgramError) as caught:
            load_project(project_file)
        # LoadProjectBytes wraps ValidateProject's error: "could not validate '%s': %w".
        assert caught.value.message == f"could not validate '{project_file}': {message}"


# ValidateConfigValue (sdk/go/common/workspace/project.go): YAML values of Pulumi.yaml defaults,
# and the contents of stack values (text for scalars, JSON-decoded structures for objects).
VALUE_CHECKS = [
    ("string", None, "t3.micro", True),
    ("string", None, 12, False),
    ("string", None, CIPHERTEXT, True),
    ("integer", None, 20, True),
    ("integer", None, "20", True),
    ("integer", None, "-3", True),
    ("integer", None, "2.5", False),
    ("integer", None, "hello", False),
    ("integer", None, 2.0, True),
    ("integer", None, 2.5, False),
    ("integer", None, True, False),
    ("integer", None, "9223372036854775808", False),
    ("boolean", None, True, True),
    ("boolean", None, "true", True),
    ("boolean", None, "yes", False),
    ("boolean", None, "True", False),
    ("object", None, {"hello": "world"}, True),
    ("object", None, [], False),
    ("object", None, CIPHERTEXT, False),
    ("array", ItemsType("string"), ["value"], True),
    ("array", ItemsType("string"), "someValue", False),
    ("array", ItemsType("array", ItemsType("string")), [["hello"]], True),
    ("array", ItemsType("array", ItemsType("string")), ["hello"], False),
    ("array", ItemsType("object"), [CIPHERTEXT], False),
    ("array", None, ["value"], False),
    ("number", None, 1, False),
]


@pytest.mark.parametrize(("type_name", "items", "value", "valid"), VALUE_CHECKS)
def test_validate_config_value(type_name: str, items: ItemsType | None, value: object, valid: bool) -> None:
    assert validate_config_value(type_name, items, value) is valid


def test_missing_keys_are_listed_sorted_with_and() -> None:
    """formatMissingKeys (pkg/workspace/config.go): one key quoted; several sorted, the last after 'and'."""
    assert missing_values_message("dev", ["b"]) == "Stack 'dev' is missing configuration value 'b'"
    assert missing_values_message("dev", ["c", "a"]) == "Stack 'dev' is missing configuration values 'a' and 'c'"
    assert (
        missing_values_message("dev", ["d", "c", "b", "a"])
        == "Stack 'dev' is missing configuration values 'a', 'b', 'c' and 'd'"
    )


def test_missing_keys_come_before_type_errors_and_other_namespaces_are_never_missing() -> None:
    """mergeConfig: every missing key of the project's namespace is reported at once, before any
    value is type-checked; a declared key of another namespace is never missing."""
    declared = [
        Declaration("b", type="integer"),
        Declaration("a", type="string"),
        Declaration("c", type="integer"),
        Declaration("aws:region", value="us-east-1"),
    ]
    with pytest.raises(ConfigRuleError) as caught:
        validate_stack_config("dev", "test", declared, {"test:c": StackValue("x", False)})
    assert caught.value.message == "Stack 'dev' is missing configuration values 'a' and 'b'"
    with pytest.raises(ConfigRuleError) as caught:
        validate_stack_config(
            "dev",
            "test",
            declared,
            {"test:a": StackValue(1, False), "test:b": StackValue("x", False), "test:c": StackValue("1", False)},
        )
    assert caught.value.message == "Stack 'dev' with configuration key 'a' must be of type 'string'"


def test_stack_values_as_the_cli_holds_them() -> None:
    """object.go unmarshalObject/MarshalString/isSecureValue: scalars become text (Go's JSON for
    numbers), a map of one string `secure` is a secret, other maps and lists are objects."""
    assert stack_value(True) == StackValue("true", False)
    assert stack_value(2.0) == StackValue("2", False)
    assert stack_value(None) == StackValue("", False)
    assert stack_value({"secure": "AAAB"}) == StackValue(CIPHERTEXT, True)
    assert stack_value({"secure": 12}) == StackValue({"secure": 12}, False)
    assert stack_value({"a": [{"secure": "AAAB"}]}) == StackValue({"a": [CIPHERTEXT]}, True)


def test_the_program_sees_as_secret_exactly_what_the_cli_holds_secret(tmp_path: Path) -> None:
    """The program's config and the rules read `secure:` alike (object.go isSecureValue): a map of one
    string `secure` anywhere in a value makes the key secret; `{secure: 12}` is a plain object."""
    (tmp_path / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("")
    (tmp_path / "Pulumi.s.yaml").write_text(
        "config:\n  p:token:\n    secure: AAAB\n  p:nested:\n    a: [{secure: AAAB}, 1]\n  p:number:\n    secure: 12\n"
    )
    config = load_stack_config(load_project(tmp_path / "Pulumi.yaml"), "s", require_file=True)
    assert config.secret_keys == ["p:nested", "p:token"]
    assert config.values["p:token"] == "preflight-secret:p:token"
    assert json.loads(config.values["p:nested"]) == {"a": ["preflight-secret:p:nested", 1]}
    assert json.loads(config.values["p:number"]) == {"secure": 12}


@pytest.mark.parametrize(
    ("value", "text"),
    [(2.0, "2"), (2.5, "2.5"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (1e-6, "0.000001"), (1e-7, "1e-7")],
)
def test_floats_are_written_as_go_json(value: float, text: str) -> None:
    """encoding/json float64: plain notation from 1e-6 to below 1e21, exponent form outside."""
    assert go_json_float(value) == text


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("yes", "yes"),
        ("off", "off"),
        ("TRUE", True),
        ("false", False),
        ("017", 15),
        ("0o17", 15),
        ("0x1F", 31),
        ("1_000", 1000),
        ("08", 8.0),
        ("1e3", 1000.0),
        ("1:20", "1:20"),
        ("2024-01-05", "2024-01-05"),
        ("~", None),
        ("1.34", 1.34),
    ],
)
def test_yaml_scalars_resolve_as_yaml_v3_resolves_them(scalar: str, value: object) -> None:
    """go-yaml/yaml v3 resolve.go (resolveMap, ParseInt base 0, yamlStyleFloat; no base 60) and
    decode.go (a timestamp decoded into interface{} stays its text), which the CLI reads files with."""
    loaded = go_yaml.load(f"v: {scalar}\n")["v"]
    assert loaded == value
    assert type(loaded) is type(value)
    assert not isinstance(loaded, float) or not math.isnan(loaded)


# Item 9: `pulumi install` with `main: infra/`.


def _program_directory() -> Path:
    """engine/project.go getPwdMain (pkg/v3): a directory `main` is the program's working directory,
    which `pulumi install` passes to the language host as ProgramInfo.ProgramDirectory."""
    project = yaml.safe_load((REPO / "Pulumi.yaml").read_text(encoding="utf-8"))
    return (REPO / project["main"]).resolve()


_PARSE_REQUIREMENTS = """
import json, sys
from pip._internal.network.session import PipSession
from pip._internal.req.constructors import install_req_from_parsed_requirement
from pip._internal.req.req_file import parse_requirements
result = []
for parsed in parse_requirements("requirements.txt", session=PipSession()):
    req = install_req_from_parsed_requirement(parsed)
    result.append([str(req.req) if req.link is None else req.link.file_path, req.editable])
print(json.dumps(result))
"""


def test_pulumi_install_finds_the_pinned_set_where_the_pip_toolchain_looks() -> None:
    """pulumi-language-python's InstallDependencies (sdk/python/cmd/pulumi-language-python/main.go)
    calls the toolchain with req.Info.ProgramDirectory; the pip toolchain (sdk/python/toolchain/pip.go,
    InstallDependencies) installs `requirements.txt` from that directory, running pip there, and
    silently installs nothing when the file is missing. So the pinned set must be in
    <main>/requirements.txt, its local paths relative to that directory."""
    program = _program_directory()
    assert program == REPO / "infra"
    parsed = subprocess.run(
        [sys.executable, "-c", _PARSE_REQUIREMENTS], cwd=program, capture_output=True, text=True, check=True
    )
    requirements = json.loads(parsed.stdout)
    pinned = sorted(
        line.strip()
        for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    named = sorted(name for name, editable in requirements if not editable)
    local = sorted(Path(path).resolve() for path, editable in requirements if editable)
    assert named == pinned
    assert local == sorted([REPO, REPO / "policy_packs" / "ai-guardrails" / "standards"])


def test_make_venv_installs_the_same_file_the_same_way() -> None:
    """`make venv` runs pip in the program directory on the file `pulumi install` reads."""
    dry_run = subprocess.run(
        ["make", "-n", "-B", "venv"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert [line for line in dry_run if "pip install" in line] == [
        "cd infra && ../.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt"
    ]
    assert not (REPO / "requirements.txt").exists()


# Item 15a: Pulumi.yaml names only paths that exist.

_PATH = re.compile(
    r"(?<![\w<>.:/-])(?:[A-Za-z0-9_.-]+/)+(?:[A-Za-z0-9_-]+\.(?:py|ya?ml|json|md|txt|toml|lock))?(?![\w<>*]|\.[\w.])"
)


def _mentioned_paths() -> set[str]:
    text = (REPO / "Pulumi.yaml").read_text(encoding="utf-8")
    comments = [line.split("#", 1)[1] for line in text.splitlines() if line.lstrip().startswith("#")]
    project = yaml.safe_load(text)
    descriptions = [project.get("description", "")]
    descriptions += [spec.get("description", "") for spec in project["config"].values() if isinstance(spec, dict)]
    found = set()
    for chunk in comments + descriptions:
        found.update(match.group(0) for match in _PATH.finditer(" ".join(chunk.split())))
    return found


def test_every_path_pulumi_yaml_mentions_exists() -> None:
    mentioned = _mentioned_paths()
    assert {"infra/config.py", "tests/config/test_settings.py"} <= mentioned
    assert sorted(path for path in mentioned if not (REPO / path).exists()) == []
