"""The offline engine: runs a Pulumi Python program under the SDK's mock runtime, as the CLI would.

The program runs the way the Python language host runs it: ``runpy.run_path(<main dir>,
run_name="__main__")`` inside ``pulumi.runtime.run_in_stack`` on a fresh event loop, with the
working directory set to the main directory and config given as the language host gives it.
Every registration reaches ``_Monitor`` as the engine's resource monitor would receive it; the
monitor then does what the engine does before it hands a resource to analyzers:

- builds the URN from the parent's full type chain (the root stack is left out of the chain);
- runs transforms in the engine's order: the resource's own, then each ancestor's (nearest
  first), then the stack transforms in registration order, through the SDK's own callback
  servicer, so the props and options a transform returns are exactly what the engine would get;
- resolves the default provider of each package as the engine does (``default_<version>``,
  configured from the ``<package>:*`` config keys), for resources, reads and invokes alike, and refuses it
  for a package the stack's ``pulumi:disable-default-providers`` lists, with the engine's message;
- records every invoke with the provider it runs through and the account that provider acts in;
- answers with realistic outputs (``cloud.py``): in first-preview mode it returns no id and only
  the inputs, so every value the cloud computes is unknown exactly as in a first real preview;
  in update mode ids, ARNs and other computed values are known.

Each run happens in its own ``contextvars.Context`` and event loop, and the runtime's
process-wide fallbacks are restored afterwards, so one process can run many programs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import gc
import io
import json
import logging
import os
import runpy
import sys
import threading
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, TypeVar

import pulumi
import pulumi.runtime
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import config as runtime_config
from pulumi.runtime import resource as runtime_resource
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime._callbacks import _CallbackServicer
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import engine_pb2, resource_pb2, source_pb2
from pulumi.runtime.stack import run_in_stack

from . import cloud
from .model import Diagnostic, InvokeRecord, Mode, ProgramError, ResourceRecord
from .project import StackConfig
from .values import SECRET_SIG, SIG_KEY, UNKNOWN_SENTINELS, Secret, friendly, reveal, struct_to_py

_T = TypeVar("_T")
ORGANIZATION = "organization"
STACK_TYPE = "pulumi:pulumi:Stack"
_SDK_DIR = Path(pulumi.__file__).resolve().parent
_PREFLIGHT_DIR = Path(__file__).resolve().parent


class EngineError(Exception):
    """Something the real engine would reject (a duplicate URN, a bad provider reference, ...)."""

    def __init__(self, detail: str, source: tuple[str, int] | None = None) -> None:
        super().__init__(_at(source, detail))
        self.detail = detail
        self.source = source


@dataclass
class RunResult:
    """What one program run produced."""

    resources: list[ResourceRecord]
    outputs: dict[str, Any]
    diagnostics: list[Diagnostic]
    seconds: float
    invokes: list[InvokeRecord] = field(default_factory=list)


@dataclass
class _ProviderState:
    urn: str
    id: str
    package: str
    inputs: dict[str, Any]


class _NoMocks(Mocks):
    """The base monitor wants a Mocks; every call it would make is overridden in ``_Monitor``."""

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise EngineError(f"unexpected mock call {args.token}")

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        raise EngineError(f"unexpected mock registration {args.typ}")


@dataclass
class _Run:
    project: str
    stack: str
    mode: Mode
    config: StackConfig
    records: list[ResourceRecord] = field(default_factory=list)
    invokes: list[InvokeRecord] = field(default_factory=list)
    by_urn: dict[str, ResourceRecord] = field(default_factory=dict)
    outputs_bytes: bytes | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    thread_id: int | None = None

    @property
    def dry_run(self) -> bool:
        return self.mode == "first-preview"


class _Monitor(MockMonitor):
    """The resource monitor the program talks to; see the module docstring."""

    def __init__(self, run: _Run) -> None:
        super().__init__(_NoMocks())
        self.run = run
        # Re-entrant: a transform pumps the loop, which may register other resources meanwhile.
        self.lock = threading.RLock()
        self.providers: dict[str, _ProviderState] = {}
        self.default_providers: dict[tuple[str, str], _ProviderState] = {}
        self.own_transforms: dict[str, list[str]] = {}
        self.stack_transform_tokens: list[str] = []
        self.stack_urn = self.urn("", STACK_TYPE, f"{run.project}-{run.stack}")
        self.region = run.config.get("aws:region") or cloud.DEFAULT_REGION
        self.account = (
            cloud.pinned_account({"allowedAccountIds": run.config.get("aws:allowedAccountIds")})
            or cloud.DEFAULT_ACCOUNT_ID
        )

    # -- identity -------------------------------------------------------------------------------

    def urn(self, parent: str, type_: str, name: str) -> str:
        chain = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != STACK_TYPE:
                chain = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.run.stack}::{self.run.project}::{chain}::{name}"

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return self.urn(parent, type_, name)

    # -- registration ---------------------------------------------------------------------------

    def RegisterResource(self, request: resource_pb2.RegisterResourceRequest) -> Any:
        run = self.run
        type_, name, parent = request.type, request.name, request.parent
        urn = self.urn(parent, type_, name)
        source = _source(request)
        if type_ == STACK_TYPE:
            self._add(_root_record(urn, type_, name, custom=False, options=_options(request), source=source))
            return resource_pb2.RegisterResourceResponse(urn=urn)
        if urn in run.by_urn:
            raise EngineError(
                f"duplicate resource URN '{urn}'; give the resource a unique name (or another parent)", source
            )

        transforms = self._transforms_for(request, parent)
        if transforms:
            # A transform is a coroutine of the SDK's callback server: finish on the loop.
            raise _Deferred(self._register_transformed(request, urn, source, transforms))
        return self._register(
            request,
            urn,
            source,
            request.object,
            _options(request),
            request.provider,
            sorted(set(request.dependencies)),
        )

    async def _register_transformed(
        self, request: resource_pb2.RegisterResourceRequest, urn: str, source: tuple[str, int] | None, tokens: list[str]
    ) -> Any:
        props, options, provider_ref, depends_on = await self._apply_transforms(
            request, tokens, request.object, _options(request), request.provider
        )
        dependencies = sorted(set(request.dependencies))
        if request.transforms:
            # The engine rebuilds dependencies only when the resource declares its own transforms.
            dependencies = sorted(set(depends_on).union(*(deps.urns for deps in request.propertyDependencies.values())))
        return self._register(request, urn, source, props, options, provider_ref, dependencies)

    def _register(
        self,
        request: resource_pb2.RegisterResourceRequest,
        urn: str,
        source: tuple[str, int] | None,
        props: struct_pb2.Struct,
        options: dict[str, Any],
        provider_ref: str,
        dependencies: list[str],
    ) -> Any:
        run = self.run
        type_, name, parent = request.type, request.name, request.parent
        custom = request.custom
        is_provider = type_.startswith("pulumi:providers:")
        prop_deps = {key: sorted(set(deps.urns)) for key, deps in request.propertyDependencies.items()}
        package = type_.split(":", 1)[0]
        provider_state: _ProviderState | None = None
        if custom and not is_provider:
            provider_state = self._provider_for(provider_ref, package, request.version, source, (package, urn))

        if custom and package == "kubernetes" and not is_provider:
            props = _kubernetes_check(type_, name, urn, props)

        wire = struct_to_py(props)
        resource_id, output_struct = self._outputs(type_, name, urn, custom, is_provider, wire, props, provider_state)
        if is_provider:
            self.providers[urn] = _ProviderState(
                urn, resource_id or cloud.stable_uuid(urn), type_.split(":")[2], reveal(friendly(wire))
            )

        record = ResourceRecord(
            urn=urn,
            type=type_,
            name=name,
            parent=parent or None,
            provider=provider_state.urn if provider_state else None,
            custom=custom,
            property_dependencies=prop_deps,
            dependencies=dependencies,
            options=options,
            id=resource_id or None,
            source=source,
            input_bytes=props.SerializeToString(),
            output_bytes=None if (custom and output_struct is props) else output_struct.SerializeToString(),
        )
        with self.lock:
            if urn in run.by_urn:
                raise EngineError(f"duplicate resource URN '{urn}'", source)
            self._add(record)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=output_struct)

    def _add(self, record: ResourceRecord) -> None:
        with self.lock:
            self.run.records.append(record)
            self.run.by_urn[record.urn] = record

    def _outputs(
        self,
        type_: str,
        name: str,
        urn: str,
        custom: bool,
        is_provider: bool,
        wire: dict[str, Any],
        props: struct_pb2.Struct,
        provider: _ProviderState | None,
    ) -> tuple[str, struct_pb2.Struct]:
        if not custom:
            # The engine answers a component's registration with no outputs of its own.
            return "", struct_pb2.Struct()
        if self.run.dry_run:
            # First preview: no id and nothing the cloud computes; the SDK resolves both as unknown.
            return "", props
        if is_provider:
            return cloud.stable_uuid(urn), props
        package = type_.split(":", 1)[0]
        if package == "aws":
            with cloud.in_account(self._account(provider)):
                resource_id, computed = cloud.aws_outputs(type_, name, urn, wire, self._region(wire, provider))
        elif package == "kubernetes":
            resource_id, computed = cloud.kubernetes_outputs(type_, name, urn, wire)
        else:
            resource_id, computed = f"{name}-{cloud.digest(urn, 8)}", {}
        state = struct_pb2.Struct()
        state.CopyFrom(props)
        if computed:
            state.update(computed)
        return resource_id, state

    def _region(self, wire: Mapping[str, Any], provider: _ProviderState | None) -> str:
        region = wire.get("region")
        if isinstance(region, str) and region not in UNKNOWN_SENTINELS:
            return region
        if provider is not None and isinstance(provider.inputs.get("region"), str):
            return str(provider.inputs["region"])
        return self.region

    def _account(self, provider: _ProviderState | None) -> str:
        """The account the real provider would act in: its pin, else the stack's, else the default."""
        pinned = cloud.pinned_account(provider.inputs) if provider is not None else None
        return pinned or self.account

    # -- providers ------------------------------------------------------------------------------

    def _provider_for(
        self, ref: str, package: str, version: str, source: tuple[str, int] | None, subject: tuple[str, str]
    ) -> _ProviderState:
        """The provider ``ref`` names, else the package's default one; ``subject`` fills the engine's refusal."""
        if ref:
            urn = ref.rsplit("::", 1)[0]
            state = self.providers.get(urn)
            if state is None:
                raise EngineError(f"provider reference '{ref}' names no registered provider", source)
            return state
        if self._default_provider_denied(package, source):
            # sdk/go/common/diag/errors.go GetDefaultProviderDenied (2015), as the engine formats it for a
            # resource (step_generator.go), a read and an invoke (source_eval.go).
            raise EngineError(
                "Default provider for '{}' disabled. '{}' must use an explicit provider.".format(*subject), source
            )
        key = (package, version)
        state = self.default_providers.get(key)
        if state is None:
            state = self._register_default_provider(package, version)
        return state

    def _default_provider_denied(self, package: str, source: tuple[str, int] | None) -> bool:
        """``pulumi:disable-default-providers``: a JSON list of package names, ``*`` for all (pulumi/pulumi
        pkg/resource/deploy/default_providers.go ``shouldDenyRequest``, v3.274.1; ``pulumi`` is never denied)."""
        raw = self.run.config.get("pulumi:disable-default-providers")
        if package == "pulumi" or raw is None or raw == "":
            return False
        try:
            barred = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise EngineError(f"Failed to parse {raw}: {exc}", source) from None
        if not isinstance(barred, list):
            raise EngineError("Unexpected encoding of pulumi:disable-default-providers", source)
        for index, item in enumerate(barred):
            if not isinstance(item, str):
                raise EngineError(f"pulumi:disable-default-providers[{index}] must be a string", source)
            if item.strip() in ("*", package):
                return True
        return False

    def _register_default_provider(self, package: str, version: str) -> _ProviderState:
        name = "default" + ("_" + version.replace(".", "_").replace("-", "_") if version else "")
        type_ = f"pulumi:providers:{package}"
        urn = self.urn("", type_, name)
        inputs: dict[str, Any] = {}
        prefix = f"{package}:"
        plain = self.run.config.plain()
        for key, value in plain.items():
            if key.startswith(prefix):
                inputs[key[len(prefix) :]] = value
        if version:
            inputs["version"] = version
        struct = struct_pb2.Struct()
        struct.update(
            {
                key: {SIG_KEY: SECRET_SIG, "value": value.value} if isinstance(value, Secret) else value
                for key, value in inputs.items()
            }
        )
        provider_id = cloud.stable_uuid(urn)
        state = _ProviderState(urn, provider_id, package, reveal(inputs))
        self.providers[urn] = state
        self.default_providers[(package, version)] = state
        self._add(
            _root_record(urn, type_, name, custom=True, options=_options(None), record_id=provider_id, inputs=struct)
        )
        return state

    # -- transforms -----------------------------------------------------------------------------

    def RegisterStackTransform(self, request: Any) -> empty_pb2.Empty:
        self.stack_transform_tokens.append(request.token)
        return empty_pb2.Empty()

    def _transforms_for(self, request: resource_pb2.RegisterResourceRequest, parent: str) -> list[str]:
        own = [callback.token for callback in request.transforms]
        urn = self.urn(parent, request.type, request.name)
        if own:
            self.own_transforms[urn] = own
        tokens = list(own)
        current = parent
        while current:
            tokens.extend(self.own_transforms.get(current, ()))
            record = self.run.by_urn.get(current)
            current = record.parent if record is not None and record.parent else ""
        tokens.extend(self.stack_transform_tokens)
        return tokens

    async def _apply_transforms(
        self,
        request: resource_pb2.RegisterResourceRequest,
        tokens: Sequence[str],
        props: struct_pb2.Struct,
        options: dict[str, Any],
        provider_ref: str,
    ) -> tuple[struct_pb2.Struct, dict[str, Any], str, list[str]]:
        loop = self.run.loop
        if loop is None:
            raise EngineError("transforms need the program's event loop")
        # The SDK may start more than one callback server per run; a token belongs to exactly one.
        callbacks: dict[str, Any] = {}
        for servicer in _CallbackServicer._servicers:
            if servicer._loop is loop:
                callbacks.update(servicer._callbacks)
        transform_options = _transform_options(request)
        for token in tokens:
            callback = callbacks.get(token)
            if callback is None:
                raise EngineError(f"transform callback {token} is not registered")
            transform_request = resource_pb2.TransformRequest(
                type=request.type,
                name=request.name,
                custom=request.custom,
                parent=request.parent,
                properties=props,
                options=transform_options,
            )
            answer = await callback(transform_request.SerializeToString())
            response = resource_pb2.TransformResponse.FromString(answer.SerializeToString())
            props = response.properties
            if response.HasField("options"):
                transform_options = response.options
        options = _options_from_transform(transform_options, options)
        return props, options, transform_options.provider or provider_ref, list(transform_options.depends_on)

    # -- outputs, reads, invokes, logs ------------------------------------------------------------

    def RegisterResourceOutputs(self, request: Any) -> empty_pb2.Empty:
        data = request.outputs.SerializeToString()
        if request.urn == self.stack_urn:
            self.run.outputs_bytes = data
        record = self.run.by_urn.get(request.urn)
        if record is not None and not record.custom:
            record.output_bytes = data
        return empty_pb2.Empty()

    def ReadResource(self, request: Any) -> Any:
        urn = self.urn(request.parent, request.type, request.name)
        provider = None
        package = request.type.split(":", 1)[0]
        if not request.type.startswith("pulumi:"):
            provider = self._provider_for(
                request.provider, package, request.version, _source(request), (request.type, request.type)
            )
        wire = struct_to_py(request.properties)
        computed: dict[str, Any] = {}
        if package == "aws":
            with cloud.in_account(self._account(provider)):
                _, computed = cloud.aws_outputs(request.type, request.name, urn, wire, self._region(wire, provider))
        elif package == "kubernetes":
            _, computed = cloud.kubernetes_outputs(request.type, request.name, urn, wire)
        state = struct_pb2.Struct()
        state.CopyFrom(request.properties)
        if computed:
            state.update(computed)
        options = _options(None)
        options["read_id"] = request.id
        record = ResourceRecord(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent or None,
            provider=provider.urn if provider else None,
            custom=True,
            property_dependencies={},
            dependencies=sorted(set(request.dependencies)),
            options=options,
            id=request.id,
            source=_source(request),
            input_bytes=request.properties.SerializeToString(),
            output_bytes=state.SerializeToString(),
        )
        self._add(record)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=state)

    def Invoke(self, request: Any) -> Any:
        args = reveal(friendly(struct_to_py(request.args)))
        if request.tok == "pulumi:pulumi:getResource":
            record = self.run.by_urn.get(args.get("urn", ""))
            if record is None:
                raise EngineError(f"unknown resource {args.get('urn')}")
            result = struct_pb2.Struct()
            result.update({"urn": record.urn, "id": record.id or "", "state": record.wire_outputs})
            return resource_pb2.ResourceInvokeResponse(**{"return": result})
        region = self.region
        package = request.tok.split(":", 1)[0]
        # The engine runs an invoke through the provider the program names, else the package's default provider,
        # which it registers for it (source_eval.go Invoke, getProviderFromSource).
        state = self._provider_for(request.provider, package, request.version, self._caller(), (package, request.tok))
        self.run.invokes.append(InvokeRecord(request.tok, state.urn, self._account(state)))
        if isinstance(args.get("region"), str):
            region = args["region"]
        elif state is not None and isinstance(state.inputs.get("region"), str):
            region = state.inputs["region"]
        try:
            with cloud.in_account(self._account(state)):
                answer = cloud.invoke(request.tok, args, region)
        except cloud.UnknownInvokeError as exc:
            raise EngineError(str(exc), self._caller()) from None
        result = struct_pb2.Struct()
        result.update(answer)
        return resource_pb2.ResourceInvokeResponse(**{"return": result})

    def RegisterStackInvokeTransform(self, request: Any) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    def _caller(self) -> tuple[str, int] | None:
        """Where the program is while it waits for an invoke (the SDK sends no source position)."""
        frame = sys._current_frames().get(self.run.thread_id or 0)
        while frame is not None:
            if _is_user_file(frame.f_code.co_filename):
                return frame.f_code.co_filename, frame.f_lineno
            frame = frame.f_back
        return None


