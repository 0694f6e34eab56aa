"""The offline cloud: what AWS and Kubernetes would compute for a resource, and invoke answers.

Everything is deterministic (derived from the URN), in the resource's region and account: the
account its provider is pinned to (``allowedAccountIds``, or the account of the role it assumes),
else the stack's ``aws:allowedAccountIds``, else 111122223333. In first-preview mode the engine
uses none of the computed values (they are unknown, as in a real first preview); in update mode
they are the resource's known outputs.
Invokes answer in both modes, as they do during a real preview. An invoke not listed here is an
error naming its token, never a silent empty answer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

import yaml

DEFAULT_ACCOUNT_ID: Final = "111122223333"
# The account of the resource or invoke being answered; the engine sets it per call (``in_account``).
_ACCOUNT: ContextVar[str] = ContextVar("preflight_account", default=DEFAULT_ACCOUNT_ID)
_ROLE_ARN_ACCOUNT = re.compile(r"^arn:aws[-a-z]*:iam::(\d{12}):")


def account_id() -> str:
    """The account of the resource or invoke being answered."""
    return _ACCOUNT.get()


@contextmanager
def in_account(account: str) -> Iterator[None]:
    token = _ACCOUNT.set(account)
    try:
        yield
    finally:
        _ACCOUNT.reset(token)


def pinned_account(provider_inputs: Mapping[str, Any]) -> str | None:
    """The account an AWS provider's inputs pin it to, as the real provider would act in."""
    allowed = provider_inputs.get("allowedAccountIds")
    if isinstance(allowed, str) and allowed.startswith("["):
        allowed = json.loads(allowed)
    if isinstance(allowed, list) and allowed and isinstance(allowed[0], str):
        return allowed[0]
    roles = provider_inputs.get("assumeRoles") or provider_inputs.get("assumeRole")
    if isinstance(roles, str) and roles.startswith(("[", "{")):
        roles = json.loads(roles)
    for role in roles if isinstance(roles, list) else [roles]:
        # The SDK JSON-encodes a provider's nested config with its Python field names (role_arn).
        arn = (role.get("roleArn") or role.get("role_arn")) if isinstance(role, Mapping) else None
        match = _ROLE_ARN_ACCOUNT.match(arn) if isinstance(arn, str) else None
        if match:
            return match.group(1)
    return None


DEFAULT_REGION: Final = "us-east-1"
PARTITION: Final = "aws"

_REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "Europe (Ireland)",
    "eu-central-1": "Europe (Frankfurt)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
}
_ZONE_PREFIX = {
    "us-east-1": "use1",
    "us-east-2": "use2",
    "us-west-2": "usw2",
    "eu-west-1": "euw1",
    "eu-central-1": "euc1",
    "ap-southeast-2": "apse2",
}

# A self-signed CA certificate's shape: EKS returns base64 of a PEM block.
_FAKE_CA_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    + "\n".join(base64.b64encode(hashlib.sha512(f"preflight-ca-{i}".encode()).digest()).decode()[:64] for i in range(8))
    + "\n-----END CERTIFICATE-----\n"
)


class UnknownInvokeError(Exception):
    """The program called a provider function preflight has no offline answer for."""


def digest(seed: str, length: int = 17) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def stable_uuid(seed: str) -> str:
    return str(uuid.UUID(hashlib.md5(seed.encode(), usedforsecurity=False).hexdigest()))


# Each region's Availability Zone IDs as AWS publishes them ("AWS Availability Zones",
# https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html).
_REGION_ZONE_IDS: Final[dict[str, tuple[str, ...]]] = {
    "us-east-1": ("use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"),
    "us-east-2": ("use2-az1", "use2-az2", "use2-az3"),
    "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"),
    "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
    "eu-central-1": ("euc1-az1", "euc1-az2", "euc1-az3"),
    "ap-southeast-2": ("apse2-az1", "apse2-az2", "apse2-az3"),
}
# Regions introduced after November 2012 map zone names to IDs the same way in every account ("AZ
# IDs", https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html): name a, b, c
# → these IDs. The older regions map them independently per account; the offline cloud gives each
# account its own rotation of the IDs, so a program that picks zones by name gets different
# physical zones in different accounts, as it would in AWS.
_UNIFORM_ZONE_IDS: Final[dict[str, tuple[str, ...]]] = {
    "eu-central-1": ("euc1-az2", "euc1-az3", "euc1-az1"),
    "us-east-2": ("use2-az1", "use2-az2", "use2-az3"),
}
# Zones without the Nitro System, where no GPU instance type (all Nitro-based) is offered: use1-az3,
# as reported in "AWS AZs: Not all are Equal" (https://wolfman.dev/posts/exclude-use1-az3/, 2021,
# from describe-instance-type-offerings by zone ID).
_NON_NITRO_ZONE_IDS: Final = frozenset({"use1-az3"})


