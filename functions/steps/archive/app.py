"""Archive Lambda: ``{"job_id", "request", "task"}`` -> where the outputs went (videogen.pipeline.archive)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from videogen.core.settings import Settings
from videogen.observability import bind_job, metrics, route_domain_logs, step_handler, trace_http_calls
from videogen.pipeline.archive import archive_task
from videogen.pipeline.output_stream import OutputArchiver, make_http_client
from videogen.pipeline.task_state import TaskState
from videogen.runway.client import RunwayClients
from videogen.step_input import parse_step_input
from videogen.storage.clients import aws_client, deferred


class ArchiveEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1)
    request: dict[str, Any] | None = None
    task: TaskState


SETTINGS = Settings.from_env(require=("output_bucket",))
route_domain_logs()
trace_http_calls()
RUNWAY = RunwayClients(SETTINGS)
ARCHIVER = OutputArchiver(
    aws_client("s3"),
    deferred(lambda: make_http_client(SETTINGS)),
    bucket=SETTINGS.output_bucket,
    max_bytes=SETTINGS.egress_max_bytes,
)


@step_handler(capture_response=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = parse_step_input(event, ArchiveEvent)
    bind_job(parsed.job_id, task_id=parsed.task.task_id)
    result = archive_task(
        parsed.job_id, parsed.request, parsed.task, runway=RUNWAY, archiver=ARCHIVER, settings=SETTINGS
    )
    metrics.add_metric(name="OutputsArchived", unit=MetricUnit.Count, value=len(result["outputs"]))
    metrics.add_metric(
        name="BytesArchived", unit=MetricUnit.Bytes, value=sum(o["bytes"] for o in result["outputs"])
    )
    metrics.add_metric(name="CreditsCharged", unit=MetricUnit.Count, value=result["credits_charged"])
    return result
