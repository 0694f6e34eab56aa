"""The registry against its fixtures, the catalog, the generated doc and the config files."""

from __future__ import annotations

import json
import sys

import guardrails_cases_aws  # noqa: F401
import guardrails_cases_k8s  # noqa: F401
import jsonschema
import pytest
from aiplatform_standards import control_ids, controls
from guardrails_cases import CASES, PACK

sys.path.insert(0, str(PACK))
import ai_guardrails
from ai_guardrails import docs

RULES = {rule.name: rule for rule in ai_guardrails.rules()}
# The waiver-governance policies test themselves in test_waivers.py (they need a waiver file).
GOVERNANCE = {name for name, rule in RULES.items() if rule.area == "governance"}


def test_counts_meet_the_issue() -> None:
    kinds = [rule.kind for rule in RULES.values()]
    assert kinds.count("resource") >= 40
    assert kinds.count("stack") >= 10


@pytest.mark.parametrize("name", sorted(RULES))
def test_policy_metadata(name: str) -> None:
    rule = RULES[name]
    assert rule.controls, f"{name} has no control ID"
    if name not in GOVERNANCE:
        assert set(rule.controls) <= control_ids(), f"{name}: unknown control IDs"
        assert rule.enforcement.value == "mandatory" or rule.severity.value == "low"
    assert rule.description.endswith(".")
    assert rule.remediation
    assert rule.checks
    for key, schema in rule.config.items():
        assert "default" in schema, f"{name}.{key} has no secure default"
        jsonschema.validate(schema["default"], {k: v for k, v in schema.items() if k != "default"})


def test_every_policy_has_pass_and_fail_fixtures() -> None:
    covered = {case.policy for case in CASES}
    missing = sorted(set(RULES) - covered - GOVERNANCE)
    assert not missing, f"policies without fixtures: {missing}"


def test_catalog_coverage_is_reported() -> None:
    implemented = {control for rule in RULES.values() for control in rule.controls}
    uncovered = [control.id for control in controls() if control.id not in implemented]
    print(f"catalog controls no policy implements: {uncovered or 'none'}")
    assert not uncovered


def test_generated_docs_and_prod_config_are_current() -> None:
    assert docs.main(["--check"]) == 0, "run: cd policy_packs/ai-guardrails && python -m ai_guardrails.docs"


def test_prod_config_is_the_builtin_defaults() -> None:
    prod = json.loads((PACK / "config" / "prod.json").read_text())
    for name, values in prod.items():
        assert {k: v for k, v in values.items() if k != "enforcementLevel"} == RULES[name].defaults()


def test_dev_config_fits_the_schemas() -> None:
    dev = json.loads((PACK / "config" / "dev.json").read_text())
    for name, values in dev.items():
        rule = RULES[name]
        for key, value in values.items():
            if key == "enforcementLevel":
                assert value in ("advisory", "mandatory", "disabled")
                continue
            schema = {k: v for k, v in rule.config[key].items() if k != "default"}
            jsonschema.validate(value, schema)
