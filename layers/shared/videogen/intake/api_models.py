"""The API's request and response bodies: the routes' parameter and return types, so every answer is
validated by, and documented in the OpenAPI document from, the same model."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from videogen.core.job import JobStatus
from videogen.core.request import FIELD_HINTS, short_name, short_repr


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


class JobView(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    job_id: str
    status: JobStatus
    finished: bool
    model: str | None = None
    endpoint: str | None = None
    source: str | None = None
    progress: float | None = None
    task_id: str | None = None
    credits: Credits
    error: JobError | None = None
    created_at: str | None = None
    updated_at: str | None = None
    submitted_at: str | None = None
    finished_at: str | None = None
    deadline_at: str | None = None
    task_may_be_running: bool = Field(
        False, description="The Runway task's cancel is not confirmed yet: it may still run (and bill)"
    )
    outputs: list[StoredObject] = []
    manifest: StoredObject | None = None


class JobSummary(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    job_id: str
    status: JobStatus
    model: str | None = None
    source: str | None = None
    progress: float | None = None
    created_at: str | None = None
    finished_at: str | None = None
    error: JobError | None = None


class JobPage(BaseModel):
    items: list[JobSummary]
    next: str | None = Field(None, description="Opaque token for the next page; absent on the last page")


class Accepted(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    job_id: str
    status: JobStatus
    model: str | None = None
    endpoint: str | None = None
    estimated_credits: float | None = None
    location: str


class CancelAnswer(BaseModel):
    job_id: str
    status: Literal["CANCELLING"]
    message: str


class RecoveryAnswer(BaseModel):
    job_id: str
    status: Literal["RECOVERING"]
    message: str


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255, description="Local file name, e.g. frame.png")
    content_type: str | None = Field(None, max_length=255, description="Defaults to a guess from the name")
    size: int | None = Field(None, ge=1, description="File size in bytes (checked against the limit)")


class UploadTicket(BaseModel):
    upload_url: str = Field(description="Presigned S3 PUT URL")
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str] = Field(
        description="Headers the PUT must send (If-None-Match: * makes the upload write-once)"
    )
    s3_uri: str = Field(description="Put this URI in the generation request (image, video, ...)")
    expires_at: str


class Problem(BaseModel):
    code: str
    message: str
    errors: list[str] = []


def describe_invalid_inputs(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    """One sentence per offending parameter or body field (a union's branches are one field, one sentence;
    the generation request's fields keep the hints the S3 trigger gives too)."""
    sentences: dict[tuple[str, ...], str] = {}
    for error in errors:
        loc = tuple(str(p) for p in error.get("loc", ()))
        name = loc[1] if len(loc) > 1 and loc[0] == "body" else None
        if name in FIELD_HINTS and error.get("type") not in ("extra_forbidden", "value_error", "missing"):
            sentence = f"{FIELD_HINTS[name]}, not {short_repr(error.get('input'))}"
        else:
            sentence = describe_invalid_input(error)
        sentences.setdefault(loc[:2], sentence)
    return list(sentences.values())


def describe_invalid_input(error: Mapping[str, Any]) -> str:
    """``<field>: <reason>`` for one request-validation error of the Event Handler (pydantic's error dict)."""
    loc = [short_name(str(p)) for p in error.get("loc", ())]
    where_kind = loc[0] if loc else "body"
    where = ".".join(loc[1:]) or where_kind
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "extra_forbidden":
        return f"unknown field {where}"
    if error.get("type") == "missing":
        return f"{where} is required"
    if where_kind == "body" and error.get("type") == "model_attributes_type":
        return "the body must be a JSON object"
    if error.get("type") == "value_error":  # the model's own checks: its reason, without pydantic's prefix
        reason = message.removeprefix("Value error, ")
        return reason if where == where_kind else f"{where}: {reason}"
    return f"{where}: {message.lower()}"
