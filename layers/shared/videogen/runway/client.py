"""The Runway SDK client (created once, reused) and the one mapping of SDK errors to the pipeline's errors.

``RunwayClients`` hands out two views of one ``RunwayML`` client (one connection pool):

- ``for_create()``: ``max_retries=0``. A create call is never re-sent by the SDK: a hidden re-POST after a
  timeout or a 5xx could start a second billed task (Runway has no idempotency key).
- ``for_repeatable()``: calls that are safe to repeat (GET/DELETE tasks, uploads) with a small retry count
  and timeouts that fit the poll Lambda's 30 s.

The API key comes from Secrets Manager (``videogen.storage.secrets``: Powertools ``get_secret``, cached
``max_age`` seconds) when ``RUNWAY_SECRET_ARN`` is set, else from the SDK's own ``RUNWAYML_API_SECRET``. A
rotated key builds a new client on the next call. Every SDK call goes through
``videogen.runway.errors.runway_errors``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import runwayml

from videogen.core.errors import RunwayAuthError
from videogen.core.settings import Settings
from videogen.storage.secrets import read_secret, runway_api_key

READ_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
READ_MAX_RETRIES = 1
CREATE_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
UPLOAD_TIMEOUT = httpx.Timeout(90.0, connect=5.0)


class RunwayClients:
    """Thread-safe holder of the RunwayML client; rebuilds it only when the API key changes."""

    def __init__(
        self,
        settings: Settings,
        *,
        secret_fetcher: Callable[[str], str] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._settings = settings
        self._fetch_secret = secret_fetcher or read_secret
        self._http_client = http_client
        self._lock = threading.Lock()
        self._key: str | None = None
        self._repeatable: runwayml.RunwayML | None = None
        self._create: runwayml.RunwayML | None = None

    def api_key(self) -> str:
        """The key (``videogen.storage.secrets.runway_api_key``): RunwayUnavailable or RunwayAuthError."""
        return runway_api_key(self._settings, self._fetch_secret)

    def _clients(self) -> tuple[runwayml.RunwayML, runwayml.RunwayML]:
        key = self.api_key()
        with self._lock:
            if self._repeatable is None or self._create is None or key != self._key:
                try:
                    base = runwayml.RunwayML(
                        api_key=key,
                        base_url=self._settings.runway_base_url,
                        timeout=READ_TIMEOUT,
                        max_retries=READ_MAX_RETRIES,
                        http_client=self._http_client,
                    )
                except runwayml.RunwayMLError as exc:
                    raise RunwayAuthError(f"cannot build the Runway client: {exc}") from exc
                self._repeatable = base
                self._create = base.with_options(max_retries=0, timeout=CREATE_TIMEOUT)
                self._key = key
            return self._repeatable, self._create

    def for_repeatable(self) -> runwayml.RunwayML:
        """Client for calls that are safe to repeat: retrieve, delete, uploads (small retry count)."""
        return self._clients()[0]

    def for_create(self) -> runwayml.RunwayML:
        """Client for task creation: the SDK never retries (``max_retries=0``)."""
        return self._clients()[1]
