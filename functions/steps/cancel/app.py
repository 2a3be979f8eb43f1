"""Cancel Lambda: ``{"job_id", "task", "error"}`` -> ``{"cancelled", "task_id", "task_status"}``.

Owns Runway cancels: the state machine calls it on a deadline or an unknown state, and the API hands
``DELETE /generations/{id}`` to it. See ``videogen.pipeline.cancel``."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from videogen.core.settings import Settings
from videogen.observability import bind_job, metrics, route_domain_logs, step_handler, trace_http_calls
from videogen.pipeline.cancel import cancel_task
from videogen.runway.client import RunwayClients
from videogen.step_input import parse_step_input


class CancelEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1)
    task: dict[str, Any] | None = None  # may be partial: only "task_id" matters
    error: dict[str, Any] | None = None

    def task_id(self) -> str | None:
        value = (self.task or {}).get("task_id")
        return value if isinstance(value, str) and value else None


SETTINGS = Settings.from_env()
route_domain_logs()
trace_http_calls()
RUNWAY = RunwayClients(SETTINGS)


@step_handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = parse_step_input(event, CancelEvent)
    bind_job(parsed.job_id, task_id=parsed.task_id())
    result = cancel_task(parsed.job_id, parsed.task_id(), runway=RUNWAY, error=parsed.error)
    metrics.add_metric(name="TasksCancelled", unit=MetricUnit.Count, value=1 if result["cancelled"] else 0)
    return result
