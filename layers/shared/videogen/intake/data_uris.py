"""``data:`` inputs are moved to S3 before a job starts, so no payload or record carries file contents.

Neither the job record (DynamoDB, 400 KB) nor the execution input (Step Functions, 256 KB) should hold a file:
each ``data:`` URI becomes ``s3://<bucket>/<upload prefix><job id>/<sha256 of the bytes>/<field>.<ext>``.

An input once stored is never overwritten: the key names the content, and the object is written only if the
key is free (``If-None-Match: *``). A retried intake with the same file finds its object already there; a
later request reusing the job id (an Idempotency-Key whose record expired) with another file gets another key,
and the first job's input stays as it was.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from botocore.exceptions import ClientError

from videogen.core import media
from videogen.core.errors import InvalidRequest
from videogen.storage.aws_errors import error_code

#: S3's answers to a conditional write whose key is taken (412) or being written by a racing request (409).
KEY_TAKEN_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


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
        return "." + media.extension_for(self.mime)


def is_data_uri(value: Any) -> bool:
    return isinstance(value, str) and value[:5].lower() == "data:"


def move_data_uris(request: dict[str, Any], *, s3: Any, bucket: str, key_prefix: str) -> dict[str, Any]:
    """``request`` with every ``data:`` URI (media fields and ``options``) replaced by the ``s3://`` URI of an
    object written under ``key_prefix``. InvalidRequest when there is a data: URI but no bucket."""

    def move(value: Any, path: str) -> Any:
        if is_data_uri(value):
            if not bucket:
                raise InvalidRequest([f"{path}: data: URIs are not accepted here (no upload bucket)"])
            data = DataUri.parse(value, path)
            digest = hashlib.sha256(data.payload).hexdigest()
            key = f"{key_prefix}{digest}/{path.replace('.', '-')}{data.extension()}"
            put_once(s3, bucket=bucket, key=key, body=data.payload, content_type=data.mime)
            return f"s3://{bucket}/{key}"
        if isinstance(value, dict):
            return {k: move(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [move(v, f"{path}.{i}") for i, v in enumerate(value)]
        return value

    moved = dict(request)
    for name in (*media.REQUEST_MEDIA_FIELDS, "options"):
        if name in moved:
            moved[name] = move(moved[name], name)
    return moved


def put_once(s3: Any, *, bucket: str, key: str, body: bytes, content_type: str) -> None:
    """Write the object unless the key exists (then it holds these bytes: its key names their SHA-256)."""
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*")
    except ClientError as exc:
        if error_code(exc) not in KEY_TAKEN_CODES:
            raise
