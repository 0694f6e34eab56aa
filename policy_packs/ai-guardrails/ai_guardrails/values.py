"""Plain views of the properties a policy receives, with unknowns made explicit.

The policy SDK hands a policy its properties wrapped in a proxy that raises on the first read of
an unknown value. Policies here read a plain copy instead, in which every unknown is the
``UNKNOWN`` sentinel, so that one unknown property never hides the checks of the known ones, and
each check decides deliberately what an unknown means for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)
from pulumi_policy.secret import Secret

_SENTINELS: Final = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


class _Unknown:
    """A value the engine does not know yet (computed by the cloud, or derived from such a value)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:
        # Checks test for UNKNOWN explicitly before deciding; falsy keeps a forgotten test from crashing.
        return False


UNKNOWN: Final = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def plain(value: Any) -> Any:
    """A plain copy (dicts, lists, scalars) of a property value, unknowns replaced by ``UNKNOWN``."""
    target = _proxy_target(value)
    if target is not None:
        return plain(target)
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, str):
        return UNKNOWN if value in _SENTINELS else value
    if isinstance(value, Mapping):
        return {str(key): plain(value[key]) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [plain(item) for item in value]
    return value


def _proxy_target(value: Any) -> Any:
    # The SDK's proxies expose their raw target under this key; reading it never raises.
    if isinstance(value, Mapping | Sequence) and not isinstance(value, str | bytes | dict | list | tuple):
        try:
            getter: Any = value
            return getter["__target"]
        except (KeyError, TypeError, IndexError, UnknownValueError):
            return None
    return None


def get(value: Any, *path: str | int) -> Any:
    """The value at ``path`` (None when absent; UNKNOWN when it or a parent is unknown)."""
    current = value
    for step in path:
        if current is UNKNOWN:
            return UNKNOWN
        if isinstance(step, int):
            if isinstance(current, list) and -len(current) <= step < len(current):
                current = current[step]
            else:
                return None
        elif isinstance(current, dict):
            current = current.get(step)
        else:
            return None
    return current


def items(value: Any) -> list[Any]:
    """The elements of a list property; a single object counts as a one-element list."""
    if value is None or value is UNKNOWN:
        return []
    if isinstance(value, list):
        return value
    return [value]


def has_unknown(value: Any) -> bool:
    """Whether the value is, or contains, an unknown."""
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(has_unknown(item) for item in value)
    return False


def as_bool(value: Any) -> bool | _Unknown | None:
    """A boolean from a bool or its string spelling (launch templates use "true"); None if absent."""
    if value is None or value is UNKNOWN:
        return None if value is None else UNKNOWN
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    return False


def as_number(value: Any) -> float | _Unknown | None:
    """A number from an int, float or numeric string; None if absent or not a number."""
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def strings(value: Any) -> list[str]:
    """The known strings of a string-or-list property (unknown elements are left out)."""
    return [item for item in items(value) if isinstance(item, str)]


def as_json(value: Any) -> Any:
    """A JSON document given as a string or as data; UNKNOWN when unknown, None when unparseable."""
    if value is UNKNOWN or has_unknown(value):
        return UNKNOWN
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def walk(value: Any) -> Iterator[Any]:
    """Every scalar inside a value."""
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
    else:
        yield value
