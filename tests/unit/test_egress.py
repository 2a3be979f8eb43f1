"""The egress policy and its pinned transport (videogen.egress): every host notation, the allowlist rules,
redirects, DNS rebinding, TLS to a pinned address, the byte cap and timeouts. No network: servers listen on
127.0.0.1 and a recording network backend routes the "public" addresses the tests resolve to them."""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from local.stack import LOCAL_PARAMETERS
from tests.support.template import function_environment, load_template
from videogen.core.errors import (
    InvalidWebhookUrl,
    OutputDownloadFailed,
    OutputHostNotAllowed,
    OutputTooLarge,
)
from videogen.core.settings import Settings
from videogen.egress.addresses import ip_literal, ipv4_literal, refusal
from videogen.egress.policy import EgressPolicy, host_matches, output_policy, webhook_policy
from videogen.egress.transport import egress_client
from videogen.notifications.delivery import Notifier, WebhookSender, message_for
from videogen.pipeline.output_stream import MAX_REDIRECTS, OutputArchiver, make_http_client

PUBLIC = "93.184.215.14"  # a global unicast address; the recording backend routes it to a local server
PUBLIC_2 = "93.184.215.15"
METADATA = "169.254.169.254"

ANY_OUTPUT_HOST = Settings(output_host_allowlist=("*",))

# --- Every notation of a refused address --------------------------------------------------------------------

REFUSED_HOSTS = [
    # 169.254.169.254 (instance metadata) in every IPv4 notation inet_aton takes
    "169.254.169.254",
    "2852039166",
    "0xA9FEA9FE",
    "0xa9.0xfe.0xa9.0xfe",
    "0251.0376.0251.0376",
    "169.254.43518",
    "169.16689662",
    "169.254.169.254.",
    # loopback
    "127.0.0.1",
    "127.1",
    "0x7f.1",
    "017700000001",
    "2130706433",
    "localhost",
    "localhost.",
    "LOCALHOST",
    "api.localhost",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    # private, shared, unspecified, multicast, reserved, broadcast
    "10.0.0.12",
    "10.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "0.0.0.0",
    "0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    # IPv6: unique-local, link-local (with a zone id), multicast, site-local, unspecified
    "[fd00:ec2::254]",
    "[fe80::1]",
    "[fe80::1%25eth0]",
    "[ff02::1]",
    "[fec0::1]",
    "[::]",
    # IPv6 carrying a refused IPv4 address: mapped, compatible, 6to4, NAT64, local-use NAT64, Teredo
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "[::ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "[2002:a9fe:a9fe::1]",
    "[64:ff9b::169.254.169.254]",
    "[64:ff9b:1::5db8:d70e]",
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
    # a public address written in a notation the socket layer would read differently from a reader
    "1572395790",
    "0x5db8d70e",
    # numeric hosts that are no address at all
    "1.2.3.4.5",
    "256.1.1.1",
    "08.1.1.1",
]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_every_notation_of_a_non_public_address_is_refused_for_outputs_and_webhooks(host: str) -> None:
    # GIVEN the archive policy with any host allowed, and the webhook policy (any public host)
    output = output_policy(ANY_OUTPUT_HOST)
    webhook = webhook_policy(Settings())
    # WHEN a URL names the host THEN both refuse it with their named error, before any DNS
    with pytest.raises(OutputHostNotAllowed):
        output.check_url(f"https://{host}/latest/meta-data/")
    with pytest.raises(InvalidWebhookUrl):
        webhook.check_url(f"https://{host}/hooks")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",  # the Lambda Runtime API
        "http://localhost:2773/secretsmanager/get?secretId=runway",  # the secrets extension
        "https://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
    ],
)
def test_the_lambda_runtime_api_secrets_extension_and_metadata_are_refused(url: str) -> None:
    with pytest.raises(OutputHostNotAllowed):
        output_policy(Settings()).check_url(url)
    with pytest.raises(InvalidWebhookUrl):
        webhook_policy(Settings()).check_url(url)


