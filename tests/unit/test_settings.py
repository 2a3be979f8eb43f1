"""Settings read from the environment at cold start."""

from __future__ import annotations

import pytest

from tests.support.template import function_environment
from videogen.core.errors import SettingsError
from videogen.core.settings import Settings


def test_template_environment_gives_valid_settings() -> None:
    # GIVEN the environment template.yaml gives every function
    env = function_environment(
        "SubmitFunction", {"JobsTable": "jobs", "VideoBucket": "videos", "RunwayApiSecret": "arn:secret"}
    )
    # WHEN settings are read
    settings = Settings.from_env(env, require=("jobs_table", "output_bucket"))
    # THEN every value is typed and the empty base URL means "SDK default"
    assert settings.jobs_table == "jobs"
    assert settings.output_bucket == "videos"
    assert settings.output_prefix == "outputs/"
    assert settings.runway_secret_arn == "arn:secret"
    assert settings.runway_base_url is None
    assert settings.deadline_seconds == 3600
    assert (settings.poll_min_wait_seconds, settings.poll_max_wait_seconds) == (10, 60)
    assert settings.output_host_allowlist == ("dnznrvs05pmza.cloudfront.net",)  # Runway's output host
    assert settings.webhook_host_allowlist == ()
    assert settings.allow_loopback_http is False  # no deployed stack allows http to loopback
    assert settings.egress_max_bytes == 5 * 1024**3
    assert settings.egress_timeout_seconds == 30


def test_defaults_when_environment_is_empty() -> None:
    settings = Settings.from_env({})
    assert settings.default_model == "gen4.5"
    assert settings.runway_secret_arn == ""


def test_missing_required_variable_names_it() -> None:
    with pytest.raises(SettingsError, match="JOBS_TABLE"):
        Settings.from_env({"OUTPUT_BUCKET": "b"}, require=("jobs_table",))


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"DEADLINE_SECONDS": "soon"}, ["DEADLINE_SECONDS"]),
        ({"POLL_MIN_WAIT_SECONDS": "2"}, ["POLL_MIN_WAIT_SECONDS"]),
        ({"POLL_MIN_WAIT_SECONDS": "30", "POLL_MAX_WAIT_SECONDS": "20"}, ["POLL_MAX_WAIT_SECONDS"]),
        (
            {"DEADLINE_SECONDS": "x", "POLL_MAX_WAIT_SECONDS": "y"},
            ["DEADLINE_SECONDS", "POLL_MAX_WAIT_SECONDS"],
        ),
    ],
)
def test_malformed_values_fail_fast_with_every_name(env: dict[str, str], names: list[str]) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    for name in names:
        assert name in str(caught.value)


def test_values_are_normalised() -> None:
    settings = Settings.from_env(
        {
            "RUNWAYML_BASE_URL": " http://127.0.0.1:8787 ",
            "OUTPUT_PREFIX": "archive",
            "OUTPUT_HOST_ALLOWLIST": " Cdn.Runway.example , ,.runwayml.com",
        }
    )
    assert settings.runway_base_url == "http://127.0.0.1:8787"
    assert settings.output_prefix == "archive/"
    assert settings.output_host_allowlist == ("cdn.runway.example", ".runwayml.com")


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.jobs_table = "other"  # type: ignore[misc]
