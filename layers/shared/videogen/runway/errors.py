"""The one mapping of Runway SDK errors to the pipeline's named errors (``videogen.core.errors``).

Every SDK call runs inside :func:`runway_errors`, so the state machine's Retry/Catch see
``RunwayRateLimited``, ``RunwayUnavailable``, ``SubmitOutcomeUnknown``... and never an SDK class.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import httpx
import runwayml

from videogen.core.errors import (
    InsufficientCredits,
    RunwayAuthError,
    RunwayRateLimited,
    RunwayRejected,
    RunwayUnavailable,
    SubmitOutcomeUnknown,
    TaskNotFound,
    exception_chain,
)

Operation = Literal["create", "retrieve", "delete", "upload"]

_CREDIT_WORDS = ("not enough credits", "insufficient credits", "enough credits", "credit balance")


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
    return any(isinstance(c, httpx.ConnectError | httpx.ConnectTimeout) for c in exception_chain(exc))


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
