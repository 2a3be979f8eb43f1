"""No execution exceeds 10,000 Step Functions history events (the service's own limit is 25,000).

The bound is derived, not asserted: the states and retriers come from the deployed ASL file, the longest
deadline and the shortest wait from template.yaml's parameter bounds (``MaxValue`` / ``MinValue``), the
number of polls from the poll schedule's own functions. Counting per entry into a state (Step Functions
history event types):

- a Task running a Lambda function: TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted,
  LambdaFunctionSucceeded (or Failed / TimedOut), TaskStateExited: 5;
- a service integration Task: TaskStateEntered, TaskScheduled, TaskStarted, TaskSubmitted, TaskSucceeded (or
  Failed), TaskStateExited: 6;
- Wait, Choice, Pass, Succeed, Fail: entered and exited, 2;
- each retry attempt repeats the attempt's events (all but entered and exited);
- the execution itself: ExecutionStarted and its ending, 2.

Worst case = the longest path through the machine, where every state outside the poll loop exhausts every
retrier, the poll loop runs :func:`max_polls` times, and ``RETRIED_POLLS`` of those polls exhaust their
retriers too. After an ``INTERNAL.*`` failure the poll step raises ``NEW_TASK_ERROR`` and the machine goes
back through the states that create a task: at most ``RunwayInternalRetries`` (its ``MaxValue``) times, each
exhausting its retriers. The polls of all the attempts together stay within :func:`max_polls`: a new task
does not restart the job's age, from which the wait floor grows (``TaskState.job_submitted_at``).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template
from videogen.core.settings import Settings
from videogen.pipeline import poll_schedule
from videogen.pipeline.poll_schedule import PollObservation, max_polls, next_wait_seconds, wait_floor

ROOT = Path(__file__).resolve().parents[2]
ASL_PATH = ROOT / "statemachine" / "generate_video.asl.json"

HISTORY_LIMIT = 10_000
#: Polls assumed to exhaust every retrier of the loop's states (Runway 429 storms, Lambda or DynamoDB faults).
RETRIED_POLLS = 30

LAMBDA_TASK_EVENTS = 5
SERVICE_TASK_EVENTS = 6
FLOW_STATE_EVENTS = 2
EXECUTION_EVENTS = 2
ENTERED_AND_EXITED = 2
DEFAULT_MAX_ATTEMPTS = 3  # ASL's default for a retrier without MaxAttempts
FLOW_TYPES = {"Wait", "Choice", "Pass", "Succeed", "Fail"}
WAIT_PATH = "$.task.next_wait_seconds"
NEW_TASK_ERROR = "RunwayInternalFailure"
LAMBDA_GETATT = re.compile(r"^\w+Function$")


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    return json.loads(ASL_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


# --- The machine as a graph ---------------------------------------------------------------------------


def transitions(state: dict[str, Any]) -> list[str]:
    targets = [state["Next"]] if "Next" in state else []
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    if "Default" in state:
        targets.append(state["Default"])
    targets += [catcher["Next"] for catcher in state.get("Catch", [])]
    return targets


def components(edges: dict[str, list[str]]) -> list[set[str]]:
    """Strongly connected components (Tarjan), in reverse topological order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = itertools.count()

    def visit(node: str) -> None:
        index[node] = low[node] = next(counter)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            found.append(component)

    for node in edges:
        if node not in index:
            visit(node)
    return found


def is_cycle(component: set[str], edges: dict[str, list[str]]) -> bool:
    return len(component) > 1 or any(node in edges[node] for node in component)


def acyclic_without(states: set[str], removed: str, edges: dict[str, list[str]]) -> bool:
    inner = {name: [t for t in edges[name] if t in states and t != removed] for name in states - {removed}}
    return not any(is_cycle(c, inner) for c in components(inner))


# --- Events per state ---------------------------------------------------------------------------------


def runs_a_lambda(state: dict[str, Any], substitutions: dict[str, Any]) -> bool:
    resource = state["Resource"]
    if resource.startswith("arn:aws:states:::lambda:invoke"):
        return True
    placeholder = re.fullmatch(r"\$\{(\w+)\}", resource)
    if placeholder is None:
        return False
    value = substitutions[placeholder.group(1)]
    target = value.get("Fn::GetAtt") if isinstance(value, dict) else None
    target = target.split(".") if isinstance(target, str) else target
    if not (isinstance(target, list) and target[1:] == ["Arn"] and LAMBDA_GETATT.match(target[0])):
        raise AssertionError(f"{resource} is not a stack function's ARN: model this resource's events")
    return True


def entry_events(state: dict[str, Any], substitutions: dict[str, Any]) -> int:
    """History events of one entry into ``state`` without retries."""
    kind = state["Type"]
    if kind in FLOW_TYPES:
        return FLOW_STATE_EVENTS
    if kind == "Task":
        return LAMBDA_TASK_EVENTS if runs_a_lambda(state, substitutions) else SERVICE_TASK_EVENTS
    raise AssertionError(f"no event model for a {kind} state: extend this test before adding one")


