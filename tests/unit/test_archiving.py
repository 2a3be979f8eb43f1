"""Streaming outputs into S3: host rule, types, hashing reader, truncated and refused downloads."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from videogen.core.errors import OutputDownloadFailed, OutputHostNotAllowed
from videogen.core.settings import Settings
from videogen.pipeline.output_stream import (
    HashingReader,
    OutputArchiver,
    OutputUrlRejected,
    check_output_url,
    make_http_client,
    output_type,
)
from videogen.storage.stream_upload import MAX_PARTS, PartPlan, upload_stream

ANY_HOST = Settings(output_host_allowlist=("*",))
LOCAL = Settings(allow_loopback_http=True)


@pytest.mark.parametrize(
    ("url", "settings"),
    [
        ("https://dnznrvs05pmza.cloudfront.net/x.mp4?_jwt=1", Settings()),  # Runway's host, the default
        ("https://cdn.example.com/a.mp4?sig=1", ANY_HOST),
        ("http://127.0.0.1:8787/_outputs/t/0.mp4", LOCAL),
        ("http://localhost/x.mp4", LOCAL),
        ("https://a.b.runwayml.com/x.mp4", Settings(output_host_allowlist=(".runwayml.com",))),
        ("https://runwayml.com/x.mp4", Settings(output_host_allowlist=("*.runwayml.com",))),
    ],
)
def test_allowed_output_urls(url: str, settings: Settings) -> None:
    check_output_url(url, settings)


@pytest.mark.parametrize(
    ("url", "settings"),
    [
        ("https://cdn.example.com/a.mp4", Settings()),  # not Runway's host
        ("http://cdn.example.com/a.mp4", ANY_HOST),  # http off loopback
        ("http://127.0.0.1:8787/_outputs/t/0.mp4", Settings()),  # loopback without AllowLoopbackHttp
        ("http://10.0.0.1/a.mp4", ANY_HOST),
        ("ftp://cdn.example.com/a.mp4", ANY_HOST),
        ("file:///etc/passwd", ANY_HOST),
        ("https://evil.example.com/a.mp4", Settings(output_host_allowlist=("cdn.example.com",))),
        ("https://notrunwayml.com/a.mp4", Settings(output_host_allowlist=(".runwayml.com",))),
    ],
)
def test_refused_output_urls(url: str, settings: Settings) -> None:
    with pytest.raises(OutputHostNotAllowed):
        check_output_url(url, settings)


@pytest.mark.parametrize(
    ("content_type", "url", "expected"),
    [
        ("video/mp4", "https://h/x", ("mp4", "video/mp4")),
        ("video/quicktime", "https://h/x.mp4", ("mov", "video/quicktime")),
        ("application/zip", "https://h/x", ("zip", "application/zip")),
        ("audio/wav", "https://h/x", ("wav", "audio/wav")),
        ("audio/x-wav", "https://h/x", ("wav", "audio/x-wav")),
        ("Video/MP4; codecs=avc1", "https://h/x", ("mp4", "video/mp4")),
        ("application/octet-stream", "https://h/out/clip.mov?sig=1", ("mov", "video/quicktime")),
        (None, "https://h/out/clip.mp4", ("mp4", "video/mp4")),
        ("text/plain", "https://h/noext", ("bin", "text/plain")),
        (None, "https://h/noext", ("bin", "application/octet-stream")),
    ],
)
def test_output_type(content_type: str | None, url: str, expected: tuple[str, str]) -> None:
    assert output_type(content_type, url) == expected


def test_hashing_reader_hashes_and_counts() -> None:
    data = [b"abc", b"", b"defgh", b"i"]
    reader = HashingReader(iter(data), expected_bytes=9)
    assert io.BufferedReader(reader).read() == b"abcdefghi"
    assert reader.bytes_read == 9
    assert reader.sha256 == hashlib.sha256(b"abcdefghi").hexdigest()


def test_hashing_reader_refuses_a_short_body() -> None:
    reader = HashingReader(iter([b"abc"]), expected_bytes=10)
    with pytest.raises(OutputDownloadFailed, match="3 of 10"):
        reader.read()
    assert reader.error is not None


def test_hashing_reader_turns_transport_errors_into_download_failures() -> None:
    def chunks() -> Iterator[bytes]:
        yield b"abc"
        raise httpx.ReadError("connection reset")

    reader = HashingReader(chunks(), expected_bytes=10)
    assert reader.read(3) == b"abc"
    with pytest.raises(OutputDownloadFailed, match="broke after 3 bytes"):
        reader.read(3)


# --- stream_to_s3 against moto, with a scripted HTTP transport -------------------------------------------

VIDEO = bytes(range(256)) * 4096  # 1 MiB


class Chunks(httpx.SyncByteStream):
    """A response body streamed in chunks, as from a socket."""

    def __init__(self, data: bytes, size: int = 64 * 1024) -> None:
        self._data, self._size = data, size

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, len(self._data), self._size):
            yield self._data[i : i + self._size]


def archiver(s3: Any, handler: Any, **config: Any) -> OutputArchiver:
    return OutputArchiver(
        s3,
        make_http_client(transport=httpx.MockTransport(handler)),
        bucket="videos",
        plan=PartPlan(**config),
    )


def test_streams_a_multipart_upload_with_sha256(s3: Any) -> None:
    # GIVEN an 11 MiB video and multipart uploads in 5 MiB parts (S3's minimum)
    # WHEN archived THEN key, type, size and hash match the bytes
    video = VIDEO * 11

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "video/mp4", "content-length": str(len(video))},
            stream=Chunks(video),
        )

    arc = archiver(s3, handler, threshold=5 * 1024 * 1024, part_bytes=5 * 1024 * 1024)
    obj = arc.stream_to_s3(
        "https://dnznrvs05pmza.cloudfront.net/x?sig=1", "outputs/job/0", metadata={"job-id": "job"}
    )
    stored = s3.get_object(Bucket="videos", Key="outputs/job/0.mp4")
    body = stored["Body"].read()
    assert body == video
    assert obj.key == "outputs/job/0.mp4"
    assert obj.bytes == len(video)
    assert obj.sha256 == hashlib.sha256(video).hexdigest()
    assert obj.source_host == "dnznrvs05pmza.cloudfront.net"
    assert stored["ContentType"] == "video/mp4"
    assert stored["Metadata"] == {"job-id": "job"}
    assert stored["ETag"].endswith('-3"')  # three parts: really multipart


@pytest.mark.parametrize("status", [403, 404, 410])
def test_refused_url_asks_for_a_refresh(s3: Any, status: int) -> None:
    arc = archiver(s3, lambda request: httpx.Response(status))
    with pytest.raises(OutputUrlRejected):
        arc.stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_download_failures(s3: Any, status: int) -> None:
    arc = archiver(s3, lambda request: httpx.Response(status))
    with pytest.raises(OutputDownloadFailed, match=str(status)):
        arc.stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")


def test_short_body_leaves_no_object(s3: Any) -> None:
    # GIVEN a response announcing more bytes than it sends
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "video/mp4", "content-length": str(len(VIDEO) + 10)},
            stream=Chunks(VIDEO),
        )

    # WHEN archived THEN OutputDownloadFailed, and no truncated object under the key
    with pytest.raises(OutputDownloadFailed):
        archiver(s3, handler).stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")
    assert "Contents" not in s3.list_objects_v2(Bucket="videos")


def test_connection_failure_is_a_download_failure(s3: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(OutputDownloadFailed, match="ConnectError"):
        archiver(s3, handler).stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")


def test_redirect_to_a_refused_host_is_refused(s3: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "dnznrvs05pmza.cloudfront.net":
            return httpx.Response(302, headers={"location": "http://attacker.example/x.mp4"})
        return httpx.Response(200, content=b"x")  # pragma: no cover - must not be reached

    with pytest.raises(OutputHostNotAllowed):
        archiver(s3, handler).stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")


def test_put_json_writes_a_manifest(s3: Any) -> None:
    arc = archiver(s3, lambda request: httpx.Response(500))
    arc.put_json("outputs/job/job.json", {"b": 1, "a": [1, 2]})
    stored = s3.get_object(Bucket="videos", Key="outputs/job/job.json")
    assert stored["ContentType"] == "application/json"
    assert b'"a": [' in stored["Body"].read()


# --- Parts: bounded memory, parallel uploads, failures stop the stream -----------------------------------

MIB = 1024 * 1024


def test_reader_parts_are_at_least_the_part_size_but_the_last() -> None:
    # GIVEN a 10-byte body in chunks of 3 WHEN cut into parts of at least 4 bytes
    reader = HashingReader(iter([b"abc", b"def", b"ghi", b"j"]), expected_bytes=10)
    # THEN parts of >= 4 bytes (joined chunks) but the last, hashed and counted
    assert list(reader.parts(4)) == [b"abcdef", b"ghij"]
    assert reader.bytes_read == 10 and reader.sha256 == hashlib.sha256(b"abcdefghij").hexdigest()


def test_an_empty_body_is_one_empty_part() -> None:
    assert list(HashingReader(iter([]), expected_bytes=0).parts(4)) == [b""]


def test_reader_parts_refuse_a_short_body_before_the_last_part() -> None:
    reader = HashingReader(iter([b"abcdef", b"gh"]), expected_bytes=10)
    parts = reader.parts(4)
    assert next(parts) == b"abcdef"
    with pytest.raises(OutputDownloadFailed, match="8 of 10"):
        next(parts)  # the short tail is never handed to the uploader


def test_parts_grow_to_fit_s3s_part_limit() -> None:
    plan = PartPlan(threshold=8 * MIB, part_bytes=8 * MIB, concurrency=4)
    assert plan.for_size(5 * 1024 * MIB) == plan  # 5 GiB fits in 10,000 parts of 8 MiB
    grown = plan.for_size(200 * 1024 * MIB)
    assert grown.part_bytes * MAX_PARTS >= 200 * 1024 * MIB and grown.concurrency == 4


class BlockingS3:
    """An S3 look-alike whose UploadPart calls wait until released; records what is in flight."""

    def __init__(self, fail_part: int | None = None) -> None:
        self.meta = SimpleNamespace(config=SimpleNamespace(request_checksum_calculation="when_supported"))
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.running = 0
        self.most_running = 0
        self.parts: dict[int, bytes] = {}
        self.completed: list[dict[str, Any]] = []
        self.aborted = 0
        self.fail_part = fail_part

    def create_multipart_upload(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["ChecksumAlgorithm"] == "CRC32"
        return {"UploadId": "u1"}

    def upload_part(self, *, PartNumber: int, Body: bytes, **kwargs: Any) -> dict[str, Any]:
        with self.lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            if PartNumber == self.fail_part:
                raise RuntimeError("part refused")
            self.release.wait(5)
            self.parts[PartNumber] = Body
            return {"ETag": f'"{PartNumber}"', "ChecksumCRC32": f"c{PartNumber}"}
        finally:
            with self.lock:
                self.running -= 1

    def complete_multipart_upload(self, *, MultipartUpload: dict[str, Any], **kwargs: Any) -> None:
        self.completed = MultipartUpload["Parts"]

    def abort_multipart_upload(self, **kwargs: Any) -> None:
        self.aborted += 1


class CountedParts:
    """``n`` parts of ``size`` bytes; counts how many were taken."""

    def __init__(self, n: int, size: int) -> None:
        self.n, self.size, self.taken = n, size, 0

    def __iter__(self) -> Iterator[bytes]:
        for i in range(self.n):
            self.taken += 1
            yield bytes([i]) * self.size


def test_parts_upload_in_parallel_and_reading_stays_bounded() -> None:
    # GIVEN 20 parts and S3 holding every UploadPart until released
    s3 = BlockingS3()
    source = CountedParts(20, 16)
    plan = PartPlan(threshold=16, part_bytes=16, concurrency=3)
    worker = threading.Thread(
        target=upload_stream, args=(s3, "b", "k", iter(source)), kwargs={"plan": plan, "extra": {}}
    )
    # WHEN the upload runs while S3 is stalled
    worker.start()
    deadline = time.monotonic() + 5
    while s3.running < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    # THEN 3 parts upload at once, and only one more part is read ahead (memory: concurrency + 1 parts)
    assert s3.running == 3
    assert source.taken == 4
    s3.release.set()
    worker.join(5)
    # AND once released every part is completed in order with its checksum
    assert [p["PartNumber"] for p in s3.completed] == list(range(1, 21))
    assert s3.completed[0] == {"ETag": '"1"', "PartNumber": 1, "ChecksumCRC32": "c1"}
    assert b"".join(s3.parts[n] for n in range(1, 21)) == b"".join(CountedParts(20, 16))
    assert s3.most_running == 3


def test_a_failed_part_stops_reading_and_aborts_the_upload() -> None:
    # GIVEN a 1,000-part stream whose second part S3 refuses
    s3 = BlockingS3(fail_part=2)
    s3.release.set()
    source = CountedParts(1000, 16)
    # WHEN uploaded THEN the part's error propagates, the upload is aborted, the stream is left unread
    with pytest.raises(RuntimeError, match="part refused"):
        upload_stream(s3, "b", "k", iter(source), plan=PartPlan(16, 16, 2), extra={})
    assert s3.aborted == 1 and s3.completed == []
    assert source.taken < 10


def test_a_stream_error_aborts_the_upload_and_propagates_as_is() -> None:
    s3 = BlockingS3()
    s3.release.set()

    def parts() -> Iterator[bytes]:
        yield b"x" * 16
        yield b"y" * 16
        raise OutputDownloadFailed("connection reset")

    with pytest.raises(OutputDownloadFailed, match="connection reset"):
        upload_stream(s3, "b", "k", parts(), plan=PartPlan(16, 16, 2), extra={})
    assert s3.aborted == 1 and s3.completed == []


def test_many_parts_in_parallel_store_the_exact_bytes(s3: Any) -> None:
    # GIVEN a 23 MiB video in 5 MiB parts, 3 uploading at once, against moto
    video = VIDEO * 23

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "video/mp4", "content-length": str(len(video))},
            stream=Chunks(video),
        )

    arc = archiver(s3, handler, threshold=5 * MIB, part_bytes=5 * MIB, concurrency=3)
    obj = arc.stream_to_s3("https://dnznrvs05pmza.cloudfront.net/x", "outputs/job/0")
    stored = s3.get_object(Bucket="videos", Key="outputs/job/0.mp4")
    # THEN the object is the video byte for byte, in five parts, with the video's SHA-256
    assert stored["Body"].read() == video
    assert stored["ETag"].endswith('-5"')
    assert obj.sha256 == hashlib.sha256(video).hexdigest()
