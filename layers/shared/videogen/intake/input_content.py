"""What an input holds, checked at intake: ``s3://`` objects and ``data:`` URIs, by their first bytes.

The role of each input (image, video or audio) comes from the model catalog's wire schema
(``catalog.map_media_uris``), so an image field takes an image whatever the file is called.

- ``s3://``: refused when the object does not exist; when it is empty; when it is larger than
  ``MAX_UPLOAD_BYTES`` (the upload step reads it into memory and sends it to Runway's uploads, whose limit the
  SDK does not state: the same limit as ``POST /uploads``); when its first
  :data:`~videogen.core.media.SNIFF_BYTES` bytes (one ranged GET, never the whole object) are not a file of
  the field's kind.
- ``data:``: refused when its decoded first bytes are not the type its MIME type declares, or that type is
  not one of the field's kind (the 5 MB limit and the declared kind are the catalog's checks).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from botocore.exceptions import ClientError

from videogen.catalog import map_media_uris
from videogen.catalog.media import data_uri_mime, guess_kind
from videogen.core import media
from videogen.core.errors import PipelineUnavailable
from videogen.core.request import GenerationRequest
from videogen.storage.aws_errors import NOT_FOUND_CODES, error_code, is_transient

#: base64 characters that decode to at least SNIFF_BYTES bytes.
_BASE64_HEAD = (media.SNIFF_BYTES + 2) // 3 * 4


def media_inputs(endpoint: str, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every distinct media URI of a wire body with the kind its field takes, in body order."""
    found: dict[str, str] = {}

    def collect(uri: str, kind: str) -> str:
        found.setdefault(uri, kind)
        return uri

    map_media_uris(endpoint, body, collect)
    return list(found.items())


def request_media(request: GenerationRequest) -> list[tuple[str, str]]:
    """The media URIs of the request's own fields with their kind (when the catalog could not build a wire
    body: an unknown model or task still gets its inputs checked)."""
    kinds = {"image": "image", "last_image": "image", "video": "video", "reference": "video"}
    kinds["character"] = request.character_type or guess_kind(request.character or "") or "image"
    found: dict[str, str] = {}
    for name in media.REQUEST_MEDIA_FIELDS:
        uri = getattr(request, name)
        if isinstance(uri, str):
            found.setdefault(uri, kinds[name])
    return list(found.items())


def field_of(request: GenerationRequest, uri: str) -> str:
    """The request field that holds ``uri`` (``options`` for a wire field passed through it)."""
    return next((n for n in media.REQUEST_MEDIA_FIELDS if getattr(request, n) == uri), "options")


def data_uri_head(uri: str) -> bytes | None:
    """The first decoded bytes of a ``data:`` URI (None when it cannot be decoded: the catalog says why)."""
    header, sep, data = uri[5:].partition(",")
    if not sep:
        return None
    if "base64" in (p.strip().lower() for p in header.split(";")[1:]):
        chunk = "".join(data[: _BASE64_HEAD + 64].split())[:_BASE64_HEAD]
        chunk = chunk[: len(chunk) // 4 * 4]
        try:
            return base64.b64decode(chunk, validate=True)[: media.SNIFF_BYTES]
        except (binascii.Error, ValueError):
            return None
    return unquote_to_bytes(data[: media.SNIFF_BYTES * 3])[: media.SNIFF_BYTES]


def data_uri_problem(uri: str, kind: str) -> str | None:
    """Why a ``data:`` URI's content cannot be the ``kind`` input it is sent as, as a predicate of "the data:
    URI" (None: it can)."""
    head = data_uri_head(uri)
    mime = data_uri_mime(uri)
    if head is None or mime is None or mime.split("/", 1)[0] != kind:
        return None  # malformed, untyped or of another kind: the catalog reports it
    if media.by_mime(mime) not in media.input_types(kind):
        names = ", ".join(t.mime for t in media.input_types(kind))
        return f"is of type {mime}; {kind} inputs must be one of {names}"
    return media.content_problem(head, kind, declared=mime)


class S3InputChecker:
    """Checks ``s3://`` objects with one HEAD and one ranged GET of their first bytes each."""

    def __init__(self, s3: Any, *, max_bytes: int) -> None:
        self._s3 = s3
        self._max_bytes = max_bytes

    def problem(
        self, bucket: str, key: str, kind: str, *, version_id: str | None = None, size: int | None = None
    ) -> str | None:
        """Why the object cannot be the ``kind`` input, as a predicate ("does not exist"); None if it can."""
        where: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            where["VersionId"] = version_id
        if size is None:
            try:
                size = int(self._s3.head_object(**where).get("ContentLength", 0))
            except Exception as exc:
                if isinstance(exc, ClientError) and error_code(exc) in NOT_FOUND_CODES:
                    return "does not exist"
                _raise_if_transient(exc, bucket, key)
                raise
        if size == 0:
            return "is empty (0 bytes)"
        if size > self._max_bytes:
            return f"is {size} bytes; inputs may be at most {self._max_bytes} bytes"
        try:
            answer = self._s3.get_object(**where, Range=f"bytes=0-{media.SNIFF_BYTES - 1}")
            head = answer["Body"].read(media.SNIFF_BYTES)
        except Exception as exc:
            if isinstance(exc, ClientError) and error_code(exc) in NOT_FOUND_CODES:
                return "does not exist"
            _raise_if_transient(exc, bucket, key)
            raise
        return media.content_problem(head, kind)


def _raise_if_transient(exc: Exception, bucket: str, key: str) -> None:
    """PipelineUnavailable (retry later: API 503, S3 trigger retried) for an S3 failure a later attempt can
    get past; any other failure is the caller's to raise."""
    if is_transient(exc):
        raise PipelineUnavailable(f"s3://{bucket}/{key} could not be read to check it; retry later") from exc


def content_problems(
    request: GenerationRequest, inputs: list[tuple[str, str]], *, s3_inputs: S3InputChecker
) -> list[str]:
    """``<field>: <uri> <reason>`` for every input (uri, kind) whose content cannot be what its field takes.

    ``s3://`` URIs are expected to be in this stack's bucket and prefixes already (checked before)."""
    problems = []
    for uri, kind in inputs:
        scheme = media.scheme_of(uri)
        field = field_of(request, uri)
        if scheme == "data":
            problem = data_uri_problem(uri, kind)
            if problem:
                problems.append(f"{field}: the data: URI {problem}")
        elif scheme == "s3":
            bucket, _, key = uri[5:].partition("/")
            if bucket and key:
                problem = s3_inputs.problem(bucket, key, kind)
                if problem:
                    problems.append(f"{field}: {uri} {problem}")
    return problems
