"""The template's event sources, end to end on the local stack: S3 ``inputs/`` -> S3 trigger -> state
machine -> Runway simulator -> ``outputs/``, and EventBridge -> notify -> a signed webhook.

Nothing here calls the S3 trigger or the notify handler by hand: objects are put in the bucket (moto sends the
notification configured from the function's ``S3`` event) and the state machine's events reach the notify
function through the rule made from its ``EventBridgeRule`` event. Both deliveries are asynchronous, as on
AWS; the tests wait for them through ``LocalPipeline.async_invocations``.
"""

from __future__ import annotations

import email.header
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_plus

import pytest

from local.lambdas import AsyncInvocation
from local.runner import JobResult, LocalPipeline
from tests.e2e.test_pipeline import png_bytes
from tests.notify.conftest import Receiver
from tests.support.stack import assert_archived, assert_one_task, created_tasks
from videogen.notifications.signing import verify

pytestmark = pytest.mark.e2e

TIME_SCALE = 0.005
TIMEOUT = 30
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
REQUEST = {"prompt": "A paper boat drifting down a rainy street", "model": "gen4.5", "duration": 5}


@pytest.fixture(scope="module")
def module_pipeline() -> Iterator[LocalPipeline]:
    with LocalPipeline(
        time_scale=TIME_SCALE,
        env_overrides={
            "POWERTOOLS_METRICS_NAMESPACE": "Test",
            "POLL_MIN_WAIT_SECONDS": "5",
        },
    ) as pipeline:
        yield pipeline


@pytest.fixture
def pipeline(module_pipeline: LocalPipeline) -> LocalPipeline:
    """The module's pipeline with a fresh simulator (no tasks, requests or faults from other tests)."""
    module_pipeline.simulator.reset()
    return module_pipeline


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


# --- helpers ----------------------------------------------------------------------------------------------


def until(predicate: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def deliveries(pipeline: LocalPipeline, key: str) -> list[AsyncInvocation]:
    """The S3 notifications the trigger received for ``key`` (the event's key is URL-encoded)."""
    return [
        i
        for i in pipeline.async_invocations("S3TriggerFunction")
        if unquote_plus(i.event["Records"][0]["s3"]["object"]["key"]) == key
    ]


def put(pipeline: LocalPipeline, key: str, body: bytes, **metadata: str) -> dict[str, Any]:
    """PutObject under the bucket and wait for the S3 trigger's (single) delivery; returns its outcome."""
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=body, Metadata=metadata)
    (delivery,) = until(lambda: deliveries(pipeline, key), f"the S3 notification of {key}")
    delivery.wait(TIMEOUT)
    assert delivery.succeeded, delivery.error
    (outcome,) = delivery.result["outcomes"]
    return dict(outcome)


def put_request(pipeline: LocalPipeline, key: str, request: dict[str, Any]) -> dict[str, Any]:
    return put(pipeline, key, json.dumps(request).encode())


def finish(pipeline: LocalPipeline, outcome: dict[str, Any]) -> JobResult:
    assert outcome["outcome"] == "started", outcome
    return pipeline.wait(outcome["job_id"], timeout=TIMEOUT)


def notifications(pipeline: LocalPipeline, job_id: str) -> list[AsyncInvocation]:
    """The notify function's deliveries of events about ``job_id``, each waited for."""
    found = until(
        lambda: [
            i for i in pipeline.async_invocations("NotifyFunction") if i.event["detail"]["job_id"] == job_id
        ],
        f"the notify function to receive the event of {job_id}",
    )
    return [i.wait(TIMEOUT) for i in found]


def executions_of(pipeline: LocalPipeline, job_id: str) -> list[dict[str, Any]]:
    pages = pipeline.sfn.get_paginator("list_executions").paginate(
        stateMachineArn=pipeline.stack_.state_machine_arn
    )
    return [e for page in pages for e in page["executions"] if e["name"] == job_id]


