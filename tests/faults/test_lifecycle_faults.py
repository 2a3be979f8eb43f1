"""A job's life cut short: a Lambda killed, an execution stopped or failed from outside, and cancels at every
moment (while Runway runs, after it finished, twice, and in the instant it finishes)."""

from __future__ import annotations

import threading

import pytest

from local.aws_faults import AwsCall, AwsFaults
from local.runner import LocalPipeline
from local.simulator import ModelProfile
from tests.faults.driving import REQUEST, api, runway_requests, task_status, until, wait_for_task
from tests.faults.ending import SUCCEEDED, Ending, assert_ending

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.xdist_group("faults-lifecycle")]

CANCELLED = Ending("CANCELLED", "GenerationCancelled", "FAILED")
SUBMIT_STATES = ["Submit to Runway", "Create the Runway task"]


class HistoryLimitReached(Exception):
    """Stands for Step Functions failing an execution that reached its 25,000-event history limit."""


@pytest.fixture
def slow_generation(pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """gen4.5 takes 900 simulated seconds (4.5 s here): time enough to act while Runway generates."""
    profile = ModelProfile(median_s=900, sigma=0, min_s=900, max_s=900, credits_per_second=12)
    monkeypatch.setitem(pipeline.simulator.config.profiles, "gen4.5", profile)


def records_the_task_id(call: AwsCall) -> bool:
    """The write that sets the job's Runway task id (not one that only names it in a condition)."""
    return "#task_id = :task_id" in call.params.get("UpdateExpression", "")


def test_the_submit_lambda_killed_after_runway_accepted(pipeline: LocalPipeline, aws: AwsFaults) -> None:
    # GIVEN the submit Lambda dies of its timeout just after Runway accepted the task and its id was recorded
    kill = aws.kill("dynamodb", "UpdateItem", state=SUBMIT_STATES, where=records_the_task_id, after=True)
    # WHEN a job runs THEN the recorded task is followed to its end: one task, archived
    settled = assert_ending(pipeline, pipeline.start_job(REQUEST), SUCCEEDED)
    assert kill.fired == 1
    assert settled.record["task_id"] == settled.tasks[0].id


@pytest.mark.usefixtures("slow_generation")
def test_an_operator_stopping_the_execution_mid_generation(pipeline: LocalPipeline) -> None:
    # GIVEN a job whose Runway task is generating
    job_id = pipeline.start_job(REQUEST)
    wait_for_task(pipeline, "RUNNING")
    # WHEN an operator stops its execution
    pipeline.sfn.stop_execution(executionArn=pipeline.execution_arn(job_id), error="OperatorStopped")
    # THEN the task is cancelled at Runway and the job ends CANCELLED, announced once
    settled = assert_ending(pipeline, job_id, Ending("CANCELLED", "ExecutionAborted", "ABORTED"))
    assert pipeline.simulator.task(settled.tasks[0].id)["status"] == "CANCELLED"


@pytest.mark.usefixtures("slow_generation")
def test_an_execution_failed_at_its_history_limit_mid_generation(
    pipeline: LocalPipeline, aws: AwsFaults
) -> None:
    # GIVEN Step Functions fails the execution (outside its Retry and Catch) as it checks the task again
    polls = []

    def history_full(job_id: str) -> None:
        polls.append(job_id)
        if len(polls) == 2:
            raise HistoryLimitReached("the execution reached 25,000 history events")

    aws.on_task("Check the task", history_full, times=None)
    # WHEN a job runs THEN its Runway task is cancelled and the job ends FAILED with the execution's error
    settled = assert_ending(
        pipeline, pipeline.start_job(REQUEST), Ending("FAILED", "States.Runtime", "FAILED")
    )
    assert pipeline.simulator.task(settled.tasks[0].id)["status"] == "CANCELLED"


@pytest.mark.usefixtures("slow_generation")
def test_cancel_while_runway_generates(pipeline: LocalPipeline) -> None:
    # GIVEN a job whose Runway task is generating
    job_id = pipeline.start_job(REQUEST)
    wait_for_task(pipeline, "RUNNING")
    # WHEN it is cancelled through the API
    status, answer = api(pipeline, "DELETE", f"/generations/{job_id}")
    # THEN the API accepted it, Runway cancelled the task once, and the machine recorded CANCELLED
    assert (status, answer["status"]) == (202, "CANCELLING")
    settled = assert_ending(pipeline, job_id, CANCELLED)
    assert pipeline.simulator.task(settled.tasks[0].id)["status"] == "CANCELLED"
    assert len(runway_requests(pipeline, "DELETE")) == 1


def test_cancel_after_the_job_succeeded_is_refused(pipeline: LocalPipeline) -> None:
    # GIVEN a job that has ended SUCCEEDED
    job_id = pipeline.start_job(REQUEST)
    assert_ending(pipeline, job_id, SUCCEEDED)
    # WHEN it is cancelled through the API
    status, answer = api(pipeline, "DELETE", f"/generations/{job_id}")
    # THEN the API answers 409 and nothing changed: no DELETE at Runway, the video still archived
    assert (status, answer["code"]) == (409, "JobAlreadyFinished")
    assert runway_requests(pipeline, "DELETE") == []
    assert_ending(pipeline, job_id, SUCCEEDED)


@pytest.mark.usefixtures("slow_generation")
def test_cancel_twice(pipeline: LocalPipeline) -> None:
    # GIVEN a job whose Runway task is generating
    job_id = pipeline.start_job(REQUEST)
    wait_for_task(pipeline, "RUNNING")
    # WHEN it is cancelled twice in a row
    first = api(pipeline, "DELETE", f"/generations/{job_id}")
    second = api(pipeline, "DELETE", f"/generations/{job_id}")
    # THEN both are accepted, Runway got one DELETE, and the job ends CANCELLED once
    assert [first[0], second[0]] == [202, 202]
    assert_ending(pipeline, job_id, CANCELLED)
    assert len(runway_requests(pipeline, "DELETE")) == 1


def test_cancel_in_the_instant_runway_finishes(pipeline: LocalPipeline, aws: AwsFaults) -> None:
    # GIVEN Runway has just finished the task, and the machine has not polled it since
    finished, released = threading.Event(), threading.Event()

    def hold_until_runway_finished(job_id: str) -> None:
        until(lambda: task_status(pipeline) == "SUCCEEDED", "Runway to finish the task")
        finished.set()
        released.wait(30)

    aws.on_task("Check the task", hold_until_runway_finished)
    job_id = pipeline.start_job(REQUEST)
    until(finished.is_set, "Runway to finish the task")
    # WHEN the job is cancelled through the API in that instant
    try:
        status, answer = api(pipeline, "DELETE", f"/generations/{job_id}")
    finally:
        released.set()
    # THEN the API says it already finished, the paid video was not deleted but archived
    assert (status, answer["code"]) == (409, "JobAlreadyFinished")
    assert runway_requests(pipeline, "DELETE") == []
    assert_ending(pipeline, job_id, SUCCEEDED)
