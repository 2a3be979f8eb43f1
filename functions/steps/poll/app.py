"""Poll Lambda: ``{"job_id", "task"}`` -> the updated task state. See videogen.pipeline.check."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from videogen.core.settings import Settings
from videogen.observability import bind_job, metrics, route_domain_logs, step_handler, trace_http_calls
from videogen.pipeline.check import check_task
from videogen.pipeline.task_state import TaskState
from videogen.runway.client import RunwayClients
from videogen.step_input import parse_step_input
from videogen.storage.clients import dynamodb_table
from videogen.storage.job_store import STEP_CLIENT_CONFIG, JobStore


class PollEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1)
    task: TaskState


SETTINGS = Settings.from_env(require=("jobs_table",))
route_domain_logs()
trace_http_calls()
RUNWAY = RunwayClients(SETTINGS)
JOBS = JobStore(dynamodb_table(SETTINGS.jobs_table, config=STEP_CLIENT_CONFIG))


@step_handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = parse_step_input(event, PollEvent)
    bind_job(parsed.job_id, task_id=parsed.task.task_id)
    state = check_task(
        parsed.job_id,
        parsed.task,
        runway=RUNWAY,
        settings=SETTINGS,
        jobs=JOBS,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )
    metrics.add_metric(name="TaskPolls", unit=MetricUnit.Count, value=1)
    if state.status == "SUCCEEDED":
        metrics.add_metric(name="TasksSucceeded", unit=MetricUnit.Count, value=1)
    return state.to_dict()
