"""Projects and stacks broken the ways the Pulumi CLI refuses, each with the CLI's exact message.

One table for every engine: preflight's tests run each case through ``python -m preflight`` and the
real CLI can run the same cases (``write_case`` lays one out as a project directory). A case is a
``Pulumi.yaml`` document and one stack's config; ``message`` is what the CLI reports (the text after
``error: `` for a stack config error; for a project file error the CLI prefixes
``could not unmarshal '<path>': ``), or ``None`` when the CLI accepts the config and runs the program.

The ``item-1``/``item-2`` cases break this repository's own Pulumi.yaml and reference stacks the way
issue 11 found them broken; the others mirror the CLI's own tests. ``source`` cites the rule, in
pulumi/pulumi v3.274.1, and the CLI test the case mirrors.

``Secure(plaintext)`` is a secret value: an engine writes it encrypted with the stack's secrets
provider (``render_secure``). Cases whose outcome depends on a secret's plaintext in a way preflight
cannot see offline (an ``integer`` or ``boolean`` key set to a secret) are left out.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

REPO = Path(__file__).resolve().parents[2]
PROJECT = "secure-ai-platform"
# A synthetic case's program: it never runs when the CLI refuses the config first.
GUARD_PROGRAM = 'raise SystemExit("the program ran although the Pulumi CLI refuses this config")\n'
NOOP_PROGRAM = "import pulumi  # the CLI accepts this config; the program registers nothing\n"

Stage = Literal["project", "stack-config"]


@dataclass(frozen=True)
class Secure:
    """A secret config value; ``plaintext`` is what the CLI decrypts."""

    plaintext: str


@dataclass(frozen=True)
class CliRuleCase:
    id: str
    project: dict[str, Any]
    stack: str
    # The stack file's ``config:`` map, or the whole stack file as YAML text when the case is about
    # how the CLI reads the text itself.
    config: dict[str, Any] | str
    message: str | None
    stage: Stage | None
    source: str
    notes: dict[str, str] = field(default_factory=dict)


def repository_project() -> dict[str, Any]:
    """This repository's Pulumi.yaml, its program referenced in place."""
    document = yaml.safe_load((REPO / "Pulumi.yaml").read_text(encoding="utf-8"))
    document["main"] = str((REPO / document["main"]).resolve())
    return dict(document)


def reference_stack(name: str) -> dict[str, Any]:
    path = REPO / "stacks" / f"Pulumi.{name}.yaml"
    return dict(yaml.safe_load(path.read_text(encoding="utf-8"))["config"])


def _without(config: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in config.items() if key.split(":", 1)[1] not in keys}


