"""The Pulumi CLI's rules for a project's config declarations and a stack's config, with its messages.

``pulumi preview`` refuses a ``Pulumi.yaml`` whose ``config:`` declarations break
``Project.Validate``, then checks the stack's config against them before the program runs
(``ValidateStackConfigAndApplyProjectConfig``): every key of the project's namespace declared
without ``default`` or ``value`` must be set on the stack, the others get their default, and the
value of every typed key must have its type. preflight applies the same rules in the same order
with the same messages, so an offline preview fails exactly where ``pulumi preview`` would.

Sources, pulumi/pulumi v3.274.1:

- ``sdk/go/common/workspace/project.go``: ``Project.Validate``, ``ValidateConfigValue``,
  ``InferFullTypeName``, ``RewriteShorthandConfigValues``, ``configKeyIsNamespacedByProject``,
  ``ValidateProject`` (the ``name`` checks);
- ``pkg/workspace/config.go``: ``mergeConfig``, ``validateStackConfigValues``,
  ``validateStackConfigValue``, ``missingStackConfigurationKeysError``, ``formatMissingKeys``,
  ``createConfigValue``;
- ``sdk/go/common/resource/config/object.go``: ``unmarshalObject``, ``MarshalString``,
  ``isSecureValue`` (how a stack file's value becomes text, an object or a secret);
- ``sdk/go/common/resource/config/key.go``: ``ParseKey``.

One difference is forced by being offline: the CLI type-checks a ``secure:`` value after decrypting
it. Its plaintext is a string, so it always passes ``string`` and always fails ``object`` and
``array`` (a decrypted secret is never an object); whether it is a valid ``integer`` or ``boolean``
depends on the plaintext, which preflight cannot read, so preflight takes it as valid there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

# sdk/go/common/workspace/project.go: the type names a declaration may use (project.json's
# simpleConfigType); anything else fails every value, as ValidateConfigValue's last branch does.
SIMPLE_TYPES = ("string", "integer", "boolean", "array", "object")
# strconv.Atoi: an optional sign and decimal digits, within int64.
_ATOI = re.compile(r"^[+-]?[0-9]+$")
_INT64 = range(-(2**63), 2**63)


class ConfigRuleError(Exception):
    """A config rule the CLI enforces was broken; ``key`` is the config key it names, if any."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key


@dataclass(frozen=True)
class ItemsType:
    """The ``items:`` of an array declaration (``ProjectConfigItemsType``)."""

    type: str
    items: ItemsType | None = None


@dataclass(frozen=True)
class Declaration:
    """One key of ``Pulumi.yaml``'s ``config:`` after the CLI's shorthand rewrite.

    ``default`` and ``value`` are ``None`` when absent: the CLI cannot tell ``default: null`` from no
    default (``ProjectConfigType.Default`` is ``any``, compared with ``nil``).
    """

    key: str
    type: str | None = None
    items: ItemsType | None = None
    default: Any = None
    value: Any = None
    secret: bool = False

    @property
    def full_type_name(self) -> str:
        return full_type_name(self.type or "", self.items)

    @property
    def project_default(self) -> Any:
        """What the CLI sets on a stack that lacks the key (mergeConfig: ``default`` wins over ``value``)."""
        return self.default if self.default is not None else self.value


class Ciphertext:
    """A ``secure:`` value: its plaintext is a string the CLI decrypts and preflight cannot."""

    def __repr__(self) -> str:
        return "Ciphertext()"


CIPHERTEXT = Ciphertext()


@dataclass(frozen=True)
class StackValue:
    """A stack's config value as the CLI's ``config.Value`` holds it: what type checks see, and whether it is secret.

    ``content`` is the decrypted value ``validateStackConfigValue`` checks: the text of a scalar, or
    the JSON-decoded structure of an object, with ``CIPHERTEXT`` for each secret in it.
    """

    content: Any
    secure: bool


def full_type_name(type_name: str, items: ItemsType | None) -> str:
    """``InferFullTypeName``: ``array<array<string>>`` for nested items."""
    if items is not None:
        return f"array<{full_type_name(items.type, items.items)}>"
    return type_name


