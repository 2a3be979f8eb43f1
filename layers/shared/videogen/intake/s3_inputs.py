"""Files dropped under ``inputs/`` become jobs.

==================  ==========================================================================================
object              job
==================  ==========================================================================================
.jpg .jpeg .png     image_to_video, the image as first frame; model ``x-amz-meta-model`` or DEFAULT_MODEL
.webp               (the image types of ``videogen.core.media`` marked ``job_input``)
.mp4 .m4v .mov      video_to_video; model ``x-amz-meta-model`` or ``VIDEO_MODEL`` (``aleph2``)
.webm
.json               a full generation request, like the body of ``POST /generations`` (it may name other
                    objects as ``s3://bucket/key``); the object's metadata is ignored
anything else       a REJECTED job record saying why
==================  ==========================================================================================

A media file's first bytes must prove the kind its extension promises (one ranged GET): a JSON object
named ``.png``, an image named ``.mp4``, an empty or oversized file is REJECTED with what it holds
(``videogen.intake.input_content``). A request file that is empty, not UTF-8, not JSON, nested too deeply to
read or not one JSON object is REJECTED with that reason.

Media metadata (all optional): ``x-amz-meta-prompt`` (non-ASCII text RFC 2047-encoded, as S3 returns it),
``x-amz-meta-model``, ``x-amz-meta-ratio`` (e.g. ``1280:720``; default: the model's own),
``x-amz-meta-duration``
(seconds or ``auto``; default: the model's own). A model that needs a prompt gets a REJECTED job when it is
missing; no default prompt is invented.

The job id is derived from bucket + key + version id (or ETag when versioning is off), so a duplicate
notification of the same object version finds the existing job instead of starting another. Keys under
``outputs/`` or ``uploads/`` never start anything, even if the trigger is misconfigured.
"""

from __future__ import annotations

import email.header
import json
import posixpath
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from videogen.core import media
from videogen.core.errors import IdempotencyConflict, InvalidRequest, StorageRefused, UnsupportedFile
from videogen.core.settings import Settings
from videogen.intake.callers import bucket_owner
from videogen.intake.input_content import S3InputChecker
from videogen.intake.job_ids import derived_job_id
from videogen.intake.job_intake import IntakeContext, JobIntake
from videogen.intake.request_body import json_kind
from videogen.storage.aws_errors import FORBIDDEN_CODES, NOT_FOUND_CODES, error_code

IMAGE_EXTENSIONS = frozenset("." + ext for ext in media.job_input_extensions("image"))
VIDEO_EXTENSIONS = frozenset("." + ext for ext in media.job_input_extensions("video"))
REQUEST_EXTENSIONS = frozenset({".json"})
MAX_REQUEST_OBJECT_BYTES = 256 * 1024
METADATA_FIELDS = ("prompt", "model", "ratio", "duration")


@dataclass(frozen=True)
class S3ObjectRef:
    bucket: str
    key: str  # decoded (the event's key is URL-encoded)
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def extension(self) -> str:
        return posixpath.splitext(self.key)[1].lower()

    def job_id(self) -> str:
        return derived_job_id("s3", self.bucket, self.key, self.version_id or self.etag or "")


@dataclass(frozen=True)
class S3Outcome:
    key: str
    outcome: str  # started | duplicate | rejected | ignored
    job_id: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "outcome": self.outcome, "job_id": self.job_id, "reason": self.reason}


def decode_metadata_value(value: str) -> str:
    """S3 returns non-ASCII user metadata RFC 2047-encoded (``=?UTF-8?B?...?=``); decode it."""
    if "=?" not in value:
        return value.strip()
    try:
        return str(email.header.make_header(email.header.decode_header(value))).strip()
    except (ValueError, LookupError, UnicodeDecodeError):
        return value.strip()


def request_from_metadata(
    kind: str, uri: str, metadata: dict[str, str], settings: Settings
) -> dict[str, Any]:
    """The generation request for a media file, from its ``x-amz-meta-*`` values."""
    meta = {k.lower().removeprefix("x-amz-meta-"): decode_metadata_value(v) for k, v in metadata.items()}
    request: dict[str, Any]
    if kind == "image":
        request = {
            "task": "image_to_video",
            "image": uri,
            "model": meta.get("model") or settings.default_model,
        }
    else:
        request = {"task": "video_to_video", "video": uri, "model": meta.get("model") or settings.video_model}
    if meta.get("prompt"):
        request["prompt"] = meta["prompt"]
    if meta.get("ratio"):
        request["ratio"] = meta["ratio"]
    duration = meta.get("duration")
    if duration:
        if duration.lower() == "auto":
            request["duration"] = "auto"
        elif duration.isdigit():
            request["duration"] = int(duration)
        else:
            raise InvalidRequest(
                [f"x-amz-meta-duration must be a whole number of seconds or auto, not {duration!r}"]
            )
    return request


