"""Where the pipeline may send a request: the one rule for archive downloads and webhook deliveries.

A URL is allowed when:

- its scheme is ``https`` (plain ``http`` only to loopback, below), it carries no user name or password;
- its host is a DNS name (letters, digits, ``-``, ``_``; a trailing dot is ignored) or an IP literal; a host
  whose last label is a number must be an IPv4 address written as four decimal parts (``2852039166``,
  ``0xA9FEA9FE``, ``0251.0376.0251.0376`` and ``127.1`` are refused: the socket layer would read them as
  169.254.169.254 or 127.0.0.1);
- an IP literal, and every address a name resolves to, is public (:func:`videogen.egress.addresses.refusal`:
  no loopback, private, link-local, multicast, reserved, unspecified or IPv4-carrying IPv6 address), and
  ``localhost`` / ``*.localhost`` are loopback names;
- the host matches the allowlist when there is one: ``host`` matches itself only, ``.example.com`` and
  ``*.example.com`` match ``example.com`` and every name under it; ``*`` alone allows any public host. An
  allowlist never lets a private address through.

``allow_loopback_http`` (the ``AllowLoopbackHttp`` template parameter, only for local stacks) lets a URL whose
host is loopback (``127.0.0.0/8``, ``::1``, ``localhost``) through over http or https, whatever the allowlist,
provided every address it resolves to is loopback too.

:meth:`EgressPolicy.check_url` applies the rules that need no DNS (intake, the archive step before it
downloads anything, every request and redirect hop); :meth:`EgressPolicy.addresses` resolves a host once and
returns the checked addresses, the only ones :mod:`videogen.egress.transport` connects to.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from videogen.core.errors import InvalidWebhookUrl, OutputHostNotAllowed, VideoGenError
from videogen.core.settings import RUNWAY_OUTPUT_HOSTS, Settings
from videogen.egress.addresses import IPAddress, ip_literal, is_loopback, looks_numeric, refusal

if TYPE_CHECKING:
    import httpx

#: ``resolver(host) -> addresses``: the DNS answer for a host name (tests inject one).
Resolver = Callable[[str], list[str]]

ANY_HOST = "*"
_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,62})(?:\.[a-z0-9_](?:[a-z0-9_-]{0,62}))*")
MAX_URL_CHARS = 2048


def system_resolver(host: str) -> list[str]:
    """Every address ``getaddrinfo`` gives for ``host`` (TCP), in its order, each once."""
    infos = socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def host_matches(host: str, pattern: str) -> bool:
    """Does ``host`` match one allowlist entry (module docstring)?"""
    host, pattern = host.lower().rstrip("."), pattern.strip().lower().rstrip(".")
    if pattern == ANY_HOST:
        return True
    if pattern.startswith("*."):
        pattern = pattern[1:]
    if pattern.startswith("."):
        return host == pattern[1:] or host.endswith(pattern)
    return host == pattern


def _loopback_name(name: str) -> bool:
    return name == "localhost" or name.endswith(".localhost")


@dataclass(frozen=True)
class EgressPolicy:
    """One destination rule (module docstring). ``refused`` is the error it raises, named for the caller:
    ``OutputHostNotAllowed`` for the archive step, ``InvalidWebhookUrl`` for webhooks."""

    allowlist: tuple[str, ...] = ()
    allow_loopback_http: bool = False
    refused: type[VideoGenError] = OutputHostNotAllowed
    subject: str = "URL"
    allowlist_name: str = "the host allowlist"

    def _refuse(self, why: str) -> VideoGenError:
        return self.refused(f"{self.subject} {why}")

    def check_url(self, url: str | httpx.URL) -> httpx.URL:
        """The parsed URL if it may be requested (every rule but DNS); raises ``refused`` otherwise."""
        # Imported here: the API and the S3 trigger check webhook URLs but send nothing, and load no httpx
        # at cold start (httpx parses the URL, so the check reads it as the sender will).
        import httpx  # noqa: PLC0415

        if isinstance(url, str) and len(url) > MAX_URL_CHARS:
            raise self._refuse(f"is longer than {MAX_URL_CHARS} characters")
        try:
            parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise self._refuse(f"is not a valid URL ({exc})") from None
        scheme, host = parsed.scheme.lower(), parsed.host.lower()
        if not host or scheme not in ("http", "https"):
            raise self._refuse(f"must be an https:// URL with a host, not {scheme or 'a relative'} URL")
        if parsed.userinfo:
            raise self._refuse("must not contain a user name or password")
        if self._loopback_allowed(host):
            return parsed
        if scheme != "https":
            raise self._refuse(f"must use https, not {scheme} (host {host})")
        self._check_host(host)
        return parsed

    def _check_host(self, host: str) -> None:
        name = host.rstrip(".")
        literal = ip_literal(host)
        if literal is not None:
            reason = refusal(literal)
            if reason is not None:
                raise self._refuse(f"points at a non-public address: {host} is {literal}; {reason}")
            if isinstance(literal, ipaddress.IPv4Address) and name != str(literal):
                raise self._refuse(f"writes the IPv4 address {literal} as {host}; use four decimal parts")
        elif looks_numeric(name):
            raise self._refuse(f"has an invalid numeric host {host}")
        elif _loopback_name(name):
            raise self._refuse(f"points at the loopback name {host}")
        elif not _NAME.fullmatch(name):
            raise self._refuse(f"has an invalid host name {host!r}")
        if self.allowlist and not any(host_matches(name, p) for p in self.allowlist):
            raise self._refuse(f"host {name} is not in {self.allowlist_name} ({', '.join(self.allowlist)})")

    def _loopback_allowed(self, host: str) -> bool:
        if not self.allow_loopback_http:
            return False
        literal = ip_literal(host)
        return is_loopback(literal) if literal is not None else _loopback_name(host.rstrip("."))

    def addresses(self, host: str, resolver: Resolver = system_resolver) -> list[str]:
        """The addresses to connect to for ``host``: resolved once, every one checked.

        Raises ``refused`` if any address is not allowed; OSError if the name does not resolve.
        """
        literal = ip_literal(host)
        if literal is not None:
            found: list[IPAddress] = [literal]
        else:
            found = [ipaddress.ip_address(a.split("%", 1)[0]) for a in resolver(host.rstrip("."))]
            if not found:
                raise OSError(f"{host} resolves to no address")
        if self._loopback_allowed(host) and all(is_loopback(a) for a in found):
            return [str(a) for a in found]
        for address in found:
            reason = refusal(address)
            if reason is not None:
                raise self._refuse(f"host {host} resolves to a non-public address: {reason}")
        return [str(a) for a in found]


def _hosts(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(v.strip().lower() for v in values if v.strip())


def output_policy(settings: Settings) -> EgressPolicy:
    """Archive downloads: ``OUTPUT_HOST_ALLOWLIST`` (never empty: Runway's output hosts by default)."""
    return EgressPolicy(
        allowlist=_hosts(settings.output_host_allowlist) or RUNWAY_OUTPUT_HOSTS,
        allow_loopback_http=settings.allow_loopback_http,
        refused=OutputHostNotAllowed,
        subject="output URL",
        allowlist_name="OutputHostAllowlist",
    )


def webhook_policy(settings: Settings) -> EgressPolicy:
    """Webhook deliveries: any public https host unless ``WEBHOOK_HOST_ALLOWLIST`` names some."""
    return EgressPolicy(
        allowlist=_hosts(settings.webhook_host_allowlist),
        allow_loopback_http=settings.allow_loopback_http,
        refused=InvalidWebhookUrl,
        subject="webhook URL",
        allowlist_name="WebhookHostAllowlist",
    )
