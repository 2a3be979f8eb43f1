"""HTTP API of the pipeline (API Gateway REST API, one Lambda, Powertools Event Handler with OpenAPI).

Routes: POST/GET /generations, GET/DELETE /generations/{job_id}, POST /generations/{job_id}/retry,
GET /models, POST /uploads, GET /openapi.json. Jobs belong to their caller (``videogen.intake.callers``):
every /generations route sees only the caller's jobs, unless the caller is one of ADMIN_PRINCIPALS.
Every rule lives in ``videogen.intake``; this module parses, calls one method and shapes the answer.
"""

import base64
import binascii
import functools
import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from videogen.catalog import catalog_document
from videogen.core.errors import (
    CallerNotIdentified,
    IdempotencyConflict,
    InvalidIdempotencyKey,
    InvalidPageToken,
    InvalidRequest,
    JobAlreadyFinished,
    JobNotFound,
    JobNotRecoverable,
    PipelineUnavailable,
    RunwayKeyNotConfigured,
    UploadRejected,
    VideoGenError,
    listed_problems,
)
from videogen.core.job import JobStatus
from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.intake.api_models import (
    Accepted,
    CancelAnswer,
    JobPage,
    JobView,
    Problem,
    RecoveryAnswer,
    UploadRequest,
    UploadTicket,
    describe_invalid_inputs,
)
from videogen.intake.api_service import GenerationService, idempotency_config, make_idempotent_create
from videogen.intake.availability import transient_aws_failure
from videogen.intake.callers import Caller, admin_owners, api_caller
from videogen.intake.cancellation import CancelFunction, JobCanceller
from videogen.intake.job_intake import JobIntake
from videogen.intake.job_views import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, JobLister, JobViews
from videogen.intake.recovery import JobRecovery, RecoverFunction
from videogen.intake.request_body import refuse_body
from videogen.observability import logger, metrics, route_domain_logs, tracer
from videogen.storage.clients import aws_client, deferred, dynamodb_table
from videogen.storage.job_store import JobStore
from videogen.storage.secrets import runway_api_key

API_TITLE = "Runway video pipeline"
API_VERSION = "1.0.0"

route_domain_logs()

settings = Settings.from_env(
    require=(
        "state_machine_arn",
        "jobs_table",
        "output_bucket",
        "cancel_function_name",
        "reconcile_function_name",
    )
)
# Clients are made by the first request that calls them (videogen.storage.clients), once per container.
_s3 = aws_client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
_sfn = aws_client("stepfunctions")
_lambda = aws_client("lambda")
_table = dynamodb_table(settings.jobs_table)
_jobs = JobStore(_table)

service = GenerationService(
    settings,
    intake=JobIntake(
        settings, jobs=_jobs, sfn=_sfn, s3=_s3, runway_key=functools.partial(runway_api_key, settings)
    ),
    canceller=JobCanceller(jobs=_jobs, runway_cancel=CancelFunction(_lambda, settings.cancel_function_name)),
    recovery=JobRecovery(jobs=_jobs, recover=RecoverFunction(_lambda, settings.reconcile_function_name)),
    views=JobViews(settings, jobs=_jobs, s3=_s3),
    lister=JobLister(_table),
    s3=_s3,
)
_admins = admin_owners(settings.admin_principals)
_idempotency = idempotency_config(settings)
if settings.idempotency_table:
    _idempotency_table = settings.idempotency_table
    make_idempotent_create(
        service,
        persistence_store=deferred(lambda: DynamoDBPersistenceLayer(table_name=_idempotency_table)),
        config=_idempotency,
    )

app = APIGatewayRestResolver(enable_validation=True)


def _problem_doc(description: str) -> OpenAPIResponse:
    """The OpenAPI response of an error answered with a ``Problem`` body."""
    return {"description": description, "content": {"application/json": {"model": Problem}}}


NO_IDENTITY = "No verified caller identity (IAM principal or API key id) in the request"
NOT_YOURS = "No such job, or another caller's (both answered alike)"


def _unavailable_doc(description: str) -> OpenAPIResponse:
    """A 503: try again after the ``Retry-After`` header's seconds."""
    return {
        **_problem_doc(description),
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    }


UNAVAILABLE = "An AWS service the pipeline needs is unavailable for now; nothing was changed"


def _problem(
    status: int,
    code: str,
    message: str,
    errors: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body = Problem(code=code, message=message, errors=errors or [message]).model_dump()
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers or {}
    )


def _caller() -> Caller:
    identity = app.current_event.request_context.identity
    return api_caller(
        auth=settings.api_auth, user_arn=identity.user_arn, api_key_id=identity.api_key_id, admins=_admins
    )


# --- Routes -------------------------------------------------------------------------------------------------


