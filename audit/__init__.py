"""Live, read-only audit of a deployed stack with boto3, against the platform's control catalog.

The preview-time policy pack sees what a program asks for; this sees what runs: console changes,
drift, expired experiments and manual grants made after ``pulumi up`` (the guide, §2 and §8).
Run it as ``python -m audit --stack STACK``; see docs/audit.md.
"""

from audit.model import Finding, Report
from audit.runner import AuditError, run_audit

__all__ = ["AuditError", "Finding", "Report", "run_audit"]