def zone_map(region: str) -> list[tuple[str, str]]:
    """(name, zone ID) of each zone of ``region`` in the current account, in name order."""
    if region in _UNIFORM_ZONE_IDS:
        ids: tuple[str, ...] = _UNIFORM_ZONE_IDS[region]
    else:
        published = _REGION_ZONE_IDS.get(region)
        if published is None:
            prefix = _ZONE_PREFIX.get(region, region.replace("-", "")[:5])
            published = tuple(f"{prefix}-az{n}" for n in (1, 2, 3))
        shift = int(digest(f"{account_id()}:{region}", 4), 16) % len(published)
        ids = published[shift:] + published[:shift]
    return [(f"{region}{letter}", zone_id) for letter, zone_id in zip("abcdef", ids, strict=False)]


def zones(region: str) -> list[str]:
    return [name for name, _ in zone_map(region)]


def zone_ids(region: str) -> list[str]:
    return [zone_id for _, zone_id in zone_map(region)]


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _type_parts(type_: str) -> tuple[str, str, str]:
    """``aws:ec2/vpc:Vpc`` -> (``aws``, ``ec2``, ``Vpc``)."""
    package, module, kind = [*type_.split(":"), "", ""][:3]
    return package, module.split("/")[0], kind


class Resource:
    """What the offline cloud needs to know to compute a resource's outputs."""

    def __init__(self, type_: str, name: str, urn: str, inputs: Mapping[str, Any], region: str) -> None:
        self.type = type_
        self.name = name
        self.urn = urn
        self.inputs = inputs
        self.region = region

    def hex(self, length: int = 17) -> str:
        return digest(self.urn, length)

    def autoname(self, key: str = "name") -> str:
        value = self.inputs.get(key)
        return value if isinstance(value, str) else f"{self.name}-{self.hex(7)}"

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        where = self.region if region else ""
        who = account_id() if account else ""
        return f"arn:{PARTITION}:{service}:{where}:{who}:{resource}"


Outputs = tuple[str, dict[str, Any]]
_Builder = Callable[[Resource], Outputs]


def _prefixed(prefix: str, service: str, kind: str) -> _Builder:
    def build(r: Resource) -> Outputs:
        rid = f"{prefix}-{r.hex()}"
        return rid, {"arn": r.arn(service, f"{kind}/{rid}"), "ownerId": account_id()}

    return build


def _vpc(r: Resource) -> Outputs:
    rid, out = _prefixed("vpc", "ec2", "vpc")(r)
    out.update(
        defaultSecurityGroupId=f"sg-{digest(r.urn + 'sg')}",
        defaultNetworkAclId=f"acl-{digest(r.urn + 'acl')}",
        defaultRouteTableId=f"rtb-{digest(r.urn + 'rtb')}",
        mainRouteTableId=f"rtb-{digest(r.urn + 'rtb')}",
        dhcpOptionsId=f"dopt-{digest(r.urn + 'dopt')}",
    )
    return rid, out


def _subnet(r: Resource) -> Outputs:
    """A subnet's zone from its name or its ID (whichever it gives), in the account's own mapping."""
    rid, out = _prefixed("subnet", "ec2", "subnet")(r)
    mapping = zone_map(r.region)
    by_name, by_id = dict(mapping), {zone_id: name for name, zone_id in mapping}
    az, az_id = r.inputs.get("availabilityZone"), r.inputs.get("availabilityZoneId")
    if isinstance(az_id, str) and az_id in by_id:
        az = by_id[az_id]
    elif not isinstance(az, str) or az not in by_name:
        az = mapping[int(r.hex(2), 16) % len(mapping)][0]
    out.update(availabilityZone=az, availabilityZoneId=by_name[az])
    return rid, out


def _security_group(r: Resource) -> Outputs:
    rid, out = _prefixed("sg", "ec2", "security-group")(r)
    out["name"] = r.autoname()
    return rid, out


def _named(service: str, kind: str, *, key: str = "name", region: bool = True, arn_is_id: bool = False) -> _Builder:
    def build(r: Resource) -> Outputs:
        name = r.autoname(key)
        arn = r.arn(service, f"{kind}/{name}" if kind else name, region=region)
        return (arn if arn_is_id else name), {key: name, "arn": arn}

    return build


def _iam(kind: str, *, arn_is_id: bool = False, unique_prefix: str = "") -> _Builder:
    def build(r: Resource) -> Outputs:
        name = r.autoname()
        path = r.inputs.get("path") if isinstance(r.inputs.get("path"), str) else "/"
        arn = r.arn("iam", f"{kind}{path}{name}", region=False)
        out: dict[str, Any] = {"name": name, "arn": arn}
        if unique_prefix:
            out["uniqueId"] = unique_prefix + r.hex(17).upper()
        if kind == "role":
            out["createDate"] = "2024-01-01T00:00:00Z"
        return (arn if arn_is_id else name), out

    return build


