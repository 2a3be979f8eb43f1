"""End to end: requests through the deployed ASL, the real handlers (in-process) and the Runway simulator."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from local.runner import LocalPipeline
from tests.e2e.conftest import TIME_SCALE
from tests.support.stack import (
    assert_announced,
    assert_archived,
    assert_one_task,
    created_tasks,
    creates,
)
from videogen.core.errors import GenerationTimedOut

pytestmark = pytest.mark.e2e

IMAGE_URL = "https://example.com/frame.png"
VIDEO_URL = "https://example.com/clip.mp4"
TIMEOUT = 30


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def run(pipeline: LocalPipeline, request: dict[str, Any]) -> Any:
    return pipeline.run(request, timeout=TIMEOUT)


def test_text_to_video(pipeline: LocalPipeline) -> None:
    # GIVEN a text prompt for gen4.5
    request = {"model": "gen4.5", "prompt": "A paper boat drifting down a rainy street", "duration": 5}
    # WHEN the job runs through the state machine
    job = run(pipeline, request)
    # THEN one mp4 is archived with a matching manifest, the record is SUCCEEDED and announced
    [output] = assert_archived(pipeline, job)
    assert output["content_type"] == "video/mp4"
    assert pipeline.read_object(output["key"])[4:8] == b"ftyp"
    task = assert_one_task(pipeline, job, endpoint="text_to_video", model="gen4.5")
    assert task.body["promptText"] == request["prompt"]
    assert job.record["source"] == "api"  # the runner starts jobs through the API function
    assert job.record["credits_charged"] == job.manifest["credits"]["charged"] > 0
    assert_announced(pipeline, job.job_id, "Video Generation Succeeded", "SUCCEEDED")


def test_image_to_video_from_an_https_url(pipeline: LocalPipeline) -> None:
    # GIVEN a gen4_turbo request whose first frame is an https URL
    job = run(pipeline, {"model": "gen4_turbo", "image": IMAGE_URL, "prompt": "the boat sails away"})
    # THEN the URL reached Runway untouched and the video is archived
    assert_archived(pipeline, job)
    task = assert_one_task(pipeline, job, endpoint="image_to_video", model="gen4_turbo")
    assert IMAGE_URL in str(task.body["promptImage"])
    assert not [r for r in pipeline.simulator.requests if r.path == "/v1/uploads"]


def test_image_to_video_from_an_s3_object(pipeline: LocalPipeline, tmp_path: Path) -> None:
    # GIVEN a local PNG: the runner puts it in the bucket under uploads/<uuid>/ and passes its s3:// URI
    frame = tmp_path / "frame.png"
    frame.write_bytes(png_bytes())
    job = run(pipeline, {"model": "gen4_turbo", "image": str(frame), "prompt": "the boat sails away"})
    # THEN the submit step uploaded it to Runway (ephemeral upload) and the task used the runway:// URI
    assert_archived(pipeline, job)
    assert re.fullmatch(
        rf"s3://{pipeline.bucket}/uploads/[0-9a-f-]{{36}}/frame\.png", job.record["request"]["image"]
    )
    task = assert_one_task(pipeline, job, endpoint="image_to_video", model="gen4_turbo")
    assert str(task.body["promptImage"]).startswith("runway://")
    uploads = [r for r in pipeline.simulator.requests if r.method == "POST" and r.path == "/v1/uploads"]
    assert len(uploads) == 1
    assert uploads[0].body["filename"] == "frame.png"


def test_video_to_video(pipeline: LocalPipeline) -> None:
    job = run(pipeline, {"model": "aleph2", "video": VIDEO_URL, "prompt": "make it snow"})
    assert_archived(pipeline, job)
    task = assert_one_task(pipeline, job, endpoint="video_to_video", model="aleph2")
    assert VIDEO_URL in str(task.body)


def test_character_performance(pipeline: LocalPipeline) -> None:
    job = run(
        pipeline,
        {"model": "act_two", "character": IMAGE_URL, "character_type": "image", "reference": VIDEO_URL},
    )
    assert_archived(pipeline, job)
    task = assert_one_task(pipeline, job, endpoint="character_performance", model="act_two")
    assert task.body["character"] == {"type": "image", "uri": IMAGE_URL}
    assert task.body["reference"] == {"type": "video", "uri": VIDEO_URL}


def test_content_moderation_failure(pipeline: LocalPipeline) -> None:
    # GIVEN Runway fails the next task for SAFETY.INPUT.TEXT
    pipeline.simulator.inject("task_failure", code="SAFETY.INPUT.TEXT")
    # WHEN the job runs
    job = run(pipeline, {"model": "gen4.5", "prompt": "something Runway refuses"})
    # THEN the execution fails with ContentModerated, the record is FAILED, nothing is archived
    assert job.status == "FAILED"
    assert job.error == "ContentModerated"
    assert "SAFETY.INPUT.TEXT" in (job.cause or "")
    assert job.record["status"] == "FAILED"
    assert job.record["error_code"] == "ContentModerated"
    assert pipeline.archived_keys(job.job_id) == []
    assert len(created_tasks(pipeline)) == 1
    event = assert_announced(pipeline, job.job_id, "Video Generation Failed", "FAILED")
    assert event["detail"]["error"]["Error"] == "ContentModerated"


def test_rate_limit_storm_on_create_is_retried_by_the_state_machine(pipeline: LocalPipeline) -> None:
    # GIVEN Runway answers 429 to the next three creates
    pipeline.simulator.inject("rate_limit", times=3, method="POST", path="/v1/text_to_video")
    # WHEN the job runs
    job = run(pipeline, {"model": "gen4.5", "prompt": "patience"})
    # THEN the ASL's Retry on RunwayRateLimited re-ran the submit step until Runway accepted it, once
    assert_archived(pipeline, job)
    assert [r.status for r in creates(pipeline)] == [429, 429, 429, 200]
    assert_one_task(pipeline, job, endpoint="text_to_video", model="gen4.5")
    failed = [e for e in pipeline.history(job.job_id) if e["type"] == "LambdaFunctionFailed"]
    assert [e["lambdaFunctionFailedEventDetails"]["error"] for e in failed] == ["RunwayRateLimited"] * 3


def test_output_url_expired_before_archiving_is_fetched_again(pipeline: LocalPipeline) -> None:
    # GIVEN the output URLs Runway hands to the archive step have already expired
    archive = pipeline.function("ArchiveFunction")
    original = archive.handler

    def expire_then_archive(event: Any, context: Any) -> Any:
        pipeline.simulator.inject("expired_urls", ttl=0)
        return original(event, context)

    archive.handler = expire_then_archive
    try:
        job = run(pipeline, {"model": "gen4.5", "prompt": "slow hands"})
    finally:
        archive.handler = original
    # THEN the download was refused (403), the task was fetched again for fresh URLs and archived
    assert_archived(pipeline, job)
    downloads = [r.status for r in pipeline.simulator.requests if r.path.startswith("/_outputs/")]
    assert downloads == [403, 200]
    assert_one_task(pipeline, job, endpoint="text_to_video", model="gen4.5")


def test_multi_output_task(pipeline: LocalPipeline) -> None:
    pipeline.simulator.inject("output", count=3)
    job = run(pipeline, {"model": "gen4.5", "prompt": "three takes"})
    outputs = assert_archived(pipeline, job, outputs=3)
    assert len({o["sha256"] for o in outputs}) == 3
    assert_one_task(pipeline, job, endpoint="text_to_video", model="gen4.5")


def test_deadline_passes_and_the_runway_task_is_cancelled() -> None:
    # GIVEN a stack whose jobs may wait 60 s (simulated: handler clocks run on the same time scale)
    with LocalPipeline(time_scale=TIME_SCALE, env_overrides={"DEADLINE_SECONDS": "60"}) as pipeline:
        # AND Runway keeps the task THROTTLED for ten minutes
        pipeline.simulator.inject("throttle", seconds=600)
        # WHEN the job runs
        job = run(pipeline, {"model": "gen4.5", "prompt": "never on time"})
        # THEN the poll step raised GenerationTimedOut, the task was cancelled, the record is TIMED_OUT
        assert job.status == "FAILED"
        assert job.error == "GenerationTimedOut"
        [task] = created_tasks(pipeline)
        deletes = [r for r in pipeline.simulator.requests if r.method == "DELETE"]
        assert [r.path for r in deletes] == [f"/v1/tasks/{task.id}"]
        assert job.record["status"] == "TIMED_OUT"
        assert job.record["error_code"] == "GenerationTimedOut"
        assert pipeline.archived_keys(job.job_id) == []
        assert_announced(pipeline, job.job_id, "Video Generation Timed Out", "TIMED_OUT")


def see_the_deadline_as_runway_finishes(pipeline: LocalPipeline) -> None:
    """Make the poll step raise GenerationTimedOut on the poll that would have seen SUCCEEDED."""
    poll = pipeline.function("PollFunction")
    real_handler = poll.handler

    def deadline_as_it_finishes(event: Any, context: Any) -> Any:
        state = real_handler(event, context)
        if state["status"] == "SUCCEEDED":
            raise GenerationTimedOut("the deadline passed (simulated at the instant Runway finished)")
        return state

    poll.handler = deadline_as_it_finishes


def test_a_task_that_finishes_as_the_deadline_passes_is_archived_not_lost() -> None:
    # GIVEN a poll step that sees the deadline pass in the instant Runway finishes the task
    with LocalPipeline(time_scale=TIME_SCALE) as pipeline:
        see_the_deadline_as_runway_finishes(pipeline)
        # WHEN the job runs
        job = run(pipeline, {"model": "gen4.5", "prompt": "just in time"})
        # THEN the cancel step read the task first, left the SUCCEEDED task alone and the video was archived
        assert not [r for r in pipeline.simulator.requests if r.method == "DELETE"]
        assert_archived(pipeline, job)
        assert_one_task(pipeline, job, endpoint="text_to_video", model="gen4.5")
        assert_announced(pipeline, job.job_id, "Video Generation Succeeded", "SUCCEEDED")


def test_an_archive_that_fails_after_the_late_finish_still_ends_the_job_once() -> None:
    # GIVEN the same late finish, and output URLs that are expired every time Runway gives them out
    with LocalPipeline(time_scale=TIME_SCALE) as pipeline:
        see_the_deadline_as_runway_finishes(pipeline)
        pipeline.simulator.inject("expired_urls", ttl=0, times=None)
        # WHEN the job runs
        job = run(pipeline, {"model": "gen4.5", "prompt": "just in time, but unreachable"})
        # THEN the archive's failure ends the job FAILED, announced once, with nothing deleted or left running
        assert job.status == "FAILED" and job.error == "OutputExpired"
        assert job.record["status"] == "FAILED" and job.record["error_code"] == "OutputExpired"
        assert not [r for r in pipeline.simulator.requests if r.method == "DELETE"]
        [task] = created_tasks(pipeline)
        assert pipeline.simulator.task(task.id)["status"] == "SUCCEEDED"  # type: ignore[index]
        # AND the machine announced the failure exactly once (read from its history: a second stack alive in
        # this process, the module's shared pipeline, also captures events from the default bus)
        entered = [
            e["stateEnteredEventDetails"]["name"]
            for e in pipeline.history(job.job_id)
            if e["type"] == "TaskStateEntered"
        ]
        assert (
            entered.count("Record and announce the failure") == 1
            and "Record and announce the video" not in entered
        )