def _with(config: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {**config, **{f"{PROJECT}:{key}": value for key, value in values.items()}}


def _declared(edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    project = repository_project()
    edit(project["config"])
    return project


def _synthetic(config: dict[str, Any]) -> dict[str, Any]:
    """A project named ``test`` (the CLI tests' name) whose program is beside Pulumi.yaml."""
    return {"name": "test", "runtime": "python", "config": config}


def _aws_region_typed(config: dict[str, Any]) -> None:
    config["aws:region"] = {"type": "string", "description": "AWS region of the stack."}


def _aws_region_described(config: dict[str, Any]) -> None:
    config["aws:region"] = {"description": "AWS region of the stack."}


def _defaults_removed(*keys: str) -> Callable[[dict[str, Any]], None]:
    def edit(config: dict[str, Any]) -> None:
        for key in keys:
            del config[f"{PROJECT}:{key}"]["default"]

    return edit


_VALIDATE = "sdk/go/common/workspace/project.go Project.Validate"
_MISSING = "pkg/workspace/config.go mergeConfig, missingStackConfigurationKeysError, formatMissingKeys"
_TYPED = "pkg/workspace/config.go validateStackConfigValue; sdk/go/common/workspace/project.go ValidateConfigValue"


def cases() -> list[CliRuleCase]:
    platform_dev = reference_stack("platform-dev")
    clinical = reference_stack("tenant-clinical-prod")
    genomics = reference_stack("hosts-genomics-prod")
    return [
        CliRuleCase(
            "item-1-aws-region-typed",
            _declared(_aws_region_typed),
            "platform-dev",
            platform_dev,
            "Configuration key 'aws:region' is not namespaced by the project and should not define a type",
            "project",
            f"{_VALIDATE}; project_test.go TestNamespacedProjectConfigShouldNotBeExplicitlyTyped",
        ),
        CliRuleCase(
            "item-1-aws-region-described-without-value",
            _declared(_aws_region_described),
            "platform-dev",
            platform_dev,
            "Configuration key 'aws:region' is namespaced and must provide an attribute 'value'",
            "project",
            _VALIDATE,
        ),
        CliRuleCase(
            "item-1-aws-region-default",
            _synthetic({"aws:region": {"default": "us-west-1"}}),
            "dev",
            {},
            "Configuration key 'aws:region' is not namespaced by the project and should not define a default "
            "value. Did you mean to use the 'value' attribute instead of 'default'?",
            "project",
            f"{_VALIDATE}; project_test.go TestNamespacedProjectConfigShouldNotBeProvideDefault",
        ),
        CliRuleCase(
            "item-2-missing-one-value",
            repository_project(),
            "platform-dev",
            _without(platform_dev, "contact"),
            "validating stack config: Stack 'platform-dev' is missing configuration value 'secure-ai-platform:contact'",
            "stack-config",
            f"{_MISSING}; config_project_test.go TestStackConfigErrorsWhenMissingStackValueForConfigTypeWithNoDefault",
        ),
        CliRuleCase(
            "item-2-missing-two-values",
            repository_project(),
            "platform-dev",
            _without(platform_dev, "costCenter", "contact"),
            "validating stack config: Stack 'platform-dev' is missing configuration values "
            "'secure-ai-platform:contact' and 'secure-ai-platform:costCenter'",
            "stack-config",
            f"{_MISSING}; config_project_test.go TestStackConfigErrorsWhenMissingTwoStackValueForConfigTypeWithNoDefault",
        ),
        CliRuleCase(
            "item-2-missing-three-values",
            repository_project(),
            "tenant-clinical-prod",
            _without(clinical, "environment", "deployment", "contact"),
            "validating stack config: Stack 'tenant-clinical-prod' is missing configuration values "
            "'secure-ai-platform:contact', 'secure-ai-platform:deployment' and 'secure-ai-platform:environment'",
            "stack-config",
            f"{_MISSING}; config_project_test.go "
            "TestStackConfigErrorsWhenMissingMultipleStackValueForConfigTypeWithNoDefault",
        ),
        CliRuleCase(
            "item-2-undeclared-type-does-not-make-a-key-optional",
            _synthetic({"tenants": {"description": "The tenants this stack hosts."}}),
            "dev",
            {},
            "validating stack config: Stack 'dev' is missing configuration value 'tenants'",
            "stack-config",
            f"{_MISSING} (hasDefault and hasValue are all it asks; the type plays no part)",
        ),
        CliRuleCase(
            "item-2-keys-without-default-are-required",
            _declared(_defaults_removed("gpu", "hosts")),
            "platform-dev",
            platform_dev,
            "validating stack config: Stack 'platform-dev' is missing configuration values "
            "'secure-ai-platform:gpu' and 'secure-ai-platform:hosts'",
            "stack-config",
            f"{_MISSING} (a key is missing when it has no default or value, whatever its type)",
        ),
        CliRuleCase(
            "boolean-key-set-to-a-word",
            repository_project(),
            "hosts-genomics-prod",
            _with(genomics, confidential="maybe"),
            "validating stack config: Stack 'hosts-genomics-prod' with configuration key "
            "'secure-ai-platform:confidential' must be of type 'boolean'",
            "stack-config",
            _TYPED,
        ),
        CliRuleCase(
            "boolean-key-set-to-yaml-1.1-yes",
            _synthetic({"enabled": {"type": "boolean"}}),
            "dev",
            "config:\n  test:enabled: yes\n",
            "validating stack config: Stack 'dev' with configuration key 'enabled' must be of type 'boolean'",
            "stack-config",
            f"{_TYPED}; sdk/go/common/encoding/marshal.go reads YAML with gopkg.in/yaml.v3, where yes is a string",
        ),
        CliRuleCase(
            "boolean-key-set-to-True",
            _synthetic({"enabled": {"type": "boolean"}}),
            "dev",
            "config:\n  test:enabled: True\n",
            None,
            None,
            _TYPED,
        ),
        CliRuleCase(
            "object-key-set-to-a-string",
            repository_project(),
            "platform-dev",
            _with(platform_dev, network="10.40.0.0/16"),
            "validating stack config: Stack 'platform-dev' with configuration key 'secure-ai-platform:network' "
            "must be of type 'object'",
            "stack-config",
            _TYPED,
        ),
        CliRuleCase(
            "array-of-objects-set-to-an-object",
            repository_project(),
            "platform-dev",
            _with(platform_dev, tenants=platform_dev[f"{PROJECT}:tenants"][0]),
            "validating stack config: Stack 'platform-dev' with configuration key 'secure-ai-platform:tenants' "
            "must be of type 'array<object>'",
            "stack-config",
            f"{_TYPED}; config_project_test.go TestStackConfigErrorsWhenStackValueIsNotCorrectlyTyped",
        ),
        CliRuleCase(
            "array-of-objects-holding-a-string",
            repository_project(),
            "platform-dev",
            _with(platform_dev, tenants=["search"]),
            "validating stack config: Stack 'platform-dev' with configuration key 'secure-ai-platform:tenants' "
            "must be of type 'array<object>'",
            "stack-config",
            _TYPED,
        ),
        CliRuleCase(
            "integer-key-set-to-a-word",
            _synthetic({"importantNumber": {"type": "integer"}}),
            "dev",
            {"test:importantNumber": "hello"},
            "validating stack config: Stack 'dev' with configuration key 'importantNumber' must be of type 'integer'",
            "stack-config",
            f"{_TYPED}; config_project_test.go TestStackConfigIntegerTypeIsCorrectlyValidated",
        ),
        CliRuleCase(
            "integer-key-set-to-an-integer",
            _synthetic({"importantNumber": {"type": "integer"}}),
            "dev",
            {"test:importantNumber": 20},
            None,
            None,
            f"{_TYPED}; config_project_test.go TestStackConfigIntegerTypeIsCorrectlyValidated",
        ),
        CliRuleCase(
            "secure-value-of-an-object-key",
            repository_project(),
            "tenant-clinical-prod",
            _with(clinical, tenantAccount=Secure('{"accountId": "555566667777"}')),
            "validating stack config: Stack 'tenant-clinical-prod' with configuration key "
            "'secure-ai-platform:tenantAccount' must be of type 'object'",
            "stack-config",
            f"{_TYPED} (a decrypted secret is a string, never an object)",
        ),
        CliRuleCase(
            "secure-value-inside-an-object-key",
            _synthetic({"tenantAccount": {"type": "object"}}),
            "dev",
            {"test:tenantAccount": {"externalId": Secure("aip-prod-clinical-7c3e91")}},
            None,
            None,
            f"{_TYPED} (an object with a secret inside stays an object)",
        ),
        CliRuleCase(
            "secure-value-as-an-array-item",
            _synthetic({"tenants": {"type": "array", "items": {"type": "object"}}}),
            "dev",
            {"test:tenants": [Secure('{"name": "search"}')]},
            "validating stack config: Stack 'dev' with configuration key 'tenants' must be of type 'array<object>'",
            "stack-config",
            _TYPED,
        ),
        CliRuleCase(
            "secure-value-of-a-string-key",
            _synthetic({"contact": {"type": "string"}}),
            "dev",
            {"test:contact": Secure("ml-platform@example.com")},
            None,
            None,
            _TYPED,
        ),
        CliRuleCase(
            "secret-key-set-in-plain-text",
            _synthetic({"importantNumber": {"type": "integer", "secret": True}}),
            "dev",
            {"test:importantNumber": 20},
            "validating stack config: Stack 'dev' with configuration key 'importantNumber' must be encrypted as "
            "it's secret",
            "stack-config",
            "pkg/workspace/config.go validateStackConfigValue; config_project_test.go "
            "TestStackConfigSecretIsCorrectlyValidated",
        ),
        CliRuleCase(
            "secret-key-set-encrypted",
            _synthetic({"importantNumber": {"type": "integer", "secret": True}}),
            "dev",
            {"test:importantNumber": Secure("20")},
            None,
            None,
            "pkg/workspace/config.go validateStackConfigValue; config_project_test.go "
            "TestStackConfigSecretIsCorrectlyValidated",
        ),
        CliRuleCase(
            "default-and-value-both-set",
            _synthetic({"instanceSize": {"type": "string", "default": "t3.micro", "value": "t4.large"}}),
            "dev",
            {},
            "project config 'instanceSize' cannot have both a 'default' and 'value' attribute",
            "project",
            f"{_VALIDATE}; project_test.go TestProjectConfigCannotHaveBothValueAndDefault",
        ),
        CliRuleCase(
            "array-without-items",
            _synthetic({"instanceSize": {"type": "array", "default": ["t3.micro", "t4.large"]}}),
            "dev",
            {},
            "The configuration key 'instanceSize' declares an array but does not specify the underlying type via "
            "the 'items' attribute",
            "project",
            f"{_VALIDATE}; project_test.go TestProjectConfigCannotBeTypedArrayWithoutItems",
        ),
        CliRuleCase(
            "default-of-the-wrong-type",
            _synthetic({"instanceSize": {"type": "integer", "default": "hello"}}),
            "dev",
            {},
            "The default value specified for configuration key 'instanceSize' is not of the expected type 'integer'",
            "project",
            f"{_VALIDATE}; project_test.go TestProjectValidationFailsForIncorrectDefaultValueType",
        ),
        CliRuleCase(
            "default-of-the-wrong-nested-array-type",
            _synthetic(
                {"values": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}, "default": ["x"]}}
            ),
            "dev",
            {},
            "The default value specified for configuration key 'values' is not of the expected type "
            "'array<array<string>>'",
            "project",
            f"{_VALIDATE}; project_test.go TestProjectValidationFailsForIncorrectDefaultValueType",
        ),
        CliRuleCase(
            "untyped-values-are-not-validated",
            _synthetic({"instanceSize": "t3.micro", "aws:region": "us-west-1"}),
            "dev",
            {"instanceSize": 9999, "aws:region": 42},
            None,
            None,
            "pkg/workspace/config.go validateStackConfigValues; config_project_test.go "
            "TestUntypedProjectConfigValuesAreNotValidated",
        ),
        CliRuleCase(
            "defaults-apply-where-the-stack-is-silent",
            _synthetic({"replicas": {"type": "integer", "default": 2}, "name": {"type": "string"}}),
            "dev",
            {"test:name": "api"},
            None,
            None,
            f"{_MISSING}; config_project_test.go TestStackConfigIsInheritedFromProjectConfig",
        ),
    ]


