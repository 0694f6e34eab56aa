"""What a check sees: the API, the stack, the account and what discovery found."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import TYPE_CHECKING

from audit.api import Api
from audit.model import PLATFORM_OWNER, Resource

if TYPE_CHECKING:
    from audit.discovery import Inventory
    from audit.state import StackState


@dataclass
class AuditContext:
    """Shared by every check of one run (read-only after discovery)."""

    api: Api
    stack: str
    region: str
    account: str
    partition: str
    today: date
    state: StackState | None = None
    inventory: Inventory = field(init=False)

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"

    @cached_property
    def owners(self) -> frozenset[str]:
        """Every owner the stack's resources name (its tenants and ``platform``)."""
        return frozenset({PLATFORM_OWNER, *self.tenants})

    @cached_property
    def tenants(self) -> dict[str, str]:
        """tenant -> environment, from the stack's tagged resources."""
        seen: dict[str, Counter[str]] = {}
        for resource in self.inventory.tagged:
            if resource.tenant and resource.tenant != PLATFORM_OWNER:
                seen.setdefault(resource.tenant, Counter())[resource.environment or ""] += 1
        return {tenant: counts.most_common(1)[0][0] for tenant, counts in sorted(seen.items())}

    def tags_of(self, arn: str) -> dict[str, str] | None:
        """The tags discovery already read for ``arn``, if it did."""
        resource: Resource | None = self.inventory.by_arn.get(arn)
        return dict(resource.tags) if resource else None