def webhook_secret(pipeline: LocalPipeline) -> str:
    """The stack's generated signing secret, as a receiver configures it (``whsec_<value>``)."""
    arn = pipeline.function("NotifyFunction").spec.environment["WEBHOOK_SECRET_ARN"]
    value = pipeline.session.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return f"whsec_{value}"


def rfc2047(text: str) -> str:
    """How S3 carries non-ASCII user metadata (what ``aws s3 cp --metadata`` sends for a UTF-8 value)."""
    return email.header.Header(text, "utf-8").encode()


# --- wiring -----------------------------------------------------------------------------------------------


def test_the_functions_events_are_wired_from_the_template(pipeline):
    # GIVEN the deployed local stack
    # THEN the bucket notifies the S3 trigger for objects created under inputs/ only
    config = pipeline.s3.get_bucket_notification_configuration(Bucket=pipeline.bucket)
    (notification,) = config["LambdaFunctionConfigurations"]
    assert notification["LambdaFunctionArn"] == pipeline.function("S3TriggerFunction").spec.arn
    assert notification["Events"] == ["s3:ObjectCreated:*"]
    assert notification["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "inputs/"}]
    # AND a rule on the bus sends the four "Video Generation ..." events to the notify function
    events = pipeline.session.client("events")
    rules = events.list_rule_names_by_target(
        TargetArn=pipeline.function("NotifyFunction").spec.arn, EventBusName=pipeline.stack_.event_bus
    )["RuleNames"]
    (rule,) = rules
    pattern = json.loads(
        events.describe_rule(Name=rule, EventBusName=pipeline.stack_.event_bus)["EventPattern"]
    )
    assert pattern["source"] == ["runway-video-pipeline"]
    assert len(pattern["detail-type"]) == 4
    assert {(w.function, w.type) for w in pipeline.stack_.event_sources} == {
        ("S3TriggerFunction", "S3"),
        ("NotifyFunction", "EventBridgeRule"),
        ("ReconcileFunction", "EventBridgeRule"),
        ("ReconcileFunction", "ScheduleV2"),
    }


# --- S3 inputs --------------------------------------------------------------------------------------------


def test_image_with_metadata_becomes_a_job_archived_under_outputs(pipeline):
    # GIVEN a PNG put under inputs/ with prompt and model metadata
    outcome = put(pipeline, "inputs/boat.png", png_bytes(), prompt="the boat sails away", model="gen4_turbo")
    # WHEN the job the S3 trigger started runs
    job = finish(pipeline, outcome)
    # THEN it succeeded with the video under outputs/<job id>/, from one Runway task fed the image
    assert_archived(pipeline, job)
    task = assert_one_task(pipeline, job, endpoint="image_to_video", model="gen4_turbo")
    assert task.body["promptText"] == "the boat sails away"
    assert str(task.body["promptImage"]).startswith("runway://")
    assert job.record["source"] == "s3"
    assert job.record["source_object"] == f"s3://{pipeline.bucket}/inputs/boat.png"
    # AND the ending reached the bus (the stack's capture) and the notify function
    assert [e["detail-type"] for e in pipeline.events() if e["detail"].get("job_id") == job.job_id] == [
        "Video Generation Succeeded"
    ]
    (notified,) = notifications(pipeline, job.job_id)
    assert notified.result["outcome"] == "no_webhook"


def test_video_becomes_an_aleph2_video_to_video_job(pipeline):
    # GIVEN an .mp4 put under inputs/ with only a prompt
    outcome = put(pipeline, "inputs/clips/harbour.mp4", MP4, prompt="make it snow")
    # WHEN its job runs
    job = finish(pipeline, outcome)
    # THEN it is aleph2 video-to-video, archived
    assert_archived(pipeline, job)
    assert_one_task(pipeline, job, endpoint="video_to_video", model="aleph2")
    assert job.record["request"]["video"] == f"s3://{pipeline.bucket}/inputs/clips/harbour.mp4"


def test_json_request_becomes_a_job(pipeline):
    # GIVEN a full request as a .json file under inputs/
    outcome = put_request(pipeline, "inputs/requests/boat.json", {**REQUEST, "ratio": "1280:720"})
    # WHEN its job runs
    job = finish(pipeline, outcome)
    # THEN it is the text-to-video job the file asked for
    assert_archived(pipeline, job)
    task = assert_one_task(pipeline, job, endpoint="text_to_video", model="gen4.5")
    assert task.body["promptText"] == REQUEST["prompt"]
    assert task.body["ratio"] == "1280:720"


def test_key_with_spaces_and_unicode(pipeline):
    # GIVEN an image whose key has spaces and non-ASCII characters, and a non-ASCII prompt
    key = "inputs/paper boat été 🚤 (1).png"
    prompt = "un bateau en papier à la dérive"
    outcome = put(pipeline, key, png_bytes(), prompt=rfc2047(prompt))
    # WHEN its job runs
    job = finish(pipeline, outcome)
    # THEN the key was decoded from the notification and the prompt from the metadata
    assert_archived(pipeline, job)
    task = assert_one_task(pipeline, job, endpoint="image_to_video", model="gen4.5")
    assert task.body["promptText"] == prompt
    assert job.record["request"]["image"] == f"s3://{pipeline.bucket}/{key}"


def test_duplicate_notification_starts_one_job(pipeline):
    # GIVEN an image whose notification was delivered and started a job
    key = "inputs/duplicate.png"
    first = put(pipeline, key, png_bytes(), prompt="the boat sails away")
    (delivery,) = deliveries(pipeline, key)
    # WHEN S3 delivers the identical notification again (at-least-once delivery)
    again = pipeline.function("S3TriggerFunction").invoke_async(json.dumps(delivery.event)).wait(TIMEOUT)
    # THEN the second delivery found the same job and started nothing
    assert again.succeeded, again.error
    (second,) = again.result["outcomes"]
    assert (second["outcome"], second["job_id"]) == ("duplicate", first["job_id"])
    job = finish(pipeline, first)
    assert_archived(pipeline, job)
    assert len(executions_of(pipeline, job.job_id)) == 1
    assert len(created_tasks(pipeline)) == 1


@pytest.mark.parametrize(
    ("key", "body", "code"),
    [
        ("inputs/notes.txt", b"a paper boat", "UnsupportedFile"),
        ("inputs/unknown-model.json", json.dumps({**REQUEST, "model": "gen9"}).encode(), "InvalidRequest"),
        ("inputs/broken.json", b"{not json", "UnsupportedFile"),
    ],
)
def test_file_that_cannot_become_a_job_is_rejected(pipeline, key, body, code):
    # WHEN a file that cannot become a job is put under inputs/
    outcome = put(pipeline, key, body)
    # THEN it has a REJECTED record saying why, no execution, and Runway never heard of it
    assert outcome["outcome"] == "rejected", outcome
    record = pipeline.job(outcome["job_id"])
    assert (record["status"], record["error_code"], record["source"]) == ("REJECTED", code, "s3")
    assert record["error_cause"]
    assert executions_of(pipeline, outcome["job_id"]) == []
    assert pipeline.simulator.requests == []


def test_objects_outside_inputs_trigger_nothing(pipeline):
    # GIVEN what the trigger has received so far
    before = len(pipeline.async_invocations("S3TriggerFunction"))
    # WHEN objects are written under outputs/ and uploads/ (as the archive step and the API do)
    for key in ("outputs/some-job/0.mp4", "outputs/some-job/job.json", "uploads/some-job/frame.png"):
        pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=MP4)
    time.sleep(0.2)
    # THEN the S3 trigger was never invoked and Runway was never called
    assert len(pipeline.async_invocations("S3TriggerFunction")) == before
    assert pipeline.simulator.requests == []