def retry_events(state: dict[str, Any], substitutions: dict[str, Any]) -> int:
    """Extra events of one entry into ``state`` when every retrier is exhausted."""
    attempts = sum(r.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS) for r in state.get("Retry", []))
    return attempts * (entry_events(state, substitutions) - ENTERED_AND_EXITED)


# --- The bound ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollLoop:
    states: frozenset[str]
    wait: str
    poll: str


def without_new_task_edges(asl: dict[str, Any]) -> dict[str, list[str]]:
    """The machine's transitions but the Catch of NEW_TASK_ERROR (the way back for a new task)."""
    return {
        name: [t for t in transitions(state) if t not in new_task_targets(state)]
        for name, state in asl["States"].items()
    }


def new_task_targets(state: dict[str, Any]) -> set[str]:
    return {c["Next"] for c in state.get("Catch", []) if NEW_TASK_ERROR in c["ErrorEquals"]}


def new_task_path(asl: dict[str, Any], loop: PollLoop) -> list[str]:
    """The states from the poll step's NEW_TASK_ERROR Catch back into the poll loop, in order."""
    states = asl["States"]
    [start] = new_task_targets(states[loop.poll]) or [None]
    path: list[str] = []
    name = start
    while name is not None and name not in loop.states:
        assert name not in path, f"the way back for a new task loops on itself at {name}"
        path.append(name)
        name = states[name].get("Next")
    return path


def poll_loop(asl: dict[str, Any]) -> PollLoop:
    """The cycle through the Wait that waits the poll step's ``next_wait_seconds``, and that poll step."""
    states = asl["States"]
    edges = without_new_task_edges(asl)
    [wait] = [n for n, s in states.items() if s["Type"] == "Wait" and s.get("SecondsPath") == WAIT_PATH]
    [loop] = [c for c in components(edges) if wait in c]
    polls = [
        name
        for name in loop
        if states[name]["Type"] == "Task"
        and any("GenerationTimedOut" in c["ErrorEquals"] for c in states[name].get("Catch", []))
    ]
    assert len(polls) == 1, f"the poll loop should hold one deadline-enforcing poll, found {polls}"
    return PollLoop(frozenset(loop), wait, polls[0])


def parameter_bound(template: dict[str, Any], name: str, bound: str) -> int:
    value = template["Parameters"][name].get(bound)
    assert value is not None, f"{name} needs a {bound}: without it no execution's history is bounded"
    return int(value)


@dataclass(frozen=True)
class Bound:
    polls: int
    events_per_poll: int
    loop_retry_events_per_poll: int
    outside_loop_events: int
    total: int
    new_task_events: int = 0


def history_bound(asl: dict[str, Any], template: dict[str, Any]) -> Bound:
    """The most history events one execution can have (module docstring)."""
    [spec] = [s for s in template["Resources"].values() if s["Type"] == "AWS::Serverless::StateMachine"]
    substitutions = spec["Properties"]["DefinitionSubstitutions"]
    states = asl["States"]
    edges = without_new_task_edges(asl)
    loop = poll_loop(asl)

    deadline = parameter_bound(template, "DeadlineSeconds", "MaxValue")
    shortest_wait = parameter_bound(template, "PollMinWaitSeconds", "MinValue")
    polls = max_polls(deadline, shortest_wait)
    per_poll = sum(entry_events(states[name], substitutions) for name in loop.states)
    retried = sum(retry_events(states[name], substitutions) for name in loop.states)
    loop_events = polls * per_poll + RETRIED_POLLS * retried

    # Every other state is entered at most once: the machine's graph with the loop condensed is acyclic.
    cycles = [c for c in components(edges) if is_cycle(c, edges) and c != loop.states]
    assert not cycles, f"a cycle besides the poll loop: {cycles}; bound its entries before allowing it"
    node = {name: ("loop" if name in loop.states else name) for name in states}
    weight = {
        name: entry_events(state, substitutions) + retry_events(state, substitutions)
        for name, state in states.items()
        if name not in loop.states
    }
    weight["loop"] = loop_events
    dag: dict[str, set[str]] = {n: set() for n in weight}
    for name, targets in edges.items():
        dag[node[name]] |= {node[t] for t in targets if node[t] != node[name]}

    longest: dict[str, int] = {}

    def heaviest(n: str) -> int:
        if n not in longest:
            longest[n] = weight[n] + max((heaviest(t) for t in dag[n]), default=0)
        return longest[n]

    # Each new task after an INTERNAL failure goes once more through the states that create one.
    path = new_task_path(asl, loop)
    new_tasks = parameter_bound(template, "RunwayInternalRetries", "MaxValue") if path else 0
    new_task_events = new_tasks * sum(weight[name] for name in path)

    total = EXECUTION_EVENTS + heaviest(node[asl["StartAt"]]) + new_task_events
    outside = total - EXECUTION_EVENTS - loop_events - new_task_events
    return Bound(polls, per_poll, retried, outside, total, new_task_events)


