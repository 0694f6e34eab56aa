"""Host instances: one primary interface each, from one place, and an AMI resolved for real (issue 11, item 14).

An instance takes its primary network interface (device index 0) either from its launch template
or from the launch request, not both: a template "that includes secondary network interfaces but
not a primary network interface" needs the primary "as a launch parameter" (EC2 API Reference,
LaunchTemplateInstanceNetworkInterfaceSpecificationRequest, ``DeviceIndex``). The hosts' instances
attach a pre-created interface (in their host's AZ, with their security group), so their template
defines none; EKS node templates keep theirs.

The AMI is never an id typed into the stack file: ``hosts.image`` names the tenant's published
image parameter (``aws.ssm.get_parameter``), or an owner pinned in config and a name pattern
(``aws.ec2.get_ami``, most recent, the instance type's architecture, available images only),
resolved in the hosts' account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pytest
from platform_support import settings
from tier_c_support import ROOT, stack_config

from infra.components.launch_template import LaunchTemplate, LaunchTemplateArgs
from infra.tags import TagScope
from preflight import Preview, cloud, preview_function, preview_program

STACK = "hosts-genomics-prod"
TENANT_ACCOUNT = "666677778888"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
INTERFACE = "aws:ec2/networkInterface:NetworkInterface"
GET_PARAMETER = "aws:ssm/getParameter:getParameter"
GET_AMI = "aws:ec2/getAmi:getAmi"


def _recording(monkeypatch: pytest.MonkeyPatch, token: str) -> list[tuple[str, dict[str, Any]]]:
    """(account, args) of every call of the invoke ``token`` (the account the provider acts in)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    answer = cloud.INVOKES[token]

    def recording(args: Mapping[str, Any], region: str) -> dict[str, Any]:
        calls.append((cloud.account_id(), dict(args)))
        return answer(args, region)

    monkeypatch.setitem(cloud.INVOKES, token, recording)
    return calls


def test_the_reference_stack_reads_the_tenants_published_image(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _recording(monkeypatch, GET_PARAMETER)
    preview = preview_program(ROOT, STACK, mode="first-preview")
    ours = [(account, args) for account, args in asked if args.get("name") == "/aip/prod/genomics/gpu-host/ami"]
    assert ours == [(TENANT_ACCOUNT, {"name": "/aip/prod/genomics/gpu-host/ami"})]
    [template] = preview.by_type(TEMPLATE)
    with cloud.in_account(TENANT_ACCOUNT):
        published = cloud.invoke(GET_PARAMETER, {"name": "/aip/prod/genomics/gpu-host/ami"}, "us-east-1")["value"]
    # Known in a first preview: the invoke answers then, so the pack sees the image the hosts will run.
    assert template.inputs["imageId"] == published
    assert published.startswith("ami-")


def test_an_owner_and_name_pattern_find_the_newest_image_of_that_owner(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _recording(monkeypatch, GET_AMI)
    config = stack_config(STACK)
    config["secure-ai-platform:hosts"]["image"] = {"owner": "444455556666", "namePattern": "genomics-gpu-host-*"}
    # (the platform account builds the image; the hosts in the tenant account look it up)
    preview = preview_program(ROOT, STACK, config=config, mode="first-preview")
    assert asked == [
        (
            TENANT_ACCOUNT,
            {
                "owners": ["444455556666"],
                "mostRecent": True,
                "filters": [
                    {"name": "name", "values": ["genomics-gpu-host-*"]},
                    {"name": "architecture", "values": ["x86_64"]},
                    {"name": "state", "values": ["available"]},
                ],
            },
        )
    ]
    [template] = preview.by_type(TEMPLATE)
    with cloud.in_account(TENANT_ACCOUNT):
        found = cloud.invoke(GET_AMI, asked[0][1], "us-east-1")
    assert found["ownerId"] == "444455556666"
    assert template.inputs["imageId"] == found["id"]


def test_each_instance_has_exactly_one_primary_interface_its_own() -> None:
    preview: Preview = preview_program(ROOT, STACK, mode="update")
    [template] = preview.by_type(TEMPLATE)
    assert "networkInterfaces" not in template.inputs
    interfaces = {record.urn: record for record in preview.by_type(INTERFACE)}
    attached = []
    for instance in preview.by_type(INSTANCE):
        [source] = instance.property_dependencies["primaryNetworkInterface"]
        attached.append(source)
        # Where the interface comes from is the one place that decides subnet and security groups.
        assert not {"subnetId", "vpcSecurityGroupIds", "securityGroups", "associatePublicIpAddress"} & set(
            instance.inputs
        )
    assert sorted(attached) == sorted(interfaces)


def test_a_template_without_an_interface_refuses_security_groups() -> None:
    stack_settings = settings()

    def body() -> None:
        LaunchTemplate(
            "hosts",
            LaunchTemplateArgs(
                settings=stack_settings,
                scope=TagScope.for_platform(stack_settings),
                volumes_key_arn="arn:aws:kms:us-east-1:111122223333:key/1",
                security_group_ids=["sg-0123456789abcdef0"],
                interface_in_template=False,
            ),
            opts=pulumi.ResourceOptions(),
        )

    with pytest.raises(Exception, match="security groups belong on the instances' own interfaces"):
        preview_function(body)
