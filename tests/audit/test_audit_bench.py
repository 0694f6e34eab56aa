"""The measurement script keeps working (small; it asserts no timing)."""

from __future__ import annotations

from bench_audit import measure

from audit.registry import checks


def test_bench_measures_a_seeded_environment(emulator: str) -> None:
    figures = measure(emulator, tenants=3, workers=2)
    assert figures["findings"] == 0
    assert figures["checks"] == len(checks())
    # Seven tagged resources a tenant, plus the platform's.
    assert figures["resources"] == 13 + 7 * 3
    assert figures["apiCalls"] > figures["resources"]
    assert figures["apiCallsPerResource"] == round(figures["apiCalls"] / figures["resources"], 2)