@pytest.mark.parametrize(
    ("notation", "address"),
    [
        ("2852039166", METADATA),
        ("0xA9FEA9FE", METADATA),
        ("0251.0376.0251.0376", METADATA),
        ("0xa9.0376.43518", METADATA),
        ("169.254.43518", METADATA),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("[::ffff:169.254.169.254]", "::ffff:a9fe:a9fe"),
        ("[fe80::1%eth0]", "fe80::1"),
    ],
)
def test_hosts_are_read_the_way_the_socket_layer_reads_them(notation: str, address: str) -> None:
    # GIVEN a numeric host WHEN parsed THEN it is the address getaddrinfo would connect to
    assert ip_literal(notation) == ipaddress.ip_address(address)
    if ":" not in notation:
        assert ipaddress.IPv4Address(socket.inet_aton(notation)) == ipaddress.ip_address(address)
        assert ipv4_literal(notation) == ipaddress.ip_address(address)


def test_names_are_not_read_as_addresses() -> None:
    for name in ("dnznrvs05pmza.cloudfront.net", "0x.example.com", "1.2.3.example", "abc"):
        assert ip_literal(name) is None, name


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@dnznrvs05pmza.cloudfront.net/x.mp4",
        "ftp://dnznrvs05pmza.cloudfront.net/x.mp4",
        "file:///etc/passwd",
        "http://dnznrvs05pmza.cloudfront.net/x.mp4",
        "//dnznrvs05pmza.cloudfront.net/x.mp4",
        "https:///x.mp4",
        "https://dnznrvs05pmza.cloudfront.net/" + "x" * 2048,
        "https://bad_host!.example.com/x",
    ],
)
def test_scheme_credentials_and_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(OutputHostNotAllowed):
        output_policy(Settings()).check_url(url)


def test_public_addresses_pass_the_address_rule() -> None:
    for address in (PUBLIC, "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.215.14", "2002:5db8:d70e::1"):
        assert refusal(ipaddress.ip_address(address)) is None, address


# --- Loopback only with AllowLoopbackHttp -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8787/_outputs/t/0.mp4", "http://localhost:8080/hooks", "https://[::1]/x"]
)
def test_loopback_is_allowed_only_when_the_local_stack_setting_allows_it(url: str) -> None:
    # GIVEN a deployed stack's settings (the default) THEN loopback is refused, over http and https
    with pytest.raises(OutputHostNotAllowed):
        output_policy(Settings()).check_url(url)
    with pytest.raises(InvalidWebhookUrl):
        webhook_policy(Settings()).check_url(url)
    # GIVEN a local stack (AllowLoopbackHttp=true) THEN it passes, whatever the output allowlist
    output_policy(Settings(allow_loopback_http=True)).check_url(url)
    webhook_policy(Settings(allow_loopback_http=True)).check_url(url)


def test_allow_loopback_http_lets_no_other_private_address_or_http_host_through() -> None:
    local = output_policy(Settings(allow_loopback_http=True, output_host_allowlist=("*",)))
    for url in ("https://169.254.169.254/", "https://10.0.0.12/", "http://dnznrvs05pmza.cloudfront.net/x"):
        with pytest.raises(OutputHostNotAllowed):
            local.check_url(url)
    # AND a loopback name that resolves elsewhere is refused at connect time
    with pytest.raises(OutputHostNotAllowed):
        local.addresses("localhost", lambda host: [METADATA])


# --- The allowlist ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "pattern", "matches"),
    [
        ("dnznrvs05pmza.cloudfront.net", "dnznrvs05pmza.cloudfront.net", True),
        ("DNZNRVS05PMZA.CloudFront.net", "dnznrvs05pmza.cloudfront.net", True),
        ("dnznrvs05pmza.cloudfront.net.", "dnznrvs05pmza.cloudfront.net", True),
        ("other.cloudfront.net", "dnznrvs05pmza.cloudfront.net", False),
        ("x.dnznrvs05pmza.cloudfront.net", "dnznrvs05pmza.cloudfront.net", False),  # exact means exact
        ("a.b.runwayml.com", ".runwayml.com", True),
        ("runwayml.com", ".runwayml.com", True),
        ("a.runwayml.com", "*.runwayml.com", True),
        ("runwayml.com", "*.runwayml.com", True),
        ("notrunwayml.com", ".runwayml.com", False),
        ("notrunwayml.com", "*.runwayml.com", False),
        ("runwayml.com.evil.example", ".runwayml.com", False),
        ("anything.example", "*", True),
    ],
)
def test_allowlist_patterns(host: str, pattern: str, matches: bool) -> None:
    assert host_matches(host, pattern) is matches


