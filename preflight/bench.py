"""``make bench``: how preflight scales with the number of tenants, against plain SDK mocks.

For each N it writes a shared-cluster stack file with N tenants for this project's program (the
reference ``platform-dev`` stack with its tenants replaced; a synthetic program with a similar
resource mix when the project has no shared-cluster stack), then measures, each in a fresh
process so that peak RSS belongs to one measurement:

- ``baseline``: the same program under the SDK's plain mocks (``pulumi.runtime.set_mocks``, the
  inputs echoed back, no transforms run, no policies), as a Pulumi unit test would run it;
- ``preflight``: ``preview_program`` with the default policy packs (fast path).

The ratio is preflight's total over the baseline, both measured in this run on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import os
import platform
import resource
import runpy
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SIZES = (10, 100, 400)
REFERENCE_STACK = "platform-dev"
SYNTHETIC_PROJECT = "preflight-bench"

_SYNTHETIC_PROGRAM = '''"""A synthetic tenants-like program for preflight's benchmark (about 25 resources a tenant)."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

config = pulumi.Config()
tenants = config.require_object("tenants")
region = aws.get_region().region
account = aws.get_caller_identity().account_id


def tag(args):
    if not args.type_.startswith("aws:") or args.type_.startswith("pulumi:providers:"):
        return None
    props = dict(args.props)
    props["tags"] = {**(props.get("tags") or {}), "aiplatform:environment": "dev", "aiplatform:stack": "bench"}
    return pulumi.ResourceTransformResult(props=props, opts=args.opts)


