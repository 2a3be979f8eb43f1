"""Streams Runway output URLs into S3 without holding a whole file in memory.

One output = one ``GET`` with httpx streaming, read through :class:`HashingReader` (SHA-256 and byte count as
the bytes pass, in the reading thread) and cut into parts that ``videogen.storage.stream_upload`` uploads in
parallel while the next part downloads (one PutObject below ``DEFAULT_PLAN.threshold``). Memory stays around
``(concurrency + 2) x part size`` (48 MiB with the defaults) whatever the file size (``python -m
bench.archive`` measures it).

Errors:
- 403/404/410 on the URL -> :class:`OutputUrlRejected` (internal): the caller fetches the task again for fresh
  URLs, retries once, and raises ``OutputExpired`` if it still fails.
- connection reset, timeout, 5xx, a body shorter than its ``Content-Length`` -> ``OutputDownloadFailed``
  (the state machine retries the idempotent archive step). A short body fails *before* the S3 upload
  completes, so no truncated object is left under the output key.
- a URL outside the egress policy (``videogen.egress``: https, Runway's output hosts, public addresses only,
  connections pinned to the checked address) -> ``OutputHostNotAllowed``, checked on every request and
  redirect hop (at most ``MAX_REDIRECTS``).
- an output larger than ``EGRESS_MAX_BYTES`` (its Content-Length, else the bytes streamed) ->
  ``OutputTooLarge``, before the S3 upload completes.
- S3 failing past botocore's own retries -> ``StorageUnavailable`` when a later attempt can get past it
  (throttling, 5xx, timeouts, closed connections: ``videogen.storage.s3_errors``), else
  ``StorageRefused`` (AccessDenied, NoSuchBucket, a KMS key denied...).

Re-runs. Once an upload has completed whole, its SHA-256 is written on the object as the ``sha256`` tag
(tags change no object version and cost no read of the body). With ``reuse``, an output whose stored object
has that tag, the response's Content-Length as its size, the same Content-Type and the caller's metadata
(job and task id) is kept and its body never read; without a Content-Length nothing is kept. Before each
upload and after each failed one, unfinished multipart uploads of the key (a crashed or failed attempt's
parts) are aborted.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from botocore.exceptions import ClientError

from videogen.core import media
from videogen.core.errors import OutputDownloadFailed, OutputTooLarge, VideoGenError
from videogen.core.settings import Settings
from videogen.egress.policy import Resolver, output_policy, system_resolver
from videogen.egress.transport import egress_client
from videogen.storage.s3_errors import is_absent, s3_errors, storage_error
from videogen.storage.stream_upload import PartPlan, upload_stream

log = logging.getLogger(__name__)

#: Redirect hops followed from an output URL (each one checked and pinned like the first request).
MAX_REDIRECTS = 5
#: 8 MiB parts, 4 uploading at once: the sink's speed on loopback (bench.archive) within ~48 MiB of buffers.
DEFAULT_PLAN = PartPlan(threshold=8 * 1024 * 1024, part_bytes=8 * 1024 * 1024, concurrency=4)
#: Object tag holding the SHA-256 of an output, written once its upload completed whole.
SHA256_TAG = "sha256"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class OutputUrlRejected(VideoGenError):
    """The output URL answered 403/404/410: probably expired. Fetch the task again for a fresh URL."""

    def __init__(self, url_host: str, status: int) -> None:
        super().__init__(f"output URL on {url_host} answered HTTP {status}")
        self.status = status


@dataclass(frozen=True)
class ArchivedObject:
    key: str
    bytes: int
    sha256: str
    content_type: str
    source_host: str
    reused: bool = False  # already stored whole by an earlier attempt: not downloaded again

    def summary(self) -> dict[str, Any]:
        """The fields the archive step returns to the state machine."""
        return {
            "key": self.key,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "content_type": self.content_type,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def check_output_url(url: str, settings: Settings) -> None:
    """Raise OutputHostNotAllowed unless the egress policy lets the archive step request ``url``."""
    output_policy(settings).check_url(url)


def output_type(content_type: str | None, url: str) -> tuple[str, str]:
    """``(extension, content_type)`` of an output, from its response Content-Type, else from the URL path."""
    known = media.by_mime(content_type) or media.by_extension(url)
    if known is None:
        return "bin", media.content_type_for("", content_type)
    return known.extension, media.content_type_for(url, content_type)


class HashingReader(io.RawIOBase):
    """A read-only, non-seekable stream over byte chunks that hashes (SHA-256) and counts what it returns.

    At the end of the chunks it checks the count against ``expected_bytes`` (when known) and raises
    OutputDownloadFailed on a mismatch, so the upload (through :meth:`parts`, or a ``readinto`` consumer)
    fails instead of completing a truncated object; past ``max_bytes`` it raises OutputTooLarge. Transport
    errors while reading also become OutputDownloadFailed. The first error is kept in ``error``, for callers
    whose consumer wraps exceptions.
    """

    def __init__(
        self,
        chunks: Iterator[bytes],
        *,
        expected_bytes: int | None = None,
        max_bytes: int | None = None,
        label: str = "",
    ) -> None:
        super().__init__()
        self._chunks = chunks
        self._buffer: memoryview = memoryview(b"")
        self._eof = False
        self.expected_bytes = expected_bytes
        self.max_bytes = max_bytes
        self.label = label
        self.bytes_read = 0
        self._sha = hashlib.sha256()
        self.error: VideoGenError | None = None

    def readable(self) -> bool:
        return True

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def _fail(self, message: str, kind: type[VideoGenError] = OutputDownloadFailed) -> VideoGenError:
        error = kind(message, details={"bytes_read": self.bytes_read})
        if self.error is None:
            self.error = error
        return error

    def _next_chunk(self) -> bytes | None:
        """The next non-empty chunk, or None at the end of the body."""
        try:
            while True:
                chunk = next(self._chunks)
                if chunk:
                    break
        except StopIteration:
            return None
        except httpx.HTTPError as exc:  # ReadError, RemoteProtocolError, ReadTimeout...
            raise self._fail(f"download of {self.label} broke after {self.bytes_read} bytes: {exc}") from exc
        if self.max_bytes is not None and self.bytes_read + len(chunk) > self.max_bytes:
            raise self._fail(
                f"download of {self.label} passed EgressMaxBytes ({self.max_bytes} bytes)", OutputTooLarge
            )
        return chunk

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` completely unless the body ends first.

        Full reads matter: s3transfer takes a short read of a non-seekable stream for its end, and would then
        send the rest as one in-memory PutObject instead of streaming a multipart upload.
        """
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            if not self._buffer:
                if self._eof:
                    break
                chunk = self._next_chunk()
                if chunk is None:
                    self._eof = True
                    self._check_length()
                    break
                self._buffer = memoryview(chunk)
            n = min(len(view) - filled, len(self._buffer))
            piece = self._buffer[:n]
            view[filled : filled + n] = piece
            self._sha.update(piece)
            self._buffer = self._buffer[n:]
            self.bytes_read += n
            filled += n
        return filled

    def parts(self, size: int) -> Iterator[bytes]:
        """The rest of the body as ``bytes`` parts of at least ``size`` bytes (the last one may be shorter,
        and an empty body is one empty part), counted as read and hashed once joined; the end is checked
        as in :meth:`readinto`. Each part is one join of the chunks read: one copy of every byte. Hashing
        whole parts (hashlib releases the GIL) rather than each chunk halves the reading thread's GIL
        hand-offs, which the upload threads contend for."""
        if self._buffer:
            raise RuntimeError("parts() after readinto() of part of a chunk")
        pending: list[bytes] = []
        filled = 0
        sent = False
        while not self._eof:
            chunk = self._next_chunk()
            if chunk is None:
                self._eof = True
                self._check_length()
                break
            self.bytes_read += len(chunk)
            pending.append(chunk)
            filled += len(chunk)
            if filled >= size:
                sent = True
                yield self._hashed(_joined(pending))
                filled = 0
        if pending or not sent:
            yield self._hashed(_joined(pending))

    def _hashed(self, part: bytes) -> bytes:
        self._sha.update(part)
        return part

    def _check_length(self) -> None:
        if self.expected_bytes is not None and self.bytes_read != self.expected_bytes:
            raise self._fail(
                f"download of {self.label} ended after {self.bytes_read} of {self.expected_bytes} bytes"
            )


