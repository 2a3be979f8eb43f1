"""Settings of the entry points (API, S3 trigger, notifications), read from the environment at cold start.

The pipeline's own variables (``JOBS_TABLE``, ``OUTPUT_BUCKET``, ``DEFAULT_MODEL``...) are documented in
``videogen.settings``; this module adds the ones only the entry points need. Every name is set by
``template.yaml`` on the function that uses it, and ``events/env.json`` shows them for ``sam local invoke``.

============================  ================================================================================
Variable                      Meaning
============================  ================================================================================
STATE_MACHINE_ARN             The generate-video state machine (API, S3 trigger)
JOBS_TABLE                    DynamoDB table of job records
OUTPUT_BUCKET                 The video bucket (uploads, moved ``data:`` URIs, outputs)
UPLOAD_PREFIX                 Prefix of uploads and moved ``data:`` URIs (``uploads/``; never a trigger)
INPUT_PREFIX                  Key prefix watched by the S3 trigger (default ``inputs/``)
OUTPUT_PREFIX                 Key prefix of archived outputs (default ``outputs/``): never starts a job
DEFAULT_MODEL                 Model used when a request names none (default ``gen4.5``)
VIDEO_MODEL                   Model for videos in ``inputs/`` without ``x-amz-meta-model`` (``aleph2``)
IDEMPOTENCY_TABLE             Powertools idempotency table (API); empty: Idempotency-Key is refused
IDEMPOTENCY_TTL_SECONDS       How long an Idempotency-Key is remembered (default 86400)
PRESIGN_TTL_SECONDS           Lifetime of presigned GET/PUT URLs (default 900)
MAX_UPLOAD_BYTES              Largest file for ``POST /uploads`` (default 200 MB, Runway's limit)
EVENT_BUS_NAME                Bus of the "Video Generation ..." events (default ``default``)
EVENT_SOURCE                  Their source (default ``runway-video-pipeline``)
WEBHOOK_SECRET_ARN            Secrets Manager secret with the ``whsec_...`` webhook signing secret (notify)
WEBHOOK_SECRET                The signing secret itself, for local runs only (ignored when the ARN is set)
WEBHOOK_ALLOW_HTTP_LOOPBACK   ``true`` only in local runs: lets webhooks go to http://127.0.0.1 / localhost
WEBHOOK_MAX_ATTEMPTS          Delivery attempts inside one invocation (default 4)
WEBHOOK_TIMEOUT_SECONDS       Timeout of one delivery attempt (default 10)
============================  ================================================================================
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from videogen.settings import SettingsError

_ENV_NAMES: dict[str, str] = {
    "state_machine_arn": "STATE_MACHINE_ARN",
    "jobs_table": "JOBS_TABLE",
    "output_bucket": "OUTPUT_BUCKET",
    "upload_prefix": "UPLOAD_PREFIX",
    "input_prefix": "INPUT_PREFIX",
    "output_prefix": "OUTPUT_PREFIX",
    "default_model": "DEFAULT_MODEL",
    "video_model": "VIDEO_MODEL",
    "idempotency_table": "IDEMPOTENCY_TABLE",
    "idempotency_ttl_seconds": "IDEMPOTENCY_TTL_SECONDS",
    "presign_ttl_seconds": "PRESIGN_TTL_SECONDS",
    "max_upload_bytes": "MAX_UPLOAD_BYTES",
    "event_bus_name": "EVENT_BUS_NAME",
    "event_source": "EVENT_SOURCE",
    "webhook_secret_arn": "WEBHOOK_SECRET_ARN",
    "webhook_secret": "WEBHOOK_SECRET",
    "webhook_allow_http_loopback": "WEBHOOK_ALLOW_HTTP_LOOPBACK",
    "webhook_max_attempts": "WEBHOOK_MAX_ATTEMPTS",
    "webhook_timeout_seconds": "WEBHOOK_TIMEOUT_SECONDS",
}


class EntrySettings(BaseModel):
    """Validated, immutable settings of the entry points. Tests may construct one directly."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    state_machine_arn: str = ""
    jobs_table: str = ""
    output_bucket: str = ""
    upload_prefix: str = "uploads/"
    input_prefix: str = "inputs/"
    output_prefix: str = "outputs/"
    default_model: str = "gen4.5"
    video_model: str = "aleph2"
    idempotency_table: str = ""
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)
    presign_ttl_seconds: int = Field(default=900, ge=60, le=7 * 86_400)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    event_bus_name: str = "default"
    event_source: str = "runway-video-pipeline"
    webhook_secret_arn: str = ""
    webhook_secret: str = ""
    webhook_allow_http_loopback: bool = False
    webhook_max_attempts: int = Field(default=4, ge=1, le=10)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("upload_prefix", "input_prefix", "output_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip().lstrip("/")
        if not value:
            raise ValueError("a key prefix cannot be empty")
        return value if value.endswith("/") else value + "/"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, require: Iterable[str] = ()) -> EntrySettings:
        """Read the settings; ``require`` names fields that must be non-empty. Raises SettingsError."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {
            field: env[name].strip() for field, name in _ENV_NAMES.items() if env.get(name, "").strip()
        }
        try:
            settings = cls(**values)
        except ValidationError as exc:
            problems = [
                f"{_ENV_NAMES.get(str(e['loc'][0]), 'settings') if e['loc'] else 'settings'}: {e['msg']}"
                for e in exc.errors()
            ]
            raise SettingsError("invalid environment: " + "; ".join(problems)) from exc
        missing = [_ENV_NAMES[f] for f in require if not getattr(settings, f)]
        if missing:
            raise SettingsError(f"missing environment variable(s): {', '.join(missing)}")
        return settings
