"""Nodes, GPU pools and hosts (CONTROLS D): IMDS, public IPs, SSH, GPU taints, tenant binding, sizes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiplatform_standards import gpu_allowed_families

from ai_guardrails.core import (
    CRITICAL,
    HIGH,
    MEDIUM,
    Config,
    Finding,
    Outcome,
    Resource,
    Stack,
    Undecided,
    expect,
    number,
    resource_policy,
    shown,
    stack_policy,
)
from ai_guardrails.documents import Statement, statements
from ai_guardrails.gpu import family, gpus_per_instance, is_gpu_ami_type, is_gpu_instance_type
from ai_guardrails.joins import ALIAS, KEY, KEY_POLICY, ROLE, key_policies, key_ref, owner_in_stack
from ai_guardrails.tags import K8S, PLATFORM_TIER, STANDARDS, owner, tier
from ai_guardrails.values import as_bool, as_number, get, is_unknown, items, strings

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
SUBNET = "aws:ec2/subnet:Subnet"
DEDICATED_HOST = "aws:ec2/dedicatedHost:DedicatedHost"
CLUSTER = "aws:eks/cluster:Cluster"
ADMISSION_POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
ADMISSION_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
# The annotation on admission objects that names the cluster they guard (infra admission component).
CLUSTER_ANNOTATION = "aiplatform.io/cluster"

GPU_TAINT: str = K8S["gpu_taint_key"]
TENANT_TAINT: str = K8S["tenant_taint_key"]
TENANT_LABEL: str = K8S["labels"]["tenant"]
# The EKS managed node group default when neither instanceTypes nor a launch template sets one.
_NODE_GROUP_DEFAULT_TYPE = "t3.medium"
_CPU_FAMILIES = ["m5", "m6i", "m7i", "m6a", "m7a", "m6g", "m7g", "c5", "c6i", "c7i", "c6g", "c7g", "r6i", "r7i", "t3"]
_TIERS = [*STANDARDS["tiers"], PLATFORM_TIER]
ALLOWED_FAMILIES: dict[str, list[str]] = {
    tier_name: _CPU_FAMILIES + list(gpu_allowed_families().get(tier_name, ())) for tier_name in _TIERS
}


def _metadata(r: Resource) -> Any:
    return r.get("metadataOptions")


@resource_policy(
    "imdsv2-required",
    description="Launch templates and instances require IMDSv2 session tokens.",
    controls=["NODE-1"],
    severity=HIGH,
    remediation="Set metadataOptions={httpTokens: 'required', httpPutResponseHopLimit: 1, httpEndpoint: 'enabled'}.",
    tokens=[LAUNCH_TEMPLATE, INSTANCE],
)
def imdsv2_required(r: Resource, config: Config) -> Iterator[Outcome]:
    """`metadataOptions.httpTokens` is `required` (absent = `optional`, IMDSv1 allowed)."""
    yield from expect(
        get(_metadata(r), "httpTokens"),
        "metadataOptions.httpTokens",
        ("required",),
        "'required'",
        "set httpTokens='required'",
        vocabulary=["optional"],
        absent="'optional'",
    )


@resource_policy(
    "imds-hop-limit",
    description="Pods cannot reach node credentials: the IMDS response hop limit is 1.",
    controls=["NODE-2"],
    severity=HIGH,
    remediation="Set metadataOptions.httpPutResponseHopLimit=1.",
    tokens=[LAUNCH_TEMPLATE, INSTANCE],
)
def imds_hop_limit(r: Resource, config: Config) -> Iterator[Outcome]:
    """`metadataOptions.httpPutResponseHopLimit` is 1 (absent = the AMI's default, 2 on current EKS AMIs)."""
    yield from expect(
        as_number(get(_metadata(r), "httpPutResponseHopLimit")),
        "metadataOptions.httpPutResponseHopLimit",
        (1,),
        "1",
        "set httpPutResponseHopLimit=1",
        problem="is not 1 (absent = the AMI default, 2)",
    )


@resource_policy(
    "no-public-ip",
    description="Nodes, instances and subnets never assign public IP addresses.",
    controls=["NODE-3"],
    severity=HIGH,
    remediation="Set associatePublicIpAddress / mapPublicIpOnLaunch to False; reach nodes through SSM and endpoints.",
    tokens=[LAUNCH_TEMPLATE, INSTANCE, SUBNET],
)
def no_public_ip(r: Resource, config: Config) -> Iterator[Outcome]:
    """Launch templates: `networkInterfaces[].associatePublicIpAddress` not true; instances: `associatePublicIpAddress`
    not true; subnets: `mapPublicIpOnLaunch` not true (absent = false).
    """
    if r.type == LAUNCH_TEMPLATE:
        candidates = [
            (f"networkInterfaces[{i}].associatePublicIpAddress", get(n, "associatePublicIpAddress"))
            for i, n in enumerate(items(r.get("networkInterfaces")))
        ]
    elif r.type == INSTANCE:
        candidates = [("associatePublicIpAddress", r.get("associatePublicIpAddress"))]
    else:
        candidates = [("mapPublicIpOnLaunch", r.get("mapPublicIpOnLaunch"))]
    for path, value in candidates:
        yield from expect(
            as_bool(value),
            path,
            lambda flag: flag is not True,
            "false or absent",
            f"set {path.rsplit('.', 1)[-1]}=False",
        )


@resource_policy(
    "no-ssh-access",
    description="Nodes and instances have no SSH key or remote access; operators use SSM.",
    controls=["NODE-4"],
    severity=HIGH,
    remediation=(
        "Remove remoteAccess from node groups and keyName from instances and launch templates; use SSM Session Manager."
    ),
    tokens=[NODE_GROUP, INSTANCE, LAUNCH_TEMPLATE],
)
def no_ssh_access(r: Resource, config: Config) -> Iterator[Outcome]:
    """Node groups: `remoteAccess` unset; instances and launch templates: `keyName` unset."""
    prop = "remoteAccess" if r.type == NODE_GROUP else "keyName"
    if r.get(prop) not in (None, ""):
        yield Finding(prop, "is set", "absent", f"remove {prop}; use SSM Session Manager")


def _taints(r: Resource) -> list[dict[str, Any]]:
    return [t for t in items(r.get("taints")) if isinstance(t, dict)]


def _has_taint(r: Resource, key: str, value: str | None = None) -> bool:
    return any(
        t.get("key") == key and t.get("effect") == "NO_SCHEDULE" and (value is None or t.get("value") == value)
        for t in _taints(r)
    )


def node_group_instance_types(r: Resource) -> list[str]:
    """The instance types a node group declares (the EKS default when neither it nor a template sets one)."""
    declared = strings(r.get("instanceTypes"))
    if declared or r.get("launchTemplate") is not None or is_unknown(r.get("instanceTypes")):
        return declared
    return [_NODE_GROUP_DEFAULT_TYPE]


def is_gpu_node_group(r: Resource, template: Resource | None = None) -> bool:
    types = node_group_instance_types(r)
    if template is not None and isinstance(template.get("instanceType"), str):
        types = [*types, template.get("instanceType")]
    return is_gpu_ami_type(r.get("amiType")) or any(is_gpu_instance_type(t) for t in types)


def _gpu_taint_finding(subject: Resource | None = None) -> Finding:
    return Finding(
        "taints",
        f"lacks {{key: '{GPU_TAINT}', effect: 'NO_SCHEDULE'}} on a GPU node group",
        f"a NO_SCHEDULE taint with key {GPU_TAINT}",
        f"add taints=[{{key: '{GPU_TAINT}', value: 'true', effect: 'NO_SCHEDULE'}}]",
        subject,
    )


@resource_policy(
    "gpu-node-group-tainted",
    description="GPU node groups carry the NVIDIA GPU NoSchedule taint.",
    controls=["NODE-5"],
    severity=HIGH,
    remediation="Add taints=[{key: 'nvidia.com/gpu', value: 'true', effect: 'NO_SCHEDULE'}] to the node group.",
    tokens=[NODE_GROUP],
)
def gpu_node_group_tainted(r: Resource, config: Config) -> Iterator[Outcome]:
    """Node groups with a GPU `amiType` (`*_NVIDIA`, `*_GPU`) or GPU `instanceTypes` have a `nvidia.com/gpu`
    `NO_SCHEDULE` taint.
    """
    if is_unknown(r.get("taints")):
        yield Undecided("taints")
    elif is_gpu_node_group(r) and not _has_taint(r, GPU_TAINT):
        yield _gpu_taint_finding()


def _binding_findings(r: Resource, tenant: str | None, subject: Resource | None = None) -> Iterator[Finding]:
    if tenant is None:
        yield Finding(
            "tags.aiplatform:tenant",
            "is absent on a dedicated-pool node group",
            "the tenant's name",
            "tag the node group with its tenant",
            subject,
        )
        return
    labels = r.get("labels")
    if not (isinstance(labels, dict) and labels.get(TENANT_LABEL) == tenant):
        yield Finding(
            f"labels.{TENANT_LABEL}",
            f"is not {shown(tenant, identifier=True)}",
            f"'{tenant}'",
            f"label the nodes {TENANT_LABEL}={tenant}",
            subject,
        )
    if not _has_taint(r, TENANT_TAINT, tenant):
        yield Finding(
            "taints",
            f"lacks the NO_SCHEDULE taint {TENANT_TAINT}={tenant}",
            f"{{key: '{TENANT_TAINT}', value: '{tenant}', effect: 'NO_SCHEDULE'}}",
            "add the tenant taint",
            subject,
        )
    other = [t.get("value") for t in _taints(r) if t.get("key") == TENANT_TAINT and t.get("value") != tenant]
    if other:
        yield Finding(
            "taints",
            "binds the pool to another tenant as well",
            "exactly one tenant",
            "keep only the owner's tenant taint",
            subject,
        )


@resource_policy(
    "dedicated-pool-bound",
    description="Dedicated-pool node groups are labelled and tainted for exactly one tenant.",
    controls=["NODE-6"],
    severity=CRITICAL,
    remediation=(
        "Label the nodes aiplatform.io/tenant=<tenant> and taint them aiplatform.io/tenant=<tenant>:NoSchedule."
    ),
    tokens=[NODE_GROUP],
)
def dedicated_pool_bound(r: Resource, config: Config) -> Iterator[Outcome]:
    """Node groups tagged tier `dedicated-pool`: `labels[aiplatform.io/tenant]` and a `NO_SCHEDULE` taint
    `aiplatform.io/tenant` both equal the tenant tag, and no other tenant's taint.
    """
    if tier(r.props, r.type) != "dedicated-pool":
        return
    if is_unknown(r.get("labels")) or is_unknown(r.get("taints")):
        yield Undecided("taints")
        return
    yield from _binding_findings(r, owner(r.props, r.type))


def _allowed_families(config: Config, tier_name: str) -> list[str]:
    table = config["allowedInstanceFamilies"]
    return list(table.get(tier_name, table.get("shared", [])))


def _types_of(r: Resource) -> list[tuple[str, Any]]:
    if r.type == NODE_GROUP:
        raw = r.get("instanceTypes")
        if is_unknown(raw):
            return [("instanceTypes", raw)]
        return [(f"instanceTypes[{i}]", t) for i, t in enumerate(node_group_instance_types(r))]
    return [("instanceType", r.get("instanceType"))]


@resource_policy(
    "instance-types-allowed",
    description="Node groups, launch templates and instances use instance families allowed in their tier.",
    controls=["NODE-7"],
    severity=HIGH,
    remediation=(
        "Pick an instance type whose family is on the tier's allowlist (policy config allowedInstanceFamilies)."
    ),
    tokens=[NODE_GROUP, LAUNCH_TEMPLATE, INSTANCE],
    config={
        "allowedInstanceFamilies": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "default": ALLOWED_FAMILIES,
            "description": "Instance families allowed per tier (GPU families from the GPU instance table).",
        }
    },
)
def instance_types_allowed(r: Resource, config: Config) -> Iterator[Outcome]:
    """Every `instanceTypes[]`/`instanceType` (node group absent = t3.medium) has a family on the tier's list (tier from
    the `aiplatform:tier` tag, untagged = shared).
    """
    tier_name = tier(r.props, r.type) or "shared"
    allowed = _allowed_families(config, tier_name)
    for path, value in _types_of(r):
        if is_unknown(value):
            yield Undecided(path)
        elif isinstance(value, str) and family(value) not in allowed:
            yield Finding(
                path,
                f"is {shown(value, identifier=True)}, a family not allowed in tier {shown(tier_name, _TIERS)}",
                f"a family in {', '.join(allowed)}",
                "choose an allowed instance type",
            )