def test_the_default_output_allowlist_is_runways_output_host() -> None:
    # GIVEN the settings a deployed stack gets by default (template default, or an empty parameter)
    for settings in (
        Settings(),
        Settings.from_env({"OUTPUT_HOST_ALLOWLIST": ""}),
        Settings(output_host_allowlist=()),
    ):
        policy = output_policy(settings)
        # THEN Runway's CloudFront host is allowed and any other https host refused
        policy.check_url("https://dnznrvs05pmza.cloudfront.net/task/0.mp4?_jwt=abc")
        for url in ("https://attacker.example.com/0.mp4", "https://d2jqrm6oza8nb6.cloudfront.net/0.mp4"):
            with pytest.raises(OutputHostNotAllowed, match="OutputHostAllowlist"):
                policy.check_url(url)


def test_webhooks_take_any_public_host_unless_an_allowlist_is_set() -> None:
    webhook_policy(Settings()).check_url("https://hooks.customer.example/videos")
    restricted = webhook_policy(Settings.from_env({"WEBHOOK_HOST_ALLOWLIST": ".customer.example"}))
    restricted.check_url("https://hooks.customer.example/videos")
    with pytest.raises(InvalidWebhookUrl, match="WebhookHostAllowlist"):
        restricted.check_url("https://hooks.other.example/videos")


def test_an_allowlisted_ip_or_name_never_lets_a_private_address_through() -> None:
    policy = EgressPolicy(allowlist=("10.0.0.12", "cdn.example.com"))
    with pytest.raises(OutputHostNotAllowed):
        policy.check_url("https://10.0.0.12/x")
    with pytest.raises(OutputHostNotAllowed, match="non-public"):
        policy.addresses("cdn.example.com", lambda host: [PUBLIC, "10.0.0.12"])
    assert policy.addresses("cdn.example.com", lambda host: [PUBLIC, PUBLIC_2]) == [PUBLIC, PUBLIC_2]


# --- Servers on loopback and a backend that routes "public" addresses to them -------------------------------