@app.post(
    "/generations",
    summary="Start a generation",
    description="Validates the request against the model catalog and starts the workflow. The job belongs to "
    "the caller (its IAM principal, or its API key id). Send an Idempotency-Key header to make retries safe: "
    "the same key and body from the same caller give the same job; another caller's key never does.",
    responses={
        202: {"description": "Accepted", "content": {"application/json": {"model": Accepted}}},
        400: _problem_doc("The body is not JSON, or not a JSON object"),
        403: _problem_doc(NO_IDENTITY),
        503: _unavailable_doc(UNAVAILABLE + ", or the Runway API key is not configured"),
        409: _problem_doc("Idempotency-Key reused with another body, or still in progress"),
        413: _problem_doc("The body is larger than 6 MB less 64 KB (send large files with POST /uploads)"),
        415: _problem_doc("The body is not sent as Content-Type: application/json"),
        422: _problem_doc("Invalid request: every problem is listed"),
    },
    tags=["generations"],
)
@tracer.capture_method
def create_generation(
    request: Annotated[GenerationRequest, Body(description="The generation request")],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> Response[Accepted]:
    accepted = service.submit(request, idempotency_key=idempotency_key, caller=_caller())
    metrics.add_metric(name="GenerationsAccepted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body=accepted,
        headers={"Location": accepted.location},
    )


@app.get(
    "/generations/<job_id>",
    summary="A job's status, progress, credits, error and outputs (presigned S3 URLs)",
    responses={
        200: {"description": "The job", "content": {"application/json": {"model": JobView}}},
        403: _problem_doc(NO_IDENTITY),
        503: _unavailable_doc(UNAVAILABLE),
        404: _problem_doc(NOT_YOURS),
        422: _problem_doc("Invalid job id"),
    },
    tags=["generations"],
)
@tracer.capture_method
def get_generation(job_id: Annotated[str, Path(min_length=1, max_length=80)]) -> JobView:
    return service.get(job_id, caller=_caller())


@app.get(
    "/generations",
    summary="List the caller's jobs, newest first",
    description="The caller's own jobs, through the by_owner index (no table scan), optionally filtered by "
    "status. An admin principal lists every job through the by_status index (without a status the per-status "
    "pages are merged). next is an opaque token from the previous page of the same caller and filter.",
    responses={
        200: {"description": "A page of jobs", "content": {"application/json": {"model": JobPage}}},
        400: _problem_doc("Invalid next token"),
        403: _problem_doc(NO_IDENTITY),
        503: _unavailable_doc(UNAVAILABLE),
        422: _problem_doc("Invalid status or limit"),
    },
    tags=["generations"],
)
@tracer.capture_method
def list_generations(
    status: Annotated[JobStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    next_token: Annotated[str | None, Query(alias="next", max_length=4096)] = None,
) -> JobPage:
    return service.list(
        status=status.value if status else None, limit=limit, token=next_token, caller=_caller()
    )


@app.delete(
    "/generations/<job_id>",
    summary="Cancel a job",
    description="Records the request and answers 202 CANCELLING. With a Runway task still running, the task "
    "is cancelled on Runway; the workflow records CANCELLED at its next check. Without one yet, none is "
    "created. 409 when the job has ended or Runway has already finished its video (archived, not deleted).",
    responses={
        202: {"description": "Cancelling", "content": {"application/json": {"model": CancelAnswer}}},
        403: _problem_doc(NO_IDENTITY),
        503: _unavailable_doc(UNAVAILABLE),
        404: _problem_doc(NOT_YOURS),
        409: _problem_doc("The job is already finished"),
        422: _problem_doc("Invalid job id"),
    },
    tags=["generations"],
)
@tracer.capture_method
def cancel_generation(job_id: Annotated[str, Path(min_length=1, max_length=80)]) -> Response[CancelAnswer]:
    answer = service.cancel(job_id, caller=_caller())
    metrics.add_metric(name="GenerationsCancelled", unit=MetricUnit.Count, value=1)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=answer)


@app.post(
    "/generations/<job_id>/retry",
    summary="Re-archive a job that failed after Runway made its video",
    description="For a FAILED job whose Runway task had succeeded (its archive or bookkeeping failed past "
    "every retry): the outputs are archived again from the saved task id, never from a new task, and the job "
    "becomes SUCCEEDED. Answers 202 RECOVERING; 409 with the reason for a job that cannot be recovered.",
    responses={
        202: {"description": "Recovering", "content": {"application/json": {"model": RecoveryAnswer}}},
        403: _problem_doc(NO_IDENTITY),
        503: _unavailable_doc(UNAVAILABLE),
        404: _problem_doc(NOT_YOURS),
        409: _problem_doc("The job cannot be recovered"),
        422: _problem_doc("Invalid job id"),
    },
    tags=["generations"],
)
@tracer.capture_method
def retry_generation(job_id: Annotated[str, Path(min_length=1, max_length=80)]) -> Response[RecoveryAnswer]:
    answer = service.retry(job_id, caller=_caller())
    metrics.add_metric(name="GenerationsRetried", unit=MetricUnit.Count, value=1)
    return Response(status_code=202, content_type=content_types.APPLICATION_JSON, body=answer)


@app.get(
    "/models",
    summary="The model catalog",
    responses={200: {"description": "Every model, its endpoints, fields, limits and credits"}},
    tags=["models"],
)
def list_models() -> dict[str, Any]:
    return catalog_document()


@app.post(
    "/uploads",
    summary="Get a presigned S3 PUT URL for a local file",
    description="PUT the file to upload_url with the given headers, then use s3_uri in a generation request.",
    responses={
        201: {"description": "Upload ticket", "content": {"application/json": {"model": UploadTicket}}},
        400: _problem_doc("The body is not JSON, or not a JSON object"),
        413: _problem_doc("The body is larger than 6 MB less 64 KB"),
        415: _problem_doc("The body is not sent as Content-Type: application/json"),
        422: _problem_doc("File type or size refused"),
    },
    tags=["uploads"],
)
def create_upload(upload: Annotated[UploadRequest, Body()]) -> Response[UploadTicket]:
    ticket = service.new_upload(upload)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=ticket)


