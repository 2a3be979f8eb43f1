"""What the HTTP API does, free of API Gateway shapes: the handler parses, calls one method here, shapes.

Idempotency (``POST /generations`` with an ``Idempotency-Key`` header), in two layers:

1. Powertools Idempotency (DynamoDB persistence, ``IDEMPOTENCY_TABLE``): the key, scoped to the job's owner
   (the caller's IAM principal or API key id, ``videogen.intake.callers``), is hashed into the idempotency
   record; the request body is the validated payload.
   Same key + same body within ``IDEMPOTENCY_TTL_SECONDS`` -> the stored answer (same job id); same key +
   another body -> ``IdempotencyValidationError`` (409); the same key while the first call still runs ->
   ``IdempotencyAlreadyInProgressError`` (409, retry shortly). A failed call deletes its record: a corrected
   retry with the same key goes through.
2. The job id itself is derived from owner + key (uuid5), and the QUEUED record is written with
   ``attribute_not_exists``: even after the idempotency record has expired, the same key can never start a
   second execution (execution name = job id) or a second Runway task, and one owner's key never names
   another owner's job (an existing record of another owner is a conflict, never an answer).

Every per-job operation takes the :class:`~videogen.intake.callers.Caller`: a job of another owner is
``JobNotFound``, answered exactly like a job that does not exist; an admin sees every job.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import uuid
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from pydantic import BaseModel, ConfigDict

from videogen.core import media
from videogen.core.clock import SYSTEM_CLOCK, Clock
from videogen.core.errors import InvalidIdempotencyKey, JobNotFound, UploadRejected
from videogen.core.request import GenerationRequest
from videogen.core.settings import Settings
from videogen.intake.api_models import (
    Accepted,
    CancelAnswer,
    JobPage,
    JobView,
    RecoveryAnswer,
    UploadRequest,
    UploadTicket,
)
from videogen.intake.callers import Caller
from videogen.intake.cancellation import JobCanceller
from videogen.intake.job_ids import derived_job_id
from videogen.intake.job_intake import AcceptedJob, IntakeContext, JobIntake
from videogen.intake.job_views import JobLister, JobViews, summary_view
from videogen.intake.recovery import JobRecovery

IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class KeyedCreate(BaseModel):
    """``POST /generations`` with an Idempotency-Key: what Powertools Idempotency hashes and validates."""

    model_config = ConfigDict(extra="forbid")

    owner: str
    idempotency_key: str
    request: GenerationRequest


class GenerationService:
    """The API's operations. ``create_once`` is the Powertools-idempotent create (None: keys refused)."""

    def __init__(
        self,
        settings: Settings,
        *,
        intake: JobIntake,
        canceller: JobCanceller,
        recovery: JobRecovery,
        views: JobViews,
        lister: JobLister,
        s3: Any,
        idempotent_create: Any | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = settings
        self.intake = intake
        self.canceller = canceller
        self.recovery = recovery
        self.views = views
        self.lister = lister
        self._s3 = s3
        self._idempotent_create = idempotent_create
        self._clock = clock

    # POST /generations
    def submit(self, request: GenerationRequest, *, idempotency_key: str | None, caller: Caller) -> Accepted:
        if idempotency_key is None:
            context = IntakeContext(source="api", owner=caller.owner)
            return self._accepted(self.intake.create(request, context=context))
        if not IDEMPOTENCY_KEY_PATTERN.match(idempotency_key):
            raise InvalidIdempotencyKey("Idempotency-Key must be 1 to 255 printable ASCII characters")
        command = KeyedCreate(owner=caller.owner, idempotency_key=idempotency_key, request=request)
        if self._idempotent_create is None:
            return Accepted.model_validate(self.create_for_key(command))
        return Accepted.model_validate(self._idempotent_create(command=command))

    def create_for_key(self, command: KeyedCreate) -> dict[str, Any]:
        """The keyed create (what Powertools wraps): the job id is derived from owner + key."""
        job_id = derived_job_id("api", command.owner, command.idempotency_key)
        context = IntakeContext(
            source="api", owner=command.owner, extra={"idempotency_key": command.idempotency_key}
        )
        accepted = self.intake.create(command.request, context=context, job_id=job_id)
        return self._accepted(accepted).model_dump(mode="json")

    @staticmethod
    def _accepted(job: AcceptedJob) -> Accepted:
        return Accepted(
            job_id=job.job_id,
            status=job.status,
            model=job.model,
            endpoint=job.endpoint,
            estimated_credits=job.estimated_credits,
            location=f"/generations/{job.job_id}",
        )

    # GET /generations/{id}
    def get(self, job_id: str, *, caller: Caller) -> JobView:
        view = self.views.view(job_id, consistent=False, owner=caller.scope)
        if view is None:
            raise JobNotFound(f"no job {job_id}")
        return view

    # GET /generations
    def list(self, *, status: str | None, limit: int, token: str | None, caller: Caller) -> JobPage:
        page = self.lister.page(status=status, limit=limit, token=token, owner=caller.scope)
        return JobPage(items=[summary_view(r) for r in page["items"]], next=page["next"])

    # DELETE /generations/{id}
    def cancel(self, job_id: str, *, caller: Caller) -> CancelAnswer:
        outcome = self.canceller.cancel(job_id, owner=caller.scope)
        return CancelAnswer(job_id=outcome.job_id, status=outcome.status, message=outcome.message)

    # POST /generations/{id}/retry
    def retry(self, job_id: str, *, caller: Caller) -> RecoveryAnswer:
        outcome = self.recovery.retry(job_id, owner=caller.scope)
        return RecoveryAnswer(job_id=outcome.job_id, status=outcome.status, message=outcome.message)

    # POST /uploads
    def new_upload(self, upload: UploadRequest) -> UploadTicket:
        name = (
            _SAFE_NAME.sub("-", posixpath.basename(upload.filename.replace("\\", "/"))).strip(".-") or "file"
        )
        known = media.by_extension(name)
        if known is None or known.kind not in ("image", "video", "audio"):
            raise UploadRejected(
                f"{upload.filename!r}: the file name must end with an image, video or audio extension "
                "(e.g. .png, .jpg, .mp4, .mov, .mp3)"
            )
        content_type = media.content_type_for(name, upload.content_type)
        if content_type.split("/", 1)[0] != known.kind:
            raise UploadRejected(f"content_type {content_type} does not match a {known.kind} file")
        if upload.size is not None and upload.size > self.settings.max_upload_bytes:
            raise UploadRejected(
                f"the file is {upload.size} bytes; at most {self.settings.max_upload_bytes} are accepted"
            )
        # A fresh key per ticket, written once: If-None-Match is signed into the URL, so a second PUT (after a
        # job started from the first) is refused with 412 instead of replacing that job's input.
        key = f"{self.settings.upload_prefix}{uuid.uuid4()}/{name}"
        ttl = self.settings.presign_ttl_seconds
        url = self._s3.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self.settings.output_bucket,
                "Key": key,
                "ContentType": content_type,
                "IfNoneMatch": "*",
            },
            ExpiresIn=ttl,
        )
        expires = self._clock.now() + dt.timedelta(seconds=ttl)
        return UploadTicket(
            upload_url=url,
            headers={"Content-Type": content_type, "If-None-Match": "*"},
            s3_uri=f"s3://{self.settings.output_bucket}/{key}",
            expires_at=expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
        )


def make_idempotent_create(service: GenerationService, *, persistence_store: Any, config: Any) -> Any:
    """Wrap ``service.create_for_key`` with Powertools ``idempotent_function`` and plug it into the service.

    ``config`` should read the key from ``[owner, idempotency_key]`` and validate ``request``
    (see :func:`idempotency_config`).
    """
    wrapped = idempotent_function(
        data_keyword_argument="command", persistence_store=persistence_store, config=config
    )(service.create_for_key)
    service._idempotent_create = wrapped
    return wrapped


def idempotency_config(settings: Settings) -> Any:
    return IdempotencyConfig(
        event_key_jmespath="[owner, idempotency_key]",
        payload_validation_jmespath="request",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=settings.idempotency_ttl_seconds,
        hash_function="sha256",
    )
