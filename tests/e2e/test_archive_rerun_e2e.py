"""End to end: S3 failing while the archive step writes a paid video, through the ASL's Retry and Catch."""

from __future__ import annotations

from typing import Any

import pytest

from local.runner import LocalPipeline
from tests.support.s3_faults import S3Faults
from tests.support.stack import assert_announced, assert_archived

pytestmark = pytest.mark.e2e

REQUEST = {"model": "gen4.5", "prompt": "A paper boat drifting down a rainy street", "duration": 5}
TIMEOUT = 60


def archive_s3(pipeline: LocalPipeline) -> Any:
    """The S3 client of the archive function's module (the one every output write goes through)."""
    return pipeline.function("ArchiveFunction").module.ARCHIVER.s3


def archive_failures(pipeline: LocalPipeline, job_id: str) -> list[str]:
    return [
        e["lambdaFunctionFailedEventDetails"]["error"]
        for e in pipeline.history(job_id)
        if e["type"] == "LambdaFunctionFailed"
    ]


def test_s3_failing_three_times_in_a_row_then_recovering_archives_the_video(pipeline: LocalPipeline) -> None:
    # GIVEN S3 answering SlowDown (past botocore's retries) to the first three writes of the video
    with S3Faults(archive_s3(pipeline)) as faults:
        faults.fail("PutObject", "SlowDown", 503, times=3)
        # WHEN a job runs
        job = pipeline.run(REQUEST, timeout=TIMEOUT)
    # THEN the machine retried the archive step until S3 recovered: the video archived whole, announced once
    assert archive_failures(pipeline, job.job_id) == ["StorageUnavailable"] * 3
    assert_archived(pipeline, job)
    assert_announced(pipeline, job.job_id, "Video Generation Succeeded", "SUCCEEDED")
    assert pipeline.s3.list_multipart_uploads(Bucket=pipeline.bucket).get("Uploads", []) == []


def test_s3_refusing_the_write_fails_the_job_without_retries(pipeline: LocalPipeline) -> None:
    # GIVEN a bucket that refuses the archive function's writes (a policy or KMS mistake)
    with S3Faults(archive_s3(pipeline)) as faults:
        faults.fail("PutObject", "AccessDenied", 403)
        job = pipeline.run(REQUEST, timeout=TIMEOUT)
    # THEN the job fails at once with StorageRefused (a retry cannot help), recorded and announced
    assert job.status == "FAILED"
    assert job.error == "StorageRefused"
    assert archive_failures(pipeline, job.job_id) == ["StorageRefused"]
    assert (job.record or {})["error_code"] == "StorageRefused"
    assert_announced(pipeline, job.job_id, "Video Generation Failed", "FAILED")
    assert pipeline.archived_keys(job.job_id) == []