def _opaque_secure(value: Secure) -> Any:
    """preflight's rendering: an opaque ciphertext (preflight never decrypts)."""
    return {"secure": "v1:preflight-opaque-ciphertext"}


def _render(value: Any, render_secure: Callable[[Secure], Any]) -> Any:
    if isinstance(value, Secure):
        return render_secure(value)
    if isinstance(value, dict):
        return {key: _render(item, render_secure) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, render_secure) for item in value]
    return value


def write_case(case: CliRuleCase, directory: Path, render_secure: Callable[[Secure], Any] = _opaque_secure) -> Path:
    """Lay the case out in ``directory`` (Pulumi.yaml, its stack file, a program when synthetic); return the stack file."""
    project = copy.deepcopy(case.project)
    if "main" not in project:
        (directory / "__main__.py").write_text(GUARD_PROGRAM if case.message else NOOP_PROGRAM, encoding="utf-8")
    (directory / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
    stack_dir = directory / str(project.get("stackConfigDir", "."))
    stack_dir.mkdir(parents=True, exist_ok=True)
    stack_file = stack_dir / f"Pulumi.{case.stack}.yaml"
    if isinstance(case.config, str):
        stack_file.write_text(case.config, encoding="utf-8")
    else:
        config = _render(case.config, render_secure)
        stack_file.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return stack_file
