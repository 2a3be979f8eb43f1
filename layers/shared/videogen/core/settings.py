"""The settings of every Lambda: one pydantic-settings model, read from the environment once at cold start.

Each function reads the fields it needs (``Settings.from_env(require=(...))`` names the ones that must be
set) and fails at init with one message naming every missing or malformed variable. Every variable is set by
``template.yaml`` (``Globals.Function.Environment`` or the function's own); ``events/env.json`` shows them for
``sam local invoke``. Constructing ``Settings(...)`` directly (tests) reads no environment.

============================  ================================================================================
Variable                      Meaning
============================  ================================================================================
RUNWAY_SECRET_ARN             Secret holding the Runway API key; empty: use the SDK's RUNWAYML_API_SECRET
RUNWAYML_BASE_URL             Runway API base URL; empty: the SDK default (https://api.dev.runwayml.com)
OUTPUT_BUCKET                 The video bucket (outputs, uploads, moved ``data:`` URIs)
OUTPUT_PREFIX                 Key prefix of archived outputs (default ``outputs/``): never starts a job
UPLOAD_PREFIX                 Prefix of uploads and moved ``data:`` URIs (``uploads/``; never a trigger)
INPUT_PREFIX                  Key prefix watched by the S3 trigger (default ``inputs/``)
JOBS_TABLE                    DynamoDB table of job records
DEFAULT_MODEL                 Model used when a request names none (default ``gen4.5``)
VIDEO_MODEL                   Model for videos in ``inputs/`` without ``x-amz-meta-model`` (``aleph2``)
DEADLINE_SECONDS              Longest wait for Runway after submission (default 3600, at most 86400)
POLL_MIN_WAIT_SECONDS         Shortest wait between two polls, never below 5 (default 10)
POLL_MAX_WAIT_SECONDS         Longest wait between two polls (default 60)
POLL_WINDOW_SECONDS           How long one poll step may keep reading a nearly done task on each 5 s tick
                              (default 240; the poll function's Timeout covers it; 0: one read per step)
RUNWAY_INTERNAL_RETRIES       New tasks created after a task fails with an ``INTERNAL.*`` code (default 2)
STATE_MACHINE_ARN             The generate-video state machine (API, S3 trigger)
CANCEL_FUNCTION_NAME          The function that owns Runway cancels (the API hands DELETE to it)
RECONCILE_FUNCTION_NAME       The reconcile function (the API hands POST /generations/{id}/retry to it)
IDEMPOTENCY_TABLE             Powertools idempotency table (API); empty: Idempotency-Key is refused
IDEMPOTENCY_TTL_SECONDS       How long an Idempotency-Key is remembered (default 86400)
PRESIGN_TTL_SECONDS           Lifetime of presigned GET/PUT URLs (default 900)
MAX_UPLOAD_BYTES              Largest file for ``POST /uploads`` (default 200 MB, Runway's limit)
RECONCILE_GRACE_SECONDS       How long past its deadline a job may stay unsettled before the sweep settles it
EVENT_BUS_NAME                Bus of the "Video Generation ..." events (default ``default``)
EVENT_SOURCE                  Their source (default ``runway-video-pipeline``)
WEBHOOK_SECRET_ARN            Secrets Manager secret with the ``whsec_...`` webhook signing secret (notify)
WEBHOOK_SECRET                The signing secret itself, for local runs only (ignored when the ARN is set)
WEBHOOK_MAX_ATTEMPTS          Delivery attempts inside one invocation (default 4)
WEBHOOK_TIMEOUT_SECONDS       Timeout of one delivery attempt (default 10)
API_AUTH                      How API callers authenticate (``IAM`` or ``API_KEY``): whose identity owns a job
ADMIN_PRINCIPALS              Comma-separated IAM ARNs / API key ids that see every job (default: none)
OUTPUT_HOST_ALLOWLIST         Comma-separated hosts output URLs may point at (``.example.com``: it and names
                              under it; ``*``: any public host); empty: Runway's host (RUNWAY_OUTPUT_HOSTS)
WEBHOOK_HOST_ALLOWLIST        Comma-separated hosts webhook URLs may point at; empty: any public https host
ALLOW_LOOPBACK_HTTP           ``true`` only in local stacks: http(s) to 127.0.0.0/8, ::1 and localhost allowed
EGRESS_MAX_BYTES              Largest output the archive step downloads (default 5 GiB): OutputTooLarge above
EGRESS_TIMEOUT_SECONDS        Connect timeout and longest wait for a read or write of a download (default 30)
LOG_REQUEST_CONTENT           ``true``: log lines may show prompts and input URLs (default ``false``)
============================  ================================================================================
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from videogen.core.errors import SettingsError

#: Runway: "Consumers of this API should not expect updates more frequent than once every five seconds".
RUNWAY_MIN_POLL_SECONDS = 5
#: Where Runway serves task outputs: its docs' example and real task outputs use this CloudFront host.
RUNWAY_OUTPUT_HOSTS = ("dnznrvs05pmza.cloudfront.net",)
#: The template's bound on RunwayInternalRetries: each retry is a new task, so a few at most.
MAX_RUNWAY_INTERNAL_RETRIES = 5

_ENVIRONMENT: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "videogen_settings_environment", default=None
)


class _GivenEnvironment(EnvSettingsSource):
    """The environment passed to :meth:`Settings.from_env`; nothing when the model is built directly."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        env = _ENVIRONMENT.get()
        return {k.lower(): v for k, v in (env or {}).items()}


