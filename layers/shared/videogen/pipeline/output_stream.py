"""Streams Runway output URLs into S3 without holding a whole file in memory.

One output = one ``GET`` with httpx streaming, read through :class:`HashingReader` (SHA-256 and byte count as
the bytes pass) by boto3's ``upload_fileobj`` (multipart above ``MULTIPART_THRESHOLD``). Memory stays around
``max_concurrency x chunk size`` whatever the file size.

Errors:
- 403/404/410 on the URL -> :class:`OutputUrlRejected` (internal): the caller fetches the task again for fresh
  URLs, retries once, and raises ``OutputExpired`` if it still fails.
- connection reset, timeout, 5xx, a body shorter than its ``Content-Length`` -> ``OutputDownloadFailed``
  (the state machine retries the idempotent archive step). A short body fails *before* the S3 upload
  completes, so no truncated object is left under the output key.
- a URL outside the host rule -> ``OutputHostNotAllowed`` (checked on every request, redirects included).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from boto3.s3.transfer import TransferConfig

from videogen.core import media
from videogen.core.errors import OutputDownloadFailed, OutputHostNotAllowed, VideoGenError

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
DOWNLOAD_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
DOWNLOAD_CHUNK_BYTES = 1024 * 1024
MULTIPART_THRESHOLD = 16 * 1024 * 1024
MULTIPART_CHUNK = 16 * 1024 * 1024
DEFAULT_TRANSFER_CONFIG = TransferConfig(
    multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_CHUNK, max_concurrency=4
)


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


def check_output_url(url: str, allowlist: Iterable[str] = ()) -> None:
    """Raise OutputHostNotAllowed unless ``url`` is https (http on a loopback host) and its host is allowed.

    ``allowlist`` entries match a host exactly, or any subdomain when written ``.example.com`` or
    ``*.example.com``.
    An empty allowlist allows any host.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host:
        raise OutputHostNotAllowed(f"output URL has no host: {scheme}://…")
    if scheme != "https" and not (scheme == "http" and host in LOOPBACK_HOSTS):
        raise OutputHostNotAllowed(
            f"output URL on {host} uses {scheme or 'no scheme'}; only https (http on loopback) is accepted"
        )
    allowed = [h.strip().lower() for h in allowlist if h.strip()]
    if allowed and not any(_host_matches(host, pattern) for pattern in allowed):
        raise OutputHostNotAllowed(f"output host {host} is not in OUTPUT_HOST_ALLOWLIST")


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        pattern = pattern[1:]
    if pattern.startswith("."):
        return host.endswith(pattern) or host == pattern[1:]
    return host == pattern


def output_type(content_type: str | None, url: str) -> tuple[str, str]:
    """``(extension, content_type)`` of an output, from its response Content-Type, else from the URL path."""
    known = media.by_mime(content_type) or media.by_extension(url)
    if known is None:
        return "bin", media.content_type_for("", content_type)
    return known.extension, media.content_type_for(url, content_type)


class HashingReader(io.RawIOBase):
    """A read-only, non-seekable stream over byte chunks that hashes (SHA-256) and counts what it returns.

    At the end of the chunks it checks the count against ``expected_bytes`` (when known) and raises
    OutputDownloadFailed on a mismatch, so a consumer (``upload_fileobj``) fails instead of completing a
    truncated upload. Transport errors while reading also become OutputDownloadFailed. The first error is
    kept in ``error``, for callers whose consumer wraps exceptions.
    """

    def __init__(
        self, chunks: Iterator[bytes], *, expected_bytes: int | None = None, label: str = ""
    ) -> None:
        super().__init__()
        self._chunks = chunks
        self._buffer: memoryview = memoryview(b"")
        self._eof = False
        self.expected_bytes = expected_bytes
        self.label = label
        self.bytes_read = 0
        self._sha = hashlib.sha256()
        self.error: OutputDownloadFailed | None = None

    def readable(self) -> bool:
        return True

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def _fail(self, message: str) -> OutputDownloadFailed:
        error = OutputDownloadFailed(message, details={"bytes_read": self.bytes_read})
        if self.error is None:
            self.error = error
        return error

    def _next_chunk(self) -> bytes | None:
        """The next non-empty chunk, or None at the end of the body."""
        try:
            while True:
                chunk = next(self._chunks)
                if chunk:
                    return chunk
        except StopIteration:
            return None
        except httpx.HTTPError as exc:  # ReadError, RemoteProtocolError, ReadTimeout...
            raise self._fail(f"download of {self.label} broke after {self.bytes_read} bytes: {exc}") from exc

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

    def _check_length(self) -> None:
        if self.expected_bytes is not None and self.bytes_read != self.expected_bytes:
            raise self._fail(
                f"download of {self.label} ended after {self.bytes_read} of {self.expected_bytes} bytes"
            )


def make_http_client(
    allowlist: Iterable[str] = (), *, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """The download client: follows redirects, and checks the host rule on every request it sends."""
    allowed = tuple(allowlist)

    def _check(request: httpx.Request) -> None:
        check_output_url(str(request.url), allowed)

    return httpx.Client(
        timeout=DOWNLOAD_TIMEOUT,
        follow_redirects=True,
        event_hooks={"request": [_check]},
        transport=transport,
        headers={"Accept": "*/*"},
    )


class OutputArchiver:
    """Writes outputs and the manifest under one S3 prefix. Thread-safe (boto3 clients and httpx are)."""

    def __init__(
        self,
        s3: Any,
        http: httpx.Client,
        *,
        bucket: str,
        transfer_config: TransferConfig = DEFAULT_TRANSFER_CONFIG,
    ) -> None:
        self._s3 = s3
        self._http = http
        self.bucket = bucket
        self._transfer_config = transfer_config

    def stream_to_s3(
        self, url: str, key_stem: str, *, metadata: Mapping[str, str] | None = None
    ) -> ArchivedObject:
        """Download ``url`` into ``s3://bucket/<key_stem>.<ext>``; ext and Content-Type from the response."""
        host = host_of(url)
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
                chunks = (
                    response.iter_raw(DOWNLOAD_CHUNK_BYTES)
                    if raw
                    else response.iter_bytes(DOWNLOAD_CHUNK_BYTES)
                )
                reader = HashingReader(iter(chunks), expected_bytes=expected, label=f"{host} -> {key}")
                extra = {"ContentType": content_type, "Metadata": dict(metadata or {})}
                try:
                    self._s3.upload_fileobj(
                        reader, self.bucket, key, ExtraArgs=extra, Config=self._transfer_config
                    )
                except OutputDownloadFailed:
                    raise
                except Exception as exc:  # s3transfer may wrap our reader's error; prefer it when present
                    if reader.error is not None:
                        raise reader.error from exc
                    raise
                if reader.error is not None:
                    raise reader.error
        except httpx.HTTPError as exc:
            raise OutputDownloadFailed(f"download from {host} failed: {type(exc).__name__}: {exc}") from exc
        return ArchivedObject(
            key=key,
            bytes=reader.bytes_read,
            sha256=reader.sha256,
            content_type=content_type,
            source_host=host,
        )

    def put_json(self, key: str, document: Mapping[str, Any]) -> None:
        body = json.dumps(document, indent=2, sort_keys=True, default=str).encode("utf-8")
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
