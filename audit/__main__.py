"""python -m audit --stack STACK [--region R] [--profile P] [--endpoint-url URL] [--state FILE]
[--format text|json|sarif] [--output FILE]

Exit status: 1 when any check failed; otherwise 2 when any check was not evaluated (or the audit
could not run at all); otherwise 0.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError

from audit.registry import checks
from audit.report import render
from audit.runner import DEFAULT_WORKERS, AuditError, run_audit
from audit.state import StackState

NOT_EVALUATED = 2


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m audit", description="Live, read-only audit of a deployed stack against the control catalog."
    )
    parser.add_argument("--stack", required=True, help="the Pulumi stack name (the aiplatform:stack tag)")
    parser.add_argument("--region", help="the region to audit (default: the profile's)")
    parser.add_argument("--profile", help="the AWS profile to use")
    parser.add_argument("--endpoint-url", help="send every call to this endpoint (an emulator or private endpoint)")
    parser.add_argument("--state", type=Path, help="`pulumi stack export` of the stack: report unmanaged and missing")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument("--output", type=Path, help="write the report here instead of standard output")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="concurrent checks (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None, *, session: boto3.Session | None = None) -> int:
    """Run the audit; ``session`` lets a caller bring its own (tests register event handlers on it)."""
    args = parser().parse_args(argv)
    try:
        state = StackState.load(args.state) if args.state else None
    except (OSError, ValueError) as error:
        print(f"audit not run: cannot read the state {args.state}: {error}", file=sys.stderr)
        return NOT_EVALUATED
    try:
        session = session or boto3.Session(profile_name=args.profile, region_name=args.region)
        report = run_audit(
            session,
            args.stack,
            region=args.region,
            endpoint_url=args.endpoint_url,
            state=state,
            workers=args.workers,
        )
    except (AuditError, BotoCoreError) as error:
        print(f"audit not run: {error}", file=sys.stderr)
        return NOT_EVALUATED
    text = render(report, args.format, checks())
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(
            f"{report.failed} failed, {report.not_evaluated} not evaluated of {report.checked} checks: {args.output}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
