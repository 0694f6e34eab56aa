"""TenantBudget: a tenant's monthly AWS Budgets COST budget (CONTROLS COST-1).

The budget counts the costs tagged with the tenant AND the environment: a filter expression
``And`` of the two tag filters (legacy cost filters OR their values, which would count every
environment's spend). Notifications go to the platform's alert topic at 80% of the limit
forecast and at 100% actually spent. Activating the cost-allocation tags is the account
baseline's job.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import naming
from infra.config import Settings, Tenant

TYPE = "secure-ai-platform:budget:TenantBudget"

TENANT_TAG = "aiplatform:tenant"
ENVIRONMENT_TAG = "aiplatform:environment"
# (threshold %, notification type): warn on the forecast, alarm on actual spend.
THRESHOLDS = ((80.0, "FORECASTED"), (100.0, "ACTUAL"))


@dataclass
class TenantBudgetArgs:
    """Whose budget, and the topic its alerts go to."""

    settings: Settings
    tenant: Tenant
    alert_topic_arn: pulumi.Input[str]


def _tag_is(key: str, value: str) -> aws.budgets.BudgetFilterExpressionAndArgsDict:
    return {"tags": {"key": key, "values": [value], "match_options": ["EQUALS"]}}


class TenantBudget(pulumi.ComponentResource):
    """The tenant's cost budget with its alert notifications."""

    budget: aws.budgets.Budget

    def __init__(self, name: str, args: TenantBudgetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        settings, tenant = args.settings, args.tenant
        self.budget = aws.budgets.Budget(
            name,
            name=naming.budget_name(settings.environment, tenant.name),
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{tenant.monthly_budget_usd:.2f}",
            limit_unit="USD",
            metrics="UnblendedCost",
            filter_expression={
                "ands": [_tag_is(TENANT_TAG, tenant.name), _tag_is(ENVIRONMENT_TAG, settings.environment)]
            },
            notifications=[
                {
                    "comparison_operator": "GREATER_THAN",
                    "threshold": threshold,
                    "threshold_type": "PERCENTAGE",
                    "notification_type": kind,
                    "subscriber_sns_topic_arns": [args.alert_topic_arn],
                }
                for threshold, kind in THRESHOLDS
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"budgetName": self.budget.name})
