"""Fixture programs for the Kubernetes policies (tenancy, NET-6/7, RBAC, REG-6)."""

from __future__ import annotations
