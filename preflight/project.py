"""Reading a Pulumi project and its stack configuration the way the Pulumi CLI reads them.

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

from .model import ProgramError, UsageError
from .values import Secret

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")
# libyaml parses a large project file in a fraction of the pure-Python parser's time.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Project:
    """A Pulumi project: its name, where the program lives, and where stack files are."""

    name: str
    root: Path
    main_dir: Path
    stack_config_dir: Path
    project_file: Path
    config_defaults: dict[str, Any] = field(default_factory=dict)
    config_types: dict[str, str] = field(default_factory=dict)

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
    document = _load_yaml(project_file)
    if not isinstance(document, dict) or not isinstance(document.get("name"), str):
        raise ProgramError("the project file needs a string 'name'", str(project_file), 1)
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
    stack_config_dir = (root / stack_dir).resolve() if isinstance(stack_dir, str) else root
    name = document["name"]
    defaults, types = _project_config(document.get("config"), name, project_file)
    return Project(name, root, main_dir, stack_config_dir, project_file, defaults, types)


def _project_config(section: Any, project: str, path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Project-level config: ``key: value`` shorthands and ``key: {type, default|value, ...}`` specs."""
    defaults: dict[str, Any] = {}
    types: dict[str, str] = {}
    if section is None:
        return defaults, types
    if not isinstance(section, dict):
        raise ProgramError("'config' must be a map", str(path), None)
    for key, spec in section.items():
        full = _namespaced(str(key), project)
        if isinstance(spec, dict):
            if "type" in spec:
                types[full] = str(spec["type"])
            if "default" in spec:
                defaults[full] = spec["default"]
            elif "value" in spec:
                defaults[full] = spec["value"]
        else:
            defaults[full] = spec
    return defaults, types


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
    """Config for ``stack``: project defaults, then the stack file (or ``overrides`` instead of it)."""
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in project.config_defaults.items():
        _set(values, secret_keys, key, value)
    file: Path | None = None
    if overrides is not None:
        for key, value in overrides.items():
            _set(values, secret_keys, _namespaced(key, project.name), value)
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
                _set(values, secret_keys, full, _stack_value(full, value))
        elif require_file or stack_config_file is not None:
            raise UsageError(f"stack file {file} does not exist")
        else:
            file = None
    _check_types(project, values, file)
    return StackConfig(values, sorted(set(secret_keys)), file)


def _stack_value(key: str, value: Any) -> Any:
    """A stack-file value: ``{secure: ...}`` anywhere in it makes the whole key secret."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return Secret(f"preflight-secret:{key}")
    if isinstance(value, dict | list) and _has_secure(value):
        return Secret(_replace_secure(value, key))
    return value


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_secure(item) for item in value)
    return False


def _replace_secure(value: Any, key: str) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return f"preflight-secret:{key}"
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
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if value is None:
        return ""
    return str(value)


def _check_types(project: Project, values: dict[str, str], file: Path | None) -> None:
    problems = []
    for key, type_ in project.config_types.items():
        if key not in values:
            continue
        raw = values[key]
        ok = {
            "string": True,
            "integer": raw.lstrip("-").isdigit(),
            "boolean": raw in ("true", "false"),
            "array": raw.startswith("["),
            "object": raw.startswith("{"),
        }.get(type_, True)
        if not ok:
            problems.append(f"stack config key '{key}' should be of type {type_}, got {raw!r}")
    if problems:
        raise ProgramError("; ".join(problems), str(file) if file else None, None)


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from exc
    try:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, libyaml's when present
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
