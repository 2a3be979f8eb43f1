"""A generation request becomes a job: validate, keep files out of payloads, record, start; and cancel.

Used by every entry point (API, S3 trigger, CLI) so they share one rule set:

1. ``prepare`` (the model catalog) validates the request; ``InvalidRequest`` lists every problem.
2. ``data:`` URIs are moved to ``s3://<bucket>/uploads/<job id>/<field>.<ext>`` so that neither the job record
   (DynamoDB, 400 KB) nor the execution input (Step Functions, 256 KB) carries file contents. Keys are
   derived from the job id, so a retried intake overwrites instead of duplicating.
3. The QUEUED record is written *before* StartExecution, with ``attribute_not_exists(job_id)``: a second
   intake of the same job id finds the record instead of creating another one.
4. StartExecution uses the job id as the execution name: Step Functions itself refuses a second execution with
   the same name (``ExecutionAlreadyExists``), which is treated as "already started".

A job id is either random (a fresh request) or derived from something stable (an Idempotency-Key, an S3 object
version), and then the same input always lands on the same job and never on a second Runway task.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import mimetypes
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

from botocore.exceptions import ClientError

from videogen.entry_settings import EntrySettings
from videogen.errors import InvalidRequest, TaskNotFound
from videogen.jobs import FINAL_STATUSES, JobStatus, JobStore, iso_now
from videogen.requests import GenerationRequest, PreparedRequest, prepare
from videogen.webhooks import InvalidWebhookUrl, check_webhook_url

#: Fields of a GenerationRequest that hold a media URI (``options`` is walked too).
MEDIA_FIELDS = ("image", "last_image", "video", "character", "reference")
#: Step Functions caps a state's payload at 256 KB; keep the request well below it.
MAX_REQUEST_BYTES = 128 * 1024
JOB_ID_NAMESPACE = uuid.UUID("6f1d3c2a-51a4-4c56-9a0e-9b5c0d7b7e10")
SOURCES = ("api", "s3", "cli")
CANCELLED_BEFORE_SUBMIT = "cancelled before a Runway task was created"


# --- Named errors -------------------------------------------------------------------------------------------


class IntakeError(Exception):
    """Base class of the entry points' errors (each maps to one HTTP status in the API)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class JobNotFound(IntakeError):
    """No job record has this id."""


class JobAlreadyFinished(IntakeError):
    """The job is finished (or its video is already being archived): nothing left to cancel."""

    def __init__(self, job_id: str, status: str) -> None:
        super().__init__(f"job {job_id} is {status}; only a job that is still generating can be cancelled")
        self.status = status


class IdempotencyConflict(IntakeError):
    """The same idempotency key (or S3 object version) was used with a different request."""


class PipelineUnavailable(IntakeError):
    """Step Functions did not accept the execution (throttled or unavailable). Safe to retry."""


# --- Small pure helpers -------------------------------------------------------------------------------------


def new_job_id() -> str:
    return str(uuid.uuid4())


def derived_job_id(*parts: str) -> str:
    """A job id that depends only on ``parts`` (uuid5): the same input always names the same job."""
    return str(uuid.uuid5(JOB_ID_NAMESPACE, "\x1f".join(parts)))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def request_fingerprint(request: Mapping[str, Any]) -> str:
    """SHA-256 of the request as received (canonical JSON): "the same request again" vs "another one"."""
    return hashlib.sha256(canonical_json(dict(request)).encode("utf-8")).hexdigest()


