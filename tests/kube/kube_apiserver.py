"""A real kube-apiserver, etcd and kube-controller-manager on loopback, and a JSON client (issue 12, item 3).

The binaries are the ones `make engines` builds into ``.engines/bin`` (docs/engines.md). Nothing
here knows the platform: ``kube_platform.py`` puts the reference stacks' objects into the server
and the tests act as tenants.

- Ports are chosen at run time: the kernel picks a free loopback port (bind to port 0), which is
  then passed to the server; a server that still loses the port to another process exits with
  "address already in use" and is started again on a new one.
- TLS: a self-signed serving certificate for ``IP:127.0.0.1`` made with ``cryptography``; the client
  verifies the server against it.
- Identity: a static token file (``--token-auth-file``, still served by kube-apiserver v1.34:
  ``kube-apiserver --help``) with an administrator in ``system:masters``, the group RBAC's
  bootstrap policy binds to ``cluster-admin`` and which may therefore impersonate anyone
  (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#user-impersonation).
- Every process is started in its own session and stopped by its own pid (terminate, then kill).
"""

from __future__ import annotations

import ctypes
import datetime
import functools
import ipaddress
import json
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REPO = Path(__file__).resolve().parents[2]
ENGINES_BIN = REPO / ".engines" / "bin"
KUBE_APISERVER = ENGINES_BIN / "kube-apiserver"
KUBE_CONTROLLER_MANAGER = ENGINES_BIN / "kube-controller-manager"
ETCD = ENGINES_BIN / "etcd"
ENGINES = (ETCD, KUBE_APISERVER, KUBE_CONTROLLER_MANAGER)

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
ADDRESS_IN_USE = "address already in use"
START_ATTEMPTS = 3

# The admission plugins Amazon EKS enables on every 1.34 platform version ("View Amazon EKS platform
# versions for each Kubernetes version", docs.aws.amazon.com/eks/latest/userguide/platform-versions.html).
# `--enable-admission-plugins` adds them to kube-apiserver's own defaults, which already hold all but
# NodeRestriction and ExtendedResourceToleration, and also ValidatingAdmissionPolicy (GA since 1.30),
# which the platform's tenant binding needs (`kube-apiserver --help`, --enable-admission-plugins).
EKS_ADMISSION_PLUGINS = (
    "NodeRestriction",
    "ExtendedResourceToleration",
    "NamespaceLifecycle",
    "LimitRanger",
    "ServiceAccount",
    "TaintNodesByCondition",
    "PodSecurity",
    "Priority",
    "DefaultTolerationSeconds",
    "DefaultStorageClass",
    "StorageObjectInUseProtection",
    "PersistentVolumeClaimResize",
    "RuntimeClass",
    "CertificateApproval",
    "CertificateSigning",
    "CertificateSubjectRestriction",
    "DefaultIngressClass",
    "MutatingAdmissionWebhook",
    "ValidatingAdmissionWebhook",
    "ResourceQuota",
)
ADMISSION_PLUGINS = (*EKS_ADMISSION_PLUGINS, "ValidatingAdmissionPolicy")
# EKS authorizes with Node and RBAC (and its access-entry webhook, which a tenant team without an
# IAM role does not use: it is bound by a RoleBinding).
AUTHORIZATION_MODES = ("Node", "RBAC")
ADMIN_USER = "test-admin"
ADMIN_GROUP = "system:masters"


class EngineError(RuntimeError):
    """A server did not start or stop as it should; the message carries the end of its log."""


def missing_engines() -> list[Path]:
    return [binary for binary in ENGINES if not binary.is_file()]


def free_port() -> int:
    """A loopback port the kernel has just handed out as free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    if not path.is_file():
        return "(no log)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM if the test process dies (prctl(2),
    PR_SET_PDEATHSIG), so that a killed test run leaves no server behind."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ServerProcess:
    """One engine process, its log file, and how to stop it."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, command: Sequence[str], log: Path) -> ServerProcess:
        with log.open("wb") as out:
            process = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return cls(name, process, log)

    def exited(self) -> bool:
        return self.process.poll() is not None

    def lost_its_port(self) -> bool:
        return self.exited() and ADDRESS_IN_USE in self.log.read_text(encoding="utf-8", errors="replace")

    def failure(self, what: str) -> EngineError:
        return EngineError(
            f"{self.name} {what} (exit code {self.process.poll()}); end of {self.log}:\n{_tail(self.log)}"
        )

    def stop(self) -> None:
        """SIGTERM this process (both servers shut down cleanly on it), SIGKILL if it lingers."""
        if self.exited():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)


