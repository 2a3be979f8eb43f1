"""Upload Lambda ("Upload inputs to Runway"): ``{"job_id", "request", "source"}`` -> ``$.inputs``.

Each ``s3://`` input is sent to Runway once and recorded; retries and later attempts reuse it. See
videogen.pipeline.upload_inputs."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.observability import bind_job, metrics, route_domain_logs, step_handler, trace_http_calls
from videogen.pipeline.upload_inputs import upload_inputs
from videogen.runway.client import RunwayClients
from videogen.step_input import parse_step_input
from videogen.storage.clients import aws_client, dynamodb_table
from videogen.storage.job_store import STEP_CLIENT_CONFIG, JobStore


class UploadEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1, max_length=80)
    request: dict[str, Any]
    source: str | None = None


# Cold start: settings and clients, once per process.
SETTINGS = Settings.from_env(require=("jobs_table",))
route_domain_logs()
trace_http_calls()
S3 = aws_client("s3")
JOBS = JobStore(dynamodb_table(SETTINGS.jobs_table, config=STEP_CLIENT_CONFIG))
RUNWAY = RunwayClients(SETTINGS)


@step_handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = parse_step_input(event, UploadEvent)
    bind_job(parsed.job_id, source=parsed.source)
    request = GenerationRequest.parse(parsed.request)  # StartExecution is a public entry too
    result = upload_inputs(
        parsed.job_id, request, parsed.source, jobs=JOBS, runway=RUNWAY, s3=S3, settings=SETTINGS
    )
    metrics.add_metric(name="InputsUploaded", unit=MetricUnit.Count, value=result["uploaded"])
    metrics.add_metric(name="UploadsReused", unit=MetricUnit.Count, value=result["reused"])
    return result
