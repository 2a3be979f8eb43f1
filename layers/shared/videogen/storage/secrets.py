"""Secrets Manager values (the Runway API key, the webhook signing secret), read through the Powertools cache.

``read_secret`` is Powertools ``get_secret`` with ``max_age``: one GetSecretValue per container every
``SECRET_MAX_AGE_SECONDS`` (a rotated value is picked up after that). Every value read is registered with
``videogen.core.log_safety``, so no log line made afterwards carries it.

:func:`runway_api_key` is the one reading of the Runway key, used by the steps (through ``RunwayClients``)
and by the entry points, which refuse jobs while it is not configured.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable

import botocore.exceptions
from aws_lambda_powertools.utilities import parameters

from videogen.core.errors import RunwayAuthError, RunwayUnavailable, VideoGenError, exception_chain
from videogen.core.log_safety import register_secret
from videogen.core.settings import Settings

SECRET_MAX_AGE_SECONDS = 300
#: Secrets Manager error codes that a later call can get past.
TRANSIENT_SECRET_CODES = frozenset(
    {"ThrottlingException", "Throttling", "InternalServiceError", "InternalFailure", "ServiceUnavailable"}
)
_KEY_NAMES = ("api_key", "apiKey", "RUNWAYML_API_SECRET", "runway_api_key")
#: Values an operator leaves in a secret before putting the real key in (compared without case, - or _).
_PLACEHOLDERS = frozenset({"replaceme", "changeme", "placeholder", "todo", "tbd", "none", "null", "yourkey"})
_IGNORED_IN_PLACEHOLDERS = re.compile(r"[-_\s.]")

SecretFetcher = Callable[[str], str]


def read_secret(arn: str) -> str:
    """The secret's value (cached per container for ``SECRET_MAX_AGE_SECONDS``), registered for redaction."""
    value = str(parameters.get_secret(arn, max_age=SECRET_MAX_AGE_SECONDS))
    register_secret(value)
    register_secret(value.strip())
    return value


def runway_api_key(settings: Settings, fetch: SecretFetcher = read_secret) -> str:
    """The Runway API key: from ``RUNWAY_SECRET_ARN`` when set, else the SDK's ``RUNWAYML_API_SECRET``.

    RunwayUnavailable when Secrets Manager failed for a reason a retry can get past; RunwayAuthError when the
    key is not configured (no secret value, an empty or placeholder value, a secret that cannot be read).
    """
    arn = settings.runway_secret_arn
    if arn:
        try:
            key = key_from_secret(fetch(arn), arn)
        except VideoGenError:
            raise
        except Exception as exc:  # Powertools GetParameterError (wrapping botocore's), classified by type
            if secret_read_is_transient(exc):
                raise RunwayUnavailable(f"Secrets Manager is unavailable: {exc}") from exc
            raise RunwayAuthError(
                f"cannot read the Runway API key from secret {arn}: {exc}. "
                "Check that the secret exists, has a value and that the function may read it."
            ) from exc
    else:
        key = os.environ.get("RUNWAYML_API_SECRET", "").strip()
        if not key:
            raise RunwayAuthError("no Runway API key: set RUNWAY_SECRET_ARN or RUNWAYML_API_SECRET")
    register_secret(key)
    return key


def key_from_secret(raw: str, arn: str) -> str:
    """The key inside a secret: a plain string, or JSON with ``api_key``/``RUNWAYML_API_SECRET``."""
    value = raw.strip()
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for name in _KEY_NAMES:
                if isinstance(data.get(name), str):
                    value = data[name].strip()
                    break
    if not value:
        raise RunwayAuthError(f"the Runway API key secret {arn} is empty: put your Runway API key in it")
    if is_placeholder(value):
        raise RunwayAuthError(
            f"the Runway API key secret {arn} holds a placeholder: put your Runway API key in it"
        )
    return value


def is_placeholder(value: str) -> bool:
    """A value such as ``REPLACE_ME``, ``<your key>`` or ``changeme``: not a key."""
    text = value.strip()
    if text.startswith("<") and text.endswith(">"):
        return True
    return _IGNORED_IN_PLACEHOLDERS.sub("", text).lower() in _PLACEHOLDERS


def secret_read_is_transient(exc: BaseException) -> bool:
    """True when reading a secret failed for a reason a retry can get past (timeout, connection, throttling,
    a Secrets Manager 5xx), judged from the exception types in the chain, never from text."""
    for cause in exception_chain(exc):
        if isinstance(cause, botocore.exceptions.HTTPClientError | botocore.exceptions.ConnectionError):
            return True
        if isinstance(cause, botocore.exceptions.ClientError):
            return cause.response.get("Error", {}).get("Code") in TRANSIENT_SECRET_CODES
    return False
