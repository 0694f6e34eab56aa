"""The offline cloud answers in the account the real provider would act in."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from preflight import preview_function


def _program() -> None:
    aws.iam.Role("default-account", name="r1", assume_role_policy="{}")
    tenant = aws.Provider(
        "tenant",
        region="us-east-1",
        assume_roles=[{"role_arn": "arn:aws:iam::555566667777:role/aip-prod-tenant-deployment"}],
    )
    aws.iam.Role("tenant-account", name="r2", assume_role_policy="{}", opts=pulumi.ResourceOptions(provider=tenant))
    pinned = aws.Provider("pinned", region="us-east-1", allowed_account_ids=["666677778888"])
    aws.kms.Key("pinned-key", opts=pulumi.ResourceOptions(provider=pinned))
    pulumi.export("caller", aws.get_caller_identity_output().account_id)
    pulumi.export(
        "tenantCaller", aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=tenant)).account_id
    )


def test_resources_and_invokes_use_the_providers_account_else_the_stacks() -> None:
    preview = preview_function(
        _program,
        stack="accounts-prod",
        config={"aws:region": "us-east-1", "aws:allowedAccountIds": '["444455556666"]'},
        mode="update",
    )
    assert preview.get("aws:iam/role:Role", "default-account").outputs["arn"] == "arn:aws:iam::444455556666:role/r1"
    assert preview.get("aws:iam/role:Role", "tenant-account").outputs["arn"] == "arn:aws:iam::555566667777:role/r2"
    assert (
        preview.get("aws:kms/key:Key", "pinned-key")
        .outputs["arn"]
        .startswith("arn:aws:kms:us-east-1:666677778888:key/")
    )
    assert preview.outputs == {"caller": "444455556666", "tenantCaller": "555566667777"}


def test_without_a_pin_the_fixed_offline_account_answers() -> None:
    preview = preview_function(_program, stack="accounts-dev", config={"aws:region": "us-east-1"}, mode="update")
    assert preview.get("aws:iam/role:Role", "default-account").outputs["arn"] == "arn:aws:iam::111122223333:role/r1"
    assert preview.outputs["caller"] == "111122223333"
