"""Two ways to talk to a policy pack, with one interface.

``ExactPack`` runs the unmodified pack as the Pulumi CLI does: ``python -m pulumi.policy
<engine address> .`` in the pack's directory, reads the port it prints, and speaks the analyzer
gRPC protocol. ``InProcessPack`` runs the pack's ``__main__.py`` in this process, captures the
analyzer servicer its ``PolicyPack`` builds (instead of letting it serve), and evaluates the same
policy objects directly: each resource's properties are deserialised once for all its policies
rather than once per policy. Both see the environment the CLI gives a pack's process.

A policy that raises makes the whole gRPC call fail under the CLI; to name the policy, the exact
path repeats the call with one policy enabled at a time. The fast path catches per policy and
drops what a raising policy reported before it raised, so both paths report the same.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import contextvars
import os
import runpy
import select
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from inspect import isawaitable
from pathlib import Path
from typing import Any

import grpc
import pulumi.runtime
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime import config as runtime_config
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import policy as policy_module
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from ..engine import _fresh_modules, _restored_runtime_fallbacks
from ..values import struct_to_py
from .config import PolicyConfig, configure_request, only

# The CLI gives the pack its engine's address; pulumi.policy parses it and never dials it.
ENGINE_ADDRESS = "127.0.0.1:0"
STARTUP_SECONDS = 60.0
_GRPC_OPTIONS = [
    ("grpc.max_receive_message_length", 400 * 1024 * 1024),
    ("grpc.max_send_message_length", 400 * 1024 * 1024),
]

CallErrors = list[tuple[str, str, str | None]]
"""(policy, message, detail) for each policy that raised."""


class PackLoadError(Exception):
    """The pack did not start: its ``__main__.py`` failed or built no PolicyPack."""


class _Captured(BaseException):
    def __init__(self, servicer: Any) -> None:
        super().__init__()
        self.servicer = servicer


def pack_python(pack_dir: Path) -> str:
    """The interpreter the CLI would use: the pack's ``virtualenv`` runtime option, if it exists."""
    project = pack_dir / "PulumiPolicy.yaml"
    with contextlib.suppress(OSError, yaml.YAMLError):
        document = yaml.safe_load(project.read_text(encoding="utf-8")) or {}
        runtime = document.get("runtime")
        options = runtime.get("options") if isinstance(runtime, dict) else None
        venv = options.get("virtualenv") if isinstance(options, dict) else None
        if isinstance(venv, str):
            # The venv's own python, by its path in the venv (pulumi/pulumi sdk/python/toolchain/pip.go
            # Command: <virtualenv>/bin/python). Never resolved through its symlink: the interpreter it
            # points to is the base one, which knows nothing of the venv's packages.
            candidate = Path(os.path.abspath(pack_dir / venv / "bin" / "python"))
            if candidate.is_file():
                return str(candidate)
    return sys.executable


class _Client(abc.ABC):
    """Shared plumbing: the current config, and isolating a raising policy by re-configuring."""

    resource_policies: list[str]
    stack_policies: list[str]

    def __init__(self) -> None:
        self.config: dict[str, PolicyConfig] = {}
        self.resource_policies = []
        self.stack_policies = []

    @abc.abstractmethod
    def info(self) -> analyzer_pb2.AnalyzerInfo: ...

    @abc.abstractmethod
    def _configure(self, request: analyzer_pb2.ConfigureAnalyzerRequest) -> None: ...

    def configure(self, config: Mapping[str, PolicyConfig]) -> None:
        self.config = dict(config)
        info = self.info()
        self.resource_policies = [p.name for p in info.policies if p.policy_type != analyzer_pb2.POLICY_TYPE_STACK]
        self.stack_policies = [p.name for p in info.policies if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK]
        if self.config:
            self._configure(configure_request(self.config))

    def _enabled(self, names: list[str]) -> list[str]:
        return [
            name for name in names if (self.config.get(name) or PolicyConfig("", None)).enforcement_level != "disabled"
        ]

    def _attempt(
        self, call: Callable[[], Any], names: list[str], merge: Callable[[Any, Any], None]
    ) -> tuple[Any, CallErrors]:
        """``call``; when it fails, repeat it with one policy enabled at a time to name who raised."""
        try:
            return call(), []
        except PolicyCallError:
            pass
        empty = analyzer_pb2.RemediateResponse() if merge is _merge_remediate else analyzer_pb2.AnalyzeResponse()
        errors: CallErrors = []
        try:
            for name in self._enabled(names):
                self._configure(configure_request(only(self.config, name)))
                try:
                    merge(empty, call())
                except PolicyCallError as exc:
                    errors.append((name, exc.message, exc.detail))
        finally:
            self._configure(configure_request(self.config))
        return empty, errors


