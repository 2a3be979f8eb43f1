"""Which IP addresses the pipeline may connect to, and host text read the way the socket layer reads it.

``getaddrinfo`` (and so every HTTP client) takes a numeric host with ``inet_aton`` semantics: one to four
parts, each decimal, octal (leading ``0``) or hex (``0x``), the last part filling the remaining bytes. So
``2852039166``, ``0xA9FEA9FE``, ``0251.0376.0251.0376`` and ``169.254.43518`` are all 169.254.169.254, and
``127.1`` is 127.0.0.1. :func:`ipv4_literal` parses exactly that; :func:`ip_literal` adds IPv6 (zone ids
dropped).

An address is *public* only if it is global unicast and none of loopback, private, link-local, multicast,
reserved, unspecified, site-local or shared (100.64/10); an IPv6 address carrying an IPv4 one
(IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``)
is judged by the IPv4 address it carries, and the local-use NAT64 prefix ``64:ff9b:1::/48`` and Teredo
``2001::/32`` are refused outright.
"""

from __future__ import annotations

import ipaddress
import re
import socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_HEX = re.compile(r"0x[0-9a-f]*")
_OCTAL = re.compile(r"0[0-7]*")
_DECIMAL = re.compile(r"[1-9][0-9]*")
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


def _part(text: str) -> int | None:
    """One inet_aton part: ``0x`` hex, leading-zero octal or decimal; None if it is none of them."""
    if _HEX.fullmatch(text):
        return int(text[2:] or "0", 16)
    if _OCTAL.fullmatch(text):
        return int(text, 8)
    if _DECIMAL.fullmatch(text):
        return int(text)
    return None


def ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address ``host`` names in any inet_aton notation (a trailing dot allowed), else None."""
    text = host.lower()
    if text.endswith("."):
        text = text[:-1]
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = [_part(p) for p in parts]
    if any(v is None for v in values):
        return None
    numbers = [v for v in values if v is not None]
    *head, last = numbers
    if any(v > 0xFF for v in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = 0
    for v in head:
        value = value << 8 | v
    value = value << 8 * (5 - len(numbers)) | last
    return ipaddress.IPv4Address(value)


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` names if it is an IP literal in any notation the socket layer takes, else None.

    IPv6 may come with brackets and a zone id (``fe80::1%eth0``, ``fe80::1%25eth0``). The C library's own
    ``inet_aton`` is asked too, so a notation this parser missed still counts as a literal.
    """
    text = host.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            return None
    parsed = ipv4_literal(text)
    if parsed is not None:
        return parsed
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except (OSError, ValueError):
        return None


def looks_numeric(host: str) -> bool:
    """True when the last label of ``host`` is a number: such a host is an IPv4 literal or invalid, never a
    DNS name (the URL standard's rule)."""
    labels = host.lower().rstrip(".").split(".")
    return bool(_NUMERIC_LABEL.fullmatch(labels[-1]))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64), else None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    if ip in _NAT64 or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_loopback(ip: IPAddress) -> bool:
    """Loopback, directly or carried in an IPv6 address."""
    if ip.is_loopback:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        carried = embedded_ipv4(ip)
        if carried is not None:
            return carried.is_loopback
    return False


def refusal(ip: IPAddress) -> str | None:
    """Why the pipeline must not connect to ``ip`` (a short phrase), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL or ip in _TEREDO:
            return f"{ip} is a translated address"
        carried = embedded_ipv4(ip)
        if carried is not None:
            reason = refusal(carried)
            return f"{ip} carries {reason}" if reason else None
        if ip.is_site_local:
            return f"{ip} is site-local"
    checks = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "shared (carrier-grade NAT)"),
        (not ip.is_global, "not global"),
    )
    for hit, what in checks:
        if hit:
            return f"{ip} is {what}"
    return None
