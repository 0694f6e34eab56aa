"""How preflight represents values the engine cannot know yet, secrets, and engine-marshalled properties.

The engine speaks protobuf ``Struct`` with magic strings for unknowns and signature objects for
secrets, assets and resource references. Policies see exactly that wire form (through
pulumi_policy's deserialiser); tests and reports see friendlier Python values:

- ``UNKNOWN`` stands for a value the engine cannot know during a preview (the engine's
  ``04da6b54-…`` sentinel, and the other typed sentinels);
- ``Secret(value)`` wraps a value the engine would keep encrypted;
- resource references are replaced by the referenced resource's id (or URN for components),
  as the engine marshals them for analyzers;
- assets and archives become the matching ``pulumi`` asset objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi_policy import proxy

UNKNOWN_SENTINEL: Final = rpc.UNKNOWN
"""The engine's unknown value on the wire (``04da6b54-…``); it is the only one the engine sends."""

# Every sentinel pulumi_policy treats as unknown (its typed ones included).
UNKNOWN_SENTINELS: Final = frozenset(
    {
        UNKNOWN_SENTINEL,
        proxy.UNKNOWN_BOOLEAN_VALUE,
        proxy.UNKNOWN_NUMBER_VALUE,
        proxy.UNKNOWN_STRING_VALUE,
        proxy.UNKNOWN_ARRAY_VALUE,
        proxy.UNKNOWN_ASSET_VALUE,
        proxy.UNKNOWN_ARCHIVE_VALUE,
        proxy.UNKNOWN_OBJECT_VALUE,
    }
)

SIG_KEY: Final = rpc._special_sig_key
SECRET_SIG: Final = rpc._special_secret_sig
ASSET_SIG: Final = rpc._special_asset_sig
ARCHIVE_SIG: Final = rpc._special_archive_sig
RESOURCE_SIG: Final = rpc._special_resource_sig
OUTPUT_SIG: Final = rpc._special_output_value_sig


class _Unknown:
    """The type of ``UNKNOWN``; there is exactly one instance."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
"""A value the engine cannot know during a preview (first-preview mode)."""


@dataclass(frozen=True)
class Secret:
    """A value the engine treats as secret; ``value`` may itself be ``UNKNOWN``."""

    value: Any

    def __repr__(self) -> str:
        return f"Secret({self.value!r})"


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def struct_to_py(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Convert a Struct exactly as ``json_format.MessageToDict`` does (numbers become float), faster."""
    return {key: _value_to_py(value) for key, value in struct.fields.items()}


def _value_to_py(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return {key: _value_to_py(item) for key, item in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_value_to_py(item) for item in value.list_value.values]
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError("a property holds NaN or Infinity, which the engine cannot marshal")
        return number
    return None


def engine_view(wire: Mapping[str, Any]) -> dict[str, Any]:
    """Marshal SDK-sent properties as the engine marshals them for analyzers.

    Keys starting with ``__`` are internal and dropped (``SkipInternalKeys``); resource references
    become the referenced id, or its URN when it has no id (``KeepResources`` is off).
    """
    return {key: _engine_value(value) for key, value in wire.items() if not key.startswith("__")}


def _engine_value(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SIG_KEY) == RESOURCE_SIG:
            ref_id = value.get("id")
            if ref_id is None:
                return value.get("urn", UNKNOWN_SENTINEL)
            return ref_id if ref_id != "" else UNKNOWN_SENTINEL
        if value.get(SIG_KEY) == OUTPUT_SIG:
            inner = _engine_value(value["value"]) if "value" in value else UNKNOWN_SENTINEL
            if value.get("secret"):
                return {SIG_KEY: SECRET_SIG, "value": inner}
            return inner
        return {key: _engine_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_engine_value(item) for item in value]
    return value


def needs_engine_view(wire: Mapping[str, Any]) -> bool:
    """Whether ``engine_view`` would change anything (most resources need no rewrite)."""
    return any(key.startswith("__") or _has_special(value) for key, value in wire.items())


def _has_special(value: Any) -> bool:
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig in (RESOURCE_SIG, OUTPUT_SIG):
            return True
        return any(_has_special(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_special(item) for item in value)
    return False


def friendly(value: Any) -> Any:
    """Turn a wire value into the documented Python form (``UNKNOWN``, ``Secret``, assets)."""
    if isinstance(value, str):
        return UNKNOWN if value in UNKNOWN_SENTINELS else value
    if isinstance(value, dict):
        sig = value.get(SIG_KEY)
        if sig is None:
            return {key: friendly(item) for key, item in value.items()}
        if sig == SECRET_SIG:
            return Secret(friendly(value.get("value", UNKNOWN_SENTINEL)))
        if sig == ASSET_SIG:
            return _asset(value)
        if sig == ARCHIVE_SIG:
            return _archive(value)
        if sig == RESOURCE_SIG:
            return friendly(_engine_value(value))
        if sig == OUTPUT_SIG:
            return friendly(_engine_value(value))
        return {key: friendly(item) for key, item in value.items()}
    if isinstance(value, list):
        return [friendly(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _asset(value: Mapping[str, Any]) -> pulumi.Asset:
    if "path" in value:
        return pulumi.FileAsset(value["path"])
    if "text" in value:
        return pulumi.StringAsset(value["text"])
    return pulumi.RemoteAsset(value.get("uri", ""))


def _archive(value: Mapping[str, Any]) -> pulumi.Archive:
    if "assets" in value:
        return pulumi.AssetArchive({key: friendly(item) for key, item in value["assets"].items()})
    if "path" in value:
        return pulumi.FileArchive(value["path"])
    return pulumi.RemoteArchive(value.get("uri", ""))


def to_wire(value: Any) -> Any:
    """The inverse of ``friendly`` for plain data: ``UNKNOWN`` and ``Secret`` back to wire form."""
    if value is UNKNOWN:
        return UNKNOWN_SENTINEL
    if isinstance(value, Secret):
        return {SIG_KEY: SECRET_SIG, "value": to_wire(value.value)}
    if isinstance(value, Mapping):
        return {str(key): to_wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    return value


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Secret):
        return contains_unknown(value.value)
    if isinstance(value, Mapping):
        return any(contains_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_unknown(item) for item in value)
    return False


def reveal(value: Any) -> Any:
    """Strip ``Secret`` wrappers (for rendering objects whose secrecy the caller handles)."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, Mapping):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def walk(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Yield every (path, leaf) of a friendly value."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))
    else:
        yield path, value