def _joined(chunks: list[bytes]) -> bytes:
    """The chunks as one ``bytes``, emptying the list (so the chunks are freed as soon as the part exists)."""
    joined = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    chunks.clear()
    return joined


def make_http_client(
    settings: Settings | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> httpx.Client:
    """The download client: the egress policy for outputs on every request and redirect hop, connections
    pinned to the checked addresses, ``EGRESS_TIMEOUT_SECONDS`` to connect and for each read.
    ``transport`` replaces the network (tests)."""
    settings = settings or Settings()
    return egress_client(
        output_policy(settings),
        timeout=settings.egress_timeout_seconds,
        max_redirects=MAX_REDIRECTS,
        transport=transport,
        resolver=resolver,
    )


class OutputArchiver:
    """Writes outputs and the manifest under one S3 prefix. Thread-safe (boto3 clients and httpx are)."""

    def __init__(
        self,
        s3: Any,
        http: httpx.Client,
        *,
        bucket: str,
        plan: PartPlan = DEFAULT_PLAN,
        max_bytes: int | None = None,
    ) -> None:
        self._s3 = s3
        self._http = http
        self.bucket = bucket
        self._plan = plan
        self.max_bytes = Settings().egress_max_bytes if max_bytes is None else max_bytes

    @property
    def s3(self) -> Any:
        """The boto3 S3 client every write goes through."""
        return self._s3

    def stream_to_s3(
        self,
        url: str,
        key_stem: str,
        *,
        metadata: Mapping[str, str] | None = None,
        reuse: bool = False,
    ) -> ArchivedObject:
        """Download ``url`` into ``s3://bucket/<key_stem>.<ext>``; ext and Content-Type from the response.

        With ``reuse``, an object already stored whole under the key with the response's Content-Length,
        Content-Type and ``metadata`` is kept, and the response body is never read (module docstring).
        """
        host = host_of(url)
        wanted = dict(metadata or {})
        try:
            with self._http.stream("GET", url) as response:
                status = response.status_code
                if status in (403, 404, 410):
                    raise OutputUrlRejected(host, status)
                if status >= 300:
                    raise OutputDownloadFailed(
                        f"output URL on {host} answered HTTP {status}", details={"status": status}
                    )
                ext, content_type = output_type(response.headers.get("content-type"), url)
                key = f"{key_stem}.{ext}"
                encoding = response.headers.get("content-encoding", "identity").lower()
                raw = encoding in ("", "identity")
                length = response.headers.get("content-length")
                expected = int(length) if raw and length and length.isdigit() else None
                if expected is not None and expected > self.max_bytes:
                    raise OutputTooLarge(
                        f"output on {host} is {expected} bytes, above EgressMaxBytes ({self.max_bytes})",
                        details={"bytes": expected, "max_bytes": self.max_bytes},
                    )
                if reuse and expected is not None:
                    stored_sha256 = self._stored_sha256(key, expected, content_type, wanted)
                    if stored_sha256 is not None:
                        self._abort_pending_uploads(key)
                        return ArchivedObject(
                            key=key,
                            bytes=expected,
                            sha256=stored_sha256,
                            content_type=content_type,
                            source_host=host,
                            reused=True,
                        )
                # The transport's own chunks (no re-chunking copy); the reader joins them into parts.
                chunks = response.iter_raw() if raw else response.iter_bytes()
                reader = HashingReader(
                    iter(chunks), expected_bytes=expected, max_bytes=self.max_bytes, label=f"{host} -> {key}"
                )
                self._abort_pending_uploads(key)
                plan = self._plan.for_size(expected if expected is not None else self.max_bytes)
                self._upload(reader, key, plan, {"ContentType": content_type, "Metadata": wanted})
        except httpx.HTTPError as exc:
            raise OutputDownloadFailed(f"download from {host} failed: {type(exc).__name__}: {exc}") from exc
        self._tag_sha256(key, reader.sha256)
        return ArchivedObject(
            key=key,
            bytes=reader.bytes_read,
            sha256=reader.sha256,
            content_type=content_type,
            source_host=host,
        )

    def _upload(self, reader: HashingReader, key: str, plan: PartPlan, extra: dict[str, Any]) -> None:
        try:
            upload_stream(self._s3, self.bucket, key, reader.parts(plan.part_bytes), plan=plan, extra=extra)
        except Exception as exc:
            # upload_stream aborts a failed multipart upload itself, unless that abort fails too.
            self._abort_pending_uploads(key)
            if reader.error is not None:  # the reader's error, even if it surfaced through another one
                if exc is reader.error:
                    raise
                raise reader.error from exc
            error = storage_error(exc, "upload", key)
            if error is None:
                raise
            raise error from exc
        if reader.error is not None:
            raise reader.error

    def _stored_sha256(
        self, key: str, size: int, content_type: str, metadata: Mapping[str, str]
    ) -> str | None:
        """The SHA-256 tag of the object under ``key`` if it can stand for a download of ``size`` bytes of
        ``content_type`` with ``metadata``; None when it cannot (or nothing is there)."""
        with s3_errors("read", key):
            try:
                head = self._s3.head_object(Bucket=self.bucket, Key=key)
            except ClientError as exc:
                if is_absent(exc):
                    return None
                raise
            stored = head.get("Metadata") or {}
            if (
                head.get("ContentLength") != size
                or head.get("ContentType") != content_type
                or any(stored.get(name) != value for name, value in metadata.items())
            ):
                return None
            try:
                tags = self._s3.get_object_tagging(Bucket=self.bucket, Key=key).get("TagSet", [])
            except ClientError as exc:
                if is_absent(exc):
                    return None
                raise
        sha256 = next((str(t.get("Value")) for t in tags if t.get("Key") == SHA256_TAG), "")
        return sha256 if _SHA256_HEX.fullmatch(sha256) else None

    def _tag_sha256(self, key: str, sha256: str) -> None:
        """Record the SHA-256 of a whole upload on its object. Best effort: an untagged output is only
        uploaded again by a re-run."""
        try:
            self._s3.put_object_tagging(
                Bucket=self.bucket, Key=key, Tagging={"TagSet": [{"Key": SHA256_TAG, "Value": sha256}]}
            )
        except Exception as exc:
            error = storage_error(exc, "tagging", key)
            if error is None:
                raise
            log.warning("output stored without its sha256 tag", extra={"key": key, "error": error.message})

    def _abort_pending_uploads(self, key: str) -> int:
        """Abort every unfinished multipart upload of ``key``; the number aborted. Best effort: a failure is
        logged, and the next attempt sweeps again."""
        aborted = 0
        try:
            paginator = self._s3.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
                for upload in page.get("Uploads", []):
                    if upload.get("Key") == key:
                        self._s3.abort_multipart_upload(
                            Bucket=self.bucket, Key=key, UploadId=upload["UploadId"]
                        )
                        aborted += 1
        except Exception as exc:
            error = storage_error(exc, "multipart clean-up", key)
            if error is None:
                raise
            log.warning(
                "unfinished multipart uploads not cleaned up", extra={"key": key, "error": error.message}
            )
        if aborted:
            log.info("aborted unfinished multipart uploads", extra={"key": key, "uploads": aborted})
        return aborted

    def put_json(self, key: str, document: Mapping[str, Any]) -> None:
        body = json.dumps(document, indent=2, sort_keys=True, default=str).encode("utf-8")
        with s3_errors("write", key):
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