def namespaced_by_project(project: str, key: str) -> bool:
    """``configKeyIsNamespacedByProject``: a bare key, or one prefixed with ``<project>:``."""
    return ":" not in key or key.startswith(f"{project}:")


def parse_key(project: str, key: str) -> tuple[str, str]:
    """``parseConfigKey`` / ``config.ParseKey``: (namespace, name); a bare key is the project's."""
    if ":" not in key:
        return project, key
    parts = key.split(":")
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return parts[0], parts[2]
    raise ConfigRuleError(
        f"could not parse {key} as a configuration key (configuration keys should be of the form `<namespace>:<name>`)",
        key,
    )


def validate_config_value(type_name: str, items: ItemsType | None, value: Any) -> bool:
    """``ValidateConfigValue``: whether ``value`` (a YAML value or a stack value's content) has the type."""
    if type_name == "string":
        return isinstance(value, str | Ciphertext)
    if type_name == "integer":
        if isinstance(value, Ciphertext):
            return True  # the plaintext decides; preflight cannot decrypt it (module docstring)
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return value in _INT64
        if isinstance(value, float):
            return math.isfinite(value) and value == math.trunc(value)
        if isinstance(value, str):
            return bool(_ATOI.match(value)) and int(value) in _INT64
        return False
    if type_name == "boolean":
        return isinstance(value, bool | Ciphertext) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(validate_config_value(items.type, items.items, item) for item in value)


def declarations(section: Mapping[str, Any], project: str) -> list[Declaration]:
    """``RewriteShorthandConfigValues`` then the declarations, in file order.

    ``key: <scalar or list>`` is a default for a key of the project's namespace and a value for any
    other key; ``key: {type, items, default, value, secret, description}`` is a declaration.
    """
    result = []
    for raw_key, spec in section.items():
        key = str(raw_key)
        if isinstance(spec, dict):
            result.append(
                Declaration(
                    key=key,
                    type=None if spec.get("type") is None else str(spec["type"]),
                    items=_items(spec.get("items")),
                    default=spec.get("default"),
                    value=spec.get("value"),
                    secret=spec.get("secret") is True,
                )
            )
        elif namespaced_by_project(project, key):
            result.append(Declaration(key=key, default=spec))
        else:
            result.append(Declaration(key=key, value=spec))
    return result


def _items(raw: Any) -> ItemsType | None:
    if not isinstance(raw, dict) or raw.get("type") is None:
        return None
    return ItemsType(str(raw["type"]), _items(raw.get("items")))


def validate_project(project: str, declared: Iterable[Declaration]) -> None:
    """``Project.Validate``: raise the first broken rule, in file order.

    The CLI walks a Go map, so with several broken keys which one it names varies; each single
    broken key gets exactly the CLI's message.
    """
    for item in declared:
        key = item.key
        if item.default is not None and item.value is not None:
            raise ConfigRuleError(f"project config '{key}' cannot have both a 'default' and 'value' attribute", key)
        if namespaced_by_project(project, key):
            if item.type == "array" and item.items is None:
                raise ConfigRuleError(
                    f"The configuration key '{key}' declares an array but does not specify the underlying type "
                    "via the 'items' attribute",
                    key,
                )
            typed_default = item.type is not None and item.default is not None
            if typed_default and not validate_config_value(item.type or "", item.items, item.default):
                raise ConfigRuleError(
                    f"The default value specified for configuration key '{key}' is not of the expected type "
                    f"'{item.full_type_name}'",
                    key,
                )
        elif item.type is not None:
            raise ConfigRuleError(
                f"Configuration key '{key}' is not namespaced by the project and should not define a type", key
            )
        elif item.default is not None:
            raise ConfigRuleError(
                f"Configuration key '{key}' is not namespaced by the project and should not define a default value. "
                "Did you mean to use the 'value' attribute instead of 'default'?",
                key,
            )
        elif item.value is None:
            raise ConfigRuleError(f"Configuration key '{key}' is namespaced and must provide an attribute 'value'", key)