# --- Tests ------------------------------------------------------------------------------------------------


def test_no_execution_exceeds_10000_history_events(asl: dict[str, Any], template: dict[str, Any]) -> None:
    # GIVEN the deployed ASL, the template's parameter bounds and the poll schedule
    bound = history_bound(asl, template)
    # THEN even the longest job, with every retry exhausted outside the loop and on RETRIED_POLLS polls,
    # stays under the limit
    assert bound.total <= HISTORY_LIMIT, (
        f"{bound.total} events: {bound.polls} polls x {bound.events_per_poll} + {RETRIED_POLLS} retried polls"
        f" x {bound.loop_retry_events_per_poll} + {bound.outside_loop_events} outside the loop"
        f" + {bound.new_task_events} for new tasks + 2"
    )


def test_the_loop_waits_the_schedule_between_every_two_polls(asl: dict[str, Any]) -> None:
    # GIVEN the poll loop WHEN its Wait or its poll is taken out THEN no cycle is left: every iteration
    # polls once and waits what the poll step chose
    states = asl["States"]
    edges = without_new_task_edges(asl)
    loop = poll_loop(asl)
    assert acyclic_without(set(loop.states), loop.wait, edges)
    assert acyclic_without(set(loop.states), loop.poll, edges)
    # AND only the poll step writes $.task, so the wait is the poll step's own
    assert states[loop.poll]["ResultPath"] == "$.task"
    for name in loop.states - {loop.poll}:
        paths = [states[name].get("ResultPath")] + [
            c.get("ResultPath") for c in states[name].get("Catch", [])
        ]
        assert not any(isinstance(p, str) and p.startswith("$.task") for p in paths), name
    for catcher in states[loop.poll].get("Catch", []):
        assert catcher["Next"] not in loop.states or not catcher["ResultPath"].startswith("$.task")


def documentation_mismatches(bound: Bound, template: dict[str, Any]) -> list[str]:
    """The figures of the guarantee that the poll schedule's docstring or the DeadlineSeconds description
    no longer state."""
    doc = " ".join((poll_schedule.__doc__ or "").split()).lower()
    description = " ".join(template["Parameters"]["DeadlineSeconds"]["Description"].split()).lower()
    maximum = parameter_bound(template, "DeadlineSeconds", "MaxValue")
    expected = [
        (doc, f"deadlineseconds`` <= {maximum:,}"),
        (doc, f"polled at most {bound.polls} times"),
        (doc, f"{bound.events_per_poll} history events per poll"),
        (doc, f"{bound.polls * bound.events_per_poll:,} in all"),
        (doc, f"{RETRIED_POLLS} polls exhausting theirs"),
        (description, f"at most {maximum}"),
        (description, f"polled at most {bound.polls} times"),
    ]
    return [phrase for text, phrase in expected if phrase not in text]


def test_the_documented_guarantee_is_the_derived_one(asl: dict[str, Any], template: dict[str, Any]) -> None:
    # GIVEN the figures the poll schedule's docstring and the DeadlineSeconds description give
    # THEN they are the derived ones (a raised MaxValue, a state added to the loop or a shorter floor
    # changes them: check the bound, then update the documentation)
    assert documentation_mismatches(history_bound(asl, template), template) == []


def test_the_settings_refuse_what_the_template_refuses(template: dict[str, Any]) -> None:
    # The functions read DEADLINE_SECONDS / POLL_MIN_WAIT_SECONDS: they refuse values outside the bound too.
    maximum = parameter_bound(template, "DeadlineSeconds", "MaxValue")
    Settings(deadline_seconds=maximum)
    with pytest.raises(ValueError, match="deadline_seconds"):
        Settings(deadline_seconds=maximum + 1)
    assert (
        parameter_bound(template, "PollMinWaitSeconds", "MinValue") >= poll_schedule.RUNWAY_MIN_POLL_SECONDS
    )


def observations(t: float, to_deadline: float) -> Iterator[PollObservation]:
    """A spread of what a poll may see ``t`` seconds after submission."""
    for status in ("PENDING", "THROTTLED", "RUNNING", "WEIRD"):
        for progress in (None, 0.0, 0.01, 0.5, 0.99, 1.0):
            for previous, since_previous in ((None, None), (0.2, 15.0), (0.98, 1.0)):
                yield PollObservation(
                    status,
                    progress=progress,
                    seconds_since_submit=t,
                    previous_progress=previous,
                    seconds_since_previous_check=since_previous,
                    seconds_to_deadline=to_deadline,
                )


