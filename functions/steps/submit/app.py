"""Create Lambda ("Create the Runway task"): the execution's state -> the task state ``$.task``.

Reads ``job_id``, ``request``, ``source`` and, after an ``INTERNAL.*`` failure, ``previous_task`` (the task
state of the attempt that failed). See videogen.pipeline.submit."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.observability import bind_job, metrics, route_domain_logs, step_handler, trace_http_calls
from videogen.pipeline.submit import create_task
from videogen.pipeline.task_state import TaskState
from videogen.runway.client import RunwayClients
from videogen.step_input import parse_step_input
from videogen.storage.clients import dynamodb_table
from videogen.storage.job_store import STEP_CLIENT_CONFIG, JobStore


class CreateEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, max_length=80)
    request: dict[str, Any]
    source: str | None = None
    previous_task: TaskState | None = None


# Cold start: settings and clients, once per process.
SETTINGS = Settings.from_env(require=("jobs_table",))
route_domain_logs()
trace_http_calls()
JOBS = JobStore(dynamodb_table(SETTINGS.jobs_table, config=STEP_CLIENT_CONFIG))
RUNWAY = RunwayClients(SETTINGS)


@step_handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = parse_step_input(event, CreateEvent)
    bind_job(parsed.job_id, source=parsed.source)
    request = GenerationRequest.parse(parsed.request)  # StartExecution is a public entry too
    state = create_task(
        parsed.job_id,
        request,
        parsed.source,
        previous=parsed.previous_task,
        jobs=JOBS,
        runway=RUNWAY,
        settings=SETTINGS,
    )
    metrics.add_metric(name="TasksSubmitted", unit=MetricUnit.Count, value=1)
    if state.attempt > 1:
        metrics.add_metric(name="InternalFailureRetries", unit=MetricUnit.Count, value=1)
    return state.to_dict()
