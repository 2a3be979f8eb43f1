"""AWS misbehaving: S3 refusing the archive's writes, DynamoDB throttling each write of a job's record.

Faults are scripted with ``local.aws_faults``: ``times`` API calls fail, each past botocore's own retries,
unless ``per="attempt"`` (HTTP attempts: botocore's retries then get past them). The state machine's own
service integrations make one attempt per call.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.aws_faults import DYNAMODB_WRITES, AwsCall, AwsFaults
from local.runner import LocalPipeline
from tests.faults.driving import REQUEST
from tests.faults.ending import SUCCEEDED, Ending, assert_ending

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.xdist_group("faults-aws")]

OUTPUTS = "outputs/"
MODERATED = Ending("FAILED", "ContentModerated", "FAILED")
# The states that write a job's ending, and the one that records the Runway task id (before and after the
# finish step and the two-state submit of issue 9).
SUCCESS_STATES = ["Record the success", "Record and announce the video"]
FAILURE_STATES = ["Record the failure", "Record and announce the failure"]
SUBMIT_STATES = ["Submit to Runway", "Create the Runway task"]


def is_manifest(call: AwsCall) -> bool:
    return (call.key or "").endswith("/job.json")


def test_s3_refusing_the_archive_three_times_past_botocores_retries(
    pipeline: LocalPipeline, aws: AwsFaults
) -> None:
    # GIVEN S3 answers SlowDown to three PutObject calls under outputs/ in a row, each past botocore's retries
    aws.fail("s3", "PutObject", key_prefix=OUTPUTS, times=3)
    # WHEN a job runs THEN the archive is retried until S3 takes the video
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)


def test_an_s3_blip_within_botocores_retries_is_invisible(pipeline: LocalPipeline, aws: AwsFaults) -> None:
    # GIVEN S3 answers SlowDown to two HTTP attempts of the archive's PutObject (botocore retries them)
    fault = aws.fail("s3", "PutObject", key_prefix=OUTPUTS, times=2, per="attempt")
    # WHEN a job runs THEN it succeeds as if nothing happened
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)
    assert fault.fired == 2


def test_s3_failing_then_recovering_while_the_manifest_is_written(
    pipeline: LocalPipeline, aws: AwsFaults
) -> None:
    # GIVEN S3 refuses the first two writes of job.json (the outputs themselves go through)
    aws.fail("s3", "PutObject", where=is_manifest, times=2)
    # WHEN a job runs THEN the re-run archive completes it: the outputs and then the manifest, all in S3
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)


def test_a_multipart_upload_refused_midway_is_aborted_and_retried(
    pipeline: LocalPipeline, aws: AwsFaults
) -> None:
    # GIVEN a 17 MiB output (a two-part multipart upload), and S3 refusing one UploadPart past botocore's
    # retries
    pipeline.simulator.inject("output", size_bytes=17 * 1024 * 1024)
    aws.fail("s3", "UploadPart", key_prefix=OUTPUTS, times=1)
    # WHEN a job runs THEN the failed upload was aborted (no orphaned parts) and the archive re-run
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)


def _api_write(call: AwsCall) -> bool:
    return call.state is None  # the API's own writes run outside any Task state


WRITES: list[Any] = [
    pytest.param({"where": _api_write, "times": 2, "per": "attempt"}, SUCCEEDED, id="the API's job record"),
    pytest.param({"state": SUBMIT_STATES, "times": 1}, SUCCEEDED, id="submit's task id"),
    pytest.param(
        {"state": "Mark the job as archiving", "times": 2}, SUCCEEDED, id="Mark the job as archiving"
    ),
    pytest.param({"state": SUCCESS_STATES, "times": 2}, SUCCEEDED, id="the success"),
    pytest.param({"state": FAILURE_STATES, "times": 2}, MODERATED, id="the failure"),
]


@pytest.mark.parametrize(("fault", "ending"), WRITES)
def test_dynamodb_throttling_a_write_of_the_job_record(
    pipeline: LocalPipeline, aws: AwsFaults, fault: dict[str, Any], ending: Ending
) -> None:
    # GIVEN DynamoDB throttles one write of the job's record (ProvisionedThroughputExceededException)
    throttled = aws.fail("dynamodb", DYNAMODB_WRITES, **fault)
    if ending == MODERATED:
        pipeline.simulator.inject("task_failure", code="SAFETY.INPUT.TEXT")
    # WHEN a job runs THEN the write is retried and the job ends as it would have without the throttling
    assert_ending(pipeline, pipeline.start_job(REQUEST), ending)
    assert throttled.fired > 0, "the throttled write never happened"


def test_the_poll_steps_progress_write_failing_for_good_never_fails_the_job(
    pipeline: LocalPipeline, aws: AwsFaults
) -> None:
    # GIVEN a task THROTTLED for two minutes (so poll steps return and record the progress), and DynamoDB
    # refusing every write the poll step makes
    pipeline.simulator.inject("throttle", seconds=120)
    refused = aws.fail("dynamodb", DYNAMODB_WRITES, state="Check the task", times=None)
    # WHEN a job runs THEN it ends as it would have: the progress write is bookkeeping
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)
    assert refused.fired > 0, "the poll step never wrote the progress"


def test_record_the_failure_failing_past_its_retries(pipeline: LocalPipeline, aws: AwsFaults) -> None:
    # GIVEN a task that moderation fails, and DynamoDB refusing every write of the machine's failure record
    pipeline.simulator.inject("task_failure", code="SAFETY.INPUT.TEXT")
    aws.fail("dynamodb", DYNAMODB_WRITES, state=FAILURE_STATES, times=None)
    # WHEN the job runs THEN the execution fails, and the job is still recorded FAILED and announced once
    assert_ending(pipeline, pipeline.start_job(REQUEST), MODERATED)


def test_record_the_success_failing_past_its_retries(pipeline: LocalPipeline, aws: AwsFaults) -> None:
    # GIVEN DynamoDB refusing every write of the machine's success record
    aws.fail("dynamodb", DYNAMODB_WRITES, state=SUCCESS_STATES, times=None)
    # WHEN a job runs THEN the execution fails, but the archived job is recorded SUCCEEDED and announced once
    assert_ending(pipeline, pipeline.start_job(REQUEST), Ending("SUCCEEDED", None, "FAILED"))


def test_eventbridge_throttling_the_announcement_still_announces_once(
    pipeline: LocalPipeline, aws: AwsFaults
) -> None:
    # GIVEN EventBridge throttles two PutEvents calls of the step that announces the ending
    throttled = aws.fail("eventbridge", "PutEvents", state=SUCCESS_STATES, times=2)
    # WHEN a job runs THEN the announcement is retried until the bus takes it: one ending event
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)
    assert len(throttled.calls) == 2
