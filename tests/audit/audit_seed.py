"""Seed the emulator with a compliant deployment of one stack, the way the platform builds it.

``seed()`` creates, with boto3 against the emulator, a shared-cluster stack (``platform-dev``):
the platform's keys, log bucket, VPC (flow log, closed default group), node launch template and
instance, cluster (private, secrets encrypted, all logs, API authentication), trail; and for each
tenant its keys, model bucket, repository, workload security group, budget, access entry, pod
identity association and roles. Everything carries the standard tags. The audit of it must report
nothing: each drift test then changes one thing and asserts the exact findings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from audit_emulator import ACCOUNT, REGION, EksExtras, new_session

# What the program writes, from the program itself: the seed mirrors it rather than restating it.
from infra.components.key_ring import AUTOSCALING_ROLE, VIA_SERVICE
from infra.components.platform_roles import PATH as PLATFORM_ROLE_PATH
from infra.components.registry import PULL_ACTIONS, PUSH_ACTIONS

STACK = "platform-dev"
ENVIRONMENT = "dev"
PLATFORM = "platform"
TENANTS = ("fraud", "vision-ml")
# Tenants whose roles carry no aiplatform:tenant tag: the audit falls back to the naming rule.
UNTAGGED_ROLE_TENANTS = ("vision-ml",)
CLUSTER = f"aip-{ENVIRONMENT}"
VPC_CIDR = "10.0.0.0/16"
AMI = "ami-12c6146b"  # one of moto's built-in images
FUTURE = "2026-12-31"
CLASSIFICATION = {"fraud": "internal", "vision-ml": "confidential", PLATFORM: "confidential"}
TIER = {"fraud": "shared", "vision-ml": "dedicated-pool", PLATFORM: "platform"}
PLATFORM_KEYS = ("cluster-secrets", "volumes", "logs")
TENANT_KEYS = ("registry", "models", "logs")
PULL, PUSH = list(PULL_ACTIONS), list(PUSH_ACTIONS)
LIFECYCLE = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 14,
            },
            "action": {"type": "expire"},
        }
    ]
}


def tags(owner: str, **extra: str) -> dict[str, str]:
    tier = TIER.get(owner, "shared")
    return {
        "aiplatform:environment": ENVIRONMENT,
        "aiplatform:tier": tier,
        "aiplatform:tenant": owner,
        "aiplatform:data-classification": CLASSIFICATION.get(owner, "internal"),
        "aiplatform:cost-center": f"cc-{owner}",
        "aiplatform:contact": f"{owner}@example.com",
        "aiplatform:stack": STACK,
        **extra,
    }


def tag_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in values.items()]


def role_arn(owner: str, role: str) -> str:
    path = PLATFORM_ROLE_PATH if owner == PLATFORM else "/"
    return f"arn:aws:iam::{ACCOUNT}:role{path}aip-{ENVIRONMENT}-{owner}-{role}"


def bucket_name(owner: str, purpose: str) -> str:
    return f"aip-{ENVIRONMENT}-{owner}-{purpose}-{ACCOUNT}-{REGION}"


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


def ec2_arn(kind: str, resource_id: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:{kind}/{resource_id}"


def statement(sid: str, principal: Any, actions: Any, effect: str = "Allow", **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": effect, "Principal": principal, "Action": actions, "Resource": "*", **extra}


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@cache
def seeding_client(endpoint_url: str, service: str) -> Any:
    """Clients that seed and drift the emulator, made once a process (an EC2 client takes 0.1 s)."""
    return _SEEDING_SESSION.client(service, endpoint_url=endpoint_url)


_SEEDING_SESSION = new_session()


@dataclass
class Environment:
    """The seeded deployment: names and ARNs for the drift tests, and the clients that made it."""

    endpoint_url: str
    extras: EksExtras
    tenants: tuple[str, ...]
    keys: dict[tuple[str, str], str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    repositories: dict[str, str] = field(default_factory=dict)
    security_groups: dict[str, str] = field(default_factory=dict)
    log_groups: dict[str, str] = field(default_factory=dict)
    vpc: str = ""
    subnet: str = ""
    launch_template: str = ""
    instance: str = ""
    trail: str = ""
    cluster_arn: str = ""

    def client(self, service: str) -> Any:
        return seeding_client(self.endpoint_url, service)

    @property
    def arns(self) -> dict[str, str]:
        """Every discovered resource's ARN by a short name, for the state file and the assertions."""
        named = {f"key/{owner}/{purpose}": arn for (owner, purpose), arn in self.keys.items()}
        named |= {f"bucket/{owner}": bucket_arn(name) for owner, name in self.buckets.items()}
        named |= {f"repository/{tenant}": arn for tenant, arn in self.repositories.items()}
        named |= {f"sg/{owner}": ec2_arn("security-group", group) for owner, group in self.security_groups.items()}
        named |= {
            "vpc": ec2_arn("vpc", self.vpc),
            "launch-template": ec2_arn("launch-template", self.launch_template),
            "instance": ec2_arn("instance", self.instance),
            "cluster": self.cluster_arn,
            "trail": self.trail,
        }
        return named