def test_a_failing_delivery_is_logged_and_retried_without_failing_the_put(pipeline, caplog, monkeypatch):
    # GIVEN an S3 trigger that crashes
    function = pipeline.function("S3TriggerFunction")

    def crash(event: Any, context: Any) -> Any:
        raise RuntimeError("trigger crashed")

    monkeypatch.setattr(function, "handler", crash)
    caplog.set_level(logging.ERROR, logger="local.lambdas")
    # WHEN an image is put under inputs/
    answer = pipeline.s3.put_object(Bucket=pipeline.bucket, Key="inputs/crash.png", Body=png_bytes())
    # THEN the PutObject succeeded, the delivery was tried 1 + MaximumRetryAttempts times, each failure logged
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    (delivery,) = deliveries(pipeline, "inputs/crash.png")
    delivery.wait(TIMEOUT)
    assert not delivery.succeeded
    assert delivery.attempts == 1 + function.spec.async_max_retries
    assert delivery.error["errorType"] == "RuntimeError"
    failures = [r for r in caplog.records if "ASYNCHRONOUS INVOCATION FAILED" in r.getMessage()]
    assert len(failures) == delivery.attempts
    assert "trigger crashed" in failures[0].getMessage()
    # AND the event is kept in the dead-letter queue, with the error, instead of vanishing
    (letter,) = pipeline.dead_letters()
    assert letter["requestContext"]["condition"] == "RetriesExhausted"
    assert unquote_plus(letter["requestPayload"]["Records"][0]["s3"]["object"]["key"]) == "inputs/crash.png"
    assert letter["responsePayload"]["errorType"] == "RuntimeError"