class _EngineLog:
    """The engine's Log service: keeps what the program logs through ``pulumi.log``."""

    _SEVERITY: ClassVar[dict[int, str]] = {
        engine_pb2.DEBUG: "debug",
        engine_pb2.INFO: "info",
        engine_pb2.WARNING: "warning",
        engine_pb2.ERROR: "error",
    }

    def __init__(self, run: _Run) -> None:
        self.run = run

    def Log(self, request: Any) -> empty_pb2.Empty:
        severity = self._SEVERITY.get(request.severity, "info")
        if severity != "debug":
            self.run.diagnostics.append(Diagnostic(severity, request.message, request.urn or None))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any) -> Any:
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any) -> Any:
        return engine_pb2.SetRootResourceResponse()


def _root_record(
    urn: str,
    type_: str,
    name: str,
    *,
    custom: bool,
    options: dict[str, Any],
    source: tuple[str, int] | None = None,
    record_id: str | None = None,
    inputs: struct_pb2.Struct | None = None,
) -> ResourceRecord:
    """A record with no parent, provider or dependencies: the stack, or a default provider."""
    return ResourceRecord(
        urn=urn,
        type=type_,
        name=name,
        parent=None,
        provider=None,
        custom=custom,
        property_dependencies={},
        dependencies=[],
        options=options,
        id=record_id,
        source=source,
        input_bytes=inputs.SerializeToString() if inputs is not None else b"",
        output_bytes=None if custom else b"",
    )