def wait_until(ready: Callable[[], bool], *servers: ServerProcess, what: str, timeout: float = START_TIMEOUT) -> None:
    """Poll ``ready`` until it holds; fail as soon as one of the servers it depends on has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for server in servers:
            if server.exited():
                raise server.failure(f"exited while waiting until {what}")
        if ready():
            return
        time.sleep(0.2)
    logs = "\n".join(f"end of {server.log}:\n{_tail(server.log)}" for server in servers)
    raise EngineError(f"not {what} after {timeout:.0f} s\n{logs}")


_Handle = TypeVar("_Handle")


def start_on_free_ports(
    launch: Callable[[], tuple[ServerProcess, Callable[[], bool], _Handle]], what: str
) -> tuple[ServerProcess, _Handle]:
    """Start a server on ports ``free_port`` chose and wait until ``what``; start it again on new ports when another
    process bound one first (free_port only finds a port free at that moment), up to ``START_ATTEMPTS`` times.

    ``launch`` starts one attempt and returns the server, its readiness check and what the caller keeps of it.
    """
    attempt = 0
    while True:
        attempt += 1
        server, ready, handle = launch()
        try:
            wait_until(ready, server, what=what)
        except EngineError:
            server.stop()
            if server.lost_its_port() and attempt < START_ATTEMPTS:
                continue
            raise
        return server, handle


@dataclass(frozen=True)
class Etcd:
    """A one-member etcd cluster on loopback."""

    server: ServerProcess
    url: str


def _etcd_command(directory: Path, client_port: int, peer_port: int) -> list[str]:
    client, peer = f"http://{LOOPBACK}:{client_port}", f"http://{LOOPBACK}:{peer_port}"
    return [
        str(ETCD),
        "--name=test",
        f"--data-dir={directory / 'data'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=test={peer}",
        # A throwaway data dir: durability buys nothing here and fsync costs seconds on a busy disk.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def _etcd_healthy(url: str) -> bool:
    try:
        with _loopback_session() as session:
            answer = session.get(f"{url}/health", timeout=2)
    except requests.RequestException:
        return False
    return answer.status_code == 200 and answer.json().get("health") == "true"


@contextmanager
def running_etcd(directory: Path) -> Iterator[Etcd]:
    directory.mkdir(parents=True, exist_ok=True)

    def launch() -> tuple[ServerProcess, Callable[[], bool], str]:
        client_port, peer_port = free_port(), free_port()
        server = ServerProcess.start("etcd", _etcd_command(directory, client_port, peer_port), directory / "etcd.log")
        url = f"http://{LOOPBACK}:{client_port}"
        return server, functools.partial(_etcd_healthy, url), url

    server, url = start_on_free_ports(launch, "etcd is healthy")
    try:
        yield Etcd(server, url)
    finally:
        server.stop()


@dataclass(frozen=True)
class TlsFiles:
    """The serving certificate and key, and the service-account signing key."""

    serving_cert: Path
    serving_key: Path
    service_account_key: Path


def _write_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def make_tls_files(directory: Path) -> TlsFiles:
    """A self-signed serving certificate for 127.0.0.1 and localhost, and an RSA service-account key."""
    directory.mkdir(parents=True, exist_ok=True)
    serving_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver-test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(serving_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(serving_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "serving.crt", directory / "serving.key", directory / "service-account.key")
    files.serving_cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    _write_key(files.serving_key, serving_key)
    _write_key(files.service_account_key, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return files


def _apiserver_command(
    directory: Path, etcd_url: str, etcd_prefix: str, port: int, tls: TlsFiles, token_file: Path
) -> list[str]:
    return [
        str(KUBE_APISERVER),
        f"--etcd-servers={etcd_url}",
        f"--etcd-prefix={etcd_prefix}",
        f"--bind-address={LOOPBACK}",
        f"--advertise-address={LOOPBACK}",
        f"--secure-port={port}",
        f"--tls-cert-file={tls.serving_cert}",
        f"--tls-private-key-file={tls.serving_key}",
        f"--cert-dir={directory / 'certs'}",
        f"--token-auth-file={token_file}",
        "--service-account-issuer=https://kubernetes.default.svc",
        f"--service-account-key-file={tls.service_account_key}",
        f"--service-account-signing-key-file={tls.service_account_key}",
        "--service-cluster-ip-range=10.96.0.0/16",
        f"--authorization-mode={','.join(AUTHORIZATION_MODES)}",
        f"--enable-admission-plugins={','.join(ADMISSION_PLUGINS)}",
        # EKS runs privileged system pods (the VPC CNI's aws-node init container is privileged:
        # aws/amazon-vpc-cni-k8s config/master/aws-k8s-cni.yaml), so its API servers allow privileged
        # containers; kube-apiserver's default (false) would refuse them in validation, before Pod
        # Security admission could judge a tenant's privileged pod.
        "--allow-privileged=true",
        "--profiling=false",
        "--v=1",
    ]


@dataclass(frozen=True)
class Identity:
    """Who a request acts as, through the impersonation headers (the administrator's right)."""

    user: str
    groups: tuple[str, ...] = ()

    def headers(self) -> list[tuple[str, str]]:
        return [("Impersonate-User", self.user), *(("Impersonate-Group", group) for group in self.groups)]


@dataclass
class Answer:
    """The server's answer to one request: HTTP status, JSON body and its Warning headers' texts."""

    status: int
    body: dict[str, Any]
    warnings: list[str]

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


def _warning_texts(response: requests.Response) -> list[str]:
    # RFC 7234 warn-value `299 - "<text>"` (k8s.io/apiserver pkg/endpoints/handlers/... via
    # k8s.io/apimachinery pkg/util/net NewWarningHeader); requests folds repeated headers, so read
    # them from urllib3's header list.
    raw = response.raw.headers.getlist("Warning") if response.raw is not None else []
    texts = []
    for value in raw:
        parts = value.split(" ", 2)
        quoted = parts[2] if len(parts) == 3 else ""
        texts.append(json.loads(quoted) if quoted.startswith('"') else value)
    return texts


def _loopback_session() -> requests.Session:
    session = requests.Session()
    # Loopback only: no proxy from the environment may sit between the tests and the server.
    session.trust_env = False
    return session


@dataclass
class KubeApi:
    """Plain HTTPS + JSON against the API server: no client library, nothing cached but discovery."""

    base_url: str
    token: str
    ca_file: Path
    session: requests.Session = field(default_factory=_loopback_session)
    _resources: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | Sequence[str]] | None = None,
        identity: Identity | None = None,
        content_type: str = "application/json",
    ) -> Answer:
        headers = [("Authorization", f"Bearer {self.token}"), ("Accept", "application/json")]
        if body is not None:
            headers.append(("Content-Type", content_type))
        if identity is not None:
            headers += identity.headers()
        # requests takes a dict; repeated Impersonate-Group headers are joined with commas, which
        # the server splits back (k8s.io/apiserver pkg/endpoints/filters/impersonation.go reads
        # req.Header[...] values; net/http folds repeats the same way) -- so send them folded.
        folded: dict[str, str] = {}
        for key, value in headers:
            folded[key] = f"{folded[key]},{value}" if key in folded else value
        response = self.session.request(
            method,
            f"{self.base_url}{path}",
            headers=folded,
            data=None if body is None else json.dumps(body),
            params=params,
            verify=str(self.ca_file),
            timeout=30,
        )
        payload = response.json() if response.content and "json" in response.headers.get("Content-Type", "") else {}
        return Answer(response.status_code, payload, _warning_texts(response))

    def ready(self) -> bool:
        try:
            return self.request("GET", "/readyz").status == 200
        except requests.RequestException:
            return False

    def resource(self, api_version: str, kind: str) -> tuple[str, bool]:
        """(plural resource name, namespaced) for a kind, from the server's own discovery."""
        key = (api_version, kind)
        if key not in self._resources:
            base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            listing = self.request("GET", base)
            if listing.status != 200:
                raise EngineError(f"discovery of {api_version} failed: {listing.status} {listing.message}")
            for entry in listing.body["resources"]:
                if "/" not in entry["name"]:
                    self._resources[(api_version, entry["kind"])] = (entry["name"], entry["namespaced"])
            if key not in self._resources:
                raise EngineError(f"the server serves no {kind} in {api_version}")
        return self._resources[key]

    def collection_path(self, api_version: str, kind: str, namespace: str | None) -> str:
        plural, namespaced = self.resource(api_version, kind)
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        if namespaced:
            if not namespace:
                raise EngineError(f"{kind} is namespaced: give its namespace")
            return f"{base}/namespaces/{namespace}/{plural}"
        return f"{base}/{plural}"

    def object_path(self, obj: Mapping[str, Any]) -> str:
        metadata = obj["metadata"]
        collection = self.collection_path(obj["apiVersion"], obj["kind"], metadata.get("namespace"))
        return f"{collection}/{metadata['name']}"

    def create(self, obj: Mapping[str, Any], *, dry_run: bool = False, identity: Identity | None = None) -> Answer:
        """POST an object; unknown or duplicate fields are errors (fieldValidation=Strict), never dropped."""
        params: dict[str, str] = {"fieldValidation": "Strict"}
        if dry_run:
            params["dryRun"] = "All"
        path = self.collection_path(obj["apiVersion"], obj["kind"], obj["metadata"].get("namespace"))
        return self.request("POST", path, body=obj, params=params, identity=identity)

    def get(self, obj: Mapping[str, Any]) -> Answer:
        return self.request("GET", self.object_path(obj))