def _oidc_provider(r: Resource) -> Outputs:
    url = str(r.inputs.get("url", f"https://oidc.eks.{r.region}.amazonaws.com/id/{r.hex(32).upper()}"))
    arn = r.arn("iam", f"oidc-provider/{url.removeprefix('https://')}", region=False)
    return arn, {"arn": arn}


def _kms_key(r: Resource) -> Outputs:
    key_id = stable_uuid(r.urn)
    return key_id, {"keyId": key_id, "arn": r.arn("kms", f"key/{key_id}")}


def _kms_alias(r: Resource) -> Outputs:
    name = r.autoname()
    return name, {"name": name, "arn": r.arn("kms", name), "targetKeyArn": r.arn("kms", f"key/{stable_uuid(name)}")}


def _bucket(r: Resource) -> Outputs:
    name = r.autoname("bucket")
    return name, {
        "bucket": name,
        "arn": f"arn:{PARTITION}:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{r.region}.amazonaws.com",
        "hostedZoneId": "Z3AQBSTGFYJSTF",
        "region": r.region,
    }


def _ecr_repository(r: Resource) -> Outputs:
    name = r.autoname()
    return name, {
        "name": name,
        "arn": r.arn("ecr", f"repository/{name}"),
        "registryId": account_id(),
        "repositoryUrl": f"{account_id()}.dkr.ecr.{r.region}.amazonaws.com/{name}",
    }


def eks_cluster_attributes(name: str, region: str, seed: str) -> dict[str, Any]:
    issuer_id = digest(seed + "oidc", 32).upper()
    return {
        "name": name,
        "arn": f"arn:{PARTITION}:eks:{region}:{account_id()}:cluster/{name}",
        "endpoint": f"https://{digest(seed + 'endpoint', 32).upper()}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(_FAKE_CA_PEM.encode()).decode()},
        "certificateAuthorities": [{"data": base64.b64encode(_FAKE_CA_PEM.encode()).decode()}],
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{issuer_id}"}]}],
        "platformVersion": "eks.8",
        "status": "ACTIVE",
        "clusterId": stable_uuid(seed + "cluster"),
        "createdAt": "2024-01-01T00:00:00Z",
    }


def _eks_cluster(r: Resource) -> Outputs:
    name = r.autoname()
    out = eks_cluster_attributes(name, r.region, r.urn)
    out["version"] = r.inputs.get("version") or "1.31"
    vpc_config = dict(r.inputs.get("vpcConfig") or {})
    vpc_config.update(clusterSecurityGroupId=f"sg-{digest(r.urn + 'csg')}", vpcId=f"vpc-{digest(r.urn + 'vpc')}")
    out["vpcConfig"] = vpc_config
    return name, out


def _eks_node_group(r: Resource) -> Outputs:
    name = r.autoname("nodeGroupName")
    cluster = r.inputs.get("clusterName") if isinstance(r.inputs.get("clusterName"), str) else "cluster"
    return f"{cluster}:{name}", {
        "nodeGroupName": name,
        "arn": r.arn("eks", f"nodegroup/{cluster}/{name}/{stable_uuid(r.urn)}"),
        "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-{stable_uuid(r.urn)}"}]}],
    }


def _eks_addon(r: Resource) -> Outputs:
    cluster, addon = r.inputs.get("clusterName", "cluster"), r.inputs.get("addonName", r.name)
    return f"{cluster}:{addon}", {
        "arn": r.arn("eks", f"addon/{cluster}/{addon}/{stable_uuid(r.urn)}"),
        "addonVersion": r.inputs.get("addonVersion") or "v1.0.0-eksbuild.1",
    }


def _pod_identity(r: Resource) -> Outputs:
    assoc = f"a-{r.hex(17)}"
    cluster = r.inputs.get("clusterName", "cluster")
    return assoc, {"associationId": assoc, "associationArn": r.arn("eks", f"podidentityassociation/{cluster}/{assoc}")}


def _access_entry(r: Resource) -> Outputs:
    cluster, principal = r.inputs.get("clusterName", "cluster"), r.inputs.get("principalArn", "")
    return f"{cluster}:{principal}", {
        "accessEntryArn": r.arn("eks", f"access-entry/{cluster}/role/{account_id()}/{r.name}/{stable_uuid(r.urn)}")
    }


def _log_group(r: Resource) -> Outputs:
    name = r.autoname()
    return name, {"name": name, "arn": r.arn("logs", f"log-group:{name}")}


def _topic(r: Resource) -> Outputs:
    name = r.autoname()
    arn = r.arn("sns", name)
    return arn, {"name": name, "arn": arn}


