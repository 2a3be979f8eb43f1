"""Runway misbehaving: 429 storms, 5xx bursts, broken downloads, expired URLs, failed tasks, no credits."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.aws_faults import AwsFaults
from local.runner import LocalPipeline
from tests.e2e.test_pipeline import png_bytes
from tests.faults.driving import REQUEST, runway_requests
from tests.faults.ending import SUCCEEDED, Ending, assert_ending

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.xdist_group("faults-runway")]

CREATE = "/v1/text_to_video"
TASKS = "/v1/tasks/*"


def create_statuses(pipeline: LocalPipeline, path: str = CREATE) -> list[int | None]:
    return [r.status for r in runway_requests(pipeline, "POST", path)]


def test_a_429_storm_on_create_is_ridden_out_with_one_task(pipeline: LocalPipeline) -> None:
    # GIVEN Runway answers 429 to the next five creates
    pipeline.simulator.inject("rate_limit", times=5, method="POST", path=CREATE)
    # WHEN a job runs
    job_id = pipeline.start_job(REQUEST)
    # THEN the machine retried the create until Runway accepted it, once
    assert_ending(pipeline, job_id, SUCCEEDED)
    assert create_statuses(pipeline) == [429] * 5 + [200]


def test_a_429_storm_while_polling_is_ridden_out(pipeline: LocalPipeline) -> None:
    # GIVEN Runway answers 429 to the next four task reads
    pipeline.simulator.inject("rate_limit", times=4, method="GET", path=TASKS, retry_after=0.01)
    # WHEN a job runs THEN the polls are retried and the video archived
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)


def test_a_5xx_burst_on_create_is_retried_without_a_second_task(pipeline: LocalPipeline) -> None:
    # GIVEN Runway answers 503 to the next three creates (no task was created by them)
    pipeline.simulator.inject("http_error", times=3, method="POST", path=CREATE, status=503)
    # WHEN a job runs THEN it succeeds with the one task the fourth create made
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)
    assert create_statuses(pipeline) == [503] * 3 + [200]


def test_a_5xx_burst_while_polling_is_retried(pipeline: LocalPipeline) -> None:
    pipeline.simulator.inject("http_error", times=4, method="GET", path=TASKS, status=500, retry_after=0.01)
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)


def test_a_5xx_burst_on_download_is_retried(pipeline: LocalPipeline) -> None:
    # GIVEN the output host answers 502 to the next three downloads
    pipeline.simulator.inject("http_error", times=3, method="GET", path="/_outputs/*", status=502)
    # WHEN a job runs THEN the archive step is re-run until the video is in S3, whole
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)
    downloads = [r.status for r in runway_requests(pipeline, "GET", "/_outputs/")]
    assert downloads == [502, 502, 502, 200]


@pytest.mark.parametrize("kind", ["reset_download", "truncate_download"])
def test_a_download_broken_midway_leaves_no_partial_object(pipeline: LocalPipeline, kind: str) -> None:
    # GIVEN the first download stops after half the file (a TCP reset, or a clean close)
    pipeline.simulator.inject(kind, path="/_outputs/*")
    # WHEN a job runs THEN the retried archive stores the whole file, and nothing partial is left behind
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)


def test_an_output_url_expired_before_archiving_is_fetched_again(
    pipeline: LocalPipeline, aws: AwsFaults
) -> None:
    # GIVEN the output URLs Runway gives the archive step have already expired
    aws.on_task("Archive outputs to S3", lambda job: pipeline.simulator.inject("expired_urls", ttl=0))
    # WHEN a job runs THEN the archive fetched the task again for fresh URLs
    assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)
    downloads = [r.status for r in runway_requests(pipeline, "GET", "/_outputs/")]
    assert downloads == [403, 200]


def test_output_urls_that_stay_expired_fail_the_job(pipeline: LocalPipeline, aws: AwsFaults) -> None:
    # GIVEN every output URL Runway hands out from the archive step on is already expired
    aws.on_task(
        "Archive outputs to S3",
        lambda job: pipeline.simulator.inject("expired_urls", ttl=0, times=None),
    )
    # WHEN a job runs THEN it fails with OutputExpired, the SUCCEEDED task left as it is (never deleted)
    settled = assert_ending(
        pipeline, pipeline.start_job(REQUEST), Ending("FAILED", "OutputExpired", "FAILED")
    )
    assert pipeline.simulator.task(settled.tasks[0].id)["status"] == "SUCCEEDED"
    assert runway_requests(pipeline, "DELETE") == []


@pytest.mark.parametrize("code", ["SAFETY.INPUT.TEXT", "SAFETY.OUTPUT.VIDEO"])
def test_a_moderated_task_fails_the_job_and_is_never_retried(pipeline: LocalPipeline, code: str) -> None:
    # GIVEN Runway's moderation fails the next task
    pipeline.simulator.inject("task_failure", code=code)
    # WHEN a job runs THEN it fails ContentModerated, with the one task (moderation is never retried)
    settled = assert_ending(
        pipeline, pipeline.start_job(REQUEST), Ending("FAILED", "ContentModerated", "FAILED")
    )
    assert code in str(settled.record.get("error_cause"))


def test_a_bad_output_is_generated_again_as_a_new_task(pipeline: LocalPipeline) -> None:
    # GIVEN Runway's quality check fails the next task (INTERNAL.*: a retry is recommended, it is not billed)
    pipeline.simulator.inject("task_failure", code="INTERNAL.BAD_OUTPUT.CODE01")
    # WHEN a job runs THEN a second task is created and its video archived
    settled = assert_ending(pipeline, pipeline.start_job(REQUEST), Ending("SUCCEEDED", None, "SUCCEEDED", 2))
    assert settled.record["task_id"] == settled.tasks[-1].id


def test_insufficient_credits_fail_the_job_without_a_task(pipeline: LocalPipeline) -> None:
    # GIVEN the organization has 10 credits and a 5 s gen4.5 video needs 60
    pipeline.simulator.set_credit_balance(10)
    # WHEN a job runs THEN Runway refuses the create and the job fails InsufficientCredits, nothing created
    settled = assert_ending(
        pipeline, pipeline.start_job(REQUEST), Ending("FAILED", "InsufficientCredits", "FAILED", tasks=0)
    )
    assert create_statuses(pipeline) == [400]
    assert settled.record.get("task_id") is None


def test_an_s3_input_is_uploaded_to_runway_once_across_create_retries(
    pipeline: LocalPipeline, tmp_path: Path
) -> None:
    # GIVEN an image in the bucket (an s3:// input) and Runway answering 503 to the next three creates
    frame = tmp_path / "frame.png"
    frame.write_bytes(png_bytes())
    pipeline.simulator.inject("http_error", times=3, method="POST", path="/v1/image_to_video", status=503)
    # WHEN the image-to-video job runs
    job_id = pipeline.start_job({"model": "gen4_turbo", "image": str(frame), "prompt": "the boat sails away"})
    # THEN it succeeds, and the image went to Runway once, reused by every retry of the create
    assert_ending(pipeline, job_id, SUCCEEDED)
    assert len(runway_requests(pipeline, "POST", "/v1/uploads")) == 1
