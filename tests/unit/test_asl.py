"""Static checks of the deployed ASL file (cfn-lint does not read the file behind DefinitionUri)."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from videogen.core import errors
from videogen.core.job import RECORD_FIELDS

ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = ROOT / "statemachine" / "generate_video.asl.json"

SERVICE_ERROR_PREFIXES = ("States.", "Lambda.", "Sandbox.", "DynamoDB.", "EventBridge.")
TERMINAL_TYPES = {"Succeed", "Fail"}


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    return json.loads(ASL_PATH.read_text(encoding="utf-8"))


def machines(definition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The top-level machine and every nested one (Parallel branches, Map iterators)."""
    yield definition
    for state in definition["States"].values():
        for branch in state.get("Branches", []):
            yield from machines(branch)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from machines(state[key])


def all_states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for machine in machines(definition):
        yield from machine["States"].items()


def transitions(state: dict[str, Any]) -> list[str]:
    targets = [state["Next"]] if "Next" in state else []
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    if "Default" in state:
        targets.append(state["Default"])
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    return targets


def is_terminal(state: dict[str, Any]) -> bool:
    return state["Type"] in TERMINAL_TYPES or state.get("End") is True


def graph(machine: dict[str, Any]) -> dict[str, list[str]]:
    return {name: transitions(state) for name, state in machine["States"].items()}


