"""The engine's side of policy evaluation: configure each pack, analyze, attribute the results.

This mirrors what ``pulumi preview --policy-pack`` does with each analyzer: GetAnalyzerInfo,
reconcile and Configure the policy config, ConfigureStack, Remediate (when a policy is at the
remediate level; the remediated properties are what Analyze then sees, as under the CLI, but the
program's resources are never changed), Analyze for every resource, then AnalyzeStack. Violations
of resource policies belong to the analyzed resource; those of stack policies to the URN the
policy reported when it names a resource in the stack, else to the stack.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from ..engine import ORGANIZATION
from ..model import PolicyError, PolicyInfo, Preview, UsageError
from ..project import StackConfig
from .clients import ExactPack, InProcessPack, PackLoadError
from .config import PolicyConfig, load_policy_config_file, parse_policy_config, reconcile
from .protocol import Outcome, Requests, stack_urn_resolver

POLICY_FILE = "PulumiPolicy.yaml"
_SEVERITY = {1: "low", 2: "medium", 3: "high", 4: "critical"}


def discover_packs(root: Path) -> list[Path]:
    """Every directory under ``root`` that holds a PulumiPolicy.yaml (the CLI's default packs)."""
    if not root.is_dir():
        return []
    return sorted(path.parent for path in root.glob(f"*/{POLICY_FILE}"))


def environment_of(preview: Preview, stack_config: StackConfig) -> str | None:
    return stack_config.get(f"{preview.project}:environment")


def pack_environment(preview: Preview, stack_config: StackConfig) -> dict[str, str]:
    """The variables the CLI sets for a policy pack's process (constructEnv in analyzer_plugin.go)."""
    env = {
        "PULUMI_ORGANIZATION": ORGANIZATION,
        "PULUMI_PROJECT": preview.project,
        "PULUMI_STACK": preview.stack,
        "PULUMI_DRY_RUN": "true" if preview.mode == "first-preview" else "false",
    }
    if stack_config.values:
        env["PULUMI_CONFIG"] = json.dumps(stack_config.values, separators=(",", ":"))
    return env


def _pack_version(pack_dir: Path) -> str | None:
    try:
        document = yaml.safe_load((pack_dir / POLICY_FILE).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    version = document.get("version") if isinstance(document, dict) else None
    return str(version) if version is not None else None


def _given_config(
    pack_dir: Path, policy_config: Mapping[str, Any] | Path | None, environment: str | None
) -> tuple[dict[str, PolicyConfig] | None, str]:
    if isinstance(policy_config, Path):
        return load_policy_config_file(policy_config), str(policy_config)
    if policy_config is not None:
        return parse_policy_config(policy_config, "policy_config"), "policy_config"
    if environment:
        candidate = pack_dir / "config" / f"{environment}.json"
        if candidate.is_file():
            return load_policy_config_file(candidate), str(candidate)
    return None, "defaults"


def _stack_configure_request(preview: Preview, stack_config: StackConfig) -> analyzer_pb2.AnalyzerStackConfigureRequest:
    config = struct_pb2.Struct()
    config.update(dict(stack_config.values))
    return analyzer_pb2.AnalyzerStackConfigureRequest(
        stack=preview.stack,
        project=preview.project,
        organization=ORGANIZATION,
        dry_run=preview.mode == "first-preview",
        config_secret_keys=list(stack_config.secret_keys),
        config=config,
    )


def evaluate_policies(
    preview: Preview,
    pack_dirs: Sequence[Path],
    *,
    stack_config: StackConfig,
    policy_config: Mapping[str, Any] | Path | Sequence[Path] | None = None,
    exact: bool = False,
) -> None:
    """Evaluate every pack against ``preview`` and add the results to it.

    ``policy_config`` is one config for every pack (a mapping in the CLI's format, or a file), or
    one file per pack (as the CLI pairs ``--policy-pack-config`` with ``--policy-pack``).
    """
    per_pack: list[Mapping[str, Any] | Path | None]
    if isinstance(policy_config, Sequence) and not isinstance(policy_config, str | Path):
        if len(policy_config) not in (0, len(pack_dirs)):
            raise UsageError("give one --policy-pack-config per --policy-pack, in the same order")
        per_pack = list(policy_config) or [None] * len(pack_dirs)
    else:
        per_pack = [policy_config] * len(pack_dirs)
    requests = Requests(preview)
    env = pack_environment(preview, stack_config)
    environment = environment_of(preview, stack_config)
    for pack_dir, given in zip(pack_dirs, per_pack, strict=True):
        if not (pack_dir / POLICY_FILE).is_file():
            raise UsageError(f"{pack_dir}: not a policy pack (no {POLICY_FILE})")
        config, source = _given_config(pack_dir, given, environment)
        _evaluate_pack(preview, requests, pack_dir, env, config, source, stack_config, exact)


def _evaluate_pack(
    preview: Preview,
    requests: Requests,
    pack_dir: Path,
    env: Mapping[str, str],
    given: dict[str, PolicyConfig] | None,
    source: str,
    stack_config: StackConfig,
    exact: bool,
) -> None:
    client: ExactPack | InProcessPack
    try:
        client = ExactPack(pack_dir, env) if exact else InProcessPack(pack_dir, env)
    except PackLoadError as exc:
        preview.errors.append(PolicyError(pack_dir.name, None, None, str(exc).splitlines()[0], str(exc)))
        return
    with client:
        try:
            info = client.info()
        except PackLoadError as exc:
            preview.errors.append(PolicyError(pack_dir.name, None, None, str(exc), None))
            return
        name = info.name
        preview.packs.append(name)
        reconciled = reconcile(info, given, source)
        client.configure(reconciled)
        client.configure_stack(_stack_configure_request(preview, stack_config))
        _record_policies(preview, info, reconciled)
        outcome = Outcome()
        levels = {policy: config.enforcement_level for policy, config in reconciled.items()}
        remediating = any(levels.get(policy) == "remediate" for policy in client.resource_policies)
        analyzing = any(levels.get(policy) != "disabled" for policy in client.resource_policies)
        for record in requests.resources:
            request = requests.analyze(record)
            if remediating:
                remediated, errors = client.remediate(request)
                outcome.add_remediations(name, record.urn, remediated.remediations)
                outcome.add_not_applicable(name, remediated.not_applicable, record.urn)
                _errors(outcome, name, record.urn, errors)
                changed = [r for r in remediated.remediations if r.HasField("properties") and r.properties.fields]
                if changed:
                    request = requests.analyze(record, properties=changed[-1].properties)
            if not analyzing:
                continue
            response, errors = client.analyze(request)
            urn = record.urn
            outcome.add_diagnostics(name, response.diagnostics, lambda _reported, urn=urn: urn)
            outcome.add_not_applicable(name, response.not_applicable, urn)
            _errors(outcome, name, urn, errors)
        if any(levels.get(policy) != "disabled" for policy in client.stack_policies):
            response, errors = client.analyze_stack(requests.analyze_stack())
            outcome.add_diagnostics(name, response.diagnostics, stack_urn_resolver(preview, requests.resources))
            outcome.add_not_applicable(name, response.not_applicable, None)
            _errors(outcome, name, None, errors)
    preview.violations.extend(outcome.violations)
    preview.errors.extend(outcome.errors)
    preview.remediations.extend(outcome.remediations)
    preview.not_applicable.extend(outcome.not_applicable)


def _errors(outcome: Outcome, pack: str, urn: str | None, errors: Sequence[tuple[str, str, str | None]]) -> None:
    for policy, message, detail in errors:
        outcome.errors.append(PolicyError(pack, policy, urn, message, detail))


def _record_policies(preview: Preview, info: analyzer_pb2.AnalyzerInfo, config: Mapping[str, PolicyConfig]) -> None:
    for policy in info.policies:
        level = (config.get(policy.name) or PolicyConfig("", None)).enforcement_level or "advisory"
        preview.policies.append(
            PolicyInfo(
                pack=info.name,
                name=policy.name,
                kind="stack" if policy.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource",
                enforcement_level=level,
                description=policy.description,
                display_name=policy.displayName,
                severity=_SEVERITY.get(policy.severity),
                remediation_steps=policy.remediation_steps,
                url=policy.url,
                tags=tuple(policy.tags),
            )
        )
