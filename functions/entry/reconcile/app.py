"""Reconcile Lambda: settles jobs whose execution ended outside the machine's own Catch (pipeline.reconcile).

Three events:
- EventBridge "Step Functions Execution Status Change" (FAILED, TIMED_OUT, ABORTED) of this stack's machine;
- the Scheduler's sweep, ``{"sweep": true}``;
- the API's ``POST /generations/{id}/retry``, ``{"job_id": "...", "recover": true}`` (asynchronous);
- an operator's ``{"job_id": "..."}`` (``sam local invoke ReconcileFunction -e events/Reconcile-job.json``).

A Runway or AWS error is raised: the asynchronous invocation is retried, then goes to the dead-letter queue,
and the next sweep tries again."""

import functools
import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from videogen.core.errors import InvalidRequest
from videogen.core.settings import Settings
from videogen.observability import (
    bind_job,
    logger,
    metrics,
    route_domain_logs,
    step_handler,
    trace_http_calls,
)
from videogen.pipeline.archive import archive_task
from videogen.pipeline.lifecycle import Lifecycle
from videogen.pipeline.output_stream import OutputArchiver, make_http_client
from videogen.pipeline.reconcile import Reconciler
from videogen.runway.client import RunwayClients
from videogen.storage.clients import aws_client, deferred, dynamodb_table
from videogen.storage.job_store import JobStore

STATUS_CHANGE = "Step Functions Execution Status Change"


class ExecutionChange(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    status: str
    input: str | None = None
    error: str | None = None
    cause: str | None = None

    def job_id(self) -> str:
        try:
            given = json.loads(self.input or "{}").get("job_id")
        except (ValueError, AttributeError):
            given = None
        return str(given or self.name)


SETTINGS = Settings.from_env(require=("jobs_table", "output_bucket", "state_machine_arn"))
route_domain_logs()
trace_http_calls()
TABLE = dynamodb_table(SETTINGS.jobs_table)
JOBS = JobStore(TABLE)
RUNWAY = RunwayClients(SETTINGS)
ARCHIVER = OutputArchiver(
    aws_client("s3"),
    deferred(lambda: make_http_client(SETTINGS)),
    bucket=SETTINGS.output_bucket,
    max_bytes=SETTINGS.egress_max_bytes,
)
RECONCILER = Reconciler(
    SETTINGS,
    jobs=JOBS,
    table=TABLE,
    runway=RUNWAY,
    lifecycle=Lifecycle(SETTINGS, jobs=JOBS, events=aws_client("events")),
    archive=functools.partial(archive_task, runway=RUNWAY, archiver=ARCHIVER, settings=SETTINGS),
    sfn=aws_client("stepfunctions"),
)


@step_handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("sweep"):
        outcomes = RECONCILER.sweep()
        metrics.add_metric(name="JobsSwept", unit=MetricUnit.Count, value=len(outcomes))
        logger.info("swept", extra={"reconciled": len(outcomes)})
        return {"swept": [o.to_dict() for o in outcomes]}
    if event.get("recover"):
        job_id = str(event.get("job_id") or "")
        bind_job(job_id)
        outcome = RECONCILER.recover(job_id)
        metrics.add_metric(
            name="JobsRecovered", unit=MetricUnit.Count, value=int(outcome.status == "SUCCEEDED")
        )
        return outcome.to_dict()
    if event.get("detail-type") == STATUS_CHANGE:
        change = ExecutionChange.model_validate(event.get("detail") or {})
        job_id = change.job_id()
        bind_job(job_id, execution_status=change.status)
        error = {"Error": change.error, "Cause": change.cause} if change.error else None
        outcome = RECONCILER.reconcile(
            job_id, why=f"execution {change.status}", execution_status=change.status, error=error
        )
    else:
        job_id = str(event.get("job_id") or "")
        if not job_id:
            raise InvalidRequest(
                ['expected a Step Functions status change, {"sweep": true} or {"job_id": "..."}']
            )
        bind_job(job_id)
        outcome = RECONCILER.reconcile(job_id, why="asked by an operator")
    metrics.add_metric(name="JobsReconciled", unit=MetricUnit.Count, value=1)
    return outcome.to_dict()