@pytest.mark.parametrize(("min_wait", "max_wait"), [(5, 10), (10, 60), (30, 3600)])
@pytest.mark.parametrize("t", [0, 60, 899, 900, 901, 1000, 1500, 3600, 10_000, 50_000, 86_000])
@pytest.mark.parametrize("to_deadline", [-5.0, 3.0, 400.0, 1e6])
def test_no_wait_undercuts_the_floor_except_to_land_after_the_deadline(
    min_wait: int, max_wait: int, t: float, to_deadline: float
) -> None:
    # GIVEN any observation t seconds after submission WHEN a wait is chosen THEN it is at least the floor
    # (what max_polls counts on), or it reaches past the deadline, where the next poll ends the loop
    floor = wait_floor(t, min_wait)
    for obs in observations(t, to_deadline):
        wait = next_wait_seconds(obs, min_wait=min_wait, max_wait=max_wait)
        assert wait >= floor or wait >= to_deadline, obs


@pytest.mark.parametrize(
    ("deadline", "min_wait"), [(120, 5), (3600, 10), (3600, 5), (86_400, 5), (86_400, 60)]
)
def test_max_polls_counts_the_fastest_polling_job(deadline: int, min_wait: int) -> None:
    # GIVEN a task that always looks nearly done (the shortest wait the schedule gives), polled the instant
    # each wait ends, from the instant it was submitted
    t, polls = 0.0, 0
    while True:
        polls += 1
        if t >= deadline:
            break
        obs = PollObservation(
            "RUNNING",
            progress=0.99,
            seconds_since_submit=t,
            previous_progress=0.98,
            seconds_since_previous_check=1.0,
            seconds_to_deadline=deadline - t,
        )
        t += next_wait_seconds(obs, min_wait=min_wait, max_wait=60)
    # THEN it is polled exactly max_polls times
    assert polls == max_polls(deadline, min_wait)


def test_the_bound_fails_when_the_deadline_may_be_longer(
    asl: dict[str, Any], template: dict[str, Any]
) -> None:
    # GIVEN a template allowing week-long deadlines THEN the bound no longer holds
    longer = copy.deepcopy(template)
    longer["Parameters"]["DeadlineSeconds"]["MaxValue"] = 7 * 86_400
    assert history_bound(asl, longer).total > HISTORY_LIMIT
    # AND without any MaxValue there is no bound at all
    del longer["Parameters"]["DeadlineSeconds"]["MaxValue"]
    with pytest.raises(AssertionError, match="MaxValue"):
        history_bound(asl, longer)


def test_a_state_added_to_the_loop_changes_the_derived_figures(
    asl: dict[str, Any], template: dict[str, Any]
) -> None:
    # GIVEN a second Lambda Task in the poll loop (one more Runway read per poll, with the shared retriers)
    grown = copy.deepcopy(asl)
    states = grown["States"]
    states["Check the task again"] = {
        "Type": "Task",
        "Resource": states["Check the task"]["Resource"],
        "ResultPath": None,
        "Retry": copy.deepcopy(states["Check the task"]["Retry"]),
        "Next": "Is the video ready?",
    }
    states["Check the task"]["Next"] = "Check the task again"
    before, after = history_bound(asl, template), history_bound(grown, template)
    # THEN every poll costs five events more, the retried polls more still, and the documented guarantee
    # no longer matches: the test above fails until the bound is checked and the documentation updated
    assert after.events_per_poll == before.events_per_poll + LAMBDA_TASK_EVENTS
    added_retries = retry_events(
        states["Check the task again"], {"PollFunctionArn": {"Fn::GetAtt": "PollFunction.Arn"}}
    )
    assert after.total - before.total == after.polls * LAMBDA_TASK_EVENTS + RETRIED_POLLS * added_retries
    assert documentation_mismatches(after, template) != []


def test_new_tasks_after_internal_failures_are_bounded_by_their_parameter(
    asl: dict[str, Any], template: dict[str, Any]
) -> None:
    # GIVEN the way back from the poll step's NEW_TASK_ERROR to a new task
    loop = poll_loop(asl)
    path = new_task_path(asl, loop)
    assert path and loop.states.isdisjoint(path)
    # THEN it is counted once per retry the template allows, and more retries cost more events
    more = copy.deepcopy(template)
    more["Parameters"]["RunwayInternalRetries"]["MaxValue"] += 1
    before, after = history_bound(asl, template), history_bound(asl, more)
    assert after.total - before.total == before.new_task_events // parameter_bound(
        template, "RunwayInternalRetries", "MaxValue"
    )
    # AND without a MaxValue there is no bound at all
    del more["Parameters"]["RunwayInternalRetries"]["MaxValue"]
    with pytest.raises(AssertionError, match="MaxValue"):
        history_bound(asl, more)