class PolicyCallError(Exception):
    """A call into the pack failed; under the CLI this aborts the call for every policy."""

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


def _merge_analyze(into: analyzer_pb2.AnalyzeResponse, part: analyzer_pb2.AnalyzeResponse) -> None:
    into.diagnostics.extend(part.diagnostics)
    into.not_applicable.extend(part.not_applicable)


def _merge_remediate(into: analyzer_pb2.RemediateResponse, part: analyzer_pb2.RemediateResponse) -> None:
    into.remediations.extend(part.remediations)
    into.not_applicable.extend(part.not_applicable)


class ExactPack(_Client):
    """The pack in its own process, over the analyzer gRPC protocol (as ``pulumi preview`` runs it)."""

    def __init__(self, pack_dir: Path, env: Mapping[str, str]) -> None:
        super().__init__()
        self.pack_dir = pack_dir
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        command = [pack_python(pack_dir), "-m", "pulumi.policy", ENGINE_ADDRESS, "."]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter running pulumi.policy
            command,
            cwd=pack_dir,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        port = self._read_port()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_GRPC_OPTIONS)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self._info: analyzer_pb2.AnalyzerInfo | None = None

    def _read_port(self) -> int:
        assert self.process.stdout is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        buffer = b""
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.process.poll() is not None:
                break
            ready, _, _ = select.select([self.process.stdout], [], [], min(remaining, 0.5))
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 64)
                if not chunk:
                    break
                buffer += chunk
        line = buffer.split(b"\n", 1)[0].strip()
        if not line.isdigit():
            self.close()
            raise PackLoadError(f"policy pack {self.pack_dir} failed to start:\n{self._stderr_text()}".rstrip())
        return int(line)

    def _stderr_text(self) -> str:
        with contextlib.suppress(ValueError, OSError):
            self._stderr.seek(0)
            return self._stderr.read().decode(errors="replace")
        return ""

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request)
        except grpc.RpcError as exc:
            details = exc.details() if hasattr(exc, "details") else str(exc)
            message = str(details or exc).removeprefix("Exception calling application: ")
            raise PolicyCallError(message, self._stderr_text() or None) from exc

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        if self._info is None:
            try:
                self._info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
            except PolicyCallError as exc:
                raise PackLoadError(f"policy pack {self.pack_dir}: GetAnalyzerInfo failed: {exc.message}") from exc
        return self._info

    def _configure(self, request: analyzer_pb2.ConfigureAnalyzerRequest) -> None:
        self._call("Configure", request)

    def configure_stack(self, request: analyzer_pb2.AnalyzerStackConfigureRequest) -> None:
        self._call("ConfigureStack", request)

    def analyze(self, request: analyzer_pb2.AnalyzeRequest) -> tuple[analyzer_pb2.AnalyzeResponse, CallErrors]:
        return self._attempt(lambda: self._call("Analyze", request), self.resource_policies, _merge_analyze)

    def analyze_stack(
        self, request: analyzer_pb2.AnalyzeStackRequest
    ) -> tuple[analyzer_pb2.AnalyzeResponse, CallErrors]:
        return self._attempt(lambda: self._call("AnalyzeStack", request), self.stack_policies, _merge_analyze)

    def remediate(self, request: analyzer_pb2.AnalyzeRequest) -> tuple[analyzer_pb2.RemediateResponse, CallErrors]:
        return self._attempt(lambda: self._call("Remediate", request), self.resource_policies, _merge_remediate)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> ExactPack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _in_pack_dir(pack_dir: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(pack_dir)
    sys.path.insert(0, str(pack_dir))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(pack_dir))
        os.chdir(previous)