def _source(request: Any) -> tuple[str, int] | None:
    position = request.sourcePosition
    if not position.uri:
        return None
    path = position.uri.removeprefix("file://")
    return path, position.line


def _at(source: tuple[str, int] | None, message: str) -> str:
    return f"{source[0]}:{source[1]}: {message}" if source else message


def _options(request: resource_pb2.RegisterResourceRequest | None) -> dict[str, Any]:
    if request is None:
        return {
            "protect": False,
            "ignore_changes": [],
            "retain_on_delete": False,
            "delete_before_replace": None,
            "additional_secret_outputs": [],
            "aliases": [],
            "custom_timeouts": None,
            "replace_on_changes": [],
            "deleted_with": None,
            "import_id": None,
            "version": None,
            "hide_diffs": [],
        }
    timeouts = None
    if request.HasField("customTimeouts"):
        ct = request.customTimeouts
        timeouts = {"create": ct.create, "update": ct.update, "delete": ct.delete}
    return {
        "protect": bool(request.protect) if request.HasField("protect") else False,
        "ignore_changes": list(request.ignoreChanges),
        "retain_on_delete": bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
        "delete_before_replace": request.deleteBeforeReplace
        if (request.deleteBeforeReplaceDefined or request.deleteBeforeReplace)
        else None,
        "additional_secret_outputs": list(request.additionalSecretOutputs),
        "aliases": [_alias(alias) for alias in request.aliases] + list(request.aliasURNs),
        "custom_timeouts": timeouts,
        "replace_on_changes": list(request.replaceOnChanges),
        "deleted_with": request.deletedWith or None,
        "import_id": request.importId or None,
        "version": request.version or None,
        "hide_diffs": list(request.hideDiffs),
    }