class S3Intake:
    """Turns one created object into a job (or a REJECTED record, or nothing for keys outside ``inputs/``)."""

    def __init__(self, intake: JobIntake, *, s3: Any, settings: Settings) -> None:
        self._intake = intake
        self._s3 = s3
        self._settings = settings

    def ignored_reason(self, obj: S3ObjectRef) -> str | None:
        s = self._settings
        if obj.key.startswith((s.output_prefix, s.upload_prefix)):
            return f"keys under {s.output_prefix} and {s.upload_prefix} never start a job"
        if not obj.key.startswith(s.input_prefix):
            return f"only keys under {s.input_prefix} start jobs"
        if obj.key.endswith("/"):
            return "a folder marker, not a file"
        return None

    def handle(self, obj: S3ObjectRef) -> S3Outcome:
        reason = self.ignored_reason(obj)
        if reason:
            return S3Outcome(obj.key, "ignored", reason=reason)
        job_id = obj.job_id()
        context = IntakeContext(
            source="s3",
            owner=bucket_owner(obj.bucket),
            extra={"source_object": obj.uri, "source_version": obj.version_id or obj.etag},
        )
        try:
            request = self.request_for(obj)
            accepted = self._intake.create(request, context=context, job_id=job_id, bucket=obj.bucket)
        except UnsupportedFile as exc:
            return self._reject(obj, job_id, context, "UnsupportedFile", str(exc))
        except InvalidRequest as exc:
            hint = self._hint(obj, exc.errors)
            return self._reject(obj, job_id, context, "InvalidRequest", "; ".join(exc.errors) + hint)
        except IdempotencyConflict as exc:
            return S3Outcome(obj.key, "duplicate", job_id, reason=exc.message)
        return S3Outcome(obj.key, "started" if accepted.created else "duplicate", job_id)

    def request_for(self, obj: S3ObjectRef) -> dict[str, Any]:
        ext = obj.extension
        if ext in REQUEST_EXTENSIONS:
            return self._json_request(obj)
        if ext in IMAGE_EXTENSIONS or ext in VIDEO_EXTENSIONS:
            head = self._call("head_object", obj)
            kind = "image" if ext in IMAGE_EXTENSIONS else "video"
            checker = S3InputChecker(self._s3, max_bytes=self._settings.max_upload_bytes)
            problem = checker.problem(
                obj.bucket, obj.key, kind, version_id=obj.version_id, size=int(head.get("ContentLength", 0))
            )
            if problem:
                raise UnsupportedFile(f"{posixpath.basename(obj.key)!r} {problem}")
            return request_from_metadata(kind, obj.uri, dict(head.get("Metadata") or {}), self._settings)
        accepted = ", ".join(sorted(IMAGE_EXTENSIONS | VIDEO_EXTENSIONS | REQUEST_EXTENSIONS))
        raise UnsupportedFile(
            f"{posixpath.basename(obj.key)!r} is not a supported input; use one of {accepted}"
        )

    def _json_request(self, obj: S3ObjectRef) -> dict[str, Any]:
        head = self._call("head_object", obj)
        size = int(head.get("ContentLength", 0))
        if size > MAX_REQUEST_OBJECT_BYTES:
            raise UnsupportedFile(
                f"the request file is {size} bytes; at most {MAX_REQUEST_OBJECT_BYTES} are read "
                "(reference large "
                "inputs as s3:// objects instead of embedding them)"
            )
        if size == 0:
            raise UnsupportedFile(
                "the request file is empty; it must hold one JSON object (a generation request)"
            )
        body = self._call("get_object", obj)["Body"].read(MAX_REQUEST_OBJECT_BYTES + 1)
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnsupportedFile(
                f"the request file is not UTF-8 text (byte {exc.start} is not UTF-8); it must hold JSON"
            ) from None
        try:
            data = json.loads(text)
        except RecursionError:
            raise UnsupportedFile("the request file's JSON is nested too deeply to read") from None
        except ValueError as exc:
            raise UnsupportedFile(f"the request file is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise UnsupportedFile(
                f"the request file holds a JSON {json_kind(data)}; it must hold one JSON object "
                "(a generation request)"
            )
        return data

    def _call(self, operation: str, obj: S3ObjectRef) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
        if obj.version_id:
            kwargs["VersionId"] = obj.version_id
        try:
            result: dict[str, Any] = getattr(self._s3, operation)(**kwargs)
        except ClientError as exc:
            # The trigger may list the input prefix, so S3 answers 404 for a deleted object: a 403 is never
            # "gone", it is a permission or KMS problem, which no REJECTED record would let anyone fix.
            if error_code(exc) in NOT_FOUND_CODES:
                raise UnsupportedFile(
                    f"{obj.uri} no longer exists (deleted before it could be read)"
                ) from None
            if error_code(exc) in FORBIDDEN_CODES:
                raise StorageRefused(
                    f"S3 refused to let the trigger read {obj.uri} ({error_code(exc)}): check its role and "
                    "the object's KMS key, then re-drive the event from the dead-letter queue",
                    details={"key": obj.key, "code": error_code(exc)},
                ) from exc
            raise
        return result

    def _reject(
        self, obj: S3ObjectRef, job_id: str, context: IntakeContext, code: str, reason: str
    ) -> S3Outcome:
        self._intake.reject(job_id, reason=reason, code=code, context=context)
        return S3Outcome(obj.key, "rejected", job_id, reason=reason)

    @staticmethod
    def _hint(obj: S3ObjectRef, errors: list[str]) -> str:
        if obj.extension in REQUEST_EXTENSIONS:
            return ""
        text = " ".join(errors).lower()
        if "prompt" in text:
            return " (set the prompt with the x-amz-meta-prompt metadata of the object)"
        return " (metadata: x-amz-meta-prompt, -model, -ratio, -duration)"