def reachable(edges: dict[str, list[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        todo.extend(edges.get(node, []))
    return seen


def has_cycle(edges: dict[str, list[str]]) -> list[str] | None:
    """One cycle of ``edges`` as a list of states, or None."""
    white, grey, black = 0, 1, 2
    color = dict.fromkeys(edges, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        color[node] = grey
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in color:
                continue
            if color[nxt] == grey:
                return [*stack[stack.index(nxt) :], nxt]
            if color[nxt] == white and (found := visit(nxt)):
                return found
        stack.pop()
        color[node] = black
        return None

    for node in edges:
        if color[node] == white and (found := visit(node)):
            return found
    return None


def error_entries(state: dict[str, Any]) -> Iterator[tuple[str, int, int, list[str]]]:
    for kind in ("Retry", "Catch"):
        entries = state.get(kind, [])
        for index, entry in enumerate(entries):
            yield kind, index, len(entries), entry["ErrorEquals"]


def test_definition_is_valid_json_with_known_start(asl: dict[str, Any]) -> None:
    # GIVEN the deployed file, WHEN parsed, THEN every (nested) machine starts at one of its states
    for machine in machines(asl):
        assert machine["StartAt"] in machine["States"]
        for name, state in machine["States"].items():
            assert "Type" in state, name


def test_every_transition_targets_an_existing_state(asl: dict[str, Any]) -> None:
    for machine in machines(asl):
        for name, state in machine["States"].items():
            for target in transitions(state):
                assert target in machine["States"], f"{name!r} goes to missing state {target!r}"


def test_non_terminal_states_say_where_to_go(asl: dict[str, Any]) -> None:
    for name, state in all_states(asl):
        if state["Type"] in TERMINAL_TYPES or state["Type"] == "Choice":
            continue
        assert ("Next" in state) != (state.get("End") is True), f"{name!r} needs exactly one of Next / End"


def test_no_unreachable_states(asl: dict[str, Any]) -> None:
    for machine in machines(asl):
        unreachable = set(machine["States"]) - reachable(graph(machine), machine["StartAt"])
        assert not unreachable, f"unreachable states: {sorted(unreachable)}"


def test_every_state_can_reach_an_end(asl: dict[str, Any]) -> None:
    for machine in machines(asl):
        edges = graph(machine)
        ends = {name for name, state in machine["States"].items() if is_terminal(state)}
        assert ends, "the machine has no terminal state"
        stuck = [name for name in edges if not reachable(edges, name) & ends]
        assert not stuck, f"states that can never finish: {stuck}"


def test_every_loop_passes_through_a_deadline_check(asl: dict[str, Any]) -> None:
    # GIVEN the Tasks whose Catch handles GenerationTimedOut (they enforce the job's deadline)
    # WHEN they are taken out of the graph THEN no cycle is left: every loop has a deadline
    for machine in machines(asl):
        guards = {
            name
            for name, state in machine["States"].items()
            if state["Type"] == "Task"
            and any("GenerationTimedOut" in c["ErrorEquals"] for c in state.get("Catch", []))
        }
        edges = {name: [t for t in targets if t not in guards] for name, targets in graph(machine).items()}
        edges = {name: targets for name, targets in edges.items() if name not in guards}
        cycle = has_cycle(edges)
        assert cycle is None, f"loop without a deadline: {' -> '.join(cycle or [])}"


def test_the_wait_loop_exists_and_is_guarded(asl: dict[str, Any]) -> None:
    # The check above is vacuous if the loop disappears; the poll loop is the reason it exists.
    edges = graph(asl)
    assert has_cycle(edges) is not None


def test_custom_error_names_are_videogen_exceptions(asl: dict[str, Any]) -> None:
    defined = {
        name
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, Exception) and cls.__module__ == errors.__name__
    }
    used = {
        error
        for _, state in all_states(asl)
        for _, _, _, names in error_entries(state)
        for error in names
        if not error.startswith(SERVICE_ERROR_PREFIXES)
    }
    assert used, "no custom error names: the ASL no longer matches on the pipeline's exceptions?"
    unknown = used - defined
    assert not unknown, f"Retry/Catch names that videogen.core.errors does not define: {sorted(unknown)}"


def test_failure_states_use_error_names_the_interpreter_knows(asl: dict[str, Any]) -> None:
    for name, state in all_states(asl):
        for _kind, _index, _count, names in error_entries(state):
            for error in names:
                if error.startswith("States."):
                    assert error in {
                        "States.ALL",
                        "States.TaskFailed",
                        "States.Timeout",
                        "States.HeartbeatTimeout",
                        "States.Permissions",
                        "States.ResultPathMatchFailure",
                        "States.ParameterPathFailure",
                        "States.BranchFailed",
                        "States.NoChoiceMatched",
                        "States.IntrinsicFailure",
                        "States.ExceedToleratedFailureThreshold",
                        "States.ItemReaderFailed",
                        "States.ResultWriterFailed",
                        "States.QueryEvaluationError",
                        "States.Runtime",
                    }, f"{name!r}: unknown error {error}"


def test_states_all_is_alone_and_last(asl: dict[str, Any]) -> None:
    for name, state in all_states(asl):
        for kind, index, count, names in error_entries(state):
            if "States.ALL" in names:
                assert names == ["States.ALL"], f"{name!r} {kind}[{index}]: States.ALL must be alone"
                assert index == count - 1, f"{name!r} {kind}[{index}]: States.ALL must be the last entry"


def test_stays_on_jsonpath(asl: dict[str, Any]) -> None:
    # moto's interpreter (the local runner) cannot evaluate JSONata or Assign variables.
    assert asl.get("QueryLanguage", "JSONPath") == "JSONPath"
    for name, state in all_states(asl):
        assert state.get("QueryLanguage", "JSONPath") == "JSONPath", name
        assert "Assign" not in state, f"{name!r} uses Assign"
        assert "$$.Execution.StartTime" not in json.dumps(state), f"{name!r}: moto cannot read StartTime"


def test_resources_are_substituted_not_hard_coded(asl: dict[str, Any]) -> None:
    for name, state in all_states(asl):
        if state["Type"] != "Task":
            continue
        resource = state["Resource"]
        assert re.fullmatch(r"\$\{\w+\}", resource) or resource.startswith("arn:aws:states:::"), (
            f"{name!r} hard-codes its resource {resource}"
        )
    text = ASL_PATH.read_text(encoding="utf-8")
    hard_coded = re.findall(r"arn:aws:(?!states:::)[\w-]+:[^\"]*", text)
    assert not hard_coded, f"hard-coded ARNs: {hard_coded}"


# --- One retry policy per kind of Task, and the job record's names ---------------------------------------

RUNWAY_RETRIERS = [
    {
        "ErrorEquals": ["RunwayRateLimited"],
        "IntervalSeconds": 5,
        "BackoffRate": 2,
        "MaxAttempts": 6,
        "MaxDelaySeconds": 60,
        "JitterStrategy": "FULL",
    },
    {
        "ErrorEquals": ["RunwayUnavailable"],
        "IntervalSeconds": 3,
        "BackoffRate": 2,
        "MaxAttempts": 4,
        "MaxDelaySeconds": 30,
        "JitterStrategy": "FULL",
    },
]
LAMBDA_SERVICE_RETRIER = {
    "ErrorEquals": [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ],
    "IntervalSeconds": 2,
    "BackoffRate": 2,
    "MaxAttempts": 6,
    "MaxDelaySeconds": 30,
    "JitterStrategy": "FULL",
}
DYNAMODB_RETRIER = {
    "ErrorEquals": [
        "DynamoDB.ProvisionedThroughputExceededException",
        "DynamoDB.ThrottlingException",
        "DynamoDB.InternalServerErrorException",
        "DynamoDB.RequestLimitExceeded",
        "States.TaskFailed",
    ],
    "IntervalSeconds": 1,
    "BackoffRate": 2,
    "MaxAttempts": 4,
    "JitterStrategy": "FULL",
}
JOB_STORE_RETRIER = {
    "ErrorEquals": ["JobStoreUnavailable"],
    "IntervalSeconds": 1,
    "BackoffRate": 2,
    "MaxAttempts": 5,
    "MaxDelaySeconds": 20,
    "JitterStrategy": "FULL",
}
#: Retriers a step may add to the shared ones (what only that step can safely repeat).
STEP_RETRIERS = {
    "Archive outputs to S3": {"OutputDownloadFailed", "StorageUnavailable", "Sandbox.Timedout"},
    "Upload inputs to Runway": {"JobStoreUnavailable", "Sandbox.Timedout"},
    "Create the Runway task": {"JobStoreUnavailable", "Sandbox.Timedout"},
    "Flag the lost create for the operator": {"JobStoreUnavailable"},
}
#: The Lambda steps that call Runway (the others share only the Lambda service retrier).
RUNWAY_STEPS = {
    "Upload inputs to Runway",
    "Create the Runway task",
    "Check the task",
    "Archive outputs to S3",
    "Cancel the Runway task",
}


def tasks(asl: dict[str, Any], resource_prefix: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, state)
        for name, state in all_states(asl)
        if state["Type"] == "Task" and state["Resource"].startswith(resource_prefix)
    ]


def without_comment(retrier: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in retrier.items() if k != "Comment"}


FINISH_STATES = {"Record and announce the video", "Record and announce the failure"}


def test_every_runway_step_shares_one_retry_policy(asl: dict[str, Any]) -> None:
    # GIVEN every Task that runs one of the pipeline's Lambdas, but the finish step
    steps = [(name, state) for name, state in tasks(asl, "${") if name not in FINISH_STATES]
    assert {name for name, _ in steps} == {*RUNWAY_STEPS, "Flag the lost create for the operator"}
    for name, state in steps:
        retry = [without_comment(r) for r in state["Retry"]]
        own = [r for r in retry if set(r["ErrorEquals"]) <= STEP_RETRIERS.get(name, set())]
        shared = [r for r in retry if r not in own]
        # THEN besides its own idempotent retriers, each retries Runway (if it calls it) and Lambda alike
        expected = (
            [*RUNWAY_RETRIERS, LAMBDA_SERVICE_RETRIER] if name in RUNWAY_STEPS else [LAMBDA_SERVICE_RETRIER]
        )
        assert shared == expected, name
        # AND a job record write is retried alike wherever one is
        assert all(r == JOB_STORE_RETRIER for r in own if r["ErrorEquals"] == ["JobStoreUnavailable"]), name


# --- The submit side: two states, lost creates never retried, INTERNAL failures as new tasks ---------------


def catchers_of(state: dict[str, Any], error: str) -> list[dict[str, Any]]:
    return [c for c in state.get("Catch", []) if error in c["ErrorEquals"]]


def retried(state: dict[str, Any], error: str) -> bool:
    return any(
        error in r["ErrorEquals"] or r["ErrorEquals"] == ["States.ALL"] for r in state.get("Retry", [])
    )


def test_the_machine_uploads_the_inputs_then_creates_the_task(asl: dict[str, Any]) -> None:
    states = asl["States"]
    assert asl["StartAt"] == "Upload inputs to Runway"
    assert states["Upload inputs to Runway"]["Next"] == "Create the Runway task"
    assert states["Create the Runway task"]["Next"] == "Wait for Runway"
    assert "Submit to Runway" not in states
    # The create step reads the whole state: $.previous_task is only there after an INTERNAL failure.
    assert "Parameters" not in states["Create the Runway task"]


@pytest.mark.parametrize("error", ["SubmitOutcomeUnknown", "Sandbox.Timedout", "States.Timeout"])
def test_a_lost_create_is_never_retried_and_ends_the_job_failed(asl: dict[str, Any], error: str) -> None:
    # GIVEN the create state WHEN its answer may have been lost (its own timeout or its Lambda's)
    states = asl["States"]
    create = states["Create the Runway task"]
    # THEN only a stopped Lambda is run once more (a re-run never POSTs twice: it finds the recorded task or
    # raises SubmitOutcomeUnknown), nothing else is retried, and its Catch flags it for an operator
    matching = [r for r in create["Retry"] if error in r["ErrorEquals"] or "States.ALL" in r["ErrorEquals"]]
    assert [r.get("MaxAttempts", 3) for r in matching] == ([1] if error == "Sandbox.Timedout" else [])
    (catcher,) = catchers_of(create, error)
    assert catcher["Next"] == "The create's answer was lost"
    lost = states["The create's answer was lost"]
    assert lost["Parameters"]["Error"] == "SubmitOutcomeUnknown" and lost["ResultPath"] == "$.error"
    flag = states[lost["Next"]]
    assert flag["Next"] == "The job failed" and flag["ResultPath"] == "$.error"
    assert [c["Next"] for c in flag["Catch"]] == ["The job failed"]
    assert flag["Catch"][0]["ResultPath"] != "$.error"  # a failed flag keeps the SubmitOutcomeUnknown error


def test_job_store_errors_are_retried_on_every_submit_side_step(asl: dict[str, Any]) -> None:
    for name in (
        "Upload inputs to Runway",
        "Create the Runway task",
        "Flag the lost create for the operator",
    ):
        assert retried(asl["States"][name], "JobStoreUnavailable"), name


def test_an_internal_failure_goes_back_for_a_new_task(asl: dict[str, Any]) -> None:
    # GIVEN the poll step's RunwayInternalFailure WHEN caught THEN it is not retried as the same poll
    states = asl["States"]
    check = states["Check the task"]
    assert not retried(check, "RunwayInternalFailure")
    (catcher,) = catchers_of(check, "RunwayInternalFailure")
    # AND the failed attempt becomes $.previous_task on the way back through the upload and create steps
    again = states[catcher["Next"]]
    assert catcher["Next"] == "Retry with a new task"
    assert (again["Type"], again["InputPath"], again["ResultPath"]) == ("Pass", "$.task", "$.previous_task")
    assert again["Next"] == "Upload inputs to Runway"
    assert catcher["ResultPath"] not in {"$.task", "$.error", "$.previous_task"}


def test_safety_failures_end_the_job(asl: dict[str, Any]) -> None:
    (catcher,) = catchers_of(asl["States"]["Check the task"], "ContentModerated")
    assert catcher["Next"] == "The job failed"


def test_every_dynamodb_task_shares_one_retry_policy(asl: dict[str, Any]) -> None:
    found = tasks(asl, "arn:aws:states:::dynamodb:")
    assert found
    for name, state in found:
        assert [without_comment(r) for r in state["Retry"]] == [DYNAMODB_RETRIER], name


def test_endings_are_recorded_and_announced_by_one_function_only(asl: dict[str, Any]) -> None:
    # GIVEN the states that end a job
    finish = {name: state for name, state in all_states(asl) if name in FINISH_STATES}
    # THEN both run the finish function, retry its bookkeeping errors alike, and fail the execution (for the
    # reconciler) when they cannot record the ending; no state puts events or writes finished_at itself
    assert {state["Resource"] for state in finish.values()} == {"${FinishFunctionArn}"}
    assert len({json.dumps(state["Retry"]) for state in finish.values()}) == 1
    assert finish["Record and announce the video"]["Retry"][0]["ErrorEquals"] == ["BookkeepingUnavailable"]
    for state in finish.values():
        assert [c["Next"] for c in state["Catch"]] == ["Could not record the ending"]
    assert asl["States"]["Could not record the ending"]["Type"] == "Fail"
    assert not tasks(asl, "arn:aws:states:::events:")
    for _, state in tasks(asl, "arn:aws:states:::dynamodb:"):
        assert "finished_at" not in state["Parameters"].get("UpdateExpression", "")


def test_every_task_has_an_answer_when_it_fails_past_its_retries(asl: dict[str, Any]) -> None:
    # GIVEN every Task of the machine: bookkeeping, Runway steps and the ending alike
    for name, state in all_states(asl):
        if state["Type"] != "Task":
            continue
        # THEN its last Catch takes every error, so no failure skips the machine's own ending
        assert state.get("Catch"), name
        assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"], name


_EXPRESSION_KEYWORDS = {"SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "IN", "BETWEEN"}
_FUNCTIONS = {
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "size",
    "if_not_exists",
    "list_append",
}


def attribute_names(expression: str, names: dict[str, str]) -> set[str]:
    """Every top-level attribute an update/condition/projection expression names (``#x`` resolved)."""
    found = set()
    for token in re.findall(r"[#:]?[A-Za-z_][A-Za-z0-9_]*", expression):
        if token.startswith(":") or token.upper() in _EXPRESSION_KEYWORDS or token in _FUNCTIONS:
            continue
        found.add(names[token] if token.startswith("#") else token)
    return found


def test_the_machine_writes_only_attributes_of_the_job_record(asl: dict[str, Any]) -> None:
    # GIVEN every DynamoDB Task of the machine
    found = tasks(asl, "arn:aws:states:::dynamodb:")
    seen: set[str] = set()
    for _, state in found:
        params = state["Parameters"]
        names = params.get("ExpressionAttributeNames", {})
        for key in ("UpdateExpression", "ConditionExpression", "ProjectionExpression"):
            if key in params:
                seen |= attribute_names(params[key], names)
        seen |= set(params["Key"])
    # THEN each attribute it reads or writes is a field of the record schema in code
    assert seen - RECORD_FIELDS == set()
    assert {"status", "progress", "updated_at", "cancel_requested_at"} <= seen


def test_attribute_name_check_can_fail() -> None:
    assert attribute_names("SET #s = :s, runway_task_id = :t", {"#s": "status"}) - RECORD_FIELDS == {
        "runway_task_id"
    }


def test_an_invalid_step_input_is_never_retried_and_ends_on_the_failure_path(asl: dict[str, Any]) -> None:
    # GIVEN every Lambda step of the machine (its Resource is a function ARN)
    steps = [
        (n, s) for n, s in all_states(asl) if s["Type"] == "Task" and s["Resource"].endswith("FunctionArn}")
    ]
    assert len(steps) >= 6
    for name, state in steps:
        # THEN no Retry matches InvalidStepInput (by name or through a catch-all)
        for retry in state.get("Retry", []):
            matched = set(retry["ErrorEquals"]) & {"InvalidStepInput", "States.ALL", "States.TaskFailed"}
            assert not matched, f"{name!r} retries {matched}"
        # AND a Catch takes it
        catch = next(c for c in state["Catch"] if {"InvalidStepInput", "States.ALL"} & set(c["ErrorEquals"]))
        # AND on the submit side it is named with the other bad inputs, which end the job as failed
        if name in ("Upload inputs to Runway", "Create the Runway task"):
            assert "InvalidStepInput" in catch["ErrorEquals"], name
            assert catch["Next"] == "The job failed", name