@dataclass
class ApiServer:
    """A running kube-apiserver and the administrator's client."""

    server: ServerProcess
    api: KubeApi


@contextmanager
def running_apiserver(directory: Path, etcd: Etcd, etcd_prefix: str) -> Iterator[ApiServer]:
    """A kube-apiserver on its own etcd prefix (one etcd serves several servers, one per cluster)."""
    directory.mkdir(parents=True, exist_ok=True)
    tls = make_tls_files(directory / "tls")
    token = secrets.token_urlsafe(32)
    token_file = directory / "tokens.csv"
    # token,user,uid,"group1,group2" (Authenticating: Static Token File).
    token_file.write_text(f'{token},{ADMIN_USER},{ADMIN_USER},"{ADMIN_GROUP}"\n', encoding="utf-8")
    token_file.chmod(0o600)

    def launch() -> tuple[ServerProcess, Callable[[], bool], KubeApi]:
        port = free_port()
        command = _apiserver_command(directory, etcd.url, etcd_prefix, port, tls, token_file)
        server = ServerProcess.start("kube-apiserver", command, directory / "kube-apiserver.log")
        api = KubeApi(f"https://{LOOPBACK}:{port}", token, tls.serving_cert)
        return server, api.ready, api

    server, api = start_on_free_ports(launch, "kube-apiserver is ready")
    try:
        yield ApiServer(server, api)
    finally:
        api.session.close()
        server.stop()


