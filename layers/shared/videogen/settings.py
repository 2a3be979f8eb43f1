"""Settings of the pipeline's Lambdas, read from environment variables once at cold start.

Every variable is set by ``template.yaml`` (``Globals.Function.Environment``); the local runner copies the
same names. ``Settings.from_env()`` fails fast with one message naming every missing or malformed variable,
so a misconfigured function dies at init instead of halfway through a job.

=========================  ===================================================================================
Variable                   Meaning
=========================  ===================================================================================
RUNWAY_SECRET_ARN          Secret holding the Runway API key; empty: use the SDK's RUNWAYML_API_SECRET
RUNWAYML_BASE_URL          Runway API base URL; empty: the SDK default (https://api.dev.runwayml.com)
OUTPUT_BUCKET              Bucket that receives archived outputs (required by archive)
OUTPUT_PREFIX              Key prefix of archived outputs, ends with ``/`` (default ``outputs/``)
JOBS_TABLE                 DynamoDB table of job records (required by submit)
DEFAULT_MODEL              Model used when a request names none (default ``gen4.5``)
DEADLINE_SECONDS           Longest time a job may wait for Runway after submission (default 3600)
POLL_MIN_WAIT_SECONDS      Shortest wait between two polls, never below 5 (default 10)
POLL_MAX_WAIT_SECONDS      Longest wait between two polls (default 60)
OUTPUT_HOST_ALLOWLIST      Optional comma-separated hosts output URLs may point at; empty: any https host
=========================  ===================================================================================
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

#: Runway: "Consumers of this API should not expect updates more frequent than once every five seconds".
RUNWAY_MIN_POLL_SECONDS = 5

_ENV_NAMES: dict[str, str] = {
    "runway_secret_arn": "RUNWAY_SECRET_ARN",
    "runway_base_url": "RUNWAYML_BASE_URL",
    "output_bucket": "OUTPUT_BUCKET",
    "output_prefix": "OUTPUT_PREFIX",
    "jobs_table": "JOBS_TABLE",
    "default_model": "DEFAULT_MODEL",
    "deadline_seconds": "DEADLINE_SECONDS",
    "poll_min_wait_seconds": "POLL_MIN_WAIT_SECONDS",
    "poll_max_wait_seconds": "POLL_MAX_WAIT_SECONDS",
    "output_host_allowlist": "OUTPUT_HOST_ALLOWLIST",
}


class SettingsError(RuntimeError):
    """The function's environment is incomplete or malformed (raised at cold start)."""


class Settings(BaseModel):
    """Validated, immutable settings. Build with :meth:`from_env`; tests may construct one directly."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    runway_secret_arn: str = ""
    runway_base_url: str | None = None
    output_bucket: str = ""
    output_prefix: str = "outputs/"
    jobs_table: str = ""
    default_model: str = "gen4.5"
    deadline_seconds: int = Field(default=3600, ge=60, le=7 * 86400)
    poll_min_wait_seconds: int = Field(default=10, ge=RUNWAY_MIN_POLL_SECONDS)
    poll_max_wait_seconds: int = Field(default=60, ge=RUNWAY_MIN_POLL_SECONDS)
    output_host_allowlist: tuple[str, ...] = ()

    @field_validator("runway_secret_arn", "output_bucket", "jobs_table", "default_model", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("runway_base_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("output_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip().lstrip("/")
        if value and not value.endswith("/"):
            value += "/"
        return value

    @field_validator("output_host_allowlist", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(h.strip().lower() for h in value.split(",") if h.strip())
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
        env = os.environ if env is None else env
        values = {field: env[name] for field, name in _ENV_NAMES.items() if env.get(name, "") != ""}
        # RUNWAYML_BASE_URL and RUNWAY_SECRET_ARN may legitimately be present and empty.
        try:
            settings = cls(**values)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                field = str(error["loc"][0]) if error["loc"] else ""
                problems.append(f"{_ENV_NAMES.get(field, field or 'settings')}: {error['msg']}")
            raise SettingsError("invalid environment: " + "; ".join(problems)) from exc
        missing = [_ENV_NAMES[f] for f in require if not getattr(settings, f)]
        if missing:
            raise SettingsError(f"missing environment variable(s): {', '.join(missing)}")
        return settings
