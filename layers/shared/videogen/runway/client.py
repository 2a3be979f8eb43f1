"""The Runway SDK client (created once, reused) and the one mapping of SDK errors to the pipeline's errors.

``RunwayClients`` hands out two views of one ``RunwayML`` client (one connection pool):

- ``for_create()``: ``max_retries=0``. A create call is never re-sent by the SDK: a hidden re-POST after a
  timeout or a 5xx could start a second billed task (Runway has no idempotency key).
- ``for_repeatable()``: calls that are safe to repeat (GET/DELETE tasks, uploads) with a small retry count
  and timeouts that fit the poll Lambda's 30 s.

The API key comes from Secrets Manager (Powertools ``get_secret``, cached ``max_age`` seconds) when
``RUNWAY_SECRET_ARN`` is set, else from the SDK's own ``RUNWAYML_API_SECRET``. A rotated key builds a new
client on the next call. Every SDK call goes through ``videogen.runway.errors.runway_errors``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable

import botocore.exceptions
import httpx
import runwayml
from aws_lambda_powertools.utilities import parameters

from videogen.core.errors import RunwayAuthError, RunwayUnavailable, VideoGenError, exception_chain
from videogen.core.settings import Settings

SECRET_MAX_AGE_SECONDS = 300
READ_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
READ_MAX_RETRIES = 1
CREATE_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
UPLOAD_TIMEOUT = httpx.Timeout(90.0, connect=5.0)

#: Secrets Manager error codes that a later call can get past.
_TRANSIENT_SECRET_CODES = frozenset(
    {"ThrottlingException", "Throttling", "InternalServiceError", "InternalFailure", "ServiceUnavailable"}
)


def _default_secret_fetcher(arn: str) -> str:
    return str(parameters.get_secret(arn, max_age=SECRET_MAX_AGE_SECONDS))


def _key_from_secret(raw: str, arn: str) -> str:
    """The key inside a secret: a plain string, or JSON with ``api_key``/``RUNWAYML_API_SECRET``."""
    value = raw.strip()
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for name in ("api_key", "apiKey", "RUNWAYML_API_SECRET", "runway_api_key"):
                if isinstance(data.get(name), str):
                    value = data[name].strip()
                    break
    if not value:
        raise RunwayAuthError(f"the Runway API key secret {arn} is empty: put your Runway API key in it")
    return value


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
        self._fetch_secret = secret_fetcher or _default_secret_fetcher
        self._http_client = http_client
        self._lock = threading.Lock()
        self._key: str | None = None
        self._repeatable: runwayml.RunwayML | None = None
        self._create: runwayml.RunwayML | None = None

    def api_key(self) -> str:
        arn = self._settings.runway_secret_arn
        if arn:
            try:
                return _key_from_secret(self._fetch_secret(arn), arn)
            except VideoGenError:
                raise
            except Exception as exc:  # Powertools GetParameterError (wrapping botocore's), classified by type
                if secret_read_is_transient(exc):
                    raise RunwayUnavailable(f"Secrets Manager is unavailable: {exc}") from exc
                raise RunwayAuthError(
                    f"cannot read the Runway API key from secret {arn}: {exc}. "
                    "Check that the secret exists, has a value and that the function may read it."
                ) from exc
        key = os.environ.get("RUNWAYML_API_SECRET", "").strip()
        if not key:
            raise RunwayAuthError("no Runway API key: set RUNWAY_SECRET_ARN or RUNWAYML_API_SECRET")
        return key

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


def secret_read_is_transient(exc: BaseException) -> bool:
    """True when reading the secret failed for a reason a retry can get past (timeout, connection,
    throttling, a Secrets Manager 5xx), judged from the exception types in the chain, never from text."""
    for cause in exception_chain(exc):
        if isinstance(cause, botocore.exceptions.HTTPClientError | botocore.exceptions.ConnectionError):
            return True
        if isinstance(cause, botocore.exceptions.ClientError):
            return cause.response.get("Error", {}).get("Code") in _TRANSIENT_SECRET_CODES
    return False