@app.get("/openapi.json", include_in_schema=False)
def openapi_document() -> dict[str, Any]:
    return openapi_schema()


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document of this API (also committed as openapi.yaml)."""
    document: dict[str, Any] = json.loads(app.get_openapi_json_schema(title=API_TITLE, version=API_VERSION))
    return document


# --- Errors -------------------------------------------------------------------------------------------------


@app.exception_handler(RequestValidationError)
def _invalid_input(exc: RequestValidationError) -> Response[dict[str, Any]]:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e for e in errors if e.get("type") == "json_invalid")
        reason = (detail.get("ctx") or {}).get("error", "JSON decode error")
        return _problem(400, "MalformedJson", f"the body is not valid JSON: {reason}")
    problems = listed_problems(describe_invalid_inputs(errors))
    return _problem(422, "InvalidRequest", "; ".join(problems), problems)


#: The HTTP status of each named error the routes raise; the body's ``code`` is the error's name.
HTTP_STATUS: dict[type[VideoGenError], int] = {
    InvalidRequest: 422,
    UploadRejected: 422,
    InvalidIdempotencyKey: 422,
    InvalidPageToken: 400,
    CallerNotIdentified: 403,
    JobNotFound: 404,
    JobAlreadyFinished: 409,
    JobNotRecoverable: 409,
    PipelineUnavailable: 503,
    RunwayKeyNotConfigured: 503,
}
#: Seconds a 503 asks the caller to wait: a dependency's hiccup is short; a missing key needs an operator.
RETRY_AFTER_SECONDS: dict[type[VideoGenError], int] = {PipelineUnavailable: 5, RunwayKeyNotConfigured: 60}


@app.exception_handler(list(HTTP_STATUS))
def _named_error(exc: VideoGenError) -> Response[dict[str, Any]]:
    status = HTTP_STATUS[type(exc)]
    errors = exc.errors if isinstance(exc, InvalidRequest) else None
    if status == 503:
        logger.warning("dependency unavailable", exc_info=exc)
        retry_after = str(RETRY_AFTER_SECONDS.get(type(exc), 5))
        return _problem(status, type(exc).__name__, exc.message, headers={"Retry-After": retry_after})
    return _problem(status, type(exc).__name__, exc.message, errors)


@app.exception_handler([ClientError, BotoCoreError, IdempotencyPersistenceLayerError])
def _aws_unavailable(exc: Exception) -> Response[dict[str, Any]]:
    """Any route: AWS failing for a reason a retry can get past (the idempotency table included) is a 503."""
    if transient_aws_failure(exc) is None:
        raise exc
    return _named_error(PipelineUnavailable("AWS is unavailable; retry later"))


@app.exception_handler([IdempotencyValidationError, IdempotencyConflict])
def _key_reused(exc: Exception) -> Response[dict[str, Any]]:
    return _problem(
        409, "IdempotencyKeyReused", "this Idempotency-Key was already used with a different request body"
    )


@app.exception_handler(IdempotencyAlreadyInProgressError)
def _in_progress(exc: IdempotencyAlreadyInProgressError) -> Response[dict[str, Any]]:
    return _problem(
        409,
        "RequestInProgress",
        "a request with this Idempotency-Key is still running",
        headers={"Retry-After": "1"},
    )


@app.not_found
def _no_route(exc: Exception) -> Response[dict[str, Any]]:
    return _problem(404, "NotFound", f"no route {app.current_event.http_method} {app.current_event.path}")


# --- Entry point --------------------------------------------------------------------------------------------


def _refused_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """The 400/413/415 answer for a body no route can read (checked before the routes parse it)."""
    proxy = APIGatewayProxyEvent(event)
    body = proxy.body or ""
    try:
        raw = (
            base64.b64decode(body, validate=True)
            if proxy.is_base64_encoded
            else body.encode("utf-8", "surrogatepass")
        )
    except binascii.Error:
        raw = b"\xff"  # not base64: answered as a body that is not UTF-8
    refusal = refuse_body(raw, proxy.headers.get("content-type"))
    if refusal is None:
        return None
    response = _problem(refusal.status, refusal.code, refusal.message)
    return ResponseBuilder[APIGatewayProxyEvent](response, serializer=app._serializer).build(proxy)


# Never the event, whatever POWERTOOLS_LOGGER_LOG_EVENT says: it holds the body (prompt, data: files) and the
# caller's headers (x-api-key).
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _idempotency.register_lambda_context(context)
    return _refused_body(event) or app.resolve(event, context)
