"""Measure the audit on a seeded emulator: checks, API calls per resource, run time.

    .venv/bin/python tests/audit/bench_audit.py [--tenants 50] [--workers 4] [--latency-ms 0]

Seeds the compliant platform stack with ``--tenants`` tenants (six tagged resources each, plus
their budget, access entry and pod identity association), audits it and prints the figures as
JSON. ``--latency-ms`` adds that much to every request the audit sends (what a real endpoint costs
and the in-process emulator does not), to show how the run time scales with ``--workers``. A test runs
it small so that it keeps working; it asserts no timing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from datetime import date
from typing import Any

from audit_emulator import REGION, EksExtras, moto_server, new_session
from audit_seed import STACK, seed

from audit import run_audit
from audit.registry import checks


def measure(endpoint_url: str, tenants: int, workers: int, latency_ms: float = 0) -> dict[str, Any]:
    session = new_session()
    extras = EksExtras(endpoint_url)
    extras.register(session.events)
    if latency_ms:
        session.events.register("before-send", lambda **_: time.sleep(latency_ms / 1000))
    started = time.monotonic()
    seed(endpoint_url, extras, tuple(f"tenant-{number:03d}" for number in range(tenants)))
    seeded = time.monotonic() - started
    report = run_audit(
        session, STACK, region=REGION, endpoint_url=endpoint_url, today=date(2026, 6, 1), workers=workers
    )
    calls = sum(report.api_calls.values())
    by_service: Counter[str] = Counter()
    for (service, _), count in report.api_calls.items():
        by_service[service] += count
    return {
        "tenants": tenants,
        "workers": workers,
        "latencyMs": latency_ms,
        "checks": len(checks()),
        "resources": report.resources,
        "checksEvaluated": report.checked,
        "findings": len(report.findings),
        "apiCalls": calls,
        "apiCallsPerResource": round(calls / max(report.resources, 1), 2),
        "apiCallsByService": dict(sorted(by_service.items())),
        "auditSeconds": report.seconds,
        "seedSeconds": round(seeded, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=0)
    args = parser.parse_args(argv)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        os.environ.setdefault(name, value)
    with moto_server() as endpoint_url:
        print(json.dumps(measure(endpoint_url, args.tenants, args.workers, args.latency_ms), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
