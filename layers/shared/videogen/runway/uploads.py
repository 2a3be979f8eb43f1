"""Media inputs of a request: ``s3://`` objects become Runway ephemeral uploads, other URIs pass through.

Runway fetches ``https://`` URLs itself and accepts its own ``runway://`` upload URIs and small
``data:`` URIs. An ``s3://bucket/key`` object is streamed from S3 to a temporary file (never held whole in
memory by this code) and sent with ``client.uploads.create_ephemeral(file=(name, fileobj, content_type))``;
httpx streams the open file into the multipart body. The returned ``runway://`` URI replaces the ``s3://``
one in the request body.
"""

from __future__ import annotations

import posixpath
import tempfile
from typing import Any

import runwayml
from botocore.exceptions import ClientError

from videogen.core.errors import InputNotFound, InvalidRequest
from videogen.core.media import content_type_for, scheme_of
from videogen.runway.client import UPLOAD_TIMEOUT
from videogen.runway.errors import runway_errors
from videogen.storage.aws_errors import FORBIDDEN_CODES, NOT_FOUND_CODES, error_code

#: Runway docs, "Ephemeral uploads": images, videos and audio up to 200 MB.
MAX_EPHEMERAL_UPLOAD_BYTES = 200 * 1024 * 1024
PASS_THROUGH_SCHEMES = ("https", "runway", "data")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``("bucket", "key")`` for ``s3://bucket/key``; InvalidRequest if either part is missing."""
    rest = uri[len("s3://") :] if uri[:5].lower() == "s3://" else ""
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise InvalidRequest([f"{uri}: an s3:// input must look like s3://bucket/key"])
    return bucket, key


class InputResolver:
    """Resolves the media URIs of one request. Uploads each distinct ``s3://`` URI once.

    ``s3`` is a boto3 S3 client, ``runway`` a RunwayML client (the read/upload view).
    """

    def __init__(self, s3: Any, runway: runwayml.RunwayML) -> None:
        self._s3 = s3
        self._runway = runway
        self._resolved: dict[str, str] = {}
        self.uploaded: list[dict[str, Any]] = []

    def __call__(self, uri: str, kind: str) -> str:
        return self.resolve(uri, kind)

    def resolve(self, uri: str, kind: str = "") -> str:
        scheme = scheme_of(uri)
        if scheme in PASS_THROUGH_SCHEMES:
            return uri
        if scheme != "s3":
            raise InvalidRequest([f"{uri}: media inputs must be https://, s3://, runway:// or data: URIs"])
        if uri not in self._resolved:
            self._resolved[uri] = self._upload(uri, kind)
        return self._resolved[uri]

    def _upload(self, uri: str, kind: str) -> str:
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
        content_type = content_type_for(filename, head.get("ContentType"))
        with tempfile.TemporaryFile(prefix="videogen-input-") as spool:
            try:
                self._s3.download_fileobj(bucket, key, spool)
            except ClientError as exc:
                raise _input_error(uri, exc) from exc
            received = spool.tell()
            if received != size:
                raise InputNotFound(f"{uri}: read {received} bytes, expected {size} (changed while reading?)")
            spool.seek(0)
            with runway_errors("upload"):
                result = self._runway.uploads.create_ephemeral(
                    file=(filename, spool, content_type), timeout=UPLOAD_TIMEOUT
                )
        self.uploaded.append({"source": uri, "uri": result.uri, "bytes": size, "kind": kind})
        return result.uri


def _input_error(uri: str, exc: ClientError) -> Exception:
    code = error_code(exc)
    if code in NOT_FOUND_CODES:
        return InputNotFound(f"{uri} does not exist")
    if code in FORBIDDEN_CODES:
        return InputNotFound(f"{uri} cannot be read (access denied): the submit function may not read it")
    return exc
