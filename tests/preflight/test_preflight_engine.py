"""The offline engine: URNs, parents, providers, dependencies, transforms, unknowns, secrets, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest
from google.protobuf import json_format, struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from preflight import UNKNOWN, Preview, ProgramError, Secret, preview_function, preview_program
from preflight.values import struct_to_py

FIXTURES = Path(__file__).parent / "fixtures"
BASIC = FIXTURES / "basic"
PROJECT = "fixture-basic"
STACK_URN = f"urn:pulumi:dev::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-dev"
DEFAULT_PROVIDER = f"urn:pulumi:dev::{PROJECT}::pulumi:providers:aws::default_7_51_1"


def urn(type_chain: str, name: str, stack: str = "dev", project: str = PROJECT) -> str:
    return f"urn:pulumi:{stack}::{project}::{type_chain}::{name}"


@pytest.fixture(scope="module")
def first() -> Preview:
    return preview_program(BASIC, "dev")


@pytest.fixture(scope="module")
def update() -> Preview:
    return preview_program(BASIC, "dev", mode="update")


def test_urns_carry_the_parent_type_chain_but_not_the_stack(first: Preview) -> None:
    urns = {r.urn for r in first.resources}
    assert urn("aws:ec2/vpc:Vpc", "main") in urns
    assert urn("fixture:index:Tenant", "alpha") in urns
    assert urn("fixture:index:Tenant$aws:kms/key:Key", "alpha-key") in urns
    assert first.resources[0].urn == STACK_URN
    assert first.resources[0].parent is None


def test_nested_components_chain_every_ancestor_type() -> None:
    class Inner(pulumi.ComponentResource):
        def __init__(self, name: str, opts: pulumi.ResourceOptions) -> None:
            super().__init__("test:index:Inner", name, None, opts)
            aws.s3.Bucket(f"{name}-bucket", opts=pulumi.ResourceOptions(parent=self))

    class Outer(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("test:index:Outer", name)
            Inner(f"{name}-inner", pulumi.ResourceOptions(parent=self))

    preview = preview_function(lambda: Outer("o"), project="p", stack="s")
    bucket = preview.get("aws:s3/bucket:Bucket", "o-inner-bucket")
    assert bucket.urn == "urn:pulumi:s::p::test:index:Outer$test:index:Inner$aws:s3/bucket:Bucket::o-inner-bucket"
    assert bucket.parent == "urn:pulumi:s::p::test:index:Outer$test:index:Inner::o-inner"
    assert [a.type for a in preview.ancestors(bucket)] == [
        "test:index:Inner",
        "test:index:Outer",
        "pulumi:pulumi:Stack",
    ]


def test_parents_and_component_flags(first: Preview) -> None:
    key = first.get("aws:kms/key:Key", "alpha-key")
    tenant = first.get("fixture:index:Tenant", "alpha")
    assert key.parent == tenant.urn
    assert tenant.parent == STACK_URN
    assert key.custom
    assert not tenant.custom
    assert {r.name for r in first.children(tenant.urn)} == {"alpha-key", "alpha-bucket", "alpha-bucket-sse"}


def test_explicit_and_default_providers(first: Preview) -> None:
    role = first.get("aws:iam/role:Role", "reader")
    assert role.provider == urn("pulumi:providers:aws", "west")
    vpc = first.get("aws:ec2/vpc:Vpc", "main")
    assert vpc.provider == DEFAULT_PROVIDER
    default = first.by_urn(DEFAULT_PROVIDER)
    assert default.inputs == {"region": "eu-west-1", "version": "7.51.1"}
    west = first.by_urn(role.provider)
    assert west.inputs["region"] == "us-west-2"
    assert len(first.by_type("pulumi:providers:aws")) == 2


def test_dependencies_and_property_dependencies(first: Preview) -> None:
    sse = first.get(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "alpha-bucket-sse"
    )
    bucket = urn("fixture:index:Tenant$aws:s3/bucket:Bucket", "alpha-bucket")
    key = urn("fixture:index:Tenant$aws:kms/key:Key", "alpha-key")
    assert sse.dependencies == sorted([bucket, key])
    assert sse.property_dependencies["bucket"] == [bucket]
    assert sse.property_dependencies["rules"] == [key]


def test_first_preview_unknowns_flow_into_dependent_inputs(first: Preview) -> None:
    subnet = first.get("aws:ec2/subnet:Subnet", "private-a")
    assert subnet.inputs["vpcId"] is UNKNOWN
    sse = first.get(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "alpha-bucket-sse"
    )
    assert sse.inputs["bucket"] is UNKNOWN
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] is UNKNOWN
    assert first.get("aws:ec2/vpc:Vpc", "main").id is None
    assert first.outputs["vpcId"] is UNKNOWN
    assert first.outputs["buckets"] == [UNKNOWN, UNKNOWN]


def test_update_mode_knows_realistic_ids_and_arns(update: Preview) -> None:
    vpc = update.get("aws:ec2/vpc:Vpc", "main")
    subnet = update.get("aws:ec2/subnet:Subnet", "private-a")
    assert vpc.id is not None
    assert vpc.id.startswith("vpc-")
    assert len(vpc.id) == 21
    assert subnet.inputs["vpcId"] == vpc.id
    assert subnet.outputs["availabilityZone"].startswith("eu-west-1")
    assert vpc.outputs["arn"] == f"arn:aws:ec2:eu-west-1:111122223333:vpc/{vpc.id}"
    role = update.get("aws:iam/role:Role", "reader")
    assert role.outputs["arn"] == f"arn:aws:iam::111122223333:role/{role.outputs['name']}"
    key = update.get("aws:kms/key:Key", "alpha-key")
    assert key.outputs["arn"] == f"arn:aws:kms:eu-west-1:111122223333:key/{key.id}"
    sse = update.get(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "alpha-bucket-sse"
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == key.outputs["arn"]
    assert update.outputs["vpcId"] == vpc.id
    assert update.outputs["account"] == "111122223333"


def test_runs_are_deterministic_across_runs(update: Preview) -> None:
    again = preview_program(BASIC, "dev", mode="update")
    assert [(r.urn, r.id) for r in again.resources] == [(r.urn, r.id) for r in update.resources]


def test_secrets_from_config_stay_secret(first: Preview) -> None:
    parameter = first.get("aws:ssm/parameter:Parameter", "db-password")
    assert parameter.inputs["value"] == Secret("preflight-secret:fixture-basic:dbPassword")
    assert first.config["fixture-basic:dbPassword"] == Secret("preflight-secret:fixture-basic:dbPassword")
    assert first.config["fixture-basic:tenants"] == [{"name": "alpha", "size": 2}, {"name": "beta", "size": 1}]
    assert first.config["fixture-basic:owner"] == "platform-team"


def test_stack_transforms_tag_every_aws_resource(first: Preview) -> None:
    tagged = [r for r in first.resources if r.custom and r.type.startswith("aws:") and "Encryption" not in r.type]
    assert tagged
    for record in tagged:
        assert record.inputs["tags"] == {"environment": "dev", "managed-by": "pulumi"}, record.urn


def test_options_are_recorded(first: Preview) -> None:
    bucket = first.get("aws:s3/bucket:Bucket", "alpha-bucket")
    assert bucket.options["protect"] is True
    assert bucket.options["ignore_changes"] == ["tags"]
    assert first.get("aws:kms/key:Key", "alpha-key").options["protect"] is False


def test_own_parent_and_stack_transforms_run_in_engine_order() -> None:
    seen: list[str] = []

    def mark(label: str) -> pulumi.ResourceTransform:
        def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult:
            seen.append(f"{label}:{args.name}")
            props = dict(args.props)
            props["tags"] = {**(props.get("tags") or {}), label: "1"}
            opts = args.opts
            if label == "stack" and args.type_ == "aws:s3/bucket:Bucket":
                opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True))
            return pulumi.ResourceTransformResult(props=props, opts=opts)

        return transform

    class Box(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("test:index:Box", name, None, pulumi.ResourceOptions(transforms=[mark("parent")]))
            aws.s3.Bucket(f"{name}-b", opts=pulumi.ResourceOptions(parent=self, transforms=[mark("own")]))

    def program() -> None:
        pulumi.runtime.register_resource_transform(mark("stack"))
        Box("box")

    preview = preview_function(program)
    bucket = preview.get("aws:s3/bucket:Bucket", "box-b")
    assert seen[-3:] == ["own:box-b", "parent:box-b", "stack:box-b"]
    assert bucket.inputs["tags"] == {"own": "1", "parent": "1", "stack": "1"}
    assert bucket.options["protect"] is True


def test_invokes_answer_realistically() -> None:
    def program() -> None:
        zones = aws.get_availability_zones()
        document = aws.iam.get_policy_document(
            statements=[
                {
                    "sid": "Read",
                    "actions": ["s3:GetObject"],
                    "resources": ["arn:aws:s3:::b/*"],
                    "principals": [{"type": "AWS", "identifiers": ["arn:aws:iam::111122223333:root"]}],
                    "conditions": [{"test": "Bool", "variable": "aws:SecureTransport", "values": ["true"]}],
                }
            ]
        )
        pulumi.export("zones", zones.names)
        pulumi.export("policy", document.json)
        pulumi.export("region", aws.get_region().region)
        pulumi.export("partition", aws.get_partition().partition)

    preview = preview_function(program, config={"aws:region": "us-west-2"})
    # us-west-2 has four zones (usw2-az1 to az4, AWS's published list; preflight/cloud.py).
    assert preview.outputs["zones"] == ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]
    assert preview.outputs["region"] == "us-west-2"
    assert preview.outputs["partition"] == "aws"
    assert json.loads(preview.outputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::b/*",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            }
        ],
    }


def test_eks_cluster_outputs_in_update_mode() -> None:
    def program() -> None:
        cluster = aws.eks.Cluster("gpu", role_arn="arn:aws:iam::111122223333:role/eks", vpc_config={"subnet_ids": []})
        pulumi.export("endpoint", cluster.endpoint)
        pulumi.export("ca", cluster.certificate_authority.data)
        pulumi.export("issuer", cluster.identities[0].oidcs[0].issuer)

    preview = preview_function(program, mode="update", config={"aws:region": "eu-central-1"})
    assert preview.outputs["endpoint"].startswith("https://")
    assert preview.outputs["endpoint"].endswith(".gr7.eu-central-1.eks.amazonaws.com")
    assert preview.outputs["issuer"].startswith("https://oidc.eks.eu-central-1.amazonaws.com/id/")
    import base64

    assert base64.b64decode(preview.outputs["ca"]).startswith(b"-----BEGIN CERTIFICATE-----")


def test_an_unknown_invoke_is_an_error_naming_its_token() -> None:
    def program() -> None:
        aws.ec2.get_instance(instance_id="i-123")

    with pytest.raises(ProgramError, match=r"aws:ec2/getInstance:getInstance") as raised:
        preview_function(program)
    assert raised.value.file == __file__


def test_a_program_that_raises_reports_its_own_message_and_line() -> None:
    with pytest.raises(ProgramError) as raised:
        preview_program(FIXTURES / "raising", "dev")
    error = raised.value
    assert error.file == str((FIXTURES / "raising" / "__main__.py").resolve())
    assert error.line == 7
    assert "KeyError: 'beta'" in error.message
    assert "Traceback" not in error.location_message()


def test_a_stack_file_with_bad_yaml_names_the_file_and_line() -> None:
    with pytest.raises(ProgramError) as raised:
        preview_program(FIXTURES / "broken-config", "dev")
    assert raised.value.file is not None
    assert raised.value.file.endswith("stacks/Pulumi.dev.yaml")
    assert raised.value.line == 4
    assert "invalid YAML" in raised.value.message


def test_a_duplicate_urn_is_rejected_as_the_engine_would() -> None:
    def program() -> None:
        aws.s3.Bucket("same")
        aws.s3.Bucket("same")

    with pytest.raises(ProgramError, match="duplicate resource URN"):
        preview_function(program)


def test_many_programs_run_in_one_process_with_their_own_modules(tmp_path: Path) -> None:
    for index, region in enumerate(("us-east-1", "eu-west-1")):
        program = tmp_path / f"p{index}"
        program.mkdir()
        (program / "Pulumi.yaml").write_text(f"name: p{index}\nruntime: python\n")
        (program / "helper.py").write_text(f"NAME = 'bucket-{index}'\n")
        (program / "__main__.py").write_text("import pulumi_aws as aws\nfrom helper import NAME\naws.s3.Bucket(NAME)\n")
        preview = preview_program(program, "dev", config={"aws:region": region})
        assert [r.name for r in preview.by_type("aws:s3/bucket:Bucket")] == [f"bucket-{index}"]
        assert preview.by_type("pulumi:providers:aws")[0].inputs["region"] == region
    assert pulumi.get_stack() != "dev"  # the runtime settings of a run do not leak out of it


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers(-(2**40), 2**40)
            | st.floats(allow_nan=False, allow_infinity=False)
            | st.text(max_size=12),
            lambda children: (
                st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
            ),
            max_leaves=12,
        ),
        max_size=6,
    )
)
def test_struct_to_py_matches_message_to_dict(data: dict) -> None:
    struct = struct_pb2.Struct()
    struct.update(data)
    assert struct_to_py(struct) == json_format.MessageToDict(struct)
    assert list(struct_to_py(struct)) == list(json_format.MessageToDict(struct))


def test_an_invoke_runs_through_the_provider_it_names_else_the_default_one_the_engine_registers() -> None:
    """pulumi/pulumi pkg/resource/deploy/source_eval.go (v3.274.1), ``Invoke``: the provider the request names (the
    SDK sends its parent's), else ``getProviderFromSource`` -> ``defaultProviders.getDefaultProviderRef``, which
    registers the package's default provider as for a resource."""

    def body() -> None:
        aws.get_caller_identity()
        west = aws.Provider("west", region="us-west-2", allowed_account_ids=["123456789012"])
        aws.get_region(opts=pulumi.InvokeOptions(provider=west))

    preview = preview_function(body, project="p", stack="s", config={"aws:region": "eu-west-1"})
    default = "urn:pulumi:s::p::pulumi:providers:aws::default_7_51_1"
    assert [record.urn for record in preview.by_type("pulumi:providers:aws")] == [
        default,
        "urn:pulumi:s::p::pulumi:providers:aws::west",
    ]
    assert [(i.token, i.provider, i.account) for i in preview.invokes] == [
        ("aws:index/getCallerIdentity:getCallerIdentity", default, "111122223333"),
        ("aws:index/getRegion:getRegion", "urn:pulumi:s::p::pulumi:providers:aws::west", "123456789012"),
    ]


@pytest.mark.parametrize("denied", ['["aws"]', '["*"]', ["aws"]])
def test_disabled_default_providers_are_refused_with_the_engines_message(denied: object) -> None:
    """``pulumi:disable-default-providers`` (pkg/resource/deploy/default_providers.go ``shouldDenyRequest``: the
    package's name or ``*``): a resource (step_generator.go) and an invoke (source_eval.go) that would need the
    default provider fail with diag 2015 (sdk/go/common/diag/errors.go ``GetDefaultProviderDenied``)."""
    config = {"pulumi:disable-default-providers": denied}
    with pytest.raises(ProgramError) as resource:
        preview_function(lambda: aws.s3.Bucket("b"), project="p", stack="s", config=config)
    assert resource.value.message == (
        "Default provider for 'aws' disabled. 'urn:pulumi:s::p::aws:s3/bucket:Bucket::b' must use an explicit provider."
    )
    with pytest.raises(ProgramError) as invoke:
        preview_function(lambda: aws.get_caller_identity(), project="p", stack="s", config=config)
    assert invoke.value.message == (
        "Default provider for 'aws' disabled. 'aws:index/getCallerIdentity:getCallerIdentity' must use an explicit "
        "provider."
    )

    def explicit() -> None:
        provider = aws.Provider("tenant", region="us-east-1", allowed_account_ids=["555566667777"])
        aws.s3.Bucket("b", opts=pulumi.ResourceOptions(provider=provider))
        aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider))

    preview = preview_function(explicit, project="p", stack="s", config=config)
    assert [record.type for record in preview.by_type("pulumi:providers:aws")] == ["pulumi:providers:aws"]
    assert [(i.provider, i.account) for i in preview.invokes] == [
        ("urn:pulumi:s::p::pulumi:providers:aws::tenant", "555566667777")
    ]
