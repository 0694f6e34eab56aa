"""The order in which the platform's stacks are deployed: the one record the runbook and the tests read.

Each stage may rely on what every earlier stage created, never on a later one:

1. ``bootstrap-<env>``: the Pulumi state bucket and the ``awskms://`` secrets key (created with a local
   backend, then migrated into the bucket: docs/bootstrap.md). Every later stack keeps its state and secrets
   there.
2. ``baseline-<env>``: the platform account's baseline: roles, boundaries, the service-linked roles the
   platform's key policies name, keys, trail, registry settings. Every later stack of the account names them.
3. ``platform-<env>``: the shared cluster and its tier A and B tenants.
4. ``baseline-<tenant>-<env>``: a tier C tenant's own account's baseline (run with an administrator session in
   that account, state in the platform's prod bucket), including the tenant deployment role, whose trust names
   the platform account's deployer (stage 2).
5. ``tenant-<tenant>-<env>`` and ``hosts-<tenant>-<env>``: the tier C stacks, deployed by the platform's
   deployer through that role.

``python -m infra.deploy_order`` prints the reference stacks (stacks/) in this order.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from infra.config import TIER_C_DEPLOYMENTS, Settings, settings_from_stack_file


@dataclass(frozen=True)
class Stage:
    """One step of the order: which stacks, of which deployment, and what later stages take from it."""

    stacks: str
    deployment: str
    provides: str


STAGES: tuple[Stage, ...] = (
    Stage(
        "bootstrap-<env>",
        "bootstrap",
        "the Pulumi state bucket and the awskms:// secrets key of every stack of the account",
    ),
    Stage(
        "baseline-<env>",
        "account-baseline",
        "the platform account's roles and boundaries (the deployer among them), the service-linked roles the key "
        "policies name, the baseline keys, trail and registry settings",
    ),
    Stage("platform-<env>", "shared-cluster", "the shared cluster and its tier A and B tenants"),
    Stage(
        "baseline-<tenant>-<env>",
        "account-baseline",
        "a tier C tenant's own account: its baseline and the role aip-<env>-tenant-deployment, which trusts the "
        "platform account's deployer",
    ),
    Stage(
        "tenant-<tenant>-<env>, hosts-<tenant>-<env>",
        " or ".join(TIER_C_DEPLOYMENTS),
        "the tier C tenant's own platform, in its own account",
    ),
)
# Stage indexes, for readability where the rules below name them.
BOOTSTRAP, BASELINE, PLATFORM, TENANT_BASELINE, TIER_C = range(len(STAGES))


def stage_of(settings: Settings) -> int:
    """The stage of a stack, from what its config deploys."""
    if settings.deployment == "bootstrap":
        return BOOTSTRAP
    if settings.deployment == "account-baseline":
        baseline = settings.baseline
        return TENANT_BASELINE if baseline is not None and baseline.tenant_deployment is not None else BASELINE
    if settings.deployment == "shared-cluster":
        return PLATFORM
    return TIER_C


def reference_stacks(directory: Path) -> dict[str, Settings]:
    """Every stack file in ``directory`` (``Pulumi.<stack>.yaml``), validated as the program reads it."""
    stacks: dict[str, Settings] = {}
    for path in sorted(directory.glob("Pulumi.*.yaml")):
        name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        config: Mapping[str, Any] = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("config") or {}
        stacks[name] = settings_from_stack_file(config, name)
    return stacks


def ordered(stacks: Mapping[str, Settings]) -> list[str]:
    """The stacks in deployment order (by stage, then name)."""
    return sorted(stacks, key=lambda name: (stage_of(stacks[name]), name))


def markdown_table() -> str:
    """The order as docs/bootstrap.md shows it."""
    lines = ["| # | stacks | deployment | what later stacks rely on |", "|---|---|---|---|"]
    lines += [
        f"| {index} | `{stage.stacks}` | {stage.deployment} | {stage.provides} |"
        for index, stage in enumerate(STAGES, start=1)
    ]
    return "\n".join(lines)


def stack_config_dir() -> Path:
    """The project's ``stackConfigDir`` (Pulumi.yaml)."""
    root = Path(__file__).resolve().parents[1]
    project = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8"))
    return root / str(project.get("stackConfigDir", "."))


def main(argv: list[str]) -> int:
    """Print the reference stacks in deployment order, one per line with its stage."""
    directory = Path(argv[0]) if argv else stack_config_dir()
    stacks = reference_stacks(directory)
    for name in ordered(stacks):
        stage = stage_of(stacks[name])
        print(f"{stage + 1}  {name:<28} {STAGES[stage].stacks}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