def key_policy(owner: str, purpose: str, trail_arn: str) -> str:
    """The key policy the platform's KeyRing writes (infra/components/key_ring.py), statement for statement."""
    users = (
        [role_arn(owner, "workload")]
        if owner != PLATFORM
        else [role_arn(PLATFORM, "cluster"), role_arn(PLATFORM, "node")]
    )
    via = f"{VIA_SERVICE[purpose]}.{REGION}.amazonaws.com"
    statements = [
        statement(
            "AccountAdministration",
            {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            ["kms:Describe*", "kms:Get*", "kms:List*", "kms:PutKeyPolicy"],
        ),
        statement("BreakGlass", {"AWS": role_arn(PLATFORM, "break-glass")}, "kms:*"),
        statement(
            "OwnerUseThroughAwsServices",
            {"AWS": users},
            ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:DescribeKey"],
            Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": via}},
        ),
    ]
    if purpose in ("cluster-secrets", "registry"):
        statements.append(
            statement(
                "DeployerGrantsForAwsResources",
                {"AWS": role_arn(PLATFORM, "deployer")},
                ["kms:CreateGrant", "kms:DescribeKey"],
                Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}, "StringEquals": {"kms:ViaService": via}},
            )
        )
    if purpose == "logs":
        prefix = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aiplatform/{ENVIRONMENT}/{owner}/*"
        statements.append(
            statement(
                "CloudWatchLogsForOwnerLogGroups",
                {"Service": f"logs.{REGION}.amazonaws.com"},
                ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"],
                Condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": prefix}},
            )
        )
    if purpose == "logs" and owner == PLATFORM:
        statements += [
            statement(
                "CloudTrailEncryptsAuditLogs",
                {"Service": "cloudtrail.amazonaws.com"},
                ["kms:GenerateDataKey*", "kms:DescribeKey"],
                Condition={"StringEquals": {"aws:SourceArn": trail_arn}},
            ),
            statement(
                "BudgetsPublishToAlertTopic",
                {"Service": "budgets.amazonaws.com"},
                ["kms:GenerateDataKey*", "kms:Decrypt"],
                Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            ),
            statement(
                "EventBridgePublishesToAlertTopic",
                {"Service": "events.amazonaws.com"},
                ["kms:GenerateDataKey*", "kms:Decrypt"],
                Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            ),
        ]
    if purpose == "volumes":
        autoscaling = f"arn:aws:iam::{ACCOUNT}:role/{AUTOSCALING_ROLE}"
        statements += [
            statement(
                "AutoScalingVolumes",
                {"AWS": autoscaling},
                ["kms:Decrypt", "kms:GenerateDataKey*"],
                Condition={"StringEquals": {"kms:CallerAccount": ACCOUNT, "kms:ViaService": via}},
            ),
            statement(
                "AutoScalingGrantsForVolumes",
                {"AWS": autoscaling},
                ["kms:CreateGrant"],
                Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        ]
    return document(*statements)


def bucket_policy(owner: str, name: str, trail_arn: str) -> str:
    objects = f"{bucket_arn(name)}/*"
    # {"AWS": "*"} rather than "*": moto's PutBucketLogging fails on a string principal in the target
    # bucket's policy (moto 5.2.5, s3/models.py _log_permissions_enabled_policy).
    deny = statement(
        "DenyInsecureTransport",
        {"AWS": "*"},
        "s3:*",
        effect="Deny",
        Resource=[bucket_arn(name), objects],
        Condition={"Bool": {"aws:SecureTransport": "false"}},
    )
    if owner == PLATFORM:
        return document(
            deny,
            statement(
                "ServerAccessLogs",
                {"Service": "logging.s3.amazonaws.com"},
                "s3:PutObject",
                Resource=objects,
                Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            ),
            statement(
                "CloudTrail",
                {"Service": "cloudtrail.amazonaws.com"},
                ["s3:PutObject", "s3:GetBucketAcl"],
                Resource=[bucket_arn(name), objects],
                Condition={"StringEquals": {"aws:SourceArn": trail_arn}},
            ),
            statement(
                "FlowLogs",
                {"Service": "delivery.logs.amazonaws.com"},
                "s3:PutObject",
                Resource=objects,
                Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            ),
        )
    return document(
        deny,
        statement(
            "OwnerAccess", {"AWS": role_arn(owner, "workload")}, ["s3:GetObject", "s3:PutObject"], Resource=objects
        ),
    )


def repository_policy(tenant: str, tenants: tuple[str, ...]) -> str:
    """The repository policy of infra/components/registry.py."""
    statements = [
        # The kubelet pulls with the node's role: the platform's on shared nodes.
        statement("TenantPull", {"AWS": [role_arn(tenant, "workload"), role_arn(PLATFORM, "node")]}, PULL),
        statement("CiPush", {"AWS": role_arn(PLATFORM, "ci")}, PUSH),
    ]
    others = [role_arn(other, "workload") for other in tenants if other != tenant]
    if others:
        statements.append(statement("DenyOtherTenants", {"AWS": others}, "ecr:*", effect="Deny"))
    return document(*statements)


class Seeder:
    """Builds the compliant deployment; one method per part."""

    def __init__(self, endpoint_url: str, extras: EksExtras, tenants: tuple[str, ...]) -> None:
        self.env = Environment(endpoint_url, extras, tenants)
        self.kms = self.env.client("kms")
        self.s3 = self.env.client("s3")
        self.ec2 = self.env.client("ec2")
        self.trail_arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/aip-{ENVIRONMENT}-platform-trail"

    def roles(self) -> None:
        iam = self.env.client("iam")
        wanted = [(PLATFORM, role) for role in ("break-glass", "ci", "deployer", "platform-admin", "cluster", "node")]
        wanted += [(tenant, "workload") for tenant in self.env.tenants]
        for owner, role in wanted:
            labels = (
                {}
                if owner in UNTAGGED_ROLE_TENANTS
                else {key: value for key, value in tags(owner).items() if key != "aiplatform:stack"}
            )
            iam.create_role(
                RoleName=role_arn(owner, role).rsplit("/", 1)[-1],
                Path=PLATFORM_ROLE_PATH if owner == PLATFORM else "/",
                AssumeRolePolicyDocument="{}",
                Tags=tag_list(labels),
            )

    def key(self, owner: str, purpose: str) -> str:
        metadata = self.kms.create_key(
            Policy=key_policy(owner, purpose, self.trail_arn),
            Tags=[{"TagKey": key, "TagValue": value} for key, value in tags(owner).items()],
        )["KeyMetadata"]
        self.kms.create_alias(AliasName=f"alias/{ENVIRONMENT}/{owner}/{purpose}", TargetKeyId=metadata["KeyId"])
        self.kms.enable_key_rotation(KeyId=metadata["KeyId"])
        self.env.keys[(owner, purpose)] = metadata["Arn"]
        return str(metadata["Arn"])

    def bucket(self, owner: str, purpose: str, key: str) -> str:
        name = bucket_name(owner, purpose)
        self.s3.create_bucket(Bucket=name)
        self.s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags(owner))})
        self.s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        self.s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
        self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_bucket_ownership_controls(
            Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        )
        self.s3.put_bucket_policy(Bucket=name, Policy=bucket_policy(owner, name, self.trail_arn))
        if owner != PLATFORM:
            self.s3.put_bucket_logging(
                Bucket=name,
                BucketLoggingStatus={
                    "LoggingEnabled": {"TargetBucket": self.env.buckets[PLATFORM], "TargetPrefix": f"{name}/"}
                },
            )
        self.env.buckets[owner] = name
        return name

    def repository(self, tenant: str, key: str) -> None:
        ecr = self.env.client("ecr")
        name = f"{ENVIRONMENT}/{tenant}/inference"
        arn = ecr.create_repository(
            repositoryName=name,
            imageTagMutability="IMMUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key},
            tags=tag_list(tags(tenant)),
        )["repository"]["repositoryArn"]
        ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(LIFECYCLE))
        ecr.set_repository_policy(
            repositoryName=name,
            policyText=repository_policy(tenant, self.env.tenants),
        )
        self.env.repositories[tenant] = arn

    def network(self) -> None:
        ec2 = self.ec2
        vpc = ec2.create_vpc(
            CidrBlock=VPC_CIDR, TagSpecifications=[{"ResourceType": "vpc", "Tags": tag_list(tags(PLATFORM))}]
        )["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(
            VpcId=vpc,
            CidrBlock="10.0.1.0/24",
            TagSpecifications=[{"ResourceType": "subnet", "Tags": tag_list(tags(PLATFORM))}],
        )["Subnet"]["SubnetId"]
        default = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]
        self._close(default)
        ec2.create_flow_logs(
            ResourceIds=[vpc],
            ResourceType="VPC",
            TrafficType="ALL",
            LogDestinationType="s3",
            LogDestination=bucket_arn(self.env.buckets[PLATFORM]),
            TagSpecifications=[{"ResourceType": "vpc-flow-log", "Tags": tag_list(tags(PLATFORM))}],
        )
        self.env.vpc, self.env.subnet = vpc, subnet
        self.env.security_groups[PLATFORM] = self._group(PLATFORM, "endpoints", keep_egress=True)

    def _close(self, group: dict[str, Any]) -> None:
        if group["IpPermissions"]:
            self.ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])
        if group["IpPermissionsEgress"]:
            self.ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=group["IpPermissionsEgress"])

    def _group(self, owner: str, purpose: str, *, keep_egress: bool = False) -> str:
        group = self.ec2.create_security_group(
            GroupName=f"aip-{ENVIRONMENT}-{owner}-{purpose}",
            Description=f"{owner} {purpose}",
            VpcId=self.env.vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list(tags(owner))}],
        )["GroupId"]
        https_in_vpc = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": VPC_CIDR}]}]
        self.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=https_in_vpc)
        if not keep_egress:
            self._close(
                self.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0] | {"IpPermissions": []}
            )
            self.ec2.authorize_security_group_egress(GroupId=group, IpPermissions=https_in_vpc)
        return str(group)

    def nodes(self) -> None:
        metadata = {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"}
        self.env.launch_template = self.ec2.create_launch_template(
            LaunchTemplateName=f"aip-{ENVIRONMENT}-platform-system",
            LaunchTemplateData={
                "ImageId": AMI,
                "MetadataOptions": metadata,
                "BlockDeviceMappings": [
                    {
                        "DeviceName": "/dev/xvda",
                        "Ebs": {"Encrypted": True, "KmsKeyId": self.env.keys[(PLATFORM, "volumes")], "VolumeSize": 50},
                    }
                ],
            },
            TagSpecifications=[{"ResourceType": "launch-template", "Tags": tag_list(tags(PLATFORM))}],
        )["LaunchTemplate"]["LaunchTemplateId"]
        self.env.instance = self.ec2.run_instances(
            ImageId=AMI,
            MinCount=1,
            MaxCount=1,
            SubnetId=self.env.subnet,
            MetadataOptions=metadata,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list(tags(PLATFORM))}],
        )["Instances"][0]["InstanceId"]

    def cluster(self) -> None:
        eks = self.env.client("eks")
        self.env.cluster_arn = eks.create_cluster(
            name=CLUSTER,
            version="1.34",
            roleArn=role_arn(PLATFORM, "cluster"),
            resourcesVpcConfig={
                "subnetIds": [self.env.subnet],
                "endpointPublicAccess": False,
                "endpointPrivateAccess": True,
            },
            logging={
                "clusterLogging": [
                    {"types": ["api", "audit", "authenticator", "controllerManager", "scheduler"], "enabled": True}
                ]
            },
            encryptionConfig=[
                {"resources": ["secrets"], "provider": {"keyArn": self.env.keys[(PLATFORM, "cluster-secrets")]}}
            ],
            tags=tags(PLATFORM),
        )["cluster"]["arn"]
        extras = self.env.extras
        extras.access_config[CLUSTER] = {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
        admin = {
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            "accessScope": {"type": "cluster", "namespaces": []},
        }
        extras.add_access_entry(CLUSTER, role_arn(PLATFORM, "platform-admin"), [admin])
        extras.add_access_entry(CLUSTER, role_arn(PLATFORM, "node"))
        extras.add_pod_identity(CLUSTER, "kube-system", "ebs-csi-controller-sa", role_arn(PLATFORM, "node"))

    def tenant(self, tenant: str) -> None:
        for purpose in TENANT_KEYS:
            self.key(tenant, purpose)
        self.bucket(tenant, "models", self.env.keys[(tenant, "models")])
        self.repository(tenant, self.env.keys[(tenant, "registry")])
        self.env.security_groups[tenant] = self._group(tenant, "workload")
        edit = {
            "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
            "accessScope": {"type": "namespace", "namespaces": [tenant]},
        }
        self.env.extras.add_access_entry(CLUSTER, role_arn(tenant, "workload"), [edit])
        self.env.extras.add_pod_identity(CLUSTER, tenant, "inference", role_arn(tenant, "workload"))
        self.env.client("budgets").create_budget(
            AccountId=ACCOUNT,
            Budget={
                "BudgetName": f"aip-{ENVIRONMENT}-{tenant}",
                "BudgetLimit": {"Amount": "1000", "Unit": "USD"},
                "TimeUnit": "MONTHLY",
                "BudgetType": "COST",
                "FilterExpression": {
                    "And": [
                        {"Tags": {"Key": "aiplatform:tenant", "Values": [tenant]}},
                        {"Tags": {"Key": "aiplatform:environment", "Values": [ENVIRONMENT]}},
                    ]
                },
            },
            NotificationsWithSubscribers=[
                {
                    "Notification": {
                        "NotificationType": "FORECASTED",
                        "ComparisonOperator": "GREATER_THAN",
                        "Threshold": 80,
                    },
                    "Subscribers": [{"SubscriptionType": "EMAIL", "Address": f"{tenant}@example.com"}],
                }
            ],
        )
        group = f"/aiplatform/{ENVIRONMENT}/{tenant}/experiment"
        self.log_group(tenant, group, **{"aiplatform:expires-at": FUTURE})

    def trail(self) -> None:
        group = f"/aiplatform/{ENVIRONMENT}/platform/trail"
        self.log_group(PLATFORM, group)
        cloudtrail = self.env.client("cloudtrail")
        self.env.trail = cloudtrail.create_trail(
            Name=self.trail_arn.rsplit("/", 1)[-1],
            S3BucketName=self.env.buckets[PLATFORM],
            IsMultiRegionTrail=True,
            IncludeGlobalServiceEvents=True,
            EnableLogFileValidation=True,
            KmsKeyId=self.env.keys[(PLATFORM, "logs")],
            CloudWatchLogsLogGroupArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*",
            CloudWatchLogsRoleArn=role_arn(PLATFORM, "trail"),
            TagsList=tag_list(tags(PLATFORM)),
        )["TrailARN"]
        cloudtrail.start_logging(Name=self.env.trail)

    def log_group(self, owner: str, name: str, **extra_tags: str) -> None:
        logs = self.env.client("logs")
        logs.create_log_group(
            logGroupName=name, kmsKeyId=self.env.keys[(owner, "logs")], tags=tags(owner, **extra_tags)
        )
        logs.put_retention_policy(logGroupName=name, retentionInDays=90)
        self.env.log_groups[owner] = name


def seed(endpoint_url: str, extras: EksExtras, tenants: tuple[str, ...] = TENANTS) -> Environment:
    """Create the compliant deployment of ``STACK`` with ``tenants``."""
    seeder = Seeder(endpoint_url, extras, tenants)
    seeder.roles()
    for purpose in PLATFORM_KEYS:
        seeder.key(PLATFORM, purpose)
    seeder.bucket(PLATFORM, "logs", seeder.env.keys[(PLATFORM, "logs")])
    seeder.network()
    seeder.nodes()
    seeder.cluster()
    seeder.trail()
    for tenant in tenants:
        seeder.tenant(tenant)
    return seeder.env
