"""Reading a Pulumi project and its stack configuration the way the Pulumi CLI reads them.

Both files are read as the CLI reads them (``go_yaml``) and held to the CLI's rules
(``config_rules``): a project whose config declarations ``pulumi`` rejects, or a stack whose config
misses a required key or has a value of the wrong type, fails here with the CLI's message, before
the program runs.

Config reaches the program as the language host gives it: a map of namespaced keys
(``project:key``, ``aws:region``) to strings, structured values JSON-encoded, and the list of
keys that are secret. ``secure:`` values cannot be decrypted offline; they become a placeholder
string (``preflight-secret:<key>``) that the program sees as a secret, as it would see the real one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import go_yaml
from .config_rules import (
    ConfigRuleError,
    Declaration,
    StackValue,
    declarations,
    is_ciphertext,
    parse_key,
    scalar_text,
    stack_value,
    validate_project,
    validate_stack_config,
)
from .model import ProgramError, UsageError
from .values import Secret

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")
# ValidateProject suggests the closest attribute within this Levenshtein distance
# (pulumi/pulumi sdk/go/common/workspace/project.go, maxValidationAttributeDistance).
_MAX_ATTRIBUTE_DISTANCE = 2
_GO_TYPE_NAMES = {
    type(None): "<nil>",
    list: "[]interface {}",
    str: "string",
    int: "int",
    float: "float64",
    bool: "bool",
}


@dataclass
class Project:
    """A Pulumi project: its name, where the program lives, and where stack files are."""

    name: str
    root: Path
    main_dir: Path
    stack_config_dir: Path
    project_file: Path
    config: tuple[Declaration, ...] = field(default=())

    @property
    def config_defaults(self) -> dict[str, Any]:
        """What the CLI sets on a stack that lacks a declared key: its ``default`` or ``value``, by namespaced key."""
        result = {}
        for item in self.config:
            if item.project_default is not None:
                namespace, name = parse_key(self.name, item.key)
                result[f"{namespace}:{name}"] = item.project_default
        return result

    def stack_file(self, stack: str) -> Path:
        return self.stack_config_dir / f"Pulumi.{stack}.yaml"

    def stacks(self) -> list[str]:
        prefix, suffix = "Pulumi.", ".yaml"
        names = []
        for path in sorted(self.stack_config_dir.glob("Pulumi.*.yaml")):
            stem = path.name[len(prefix) : -len(suffix)]
            if stem:
                names.append(stem)
        return names


@dataclass
class StackConfig:
    """Config for one run: the language host's string map plus its secret keys."""

    values: dict[str, str]
    secret_keys: list[str]
    file: Path | None = None

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def plain(self) -> dict[str, Any]:
        """Typed values (structured ones decoded), secrets wrapped in ``Secret``; for reports and tests."""
        result: dict[str, Any] = {}
        for key, raw in self.values.items():
            value = _decode(raw)
            result[key] = Secret(value) if key in self.secret_keys else value
        return result


def _decode(raw: str) -> Any:
    if raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def find_project(program_dir: Path) -> Project:
    """Find the project that owns ``program_dir`` (the nearest Pulumi.yaml at or above it)."""
    start = program_dir.resolve()
    if not start.is_dir():
        raise UsageError(f"{program_dir}: not a directory")
    for directory in (start, *start.parents):
        for name in PROJECT_FILES:
            candidate = directory / name
            if candidate.is_file():
                return load_project(candidate, program_dir=start)
    raise UsageError(f"{program_dir}: no Pulumi.yaml here or in any parent directory")


def load_project(project_file: Path, program_dir: Path | None = None) -> Project:
    """The project in ``project_file``, held to the CLI's project rules (``LoadProjectBytes``)."""
    document = _load_yaml(project_file)
    if not isinstance(document, dict):
        # SimplifyMarshalledProject's message, with Go's name (%T) of the decoded YAML value.
        go_type = _GO_TYPE_NAMES.get(type(document), type(document).__name__)
        raise ProgramError(
            f"could not validate '{project_file}': expected project to be an object, was '{go_type}'", str(project_file)
        )
    _check_name(document, project_file)
    name = document["name"]
    config = _project_config(document, name, project_file)
    runtime = document.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    if runtime_name not in (None, "python"):
        raise UsageError(f"{project_file}: runtime {runtime_name!r} is not Python; preflight runs Python programs")
    root = project_file.parent.resolve()
    main = document.get("main")
    main_dir = (root / main).resolve() if isinstance(main, str) and main else root
    if program_dir is not None and program_dir not in (root, main_dir):
        # A program directory below the project that is not its main: run it as given.
        main_dir = program_dir
    if not (main_dir / "__main__.py").is_file():
        raise UsageError(f"{main_dir}: no __main__.py (the Python program's entry point)")
    stack_dir = document.get("stackConfigDir")
    if isinstance(document.get("config"), str):
        # RewriteConfigPathIntoStackConfigDir: `config: <dir>` is the old spelling of stackConfigDir.
        stack_dir = document["config"]
    stack_config_dir = (root / stack_dir).resolve() if isinstance(stack_dir, str) else root
    return Project(name, root, main_dir, stack_config_dir, project_file, tuple(config))


def _check_name(document: dict[str, Any], path: Path) -> None:
    """``ValidateProject``'s name rules, with its messages as ``LoadProjectBytes`` wraps them."""
    if "name" not in document:
        closest = _closest_key("name", [str(key) for key in document])
        found = f"; found '{closest}' instead" if closest else ""
        raise ProgramError(f"could not validate '{path}': project is missing a 'name' attribute{found}", str(path))
    if not isinstance(document["name"], str) or not document["name"]:
        raise ProgramError(
            f"could not validate '{path}': project is missing a non-empty string 'name' attribute",
            str(path),
            _line_of(path, "name"),
        )


