"""The same request and the same S3 event arriving more than once, and what a failure leaves behind: a dead
letter for an event no retry could deliver, error records a person can read."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from typing import Any
from urllib.parse import unquote_plus

import pytest

from local.runner import LocalPipeline
from tests.faults.driving import REQUEST, api, post_generation, until
from tests.faults.ending import SUCCEEDED, Ending, assert_ending, executions_of

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.xdist_group("faults-repeats")]

STACK_TRACE_MARKS = ("stackTrace", "Traceback", 'File "')


def test_the_same_request_five_times_at_once_with_one_idempotency_key(pipeline: LocalPipeline) -> None:
    # GIVEN five clients sending the same request with the same Idempotency-Key at the same moment
    key = f"boat-{uuid.uuid4()}"
    job_ids: list[str] = []
    start = threading.Barrier(5)

    def client() -> None:
        start.wait()
        job_ids.append(post_generation(pipeline, REQUEST, key))

    threads = [threading.Thread(target=client) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # THEN every client got the same job, which ran once with one Runway task
    assert len(job_ids) == 5 and len(set(job_ids)) == 1, job_ids
    assert_ending(pipeline, job_ids[0], SUCCEEDED)
    assert len(executions_of(pipeline.sfn, pipeline, job_ids[0])) == 1


def test_the_same_s3_event_three_times(pipeline: LocalPipeline) -> None:
    # GIVEN a request file put under inputs/, whose notification started a job
    key = f"inputs/faults/{uuid.uuid4()}.json"
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=json.dumps(REQUEST).encode())
    trigger = pipeline.function("S3TriggerFunction")

    def deliveries() -> list[Any]:
        return [
            i
            for i in pipeline.async_invocations("S3TriggerFunction")
            if unquote_plus(i.event["Records"][0]["s3"]["object"]["key"]) == key
        ]

    (first,) = until(deliveries, f"the S3 notification of {key}")
    # WHEN S3 delivers the identical event twice more, at the same time
    again = [trigger.invoke_async(json.dumps(first.event)) for _ in range(2)]
    outcomes = [i.wait(30).result["outcomes"][0] for i in [first, *again]]
    # THEN one job was started, the two others found it
    job_id = outcomes[0]["job_id"]
    assert sorted(o["outcome"] for o in outcomes) == ["duplicate", "duplicate", "started"]
    assert {o["job_id"] for o in outcomes} == {job_id}
    assert_ending(pipeline, job_id, SUCCEEDED)
    assert len(executions_of(pipeline.sfn, pipeline, job_id)) == 1


def notified_arn(pipeline: LocalPipeline) -> str:
    return pipeline.function("NotifyFunction").spec.arn


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/video"


def test_an_event_no_retry_could_deliver_is_kept_in_a_dead_letter_queue(pipeline: LocalPipeline) -> None:
    # GIVEN a request whose webhook receiver is down for good
    job_id = pipeline.start_job({**REQUEST, "webhook_url": closed_port_url()})
    # WHEN the job succeeds THEN every delivery attempt of its event failed, and the event is kept
    assert_ending(pipeline, job_id, SUCCEEDED)
    (notified,) = [
        i for i in pipeline.async_invocations("NotifyFunction") if i.event["detail"]["job_id"] == job_id
    ]
    assert not notified.succeeded
    assert notified.attempts == 1 + pipeline.function("NotifyFunction").spec.async_max_retries
    letters = [letter for letter in pipeline.dead_letters() if job_id in json.dumps(letter)]
    assert [letter["requestContext"]["functionArn"] for letter in letters] == [notified_arn(pipeline)]


def test_a_failure_is_recorded_and_announced_without_a_stack_trace(pipeline: LocalPipeline) -> None:
    # GIVEN a task that moderation fails
    pipeline.simulator.inject("task_failure", code="SAFETY.INPUT.TEXT")
    # WHEN the job runs
    job_id = pipeline.start_job(REQUEST)
    settled = assert_ending(pipeline, job_id, Ending("FAILED", "ContentModerated", "FAILED"))
    # THEN the record, the event and the API carry the error's name and a message, never a stack trace
    _, view = api(pipeline, "GET", f"/generations/{job_id}")
    texts = {
        "record": json.dumps({k: v for k, v in settled.record.items() if k.startswith("error")}, default=str),
        "event": json.dumps(settled.events[0]["detail"].get("error")),
        "API": json.dumps(view.get("error")),
    }
    traced = [where for where, text in texts.items() if any(mark in text for mark in STACK_TRACE_MARKS)]
    assert not traced, texts
