"""Malformed inputs of the state machine's steps (a state passing the wrong shape, ``sam local invoke`` with a
bad event): each step fails with the named error InvalidStepInput listing the offending fields, never a
pydantic traceback, and touches nothing (no Runway request, no object, no record)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from local.runner import LocalPipeline
from tests.bad_input.conftest import assert_nothing_started, invoke, snapshot

pytestmark = [pytest.mark.bad_input, pytest.mark.xdist_group("bad_input")]

REQUEST = {"prompt": "a paper boat", "model": "gen4.5", "ratio": "1280:720", "duration": 5}
TASK = {
    "task_id": "task-1",
    "endpoint": "text_to_video",
    "model": "gen4.5",
    "submitted_at": "2026-11-25T09:30:00Z",
    "deadline_at": "2026-11-25T10:30:00Z",
    "next_wait_seconds": 10,
    "checked_at": "2026-11-25T09:30:00Z",
}
STEPS = [
    "UploadInputsFunction",
    "SubmitFunction",
    "LostCreateFunction",
    "PollFunction",
    "ArchiveFunction",
    "CancelFunction",
    "FinishFunction",
]


@dataclass(frozen=True)
class StepCase:
    id: str
    function: str
    event: Any
    problems: tuple[str, ...]  # each in the error message


def _every_step(id_: str, event: Any, *problems: str) -> list[StepCase]:
    return [StepCase(f"{f}-{id_}", f, event, problems) for f in STEPS]


CASES = [
    *_every_step("empty-object", {}, "input is invalid", "job_id is required"),
    *_every_step("a-json-array", [1, 2], "input must be a JSON object"),
    *_every_step(
        "job-id-a-number", {"job_id": 7, "request": REQUEST, "task": TASK}, "job_id: input should be"
    ),
    StepCase(
        "submit-request-a-string",
        "SubmitFunction",
        {"job_id": "j1", "request": "a boat"},
        ("request: input should be a valid dictionary",),
    ),
    StepCase("upload-request-missing", "UploadInputsFunction", {"job_id": "j1"}, ("request is required",)),
    StepCase(
        "submit-previous-task-wrong-shape",
        "SubmitFunction",
        {"job_id": "j1", "request": REQUEST, "previous_task": {"task_id": ""}},
        ("previous_task.task_id", "previous_task.endpoint is required"),
    ),
    StepCase("poll-task-missing", "PollFunction", {"job_id": "j1"}, ("task is required",)),
    StepCase(
        "poll-progress-out-of-range",
        "PollFunction",
        {"job_id": "j1", "task": {**TASK, "progress": 7}},
        ("task.progress: input should be less than or equal to 1",),
    ),
    StepCase(
        "poll-dates-not-dates",
        "PollFunction",
        {"job_id": "j1", "task": {**TASK, "deadline_at": "soon"}},
        ("task.deadline_at",),
    ),
    StepCase(
        "archive-task-a-list", "ArchiveFunction", {"job_id": "j1", "task": []}, ("task: input should be",)
    ),
    StepCase(
        "finish-outcome-unknown", "FinishFunction", {"job_id": "j1", "outcome": "EXPLODED"}, ("outcome",)
    ),
    StepCase(
        "finish-job-id-empty",
        "FinishFunction",
        {"job_id": "", "outcome": "SUCCEEDED"},
        ("job_id: string should have at least 1 character",),
    ),
    StepCase(
        "cancel-task-a-string",
        "CancelFunction",
        {"job_id": "j1", "task": "task-1"},
        ("task: input should be",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_malformed_step_input_is_invalid_step_input(pipeline: LocalPipeline, case: StepCase) -> None:
    before = snapshot(pipeline)
    # WHEN the step is invoked with the malformed input (as Step Functions or sam local invoke would)
    answer, failed = invoke(pipeline, case.function, case.event)
    # THEN it fails with the named error the state machine matches, its message naming the fields
    assert failed, answer
    assert answer["errorType"] == "InvalidStepInput", answer
    for text in case.problems:
        assert text in answer["errorMessage"], (text, answer["errorMessage"])
    assert "pydantic" not in answer["errorMessage"] and "errors.pydantic.dev" not in answer["errorMessage"]
    # AND it touched nothing
    assert_nothing_started(pipeline, before)