def execution_arn(state_machine_arn: str, job_id: str) -> str:
    """``arn:...:execution:<machine name>:<job id>`` for ``arn:...:stateMachine:<machine name>``."""
    head, sep, name = state_machine_arn.rpartition(":stateMachine:")
    if not sep:
        raise ValueError(f"not a state machine ARN: {state_machine_arn}")
    return f"{head}:execution:{name}:{job_id}"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class DataUri:
    mime: str
    payload: bytes

    @classmethod
    def parse(cls, uri: str, where: str) -> DataUri:
        header, sep, data = uri[5:].partition(",")
        if not sep:
            raise InvalidRequest([f"{where} is not a valid data: URI (expected data:<type>;base64,<data>)"])
        params = [p.strip() for p in header.split(";")]
        mime = (params[0] or "application/octet-stream").lower()
        if "base64" in (p.lower() for p in params[1:]):
            try:
                payload = base64.b64decode("".join(data.split()), validate=True)
            except (binascii.Error, ValueError):
                raise InvalidRequest(
                    [f"{where} is a data: URI whose base64 content cannot be decoded"]
                ) from None
        else:
            payload = unquote_to_bytes(data)
        return cls(mime=mime, payload=payload)

    def extension(self) -> str:
        special = {
            "image/jpeg": ".jpg",
            "video/quicktime": ".mov",
            "image/webp": ".webp",
            "video/webm": ".webm",
        }
        return special.get(self.mime) or mimetypes.guess_extension(self.mime) or ".bin"


def is_data_uri(value: Any) -> bool:
    return isinstance(value, str) and value[:5].lower() == "data:"


# --- Results ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AcceptedJob:
    """What an intake answers: the job, and whether this call created it (False: it already existed)."""

    job_id: str
    status: str
    created: bool
    model: str | None = None
    endpoint: str | None = None
    estimated_credits: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "model": self.model,
            "endpoint": self.endpoint,
            "estimated_credits": self.estimated_credits,
        }


@dataclass(frozen=True)
class CancelOutcome:
    job_id: str
    status: str  # CANCELLED (done here) or CANCELLING (the state machine records it at its next poll)
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "status": self.status, "message": self.message}


@dataclass
class IntakeContext:
    """Where a request comes from, recorded on the job."""

    source: str = "api"
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. source_object, idempotency_key


# --- The service ------------------------------------------------------------------------------------------