def _alias(alias: Any) -> Any:
    if alias.HasField("urn"):
        return alias.urn
    spec = alias.spec
    result = {key: getattr(spec, key) for key in ("name", "type", "stack", "project") if getattr(spec, key)}
    if spec.parentUrn:
        result["parent"] = spec.parentUrn
    if spec.noParent:
        result["no_parent"] = True
    return result


def _transform_options(request: resource_pb2.RegisterResourceRequest) -> Any:
    """The options the engine hands a transform (resmon.go builds the same message)."""
    opts = resource_pb2.TransformResourceOptions(
        depends_on=list(request.dependencies),
        ignore_changes=list(request.ignoreChanges),
        replace_on_changes=list(request.replaceOnChanges),
        version=request.version,
        aliases=[*request.aliases, *[_alias_urn(urn) for urn in request.aliasURNs]],
        provider=request.provider,
        providers=dict(request.providers),
        plugin_download_url=request.pluginDownloadURL,
        deleted_with=request.deletedWith,
        additional_secret_outputs=list(request.additionalSecretOutputs),
    )
    if request.HasField("protect"):
        opts.protect = request.protect
    if request.HasField("retainOnDelete"):
        opts.retain_on_delete = request.retainOnDelete
    if request.HasField("customTimeouts"):
        opts.custom_timeouts.CopyFrom(request.customTimeouts)
    if request.deleteBeforeReplaceDefined or request.deleteBeforeReplace:
        opts.delete_before_replace = request.deleteBeforeReplace
    return opts


