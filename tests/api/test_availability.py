"""Honest availability at intake: an AWS dependency that is down is a 503 with Retry-After (API) or a raised
invocation that Lambda retries (S3 trigger); a Runway key that is not configured refuses jobs the same way,
before anything is written. Faults are scripted on moto's answers (``local.aws_faults``)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote_plus

import pytest
from aws_lambda_powertools.utilities import parameters

from local import moto_gaps
from local.aws_faults import AwsCall, AwsFaults
from tests.support.entry_points import EntryStack, api_event, entry_stack, header, response_json, s3_put_event

REQUEST = {"prompt": "A paper boat on a rainy street", "model": "gen4.5", "ratio": "1280:720", "duration": 5}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
WITH_IMAGE = {**REQUEST, "image": f"data:image/png;base64,{PNG}"}


class Intake:
    """moto + the template's tables and bucket, faults on AWS's answers, the entry points loaded on demand."""

    def __init__(self, stack: EntryStack, aws: AwsFaults, context: Any) -> None:
        self.stack, self.aws, self.context = stack, aws, context
        self.secrets = stack.client("secretsmanager")

    def api(self, **env: str) -> Callable[..., dict[str, Any]]:
        handler = self.stack.load("ApiFunction", overrides=env)
        return lambda method, path, **kw: handler(api_event(method, path, **kw), self.context)

    def trigger(self, **env: str) -> Callable[[str, bytes], dict[str, Any]]:
        handler = self.stack.load("S3TriggerFunction", overrides=env)
        s3 = self.stack.client("s3")

        def put(key: str, body: bytes) -> dict[str, Any]:
            answer = s3.put_object(Bucket=self.stack.bucket, Key=key, Body=body)
            event = s3_put_event(
                self.stack.bucket, quote_plus(key, safe="/"), etag=answer["ETag"].strip('"'), version=None
            )
            return dict(handler(event, self.context))

        return put

    def runway_secret(self, value: str | None) -> str:
        """A Runway key secret as the stack leaves it (``None``: created, never given a value)."""
        kwargs = {} if value is None else {"SecretString": value}
        return str(self.secrets.create_secret(Name=f"runway-{len(self.stack.handlers)}", **kwargs)["ARN"])

    def records(self) -> list[dict[str, Any]]:
        return list(self.stack.table.scan()["Items"])


@pytest.fixture
def intake(monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> Iterator[Intake]:
    parameters.clear_caches()
    moto_gaps.install(0.001)  # botocore's retry backoff follows the time scale
    try:
        with entry_stack(monkeypatch) as stack, AwsFaults() as aws:
            yield Intake(stack, aws, lambda_context)
    finally:
        moto_gaps.uninstall()
        parameters.clear_caches()


def _is_idempotency_table(intake: Intake) -> Callable[[AwsCall], bool]:
    return lambda call: call.params.get("TableName") == intake.stack.idempotency_table


def assert_retry_later(response: dict[str, Any], code: str, retry_after: str = "5") -> dict[str, Any]:
    assert response["statusCode"] == 503, response
    assert header(response, "Retry-After") == retry_after
    body: dict[str, Any] = response_json(response)
    assert body["code"] == code
    return body


# --- AWS unavailable at intake: 503 with Retry-After ------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "operation", "body"),
    [
        ("dynamodb", "UpdateItem", REQUEST),  # the QUEUED record
        ("s3", "PutObject", WITH_IMAGE),  # the data: input moved to S3
        ("sfn", "StartExecution", REQUEST),
    ],
    ids=["jobs-table", "bucket", "step-functions"],
)
def test_an_aws_dependency_down_at_intake_is_a_503_with_retry_after(intake, service, operation, body):
    # GIVEN one AWS dependency of the intake failing every attempt (throttled / 5xx)
    post = intake.api()
    intake.aws.fail(service, operation, times=None)
    # WHEN a valid request is posted
    response = post("POST", "/generations", body=body)
    # THEN 503 PipelineUnavailable with Retry-After, and no job was started
    assert_retry_later(response, "PipelineUnavailable")
    assert intake.stack.executions() == []
    assert [r["status"] for r in intake.records()] in ([], ["FAILED"])  # never a QUEUED job left behind


def test_the_idempotency_table_down_is_a_503_too(intake):
    post = intake.api()
    intake.aws.fail("dynamodb", ["PutItem", "GetItem"], where=_is_idempotency_table(intake), times=None)
    response = post("POST", "/generations", body=REQUEST, headers={"Idempotency-Key": "order-1"})
    assert_retry_later(response, "PipelineUnavailable")
    assert intake.stack.executions() == []


def test_a_job_read_while_dynamodb_is_down_is_a_503(intake):
    get = intake.api()
    intake.aws.fail("dynamodb", "GetItem", times=None)
    assert_retry_later(get("GET", "/generations/some-job"), "PipelineUnavailable")


def test_an_aws_refusal_is_not_called_unavailable(intake):
    # GIVEN DynamoDB refusing the write for good (access denied): a retry cannot help
    post = intake.api()
    intake.aws.fail("dynamodb", "UpdateItem", code="AccessDeniedException", status=400, times=None)
    # THEN the answer is not a 503 asking to retry (the function fails: an operator must fix the stack)
    with pytest.raises(Exception, match="AccessDenied"):
        post("POST", "/generations", body=REQUEST)


def test_a_dependency_that_recovers_within_botocores_retries_is_invisible(intake):
    post = intake.api()
    intake.aws.fail("dynamodb", "UpdateItem", times=2, per="attempt")
    assert post("POST", "/generations", body=REQUEST)["statusCode"] == 202


# --- the Runway key, read through the cached secret -------------------------------------------------------


@pytest.mark.parametrize("value", [None, "   ", "REPLACE_ME", "<your Runway API key>", '{"api_key": ""}'])
def test_jobs_are_refused_while_the_runway_key_is_not_configured(intake, value):
    # GIVEN the Runway key secret without a usable value
    post = intake.api(RUNWAY_SECRET_ARN=intake.runway_secret(value))
    # WHEN a valid request is posted
    response = post("POST", "/generations", body=WITH_IMAGE)
    # THEN 503 "Runway API key not configured", nothing recorded, stored or started
    body = assert_retry_later(response, "RunwayKeyNotConfigured", retry_after="60")
    assert body["message"].startswith("Runway API key not configured")
    assert "arn:" not in json.dumps(body)  # the secret's ARN is for the operator's logs, not for callers
    assert intake.records() == [] and intake.stack.executions() == []
    assert "Contents" not in intake.stack.client("s3").list_objects_v2(
        Bucket=intake.stack.bucket, Prefix="uploads/"
    )


def test_once_the_key_is_put_in_jobs_are_accepted(intake):
    arn = intake.runway_secret(None)
    post = intake.api(RUNWAY_SECRET_ARN=arn)
    assert post("POST", "/generations", body=REQUEST)["statusCode"] == 503
    intake.secrets.put_secret_value(SecretId=arn, SecretString="key_live_0123456789")
    assert post("POST", "/generations", body=REQUEST)["statusCode"] == 202


def test_the_key_is_read_once_per_container_not_per_request(intake):
    # GIVEN a configured key, and every GetSecretValue call counted (never failed)
    post = intake.api(RUNWAY_SECRET_ARN=intake.runway_secret("key_live_0123456789"))
    reads: list[AwsCall] = []
    intake.aws.fail("secrets-manager", "GetSecretValue", where=lambda c: bool(reads.append(c)), times=None)
    # WHEN three jobs are posted
    for _ in range(3):
        assert post("POST", "/generations", body=REQUEST)["statusCode"] == 202
    # THEN the secret was read once: the others were served from the Powertools cache (max_age)
    assert len(reads) == 1


def test_secrets_manager_down_is_a_503_pipeline_unavailable(intake):
    post = intake.api(RUNWAY_SECRET_ARN=intake.runway_secret("key_live_0123456789"))
    intake.aws.fail("secrets-manager", "GetSecretValue", code="InternalServiceError", status=500, times=None)
    assert_retry_later(post("POST", "/generations", body=REQUEST), "PipelineUnavailable")
    assert intake.records() == []


# --- the S3 trigger: raise, so Lambda retries the event and keeps it in the dead-letter queue --------------


def test_the_s3_trigger_raises_while_dynamodb_is_down(intake):
    put = intake.trigger()
    intake.aws.fail("dynamodb", "UpdateItem", times=None)
    with pytest.raises(Exception, match="retried by Lambda") as raised:
        put("inputs/request.json", json.dumps(REQUEST).encode())
    assert type(raised.value).__name__ == "RetryLater"
    assert intake.stack.executions() == []


def test_the_s3_trigger_holds_files_back_while_the_key_is_not_configured(intake):
    # GIVEN the Runway key secret left empty
    put = intake.trigger(RUNWAY_SECRET_ARN=intake.runway_secret(None))
    # WHEN a request file arrives
    with pytest.raises(Exception, match="retried by Lambda") as raised:
        put("inputs/request.json", json.dumps(REQUEST).encode())
    # THEN the invocation fails (retried, then kept in the dead-letter queue for a redrive) and the file is
    # not REJECTED: the missing key is the operator's problem, not the file's
    assert type(raised.value).__name__ == "RetryLater"
    assert intake.records() == [] and intake.stack.executions() == []
