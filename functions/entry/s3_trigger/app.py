"""S3 trigger: every object created under ``inputs/`` becomes a job (or a REJECTED record saying why).

The rules (file types, metadata, deterministic job ids) live in ``videogen.intake.s3_inputs``.
"""

import functools
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from videogen.core.errors import PipelineUnavailable, RunwayKeyNotConfigured, StorageRefused, VideoGenError
from videogen.core.settings import Settings
from videogen.intake.job_intake import JobIntake
from videogen.intake.s3_inputs import S3Intake, S3ObjectRef
from videogen.observability import logger, metrics, route_domain_logs, tracer
from videogen.storage.clients import aws_client, dynamodb_table
from videogen.storage.job_store import JobStore
from videogen.storage.secrets import runway_api_key

route_domain_logs()

settings = Settings.from_env(require=("state_machine_arn", "jobs_table"))
_s3 = aws_client("s3")  # clients: made by the first object that needs them
intake = S3Intake(
    JobIntake(
        settings,
        jobs=JobStore(dynamodb_table(settings.jobs_table)),
        sfn=aws_client("stepfunctions"),
        s3=_s3,
        runway_key=functools.partial(runway_api_key, settings),
    ),
    s3=_s3,
    settings=settings,
)


class RetryLater(VideoGenError):
    """At least one object could not be handled for a reason that is not the file's: the pipeline was
    unavailable, the Runway key is not configured, or S3 refused to let the trigger read it (no REJECTED
    record). Lambda's async retries run the event again, then the dead-letter queue keeps it for a redrive.
    Objects already handled are found by their deterministic job id and not started twice."""


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    outcomes = []
    unhandled: list[str] = []
    for record in event.records:
        obj = S3ObjectRef(
            bucket=record.s3.bucket.name,
            key=unquote_plus(record.s3.get_object.key),
            version_id=record.s3.get_object.version_id,
            etag=record.s3.get_object.etag or None,
            size=record.s3.get_object.get("size"),
        )
        try:
            outcome = intake.handle(obj)
        except (PipelineUnavailable, RunwayKeyNotConfigured) as exc:
            logger.warning("cannot start jobs now", key=obj.key, error=exc.message)
            unhandled.append(obj.key)
            continue
        except StorageRefused as exc:
            logger.error("object unreadable", key=obj.key, error=exc.message)
            metrics.add_metric(name="S3InputsUnreadable", unit=MetricUnit.Count, value=1)
            unhandled.append(obj.key)
            continue
        logger.info("object handled", **outcome.to_dict())
        metrics.add_metric(name=f"S3Inputs{outcome.outcome.title()}", unit=MetricUnit.Count, value=1)
        outcomes.append(outcome.to_dict())
    if unhandled:
        raise RetryLater(f"could not start jobs for {unhandled}; retried by Lambda, then dead-lettered")
    return {"outcomes": outcomes}
