"""What the logs may carry: never a secret, whatever the log level; the job's request only when allowed.

Installed by every handler at cold start (``videogen.observability.route_domain_logs``):

1. **Wire loggers held at INFO.** botocore, boto3, s3transfer, urllib3, httpx, httpcore and the Runway SDK
   log whole requests and answers at DEBUG: the ``GetSecretValue`` answer (the Runway key, the webhook
   secret), headers, and bodies holding prompts and ``data:`` URIs. Lambda's ``ApplicationLogLevel=DEBUG``
   (or ``POWERTOOLS_LOG_LEVEL=DEBUG``) puts the root logger at DEBUG; these loggers stay at INFO regardless.
2. **Known secrets redacted.** The Runway key and the webhook signing secret are registered when they are read
   (:func:`register_secret`); every record made afterwards, by any logger, has them replaced with
   ``[REDACTED]`` in its message. This is a record factory, not a handler filter, so every handler sees the
   redacted record: the Lambda runtime's own on the root logger, Powertools', any other. Extra keys are set
   on a record after it is made: a filter on every handler present at setup redacts them.
3. **Secrets Manager payloads dropped.** A wire logger's record holding ``SecretString``/``SecretBinary`` (a
   level lowered by hand past rule 1) keeps only the fact that it was withheld.

The request (prompt, input URLs, ``data:`` contents) is logged only as :func:`request_for_log` shows it: a
summary, or, with ``LOG_REQUEST_CONTENT=true`` (template parameter ``LogRequestContent``), the content too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from videogen.core import media

#: Loggers that write the wire (requests, answers, headers) at DEBUG; each and its children stay at INFO.
WIRE_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "httpx", "httpcore", "runwayml")
WIRE_FLOOR = logging.INFO
REDACTED = "[REDACTED]"
#: Shorter values are not redacted: they would blank ordinary words (a secret that short is not one).
MIN_SECRET_LENGTH = 8
_SECRET_PAYLOAD_MARKERS = ("SecretString", "SecretBinary")
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Redact ``value`` from every log record made from now on (by any logger of this process)."""
    if value and len(value) >= MIN_SECRET_LENGTH and value not in _secrets:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[REDACTED]``."""
    for value in sorted(_secrets, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def _is_wire(name: str) -> bool:
    return any(name == n or name.startswith(n + ".") for n in WIRE_LOGGERS)


def _scrub_message(record: logging.LogRecord) -> None:
    known = tuple(_secrets)
    wire = _is_wire(record.name)
    if not known and not wire:
        return
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: let the handler report it as logging does
        return
    if wire and any(marker in message for marker in _SECRET_PAYLOAD_MARKERS):
        record.msg, record.args = "[a Secrets Manager payload was withheld from the log]", None
    elif any(value in message for value in known):
        record.msg, record.args = redact(message), None


class RedactExtraKeys(logging.Filter):
    """Redacts registered secrets from a record's extra keys (``extra=`` / Powertools keyword arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = tuple(_secrets)
        if not known:
            return True
        for name, value in list(vars(record).items()):
            if name in _STANDARD_ATTRIBUTES or isinstance(value, int | float | bool) or value is None:
                continue
            text = value if isinstance(value, str) else repr(value)
            if any(secret in text for secret in known):
                setattr(record, name, redact(text))
        return True


def _install_record_factory() -> None:
    """Wrap the process's record factory once (a fresh copy of this module replaces its older wrapper)."""
    current: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    previous = getattr(current, "videogen_previous", current)

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _scrub_message(record)
        return record

    factory.videogen_previous = previous  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def hold_wire_loggers() -> None:
    """Keep every wire logger (and any child given a level of its own) at INFO or above."""
    for name in WIRE_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < WIRE_FLOOR:  # NOTSET (0) included: it would inherit the root's DEBUG
            logger.setLevel(WIRE_FLOOR)
    for name, child in list(logging.root.manager.loggerDict.items()):
        if isinstance(child, logging.Logger) and _is_wire(name) and logging.NOTSET < child.level < WIRE_FLOOR:
            child.setLevel(WIRE_FLOOR)


def _filter_handlers() -> None:
    loggers = [logging.getLogger(), *logging.root.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            # A fresh copy of this module (one per local stack) replaces the filter of an older copy.
            for old in [f for f in handler.filters if type(f).__name__ == RedactExtraKeys.__name__]:
                handler.removeFilter(old)
            handler.addFilter(RedactExtraKeys())


def install() -> None:
    """Rules 1-3 of this module (idempotent)."""
    hold_wire_loggers()
    _install_record_factory()
    _filter_handlers()


# --- the request, as a log line may show it ---------------------------------------------------------------


def request_for_log(request: Mapping[str, Any], *, include_content: bool) -> dict[str, Any]:
    """The request as a log line shows it. Without ``include_content``: the prompt's length, each input's
    scheme and host (a ``data:`` URI's type and size), no query string; every other field as it is."""
    shown: dict[str, Any] = {}
    for name, value in request.items():
        if name in ("prompt", "prompt_text") and isinstance(value, str):
            shown[name] = value if include_content else f"<{len(value)} characters>"
        elif name in media.REQUEST_MEDIA_FIELDS or name == "webhook_url":
            shown[name] = _input_for_log(value, include_content=include_content)
        elif name == "options" and not include_content:
            shown[name] = sorted(value) if isinstance(value, Mapping) else "<options>"
        else:
            shown[name] = value
    return shown


def _input_for_log(value: Any, *, include_content: bool) -> Any:
    if not isinstance(value, str):
        return value
    if value[:5].lower() == "data:":
        header = value[5:].partition(",")[0]
        return f"data:{header},<{len(value)} characters>"
    if include_content:
        return value
    parts = urlsplit(value)
    return f"{parts.scheme}://{parts.netloc}/..." if parts.scheme else "<local path>"