# The kube-controller-manager controllers a cluster's API objects depend on here, by their names in
# k8s.io/kubernetes cmd/kube-controller-manager/names/controller_names.go (v1.34.4):
# - the built-in ``edit`` ClusterRole is an aggregated role, its rules filled in by the aggregation
#   controller (pkg/controller/clusterroleaggregation) as in every cluster: the tenant teams are bound
#   to none of the built-in roles, and with it running a test shows their rights are their own Role's;
# - a ResourceQuota is enforced only once the quota controller has written its status.hard and
#   status.used (k8s.io/apiserver pkg/admission/plugin/resourcequota/controller.go ``CheckRequest``
#   reads status.hard; pkg/controller/resourcequota ``syncResourceQuota`` writes it);
# - a ValidatingAdmissionPolicy's CEL type checking is reported in its status by the status
#   controller (pkg/controller/validatingadmissionpolicystatus);
# - every namespace gets its ``default`` ServiceAccount (pkg/controller/serviceaccount).
CONTROLLERS = (
    "clusterrole-aggregation-controller",
    "resourcequota-controller",
    "validatingadmissionpolicy-status-controller",
    "serviceaccount-controller",
)


def _kubeconfig(api: KubeApi) -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "test", "cluster": {"server": api.base_url, "certificate-authority": str(api.ca_file)}}],
        "users": [{"name": ADMIN_USER, "user": {"token": api.token}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": ADMIN_USER}}],
        "current-context": "test",
    }
    return json.dumps(config)  # JSON is YAML


@contextmanager
def running_controller_manager(directory: Path, api: KubeApi) -> Iterator[ServerProcess]:
    """kube-controller-manager with ``CONTROLLERS`` only, talking to ``api`` as the administrator."""
    kubeconfig = directory / "controller-manager.kubeconfig"
    kubeconfig.write_text(_kubeconfig(api), encoding="utf-8")
    kubeconfig.chmod(0o600)
    command = [
        str(KUBE_CONTROLLER_MANAGER),
        f"--kubeconfig={kubeconfig}",
        f"--controllers={','.join(CONTROLLERS)}",
        # One instance; no serving port (nothing scrapes it), so no port to choose either.
        "--leader-elect=false",
        "--secure-port=0",
        "--v=1",
    ]
    server = ServerProcess.start("kube-controller-manager", command, directory / "kube-controller-manager.log")
    try:
        yield server
    finally:
        server.stop()
