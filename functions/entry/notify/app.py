"""Notify: on every "Video Generation ..." event, POST the job to the request's webhook_url (signed).

Runs after the job has ended and outside the state machine, so it can neither block nor fail a job. Transient
delivery failures raise (Lambda's async retries try again later); a refusal or a bad URL is logged.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from videogen.core.log_safety import register_secret
from videogen.core.settings import Settings
from videogen.egress.policy import webhook_policy
from videogen.egress.transport import egress_client
from videogen.intake.job_views import JobViews
from videogen.notifications.delivery import Notifier, WebhookSender
from videogen.observability import logger, metrics, route_domain_logs, trace_http_calls, tracer
from videogen.storage.clients import aws_client, deferred, dynamodb_table
from videogen.storage.job_store import JobStore
from videogen.storage.secrets import read_secret

route_domain_logs()
trace_http_calls()

settings = Settings.from_env(require=("jobs_table",))
_views = JobViews(
    settings,
    jobs=JobStore(dynamodb_table(settings.jobs_table)),
    s3=aws_client("s3", config=Config(signature_version="s3v4")),
)
_policy = webhook_policy(settings)
_http = deferred(lambda: egress_client(_policy, timeout=settings.webhook_timeout_seconds))


def _secret() -> str:
    if settings.webhook_secret_arn:
        return read_secret(settings.webhook_secret_arn)
    register_secret(settings.webhook_secret)
    return settings.webhook_secret


def _load_view(job_id: str) -> dict[str, Any] | None:
    view = _views.view(job_id)
    return view.model_dump(mode="json") if view else None


notifier = Notifier(
    WebhookSender(
        _http,
        secret=_secret,
        max_attempts=settings.webhook_max_attempts,
        policy=_policy,
    ),
    load_view=_load_view,
)


@logger.inject_lambda_context(log_event=False)  # the event's detail holds the request (prompt, input URLs)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    detail = event.detail
    outcome = notifier.notify(
        job_id=str(detail.get("job_id", "")),
        status=str(detail.get("status", "")),
        request=detail.get("request") if isinstance(detail.get("request"), dict) else None,
        fallback=detail,
    )
    logger.info("webhook", detail_type=event.detail_type, **outcome.to_dict())
    metrics.add_metric(
        name=f"Webhook{outcome.outcome.title().replace('_', '')}", unit=MetricUnit.Count, value=1
    )
    return outcome.to_dict()
