"""The policy host: evaluates CrossGuard policy packs against a recorded preview."""

from .host import discover_packs, environment_of, evaluate_policies, pack_environment

__all__ = ["discover_packs", "environment_of", "evaluate_policies", "pack_environment"]
