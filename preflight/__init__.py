"""preflight: an offline ``pulumi preview`` with the policy packs enforced.

Run a Pulumi Python program under the SDK's mock runtime as the Pulumi CLI would, record the
resource graph the engine would see, and evaluate CrossGuard policy packs against it, either
in-process (fast) or over the analyzer gRPC protocol in the pack's own process (``exact``).

    from preflight import preview_program, preview_function, UNKNOWN, Secret
"""

from .api import preview_function, preview_program
from .model import (
    Diagnostic,
    InvokeRecord,
    NotApplicable,
    PolicyError,
    PolicyInfo,
    PreflightError,
    Preview,
    ProgramError,
    Remediation,
    ResourceRecord,
    UsageError,
    Violation,
    Waiver,
)
from .values import UNKNOWN, Secret

__all__ = [
    "UNKNOWN",
    "Diagnostic",
    "InvokeRecord",
    "NotApplicable",
    "PolicyError",
    "PolicyInfo",
    "PreflightError",
    "Preview",
    "ProgramError",
    "Remediation",
    "ResourceRecord",
    "Secret",
    "UsageError",
    "Violation",
    "Waiver",
    "preview_function",
    "preview_program",
]
