"""Read-only, memoised, paginated and bounded-retry access to AWS APIs.

Every call the audit makes goes through :class:`Api`:

- read-only: an operation that is not a Describe/Get/List is refused before it is sent;
- bounded retries: botocore's standard retry mode (exponential backoff with jitter, a retry quota)
  with a fixed number of attempts, so throttling and transient errors are retried, never forever;
- memoised: checks that need the same answer share one call, also across threads;
- errors become :class:`ApiError`, which the runner turns into a ``not-evaluated`` result with the
  reason; a denied or missing API never passes silently.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from typing import Any

import boto3
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from audit.permissions import iam_action, is_read_only

# Total attempts per call (the first one and up to four retries) in botocore's standard mode.
MAX_ATTEMPTS = 5

_ACCESS_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "AuthorizationError",
        "AuthFailure",
    }
)
_UNSUPPORTED = frozenset(
    {
        "InvalidAction",
        "UnknownOperationException",
        "UnsupportedOperation",
        "UnsupportedOperationException",
        "NotImplemented",
        "OptInRequired",
        "SubscriptionRequiredException",
    }
)
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)


class ApiError(Exception):
    """A call that could not be answered; its check is reported as not evaluated."""

    def __init__(self, action: str, kind: str, detail: str) -> None:
        super().__init__(f"{kind} on {action}: {detail}")
        self.action = action
        self.kind = kind
        self.detail = detail

    @property
    def reason(self) -> str:
        return str(self)


def classify(error: Exception) -> tuple[str, str]:
    """(kind, detail) of a botocore error: access denied, unsupported, throttled or error."""
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        detail = str(error)
        if code in _ACCESS_DENIED:
            return "access denied", detail
        if code in _THROTTLED:
            return "throttled", detail
        # An endpoint that does not know the operation answers 404 (or 501) without an AWS error
        # code: the API is missing there, as in a region that lacks it or an emulator.
        if code in _UNSUPPORTED or (status in (404, 501) and code in {"404", "501", ""}):
            return "unsupported API", f"{code or status}: the endpoint does not implement this API"
        return "error", detail
    if isinstance(error, EndpointConnectionError):
        return "unsupported API", f"no endpoint reachable for this region: {error}"
    return "error", str(error)


def _key(*parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


class Api:
    """The audit's single door to AWS: one client per service, every answer memoised."""

    def __init__(
        self,
        session: boto3.Session,
        region: str,
        *,
        endpoint_url: str | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.session = session
        self.region = region
        self.endpoint_url = endpoint_url
        self._config = Config(
            region_name=region,
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            connect_timeout=10,
            read_timeout=30,
            user_agent_extra="secure-ai-platform-audit",
        )
        self._clients: dict[str, Any] = {}
        self._memo: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()
        self.calls: Counter[tuple[str, str]] = Counter()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                client = self.session.client(service, endpoint_url=self.endpoint_url, config=self._config)
                # Every handler of this event runs (unlike before-call, where a handler that answers
                # an operation itself stops the others), so every call is counted.
                client.meta.events.register("before-parameter-build", self._count)
                self._clients[service] = client
            return self._clients[service]

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls[(model.service_model.service_name, model.name)] += 1

    def call(
        self, service: str, operation: str, *, absent: Collection[str] = (), **params: Any
    ) -> dict[str, Any] | None:
        """One memoised call; ``None`` when AWS answers with one of the ``absent`` error codes
        (the thing asked for does not exist, which a check judges, e.g. no bucket policy)."""

        def send() -> dict[str, Any]:
            response: dict[str, Any] = getattr(self.client(service), xform_name(operation))(**params)
            response.pop("ResponseMetadata", None)
            return response

        result: dict[str, Any] | None = self._answer(service, operation, absent, params, send)
        return result

    def pages(
        self, service: str, operation: str, result_key: str, *, absent: Collection[str] = (), **params: Any
    ) -> list[Any] | None:
        """Every item of ``result_key`` over all pages (memoised as a whole)."""

        def send() -> list[Any]:
            paginator = self.client(service).get_paginator(xform_name(operation))
            items: list[Any] = []
            for page in paginator.paginate(**params):
                items.extend(page.get(result_key, []))
            return items

        result: list[Any] | None = self._answer(service, operation, absent, params, send)
        return result

    def items(self, service: str, operation: str, result_key: str, **params: Any) -> list[Any]:
        """:meth:`pages` for listings that always exist."""
        return self.pages(service, operation, result_key, **params) or []

    def _answer(
        self,
        service: str,
        operation: str,
        absent: Collection[str],
        params: Mapping[str, Any],
        send: Callable[[], Any],
    ) -> Any:
        if not is_read_only(operation):
            raise ValueError(f"the audit is read-only: {service} {operation} is not a read operation")
        key = _key(service, operation, send.__qualname__, params)
        with self._lock:
            future = self._memo.get(key)
            owner = future is None
            if future is None:
                future = self._memo[key] = Future()
        if owner:
            try:
                future.set_result(send())
            except BaseException as error:
                future.set_exception(error)
        try:
            return future.result()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in absent:
                return None
            raise ApiError(iam_action(service, operation), *classify(error)) from error
        except BotoCoreError as error:
            raise ApiError(iam_action(service, operation), *classify(error)) from error
