"""The Runway client factory and the SDK error mapping, through the real SDK against the simulator."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
import runwayml
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from moto import mock_aws

from local.simulator import RunwaySimulator, SimulatorConfig
from videogen.core.errors import (
    InsufficientCredits,
    RunwayAuthError,
    RunwayRateLimited,
    RunwayRejected,
    RunwayUnavailable,
    SubmitOutcomeUnknown,
    TaskNotFound,
)
from videogen.core.settings import Settings
from videogen.runway import client as runway_client
from videogen.runway.client import RunwayClients
from videogen.runway.errors import map_runway_error, runway_errors

BODY: dict[str, Any] = {"model": "gen4.5", "prompt_text": "a cat", "ratio": "1280:720", "duration": 5}


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunwaySimulator]:
    monkeypatch.setenv("RUNWAYML_API_SECRET", "test-key")
    with RunwaySimulator(SimulatorConfig(time_scale=0.01)) as simulator:
        yield simulator


@pytest.fixture
def clients(sim: RunwaySimulator) -> RunwayClients:
    return RunwayClients(Settings(runway_base_url=sim.base_url))


def create(clients: RunwayClients) -> object:
    with runway_errors("create"):
        return clients.for_create().text_to_video.create(**BODY)


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (400, "promptText is too long", RunwayRejected),
        (422, "ratio is not supported", RunwayRejected),
        (404, "no such endpoint", RunwayRejected),
        (401, "bad key", RunwayAuthError),
        (403, "forbidden", RunwayAuthError),
        (400, "You do not have enough credits to run this task.", InsufficientCredits),
        (429, "too many requests", RunwayRateLimited),
        (500, "boom", RunwayUnavailable),
        (503, "shedding load", RunwayUnavailable),
    ],
)
def test_create_errors_are_mapped_and_never_retried(
    sim: RunwaySimulator, clients: RunwayClients, status: int, message: str, expected: type[Exception]
) -> None:
    # GIVEN Runway answers the create with an error
    sim.inject("http_error", method="POST", path="/v1/text_to_video", status=status, message=message)
    # WHEN a task is created THEN the named error carries Runway's message, and only one POST was sent
    with pytest.raises(expected) as caught:
        create(clients)
    assert message in str(caught.value)
    assert isinstance(caught.value.__cause__, runwayml.APIStatusError)
    posts = [r for r in sim.requests if r.method == "POST" and r.path == "/v1/text_to_video"]
    assert len(posts) == 1


def test_real_insufficient_credits_answer(sim: RunwaySimulator, clients: RunwayClients) -> None:
    sim.set_credit_balance(1)
    with pytest.raises(InsufficientCredits):
        create(clients)


def test_connection_reset_after_sending_a_create_is_an_unknown_outcome(
    sim: RunwaySimulator, clients: RunwayClients
) -> None:
    sim.inject("disconnect", method="POST", path="/v1/text_to_video")
    with pytest.raises(SubmitOutcomeUnknown):
        create(clients)
    assert len([r for r in sim.requests if r.path == "/v1/text_to_video"]) == 1


def test_create_timeout_is_an_unknown_outcome(sim: RunwaySimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runway_client, "CREATE_TIMEOUT", httpx.Timeout(0.3, connect=1.0))
    clients = RunwayClients(Settings(runway_base_url=sim.base_url))
    sim.inject("delay", method="POST", path="/v1/text_to_video", seconds=1.0)
    with pytest.raises(SubmitOutcomeUnknown, match="may not exist"):
        create(clients)


def test_create_that_never_connected_is_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a base URL where nothing listens
    monkeypatch.setenv("RUNWAYML_API_SECRET", "k")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clients = RunwayClients(Settings(runway_base_url=f"http://127.0.0.1:{port}"))
    # WHEN creating THEN RunwayUnavailable (the request never left), not SubmitOutcomeUnknown
    with pytest.raises(RunwayUnavailable):
        create(clients)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(404, TaskNotFound), (429, RunwayRateLimited), (500, RunwayUnavailable), (401, RunwayAuthError)],
)
def test_retrieve_errors(
    sim: RunwaySimulator, clients: RunwayClients, status: int, expected: type[Exception]
) -> None:
    sim.inject("http_error", path="/v1/tasks/*", status=status, times=None)
    with pytest.raises(expected), runway_errors("retrieve"):
        clients.for_repeatable().tasks.retrieve("00000000-0000-4000-8000-000000000000")


def test_unknown_task_is_task_not_found(clients: RunwayClients) -> None:
    with pytest.raises(TaskNotFound), runway_errors("delete"):
        clients.for_repeatable().tasks.delete("00000000-0000-4000-8000-000000000000")


def test_retrieve_timeout_is_retryable() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/v1/tasks/x")
    error = map_runway_error(runwayml.APITimeoutError(request=request), "retrieve")
    assert isinstance(error, RunwayUnavailable)


def test_non_sdk_errors_pass_through() -> None:
    error = ValueError("x")
    assert map_runway_error(error, "create") is error


def test_upload_target_errors_are_not_auth_errors() -> None:
    request = httpx.Request("POST", "https://uploads.example/x")
    response = httpx.Response(403, request=request)
    error = runwayml.APIStatusError("Upload failed with status 403", response=response, body="denied")
    assert isinstance(map_runway_error(error, "upload"), RunwayRejected)


# --- API key ---------------------------------------------------------------------------------------------


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)
    parameters.clear_caches()
    with mock_aws():
        yield boto3.client("secretsmanager")
    parameters.clear_caches()


def test_key_from_secrets_manager(secrets: object) -> None:
    arn = secrets.create_secret(Name="runway", SecretString=" key-1 \n")["ARN"]  # type: ignore[attr-defined]
    assert RunwayClients(Settings(runway_secret_arn=arn)).api_key() == "key-1"


def test_key_from_json_secret(secrets: object) -> None:
    arn = secrets.create_secret(Name="runway", SecretString='{"api_key": "key-2"}')["ARN"]  # type: ignore[attr-defined]
    assert RunwayClients(Settings(runway_secret_arn=arn)).api_key() == "key-2"


def test_secret_without_value_is_an_auth_error(secrets: object) -> None:
    # GIVEN the secret the stack creates, before anyone put a key in it
    arn = secrets.create_secret(Name="runway")["ARN"]  # type: ignore[attr-defined]
    with pytest.raises(RunwayAuthError, match="cannot read the Runway API key"):
        RunwayClients(Settings(runway_secret_arn=arn)).api_key()


def test_empty_secret_is_an_auth_error(secrets: object) -> None:
    arn = secrets.create_secret(Name="runway", SecretString="  ")["ARN"]  # type: ignore[attr-defined]
    with pytest.raises(RunwayAuthError, match="is empty"):
        RunwayClients(Settings(runway_secret_arn=arn)).api_key()


def test_no_key_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)
    with pytest.raises(RunwayAuthError, match="RUNWAYML_API_SECRET"):
        RunwayClients(Settings()).for_repeatable()


def test_client_is_reused_and_rebuilt_only_when_the_key_changes() -> None:
    keys = iter(["a", "a", "b"])
    clients = RunwayClients(Settings(runway_secret_arn="arn:x"), secret_fetcher=lambda _arn: next(keys))
    first = clients.for_repeatable()
    assert clients.for_repeatable() is first
    rotated = clients.for_repeatable()
    assert rotated is not first
    assert rotated.api_key == "b"


def test_create_view_never_retries(clients: RunwayClients) -> None:
    assert clients.for_create().max_retries == 0
    assert clients.for_repeatable().max_retries == runway_client.READ_MAX_RETRIES


def _powertools_failure(cause: Exception) -> Exception:
    """What Powertools' get_secret raises: GetParameterError, raised while handling botocore's error."""
    try:
        raise cause
    except Exception as exc:
        try:
            raise GetParameterError(str(exc))
        except GetParameterError as wrapped:
            return wrapped


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "GetSecretValue")


@pytest.mark.parametrize(
    "cause",
    [
        ReadTimeoutError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com"),
        EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com"),
        _client_error("ThrottlingException"),
        _client_error("InternalServiceError"),
    ],
    ids=["read-timeout", "no-connection", "throttled", "internal-error"],
)
def test_secrets_manager_outage_is_retryable(cause: Exception) -> None:
    # GIVEN reading the secret fails for a reason a later call can get past
    def failing(_arn: str) -> str:
        raise _powertools_failure(cause)

    # WHEN the key is read THEN the error is RunwayUnavailable (retried), judged by type, not by text
    with pytest.raises(RunwayUnavailable, match="Secrets Manager"):
        RunwayClients(Settings(runway_secret_arn="arn:x"), secret_fetcher=failing).api_key()


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException"])
def test_secret_that_cannot_be_read_is_an_auth_error(code: str) -> None:
    def failing(_arn: str) -> str:
        raise _powertools_failure(_client_error(code))

    with pytest.raises(RunwayAuthError, match="cannot read the Runway API key"):
        RunwayClients(Settings(runway_secret_arn="arn:x"), secret_fetcher=failing).api_key()


def test_secret_error_text_alone_decides_nothing() -> None:
    # GIVEN a failure whose message only *says* "timed out" (no botocore type in its chain)
    def failing(_arn: str) -> str:
        raise GetParameterError("Read timed out. (Throttling)")

    with pytest.raises(RunwayAuthError):
        RunwayClients(Settings(runway_secret_arn="arn:x"), secret_fetcher=failing).api_key()
