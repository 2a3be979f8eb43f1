"""Which webhook URLs the pipeline calls: ``https://`` to public addresses only.

``http://`` is allowed for loopback hosts in local runs (``WEBHOOK_ALLOW_HTTP_LOOPBACK=true``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from videogen.core.errors import VideoGenError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class InvalidWebhookUrl(VideoGenError):
    """The URL is not one the pipeline will call (scheme, host or resolved address)."""


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def check_webhook_url(
    url: str,
    *,
    allow_http_loopback: bool = False,
    resolve: bool = True,
    resolver: Callable[[str], list[str]] | None = None,
) -> None:
    """Raise InvalidWebhookUrl unless ``url`` may receive notifications.

    https:// only, with a host; with ``resolve`` every address the host resolves to must be public (no
    private, loopback, link-local or metadata addresses). Loopback is accepted only with
    ``allow_http_loopback`` (local runs), over http or https.
    """
    if not isinstance(url, str) or len(url) > 2048:
        raise InvalidWebhookUrl("must be a URL of at most 2048 characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if not host:
        raise InvalidWebhookUrl(f"{url!r} names no host")
    if parts.username or parts.password:
        raise InvalidWebhookUrl("must not contain credentials; authenticate with the webhook signature")
    loopback = _is_loopback(host)
    if loopback and allow_http_loopback and scheme in ("http", "https"):
        return
    if scheme != "https":
        raise InvalidWebhookUrl(f"must be an https:// URL, not {scheme or 'a relative'} URL")
    if loopback:
        raise InvalidWebhookUrl("must not point at a loopback address")
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None and not _public(str(literal)):
        raise InvalidWebhookUrl(f"must not point at a private or reserved address ({host})")
    if not resolve or literal is not None:
        return
    lookup = resolver or _resolve
    try:
        addresses = lookup(host)
    except OSError:
        raise InvalidWebhookUrl(f"its host {host} does not resolve") from None
    if not addresses or not all(_public(a) for a in addresses):
        raise InvalidWebhookUrl(f"its host {host} resolves to a private or reserved address")


def _resolve(host: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)})