def _alias_urn(urn: str) -> Any:
    from pulumi.runtime.proto import alias_pb2

    return alias_pb2.Alias(urn=urn)


def _options_from_transform(opts: Any, previous: dict[str, Any]) -> dict[str, Any]:
    result = dict(previous)
    result["protect"] = bool(opts.protect) if opts.HasField("protect") else False
    result["ignore_changes"] = list(opts.ignore_changes)
    result["retain_on_delete"] = bool(opts.retain_on_delete) if opts.HasField("retain_on_delete") else False
    result["delete_before_replace"] = opts.delete_before_replace if opts.HasField("delete_before_replace") else None
    result["additional_secret_outputs"] = list(opts.additional_secret_outputs)
    result["aliases"] = [_alias(alias) for alias in opts.aliases]
    result["replace_on_changes"] = list(opts.replace_on_changes)
    result["deleted_with"] = opts.deleted_with or None
    result["version"] = opts.version or None
    if opts.HasField("custom_timeouts"):
        ct = opts.custom_timeouts
        result["custom_timeouts"] = {"create": ct.create, "update": ct.update, "delete": ct.delete}
    return result


_NOT_AUTONAMED = ("List", "Release")


def _kubernetes_check(type_: str, name: str, urn: str, props: struct_pb2.Struct) -> struct_pb2.Struct:
    """What pulumi-kubernetes' Check adds before analyzers see a resource: an auto-name."""
    if type_.endswith(_NOT_AUTONAMED) or ":yaml" in type_ or ":helm" in type_:
        return props
    metadata = props.fields.get("metadata")
    if metadata is not None and metadata.WhichOneof("kind") == "struct_value":
        name_value = metadata.struct_value.fields.get("name")
        if name_value is not None and name_value.WhichOneof("kind") in ("string_value", "struct_value"):
            return props
    elif metadata is not None:
        return props
    checked = struct_pb2.Struct()
    checked.CopyFrom(props)
    meta = checked.fields["metadata"].struct_value
    meta.fields["name"].string_value = f"{name}-{cloud.digest(urn, 8)}"
    annotations = meta.fields["annotations"].struct_value
    annotations.fields["pulumi.com/autonamed"].string_value = "true"
    return checked


