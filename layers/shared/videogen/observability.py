"""Powertools Logger, Tracer and Metrics: one instance of each per process, shared by the handlers.

Service name, namespace and log level come from ``POWERTOOLS_*`` variables (template.yaml). Domain modules log
with the standard library (``logging.getLogger(__name__)`` under ``videogen``); :func:`route_domain_logs`
sends those records through the Powertools JSON handler so every line is structured alike.

Thread safety: the local runner runs several executions on threads of one process. Per-invocation keys
(``job_id``) are added with ``logger.thread_safe_append_keys``, which keeps them per thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from videogen.core.errors import VideoGenError

DOMAIN_LOGGER = "videogen"

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def route_domain_logs() -> None:
    """Give the ``videogen`` logger the Powertools handler and level (idempotent)."""
    logging.getLogger(DOMAIN_LOGGER)
    copy_config_to_registered_loggers(source_logger=logger, include={DOMAIN_LOGGER})


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
