"""Finish Lambda: the state machine's "Record and announce ..." states -> ``{"job_id", "status", "recorded",
"announced"}``. Records the job's final status once and announces it once (videogen.pipeline.lifecycle).

The failure path passes the whole execution state, so the event says what happened on the way: a cancel that
failed past its retries (``cancellation_error``) leaves the record saying the task may still be running."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from videogen.core.job import JobStatus
from videogen.core.settings import Settings
from videogen.observability import bind_job, metrics, route_domain_logs, step_handler
from videogen.pipeline.lifecycle import Ending, Lifecycle
from videogen.step_input import parse_step_input
from videogen.storage.clients import aws_client, dynamodb_table
from videogen.storage.job_store import JobStore


class Outcome(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: JobStatus


class FinishEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1)
    outcome: Outcome
    request: dict[str, Any] | None = None
    task: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    archive: dict[str, Any] | None = None
    cancellation_error: dict[str, Any] | None = None

    def ending(self) -> Ending:
        return Ending(
            self.outcome.status,
            error=self.error,
            archive=self.archive,
            task=self.task,
            task_may_be_running=self.cancellation_error is not None,
        )


SETTINGS = Settings.from_env(require=("jobs_table",))
route_domain_logs()
LIFECYCLE = Lifecycle(
    SETTINGS,
    jobs=JobStore(dynamodb_table(SETTINGS.jobs_table)),
    events=aws_client("events"),
)


@step_handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = parse_step_input(event, FinishEvent)
    bind_job(parsed.job_id, status=parsed.outcome.status.value)
    result = LIFECYCLE.finish(parsed.job_id, parsed.ending(), request=parsed.request)
    if result.recorded:
        name = "Jobs" + result.status.title().replace("_", "")  # JobsSucceeded, JobsTimedOut, ...
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return result.to_dict()
