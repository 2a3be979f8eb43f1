"""Every Task of the machine failing past its retries, one by one: the job still ends in a terminal state,
announced once, with no Runway task left running (the shared ending check).

Each Lambda step is broken with an error no retrier names (the last-resort ``States.ALL`` Catch takes it);
"Was it cancelled by request?" (a DynamoDB read) is failed through the AWS fault hook. The bookkeeping writes
and the finish step have their own scenarios in ``test_aws_faults.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.aws_faults import AwsFaults
from local.runner import LocalPipeline
from tests.faults.driving import REQUEST
from tests.faults.ending import Ending, assert_ending
from videogen.core.errors import SubmitOutcomeUnknown, TaskNotFound

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.xdist_group("faults-steps")]


BROKEN = Ending("FAILED", "StepBroken", "FAILED", outputs=0)  # one task, ended (cancelled), nothing archived
BROKEN_BEFORE_RUNWAY = Ending("FAILED", "StepBroken", "FAILED", tasks=0, outputs=0)


class StepBroken(Exception):
    """An error no retrier of the machine names."""


def broken(error: type[Exception] = StepBroken) -> Any:
    def handler(event: Any, context: Any) -> Any:
        raise error("broken for this scenario")

    return handler


def break_step(pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch, logical_id: str, **kw: Any) -> None:
    monkeypatch.setattr(pipeline.function(logical_id), "handler", broken(**kw))


def test_upload_inputs_failing(pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    break_step(pipeline, monkeypatch, "UploadInputsFunction")
    assert_ending(
        pipeline, pipeline.start_job(REQUEST), Ending("FAILED", "StepBroken", "FAILED", tasks=0, outputs=0)
    )


def test_the_lost_create_flag_failing_keeps_the_jobs_error(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a create whose answer is lost, and a flag step that fails too
    break_step(pipeline, monkeypatch, "SubmitFunction", error=SubmitOutcomeUnknown)
    break_step(pipeline, monkeypatch, "LostCreateFunction")
    ending = Ending("FAILED", "SubmitOutcomeUnknown", "FAILED", tasks=0, outputs=0)
    assert_ending(pipeline, pipeline.start_job(REQUEST), ending)


def test_check_the_task_failing_cancels_the_task(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_step(pipeline, monkeypatch, "PollFunction")
    settled = assert_ending(
        pipeline, pipeline.start_job(REQUEST), Ending("FAILED", "StepBroken", "FAILED", outputs=0)
    )
    assert settled.record.get("task_may_be_running") in (None, False)


def test_check_and_cancel_both_failing_leave_the_task_to_the_reconciler(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the poll step and the cancel step both broken: the machine cannot stop the task itself
    break_step(pipeline, monkeypatch, "PollFunction")
    break_step(pipeline, monkeypatch, "CancelFunction")
    # THEN the job ends FAILED and the reconciler (on the FAILED execution) cancelled the task
    assert_ending(pipeline, pipeline.start_job(REQUEST), BROKEN)


def test_was_it_cancelled_by_request_failing(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch, aws: AwsFaults
) -> None:
    # GIVEN a poll step that reports the task gone, and the read of the cancel request failing every time
    break_step(pipeline, monkeypatch, "PollFunction", error=TaskNotFound)
    read = aws.fail("dynamodb", "GetItem", state="Was it cancelled by request?", times=None)
    # THEN the job ends FAILED with TaskNotFound and the task (still running at Runway) was cancelled
    assert_ending(
        pipeline, pipeline.start_job(REQUEST), Ending("FAILED", "TaskNotFound", "FAILED", outputs=0)
    )
    assert read.fired > 0