class Settings(BaseSettings):
    """Validated, immutable settings. Build with :meth:`from_env`; tests may construct one directly."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_ignore_empty=True, populate_by_name=True, protected_namespaces=()
    )

    runway_secret_arn: str = ""
    runway_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("runway_base_url", "RUNWAYML_BASE_URL")
    )
    output_bucket: str = ""
    output_prefix: str = "outputs/"
    upload_prefix: str = "uploads/"
    input_prefix: str = "inputs/"
    jobs_table: str = ""
    default_model: str = "gen4.5"
    video_model: str = "aleph2"
    deadline_seconds: int = Field(default=3600, ge=60, le=86_400)  # the bounded history: poll_schedule
    poll_min_wait_seconds: int = Field(default=10, ge=RUNWAY_MIN_POLL_SECONDS)
    poll_max_wait_seconds: int = Field(default=60, ge=RUNWAY_MIN_POLL_SECONDS)
    poll_window_seconds: int = Field(default=240, ge=0, le=600)
    runway_internal_retries: int = Field(default=2, ge=0, le=MAX_RUNWAY_INTERNAL_RETRIES)
    state_machine_arn: str = ""
    cancel_function_name: str = ""
    reconcile_function_name: str = ""
    idempotency_table: str = ""
    idempotency_ttl_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)
    presign_ttl_seconds: int = Field(default=900, ge=60, le=7 * 86_400)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    reconcile_grace_seconds: int = Field(default=900, ge=0, le=86_400)
    event_bus_name: str = "default"
    event_source: str = "runway-video-pipeline"
    webhook_secret_arn: str = ""
    webhook_secret: str = ""
    webhook_max_attempts: int = Field(default=4, ge=1, le=10)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Job owners (videogen.intake.callers)
    api_auth: Literal["IAM", "API_KEY"] = "IAM"
    admin_principals: Annotated[tuple[str, ...], NoDecode] = ()
    # Egress (videogen.egress): where archive downloads and webhook deliveries may go.
    output_host_allowlist: Annotated[tuple[str, ...], NoDecode] = RUNWAY_OUTPUT_HOSTS
    webhook_host_allowlist: Annotated[tuple[str, ...], NoDecode] = ()
    allow_loopback_http: bool = False
    egress_max_bytes: int = Field(default=5 * 1024**3, ge=1024)
    egress_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    log_request_content: bool = False  # videogen.core.log_safety.request_for_log

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _GivenEnvironment(settings_cls)

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("runway_base_url", mode="after")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("output_prefix", "upload_prefix", "input_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip().lstrip("/")
        if not value:
            raise ValueError("a key prefix cannot be empty")
        return value if value.endswith("/") else value + "/"

    @field_validator("output_host_allowlist", "webhook_host_allowlist", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(h.strip().lower() for h in value.split(",") if h.strip())
        return value

    @field_validator("admin_principals", mode="before")
    @classmethod
    def _split_principals(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @model_validator(mode="after")
    def _wait_bounds(self) -> Settings:
        if self.poll_max_wait_seconds < self.poll_min_wait_seconds:
            raise ValueError(
                f"POLL_MAX_WAIT_SECONDS ({self.poll_max_wait_seconds}) is below "
                f"POLL_MIN_WAIT_SECONDS ({self.poll_min_wait_seconds})"
            )
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, require: Iterable[str] = ()) -> Settings:
        """Read the settings from ``env`` (``os.environ``); ``require`` names fields that must be non-empty.

        Raises SettingsError naming every missing or invalid variable.
        """
        token = _ENVIRONMENT.set(os.environ if env is None else env)
        try:
            settings = cls()
        except ValidationError as exc:
            problems = [f"{_variable(e['loc'])}: {e['msg']}" for e in exc.errors()]
            raise SettingsError("invalid environment: " + "; ".join(problems)) from exc
        finally:
            _ENVIRONMENT.reset(token)
        missing = [env_name(f) for f in require if not getattr(settings, f)]
        if missing:
            raise SettingsError(f"missing environment variable(s): {', '.join(missing)}")
        return settings


def env_name(field: str) -> str:
    """The environment variable of a settings field."""
    return "RUNWAYML_BASE_URL" if field == "runway_base_url" else field.upper()


def _variable(loc: tuple[Any, ...]) -> str:
    return env_name(str(loc[0])) if loc else "POLL_MAX_WAIT_SECONDS"
