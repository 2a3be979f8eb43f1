"""Media inputs of a request: ``s3://`` objects become Runway ephemeral uploads, other URIs pass through.

Runway fetches ``https://`` URLs itself and accepts its own ``runway://`` upload URIs and small
``data:`` URIs. An ``s3://bucket/key`` object is streamed from S3 to a temporary file (never held whole in
memory by this code) and sent with ``client.uploads.create_ephemeral(file=(name, fileobj, content_type))``;
httpx streams the open file into the multipart body. The returned ``runway://`` URI replaces the ``s3://``
one in the request body; it is valid for 24 hours (Runway's uploads guide).
"""

from __future__ import annotations

import datetime as dt
import posixpath
import tempfile
from dataclasses import dataclass
from typing import Any

import runwayml
from botocore.exceptions import ClientError

from videogen.core.errors import InputNotFound, InvalidRequest
from videogen.core.media import SNIFF_BYTES, by_extension, content_type_for, scheme_of, sniff
from videogen.runway.client import UPLOAD_TIMEOUT
from videogen.runway.errors import runway_errors
from videogen.storage.aws_errors import FORBIDDEN_CODES, NOT_FOUND_CODES, error_code

#: Runway docs, "Ephemeral uploads": images, videos and audio up to 200 MB.
MAX_EPHEMERAL_UPLOAD_BYTES = 200 * 1024 * 1024
#: Runway's uploads guide: a ``runway://`` URI is valid for 24 hours.
EPHEMERAL_UPLOAD_LIFETIME = dt.timedelta(hours=24)
PASS_THROUGH_SCHEMES = ("https", "runway", "data")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``("bucket", "key")`` for ``s3://bucket/key``; InvalidRequest if either part is missing."""
    rest = uri[len("s3://") :] if uri[:5].lower() == "s3://" else ""
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise InvalidRequest([f"{uri}: an s3:// input must look like s3://bucket/key"])
    return bucket, key


def check_media_uri(uri: str) -> str:
    """The scheme of a media input (``https``, ``runway``, ``data`` or ``s3``); InvalidRequest for others."""
    scheme = scheme_of(uri)
    if scheme not in (*PASS_THROUGH_SCHEMES, "s3"):
        raise InvalidRequest([f"{uri}: media inputs must be https://, s3://, runway:// or data: URIs"])
    return scheme


@dataclass(frozen=True)
class EphemeralUpload:
    """One ``s3://`` object sent to Runway: its ``runway://`` URI, valid for 24 hours from the upload."""

    source: str
    uri: str
    bytes: int
    kind: str


class EphemeralUploader:
    """Sends ``s3://`` objects to Runway as ephemeral uploads, one call per object.

    ``s3`` is a boto3 S3 client, ``runway`` a RunwayML client (the read/upload view). Remembering what was
    uploaded (and reusing it) is the caller's business: see ``videogen.pipeline.upload_inputs``.
    """

    def __init__(self, s3: Any, runway: runwayml.RunwayML) -> None:
        self._s3 = s3
        self._runway = runway

    def upload(self, uri: str, kind: str = "") -> EphemeralUpload:
        bucket, key = parse_s3_uri(uri)
        try:
            head = self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise _input_error(uri, exc) from exc
        size = int(head.get("ContentLength", 0))
        if size > MAX_EPHEMERAL_UPLOAD_BYTES:
            raise InvalidRequest(
                [
                    f"{uri} is {size} bytes; Runway accepts uploads of at most "
                    f"{MAX_EPHEMERAL_UPLOAD_BYTES} bytes (200 MB)"
                ]
            )
        filename = posixpath.basename(key) or "input"
        with tempfile.TemporaryFile(prefix="videogen-input-") as spool:
            try:
                self._s3.download_fileobj(bucket, key, spool)
            except ClientError as exc:
                raise _input_error(uri, exc) from exc
            received = spool.tell()
            if received != size:
                raise InputNotFound(f"{uri}: read {received} bytes, expected {size} (changed while reading?)")
            spool.seek(0)
            filename, content_type = _named_by_content(
                filename, head.get("ContentType"), spool.read(SNIFF_BYTES)
            )
            spool.seek(0)
            with runway_errors("upload"):
                result = self._runway.uploads.create_ephemeral(
                    file=(filename, spool, content_type), timeout=UPLOAD_TIMEOUT
                )
        return EphemeralUpload(source=uri, uri=result.uri, bytes=size, kind=kind)


def _named_by_content(filename: str, declared: str | None, head: bytes) -> tuple[str, str]:
    """The name and Content-Type Runway gets: the type the first bytes prove (a PNG stored as ``a.jpg`` goes
    as ``a.png``, ``image/png``), else the declared type or the name's."""
    found = sniff(head)
    if found is None:
        return filename, content_type_for(filename, declared)
    if by_extension(filename) is not found:
        stem = filename.rsplit(".", 1)[0] if "." in filename else filename
        filename = f"{stem}.{found.extension}"
    return filename, found.mime


def _input_error(uri: str, exc: ClientError) -> Exception:
    code = error_code(exc)
    if code in NOT_FOUND_CODES:
        return InputNotFound(f"{uri} does not exist")
    if code in FORBIDDEN_CODES:
        return InputNotFound(f"{uri} cannot be read (access denied): the submit function may not read it")
    return exc
