"""A generation request becomes a job: validate, keep files out of payloads, record, start.

Used by every entry point (API, S3 trigger; the local runner goes through the API) so they share one rule set:

1. ``prepare`` (the model catalog) validates the request; ``InvalidRequest`` lists every problem.
2. ``data:`` URIs are moved to S3 (``videogen.intake.data_uris``).
3. The QUEUED record is written *before* StartExecution, with ``attribute_not_exists(job_id)``: a second
   intake of the same job id finds the record instead of creating another one.
4. StartExecution uses the job id as the execution name: Step Functions itself refuses a second execution with
   the same name (``ExecutionAlreadyExists``), which is treated as "already started".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from videogen.catalog.translate import PreparedRequest, prepare
from videogen.core.clock import SYSTEM_CLOCK, Clock, format_time
from videogen.core.errors import IdempotencyConflict, InvalidRequest, PipelineUnavailable
from videogen.core.job import JobStatus
from videogen.core.log_safety import request_for_log
from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.egress.policy import webhook_policy
from videogen.intake.availability import require_runway_key, unavailable_is_retry_later
from videogen.intake.data_uris import move_data_uris
from videogen.intake.input_content import (
    S3InputChecker,
    content_problems,
    field_of,
    media_inputs,
    request_media,
)
from videogen.intake.job_ids import canonical_json, new_job_id, request_fingerprint
from videogen.notifications.url_safety import InvalidWebhookUrl, check_webhook_url
from videogen.storage.aws_errors import error_code
from videogen.storage.job_store import JobStore

#: Step Functions caps a state's payload at 256 KB; keep the request well below it.
MAX_REQUEST_BYTES = 128 * 1024

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AcceptedJob:
    """What an intake answers: the job, and whether this call created it (False: it already existed)."""

    job_id: str
    status: str
    created: bool
    model: str | None = None
    endpoint: str | None = None
    estimated_credits: float | None = None


@dataclass
class IntakeContext:
    """Where a request comes from and who owns the job (``videogen.intake.callers``), recorded on the job."""

    source: str = "api"
    owner: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. source_object, idempotency_key


class JobIntake:
    """Creates jobs. Clients are injected (created once per process by the handler)."""

    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobStore,
        sfn: Any,
        s3: Any,
        clock: Clock = SYSTEM_CLOCK,
        runway_key: Callable[[], object] | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self._sfn = sfn
        self._s3 = s3
        self._clock = clock
        self._runway_key = runway_key  # reads the (cached) Runway key; None: not checked at intake

    def validate(
        self, request: GenerationRequest | Mapping[str, Any], *, bucket: str | None = None
    ) -> tuple[GenerationRequest, PreparedRequest]:
        """The parsed request and its prepared Runway body; InvalidRequest lists every problem: the catalog's,
        where its inputs are, what they hold (``videogen.intake.input_content``) and the webhook URL's."""
        parsed = GenerationRequest.parse(request)
        bucket = bucket or self.settings.output_bucket
        problems: list[str] = []
        prepared: PreparedRequest | None = None
        try:
            prepared = prepare(parsed, default_model=self.settings.default_model)
        except InvalidRequest as exc:
            problems.extend(exc.errors)
        inputs = request_media(parsed) if prepared is None else media_inputs(prepared.endpoint, prepared.body)
        misplaced = self._s3_input_problems(parsed, inputs, bucket)
        problems.extend(misplaced)
        if not misplaced:
            checker = S3InputChecker(self._s3, max_bytes=self.settings.max_upload_bytes)
            problems.extend(content_problems(parsed, inputs, s3_inputs=checker))
        if parsed.webhook_url is not None:
            try:
                check_webhook_url(parsed.webhook_url, webhook_policy(self.settings), resolve=False)
            except InvalidWebhookUrl as exc:
                problems.append(f"webhook_url: {exc.message}")
        if problems or prepared is None:
            raise InvalidRequest(list(dict.fromkeys(problems)))
        return parsed, prepared

    def _s3_input_problems(
        self, parsed: GenerationRequest, inputs: list[tuple[str, str]], bucket: str
    ) -> list[str]:
        """``s3://`` inputs (``options`` included) must be objects of this stack's bucket under its input or
        upload prefix."""
        prefixes = (self.settings.input_prefix, self.settings.upload_prefix)
        uris = [(field_of(parsed, uri), uri) for uri, _ in inputs]
        problems = []
        for name, uri in uris:
            if not isinstance(uri, str) or uri[:5].lower() != "s3://":
                continue
            named_bucket, _, key = uri[5:].partition("/")
            if not key:
                continue  # the catalog says an s3:// URI must name an object
            if named_bucket != bucket:
                problems.append(f"{name}: {uri} is not in this stack's bucket {bucket}")
            elif ".." in key.split("/") or not key.startswith(prefixes):
                problems.append(f"{name}: {uri} must be an object under {' or '.join(prefixes)} of {bucket}")
        return problems

    @unavailable_is_retry_later
    def create(
        self,
        request: GenerationRequest | Mapping[str, Any],
        *,
        context: IntakeContext | None = None,
        job_id: str | None = None,
        bucket: str | None = None,
    ) -> AcceptedJob:
        """Validate ``request``, record the QUEUED job and start its execution (name = job id).

        ``job_id`` given: the intake is idempotent for it (same request -> same job, never a second execution;
        another request -> IdempotencyConflict). ``bucket`` receives moved ``data:`` URIs (default: the video
        bucket). Raises InvalidRequest, IdempotencyConflict, RunwayKeyNotConfigured or PipelineUnavailable.
        """
        context = context or IntakeContext()
        parsed, prepared = self.validate(request, bucket=bucket)
        require_runway_key(self._runway_key)
        derived = job_id is not None
        job_id = job_id or new_job_id()
        plain = parsed.plain()
        fingerprint = request_fingerprint(plain)
        stored = move_data_uris(
            plain,
            s3=self._s3,
            bucket=bucket or self.settings.output_bucket,
            key_prefix=f"{self.settings.upload_prefix}{job_id}/",
        )
        size = len(canonical_json(stored).encode("utf-8"))
        if size > MAX_REQUEST_BYTES:
            raise InvalidRequest(
                [
                    f"the request is {size} bytes once files are moved out; at most {MAX_REQUEST_BYTES} are "
                    "accepted (put large inputs in S3 with POST /uploads and reference them as s3:// URIs)"
                ]
            )
        fields: dict[str, Any] = {
            "status": JobStatus.QUEUED.value,
            "request": stored,
            "request_sha256": fingerprint,
            "model": prepared.model,
            "endpoint": prepared.endpoint,
            "source": context.source,
            "progress": 0,
            **{k: v for k, v in context.extra.items() if v is not None},
        }
        if prepared.estimated_credits is not None:
            fields["estimated_credits"] = prepared.estimated_credits
        if parsed.webhook_url:
            fields["webhook_url"] = parsed.webhook_url
        if context.owner:
            fields["owner"] = context.owner
        record, created = self.jobs.create_if_absent(job_id, fields)
        # A derived id names one owner's job: the same key from another owner never gets it.
        if not created and (
            record.get("request_sha256") != fingerprint or record.get("owner") != context.owner
        ):
            raise IdempotencyConflict(
                f"job {job_id} already exists for a different request; use a new idempotency key "
                "(or upload the file as a new object) to start another job"
            )
        if record.get("status") == JobStatus.QUEUED.value:
            self._start(job_id, record.get("request", stored), record.get("source", context.source), derived)
        shown = request_for_log(stored, include_content=self.settings.log_request_content)
        log.info("job accepted", extra={"job_id": job_id, "new_job": created, "request": shown})
        return AcceptedJob(
            job_id=job_id,
            status=str(record.get("status", JobStatus.QUEUED.value)),
            created=created,
            model=record.get("model"),
            endpoint=record.get("endpoint"),
            estimated_credits=record.get("estimated_credits"),
        )

    @unavailable_is_retry_later
    def reject(self, job_id: str, *, reason: str, code: str, context: IntakeContext) -> AcceptedJob:
        """Record a job that cannot run (status REJECTED, never started, never sent to Runway)."""
        fields = {
            "status": JobStatus.REJECTED.value,
            "source": context.source,
            "error_code": code,
            "error_cause": reason,
            "finished_at": format_time(self._clock.now()),
            **{k: v for k, v in context.extra.items() if v is not None},
        }
        if context.owner:
            fields["owner"] = context.owner
        record, created = self.jobs.create_if_absent(job_id, fields)
        record = record or fields
        return AcceptedJob(job_id=job_id, status=str(record.get("status")), created=created)

    def _start(self, job_id: str, request: Mapping[str, Any], source: str, derived: bool) -> None:
        payload = canonical_json({"job_id": job_id, "request": dict(request), "source": source})
        try:
            self._sfn.start_execution(
                stateMachineArn=self.settings.state_machine_arn, name=job_id, input=payload
            )
        except ClientError as exc:
            if error_code(exc) == "ExecutionAlreadyExists":
                return
            if not derived:  # nobody can retry a random id: do not leave a QUEUED record behind
                self._fail_unstarted(job_id, f"the execution could not be started: {error_code(exc)}")
            raise PipelineUnavailable(
                f"the pipeline did not accept job {job_id} ({error_code(exc) or exc}); retry later"
            ) from exc

    def _fail_unstarted(self, job_id: str, cause: str) -> None:
        try:
            self.jobs.update(
                job_id,
                {
                    "status": JobStatus.FAILED.value,
                    "error_code": "PipelineUnavailable",
                    "error_cause": cause,
                    "finished_at": format_time(self._clock.now()),
                },
                condition="#status = :c_queued",
                condition_values={":c_queued": JobStatus.QUEUED.value},
            )
        except ClientError:
            return
