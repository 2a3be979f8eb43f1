"""HTTP clients that connect only to the addresses the policy checked (no second DNS lookup).

The gap this closes: checking a host's addresses and then letting the HTTP client resolve the name again on
connect lets a DNS answer change in between (DNS rebinding: public for the check, 169.254.169.254 for the
connection). Here the connection layer itself resolves once, checks every address
(:meth:`EgressPolicy.addresses`) and opens the TCP connection to a checked address. The request keeps its
URL, so the ``Host`` header, TLS SNI and certificate verification all use the host name.

Every request, each redirect hop included, is checked first (:meth:`EgressPolicy.check_url`; a redirect's
Location as soon as it arrives, so one httpx cannot parse is refused too); redirects are followed up to
``max_redirects`` (0: not at all). Proxy environment variables are ignored (a proxy would
resolve the name itself).
"""

from __future__ import annotations

import typing

import httpcore
import httpx

from videogen.egress.policy import EgressPolicy, Resolver, system_resolver

#: Connections kept per client: a few outputs download in parallel at most.
LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)


class PinnedBackend(httpcore.NetworkBackend):
    """A network backend whose ``connect_tcp(host)`` resolves ``host`` once through the policy and connects
    to the checked addresses only, in the resolver's order."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        resolver: Resolver = system_resolver,
        backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._backend = backend or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._policy.addresses(host, self._resolver)
        except OSError as exc:  # the name does not resolve (now): a connection failure, like any other
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        *others, final = addresses
        for address in others:
            try:
                return self._backend.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
        return self._backend.connect_tcp(final, port, timeout, local_address, socket_options)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise self._policy.refused("unix sockets are never connected to")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class CheckedTransport(httpx.BaseTransport):
    """Checks every request's URL against the policy, then hands it to ``inner`` (tests: a mock)."""

    def __init__(self, policy: EgressPolicy, inner: httpx.BaseTransport) -> None:
        self._policy = policy
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._policy.check_url(request.url)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class PinnedTransport(httpx.HTTPTransport):
    """httpx's own transport over a connection pool whose network backend is a :class:`PinnedBackend`."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        resolver: Resolver = system_resolver,
        backend: httpcore.NetworkBackend | None = None,
        verify: typing.Any = True,
    ) -> None:
        super().__init__(verify=verify, trust_env=False, limits=LIMITS)
        self._policy = policy
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=LIMITS.max_connections,
            max_keepalive_connections=LIMITS.max_keepalive_connections,
            keepalive_expiry=LIMITS.keepalive_expiry,
            network_backend=PinnedBackend(policy, resolver=resolver, backend=backend),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._policy.check_url(request.url)
        return super().handle_request(request)


def egress_client(
    policy: EgressPolicy,
    *,
    timeout: float,
    max_redirects: int = 0,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver = system_resolver,
    backend: httpcore.NetworkBackend | None = None,
    verify: typing.Any = True,
) -> httpx.Client:
    """An httpx client for ``policy``: pinned connections, ``timeout`` seconds to connect and for each read
    or write, redirects up to ``max_redirects``. ``transport`` replaces the network (tests); the policy still
    checks every request."""
    chosen: httpx.BaseTransport = (
        CheckedTransport(policy, transport)
        if transport is not None
        else PinnedTransport(policy, resolver=resolver, backend=backend, verify=verify)
    )

    def check_redirect(response: httpx.Response) -> None:
        # Before httpx builds the next request: a Location it cannot parse is refused too, not retried.
        if response.has_redirect_location:
            try:
                target = response.request.url.join(response.headers["location"])
            except httpx.InvalidURL as exc:
                raise policy.refused(f"redirect to an invalid URL: {exc}") from None
            policy.check_url(target)

    return httpx.Client(
        transport=chosen,
        timeout=httpx.Timeout(timeout),
        follow_redirects=max_redirects > 0,
        max_redirects=max(max_redirects, 0),
        trust_env=False,
        headers={"Accept": "*/*"},
        event_hooks={"response": [check_redirect]} if max_redirects > 0 else {},
    )
