"""Regenerate the list of taggable pulumi-aws resource tokens from the installed provider SDK.

A token is taggable when its resource class accepts a ``tags`` input. The tag
transform (infra) and the tag policy (ai-guardrails) both read the generated list, so the pack
never needs pulumi-aws installed. ``tests/test_standards.py`` fails when it is stale.

Usage: python tools/gen_taggable_types.py [--check]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pulumi_aws

STANDARDS = Path(__file__).resolve().parents[1] / "policy_packs/ai-guardrails/standards/aiplatform_standards"
OUTPUT = STANDARDS / "data/aws_taggable_types.json"
_TOKEN = re.compile(r"super\(\w+, __self__\).__init__\(\s*'(aws:[^']+)'")


def taggable_tokens() -> list[str]:
    root = Path(pulumi_aws.__file__).parent
    tokens: set[str] = set()
    for source in root.rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        if '__props__.__dict__["tags"] = tags' not in text:
            continue
        tokens.update(_TOKEN.findall(text))
    return sorted(tokens)


def render() -> str:
    document = {"pulumi_aws": pulumi_aws._utilities.get_version(), "tokens": taggable_tokens()}
    return json.dumps(document, indent=1) + "\n"


def main() -> int:
    rendered = render()
    if "--check" in sys.argv:
        if OUTPUT.read_text(encoding="utf-8") != rendered:
            print(f"{OUTPUT} is stale: run python tools/gen_taggable_types.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(rendered, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
