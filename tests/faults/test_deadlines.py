"""Deadlines: a task Runway keeps THROTTLED past the job's deadline, and a cancel Runway keeps refusing.

These run on a stack of their own whose jobs may wait 60 s (simulated: 0.6 s here).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.runner import LocalPipeline
from tests.faults.driving import REQUEST, runway_requests
from tests.faults.ending import Ending, assert_ending

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.xdist_group("faults-deadlines")]

TIME_SCALE = 0.01
TIMED_OUT = Ending("TIMED_OUT", "GenerationTimedOut", "FAILED")


@pytest.fixture(scope="module")
def deadline_pipeline() -> Iterator[LocalPipeline]:
    env = {"DEADLINE_SECONDS": "60", "POLL_MIN_WAIT_SECONDS": "5"}
    with LocalPipeline(time_scale=TIME_SCALE, env_overrides=env) as pipeline:
        yield pipeline


@pytest.fixture
def pipeline(deadline_pipeline: LocalPipeline) -> LocalPipeline:
    assert deadline_pipeline.simulator is not None
    deadline_pipeline.simulator.reset()
    return deadline_pipeline


def test_a_task_throttled_past_the_deadline_is_cancelled(pipeline: LocalPipeline) -> None:
    # GIVEN Runway keeps the next task THROTTLED for ten minutes
    pipeline.simulator.inject("throttle", seconds=600)
    # WHEN a job runs THEN its deadline cancels the task and the job ends TIMED_OUT
    settled = assert_ending(pipeline, pipeline.start_job(REQUEST), TIMED_OUT)
    assert [r.path for r in runway_requests(pipeline, "DELETE")] == [f"/v1/tasks/{settled.tasks[0].id}"]
    assert pipeline.simulator.task(settled.tasks[0].id)["status"] == "CANCELLED"


def test_a_cancel_runway_keeps_refusing_is_retried_until_the_task_stops(pipeline: LocalPipeline) -> None:
    # GIVEN a task THROTTLED past the deadline, and Runway answering 503 to the next ten DELETEs (more than
    # the cancel step's retries: 5 attempts x 2 SDK tries)
    pipeline.simulator.inject("throttle", seconds=600)
    pipeline.simulator.inject(
        "http_error", times=10, method="DELETE", path="/v1/tasks/*", status=503, retry_after=0.01
    )
    # WHEN the job runs past its deadline
    settled = assert_ending(pipeline, pipeline.start_job(REQUEST), TIMED_OUT)
    # THEN the cancel was retried until Runway took it: the task is CANCELLED, and the record no longer says
    # it may still be running
    assert pipeline.simulator.task(settled.tasks[0].id)["status"] == "CANCELLED"
    assert not settled.record.get("task_may_be_running")
    deletes = [r.status for r in runway_requests(pipeline, "DELETE")]
    assert deletes[:10] == [503] * 10 and deletes[-1] == 204, deletes
