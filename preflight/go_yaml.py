"""YAML read the way the Pulumi CLI reads Pulumi.yaml and stack files: gopkg.in/yaml.v3 decoding into ``any``.

The CLI's YAML marshaller is yaml.v3 (pulumi/pulumi ``sdk/go/common/encoding/marshal.go``, v3.274.1),
and it decodes both files into untyped values first (``LoadProjectBytes``,
``LoadProjectStackBytes`` in ``sdk/go/common/workspace/loaders.go``). PyYAML resolves plain scalars
by YAML 1.1, yaml.v3 mostly by YAML 1.2 (go-yaml/yaml ``resolve.go`` and ``decode.go``, and its
README's "Compatibility" section, https://github.com/go-yaml/yaml/tree/v3.0.1#compatibility):

- booleans are only ``true``/``True``/``TRUE`` and ``false``/``False``/``FALSE``: ``yes``, ``no``,
  ``on``, ``off`` stay strings when decoded into ``any``;
- an integer is what ``strconv.ParseInt(s, 0, 64)`` accepts once underscores are removed
  (``0b``, ``0o``, ``0x`` prefixes and 1.1's ``0777`` octals), a float what its ``yamlStyleFloat``
  pattern accepts (so ``08`` is the float 8); base-60 numbers such as ``1:20`` are strings;
- a timestamp such as ``2024-01-05`` stays the string as written when decoded into ``any``.

Reading the files with these rules keeps preflight's config identical to what the CLI hands the
program and what its type checks see (``confidential: yes`` is the string "yes", not a boolean).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# libyaml parses a large stack file in a fraction of the pure-Python parser's time; resolving
# scalars stays in Python (yaml's Resolver), which is what this module changes.
_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
# After removing "_": optional sign, then a 0b/0o/0x prefixed number, a 0-led octal, or decimal.
_INT = re.compile(r"^[-+]?(?:0[bB][01_]+|0[oO][0-7_]+|0[xX][0-9a-fA-F_]+|0[0-7_]*|[1-9][0-9_]*)$")
# yamlStyleFloat on the text without "_" when a sign or digit leads, ParseFloat on text led by "."
# (no "_" there), and the infinities and NaN of yaml.v3's resolve table.
_FLOAT = re.compile(
    r"^(?:(?:[-+](?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9_]+)?"
    r"|\.[0-9]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_REPLACED_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:timestamp",
}


class GoYamlLoader(_BASE):
    """A safe loader whose plain scalars resolve as yaml.v3 resolves them into ``any``."""


GoYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _REPLACED_TAGS]
    for first, resolvers in _BASE.yaml_implicit_resolvers.items()
}
GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789"))


def _construct_int(loader: Any, node: yaml.ScalarNode) -> int:
    """``strconv.ParseInt(plain, 0, 64)``: prefixes in either case, and 1.1's ``0777`` octals."""
    plain = str(loader.construct_scalar(node)).replace("_", "")
    sign, digits = (plain[0], plain[1:]) if plain[0] in "+-" else ("", plain)
    value = int(digits, 8) if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit() else int(digits, 0)
    return -value if sign == "-" else value


GoYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load(text: str) -> Any:
    """The document in ``text`` as the CLI decodes it."""
    return yaml.load(text, Loader=GoYamlLoader)  # noqa: S506 - a safe loader (SafeLoader/CSafeLoader)