@resource_policy(
    "gpu-node-group-bounded",
    description="A GPU node group's maximum size times GPUs per node stays within the per-pool ceiling.",
    controls=["NODE-7", "COST-2"],
    severity=HIGH,
    remediation="Lower scalingConfig.maxSize or use a smaller instance type.",
    tokens=[NODE_GROUP],
    config={
        "maxGpusPerNodeGroup": {
            "type": "integer",
            "minimum": 0,
            "default": 16,
            "description": "Most GPUs one node group may reach at its maximum size.",
        }
    },
)
def gpu_node_group_bounded(r: Resource, config: Config) -> Iterator[Outcome]:
    """`scalingConfig.maxSize` × the largest GPU count among `instanceTypes` (GPU instance table) ≤
    `maxGpusPerNodeGroup`.
    """
    counts = [gpus_per_instance(t) or 0 for t in node_group_instance_types(r) if is_gpu_instance_type(t)]
    if not counts:
        return
    size = as_number(r.get("scalingConfig", "maxSize"))
    if is_unknown(size):
        yield Undecided("scalingConfig.maxSize")
    elif isinstance(size, float) and size * max(counts) > config["maxGpusPerNodeGroup"]:
        yield Finding(
            "scalingConfig.maxSize",
            f"allows {int(size * max(counts))} GPUs",
            f"≤ {number(config['maxGpusPerNodeGroup'])} GPUs",
            "lower maxSize",
        )