class Origin:
    """A threaded HTTP(S) server on 127.0.0.1 answering from ``routes`` (path -> callable(handler))."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.routes: dict[str, Any] = {}
        self.server_names: list[str | None] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                origin.requests.append({"path": self.path, "host": self.headers.get("host")})
                route = origin.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                route(self)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if context is not None:
            context.sni_callback = self._sni
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _sni(self, sock: Any, name: str | None, context: Any) -> None:
        self.server_names.append(name)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None, close: bool = True) -> Any:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        if "content-length" not in {k.lower() for k in (headers or {})} and "transfer-encoding" not in (
            headers or {}
        ):
            handler.send_header("content-length", str(len(body)))
        if close:
            handler.send_header("connection", "close")
        handler.end_headers()
        handler.wfile.write(body)

    return route


class RoutingBackend(httpcore.NetworkBackend):
    """Records every address it is asked to connect to; routes ``routes`` addresses to local ports and
    refuses any other (a test must never reach a real network)."""

    def __init__(self, routes: dict[str, int]) -> None:
        self.routes = routes
        self.connects: list[tuple[str, int]] = []
        self._real = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        self.connects.append((host, port))
        if host not in self.routes:
            raise httpcore.ConnectError(f"test backend: no route to {host}")
        return self._real.connect_tcp("127.0.0.1", self.routes[host], timeout, local_address, socket_options)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class ScriptedResolver:
    """Answers each look-up of a name with the next answer of its script (the last one repeats)."""

    def __init__(self, scripts: dict[str, list[list[str]]]) -> None:
        self.scripts = {name: list(answers) for name, answers in scripts.items()}
        self.lookups: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.lookups.append(host)
        script = self.scripts[host]
        return script.pop(0) if len(script) > 1 else script[0]


NAMES = ["videos.example.test", "cdn2.example.test"]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A CA, and a server certificate for ``NAMES`` signed by it; ``client`` trusts the CA only."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "egress test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAMES[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in NAMES]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("tls")
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return {"server": server, "client": ssl.create_default_context(cafile=str(folder / "ca.pem"))}


@pytest.fixture
def origin(tls: dict[str, Any]) -> Iterator[Origin]:
    server = Origin(tls["server"])
    yield server
    server.close()


def pinned_client(
    policy: EgressPolicy, resolver: ScriptedResolver, backend: RoutingBackend, tls: dict[str, Any], **kw: Any
) -> httpx.Client:
    return egress_client(policy, timeout=5, resolver=resolver, backend=backend, verify=tls["client"], **kw)


ALLOW_TEST_NAMES = EgressPolicy(allowlist=(".example.test",))


# --- Resolve once, connect to the checked address -----------------------------------------------------------


def test_dns_rebinding_cannot_get_a_connection_to_the_private_address(
    origin: Origin, tls: dict[str, Any]
) -> None:
    # GIVEN a name whose DNS answer is public on the first look-up and the metadata address on the second
    origin.routes["/video.mp4"] = answer(200, b"video bytes")
    resolver = ScriptedResolver({NAMES[0]: [[PUBLIC], [METADATA]]})
    backend = RoutingBackend({PUBLIC: origin.port})
    client = pinned_client(ALLOW_TEST_NAMES, resolver, backend, tls)
    url = f"https://{NAMES[0]}:{origin.port}/video.mp4"
    # WHEN it is requested: the one look-up is checked and its address connected to
    response = client.get(url)
    assert response.status_code == 200 and response.content == b"video bytes"
    assert resolver.lookups == [NAMES[0]]
    assert [host for host, _ in backend.connects] == [PUBLIC]
    # WHEN a new connection is needed (the server closed the first) and DNS now answers 169.254.169.254
    with pytest.raises(OutputHostNotAllowed, match="non-public"):
        client.get(url)
    # THEN the check saw the new answer and no connection to it was even attempted
    assert resolver.lookups == [NAMES[0], NAMES[0]]
    assert [host for host, _ in backend.connects] == [PUBLIC]


def test_a_pinned_connection_keeps_the_host_name_for_sni_host_and_certificate(
    origin: Origin, tls: dict[str, Any]
) -> None:
    # GIVEN a name resolving to a public address, served by a certificate for that name
    origin.routes["/x"] = answer(200, b"ok")
    backend = RoutingBackend({PUBLIC: origin.port})
    client = pinned_client(ALLOW_TEST_NAMES, ScriptedResolver({NAMES[0]: [[PUBLIC]]}), backend, tls)
    # WHEN requested THEN the TCP connection went to the address, TLS named the host and verified it
    assert client.get(f"https://{NAMES[0]}:{origin.port}/x").content == b"ok"
    assert backend.connects[0][0] == PUBLIC
    assert origin.server_names == [NAMES[0]]
    assert origin.requests[0]["host"] == f"{NAMES[0]}:{origin.port}"
    # AND a name the certificate does not cover fails verification (it is checked against the name)
    other = pinned_client(
        EgressPolicy(allowlist=("*",)), ScriptedResolver({"other.example": [[PUBLIC]]}), backend, tls
    )
    with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        other.get(f"https://other.example:{origin.port}/x")


def test_a_name_with_any_private_address_is_refused_even_if_another_is_public(
    origin: Origin, tls: dict[str, Any]
) -> None:
    backend = RoutingBackend({PUBLIC: origin.port})
    resolver = ScriptedResolver({NAMES[0]: [[PUBLIC, "10.0.0.12"]]})
    with pytest.raises(OutputHostNotAllowed):
        pinned_client(ALLOW_TEST_NAMES, resolver, backend, tls).get(f"https://{NAMES[0]}:{origin.port}/x")
    assert backend.connects == []


def test_a_name_that_does_not_resolve_is_a_connection_error() -> None:
    def nothing(host: str) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    client = egress_client(ALLOW_TEST_NAMES, timeout=5, resolver=nothing, backend=RoutingBackend({}))
    with pytest.raises(httpx.ConnectError, match="cannot resolve"):
        client.get("https://videos.example.test/x")


# --- Redirects ----------------------------------------------------------------------------------------------


def test_a_redirect_to_an_allowed_host_is_followed_and_pinned_too(
    origin: Origin, tls: dict[str, Any]
) -> None:
    # GIVEN an allowed host redirecting to another allowed host, each resolving to its own public address
    origin.routes["/a"] = answer(302, headers={"location": f"https://{NAMES[1]}:{origin.port}/b"})
    origin.routes["/b"] = answer(200, b"moved here")
    backend = RoutingBackend({PUBLIC: origin.port, PUBLIC_2: origin.port})
    resolver = ScriptedResolver({NAMES[0]: [[PUBLIC]], NAMES[1]: [[PUBLIC_2]]})
    client = pinned_client(ALLOW_TEST_NAMES, resolver, backend, tls, max_redirects=MAX_REDIRECTS)
    # WHEN requested THEN the second hop was resolved, checked and connected to its own address
    assert client.get(f"https://{NAMES[0]}:{origin.port}/a").content == b"moved here"
    assert [host for host, _ in backend.connects] == [PUBLIC, PUBLIC_2]


@pytest.mark.parametrize(
    "location",
    [
        "https://attacker.example.com/x.mp4",  # outside the allowlist
        "https://169.254.169.254/latest/meta-data/",  # the metadata address
        "https://2852039166/latest/meta-data/",
        "https://0251.0376.0251.0376/latest/meta-data/",
        "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next",
        "http://videos.example.test/x.mp4",  # a downgrade to http
    ],
)
def test_a_redirect_to_a_refused_destination_is_refused(
    origin: Origin, tls: dict[str, Any], location: str
) -> None:
    origin.routes["/a"] = answer(302, headers={"location": location})
    backend = RoutingBackend({PUBLIC: origin.port})
    resolver = ScriptedResolver({NAMES[0]: [[PUBLIC]]})
    client = pinned_client(ALLOW_TEST_NAMES, resolver, backend, tls, max_redirects=MAX_REDIRECTS)
    with pytest.raises(OutputHostNotAllowed):
        client.get(f"https://{NAMES[0]}:{origin.port}/a")
    assert [host for host, _ in backend.connects] == [PUBLIC]


def test_a_redirect_to_an_allowed_name_that_resolves_to_a_private_address_is_refused(
    origin: Origin, tls: dict[str, Any]
) -> None:
    origin.routes["/a"] = answer(302, headers={"location": f"https://{NAMES[1]}:{origin.port}/b"})
    backend = RoutingBackend({PUBLIC: origin.port})
    resolver = ScriptedResolver({NAMES[0]: [[PUBLIC]], NAMES[1]: [["fd00:ec2::254"]]})
    client = pinned_client(ALLOW_TEST_NAMES, resolver, backend, tls, max_redirects=MAX_REDIRECTS)
    with pytest.raises(OutputHostNotAllowed, match="fd00:ec2::254"):
        client.get(f"https://{NAMES[0]}:{origin.port}/a")
    assert [host for host, _ in backend.connects] == [PUBLIC]


def test_redirects_are_bounded(origin: Origin, tls: dict[str, Any]) -> None:
    origin.routes["/loop"] = answer(302, headers={"location": f"https://{NAMES[0]}:{origin.port}/loop"})
    backend = RoutingBackend({PUBLIC: origin.port})
    client = pinned_client(
        ALLOW_TEST_NAMES, ScriptedResolver({NAMES[0]: [[PUBLIC]]}), backend, tls, max_redirects=MAX_REDIRECTS
    )
    with pytest.raises(httpx.TooManyRedirects):
        client.get(f"https://{NAMES[0]}:{origin.port}/loop")
    assert len(origin.requests) == MAX_REDIRECTS + 1


# --- The archive step: byte cap, timeout, refused destinations ----------------------------------------------


def stored(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket="videos").get("Contents", [])]


def local_archiver(s3: Any, max_bytes: int, **settings: Any) -> OutputArchiver:
    http = make_http_client(Settings(allow_loopback_http=True, **settings))
    return OutputArchiver(s3, http, bucket="videos", max_bytes=max_bytes)


@pytest.fixture
def plain_origin() -> Iterator[Origin]:
    server = Origin()
    yield server
    server.close()


def test_an_output_whose_content_length_passes_the_cap_is_too_large_and_never_read(
    s3: Any, plain_origin: Origin
) -> None:
    plain_origin.routes["/big.mp4"] = answer(200, b"v" * 4096, {"content-type": "video/mp4"})
    with pytest.raises(OutputTooLarge, match="4096 bytes"):
        local_archiver(s3, 1024).stream_to_s3(f"http://127.0.0.1:{plain_origin.port}/big.mp4", "outputs/j/0")
    assert stored(s3) == []


def test_a_streamed_output_without_content_length_stops_at_the_cap(s3: Any, plain_origin: Origin) -> None:
    def chunked(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("content-type", "video/mp4")
        handler.send_header("transfer-encoding", "chunked")
        handler.send_header("connection", "close")
        handler.end_headers()
        for _ in range(64):
            handler.wfile.write(b"400\r\n" + b"v" * 1024 + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")

    plain_origin.routes["/stream.mp4"] = chunked
    with pytest.raises(OutputTooLarge, match="EgressMaxBytes"):
        local_archiver(s3, 10 * 1024).stream_to_s3(
            f"http://127.0.0.1:{plain_origin.port}/stream.mp4", "outputs/j/0"
        )
    assert stored(s3) == []


def test_the_cap_counts_decoded_bytes_of_a_compressed_output(s3: Any, plain_origin: Origin) -> None:
    body = gzip.compress(b"\0" * 1024 * 1024)  # about 1 KiB on the wire, 1 MiB decoded
    plain_origin.routes["/bomb"] = answer(
        200, body, {"content-type": "video/mp4", "content-encoding": "gzip"}
    )
    with pytest.raises(OutputTooLarge):
        local_archiver(s3, 64 * 1024).stream_to_s3(
            f"http://127.0.0.1:{plain_origin.port}/bomb", "outputs/j/0"
        )
    assert stored(s3) == []


def test_an_output_under_the_cap_is_archived(s3: Any, plain_origin: Origin) -> None:
    plain_origin.routes["/ok.mp4"] = answer(200, b"v" * 1000, {"content-type": "video/mp4"})
    obj = local_archiver(s3, 1000).stream_to_s3(f"http://127.0.0.1:{plain_origin.port}/ok.mp4", "outputs/j/0")
    assert obj.bytes == 1000 and stored(s3) == ["outputs/j/0.mp4"]


def test_a_server_that_stops_answering_times_out_as_a_download_failure(s3: Any, plain_origin: Origin) -> None:
    release = threading.Event()

    def stall(handler: BaseHTTPRequestHandler) -> None:
        release.wait(10)

    plain_origin.routes["/stall.mp4"] = stall
    started = time.monotonic()
    try:
        with pytest.raises(OutputDownloadFailed, match="ReadTimeout"):
            local_archiver(s3, 1024, egress_timeout_seconds=0.5).stream_to_s3(
                f"http://127.0.0.1:{plain_origin.port}/stall.mp4", "outputs/j/0"
            )
    finally:
        release.set()
    assert time.monotonic() - started < 5
    assert stored(s3) == []


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://0251.0376.0251.0376/latest/meta-data/",  # a URL httpx refuses to parse
        "https://[::ffff:169.254.169.254]/latest/meta-data/",
    ],
)
def test_the_archive_client_refuses_a_redirect_to_the_metadata_address(
    s3: Any, plain_origin: Origin, location: str
) -> None:
    plain_origin.routes["/r.mp4"] = answer(302, headers={"location": location})
    with pytest.raises(OutputHostNotAllowed):
        local_archiver(s3, 1024).stream_to_s3(f"http://127.0.0.1:{plain_origin.port}/r.mp4", "outputs/j/0")
    assert stored(s3) == []


# --- Webhook delivery ---------------------------------------------------------------------------------------


def test_webhook_delivery_is_pinned_a_rebinding_receiver_is_an_invalid_url(
    origin: Origin, tls: dict[str, Any]
) -> None:
    # GIVEN a webhook host whose DNS answers public, then the metadata address
    origin.routes["/hooks"] = answer(204)
    policy = webhook_policy(Settings())
    resolver = ScriptedResolver({NAMES[0]: [[PUBLIC], [METADATA]]})
    backend = RoutingBackend({PUBLIC: origin.port})
    sender = WebhookSender(
        egress_client(policy, timeout=5, resolver=resolver, backend=backend, verify=tls["client"]),
        secret=lambda: "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        policy=policy,
        sleep=lambda s: None,
    )
    notifier = Notifier(sender, load_view=lambda job_id: {"job_id": job_id})
    url = f"https://{NAMES[0]}:{origin.port}/hooks"
    request = {"webhook_url": url}
    # WHEN two jobs end THEN the first is delivered to the public address
    first = notifier.notify(job_id="j1", status="SUCCEEDED", request=request, fallback={})
    assert first.outcome == "delivered"
    # AND the second, resolved to the metadata address, is refused without a connection
    second = notifier.notify(job_id="j2", status="SUCCEEDED", request=request, fallback={})
    assert second.outcome == "invalid_url"
    assert [host for host, _ in backend.connects] == [PUBLIC]


def test_webhook_redirects_are_not_followed(origin: Origin, tls: dict[str, Any]) -> None:
    origin.routes["/hooks"] = answer(307, headers={"location": "https://169.254.169.254/"})
    policy = webhook_policy(Settings())
    client = egress_client(
        policy,
        timeout=5,
        resolver=ScriptedResolver({NAMES[0]: [[PUBLIC]]}),
        backend=RoutingBackend({PUBLIC: origin.port}),
        verify=tls["client"],
    )
    sender = WebhookSender(
        client, secret=lambda: "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", policy=policy
    )
    outcome = Notifier(sender, load_view=lambda job_id: None).notify(
        job_id="j",
        status="FAILED",
        request={"webhook_url": f"https://{NAMES[0]}:{origin.port}/hooks"},
        fallback={},
    )
    assert outcome.outcome == "rejected" and outcome.detail.endswith("HTTP 307; not retried")
    assert len(origin.requests) == 1


def test_a_refused_webhook_url_is_reported_before_any_attempt() -> None:
    sender = WebhookSender(
        httpx.Client(transport=httpx.MockTransport(lambda r: pytest.fail("no request expected"))),
        secret=lambda: "unused",
        policy=webhook_policy(Settings()),
    )
    with pytest.raises(InvalidWebhookUrl):
        sender.deliver("https://0xA9FEA9FE/hooks", message_for("j", "FAILED", {}))


# --- The template and the state machine ---------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
EGRESS_VARIABLES = {
    "OUTPUT_HOST_ALLOWLIST": "OutputHostAllowlist",
    "WEBHOOK_HOST_ALLOWLIST": "WebhookHostAllowlist",
    "ALLOW_LOOPBACK_HTTP": "AllowLoopbackHttp",
    "EGRESS_MAX_BYTES": "EgressMaxBytes",
    "EGRESS_TIMEOUT_SECONDS": "EgressTimeoutSeconds",
}


def test_a_deployed_stack_gets_runways_host_https_only_and_no_loopback() -> None:
    # GIVEN the template's parameters and Globals, with every parameter at its default
    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for variable, parameter in EGRESS_VARIABLES.items():
        assert variables[variable] == {"Ref": parameter}
    assert template["Parameters"]["AllowLoopbackHttp"]["Default"] == "false"
    env = function_environment("ArchiveFunction", {}, None)
    # THEN the archive function's settings allow Runway's output host only, and no loopback
    settings = Settings.from_env(env)
    assert settings.output_host_allowlist == ("dnznrvs05pmza.cloudfront.net",)
    assert settings.allow_loopback_http is False
    assert (settings.egress_max_bytes, settings.egress_timeout_seconds) == (5 * 1024**3, 30)
    with pytest.raises(OutputHostNotAllowed):
        output_policy(settings).check_url("http://127.0.0.1:9001/2018-06-01/runtime/invocation/next")
    # AND a local stack (local.stack.LOCAL_PARAMETERS) turns loopback on through the same parameter
    local = Settings.from_env(function_environment("ArchiveFunction", {}, LOCAL_PARAMETERS))
    assert local.allow_loopback_http is True


def test_a_refused_or_too_large_output_fails_the_job_at_once_and_a_timeout_is_retried_a_bounded_number() -> (
    None
):
    # GIVEN the deployed state machine's archive step
    asl = json.loads((ROOT / "statemachine" / "generate_video.asl.json").read_text())
    archive = asl["States"]["Archive outputs to S3"]
    retried = {name: r["MaxAttempts"] for r in archive["Retry"] for name in r["ErrorEquals"]}
    # THEN OutputHostNotAllowed and OutputTooLarge are never retried (no retrier names them or States.ALL)
    assert not {"OutputHostNotAllowed", "OutputTooLarge", "States.ALL", "States.TaskFailed"} & set(retried)
    # AND they are caught by name into the failure path, with the error kept for the record
    caught = next(c for c in archive["Catch"] if "OutputHostNotAllowed" in c["ErrorEquals"])
    assert "OutputTooLarge" in caught["ErrorEquals"]
    assert caught["Next"] == "The job failed" and caught["ResultPath"] == "$.error"
    # AND a timeout (OutputDownloadFailed) is retried a bounded number of times
    assert 0 < retried["OutputDownloadFailed"] <= 10