class InProcessPack(_Client):
    """The same pulumi_policy objects, evaluated in this process (the fast path)."""

    def __init__(self, pack_dir: Path, env: Mapping[str, str]) -> None:
        super().__init__()
        self.pack_dir = pack_dir
        self.env = dict(env)
        self.context = contextvars.Context()
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(_restored_runtime_fallbacks())
        self._stack.enter_context(_fresh_modules(pack_dir))
        try:
            self.servicer = self._run(self._load)
        except BaseException:
            self._stack.close()
            raise
        self._info: analyzer_pb2.AnalyzerInfo | None = None

    def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn`` where the pack's process would: its directory, environment and runtime context."""
        with _environment(self.env), _in_pack_dir(self.pack_dir):
            return self.context.run(fn, *args)

    def _load(self) -> Any:
        # What pulumi/policy/__main__.py does before it runs the pack's __main__.py.
        runtime_config.CONFIG.set({})
        for key, value in runtime_config.get_config_env().items():
            pulumi.runtime.set_config(key, value)
        if all(name in os.environ for name in ("PULUMI_PROJECT", "PULUMI_STACK", "PULUMI_DRY_RUN")):
            pulumi.runtime.configure(
                pulumi.runtime.Settings(
                    project=os.environ["PULUMI_PROJECT"],
                    stack=os.environ["PULUMI_STACK"],
                    dry_run=os.environ["PULUMI_DRY_RUN"] == "true",
                    organization=os.environ.get("PULUMI_ORGANIZATION", "organization"),
                )
            )
        original = policy_module._PolicyAnalyzerServicer

        class Capturing(original):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                raise _Captured(self)

        policy_module._PolicyAnalyzerServicer = Capturing  # type: ignore[misc]
        argv = sys.argv
        sys.argv = [policy_module.__file__ or "pulumi.policy", ENGINE_ADDRESS, "."]
        # The finder cached for "." holds the directory it was first used in; drop it.
        sys.path_importer_cache.pop(".", None)
        try:
            runpy.run_path(".", run_name="__main__")
        except _Captured as captured:
            return captured.servicer
        except Exception as exc:
            detail = "".join(traceback.format_exception(exc))
            raise PackLoadError(f"policy pack {self.pack_dir} failed to start:\n{detail}".rstrip()) from exc
        finally:
            sys.path_importer_cache.pop(".", None)
            policy_module._PolicyAnalyzerServicer = original  # type: ignore[misc]
            sys.argv = argv
        raise PackLoadError(f"policy pack {self.pack_dir}: __main__.py built no PolicyPack")

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        if self._info is None:
            info = self._run(self.servicer.GetAnalyzerInfo, empty_pb2.Empty(), None)
            # What crosses the wire: the exact path sees the message after a round trip.
            self._info = analyzer_pb2.AnalyzerInfo.FromString(info.SerializeToString())
        return self._info

    def _configure(self, request: analyzer_pb2.ConfigureAnalyzerRequest) -> None:
        self._run(self.servicer.Configure, _round_trip(request), None)

    def configure_stack(self, request: analyzer_pb2.AnalyzerStackConfigureRequest) -> None:
        self._run(self.servicer.ConfigureStack, _round_trip(request), None)

    def analyze(self, request: analyzer_pb2.AnalyzeRequest) -> tuple[analyzer_pb2.AnalyzeResponse, CallErrors]:
        return self._run(self._analyze, _round_trip(request))

    def analyze_stack(
        self, request: analyzer_pb2.AnalyzeStackRequest
    ) -> tuple[analyzer_pb2.AnalyzeResponse, CallErrors]:
        return self._run(self._analyze_stack, _round_trip(request))

    def remediate(self, request: analyzer_pb2.AnalyzeRequest) -> tuple[analyzer_pb2.RemediateResponse, CallErrors]:
        def call() -> Any:
            try:
                return self._run(self.servicer.Remediate, _round_trip(request), None)
            except Exception as exc:
                raise PolicyCallError(str(exc), "".join(traceback.format_exception(exc))) from exc

        return self._attempt(call, self.resource_policies, _merge_remediate)

    # -- the servicer's Analyze and AnalyzeStack, deserialising each resource once -------------

    def _policies(self, kind: type) -> list[Any]:
        return [p for p in self.servicer._PolicyAnalyzerServicer__policies if isinstance(p, kind)]

    def _analyze(self, request: analyzer_pb2.AnalyzeRequest) -> tuple[analyzer_pb2.AnalyzeResponse, CallErrors]:
        servicer = self.servicer
        servicer._configure_runtime_settings()
        response = analyzer_pb2.AnalyzeResponse()
        errors: CallErrors = []
        props: Any = None
        opts: Any = None
        provider: Any = None
        for policy in self._policies(policy_module.ResourceValidationPolicy):
            level = servicer._get_enforcement_level(policy)
            if level == policy_module.EnforcementLevel.DISABLED:
                continue
            if not policy.has_validation():
                response.not_applicable.append(
                    analyzer_pb2.PolicyNotApplicable(
                        policy_name=policy.name, reason="Policy does not implement validate"
                    )
                )
                continue
            if level == policy_module.EnforcementLevel.REMEDIATE:
                level = policy_module.EnforcementLevel.MANDATORY
            if props is None:
                props = unknown_checking_proxy(deserialize_properties(struct_to_py(request.properties)))
                opts = servicer._get_resource_options(request)
                provider = servicer._get_provider_resource(request)
            report = servicer._create_report_violation(
                response, policy.name, policy.description, level, policy.severity
            )
            args = policy_module.ResourceValidationArgs(
                request.type,
                props,
                request.urn,
                request.name,
                opts,
                provider,
                servicer._get_policy_config(policy.name),
                servicer._PolicyAnalyzerServicer__stack_tags,
            )
            self._validate(policy, args, report, response, errors)
        return response, errors

    def _analyze_stack(
        self, request: analyzer_pb2.AnalyzeStackRequest
    ) -> tuple[analyzer_pb2.AnalyzeResponse, CallErrors]:
        servicer = self.servicer
        servicer._configure_runtime_settings()
        response = analyzer_pb2.AnalyzeResponse()
        errors: CallErrors = []
        resources: list[Any] | None = None
        for policy in self._policies(policy_module.StackValidationPolicy):
            level = servicer._get_enforcement_level(policy)
            if level == policy_module.EnforcementLevel.DISABLED:
                continue
            if level == policy_module.EnforcementLevel.REMEDIATE:
                level = policy_module.EnforcementLevel.MANDATORY
            if resources is None:
                resources = self._stack_resources(request)
            report = servicer._create_report_violation(
                response, policy.name, policy.description, level, policy.severity
            )
            args = policy_module.StackValidationArgs(
                resources, servicer._get_policy_config(policy.name), servicer._PolicyAnalyzerServicer__stack_tags
            )
            self._validate(policy, args, report, response, errors)
        return response, errors

    def _stack_resources(self, request: analyzer_pb2.AnalyzeStackRequest) -> list[Any]:
        servicer = self.servicer
        resources = []
        by_urn: dict[str, Any] = {}
        links = []
        for r in request.resources:
            props = unknown_checking_proxy(deserialize_properties(struct_to_py(r.properties)))
            resource = policy_module.PolicyResource(
                r.type,
                props,
                r.urn,
                r.name,
                servicer._get_resource_options(r),
                servicer._get_provider_resource(r),
                None,
                [],
                {},
            )
            resources.append(resource)
            by_urn[r.urn] = resource
            links.append(
                (resource, r.parent, list(r.dependencies), {k: list(v.urns) for k, v in r.propertyDependencies.items()})
            )
        for resource, parent, dependencies, property_dependencies in links:
            if parent in by_urn:
                resource.parent = by_urn[parent]
            resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)
            for key, urns in property_dependencies.items():
                resource.property_dependencies[key] = [by_urn[d] for d in urns if d in by_urn]
        return resources

    def _validate(
        self, policy: Any, args: Any, report: Any, response: analyzer_pb2.AnalyzeResponse, errors: CallErrors
    ) -> None:
        servicer = self.servicer
        diagnostics, not_applicable = len(response.diagnostics), len(response.not_applicable)
        try:
            result = policy.validate(args, report)
            if isawaitable(result):
                loop = asyncio.new_event_loop()
                try:
                    loop.run_until_complete(asyncio.ensure_future(result, loop=loop))
                finally:
                    loop.close()
        except UnknownValueError as exc:
            name, version = (
                servicer._PolicyAnalyzerServicer__policy_pack_name,
                servicer._PolicyAnalyzerServicer__policy_pack_version,
            )
            response.diagnostics.append(
                analyzer_pb2.AnalyzeDiagnostic(
                    policyName=policy.name,
                    policyPackName=name,
                    policyPackVersion=version,
                    message=(
                        f"can't run policy '{policy.name}' from policy pack "
                        f"'{name}@v{version}' during preview: {exc.message}"
                    ),
                    urn="",
                    description=policy.description,
                    enforcementLevel=analyzer_pb2.ADVISORY,
                )
            )
        except policy_module._NotApplicableError as exc:
            response.not_applicable.append(
                analyzer_pb2.PolicyNotApplicable(policy_name=policy.name, reason=exc.reason or "")
            )
        except Exception as exc:
            # Under the CLI the whole call fails and nothing this policy reported survives.
            del response.diagnostics[diagnostics:]
            del response.not_applicable[not_applicable:]
            errors.append((policy.name, str(exc), "".join(traceback.format_exception(exc))))

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> InProcessPack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _round_trip(message: Any) -> Any:
    """The message as the pack's process parses it off the wire."""
    return type(message).FromString(message.SerializeToString())
