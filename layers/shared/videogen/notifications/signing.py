"""Webhook signatures, the Standard Webhooks way (https://www.standardwebhooks.com).

``webhook-signature`` is ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with the secret's
bytes (the secret is ``whsec_<base64>``, as the Standard Webhooks libraries expect).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from videogen.core.errors import VideoGenError

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret


class InvalidWebhookSecret(VideoGenError):
    """The signing secret is not ``whsec_<base64>``."""


def secret_bytes(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the prefix is optional)."""
    value = secret.strip()
    value = value.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidWebhookSecret("the webhook secret must be whsec_ followed by base64") from None
    if len(key) < 16:
        raise InvalidWebhookSecret("the webhook secret is too short (at least 16 bytes once decoded)")
    return key


def sign(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    """``v1,<base64 signature>`` of one message."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> bool:
    """What a receiver does: check the timestamp window, compare every ``v1`` signature in constant time."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp, signatures = (
        lowered.get(h, "") for h in ("webhook-id", "webhook-timestamp", "webhook-signature")
    )
    try:
        timestamp = int(stamp)
    except ValueError:
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_seconds:
        return False
    expected = sign(msg_id, timestamp, body, secret).split(",", 1)[1]
    return any(
        version == "v1" and hmac.compare_digest(value, expected)
        for version, _, value in (part.partition(",") for part in signatures.split())
    )