def stack_value(raw: Any, *, secret: bool = False) -> StackValue:
    """A stack file's value as ``config.Value``: ``{secure: <string>}`` is a secret string, any other
    map or list an object (secret when a secret is inside it), a scalar its text.

    ``secret`` marks a value whose plaintext is known (preflight's ``Secret`` in API overrides).
    """
    if is_ciphertext(raw):
        return StackValue(CIPHERTEXT, True)
    if isinstance(raw, dict | list):
        content = _object_content(raw)
        return StackValue(content, secret or _holds_secret(content))
    return StackValue(scalar_text(raw), secret)


def is_ciphertext(raw: Any) -> bool:
    """``isSecureValue``: a map of exactly one key ``secure`` whose value is a string."""
    return isinstance(raw, dict) and len(raw) == 1 and isinstance(raw.get("secure"), str)


def _object_content(raw: Any) -> Any:
    if is_ciphertext(raw):
        return CIPHERTEXT
    if isinstance(raw, dict):
        return {str(key): _object_content(value) for key, value in raw.items()}
    if isinstance(raw, list):
        return [_object_content(value) for value in raw]
    return raw


def _holds_secret(content: Any) -> bool:
    if isinstance(content, Ciphertext):
        return True
    if isinstance(content, dict):
        return any(_holds_secret(value) for value in content.values())
    if isinstance(content, list):
        return any(_holds_secret(value) for value in content)
    return False


def scalar_text(raw: Any) -> str:
    """``MarshalString`` of a scalar: Go's JSON text for booleans and numbers, null as ``""``.

    A YAML null leaves the CLI's ``config.Value`` empty (loaders.go ``checkForEmptyConfig``: "This is
    currently treated as an empty string").
    """
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        return go_json_float(raw)
    return str(raw)


def go_json_float(value: float) -> str:
    """encoding/json's float64 text: shortest digits, plain notation from 1e-6 to 1e21, else ``1e+21``."""
    if not math.isfinite(value):
        return repr(value)
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, exponent = repr(value).split("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{int(exponent.lstrip('+-'))}"
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def validate_stack_config(
    stack: str, project: str, declared: Iterable[Declaration], values: Mapping[str, StackValue]
) -> None:
    """``ValidateStackConfigAndApplyProjectConfig`` (mergeConfig with validation): raise its error.

    ``values`` holds the stack's keys, namespaced (``<namespace>:<name>``). Keys are visited in sorted
    order; every missing key is reported at once, then the first typed key whose value is not secret
    when it must be, or not of its type.
    """
    ordered = sorted(declared, key=lambda item: item.key)
    effective = dict(values)
    missing = []
    for item in ordered:
        namespace, name = parse_key(project, item.key)
        full = f"{namespace}:{name}"
        if full in values:
            continue
        if item.project_default is None:
            if namespace == project:
                missing.append(item.key)
            continue
        effective[full] = stack_value(item.project_default)
    if missing:
        raise ConfigRuleError(missing_values_message(stack, missing), missing[0] if len(missing) == 1 else None)
    for item in ordered:
        if item.type is None:
            continue
        namespace, name = parse_key(project, item.key)
        value = effective.get(f"{namespace}:{name}", StackValue("", False))
        if item.secret and not value.secure:
            raise ConfigRuleError(
                f"Stack '{stack}' with configuration key '{item.key}' must be encrypted as it's secret", item.key
            )
        if not validate_config_value(item.type, item.items, value.content):
            raise ConfigRuleError(
                f"Stack '{stack}' with configuration key '{item.key}' must be of type '{item.full_type_name}'",
                item.key,
            )


def missing_values_message(stack: str, keys: list[str]) -> str:
    """``missingStackConfigurationKeysError`` with ``formatMissingKeys``."""
    if len(keys) == 1:
        return f"Stack '{stack}' is missing configuration value '{keys[0]}'"
    ordered = sorted(keys)
    listed = ", ".join(f"'{key}'" for key in ordered[:-1])
    return f"Stack '{stack}' is missing configuration values {listed} and '{ordered[-1]}'"
