"""docs/audit.md is in step with the registry and the IAM policy."""

from __future__ import annotations

from aiplatform_standards import control_ids

from audit.docs import DOC, checks_by_control, main, render
from audit.registry import checks


def test_the_checked_in_doc_is_up_to_date() -> None:
    current = DOC.read_text(encoding="utf-8")
    assert render(current) == current, "docs/audit.md is stale: run python -m audit.docs"
    assert main(["--check"]) == 0


def test_the_doc_lists_every_check() -> None:
    text = DOC.read_text(encoding="utf-8")
    for registered in checks():
        assert f"| `{registered.id}` |" in text


def test_checks_by_control_covers_the_catalog() -> None:
    by_control = checks_by_control()
    assert set(by_control) == control_ids()
    assert by_control["KMS-1"] == ["kms-rotation"]
    assert set(by_control["AUD-4"]) == {"standard-tags", "state-unmanaged", "state-missing"}