class JobIntake:
    """Creates and cancels jobs. Clients are injected (created once per process by the handler)."""

    def __init__(
        self,
        settings: EntrySettings,
        *,
        jobs: JobStore,
        sfn: Any,
        s3: Any,
        events: Any | None = None,
        cancel_runway_task: Callable[[str], None] | None = None,
        allow_http_loopback_webhooks: bool | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self._sfn = sfn
        self._s3 = s3
        self._events = events
        self._cancel_runway_task = cancel_runway_task
        self._allow_loopback = (
            settings.webhook_allow_http_loopback
            if allow_http_loopback_webhooks is None
            else allow_http_loopback_webhooks
        )

    # -- validation ----------------------------------------------------------------------------------------

    def validate(self, request: Mapping[str, Any] | Any) -> tuple[GenerationRequest, PreparedRequest]:
        """The parsed request and its prepared Runway body; InvalidRequest lists every problem."""
        if not isinstance(request, Mapping):
            raise InvalidRequest(["the request must be a JSON object"])
        prepared = prepare(request, default_model=self.settings.default_model)
        parsed = GenerationRequest.model_validate(dict(request))
        if parsed.webhook_url is not None:
            try:
                check_webhook_url(parsed.webhook_url, allow_http_loopback=self._allow_loopback, resolve=False)
            except InvalidWebhookUrl as exc:
                raise InvalidRequest([f"webhook_url: {exc.message}"]) from None
        return parsed, prepared

    # -- create --------------------------------------------------------------------------------------------

    def create(
        self,
        request: Mapping[str, Any] | Any,
        *,
        context: IntakeContext | None = None,
        job_id: str | None = None,
        bucket: str | None = None,
    ) -> AcceptedJob:
        """Validate ``request``, record the QUEUED job and start its execution (name = job id).

        ``job_id`` given: the intake is idempotent for it (same request -> same job, never a second execution;
        another request -> IdempotencyConflict). ``bucket`` receives moved ``data:`` URIs (default: the video
        bucket). Raises InvalidRequest, IdempotencyConflict or PipelineUnavailable.
        """
        context = context or IntakeContext()
        parsed, prepared = self.validate(request)
        derived = job_id is not None
        job_id = job_id or new_job_id()
        fingerprint = request_fingerprint(request)
        plain = parsed.model_dump(exclude_none=True)
        if not plain.get("options"):
            plain.pop("options", None)
        stored = self._move_data_uris(plain, job_id, bucket)
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
        record, created = self.jobs.create_if_absent(job_id, fields)
        if not created and record.get("request_sha256") != fingerprint:
            raise IdempotencyConflict(
                f"job {job_id} already exists for a different request; use a new idempotency key "
                "(or upload the file as a new object) to start another job"
            )
        if record.get("status") == JobStatus.QUEUED.value:
            self._start(job_id, record.get("request", stored), record.get("source", context.source), derived)
        return AcceptedJob(
            job_id=job_id,
            status=str(record.get("status", JobStatus.QUEUED.value)),
            created=created,
            model=record.get("model"),
            endpoint=record.get("endpoint"),
            estimated_credits=record.get("estimated_credits"),
        )

    def reject(self, job_id: str, *, reason: str, code: str, context: IntakeContext) -> AcceptedJob:
        """Record a job that cannot run (status REJECTED, never started, never sent to Runway)."""
        now = iso_now()
        fields = {
            "status": JobStatus.REJECTED.value,
            "source": context.source,
            "error_code": code,
            "error_cause": reason,
            "finished_at": now,
            **{k: v for k, v in context.extra.items() if v is not None},
        }
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
            if _error_code(exc) == "ExecutionAlreadyExists":
                return
            if not derived:  # nobody can retry a random id: do not leave a QUEUED record behind
                self._fail_unstarted(job_id, f"the execution could not be started: {_error_code(exc)}")
            raise PipelineUnavailable(
                f"the pipeline did not accept job {job_id} ({_error_code(exc) or exc}); retry later"
            ) from exc

    def _fail_unstarted(self, job_id: str, cause: str) -> None:
        now = iso_now()
        try:
            self.jobs.update(
                job_id,
                {
                    "status": JobStatus.FAILED.value,
                    "error_code": "PipelineUnavailable",
                    "error_cause": cause,
                    "finished_at": now,
                },
                condition="#status = :c_queued",
                condition_values={":c_queued": JobStatus.QUEUED.value},
            )
        except ClientError:
            return

    def _move_data_uris(self, request: dict[str, Any], job_id: str, bucket: str | None) -> dict[str, Any]:
        target = bucket or self.settings.output_bucket

        def move(value: Any, path: str) -> Any:
            if is_data_uri(value):
                if not target:
                    raise InvalidRequest([f"{path}: data: URIs are not accepted here (no upload bucket)"])
                data = DataUri.parse(value, path)
                key = f"{self.settings.upload_prefix}{job_id}/{path.replace('.', '-')}{data.extension()}"
                self._s3.put_object(Bucket=target, Key=key, Body=data.payload, ContentType=data.mime)
                return f"s3://{target}/{key}"
            if isinstance(value, dict):
                return {k: move(v, f"{path}.{k}") for k, v in value.items()}
            if isinstance(value, list):
                return [move(v, f"{path}.{i}") for i, v in enumerate(value)]
            return value

        moved = dict(request)
        for name in MEDIA_FIELDS:
            if name in moved:
                moved[name] = move(moved[name], name)
        if "options" in moved:
            moved["options"] = move(moved["options"], "options")
        return moved

    # -- cancel --------------------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> CancelOutcome:
        """Cancel a job that is still generating.

        With a Runway task: cancel it on Runway (``DELETE /v1/tasks/{id}``); the execution's next poll
        sees the task CANCELLED and the state machine records CANCELLED and emits the Cancelled event itself.
        Without one yet: stop the execution, record CANCELLED and emit the Cancelled event here. A Runway task
        created in the meantime (submit raced us) is cancelled too, so it cannot run unwatched.
        """
        record = self.jobs.get(job_id)
        if record is None:
            raise JobNotFound(f"no job {job_id}")
        status = str(record.get("status", ""))
        if status in FINAL_STATUSES or status == JobStatus.ARCHIVING.value or record.get("finished_at"):
            raise JobAlreadyFinished(job_id, status)
        task_id = record.get("runway_task_id")
        if task_id:
            self._request_runway_cancel(job_id, str(task_id))
            return CancelOutcome(
                job_id,
                "CANCELLING",
                f"Runway task {task_id} was cancelled; the job ends CANCELLED at its next check",
            )
        self._stop_execution(job_id)
        try:
            self.jobs.update(
                job_id,
                {
                    "status": JobStatus.CANCELLED.value,
                    "error_code": "GenerationCancelled",
                    "error_cause": CANCELLED_BEFORE_SUBMIT,
                    "finished_at": iso_now(),
                },
                condition="attribute_not_exists(#finished_at) AND attribute_not_exists(#runway_task_id)",
                condition_names={"#finished_at": "finished_at", "#runway_task_id": "runway_task_id"},
            )
        except ClientError as exc:
            if _error_code(exc) != "ConditionalCheckFailedException":
                raise
            return self._cancel_after_race(job_id)
        self._announce_cancelled(record)
        return CancelOutcome(job_id, JobStatus.CANCELLED.value, "cancelled before a Runway task was created")

    def _cancel_after_race(self, job_id: str) -> CancelOutcome:
        """The submit step saved a task id (or the job ended) between our read and our write."""
        record = self.jobs.get(job_id) or {}
        if record.get("finished_at"):
            raise JobAlreadyFinished(job_id, str(record.get("status", "")))
        task_id = str(record.get("runway_task_id", ""))
        self._request_runway_cancel(job_id, task_id)
        # The execution is stopped: nobody else will record the end of this job.
        self.jobs.update(
            job_id,
            {
                "status": JobStatus.CANCELLED.value,
                "error_code": "GenerationCancelled",
                "error_cause": f"cancelled; Runway task {task_id} was cancelled too",
                "finished_at": iso_now(),
            },
            condition="attribute_not_exists(#finished_at)",
            condition_names={"#finished_at": "finished_at"},
        )
        self._announce_cancelled(record)
        return CancelOutcome(
            job_id, JobStatus.CANCELLED.value, f"cancelled; Runway task {task_id} was cancelled"
        )

    def _request_runway_cancel(self, job_id: str, task_id: str) -> None:
        if self._cancel_runway_task is None:
            raise PipelineUnavailable("this function cannot reach Runway to cancel the task")
        self.jobs.update(job_id, {"cancel_requested_at": iso_now()})
        try:
            self._cancel_runway_task(task_id)
        except TaskNotFound:
            return  # already gone: the poll step ends the job

    def _stop_execution(self, job_id: str) -> None:
        arn = execution_arn(self.settings.state_machine_arn, job_id)
        try:
            self._sfn.stop_execution(
                executionArn=arn, error="GenerationCancelled", cause="cancelled by DELETE /generations/{id}"
            )
        except ClientError as exc:
            if _error_code(exc) not in ("ExecutionDoesNotExist", "ExecutionNotFound"):
                raise

    def _announce_cancelled(self, record: Mapping[str, Any]) -> None:
        if self._events is None:
            return
        detail = {
            "job_id": record["job_id"],
            "status": JobStatus.CANCELLED.value,
            "request": record.get("request", {}),
            "error": {"Error": "GenerationCancelled", "Cause": CANCELLED_BEFORE_SUBMIT},
        }
        self._events.put_events(
            Entries=[
                {
                    "EventBusName": self.settings.event_bus_name,
                    "Source": self.settings.event_source,
                    "DetailType": "Video Generation Cancelled",
                    "Detail": canonical_json(detail),
                    "Time": dt.datetime.now(dt.UTC),
                }
            ]
        )
