"""The one registry of run-time checks.

Each check is a small function registered with its metadata; the runner, the SARIF rules and the
docs table all read this registry.
"""

from __future__ import annotations

from collections.abc import Callable

from aiplatform_standards import control_ids, controls

from audit.model import Check, CheckFunction, Severity

_REGISTRY: dict[str, Check] = {}


def check(
    id: str,
    *,
    title: str,
    controls: tuple[str, ...],
    severity: Severity,
    resource_types: tuple[str, ...],
    remediation: str,
    needs_state: bool = False,
) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``function`` as the check ``id``; control IDs must exist in the catalog."""
    unknown = set(controls) - control_ids()
    if unknown:
        raise ValueError(f"check {id}: controls {sorted(unknown)} are not in the control catalog")
    if not controls:
        raise ValueError(f"check {id}: names no control")

    def register(function: CheckFunction) -> CheckFunction:
        if id in _REGISTRY:
            raise ValueError(f"check {id} is registered twice")
        _REGISTRY[id] = Check(id, title, controls, severity, resource_types, remediation, function, needs_state)
        return function

    return register


def checks() -> tuple[Check, ...]:
    """Every registered check, in the catalog's order of their first control."""
    # Importing the package registers the checks: the registry is complete once it is imported.
    import audit.checks  # noqa: F401

    order = {control.id: position for position, control in enumerate(controls())}
    return tuple(sorted(_REGISTRY.values(), key=lambda check: order[check.controls[0]]))
