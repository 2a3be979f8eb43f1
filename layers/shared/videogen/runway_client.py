"""The Runway SDK client (created once, reused) and the one mapping of SDK errors to the pipeline's errors.

``RunwayClients`` hands out two views of one ``RunwayML`` client (one connection pool):

- ``for_create()``: ``max_retries=0``. A create call is never re-sent by the SDK: a hidden re-POST after a
  timeout or a 5xx could start a second billed task (Runway has no idempotency key).
- ``for_reads()``: GET/DELETE/uploads with a small retry count and timeouts that fit the poll Lambda's 30 s.

The API key comes from Secrets Manager (Powertools ``get_secret``, cached ``max_age`` seconds) when
``RUNWAY_SECRET_ARN`` is set, else from the SDK's own ``RUNWAYML_API_SECRET``. A rotated key builds a new
client on the next call. Every SDK call goes through :func:`runway_errors`, which turns SDK exceptions into
the named errors of ``videogen.errors`` that the state machine's Retry/Catch match.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import httpx
import runwayml
from aws_lambda_powertools.utilities import parameters

from videogen.errors import (
    InsufficientCredits,
    RunwayAuthError,
    RunwayRateLimited,
    RunwayRejected,
    RunwayUnavailable,
    SubmitOutcomeUnknown,
    TaskNotFound,
    VideoGenError,
)
from videogen.settings import Settings

Operation = Literal["create", "retrieve", "delete", "upload"]

SECRET_MAX_AGE_SECONDS = 300
READ_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
READ_MAX_RETRIES = 1
CREATE_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
UPLOAD_TIMEOUT = httpx.Timeout(90.0, connect=5.0)

_TRANSIENT_SECRET_ERRORS = ("Throttling", "InternalServiceError", "Could not connect", "timed out")
_CREDIT_WORDS = ("not enough credits", "insufficient credits", "enough credits", "credit balance")


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
        self._reads: runwayml.RunwayML | None = None
        self._create: runwayml.RunwayML | None = None

    def api_key(self) -> str:
        arn = self._settings.runway_secret_arn
        if arn:
            try:
                return _key_from_secret(self._fetch_secret(arn), arn)
            except VideoGenError:
                raise
            except Exception as exc:  # Powertools GetParameterError / botocore errors, mapped explicitly
                if any(word in str(exc) for word in _TRANSIENT_SECRET_ERRORS):
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
            if self._reads is None or self._create is None or key != self._key:
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
                self._reads = base
                self._create = base.with_options(max_retries=0, timeout=CREATE_TIMEOUT)
                self._key = key
            return self._reads, self._create

    def for_reads(self) -> runwayml.RunwayML:
        """Client for GET/DELETE and uploads (small retry count, short timeouts)."""
        return self._clients()[0]

    def for_create(self) -> runwayml.RunwayML:
        """Client for task creation: the SDK never retries (``max_retries=0``)."""
        return self._clients()[1]


# --- error mapping ---------------------------------------------------------------------------------------


def runway_error_message(exc: runwayml.APIError) -> str:
    """Runway's own ``error`` text when the body has one, else the SDK message."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, str) and error:
            return error
        if error is not None:
            return json.dumps(error)
        return json.dumps(body)
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return exc.message


def _never_connected(exc: BaseException) -> bool:
    """True when the request cannot have reached Runway (DNS or TCP connect failure, connect timeout)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout):
            return True
        cause = cause.__cause__ or cause.__context__
        if cause is exc:
            break
    return False


def map_runway_error(exc: Exception, operation: Operation) -> Exception:  # noqa: PLR0911
    """The named pipeline error for an SDK exception raised by ``operation`` (the caller chains the original).

    - 401/403 -> RunwayAuthError; 429 -> RunwayRateLimited; 5xx, 408 -> RunwayUnavailable
    - 400 saying there are not enough credits -> InsufficientCredits
    - 400/422 (and other 4xx) -> RunwayRejected with Runway's ``error`` message
    - 404 -> RunwayRejected on create/upload, TaskNotFound on retrieve/delete
    - a connection that never opened -> RunwayUnavailable
    - a timeout or broken connection after the request may have been sent -> SubmitOutcomeUnknown on create
      (never retried), RunwayUnavailable elsewhere (safe to repeat)
    Anything that is not a ``runwayml.APIError`` is returned unchanged.
    """
    if isinstance(exc, runwayml.APIStatusError):
        status = exc.status_code
        message = runway_error_message(exc)
        where = f"Runway {operation} answered HTTP {status}: {message}"
        details = {"status": status, "operation": operation}
        if status in (401, 403) and operation != "upload":
            return RunwayAuthError(where, details=details)
        if status == 429:
            return RunwayRateLimited(where, details=details)
        if status >= 500 or status == 408:
            return RunwayUnavailable(where, details=details)
        if status == 400 and any(word in message.lower() for word in _CREDIT_WORDS):
            return InsufficientCredits(where, details=details)
        if status == 404 and operation in ("retrieve", "delete"):
            return TaskNotFound(where, details=details)
        return RunwayRejected(where, details=details)
    if isinstance(exc, runwayml.APIConnectionError):  # includes APITimeoutError
        kind = "timed out" if isinstance(exc, runwayml.APITimeoutError) else "lost its connection"
        if operation == "create" and not _never_connected(exc):
            return SubmitOutcomeUnknown(
                f"the Runway create call {kind} after the request may have been sent; the task may or may "
                "not exist. Not retried, to avoid a second billed task: check the Runway usage page.",
                details={"operation": operation},
            )
        return RunwayUnavailable(
            f"the Runway {operation} call {kind}: {exc}", details={"operation": operation}
        )
    if isinstance(exc, runwayml.APIError):  # APIResponseValidationError
        return RunwayUnavailable(
            f"unexpected Runway answer to {operation}: {exc}", details={"operation": operation}
        )
    return exc


@contextmanager
def runway_errors(operation: Operation) -> Iterator[None]:
    """Run SDK calls, re-raising SDK exceptions as the named errors of :func:`map_runway_error`."""
    try:
        yield
    except runwayml.APIError as exc:
        raise map_runway_error(exc, operation) from exc


def task_to_dict(task: Any) -> dict[str, Any]:
    """A task response as its wire dict (camelCase), whatever SDK class it came back as."""
    if isinstance(task, dict):
        return dict(task)
    to_dict = getattr(task, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, dict):
            return result
    dump = getattr(task, "model_dump", None)
    if callable(dump):
        result = dump(by_alias=True)
        if isinstance(result, dict):
            return result
    raise TypeError(f"unexpected Runway task object {type(task).__name__}")
