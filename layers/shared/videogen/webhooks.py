"""Webhook notifications, signed the Standard Webhooks way (https://www.standardwebhooks.com).

Each delivery is a POST of ``{"type", "timestamp", "data": <job view>}`` with three headers:

- ``webhook-id``: the same for every retry of a message (``<job id>.<status>``), for de-duplication;
- ``webhook-timestamp``: Unix seconds of this attempt;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with the secret's
  bytes (the secret is ``whsec_<base64>``, as the Standard Webhooks libraries expect).

Only ``https://`` URLs to public addresses are called; ``http://`` is allowed for loopback hosts in local runs
(``WEBHOOK_ALLOW_HTTP_LOOPBACK=true``). Retries: connection errors, 408, 425, 429 and 5xx, with exponential
backoff inside one invocation; after the last attempt ``WebhookDeliveryFailed`` is raised so Lambda's
asynchronous retries take over. Other 4xx answers are final (``WebhookRejected``): retrying cannot help.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

SECRET_PREFIX = "whsec_"  # noqa: S105 - a format prefix, not a secret
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
MAX_RETRY_AFTER_SECONDS = 10.0
USER_AGENT = "runway-video-pipeline-webhooks/1"
EVENT_TYPES = {
    "SUCCEEDED": "video.generation.succeeded",
    "FAILED": "video.generation.failed",
    "CANCELLED": "video.generation.cancelled",
    "TIMED_OUT": "video.generation.timed_out",
    "REJECTED": "video.generation.rejected",
}


class WebhookError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidWebhookUrl(WebhookError):
    """The URL is not one the pipeline will call (scheme, host or resolved address)."""


class InvalidWebhookSecret(WebhookError):
    """The signing secret is not ``whsec_<base64>``."""


class WebhookRejected(WebhookError):
    """The receiver answered a 4xx that a retry cannot change (final, not retried)."""


class WebhookDeliveryFailed(WebhookError):
    """Every attempt failed with a retryable error; raised so the Lambda's async retries try again later."""


# --- Signing ------------------------------------------------------------------------------------------------


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


# --- Which URLs may be called -------------------------------------------------------------------------------


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


# --- Delivery -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookMessage:
    msg_id: str
    event_type: str
    data: Mapping[str, Any]

    def body(self, timestamp: int) -> bytes:
        payload = {"type": self.event_type, "timestamp": _iso(timestamp), "data": dict(self.data)}
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")


@dataclass(frozen=True)
class DeliveryResult:
    delivered: bool
    attempts: int
    status_code: int | None


def _iso(timestamp: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


class WebhookSender:
    """Signs and POSTs messages with bounded retries. ``http`` is an httpx.Client (created once)."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        secret: Callable[[], str],
        max_attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        allow_http_loopback: bool = False,
        resolver: Callable[[str], list[str]] | None = None,
    ) -> None:
        self._http = http
        self._secret = secret
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep
        self._clock = clock
        self._allow_loopback = allow_http_loopback
        self._resolver = resolver

    def deliver(self, url: str, message: WebhookMessage) -> DeliveryResult:
        """POST ``message`` to ``url``. Raises InvalidWebhookUrl, WebhookRejected or WebhookDeliveryFailed."""
        check_webhook_url(url, allow_http_loopback=self._allow_loopback, resolver=self._resolver)
        secret = self._secret()
        last_problem = ""
        for attempt in range(1, self._max_attempts + 1):
            timestamp = int(self._clock())
            body = message.body(timestamp)
            headers = {
                "content-type": "application/json",
                "user-agent": USER_AGENT,
                "webhook-id": message.msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(message.msg_id, timestamp, body, secret),
            }
            retry_after: float | None = None
            try:
                response = self._http.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= response.status_code < 300:
                    return DeliveryResult(True, attempt, response.status_code)
                last_problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRYABLE_STATUSES:
                    raise WebhookRejected(f"{url} answered HTTP {response.status_code}; not retried")
                retry_after = _retry_after(response.headers.get("retry-after"))
            if attempt < self._max_attempts:
                self._sleep(self._delay(attempt, retry_after))
        raise WebhookDeliveryFailed(f"{url} failed {self._max_attempts} attempts; last: {last_problem}")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_SECONDS)
        cap = min(self._max_delay, self._base_delay * 2 ** (attempt - 1))
        return random.uniform(cap / 2, cap)  # noqa: S311 - jitter, not cryptography


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def message_for(job_id: str, status: str, data: Mapping[str, Any]) -> WebhookMessage:
    return WebhookMessage(
        msg_id=f"{job_id}.{status.lower()}",
        event_type=EVENT_TYPES.get(status, "video.generation." + status.lower()),
        data=data,
    )


# --- From a finished job to a delivery ----------------------------------------------------------------------


@dataclass(frozen=True)
class NotifyOutcome:
    job_id: str
    status: str
    outcome: str  # delivered | no_webhook | rejected | invalid_url
    attempts: int = 0
    status_code: int | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "status_code": self.status_code,
            "detail": self.detail,
        }


class Notifier:
    """Sends the job's view to the request's ``webhook_url`` when a job ends.

    ``load_view(job_id)`` returns the job as ``GET /generations/{id}`` shows it (None if there is no record:
    the event's own fields are sent instead). A permanent refusal or a bad URL is reported, not raised: the
    job is over and nothing can change that; only transient failures raise (WebhookDeliveryFailed).
    """

    def __init__(
        self, sender: WebhookSender, *, load_view: Callable[[str], Mapping[str, Any] | None]
    ) -> None:
        self._sender = sender
        self._load_view = load_view

    def notify(
        self, *, job_id: str, status: str, request: Mapping[str, Any] | None, fallback: Mapping[str, Any]
    ) -> NotifyOutcome:
        url = (request or {}).get("webhook_url")
        if not url:
            return NotifyOutcome(job_id, status, "no_webhook")
        view = self._load_view(job_id) or dict(fallback)
        message = message_for(job_id, status, view)
        try:
            result = self._sender.deliver(str(url), message)
        except InvalidWebhookUrl as exc:
            return NotifyOutcome(job_id, status, "invalid_url", detail=exc.message)
        except WebhookRejected as exc:
            return NotifyOutcome(job_id, status, "rejected", attempts=1, detail=exc.message)
        return NotifyOutcome(job_id, status, "delivered", result.attempts, result.status_code)