def _closest_key(needle: str, keys: list[str]) -> str:
    """``findClosestKey``: the first key (sorted) at the smallest case-insensitive Levenshtein distance."""
    match, closest = "", _MAX_ATTRIBUTE_DISTANCE + 1
    for key in sorted(keys):
        distance = _levenshtein(needle.lower(), key.lower())
        if distance == 0:
            return key
        if distance < closest:
            match, closest = key, distance
    return match


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def _project_config(document: dict[str, Any], project: str, path: Path) -> list[Declaration]:
    """The project's config declarations, held to ``Project.Validate``."""
    section = document.get("config")
    if isinstance(section, str):
        if "stackConfigDir" in document:
            raise ProgramError(
                "Should not use both config and stackConfigDir to define the stack directory. "
                "Use only stackConfigDir instead.",
                str(path),
                _line_of(path, "config"),
            )
        return []
    if section is None:
        return []
    if not isinstance(section, dict):
        raise ProgramError("'config' must be a map", str(path), _line_of(path, "config"))
    declared = declarations(section, project)
    try:
        validate_project(project, declared)
    except ConfigRuleError as error:
        # LoadProjectBytes wraps Project.Validate's error with the project file's (absolute) path.
        message = f"could not unmarshal '{path}': {error.message}"
        raise ProgramError(message, str(path), _config_key_line(path, error.key, project)) from None
    return declared


def _namespaced(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def load_stack_config(
    project: Project,
    stack: str,
    *,
    stack_config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    require_file: bool = False,
) -> StackConfig:
    """Config for ``stack``: project defaults, then the stack file (or ``overrides`` instead of it).

    The result is held to the CLI's stack config rules first (``config_rules.validate_stack_config``).
    """
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    stack_values: dict[str, StackValue] = {}
    for key, value in project.config_defaults.items():
        _set(values, secret_keys, key, value)
    file: Path | None = None
    if overrides is not None:
        for key, value in overrides.items():
            full = _namespaced(key, project.name)
            stack_values[full] = (
                stack_value(value.value, secret=True) if isinstance(value, Secret) else stack_value(value)
            )
            _set(values, secret_keys, full, value)
    else:
        file = stack_config_file or project.stack_file(stack)
        if file.is_file():
            document = _load_yaml(file)
            section = (document or {}).get("config") if isinstance(document, dict | type(None)) else None
            if document is not None and not isinstance(document, dict):
                raise ProgramError("a stack file must be a map with a 'config' key", str(file), 1)
            if section is not None and not isinstance(section, dict):
                raise ProgramError("'config' must be a map of keys to values", str(file), _line_of(file, "config"))
            for key, value in (section or {}).items():
                full = _namespaced(str(key), project.name)
                stack_values[full] = parsed = stack_value(value)
                _set(values, secret_keys, full, _stack_value(full, value, parsed))
        elif require_file or stack_config_file is not None:
            raise UsageError(f"stack file {file} does not exist")
        else:
            file = None
    try:
        validate_stack_config(stack, project.name, project.config, stack_values)
    except ConfigRuleError as error:
        # The CLI's own wording: `pulumi preview` prints "error: validating stack config: <rule>".
        line = _config_key_line(file, error.key, project.name) if file is not None else None
        raise ProgramError(f"validating stack config: {error.message}", str(file) if file else None, line) from None
    return StackConfig(values, sorted(set(secret_keys)), file)


def _stack_value(key: str, value: Any, parsed: StackValue) -> Any:
    """A stack-file value as the program sees it: a secret anywhere in it (``parsed.secure``, the CLI's
    ``isSecureValue``) makes the whole key secret, each ciphertext its offline placeholder."""
    return Secret(_replace_secure(value, key)) if parsed.secure else value


def _replace_secure(value: Any, key: str) -> Any:
    if is_ciphertext(value):
        return f"preflight-secret:{key}"
    if isinstance(value, dict):
        return {k: _replace_secure(v, key) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_secure(v, key) for v in value]
    return value


def _set(values: dict[str, str], secret_keys: list[str], key: str, value: Any) -> None:
    if isinstance(value, Secret):
        secret_keys.append(key)
        value = value.value
    elif key in secret_keys:
        secret_keys.remove(key)
    values[key] = _encode(value)


def _encode(value: Any) -> str:
    """Stringify a config value as the CLI hands it to the language host."""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return scalar_text(value)


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from exc
    try:
        return go_yaml.load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise ProgramError(f"invalid YAML: {problem}", str(path), line) from exc
    except yaml.YAMLError as exc:
        raise ProgramError(f"invalid YAML: {exc}", str(path), None) from exc


def _line_of(path: Path, key: str) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return None


def _config_key_line(path: Path, key: str | None, project: str) -> int | None:
    """The line of ``key`` (as written, or namespaced) in the ``config:`` map of a project or stack file."""
    if key is None:
        return None
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=go_yaml.GoYamlLoader)
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    wanted = _namespaced(key, project)
    for name, section in root.value:
        if name.value == "config" and isinstance(section, yaml.MappingNode):
            for key_node, _ in section.value:
                if _namespaced(str(key_node.value), project) == wanted:
                    return int(key_node.start_mark.line) + 1
    return None
