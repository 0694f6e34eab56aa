"""Every reference stack (stacks/), run whole in preflight's update mode, with its settings and deployment stage.

Shared by the proofs that hold all reference stacks together: no two stacks collide
(test_reference_stacks_distinct.py), every principal a policy names exists by the time it is used
(test_principals_exist.py), every image a stack deploys is pullable (test_images_pullable.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from infra import deploy_order
from infra.config import Settings
from preflight import Preview, preview_program

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ReferenceStack:
    """One stack file, its validated settings, its stage in the deployment order and its update-mode preview."""

    name: str
    settings: Settings
    stage: int
    preview: Preview

    @property
    def account(self) -> str:
        """The account the stack's resources live in: its baseline's, else its roles' (the bootstrap's own)."""
        baseline = self.settings.baseline
        return baseline.account_id if baseline is not None else self.settings.account_id


@cache
def reference_stacks() -> dict[str, ReferenceStack]:
    """Every reference stack, in deployment order (infra.deploy_order)."""
    settings = deploy_order.reference_stacks(deploy_order.stack_config_dir())
    return {
        name: ReferenceStack(
            name,
            settings[name],
            deploy_order.stage_of(settings[name]),
            preview_program(REPO, name, mode="update"),
        )
        for name in deploy_order.ordered(settings)
    }


def account_baseline(stack: ReferenceStack) -> ReferenceStack:
    """The baseline stack of the account and environment ``stack`` deploys to."""
    [baseline] = [
        other
        for other in reference_stacks().values()
        if other.settings.deployment == "account-baseline"
        and other.account == stack.account
        and other.settings.environment == stack.settings.environment
    ]
    return baseline
