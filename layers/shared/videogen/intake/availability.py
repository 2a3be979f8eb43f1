"""Honest availability at intake: a dependency that is down is "retry later", never a crash.

- An AWS call of the intake (DynamoDB, S3, Step Functions) failing for a reason a later attempt can get past
  (``videogen.storage.aws_errors.is_transient``: throttling, a 5xx, a timeout, a lost connection), past
  botocore's own retries, becomes :class:`PipelineUnavailable`: the API answers 503 with ``Retry-After``, the
  S3 trigger raises so Lambda retries the event (then its dead-letter queue). Any other AWS error (access
  denied, validation) is left as it is: a retry cannot help.
- The Runway API key is read (through the cached secret) before anything is written: a key that is not
  configured is :class:`RunwayKeyNotConfigured`, Secrets Manager being down is :class:`PipelineUnavailable`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from videogen.core.errors import (
    JobStoreUnavailable,
    PipelineUnavailable,
    RunwayAuthError,
    RunwayKeyNotConfigured,
    RunwayUnavailable,
    exception_chain,
)
from videogen.storage.aws_errors import error_code, is_transient

P = ParamSpec("P")
R = TypeVar("R")

#: What callers are told; the reason (secret ARN, its state) is logged for the operator, not answered.
KEY_NOT_CONFIGURED = (
    "Runway API key not configured: an operator must put the key in the stack's Runway secret; retry later"
)

log = logging.getLogger(__name__)


def transient_aws_failure(exc: BaseException) -> BaseException | None:
    """The AWS failure in ``exc``'s chain that a later attempt can get past, if there is one."""
    for cause in exception_chain(exc):
        if isinstance(cause, ClientError | BotoCoreError) and is_transient(cause):
            return cause
    return None


def unavailable_is_retry_later(method: Callable[P, R]) -> Callable[P, R]:
    """Decorate an intake operation: transient AWS failures inside it raise PipelineUnavailable."""

    @functools.wraps(method)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except (ClientError, BotoCoreError, JobStoreUnavailable) as exc:
            cause = transient_aws_failure(exc)
            if cause is None:
                raise
            what = cause.operation_name if isinstance(cause, ClientError) else type(cause).__name__
            code = error_code(cause) if isinstance(cause, ClientError) else "no answer"
            raise PipelineUnavailable(f"AWS is unavailable ({what}: {code}); retry later") from exc

    return wrapped


def require_runway_key(read_key: Callable[[], object] | None) -> None:
    """Raise unless the Runway key can be read: RunwayKeyNotConfigured or PipelineUnavailable."""
    if read_key is None:
        return
    try:
        read_key()
    except RunwayUnavailable as exc:
        raise PipelineUnavailable("Secrets Manager is unavailable; retry later") from exc
    except RunwayAuthError as exc:
        log.error("Runway API key not configured: %s", exc.message)
        raise RunwayKeyNotConfigured(KEY_NOT_CONFIGURED) from exc
