"""End to end: a Runway task whose output URL points somewhere the egress policy refuses fails the job with
OutputHostNotAllowed, without a download attempt or a retry, and stores nothing."""

from __future__ import annotations

import pytest

from local.runner import LocalPipeline
from tests.e2e.conftest import TIME_SCALE
from tests.support.stack import assert_announced

pytestmark = pytest.mark.e2e

REQUEST = {"model": "gen4.5", "prompt": "A lighthouse at dawn", "duration": 5}


@pytest.mark.parametrize(
    "output_url",
    [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://2852039166/latest/meta-data/",
        "https://[::ffff:169.254.169.254]/latest/meta-data/",
        "https://10.0.0.12/video.mp4",
        "https://attacker.example.com/video.mp4",
    ],
)
def test_an_output_url_outside_the_egress_policy_fails_the_job(
    pipeline: LocalPipeline, output_url: str
) -> None:
    # GIVEN a Runway task that SUCCEEDS with an output URL the policy refuses (metadata address, another host)
    pipeline.simulator.inject("output", urls=[output_url])
    # WHEN the job runs through the state machine
    job = pipeline.run(REQUEST, timeout=30)
    # THEN it FAILED with the named error, and the archive step ran once: refused, not retried
    assert (job.status, job.error) == ("FAILED", "OutputHostNotAllowed"), job.cause
    failed = [e for e in pipeline.history(job.job_id) if e["type"] == "LambdaFunctionFailed"]
    assert [e["lambdaFunctionFailedEventDetails"]["error"] for e in failed] == ["OutputHostNotAllowed"]
    # AND nothing was stored under the job's prefix, the record says why and the failure was announced
    assert pipeline.archived_keys(job.job_id) == []
    assert job.record["status"] == "FAILED"
    assert job.record["error_code"] == "OutputHostNotAllowed"
    assert_announced(pipeline, job.job_id, "Video Generation Failed", "FAILED")


def test_an_output_larger_than_egress_max_bytes_fails_the_job_and_stores_nothing() -> None:
    # GIVEN a stack whose EgressMaxBytes is 1 MiB and a Runway task whose output is bigger
    with LocalPipeline(time_scale=TIME_SCALE, parameters={"EgressMaxBytes": "1048576"}) as pipeline:
        pipeline.simulator.inject("output", size_bytes=3 * 1024 * 1024)
        # WHEN the job runs
        job = pipeline.run(REQUEST, timeout=30)
        # THEN it FAILED with OutputTooLarge after one archive attempt, and no object is left
        assert (job.status, job.error) == ("FAILED", "OutputTooLarge"), job.cause
        failed = [e for e in pipeline.history(job.job_id) if e["type"] == "LambdaFunctionFailed"]
        assert [e["lambdaFunctionFailedEventDetails"]["error"] for e in failed] == ["OutputTooLarge"]
        assert pipeline.archived_keys(job.job_id) == []
        assert job.record["error_code"] == "OutputTooLarge"


def test_with_any_output_host_allowed_private_addresses_are_still_refused() -> None:
    # GIVEN a stack whose OutputHostAllowlist is "*" (any public host): only the address rule stands
    with LocalPipeline(time_scale=TIME_SCALE, parameters={"OutputHostAllowlist": "*"}) as pipeline:
        for url in ("https://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/", "https://10.1/"):
            pipeline.simulator.inject("output", urls=[url])
            # WHEN the job runs THEN it fails with OutputHostNotAllowed and stores nothing
            job = pipeline.run(REQUEST, timeout=30)
            assert (job.status, job.error) == ("FAILED", "OutputHostNotAllowed"), (url, job.cause)
            assert pipeline.archived_keys(job.job_id) == []