# ---------------------------------------------------------------------------------------------
# Running a program
# ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _tuned_gc() -> Iterator[None]:
    """Fewer, larger collections: the SDK allocates millions of short-lived futures and closures.

    Objects alive before the run are frozen so each collection only scans what the run made.
    """
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


_URIS: dict[str, str | None] = {}
_FRAMES: dict[tuple[str, int | None], source_pb2.StackFrame] = {}


def _uri(filename: str) -> str | None:
    uri = _URIS.get(filename, "")
    if uri == "":
        try:
            uri = Path(filename).as_uri()
        except ValueError:
            uri = None
        _URIS[filename] = uri
    return uri


def _frame(filename: str, line: int | None) -> source_pb2.StackFrame:
    key = (filename, line)
    frame = _FRAMES.get(key)
    if frame is None:
        uri = _uri(filename) if filename and line is not None else None
        position = source_pb2.SourcePosition(uri=uri, line=line) if uri is not None and line is not None else None
        frame = _FRAMES[key] = source_pb2.StackFrame(pc=position)
    return frame


def _stack_trace() -> source_pb2.StackTrace:
    """The SDK's ``_get_stack_trace``, without reading every frame's source line from disk.

    Same frames, same positions, same result: the SDK walks the stack with
    ``traceback.extract_stack()``, which also loads each line of source text (and stats every file
    through linecache) only to throw it away; for each resource that is most of its cost.
    """
    stack = []
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        stack.append(frame)
        frame = frame.f_back
    stack.reverse()
    seen = 0
    index = len(stack) - 1
    for index in range(len(stack) - 1, -1, -1):
        if stack[index].f_code.co_name == "__init__":
            seen += 1
            if seen == 3:
                break
    if index < 1:
        return source_pb2.StackTrace()
    frames = [_frame(item.f_code.co_filename, item.f_lineno) for item in reversed(stack[:index])]
    return source_pb2.StackTrace(frames=frames)


