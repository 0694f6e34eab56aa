"""Deployment kinds, one Pulumi stack each: the stack's ``deployment`` config picks one."""

from __future__ import annotations

import importlib

from infra.config import Settings


def build(settings: Settings) -> None:
    """Build the deployment the stack asks for (module ``infra.deployments.<kind>``)."""
    module = importlib.import_module(f"infra.deployments.{settings.deployment.replace('-', '_')}")
    module.build(settings)
