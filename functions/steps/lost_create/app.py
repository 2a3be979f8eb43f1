"""Lost-create Lambda ("Flag the lost create for the operator"): ``{"job_id", "error"}`` -> the job's error
``{"Error": "SubmitOutcomeUnknown", "Cause"}``, after recording on the job what an operator needs to check
Runway by hand. See videogen.pipeline.lost_create."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from videogen.core.settings import Settings
from videogen.observability import bind_job, metrics, route_domain_logs, step_handler
from videogen.pipeline.lost_create import flag_lost_create
from videogen.step_input import parse_step_input
from videogen.storage.clients import dynamodb_table
from videogen.storage.job_store import STEP_CLIENT_CONFIG, JobStore


class LostCreateEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(min_length=1)
    error: dict[str, Any] | None = None


SETTINGS = Settings.from_env(require=("jobs_table",))
route_domain_logs()
JOBS = JobStore(dynamodb_table(SETTINGS.jobs_table, config=STEP_CLIENT_CONFIG))


@step_handler()
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parsed = parse_step_input(event, LostCreateEvent)
    bind_job(parsed.job_id)
    outcome = flag_lost_create(parsed.job_id, parsed.error, jobs=JOBS)
    if outcome["flagged"]:
        metrics.add_metric(name="LostCreatesFlagged", unit=MetricUnit.Count, value=1)
    return {"Error": outcome["Error"], "Cause": outcome["Cause"]}