def _queue(r: Resource) -> Outputs:
    name = r.autoname()
    url = f"https://sqs.{r.region}.amazonaws.com/{account_id()}/{name}"
    return url, {"name": name, "url": url, "arn": r.arn("sqs", name)}


def _secret(r: Resource) -> Outputs:
    name = r.autoname()
    arn = r.arn("secretsmanager", f"secret:{name}-{r.hex(6)}")
    return arn, {"name": name, "arn": arn}


def _budget(r: Resource) -> Outputs:
    name = r.autoname()
    return f"{account_id()}:{name}", {"name": name, "arn": f"arn:{PARTITION}:budgets::{account_id()}:budget/{name}"}


def _trail(r: Resource) -> Outputs:
    name = r.autoname()
    arn = r.arn("cloudtrail", f"trail/{name}")
    return arn, {"name": name, "arn": arn, "homeRegion": r.region}


def _detector(r: Resource) -> Outputs:
    rid = r.hex(32)
    return rid, {"arn": r.arn("guardduty", f"detector/{rid}"), "accountId": account_id()}


def _dedicated_host(r: Resource) -> Outputs:
    rid = f"h-{r.hex()}"
    return rid, {"arn": r.arn("ec2", f"dedicated-host/{rid}"), "ownerId": account_id()}


def _eip(r: Resource) -> Outputs:
    rid = f"eipalloc-{r.hex()}"
    n = int(r.hex(2), 16)
    return rid, {"allocationId": rid, "publicIp": f"203.0.113.{n % 254 + 1}", "arn": r.arn("ec2", f"elastic-ip/{rid}")}


def _instance(r: Resource) -> Outputs:
    rid = f"i-{r.hex()}"
    n = int(r.hex(4), 16)
    return rid, {
        "arn": r.arn("ec2", f"instance/{rid}"),
        "privateIp": f"10.0.{n % 250}.{n // 250 % 250 + 4}",
        "availabilityZone": r.inputs.get("availabilityZone") or zones(r.region)[0],
        "instanceState": "running",
    }


def _launch_template(r: Resource) -> Outputs:
    rid = f"lt-{r.hex()}"
    return rid, {
        "arn": r.arn("ec2", f"launch-template/{rid}"),
        "latestVersion": 1,
        "defaultVersion": 1,
        "name": r.autoname(),
    }


def _firewall(kind: str) -> _Builder:
    def build(r: Resource) -> Outputs:
        name = r.autoname()
        arn = r.arn("network-firewall", f"{kind}/{name}")
        return arn, {"name": name, "arn": arn}

    return build


def _network_firewall(r: Resource) -> Outputs:
    """A firewall with the endpoint AWS instantiates in each of its subnets (what routes target)."""
    arn, outputs = _firewall("firewall")(r)
    mappings = r.inputs.get("subnetMappings")
    subnets = [m.get("subnetId") for m in mappings if isinstance(m, Mapping)] if isinstance(mappings, list) else []
    attachments = [
        {"subnetId": subnet, "endpointId": f"vpce-{digest(subnet)}", "status": "READY"}
        for subnet in subnets
        if isinstance(subnet, str)
    ]
    outputs["firewallStatuses"] = [{"syncStates": [{"attachments": [attachment]} for attachment in attachments]}]
    return arn, outputs


def _vpc_endpoint(r: Resource) -> Outputs:
    """An endpoint; a gateway endpoint also has the prefix list that security group rules name.

    AWS keeps one prefix list per service and region, shared by every gateway endpoint of it.
    """
    rid, outputs = _prefixed("vpce", "ec2", "vpc-endpoint")(r)
    if r.inputs.get("vpcEndpointType") == "Gateway":
        service = r.inputs.get("serviceName")
        outputs["prefixListId"] = f"pl-{digest(f'{r.region}:{service}', 8)}"
    return rid, outputs


def _by_key(key: str) -> _Builder:
    def build(r: Resource) -> Outputs:
        value = r.inputs.get(key)
        return (value if isinstance(value, str) else f"{r.name}-{r.hex(8)}"), {}

    return build


def _account_scoped(r: Resource) -> Outputs:
    return account_id(), {}


def _region_scoped(r: Resource) -> Outputs:
    return r.region, {}


def _attachment(r: Resource) -> Outputs:
    return f"{r.name}-{r.hex(8)}", {}


