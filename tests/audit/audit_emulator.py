"""The AWS API emulator (moto in server mode) and what the tests add to it through botocore events.

Where moto lacks an API or drops a field, a per-operation ``before-call.eks.<Operation>`` handler
answers that one operation from :class:`EksExtras`; every other call still goes to the emulator.
(botocore's Stubber would take over every call of the client.) Today moto 5.2.5:

- has no EKS access-entry or pod-identity API (ListAccessEntries, DescribeAccessEntry,
  ListAssociatedAccessPolicies, ListPodIdentityAssociations, DescribePodIdentityAssociation answer 404);
- drops a cluster's ``accessConfig`` (authentication mode, creator admin) from CreateCluster.

The fault injectors use the same events: ``before-send`` to throttle the first N attempts of an
operation (botocore retries those), ``before-call`` to deny one operation.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from unittest.mock import patch

import boto3
import botocore.session
import moto.kms.models
from botocore.awsrequest import AWSResponse
from botocore.loaders import Loader
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCOUNT = "123456789012"


# One loader for every session of the tests: botocore parses each service model once, not once a
# session (which costs a tenth of a second a service).
_LOADER = Loader()
_GENERATE_PRIVATE_KEY = moto.kms.models.generate_private_key


def new_session() -> boto3.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core, region_name=REGION)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


_PRIVATE_KEYS: dict[str, Any] = {}


def _one_private_key_per_spec(key_spec: str) -> Any:
    if key_spec not in _PRIVATE_KEYS:
        _PRIVATE_KEYS[key_spec] = _GENERATE_PRIVATE_KEY(key_spec)
    return _PRIVATE_KEYS[key_spec]


@contextmanager
def moto_server() -> Iterator[str]:
    """One moto server on a free loopback port (in this process), stopped on exit.

    moto makes an RSA private key for every KMS key, symmetric ones too (0.1-0.2 s each); the
    audit never signs, so the server reuses one key per key spec.
    """
    # One line a request is noise in a failing test's output; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    with patch.object(moto.kms.models, "generate_private_key", _one_private_key_per_spec):
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def reset(endpoint_url: str) -> None:
    # The emulator on the loopback address, over http: nothing else is ever opened here.
    request = urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


class _Body(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def http_response(
    status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> AWSResponse:
    return AWSResponse("http://emulator.invalid/", status, headers or {}, _Body(json.dumps(body or {}).encode()))


def keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["test_api_params"] = dict(params)


@dataclass
class EksExtras:
    """What moto cannot hold for EKS: access config, access entries, pod identity associations."""

    endpoint_url: str
    access_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    entries: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    policies: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    associations: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    answered: Counter[str] = field(default_factory=Counter)

    @cached_property
    def _emulator_eks(self) -> Any:
        """A client without these handlers: what the emulator itself answers."""
        return new_session().client("eks", endpoint_url=self.endpoint_url)

    def add_access_entry(self, cluster: str, principal: str, policies: Sequence[dict[str, Any]] = ()) -> str:
        role = principal.rsplit("/", 1)[-1]
        arn = f"arn:aws:eks:{REGION}:{ACCOUNT}:access-entry/{cluster}/role/{ACCOUNT}/{role}/{uuid.uuid4()}"
        self.entries.setdefault(cluster, {})[principal] = {
            "clusterName": cluster,
            "principalArn": principal,
            "accessEntryArn": arn,
            "kubernetesGroups": [],
            "type": "STANDARD",
            "username": principal,
            "tags": {},
        }
        self.policies[(cluster, principal)] = list(policies)
        return arn

    def add_pod_identity(self, cluster: str, namespace: str, service_account: str, role: str) -> str:
        association_id = f"a-{uuid.uuid4().hex[:17]}"
        arn = f"arn:aws:eks:{REGION}:{ACCOUNT}:podidentityassociation/{cluster}/{association_id}"
        self.associations.setdefault(cluster, {})[association_id] = {
            "clusterName": cluster,
            "namespace": namespace,
            "serviceAccount": service_account,
            "roleArn": role,
            "associationArn": arn,
            "associationId": association_id,
            "tags": {},
        }
        return arn

    def register(self, events: Any) -> None:
        events.register("before-parameter-build.eks", keep_params)
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "DescribeCluster": self._describe_cluster,
            "ListAccessEntries": lambda p: {"accessEntries": sorted(self.entries.get(p["clusterName"], {}))},
            "DescribeAccessEntry": lambda p: {"accessEntry": self.entries[p["clusterName"]][p["principalArn"]]},
            "ListAssociatedAccessPolicies": lambda p: {
                "clusterName": p["clusterName"],
                "principalArn": p["principalArn"],
                "associatedAccessPolicies": self.policies.get((p["clusterName"], p["principalArn"]), []),
            },
            "ListPodIdentityAssociations": lambda p: {
                "associations": [
                    {key: value for key, value in association.items() if key not in ("roleArn", "tags")}
                    for association in self.associations.get(p["clusterName"], {}).values()
                ]
            },
            "DescribePodIdentityAssociation": lambda p: {
                "association": self.associations[p["clusterName"]][p["associationId"]]
            },
        }
        for operation, answer in handlers.items():
            events.register(f"before-call.eks.{operation}", self._answer(operation, answer))

    def _answer(self, operation: str, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., Any]:
        def handle(context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
            self.answered[operation] += 1
            parsed = answer(context["test_api_params"])
            parsed["ResponseMetadata"] = {"HTTPStatusCode": 200, "RetryAttempts": 0}
            return http_response(200, {}), parsed

        return handle

    def _describe_cluster(self, params: dict[str, Any]) -> dict[str, Any]:
        # Ask the emulator (a client without these handlers) and put back the field it drops.
        cluster = self._emulator_eks.describe_cluster(name=params["name"])["cluster"]
        cluster["accessConfig"] = self.access_config.get(params["name"], {})
        return {"cluster": cluster}


def deny(events: Any, service_id: str, operation: str) -> Counter[str]:
    """Answer every call of one operation with AccessDenied; returns the count of denied calls."""
    denied: Counter[str] = Counter()

    def handle(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        denied[operation] += 1
        error = {"Code": "AccessDeniedException", "Message": f"not authorized to perform {operation}"}
        return http_response(400), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}

    events.register(f"before-call.{service_id}.{operation}", handle)
    return denied


def throttle(events: Any, service_id: str, operation: str, attempts: int) -> Counter[str]:
    """Answer the first ``attempts`` sends of one operation with a JSON-protocol ThrottlingException.

    Returns a counter of the sends seen (throttled and passed through).
    """
    sends: Counter[str] = Counter()

    def handle(**_: Any) -> AWSResponse | None:
        sends["total"] += 1
        if sends["throttled"] >= attempts:
            return None
        sends["throttled"] += 1
        return http_response(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})

    events.register(f"before-send.{service_id}.{operation}", handle)
    return sends
