"""What the HTTP API does, free of API Gateway shapes: the handler parses, calls one method here, shapes.

Idempotency (``POST /generations`` with an ``Idempotency-Key`` header), in two layers:

1. Powertools Idempotency (DynamoDB persistence, ``IDEMPOTENCY_TABLE``): the key (scoped to the caller: IAM
   user ARN or API key id) is hashed into the idempotency record; the request body is the validated payload.
   Same key + same body within ``IDEMPOTENCY_TTL_SECONDS`` -> the stored answer (same job id); same key +
   another body -> ``IdempotencyValidationError`` (409); the same key while the first call still runs ->
   ``IdempotencyAlreadyInProgressError`` (409, retry shortly). A failed call deletes its record: a corrected
   retry with the same key goes through.
2. The job id itself is derived from caller + key (uuid5), and the QUEUED record is written with
   ``attribute_not_exists``: even after the idempotency record has expired, the same key can never start a
   second execution (execution name = job id) or a second Runway task.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import posixpath
import re
import uuid
from collections.abc import Mapping
from typing import Any, Literal

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from pydantic import BaseModel, ConfigDict, Field

from videogen.catalog.media import guess_kind
from videogen.entry_settings import EntrySettings
from videogen.intake import AcceptedJob, CancelOutcome, IntakeContext, JobIntake, JobNotFound, derived_job_id
from videogen.job_views import JobLister, render_job, summary_view

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class UploadRejected(ValueError):
    """``POST /uploads`` refused the file (type or size)."""


class InvalidIdempotencyKey(ValueError):
    """The Idempotency-Key header is not 1-255 printable ASCII characters."""


# --- Response and request shapes (documented in the OpenAPI document) ---------------------------------------


class Credits(BaseModel):
    estimated: float | None = Field(
        None, description="Runway's estimate (or the catalog's before Runway answered)"
    )
    charged: float | None = Field(None, description="What Runway charged, once the task ended")


class JobError(BaseModel):
    code: str = Field(description="Error name, e.g. ContentModerated, GenerationTimedOut, InvalidRequest")
    message: str


class StoredObject(BaseModel):
    key: str
    s3_uri: str
    url: str | None = Field(None, description="Presigned S3 GET URL, valid for PRESIGN_TTL_SECONDS")


class JobViewModel(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    job_id: str
    status: str = Field(
        description="QUEUED, SUBMITTED, PENDING, THROTTLED, RUNNING, ARCHIVING, SUCCEEDED, "
        "FAILED, CANCELLED, TIMED_OUT or REJECTED"
    )
    finished: bool
    model: str | None = None
    endpoint: str | None = None
    source: str | None = None
    progress: float | None = None
    runway_task_id: str | None = None
    credits: Credits
    error: JobError | None = None
    created_at: str | None = None
    updated_at: str | None = None
    submitted_at: str | None = None
    finished_at: str | None = None
    deadline_at: str | None = None
    outputs: list[StoredObject] = []
    manifest: StoredObject | None = None


class JobSummary(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    job_id: str
    status: str
    model: str | None = None
    source: str | None = None
    progress: float | None = None
    created_at: str | None = None
    finished_at: str | None = None
    error: JobError | None = None


class JobPage(BaseModel):
    items: list[JobSummary]
    next: str | None = Field(None, description="Opaque token for the next page; absent on the last page")


class AcceptedModel(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    job_id: str
    status: str
    model: str | None = None
    endpoint: str | None = None
    estimated_credits: float | None = None
    location: str


class CancelModel(BaseModel):
    job_id: str
    status: Literal["CANCELLED", "CANCELLING"]
    message: str


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255, description="Local file name, e.g. frame.png")
    content_type: str | None = Field(None, max_length=255, description="Defaults to a guess from the name")
    size: int | None = Field(None, ge=1, description="File size in bytes (checked against the limit)")


class UploadTicket(BaseModel):
    upload_url: str = Field(description="Presigned S3 PUT URL")
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str] = Field(description="Headers the PUT must send")
    s3_uri: str = Field(description="Put this URI in the generation request (image, video, ...)")
    expires_at: str


class Problem(BaseModel):
    code: str
    message: str
    errors: list[str] = []


# --- The service --------------------------------------------------------------------------------------------


class GenerationService:
    """The API's operations. ``create_once`` is the Powertools-idempotent create (None: keys refused)."""

    def __init__(
        self,
        settings: EntrySettings,
        *,
        intake: JobIntake,
        lister: JobLister,
        s3: Any,
        idempotent_create: Any | None = None,
    ) -> None:
        self.settings = settings
        self.intake = intake
        self.lister = lister
        self._s3 = s3
        self._idempotent_create = idempotent_create

    # POST /generations
    def submit(self, body: Mapping[str, Any], *, idempotency_key: str | None, caller: str) -> dict[str, Any]:
        if idempotency_key is None:
            return self._accepted(self.intake.create(body, context=IntakeContext(source="api")))
        if not IDEMPOTENCY_KEY_PATTERN.match(idempotency_key):
            raise InvalidIdempotencyKey("Idempotency-Key must be 1 to 255 printable ASCII characters")
        command = {"caller": caller, "idempotency_key": idempotency_key, "request": dict(body)}
        if self._idempotent_create is None:
            return self.create_for_key(command)
        result: dict[str, Any] = self._idempotent_create(command=command)
        return result

    def create_for_key(self, command: Mapping[str, Any]) -> dict[str, Any]:
        """The keyed create (what Powertools wraps): the job id is derived from caller + key."""
        job_id = derived_job_id("api", str(command["caller"]), str(command["idempotency_key"]))
        context = IntakeContext(source="api", extra={"idempotency_key": command["idempotency_key"]})
        return self._accepted(self.intake.create(command["request"], context=context, job_id=job_id))

    @staticmethod
    def _accepted(job: AcceptedJob) -> dict[str, Any]:
        return {**job.to_dict(), "location": f"/generations/{job.job_id}"}

    # GET /generations/{id}
    def get(self, job_id: str) -> dict[str, Any]:
        record = self.intake.jobs.get(job_id, consistent=False)
        if record is None:
            raise JobNotFound(f"no job {job_id}")
        return render_job(record, bucket=self.settings.output_bucket, presign=self.presign_get)

    def presign_get(self, key: str) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.settings.output_bucket, "Key": key},
            ExpiresIn=self.settings.presign_ttl_seconds,
        )
        return url

    # GET /generations
    def list(self, *, status: str | None, limit: int, token: str | None) -> dict[str, Any]:
        page = self.lister.page(status=status, limit=limit, token=token)
        return {"items": [summary_view(r) for r in page["items"]], "next": page["next"]}

    # DELETE /generations/{id}
    def cancel(self, job_id: str) -> CancelOutcome:
        return self.intake.cancel(job_id)

    # POST /uploads
    def new_upload(self, upload: UploadRequest) -> dict[str, Any]:
        name = (
            _SAFE_NAME.sub("-", posixpath.basename(upload.filename.replace("\\", "/"))).strip(".-") or "file"
        )
        kind = guess_kind(name)
        if kind is None:
            raise UploadRejected(
                f"{upload.filename!r}: the file name must end with an image, video or audio extension "
                "(e.g. .png, .jpg, .mp4, .mov, .mp3)"
            )
        content_type = (
            upload.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        ).lower()
        if content_type.split("/", 1)[0] != kind:
            raise UploadRejected(f"content_type {content_type} does not match a {kind} file")
        if upload.size is not None and upload.size > self.settings.max_upload_bytes:
            raise UploadRejected(
                f"the file is {upload.size} bytes; at most {self.settings.max_upload_bytes} are accepted"
            )
        key = f"{self.settings.upload_prefix}{uuid.uuid4()}/{name}"
        ttl = self.settings.presign_ttl_seconds
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.settings.output_bucket, "Key": key, "ContentType": content_type},
            ExpiresIn=ttl,
        )
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl)
        return UploadTicket(
            upload_url=url,
            headers={"Content-Type": content_type},
            s3_uri=f"s3://{self.settings.output_bucket}/{key}",
            expires_at=expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
        ).model_dump()


def make_idempotent_create(service: GenerationService, *, persistence_store: Any, config: Any) -> Any:
    """Wrap ``service.create_for_key`` with Powertools ``idempotent_function`` and plug it into the service.

    ``config`` should read the key from ``[caller, idempotency_key]`` and validate ``request``
    (see :func:`idempotency_config`).
    """
    wrapped = idempotent_function(
        data_keyword_argument="command", persistence_store=persistence_store, config=config
    )(service.create_for_key)
    service._idempotent_create = wrapped
    return wrapped


def idempotency_config(settings: EntrySettings) -> Any:
    return IdempotencyConfig(
        event_key_jmespath="[caller, idempotency_key]",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_ttl_seconds,
        hash_function="sha256",
    )