@stack_policy(
    "single-tenant-hardware",
    description=(
        "Single-tenant instances and launch templates run on dedicated tenancy or dedicated hosts; EKS managed node "
        "groups, which take no host tenancy, isolate by their own cluster, VPC and account instead."
    ),
    controls=["NODE-8"],
    severity=HIGH,
    remediation="Set tenancy (instances) or placement.tenancy (launch templates) to 'dedicated' or 'host'.",
    tokens=[INSTANCE, LAUNCH_TEMPLATE, NODE_GROUP],
)
def single_tenant_hardware(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Instances and launch templates tagged tier `single-tenant`: `tenancy` / `placement.tenancy` is `dedicated` or
    `host` (absent = `default`, shared hardware), except the launch templates of EKS managed node groups (joined
    through the node group's `launchTemplate`).
    """
    node_templates = {
        template.urn
        for group in stack.of(NODE_GROUP)
        for template in stack.sources(group, "launchTemplate", LAUNCH_TEMPLATE)
    }
    for r in stack.of(INSTANCE, LAUNCH_TEMPLATE):
        if tier(r.props, r.type) != "single-tenant" or r.urn in node_templates:
            continue
        path = "tenancy" if r.type == INSTANCE else "placement.tenancy"
        value = r.get(*path.split("."))
        if not is_unknown(value) and value not in ("dedicated", "host"):
            yield Finding(
                path,
                f"is {shown(value, ['default'])} (absent = 'default')",
                "'dedicated' or 'host'",
                f"set {path}='host'",
                r,
            )


ENCLAVE_HOSTS = (LAUNCH_TEMPLATE, INSTANCE)
# Condition keys that bind a KMS request to a Nitro Enclave's signed attestation document, lower-cased as the
# statements report them: kms:RecipientAttestation:ImageSha384 and kms:RecipientAttestation:PCR<n>.
_ATTESTATION = "kms:recipientattestation:"
_ENCLAVE_PURPOSE = "data"


def _attested(statement: Statement) -> bool:
    return any(key.startswith(_ATTESTATION) for key in statement.condition_keys())


def _attestation_gaps(document: Any) -> list[tuple[str, str]]:
    """(path, problem) wherever a key policy lets plaintext out without attestation; none while it is unknown."""
    found = statements(document)
    if is_unknown(found):
        return []
    decrypting = [s for s in found if s.allows and s.grants("kms:Decrypt")]
    guarded = any(s.denies and s.grants("kms:Decrypt") and _attested(s) for s in found)
    gaps = []
    if not any(_attested(s) for s in decrypting):
        gaps.append(("policy", "allows kms:Decrypt under no kms:RecipientAttestation condition"))
    for statement in decrypting:
        if not _attested(statement) and not guarded:
            gaps.append(
                (
                    f"policy.Statement[{statement.index}]",
                    "allows kms:Decrypt without attestation, and no Deny outside the attested enclave overrides it",
                )
            )
    return gaps


@stack_policy(
    "enclave-data-key-attested",
    description=(
        "When an owner's instances run Nitro Enclaves, its data key yields plaintext only to the attested enclave "
        "image."
    ),
    controls=["NODE-8", "KMS-3"],
    severity=CRITICAL,
    remediation=(
        "Configure the enclave image's measurements (hosts.enclaveAttestation): the data key then allows kms:Decrypt "
        "only under kms:RecipientAttestation:ImageSha384 (and PCR) conditions and denies it outside the enclave."
    ),
    tokens=[*ENCLAVE_HOSTS, KEY, ALIAS, KEY_POLICY],
)
def enclave_data_key_attested(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `LaunchTemplate`/`Instance` with `enclaveOptions.enabled` true: its owner has a `data` key (by alias)
    whose policy (`KeyPolicy` through `keyId`, else inline) allows `kms:Decrypt` under a `kms:RecipientAttestation:*`
    condition, and every Allow of `kms:Decrypt` without one is overridden by a Deny of it conditioned on attestation.
    """
    data_keys: dict[str, list[Resource]] = {}
    for key in stack.of(KEY):
        ref = key_ref(stack, key)
        if ref.owner and _ENCLAVE_PURPOSE in ref.purposes:
            data_keys.setdefault(ref.owner, []).append(key)
    judged: set[str] = set()
    for host in stack.of(*ENCLAVE_HOSTS):
        if as_bool(host.get("enclaveOptions", "enabled")) is not True:
            continue
        host_owner = owner_in_stack(stack, host)
        keys = data_keys.get(host_owner or "", [])
        if not keys:
            yield Finding(
                "enclaveOptions.enabled",
                f"is true, but owner {shown(host_owner, identifier=True)} has no data key in the stack",
                "the owner's data key (alias/<env>/<owner>/data) under the enclave's attestation condition",
                "create the owner's data key with the enclave image's measurements",
                host,
            )
        for key in keys:
            if key.urn in judged:
                continue
            judged.add(key.urn)
            for holder, document in key_policies(stack, key):
                for path, problem in _attestation_gaps(document):
                    yield Finding(
                        path,
                        problem,
                        "kms:Decrypt only under kms:RecipientAttestation conditions of the enclave image",
                        "set the enclave's measurements so the key ring writes the attested data key policy",
                        holder,
                    )


@resource_policy(
    "dedicated-host-no-auto-placement",
    description="Dedicated hosts accept only instances that target them.",
    controls=["NODE-8"],
    severity=MEDIUM,
    remediation="Set autoPlacement='off' on the dedicated host.",
    tokens=[DEDICATED_HOST],
)
def dedicated_host_no_auto_placement(r: Resource, config: Config) -> Iterator[Outcome]:
    """`autoPlacement` is `off` (absent = `on`)."""
    yield from expect(
        r.get("autoPlacement"),
        "autoPlacement",
        ("off",),
        "'off'",
        "set autoPlacement='off'",
        vocabulary=["on"],
        absent="'on'",
    )


@stack_policy(
    "gpu-node-groups-tainted-bound",
    description=(
        "GPU node groups (including those typed by launch templates) are tainted, and dedicated pools use their "
        "tenant's own node role."
    ),
    controls=["NODE-5", "NODE-6"],
    severity=CRITICAL,
    remediation=(
        "Taint GPU pools nvidia.com/gpu:NoSchedule; give each dedicated pool its tenant's taint, label and node role."
    ),
    tokens=[NODE_GROUP, LAUNCH_TEMPLATE, ROLE],
)
def gpu_node_groups_tainted_bound(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `NodeGroup` whose launch template (joined through `launchTemplate`) has a GPU `instanceType` carries the GPU
    taint; dedicated-pool groups' `nodeRoleArn` comes from a `Role` of the same tenant.
    """
    for group in stack.of(NODE_GROUP):
        templates = stack.sources(group, "launchTemplate", LAUNCH_TEMPLATE)
        template = templates[0] if templates else None
        gpu_by_template = template is not None and is_gpu_node_group(group, template)
        if gpu_by_template and not is_gpu_node_group(group) and not _has_taint(group, GPU_TAINT):
            yield _gpu_taint_finding(group)
        if tier(group.props, group.type) != "dedicated-pool":
            continue
        tenant = owner(group.props, group.type)
        for role in stack.sources(group, "nodeRoleArn", ROLE):
            role_tenant = owner_in_stack(stack, role)
            if tenant and role_tenant and role_tenant != tenant:
                yield Finding(
                    "nodeRoleArn",
                    f"is a role of {shown(role_tenant, identifier=True)}",
                    f"the node role of {shown(tenant, identifier=True)}",
                    "give the pool its tenant's own node role",
                    group,
                )


def _guards(resource: Resource, cluster: Resource) -> bool:
    """The admission object names the cluster: its metadata came from the cluster, or says its name."""
    if cluster.urn in resource.property_dependencies.get("metadata", ()):
        return True
    name = resource.get("metadata", "annotations", CLUSTER_ANNOTATION)
    return isinstance(name, str) and name == cluster.get("name")


def _binds_tenants(policy: Resource) -> bool:
    """Fails closed on pod writes and its CEL judges tolerations of the tenant taint."""
    spec = policy.get("spec")
    if get(spec, "failurePolicy") not in (None, "Fail"):
        return False
    covers_pods = any(
        "" in strings(get(rule, "apiGroups"))
        and {"pods", "*"} & set(strings(get(rule, "resources")))
        and {"CREATE", "*"} & set(strings(get(rule, "operations")))
        for rule in items(get(spec, "matchConstraints", "resourceRules"))
    )
    cel = " ".join(
        str(get(entry, "expression")) for entry in [*items(get(spec, "variables")), *items(get(spec, "validations"))]
    )
    return covers_pods and bool(items(get(spec, "validations"))) and TENANT_TAINT in cel and "tolerations" in cel


@stack_policy(
    "dedicated-pool-admission-bound",
    description=(
        "Every cluster with dedicated-pool node groups has a ValidatingAdmissionPolicy, bound with Deny, that "
        "admits the tenant toleration only from the tenant's own namespace."
    ),
    controls=["NODE-6", "TEN-7"],
    severity=CRITICAL,
    remediation=(
        "Deploy the tenant admission policy (infra.components.admission.TenantAdmissionPolicy) for the cluster: "
        "failurePolicy Fail on pod writes, CEL on the aiplatform.io/tenant tolerations, a binding with Deny."
    ),
    tokens=[NODE_GROUP, CLUSTER, ADMISSION_POLICY, ADMISSION_BINDING],
)
def dedicated_pool_admission_bound(stack: Stack, config: Config) -> Iterator[Outcome]:
    """Each `Cluster` with a tier `dedicated-pool` `NodeGroup` (joined through `clusterName`) has a
    `ValidatingAdmissionPolicy` and a `ValidatingAdmissionPolicyBinding` for that cluster (their `metadata` comes from
    the cluster, or annotation `aiplatform.io/cluster` names it): the policy fails closed (`failurePolicy` absent or
    `Fail`) on pod `CREATE`s and its CEL judges `aiplatform.io/tenant` tolerations; the binding names it in
    `policyName` with `Deny` among its `validationActions`.
    """
    for cluster in stack.of(CLUSTER):
        pools = [
            group
            for group in stack.dependents(cluster, "clusterName", NODE_GROUP)
            if tier(group.props, group.type) == "dedicated-pool"
        ]
        if not pools:
            continue
        names = {
            policy.get("metadata", "name")
            for policy in stack.of(ADMISSION_POLICY)
            if _guards(policy, cluster) and _binds_tenants(policy)
        }
        bound = [
            binding
            for binding in stack.of(ADMISSION_BINDING)
            if _guards(binding, cluster)
            and binding.get("spec", "policyName") in names
            and "Deny" in strings(binding.get("spec", "validationActions"))
        ]
        if not bound and stack.left_out(ADMISSION_POLICY, ADMISSION_BINDING):
            # The program registers them, in the in-VPC run (docs/deploy.md): judged when that run creates them.
            yield Undecided("clusterName", pools[0])
        elif not bound:
            yield Finding(
                "clusterName",
                "runs in a cluster without an admission policy that binds tenants to their pools",
                "a ValidatingAdmissionPolicy on tenant tolerations (failurePolicy Fail) with a Deny binding",
                "deploy the tenant admission policy for the cluster",
                pools[0],
            )