# --- webhooks ---------------------------------------------------------------------------------------------


def assert_one_signed_webhook(
    pipeline: LocalPipeline, receiver: Receiver, job: JobResult, status: str
) -> dict:
    (notified,) = notifications(pipeline, job.job_id)
    assert notified.succeeded, notified.error
    assert notified.result["outcome"] == "delivered", notified.result
    time.sleep(0.1)  # nothing else arrives
    [delivery] = [d for d in receiver.received if json.loads(d["body"])["data"]["job_id"] == job.job_id]
    assert verify(delivery["headers"], delivery["body"], webhook_secret(pipeline))
    assert not verify(delivery["headers"], delivery["body"] + b" ", webhook_secret(pipeline))
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    assert headers["webhook-id"] == f"{job.job_id}.{status.lower()}"
    payload = json.loads(delivery["body"])
    assert payload["type"] == f"video.generation.{status.lower()}"
    assert payload["data"]["status"] == status
    return dict(payload["data"])


def test_finished_job_posts_one_signed_webhook(pipeline, receiver):
    # GIVEN a request under inputs/ whose webhook_url is a loopback receiver
    outcome = put_request(pipeline, "inputs/hooked.json", {**REQUEST, "webhook_url": receiver.url})
    # WHEN the job succeeds
    job = finish(pipeline, outcome)
    assert_archived(pipeline, job)
    # THEN the receiver got exactly one POST, signed with the stack's secret, showing the finished job
    data = assert_one_signed_webhook(pipeline, receiver, job, "SUCCEEDED")
    assert data["outputs"][0]["key"].startswith(f"outputs/{job.job_id}/")


def test_failed_job_posts_its_webhook_too(pipeline, receiver):
    # GIVEN Runway will fail the next task for moderation, and a request with a webhook
    pipeline.simulator.inject("task_failure", code="SAFETY.INPUT.TEXT")
    outcome = put_request(pipeline, "inputs/hooked-failing.json", {**REQUEST, "webhook_url": receiver.url})
    # WHEN the job fails
    job = finish(pipeline, outcome)
    assert (job.status, job.error) == ("FAILED", "ContentModerated")
    # THEN the receiver got exactly one signed POST saying so
    data = assert_one_signed_webhook(pipeline, receiver, job, "FAILED")
    assert data["job_id"] == job.job_id