@contextlib.contextmanager
def _fast_stack_traces() -> Iterator[None]:
    original = runtime_resource._get_stack_trace
    runtime_resource._get_stack_trace = _stack_trace
    try:
        yield
    finally:
        runtime_resource._get_stack_trace = original


@contextlib.contextmanager
def _restored_runtime_fallbacks() -> Iterator[None]:
    """The SDK's settings keep a process-wide fallback per field; put them back after a run."""
    attribute = "_ContextProperty__default"
    props = [value for value in runtime_settings.Settings.__dict__.values() if hasattr(value, attribute)]
    saved = [getattr(prop, attribute) for prop in props]
    try:
        yield
    finally:
        for prop, value in zip(props, saved, strict=True):
            setattr(prop, attribute, value)


@contextlib.contextmanager
def _working_directory(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


@contextlib.contextmanager
def _fresh_modules(root: Path | None) -> Iterator[None]:
    """Forget the program's own modules afterwards, so the next program imports its own."""
    before = set(sys.modules)
    try:
        yield
    finally:
        if root is not None:
            prefix = str(root.resolve()) + os.sep
            for name in set(sys.modules) - before:
                module_file = getattr(sys.modules.get(name), "__file__", None) or ""
                if module_file.startswith(prefix):
                    del sys.modules[name]


def run(
    body: Callable[[], None],
    *,
    project: str,
    stack: str,
    config: StackConfig,
    mode: Mode,
    main_dir: Path | None = None,
    root_dir: Path | None = None,
) -> RunResult:
    """Run ``body`` as a program's body under the offline engine and return what it registered."""
    state = _Run(project=project, stack=stack, mode=mode, config=config)
    started = time.perf_counter()
    stdout = io.StringIO()
    with (
        _restored_runtime_fallbacks(),
        _fast_stack_traces(),
        _tuned_gc(),
        _working_directory(main_dir),
        _fresh_modules(main_dir),
        contextlib.redirect_stdout(stdout),
    ):
        context = contextvars.Context()
        context.run(_execute, state, body, root_dir or main_dir)
    for line in stdout.getvalue().splitlines():
        state.diagnostics.append(Diagnostic("info", line))
    outputs: dict[str, Any] = {}
    if state.outputs_bytes:
        outputs = friendly(struct_to_py(struct_pb2.Struct.FromString(state.outputs_bytes)))
    return RunResult(state.records, outputs, state.diagnostics, time.perf_counter() - started, state.invokes)


def _execute(state: _Run, body: Callable[[], None], root_dir: Path | None) -> None:
    monitor = _Monitor(state)
    runtime_settings.configure(
        runtime_settings.Settings(
            project=state.project,
            stack=state.stack,
            monitor=monitor,
            engine=_EngineLog(state),
            dry_run=state.dry_run,
            organization=ORGANIZATION,
            root_directory=str(root_dir) if root_dir else None,
        )
    )
    runtime_settings.ROOT.set(None)
    runtime_config.set_all_config(dict(state.config.values), list(state.config.secret_keys))
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    loop = _EngineLoop()
    state.loop = loop
    state.thread_id = threading.get_ident()
    previous_loop = _current_loop()
    asyncio.set_event_loop(loop)
    try:
        _start_callbacks(loop, monitor)
        loop.run_until_complete(run_in_stack(body))
    except BaseException as exc:  # the program's failure, whatever it raised
        raise _program_error(exc) from None
    finally:
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(previous_loop)


class _Deferred(Exception):
    """Raised by the monitor when its answer needs the loop (a transform): finish it as a task."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        super().__init__()
        self.coroutine = coroutine


class _EngineLoop(asyncio.SelectorEventLoop):
    """The program's event loop, with the engine's calls answered in place.

    The SDK sends every engine call through ``run_in_executor`` because a real engine is another
    process. This engine is an object in this process that answers in microseconds, so a thread
    handoff per call (a GIL switch and two lock wake-ups) would cost more than the call itself:
    calls on the default executor run inline and hand back a finished future. A call that must
    wait for the loop (a transform is a coroutine of the SDK's callback server) raises
    ``_Deferred`` and completes as a task, the awaiting SDK coroutine suspended meanwhile.
    """

    def run_in_executor(  # type: ignore[override]
        self, executor: concurrent.futures.Executor | None, func: Callable[..., _T], *args: Any
    ) -> asyncio.Future[_T]:
        if executor is not None:
            return super().run_in_executor(executor, func, *args)
        future: asyncio.Future[_T] = self.create_future()
        try:
            future.set_result(func(*args))
        except _Deferred as deferred:
            task = self.create_task(deferred.coroutine)
            task.add_done_callback(lambda done: _settle(future, done))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # handed to the awaiting coroutine, as the executor would
            future.set_exception(exc)
        return future


def _settle(future: asyncio.Future[_T], done: asyncio.Task[Any]) -> None:
    if future.cancelled():
        return
    if done.cancelled():
        future.cancel()
    elif done.exception() is not None:
        future.set_exception(done.exception())  # type: ignore[arg-type]
    else:
        future.set_result(done.result())


def _start_callbacks(loop: asyncio.AbstractEventLoop, monitor: _Monitor) -> None:
    """Start the SDK's callback server once, in the run's own context.

    The SDK starts it lazily from inside a registration task, whose context is a copy, so the
    server it remembers is forgotten again and every registration with transforms starts another
    server (a gRPC server, its port and threads). Started here, every task of the run inherits it.
    """

    async def start() -> _CallbackServicer:
        servicer = _CallbackServicer(monitor)  # type: ignore[arg-type]  # the monitor stands in for the stub
        await servicer.serve()
        return servicer

    runtime_settings.SETTINGS.callbacks = loop.run_until_complete(start())


def _current_loop() -> asyncio.AbstractEventLoop | None:
    with contextlib.suppress(RuntimeError):
        return asyncio.get_event_loop_policy().get_event_loop()
    return None


def _program_error(exc: BaseException) -> BaseException:
    if isinstance(exc, KeyboardInterrupt):
        return exc
    if isinstance(exc, SystemExit):
        return ProgramError(f"the program called sys.exit({exc.code})")
    if isinstance(exc, ProgramError):
        return exc
    detail = "".join(traceback.format_exception(exc))
    if isinstance(exc, pulumi.RunError):
        return ProgramError(str(exc), None, None, detail)
    message = str(exc) or type(exc).__name__
    if not isinstance(exc, EngineError | cloud.UnknownInvokeError):
        message = f"{type(exc).__name__}: {message}"
    if isinstance(exc, EngineError) and exc.source is not None:
        return ProgramError(exc.detail, exc.source[0], exc.source[1], detail)
    file, line = _program_frame(exc)
    return ProgramError(message, file, line, detail)


def _program_frame(exc: BaseException) -> tuple[str | None, int | None]:
    """The innermost frame that is neither the SDK, preflight, nor the standard library."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in chain:
        frames = traceback.extract_tb(item.__traceback__)
        for frame in reversed(frames):
            if _is_user_file(frame.filename):
                return frame.filename, frame.lineno
    return None, None


def _is_user_file(filename: str) -> bool:
    path = Path(filename)
    if not path.is_absolute() or filename.startswith("<"):
        return False
    resolved = str(path.resolve())
    return not (
        resolved.startswith(str(_SDK_DIR))
        or resolved.startswith(str(_PREFLIGHT_DIR))
        or "site-packages" in resolved
        or resolved.startswith(sys.base_prefix)
        or resolved.startswith(sys.prefix)
    )


def program_body(main_dir: Path) -> Callable[[], None]:
    """What the language host runs: the main directory as ``__main__``."""

    def body() -> None:
        argv = sys.argv
        sys.argv = [str(main_dir)]
        try:
            runpy.run_path(str(main_dir), run_name="__main__")
        finally:
            sys.argv = argv

    return body