_AWS: dict[str, _Builder] = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _subnet,
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:ec2/routeTable:RouteTable": _prefixed("rtb", "ec2", "route-table"),
    "aws:ec2/internetGateway:InternetGateway": _prefixed("igw", "ec2", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _prefixed("nat", "ec2", "natgateway"),
    "aws:ec2/networkAcl:NetworkAcl": _prefixed("acl", "ec2", "network-acl"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ec2/flowLog:FlowLog": _prefixed("fl", "ec2", "vpc-flow-log"),
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/instance:Instance": _instance,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:ec2/dedicatedHost:DedicatedHost": _dedicated_host,
    "aws:ec2/securityGroupRule:SecurityGroupRule": _prefixed("sgrule", "ec2", "security-group-rule"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _prefixed("sgr", "ec2", "security-group-rule"),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _prefixed("sgr", "ec2", "security-group-rule"),
    "aws:iam/role:Role": _iam("role", unique_prefix="AROA"),
    "aws:iam/user:User": _iam("user", unique_prefix="AIDA"),
    "aws:iam/group:Group": _iam("group", unique_prefix="AGPA"),
    "aws:iam/policy:Policy": _iam("policy", arn_is_id=True),
    "aws:iam/instanceProfile:InstanceProfile": _iam("instance-profile", unique_prefix="AIPA"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:ecr/repository:Repository": _ecr_repository,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:eks/addon:Addon": _eks_addon,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _pod_identity,
    "aws:eks/accessEntry:AccessEntry": _access_entry,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:sns/topic:Topic": _topic,
    "aws:sqs/queue:Queue": _queue,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:budgets/budget:Budget": _budget,
    "aws:cloudtrail/trail:Trail": _trail,
    "aws:guardduty/detector:Detector": _detector,
    "aws:networkfirewall/firewall:Firewall": _network_firewall,
    "aws:networkfirewall/firewallPolicy:FirewallPolicy": _firewall("firewall-policy"),
    "aws:networkfirewall/ruleGroup:RuleGroup": _firewall("stateful-rulegroup"),
    "aws:ebs/encryptionByDefault:EncryptionByDefault": _region_scoped,
    "aws:ebs/defaultKmsKey:DefaultKmsKey": _region_scoped,
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": _account_scoped,
    "aws:ce/costAllocationTag:CostAllocationTag": _by_key("tagKey"),
    "aws:ssm/parameter:Parameter": _named("ssm", "parameter", arn_is_id=False),
    "aws:lambda/function:Function": _named("lambda", "", arn_is_id=False),
    "aws:sagemaker/domain:Domain": _named("sagemaker", "domain"),
}


def aws_outputs(type_: str, name: str, urn: str, inputs: Mapping[str, Any], region: str) -> Outputs:
    """(id, computed outputs) for an AWS resource; unlisted types get a generic id and ARN."""
    r = Resource(type_, name, urn, inputs, region)
    builder = _AWS.get(type_)
    if builder is not None:
        return builder(r)
    _, module, kind = _type_parts(type_)
    if kind.endswith(("Attachment", "Association", "Policy", "Rule", "Configuration", "Block", "Route")):
        return _attachment(r)
    rid = r.autoname() if "name" in inputs else f"{name}-{r.hex(8)}"
    return rid, {"arn": r.arn(module, f"{_kebab(kind)}/{rid}")}


_CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "PersistentVolume",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "RuntimeClass",
    "IngressClass",
}


def kubernetes_kind(type_: str) -> str:
    return type_.rsplit(":", 1)[-1]


def kubernetes_metadata(type_: str, name: str, urn: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata the provider computes: an auto-name and, for namespaced kinds, the namespace."""
    result = dict(metadata)
    if not isinstance(result.get("name"), str):
        result["name"] = f"{name}-{digest(urn, 8)}"
    if kubernetes_kind(type_) not in _CLUSTER_SCOPED and not kubernetes_kind(type_).endswith("List"):
        result.setdefault("namespace", "default")
    return result


def kubernetes_outputs(type_: str, name: str, urn: str, inputs: Mapping[str, Any]) -> Outputs:
    metadata = kubernetes_metadata(type_, name, urn, inputs.get("metadata") or {})
    metadata.update(uid=stable_uuid(urn), resourceVersion="1", generation=1)
    namespace = metadata.get("namespace")
    rid = f"{namespace}/{metadata['name']}" if namespace else str(metadata["name"])
    return rid, {"metadata": metadata}


# ---------------------------------------------------------------------------------------------
# Invokes
# ---------------------------------------------------------------------------------------------

Invoke = Callable[[Mapping[str, Any], str], dict[str, Any]]


def _caller_identity(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {
        "accountId": account_id(),
        "arn": f"arn:{PARTITION}:sts::{account_id()}:assumed-role/preflight-offline/preflight",
        "id": account_id(),
        "userId": "AROAPREFLIGHTOFFLINE:preflight",
    }


def _region(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = args.get("region") or args.get("name") or region
    return {
        "region": name,
        "name": name,
        "id": name,
        "description": _REGION_NAMES.get(name, name),
        "endpoint": f"ec2.{name}.amazonaws.com",
    }


def _partition(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": PARTITION}


def _availability_zones(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    """The region's zones in the account's mapping (all available, none needing opt-in)."""
    where = args.get("region") or region
    excluded = set(args.get("excludeNames") or []) | set(args.get("excludeZoneIds") or [])
    kept = [(n, i) for n, i in zone_map(where) if n not in excluded and i not in excluded]
    return {
        **args,
        "id": where,
        "names": [n for n, _ in kept],
        "zoneIds": [i for _, i in kept],
        "groupNames": [where],
        "region": where,
    }


def _instance_type_offerings(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    """Which zones (by ID or name) or regions offer the filtered instance types.

    A type of the GPU instance table is offered in a region the table prices it in, in every zone but
    the non-Nitro ones; a type the table does not know, in every zone.
    """
    from aiplatform_standards import gpu_instances  # the standards data the program reads too

    filters = {f.get("name"): list(f.get("values") or []) for f in args.get("filters") or [] if isinstance(f, dict)}
    location_type = str(args.get("locationType") or "region")
    table = gpu_instances()
    rows: list[tuple[str, str]] = []
    for instance_type in filters.get("instance-type", []):
        row = table.get(instance_type)
        if row is not None and region not in row.hourly_usd:
            continue
        for name, zone_id in zone_map(region):
            if row is not None and zone_id in _NON_NITRO_ZONE_IDS:
                continue
            location = {"availability-zone-id": zone_id, "availability-zone": name}.get(location_type, region)
            if (instance_type, location) not in rows:
                rows.append((instance_type, location))
    wanted = filters.get("location")
    rows = [(t, loc) for t, loc in rows if not wanted or loc in wanted]
    return {
        **args,
        "id": region,
        "instanceTypes": [t for t, _ in rows],
        "locations": [loc for _, loc in rows],
        "locationTypes": [location_type] * len(rows),
    }


def _ami_id(seed: str) -> str:
    return f"ami-{digest(seed)}"


def _ami(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    filters = {f.get("name"): f.get("values", []) for f in args.get("filters") or [] if isinstance(f, dict)}
    name = (filters.get("name") or ["al2023-ami-2023.6.20241212.0-kernel-6.1-x86_64"])[0].replace("*", "0")
    arch = (filters.get("architecture") or ["arm64" if "arm64" in name else "x86_64"])[0]
    image_id = _ami_id(json.dumps(args, sort_keys=True))
    owners = args.get("owners") or ["amazon"]
    return {
        **args,
        "id": image_id,
        "imageId": image_id,
        "arn": f"arn:{PARTITION}:ec2:{region}::image/{image_id}",
        "architecture": arch,
        "name": name,
        "description": name,
        "ownerId": "137112412989" if owners[0] == "amazon" else str(owners[0]),
        "imageOwnerAlias": "amazon" if owners[0] == "amazon" else "",
        "creationDate": "2024-12-12T00:00:00.000Z",
        "state": "available",
        "rootDeviceName": "/dev/xvda",
        "rootDeviceType": "ebs",
        "virtualizationType": "hvm",
        "hypervisor": "xen",
        "imageType": "machine",
        "enaSupport": True,
        "public": True,
        "platformDetails": "Linux/UNIX",
        "blockDeviceMappings": [],
        "productCodes": [],
        "tags": {},
        "region": region,
    }


def _ami_ids(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    seed = json.dumps(args, sort_keys=True)
    return {**args, "id": region, "ids": [_ami_id(seed + str(i)) for i in range(2)]}


def _ssm_parameter(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name", ""))
    if "/ami" in name or "image_id" in name or "optimized-ami" in name or "bottlerocket" in name:
        value = _ami_id(name)
    elif name.endswith("/release_version"):
        value = "1.31.3-20241213"
    else:
        value = f"preflight-parameter:{name}"
    return {
        **args,
        "id": name,
        "name": name,
        "arn": f"arn:{PARTITION}:ssm:{region}:{account_id()}:parameter{name if name.startswith('/') else '/' + name}",
        "type": "String",
        "value": value,
        "insecureValue": value,
        "version": 1,
        "withDecryption": args.get("withDecryption", True),
    }


def _collapse(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def _statement(spec: Mapping[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {}
    if spec.get("sid"):
        statement["Sid"] = spec["sid"]
    statement["Effect"] = spec.get("effect") or "Allow"
    for key, out in (("actions", "Action"), ("notActions", "NotAction")):
        if spec.get(key):
            statement[out] = _collapse(list(spec[key]))
    for key, out in (("resources", "Resource"), ("notResources", "NotResource")):
        if spec.get(key):
            statement[out] = _collapse(list(spec[key]))
    for key, out in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
        principals = spec.get(key)
        if principals:
            merged: dict[str, list[Any]] = {}
            for principal in principals:
                merged.setdefault(principal["type"], []).extend(principal.get("identifiers") or [])
            if set(merged) == {"*"}:
                statement[out] = "*"
            else:
                statement[out] = {kind: _collapse(ids) for kind, ids in merged.items()}
    conditions = spec.get("conditions")
    if conditions:
        block: dict[str, dict[str, Any]] = {}
        for condition in conditions:
            block.setdefault(condition["test"], {})[condition["variable"]] = _collapse(list(condition["values"]))
        statement["Condition"] = block
    return statement


def _policy_document(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    for source in args.get("sourcePolicyDocuments") or []:
        statements.extend(json.loads(source).get("Statement", []))
    for spec in args.get("statements") or []:
        statement = _statement(spec)
        sid = statement.get("Sid")
        statements = [s for s in statements if not sid or s.get("Sid") != sid]
        statements.append(statement)
    for override in args.get("overridePolicyDocuments") or []:
        for statement in json.loads(override).get("Statement", []):
            sid = statement.get("Sid")
            statements = [s for s in statements if not sid or s.get("Sid") != sid]
            statements.append(statement)
    document: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        document["Id"] = args["policyId"]
    document["Statement"] = statements
    text = json.dumps(document, indent=2)
    minified = json.dumps(document, separators=(",", ":"))
    return {**args, "id": str(int(digest(minified, 8), 16)), "json": text, "minifiedJson": minified}


def _cluster_auth(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name", "cluster"))
    token = "k8s-aws-v1." + base64.urlsafe_b64encode(f"preflight-token-{name}".encode()).decode().rstrip("=")
    return {"id": name, "name": name, "token": token}


def _eks_cluster_lookup(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name", "cluster"))
    out = eks_cluster_attributes(name, region, f"lookup:{name}")
    return {**out, "id": name, "version": "1.31", "vpcConfig": {}, "tags": args.get("tags") or {}}


# What `aws eks describe-addon-versions` would answer as the most recent version of each add-on per
# Kubernetes version. kube-proxy and CoreDNS: the EKS User Guide's "latest version of the Amazon EKS
# add-on type for each Kubernetes version" tables (managing-kube-proxy.md and managing-coredns.md on
# docs.amazonaws.cn/zh_cn/eks/latest/userguide/, as read for issue 11). The VPC CNI: the version the
# guide's vpc-add-on-create procedure installs. The Pod Identity Agent: the guide publishes no table;
# the version the platform pinned before it resolved versions at deploy time, unverified.
# The version EKS answers changes whenever AWS publishes a build: which is why the program asks.
_EKS_ADDON_VERSIONS: Final[dict[str, dict[str, str]]] = {
    "kube-proxy": {"1.33": "v1.33.10-eksbuild.2", "1.34": "v1.34.6-eksbuild.2", "1.35": "v1.35.3-eksbuild.2"},
    "coredns": {"1.33": "v1.13.2-eksbuild.4", "1.34": "v1.13.2-eksbuild.4", "1.35": "v1.13.2-eksbuild.4"},
    "vpc-cni": {"1.33": "v1.20.1-eksbuild.3", "1.34": "v1.20.1-eksbuild.3", "1.35": "v1.20.1-eksbuild.3"},
    "eks-pod-identity-agent": {
        "1.33": "v1.3.10-eksbuild.3",
        "1.34": "v1.3.10-eksbuild.3",
        "1.35": "v1.3.10-eksbuild.3",
    },
}


class AddonVersionNotFound(Exception):
    """EKS has no version of the add-on for that Kubernetes version (the provider's read fails)."""


def _addon_version(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    addon, kubernetes = str(args.get("addonName", "")), str(args.get("kubernetesVersion", ""))
    version = _EKS_ADDON_VERSIONS.get(addon, {}).get(kubernetes)
    if version is None:
        raise AddonVersionNotFound(
            f"no version of EKS add-on '{addon}' is compatible with Kubernetes {kubernetes} (offline cloud)"
        )
    return {**args, "id": addon, "version": version}


def _iam_role_lookup(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name", "role"))
    return {
        "id": name,
        "name": name,
        "arn": f"arn:{PARTITION}:iam::{account_id()}:role/{name}",
        "path": "/",
        "uniqueId": "AROA" + digest(name, 17).upper(),
        "assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": []}),
        "maxSessionDuration": 3600,
        "tags": {},
    }


def _session_context(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    arn = str(args.get("arn", ""))
    role = arn.split("/")[1] if "/" in arn else "preflight-offline"
    return {
        "arn": arn,
        "id": arn,
        "issuerArn": f"arn:{PARTITION}:iam::{account_id()}:role/{role}",
        "issuerId": "AROAPREFLIGHTOFFLINE",
        "issuerName": role,
        "sessionName": "preflight",
    }


def _kms_key_lookup(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    key = str(args.get("keyId", "key"))
    key_id = stable_uuid(key)
    return {**args, "id": key_id, "keyId": key_id, "arn": f"arn:{PARTITION}:kms:{region}:{account_id()}:key/{key_id}"}


def _kms_alias_lookup(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name", "alias/key"))
    key_id = stable_uuid(name)
    return {
        "id": name,
        "name": name,
        "arn": f"arn:{PARTITION}:kms:{region}:{account_id()}:{name}",
        "targetKeyId": key_id,
        "targetKeyArn": f"arn:{PARTITION}:kms:{region}:{account_id()}:key/{key_id}",
    }


def _bucket_lookup(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("bucket", "bucket"))
    return {
        "id": name,
        "bucket": name,
        "arn": f"arn:{PARTITION}:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{region}.amazonaws.com",
        "hostedZoneId": "Z3AQBSTGFYJSTF",
        "region": region,
    }


def _vpc_lookup(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    vid = args.get("id") or f"vpc-{digest(json.dumps(args, sort_keys=True))}"
    return {
        **args,
        "id": vid,
        "arn": f"arn:{PARTITION}:ec2:{region}:{account_id()}:vpc/{vid}",
        "cidrBlock": "172.31.0.0/16",
        "default": bool(args.get("default")),
        "ownerId": account_id(),
        "state": "available",
        "tags": args.get("tags") or {},
    }


def _subnets_lookup(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    seed = json.dumps(args, sort_keys=True)
    return {**args, "id": region, "ids": [f"subnet-{digest(seed + str(i))}" for i in range(3)]}


def _subnet_lookup(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    sid = args.get("id") or f"subnet-{digest(json.dumps(args, sort_keys=True))}"
    return {
        **args,
        "id": sid,
        "arn": f"arn:{PARTITION}:ec2:{region}:{account_id()}:subnet/{sid}",
        "availabilityZone": zones(region)[0],
        "availabilityZoneId": zone_ids(region)[0],
        "cidrBlock": "10.0.0.0/20",
        "vpcId": f"vpc-{digest(sid)}",
        "ownerId": account_id(),
        "tags": args.get("tags") or {},
    }


def _zone_lookup(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name", "example.com")).rstrip(".") + "."
    zone_id = "Z" + digest(name, 20).upper()
    return {
        **args,
        "id": zone_id,
        "zoneId": zone_id,
        "name": name,
        "arn": f"arn:{PARTITION}:route53:::hostedzone/{zone_id}",
        "privateZone": bool(args.get("privateZone")),
    }


def _repository_lookup(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    name = str(args.get("name", "repository"))
    return {
        **args,
        "id": name,
        "name": name,
        "arn": f"arn:{PARTITION}:ecr:{region}:{account_id()}:repository/{name}",
        "registryId": account_id(),
        "repositoryUrl": f"{account_id()}.dkr.ecr.{region}.amazonaws.com/{name}",
    }


def _yaml_decode(args: Mapping[str, Any], region: str) -> dict[str, Any]:
    text = str(args.get("text", ""))
    return {"result": [doc for doc in yaml.safe_load_all(text) if doc is not None]}


INVOKES: dict[str, Invoke] = {
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ec2/getAmi:getAmi": _ami,
    "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": _instance_type_offerings,
    "aws:ec2/getAmiIds:getAmiIds": _ami_ids,
    "aws:ssm/getParameter:getParameter": _ssm_parameter,
    "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
    "aws:iam/getRole:getRole": _iam_role_lookup,
    "aws:iam/getSessionContext:getSessionContext": _session_context,
    "aws:eks/getClusterAuth:getClusterAuth": _cluster_auth,
    "aws:eks/getCluster:getCluster": _eks_cluster_lookup,
    "aws:eks/getAddonVersion:getAddonVersion": _addon_version,
    "aws:kms/getKey:getKey": _kms_key_lookup,
    "aws:kms/getAlias:getAlias": _kms_alias_lookup,
    "aws:s3/getBucket:getBucket": _bucket_lookup,
    "aws:ec2/getVpc:getVpc": _vpc_lookup,
    "aws:ec2/getSubnets:getSubnets": _subnets_lookup,
    "aws:ec2/getSubnet:getSubnet": _subnet_lookup,
    "aws:route53/getZone:getZone": _zone_lookup,
    "aws:ecr/getRepository:getRepository": _repository_lookup,
    "kubernetes:yaml:decode": _yaml_decode,
}


def invoke(token: str, args: Mapping[str, Any], region: str) -> dict[str, Any]:
    handler = INVOKES.get(token)
    if handler is None:
        raise UnknownInvokeError(
            f"preflight has no offline answer for invoke '{token}'; "
            "add one to preflight/cloud.py INVOKES or avoid the call"
        )
    return handler(args, region)
