"""Item 5: every service-linked role a key policy names exists before the key (the account baseline creates it).

AWS's rules, from its documentation:

- a key policy may name only principals that exist and are visible to KMS (AWS KMS API Reference, CreateKey,
  parameter ``Policy``: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html);
- Auto Scaling's default service-linked role is ``AWSServiceRoleForAutoScaling``, created by the service when
  the first Auto Scaling group needs it (Amazon EC2 Auto Scaling API Reference, CreateAutoScalingGroup,
  ``ServiceLinkedRoleARN``), path ``/aws-service-role/autoscaling.amazonaws.com/`` ("Service-linked roles for
  Amazon EC2 Auto Scaling", https://docs.aws.amazon.com/autoscaling/ec2/userguide/autoscaling-service-linked-role.html);
- an existing service-linked role is imported by its ARN (pulumi-aws, ``aws.iam.ServiceLinkedRole``, "Import",
  https://www.pulumi.com/registry/packages/aws/api-docs/iam/servicelinkedrole/). The engine imports a resource
  whose ``import`` id is set only while the state holds no resource of that URN with that id, and updates it to
  the program's inputs afterwards (pulumi/pulumi pkg/resource/deploy/step_generator.go (v3.274.1), ``isImport``
  and ``continueStepsFromImport``), so the option can stay in the program after the first ``up``.

Whether every reference stack's policies name only principals that exist by then is
tests/infra/test_principals_exist.py; here the baseline's side of it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from tier_c_support import stack_config

from infra.components.service_linked_roles import NAMED_BY_POLICIES, ServiceLinkedRoles, ServiceLinkedRolesArgs
from infra.config import ConfigError, settings_from_stack_file
from preflight import Preview, preview_program

REPO = Path(__file__).resolve().parents[2]
BASELINES = ("baseline-clinical-prod", "baseline-dev", "baseline-genomics-prod", "baseline-prod")
SLR = "aws:iam/serviceLinkedRole:ServiceLinkedRole"
AUTOSCALING_ROLE = "role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def _account(stack: str) -> str:
    account: str = stack_config(stack)["secure-ai-platform:baseline"]["accountId"]
    return account


@pytest.fixture(scope="module", params=BASELINES)
def preview(request: pytest.FixtureRequest) -> Preview:
    return preview_program(REPO, request.param, mode="update")


def test_the_platform_names_exactly_auto_scalings_role() -> None:
    assert NAMED_BY_POLICIES == {"autoscaling.amazonaws.com": "AWSServiceRoleForAutoScaling"}


def test_every_baseline_creates_auto_scalings_role_and_never_deletes_it(preview: Preview) -> None:
    [role] = preview.by_type(SLR)
    assert role.inputs["awsServiceName"] == "autoscaling.amazonaws.com"
    assert set(role.inputs) == {"awsServiceName", "tags"}
    assert role.options["retain_on_delete"] is True
    assert role.options["import_id"] is None


def test_every_baseline_key_waits_for_the_service_linked_role(preview: Preview) -> None:
    [role] = preview.by_type(SLR)
    keys = preview.by_type("aws:kms/key:Key")
    assert len(keys) == 3
    assert all(role.urn in key.dependencies for key in keys)
    default_volumes = preview.get("aws:kms/key:Key", "baseline-keys-default-volumes")
    principals = {
        statement["Sid"]: statement["Principal"]
        for statement in json.loads(default_volumes.inputs["policy"])["Statement"]
        if statement["Sid"].startswith("AutoScaling")
    }
    arn = f"arn:aws:iam::{_account(preview.stack)}:{AUTOSCALING_ROLE}"
    assert principals == {"AutoScalingVolumes": {"AWS": arn}, "AutoScalingGrantsForVolumes": {"AWS": arn}}


def test_an_existing_service_linked_role_is_imported_by_its_arn() -> None:
    config = copy.deepcopy(stack_config("baseline-prod"))
    config["secure-ai-platform:baseline"]["existingServiceLinkedRoles"] = ["autoscaling.amazonaws.com"]
    preview = preview_program(REPO, "baseline-prod", config=config, mode="update")
    [role] = preview.by_type(SLR)
    assert role.options["import_id"] == f"arn:aws:iam::444455556666:{AUTOSCALING_ROLE}"
    assert role.options["retain_on_delete"] is True
    assert role.inputs["awsServiceName"] == "autoscaling.amazonaws.com"


def test_only_a_role_the_baseline_creates_can_be_listed_as_existing() -> None:
    config = copy.deepcopy(stack_config("baseline-prod"))
    config["secure-ai-platform:baseline"]["existingServiceLinkedRoles"] = ["eks.amazonaws.com"]
    with pytest.raises(ConfigError) as caught:
        settings_from_stack_file(config, "baseline-prod")
    assert caught.value.problems == [
        "baseline.existingServiceLinkedRoles: 'eks.amazonaws.com' is not a service whose service-linked role the "
        "baseline creates (use autoscaling.amazonaws.com)"
    ]


def test_the_component_refuses_an_existing_role_it_does_not_create() -> None:
    with pytest.raises(ValueError, match=r"no service-linked role of \['eks.amazonaws.com'\] is named by a policy"):
        ServiceLinkedRoles("roles", ServiceLinkedRolesArgs("aws", "444455556666", ["eks.amazonaws.com"]))
