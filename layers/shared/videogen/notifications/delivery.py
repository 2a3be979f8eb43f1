"""Webhook delivery: a finished job's view POSTed to the request's ``webhook_url``, signed (``signing``).

Each delivery is a POST of ``{"type", "timestamp", "data": <job view>}`` with three headers:

- ``webhook-id``: the same for every retry of a message (``<job id>.<status>``), for de-duplication;
- ``webhook-timestamp``: Unix seconds of this attempt;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with the secret's
  bytes (the secret is ``whsec_<base64>``, as the Standard Webhooks libraries expect).

Only URLs the webhook egress policy allows are called (``videogen.egress``: https to public addresses,
``WEBHOOK_HOST_ALLOWLIST`` when set; http to loopback only with ``ALLOW_LOOPBACK_HTTP`` in local stacks), over
a client that connects to the address it checked (``egress_client``); redirects are not followed and the
receiver's answer body is never read. Retries: connection errors, 408, 425, 429 and 5xx, with exponential
backoff inside one invocation; after the last attempt ``WebhookDeliveryFailed`` is raised so Lambda's
asynchronous retries take over. Other 4xx answers are final (``WebhookRejected``): retrying cannot help.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from videogen.core.errors import InvalidWebhookUrl, VideoGenError
from videogen.egress.policy import EgressPolicy
from videogen.notifications.signing import sign

RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 10.0
USER_AGENT = "runway-video-pipeline-webhooks/1"
EVENT_TYPES = {
    "SUCCEEDED": "video.generation.succeeded",
    "FAILED": "video.generation.failed",
    "CANCELLED": "video.generation.cancelled",
    "TIMED_OUT": "video.generation.timed_out",
    "REJECTED": "video.generation.rejected",
}


class WebhookRejected(VideoGenError):
    """The receiver answered a 4xx that a retry cannot change (final, not retried)."""


class WebhookDeliveryFailed(VideoGenError):
    """Every attempt failed with a retryable error; raised so the Lambda's async retries try again later."""


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
    """Signs and POSTs messages with bounded retries. ``http`` is an httpx.Client created once, normally
    ``egress_client(policy, ...)``: ``policy`` is checked before the first attempt too."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        secret: Callable[[], str],
        max_attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        unix_time: Callable[[], float] = time.time,
        policy: EgressPolicy,
    ) -> None:
        self._http = http
        self._secret = secret
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep
        # The receiver checks webhook-timestamp against its own wall clock: never a compressed or test clock.
        self._unix_time = unix_time
        self._policy = policy

    def deliver(self, url: str, message: WebhookMessage) -> DeliveryResult:
        """POST ``message`` to ``url``. Raises InvalidWebhookUrl, WebhookRejected or WebhookDeliveryFailed."""
        self._policy.check_url(url)
        secret = self._secret()
        last_problem = ""
        for attempt in range(1, self._max_attempts + 1):
            timestamp = int(self._unix_time())
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
                with self._http.stream("POST", url, content=body, headers=headers) as response:
                    status, retry_header = response.status_code, response.headers.get("retry-after")
            except httpx.HTTPError as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= status < 300:
                    return DeliveryResult(True, attempt, status)
                last_problem = f"HTTP {status}"
                if status not in RETRYABLE_STATUSES:
                    raise WebhookRejected(f"{url} answered HTTP {status}; not retried")
                retry_after = _retry_after(retry_header)
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
