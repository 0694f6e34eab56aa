"""AccountDefaults: the settings AWS holds once per account and region (CONTROLS KMS-7, REG-7, AUD-4).

- EBS encryption by default, with the baseline's default-volumes key as the default key: a volume
  created without a key (by any tool, in any stack) is still encrypted with a customer-managed key.
- The account's S3 public access block with all four flags: no bucket of the account can be made
  public, whatever its own settings.
- The standard tags activated as cost-allocation tags, so that cost reports split by tenant, tier
  and environment. AWS accepts an activation only once the tag key has appeared in billing data,
  up to a day after its first use; a first ``pulumi up`` in a fresh account may need a rerun.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

TYPE = "secure-ai-platform:account_defaults:AccountDefaults"


@dataclass
class AccountDefaultsArgs:
    """The default EBS key and the tag keys to activate for cost allocation."""

    volumes_key_arn: pulumi.Input[str]
    cost_allocation_tags: Sequence[str]


class AccountDefaults(pulumi.ComponentResource):
    """EBS encryption by default, the account public access block, cost-allocation tags."""

    def __init__(self, name: str, args: AccountDefaultsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        encryption = aws.ebs.EncryptionByDefault(name, enabled=True, opts=child)
        aws.ebs.DefaultKmsKey(
            name,
            key_arn=args.volumes_key_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[encryption]),
        )
        aws.s3.AccountPublicAccessBlock(
            name,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        for key in args.cost_allocation_tags:
            aws.costexplorer.CostAllocationTag(
                f"{name}-{key.replace(':', '-')}", tag_key=key, status="Active", opts=child
            )
        self.register_outputs({"costAllocationTags": list(args.cost_allocation_tags)})
