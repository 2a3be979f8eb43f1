"""Powertools Logger, Tracer and Metrics: one instance of each per process, shared by the handlers.

Service name, namespace and log level come from ``POWERTOOLS_*`` variables (template.yaml). Domain modules log
with the standard library (``logging.getLogger(__name__)`` under ``videogen``); :func:`route_domain_logs`
sends those records through the Powertools JSON handler so every line is structured alike, and installs
``videogen.core.log_safety`` (wire loggers held at INFO, known secrets redacted from every record).

Tracing: the Tracer instruments boto3 (every function calls AWS) and, in the functions that call Runway or
send webhooks, httpx (:func:`trace_http_calls`). Powertools' default, every library the X-Ray SDK knows,
would import httpx, requests and sqlite3 into every function at cold start, used or not.

Thread safety: the local runner runs several executions on threads of one process. Per-invocation keys
(``job_id``) are added with ``logger.thread_safe_append_keys``, which keeps them per thread.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from videogen.core import log_safety
from videogen.core.errors import VideoGenError

DOMAIN_LOGGER = "videogen"

#: The libraries traced in every function (module docstring).
TRACED_LIBRARIES = ("botocore",)

logger = Logger()
tracer = Tracer(auto_patch=False)
tracer.patch(TRACED_LIBRARIES)
metrics = Metrics()


def trace_http_calls() -> None:
    """Trace httpx requests too (Runway, output downloads, webhooks): for the functions that make them.
    Call it at import, before the first client is made. Nothing is imported while tracing is disabled."""
    tracer.patch(["httpx"])


def route_domain_logs() -> None:
    """Give the ``videogen`` logger the Powertools handler and level, and keep secrets out of every log line
    whatever the level (``videogen.core.log_safety``). Idempotent; every handler calls it at cold start."""
    logging.getLogger(DOMAIN_LOGGER)
    copy_config_to_registered_loggers(source_logger=logger, include={DOMAIN_LOGGER})
    log_safety.install()


def bind_job(job_id: str, **keys: object) -> None:
    """Put ``job_id`` (and ``keys``) on every log line of the current thread's invocation."""
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(job_id=job_id, **keys)


@contextmanager
def count_errors() -> Iterator[None]:
    """Count each named pipeline error as a metric of its own name, then re-raise it unchanged."""
    try:
        yield
    except VideoGenError as exc:
        metrics.add_metric(name=type(exc).__name__, unit=MetricUnit.Count, value=1)
        raise


StepHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def step_handler(*, capture_response: bool = True) -> Callable[[StepHandler], StepHandler]:
    """The decorators of every state-machine step's handler: the Lambda context on each log line (not the
    event: it holds the request), a trace, the metrics flush, and a metric per named error raised."""

    def decorate(handler: StepHandler) -> StepHandler:
        @logger.inject_lambda_context(log_event=False)
        @tracer.capture_lambda_handler(capture_response=capture_response)
        @metrics.log_metrics
        @functools.wraps(handler)
        def wrapped(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with count_errors():
                return handler(event, context)

        return wrapped

    return decorate