pulumi.runtime.register_resource_transform(tag)
vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
subnets = [aws.ec2.Subnet(f"private-{i}", vpc_id=vpc.id, cidr_block=f"10.0.{i * 16}.0/20") for i in range(3)]
cluster_role = aws.iam.Role("cluster", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
cluster = aws.eks.Cluster(
    "cluster", role_arn=cluster_role.arn, vpc_config={"subnet_ids": [s.id for s in subnets]}, version="1.31"
)
kube = k8s.Provider("cluster", kubeconfig=cluster.endpoint)


class Tenant(pulumi.ComponentResource):
    def __init__(self, spec):
        name = spec["name"]
        super().__init__("bench:index:Tenant", name)
        child = pulumi.ResourceOptions(parent=self)
        kube_opts = pulumi.ResourceOptions(parent=self, provider=kube)
        keys = {}
        for purpose in ("data", "models", "logs"):
            key = aws.kms.Key(
                f"{name}-key-{purpose}", enable_key_rotation=True, deletion_window_in_days=7, opts=child
            )
            aws.kms.Alias(
                f"{name}-alias-{purpose}", name=f"alias/dev/{name}/{purpose}", target_key_id=key.id, opts=child
            )
            keys[purpose] = key
        bucket = aws.s3.Bucket(f"{name}-models", bucket=f"bench-{name}-models-{account}", opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-models-sse",
            bucket=bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms",
                    "kms_master_key_id": keys["models"].arn}, "bucket_key_enabled": True}],
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-models-pab", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child,
        )
        aws.s3.BucketVersioning(f"{name}-models-versioning", bucket=bucket.id,
                                versioning_configuration={"status": "Enabled"}, opts=child)
        for repo in ("training", "inference"):
            aws.ecr.Repository(f"{name}-{repo}", image_tag_mutability="IMMUTABLE",
                               encryption_configurations=[{"encryption_type": "KMS", "kms_key": keys["models"].arn}],
                               opts=child)
        role = aws.iam.Role(f"{name}-workload", assume_role_policy=json.dumps({"Version": "2012-10-17",
                            "Statement": []}), opts=child)
        aws.iam.RolePolicy(f"{name}-workload-read", role=role.id, policy=bucket.arn.apply(lambda arn: json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": [f"{arn}/*"]}]})), opts=child)
        aws.budgets.Budget(f"{name}-budget", budget_type="COST", limit_amount="500", limit_unit="USD",
                           time_unit="MONTHLY", opts=child)
        namespace = k8s.core.v1.Namespace(f"{name}-ns", metadata={"name": name}, opts=kube_opts)
        meta = {"namespace": name}
        k8s.core.v1.ResourceQuota(f"{name}-quota", metadata=meta, spec={"hard": {"pods": "20"}},
                                  opts=pulumi.ResourceOptions(parent=self, provider=kube, depends_on=[namespace]))
        k8s.core.v1.LimitRange(f"{name}-limits", metadata=meta, spec={"limits": [{"type": "Container",
                               "default": {"cpu": "1"}}]}, opts=kube_opts)
        k8s.networking.v1.NetworkPolicy(f"{name}-deny", metadata=meta, spec={"podSelector": {},
                                        "policyTypes": ["Ingress", "Egress"]}, opts=kube_opts)
        k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta, opts=kube_opts)
        k8s.rbac.v1.Role(f"{name}-role", metadata=meta, rules=[], opts=kube_opts)
        k8s.rbac.v1.RoleBinding(f"{name}-binding", metadata=meta, role_ref={"api_group": "rbac.authorization.k8s.io",
                                "kind": "Role", "name": "tenant"}, subjects=[], opts=kube_opts)
        self.register_outputs({"bucket": bucket.id})


built = [Tenant(spec) for spec in tenants]
pulumi.export("tenants", len(built))
'''


def _tenant(index: int) -> dict[str, Any]:
    return {
        "name": f"t{index:03d}",
        "tier": "shared",
        "dataClassification": "internal",
        "owner": f"team-{index:03d}@example.com",
        "costCenter": f"cc-{index:03d}",
        "quotas": {"cpu": 2, "memoryGib": 8, "pods": 8},
        "monthlyBudgetUsd": 500,
    }


def _workload(root: Path, workdir: Path, size: int) -> tuple[Path, Path, str]:
    """(program dir, stack file, stack name) for ``size`` tenants."""
    from .project import find_project

    stack = f"bench-{size}"
    with_reference = False
    try:
        project = find_project(root)
        reference = project.stack_file(REFERENCE_STACK)
        with_reference = reference.is_file()
    except Exception:  # no usable project here: fall back to the synthetic program
        with_reference = False
    if with_reference:
        document = yaml.safe_load(reference.read_text(encoding="utf-8"))
        key = f"{project.name}:tenants"
        document["config"][key] = [_tenant(i) for i in range(size)]
        stack_file = workdir / f"Pulumi.{stack}.yaml"
        stack_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return project.root, stack_file, stack
    program = workdir / "synthetic"
    program.mkdir(exist_ok=True)
    (program / "Pulumi.yaml").write_text(f"name: {SYNTHETIC_PROJECT}\nruntime: python\n", encoding="utf-8")
    (program / "__main__.py").write_text(_SYNTHETIC_PROGRAM, encoding="utf-8")
    config = {"aws:region": "us-east-1", f"{SYNTHETIC_PROJECT}:tenants": [{"name": f"t{i:03d}"} for i in range(size)]}
    stack_file = workdir / f"Pulumi.{stack}.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return program, stack_file, stack


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measure_preflight(program: Path, stack_file: Path, stack: str, packs: Sequence[Path]) -> dict[str, Any]:
    """``preview_program`` with the packs, its two phases timed apart (what ``_preview`` does)."""
    from .api import preview_program
    from .policy import evaluate_policies
    from .project import find_project, load_stack_config

    started, cpu = time.perf_counter(), _cpu_seconds()
    preview = preview_program(program, stack, stack_config_file=stack_file)
    program_cpu = _cpu_seconds() - cpu
    policy_started, policy_cpu = time.perf_counter(), _cpu_seconds()
    if packs:
        config = load_stack_config(find_project(program), stack, stack_config_file=stack_file)
        evaluate_policies(preview, list(packs), stack_config=config)
    policy_cpu = _cpu_seconds() - policy_cpu
    seconds = time.perf_counter() - started
    return {
        "resources": len(preview.resources),
        "seconds": seconds,
        "cpu_seconds": program_cpu + policy_cpu,
        "program_cpu_seconds": program_cpu,
        "policy_cpu_seconds": policy_cpu,
        "program_seconds": preview.seconds,
        "policy_seconds": time.perf_counter() - policy_started,
        "violations": len(preview.violations),
        "errors": len(preview.errors),
        "rss_mb": _peak_rss_mb(),
    }


def _measure_baseline(program: Path, stack_file: Path, stack: str) -> dict[str, Any]:
    """The program under plain ``set_mocks``: what a Pulumi unit test of it costs."""
    import pulumi
    from pulumi.runtime import config as runtime_config
    from pulumi.runtime.stack import run_pulumi_func

    from . import cloud
    from .engine import _restored_runtime_fallbacks
    from .project import find_project, load_stack_config

    project = find_project(program)
    config = load_stack_config(project, stack, stack_config_file=stack_file)
    region = config.get("aws:region") or cloud.DEFAULT_REGION
    count = [0]

    class PlainMocks(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
            count[0] += 1
            return f"{args.name}_id", args.inputs

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
            return cloud.invoke(args.token, args.args, region), []

    def body() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        pulumi.runtime.set_mocks(PlainMocks(), project=project.name, stack=stack, preview=True)
        runtime_config.set_all_config(dict(config.values), list(config.secret_keys))
        os.chdir(project.main_dir)

        def program() -> None:
            runpy.run_path(str(project.main_dir), run_name="__main__")

        loop.run_until_complete(run_pulumi_func(program))
        loop.close()

    previous = Path.cwd()
    started, cpu = time.perf_counter(), _cpu_seconds()
    try:
        with _restored_runtime_fallbacks():
            contextvars.Context().run(body)
    finally:
        os.chdir(previous)
    seconds = time.perf_counter() - started
    return {
        "resources": count[0] + 1,
        "seconds": seconds,
        "cpu_seconds": _cpu_seconds() - cpu,
        "rss_mb": _peak_rss_mb(),
    }


def _child(kind: str, program: Path, stack_file: Path, stack: str, packs: Sequence[Path]) -> dict[str, Any]:
    command = [sys.executable, "-m", "preflight.bench", "--measure", kind, str(program), str(stack_file), stack]
    for pack in packs:
        command += ["--policy-pack", str(pack)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"bench: {kind} measurement failed:\n{result.stderr}")
    measured: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def machine() -> str:
    cpus = os.cpu_count() or 0
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            kib = int(meminfo.readline().split()[1])
            memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        memory = ""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip() + ", "
                    break
    except OSError:
        model = ""
    return f"{model}{cpus} cores{memory}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def run_bench(sizes: Sequence[int], root: Path, packs: Sequence[Path] | None = None) -> list[dict[str, Any]]:
    from .policy import discover_packs

    chosen = list(packs) if packs is not None else discover_packs(root / "policy_packs")
    rows = []
    with tempfile.TemporaryDirectory(prefix="preflight-bench-") as tmp:
        workdir = Path(tmp)
        for size in sizes:
            program, stack_file, stack = _workload(root, workdir, size)
            baseline = _child("baseline", program, stack_file, stack, ())
            measured = _child("preflight", program, stack_file, stack, chosen)
            rows.append(
                {
                    "tenants": size,
                    "resources": measured["resources"],
                    "preflight_seconds": measured["seconds"],
                    "program_seconds": measured["program_seconds"],
                    "policy_seconds": measured["policy_seconds"],
                    "program_cpu_seconds": measured["program_cpu_seconds"],
                    "policy_cpu_seconds": measured["policy_cpu_seconds"],
                    "program_cpu_ratio": measured["program_cpu_seconds"] / baseline["cpu_seconds"],
                    "baseline_seconds": baseline["seconds"],
                    "ratio": measured["seconds"] / baseline["seconds"],
                    "preflight_cpu_seconds": measured["cpu_seconds"],
                    "baseline_cpu_seconds": baseline["cpu_seconds"],
                    "cpu_ratio": measured["cpu_seconds"] / baseline["cpu_seconds"],
                    "load_average": os.getloadavg()[0],
                    "peak_rss_mb": measured["rss_mb"],
                    "baseline_rss_mb": baseline["rss_mb"],
                    "packs": [pack.name for pack in chosen],
                }
            )
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| tenants | resources | preflight wall s (program + policies) | plain mocks wall s | ratio "
        "| preflight CPU s (program + policies) | plain mocks CPU s | CPU ratio (program only) | peak RSS MB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['tenants']} | {row['resources']} | {row['preflight_seconds']:.1f} "
            f"({row['program_seconds']:.1f} + {row['policy_seconds']:.1f}) | {row['baseline_seconds']:.1f} | "
            f"{row['ratio']:.2f} | {row['preflight_cpu_seconds']:.1f} ({row['program_cpu_seconds']:.1f} + "
            f"{row['policy_cpu_seconds']:.1f}) | {row['baseline_cpu_seconds']:.1f} | "
            f"{row['cpu_ratio']:.2f} ({row['program_cpu_ratio']:.2f}) | {row['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m preflight.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="tenant counts")
    parser.add_argument("--policy-pack", type=Path, action="append", dest="packs", help="packs (default: all)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--measure", choices=("baseline", "preflight"), help=argparse.SUPPRESS)
    parser.add_argument("target", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        program, stack_file, stack = Path(args.target[0]), Path(args.target[1]), args.target[2]
        if args.measure == "baseline":
            result = _measure_baseline(program, stack_file, stack)
        else:
            result = _measure_preflight(program, stack_file, stack, args.packs or [])
        print(json.dumps(result))
        return 0
    rows = run_bench(args.sizes, Path.cwd(), args.packs)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"machine: {machine()}")
        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
